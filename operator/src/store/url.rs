//! Where the store lives: [`DbUrl`], parsed once, printed without its password.
//!
//! Traps: a bare path is a SQLite file, not a relative URL; `sqlite::memory:` is one database
//! per connection (the pool keeps exactly one); PostgreSQL URLs may carry the password in the
//! user info *or* in a `?password=` parameter, and libpq-style defaults (`PGHOST`, `PGUSER`,
//! `~/.pgpass`) fill what the URL leaves out.

use super::Error;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        })
    }
}

/// A store location: a SQLite file path, a `sqlite:` URL or a `postgres://` URL.
/// `Display` and `Debug` redact the password, so a `DbUrl` may be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct DbUrl(Target);

#[derive(Clone, PartialEq, Eq)]
enum Target {
    SqliteFile(PathBuf),
    SqliteUrl(String),
    Postgres(url::Url),
}

impl DbUrl {
    pub fn sqlite_file(path: impl Into<PathBuf>) -> Self {
        Self(Target::SqliteFile(path.into()))
    }

    pub fn backend(&self) -> Backend {
        match self.0 {
            Target::SqliteFile(_) | Target::SqliteUrl(_) => Backend::Sqlite,
            Target::Postgres(_) => Backend::Postgres,
        }
    }

    pub(crate) fn is_sqlite_memory(&self) -> bool {
        match &self.0 {
            Target::SqliteUrl(u) => u.contains(":memory:") || u.contains("mode=memory"),
            Target::SqliteFile(p) => p.as_os_str() == ":memory:",
            Target::Postgres(_) => false,
        }
    }

    pub(crate) fn sqlite_options(&self) -> Result<SqliteConnectOptions, Error> {
        match &self.0 {
            Target::SqliteFile(p) if p.as_os_str() == ":memory:" => {
                SqliteConnectOptions::from_str("sqlite::memory:").map_err(|e| self.invalid(e))
            }
            Target::SqliteFile(p) => Ok(SqliteConnectOptions::new().filename(p)),
            Target::SqliteUrl(u) => SqliteConnectOptions::from_str(u).map_err(|e| self.invalid(e)),
            Target::Postgres(_) => Err(self.invalid("not a SQLite location")),
        }
    }

    pub(crate) fn postgres_options(&self) -> Result<PgConnectOptions, Error> {
        use sqlx::ConnectOptions as _;
        match &self.0 {
            Target::Postgres(u) => PgConnectOptions::from_url(u).map_err(|e| self.invalid(e)),
            _ => Err(self.invalid("not a PostgreSQL URL")),
        }
    }

    fn invalid(&self, reason: impl fmt::Display) -> Error {
        Error::InvalidUrl {
            url: self.to_string(),
            reason: reason.to_string(),
        }
    }
}

impl FromStr for DbUrl {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        let invalid = |url: String, reason: &str| Error::InvalidUrl {
            url,
            reason: reason.to_owned(),
        };
        if s.is_empty() {
            return Err(invalid(String::new(), "empty"));
        }
        if let Some(scheme) = scheme_of(s) {
            return match scheme.to_ascii_lowercase().as_str() {
                "postgres" | "postgresql" => match url::Url::parse(s) {
                    Ok(u) => {
                        let url = Self(Target::Postgres(u));
                        url.postgres_options()?;
                        Ok(url)
                    }
                    Err(e) => Err(invalid(format!("{scheme}://…"), &e.to_string())),
                },
                "sqlite" => {
                    let url = Self(Target::SqliteUrl(s.to_owned()));
                    url.sqlite_options()?;
                    Ok(url)
                }
                _ => Err(invalid(
                    format!("{scheme}:…"),
                    "unsupported scheme: expected a file path, `sqlite:` or `postgres://`",
                )),
            };
        }
        Ok(Self(Target::SqliteFile(PathBuf::from(s))))
    }
}

/// `sqlite` for `sqlite:…`, `postgres` for `postgres://…`, `None` for a path. A scheme is
/// letters, digits, `+`, `-`, `.` before a `:` that is followed by `//`, or exactly `sqlite:`
/// (`sqlite:data.db` has no slashes).
fn scheme_of(s: &str) -> Option<&str> {
    let (scheme, rest) = s.split_once(':')?;
    let well_formed = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (well_formed && (rest.starts_with("//") || scheme.eq_ignore_ascii_case("sqlite")))
        .then_some(scheme)
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Target::SqliteFile(p) => write!(f, "{}", p.display()),
            Target::SqliteUrl(u) => f.write_str(&redact_url(u)),
            Target::Postgres(u) => f.write_str(&redact_parsed(u.clone())),
        }
    }
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DbUrl({self})")
    }
}

const REDACTED: &str = "REDACTED";

/// `url` without credentials: the user-info password and the values of query parameters
/// whose names suggest a secret (`password`, `token`, `sig`, `key`, ...) become `REDACTED`.
/// Text that is not a URL (a directory path) is returned as is, unless it contains `@`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        // `user:pw@host` parses as scheme `user` with an opaque path: not a URL we understand.
        Ok(u) if !u.cannot_be_a_base() => redact_parsed(u),
        _ if url.contains('@') => "[unparseable URL, redacted]".to_owned(),
        _ => url.to_owned(),
    }
}

fn redact_parsed(mut u: url::Url) -> String {
    if u.password().is_some() {
        // Only fails for URLs that cannot have credentials, which then have no password.
        let _ = u.set_password(Some(REDACTED));
    }
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_name(&k) {
                    REDACTED.to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "pass",
        "pwd",
        "token",
        "secret",
        "key",
        "sig",
        "auth",
        "credential",
        "session",
    ]
    .iter()
    .any(|s| name.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_form() {
        let cases: &[(&str, Backend, &str)] = &[
            (
                "/var/lib/plimsoll/db.sqlite",
                Backend::Sqlite,
                "/var/lib/plimsoll/db.sqlite",
            ),
            ("relative.db", Backend::Sqlite, "relative.db"),
            ("sqlite:data.db", Backend::Sqlite, "sqlite:data.db"),
            (
                "sqlite://data.db?mode=rwc",
                Backend::Sqlite,
                "sqlite://data.db?mode=rwc",
            ),
            ("sqlite::memory:", Backend::Sqlite, "sqlite::memory:"),
            (
                "postgres://plimsoll:hunter2@db:5432/plimsoll?sslmode=require",
                Backend::Postgres,
                "postgres://plimsoll:REDACTED@db:5432/plimsoll?sslmode=require",
            ),
            (
                "postgresql://u@db/p?password=hunter2&application_name=x",
                Backend::Postgres,
                "postgresql://u@db/p?password=REDACTED&application_name=x",
            ),
        ];
        for (input, backend, shown) in cases {
            let url: DbUrl = input.parse().expect(input);
            assert_eq!(url.backend(), *backend, "{input}");
            assert_eq!(url.to_string(), *shown, "{input}");
            assert!(!format!("{url:?}").contains("hunter2"), "{input}");
        }
        assert!(
            "sqlite::memory:"
                .parse::<DbUrl>()
                .expect("memory")
                .is_sqlite_memory()
        );
    }

    #[test]
    fn rejects_other_schemes_without_echoing_them() {
        for bad in ["mysql://root:hunter2@db/x", "http://x", "", "   "] {
            let err = bad.parse::<DbUrl>().expect_err(bad);
            assert!(matches!(err, Error::InvalidUrl { .. }), "{bad}");
            assert!(!err.to_string().contains("hunter2"), "{err}");
        }
        let err = "postgres://u:hunter2@[bad"
            .parse::<DbUrl>()
            .expect_err("bad host");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn redacts_feed_urls() {
        assert_eq!(
            redact_url("https://user:pw@mirror.example/osv/all.zip?X-Amz-Signature=abc&v=1"),
            "https://user:REDACTED@mirror.example/osv/all.zip?X-Amz-Signature=REDACTED&v=1"
        );
        assert_eq!(redact_url("/srv/feeds/osv"), "/srv/feeds/osv");
        assert_eq!(redact_url("user:pw@host/x"), "[unparseable URL, redacted]");
        assert_eq!(
            redact_url("https://feeds.example/Debian/all.zip"),
            "https://feeds.example/Debian/all.zip"
        );
    }
}
