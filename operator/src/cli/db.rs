//! Which store a command opens: `--db` / `PLIMSOLL_DB` (a file path, a `sqlite:` URL or a
//! `postgres://` URL), else `plimsoll/plimsoll.db` in the user's cache directory.
//!
//! A URL the store cannot read is a usage error (exit 2); a store that cannot be reached or
//! migrated is a failure (exit 3). Errors print the URL redacted.

use super::{CommandError, Ctx};
use crate::store::{self, Store};

/// The store URL for `--db`, resolved against the context's cache directory.
pub fn store_url(db: Option<&str>, ctx: &Ctx) -> Result<String, CommandError> {
    match db.map(str::trim) {
        Some("") => Err(CommandError::Usage(anyhow::anyhow!(
            "--db is empty: give a file path, a sqlite: URL or a postgres:// URL"
        ))),
        Some(db) => Ok(db.to_owned()),
        None => {
            let cache = ctx.cache_dir.as_deref().ok_or_else(|| {
                CommandError::Usage(anyhow::anyhow!(
                    "no default store: neither HOME nor XDG_CACHE_HOME is set; pass --db"
                ))
            })?;
            Ok(store::default_sqlite_path(cache)
                .to_string_lossy()
                .into_owned())
        }
    }
}

/// How long the CLI waits for its store: an operator waits longer for a database that starts
/// after it, a person at a terminal should not.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Opens (and migrates) the store named by `--db`.
pub async fn open(db: Option<&str>, ctx: &Ctx) -> Result<Store, CommandError> {
    let url: store::DbUrl = store_url(db, ctx)?
        .parse()
        .map_err(|e: store::Error| CommandError::Usage(e.into()))?;
    let options = store::StoreOptions {
        acquire_timeout: CONNECT_TIMEOUT,
        ..store::StoreOptions::default()
    };
    Store::connect_with(&url, &options)
        .await
        .map_err(|e| match e {
            store::Error::InvalidUrl { .. } => CommandError::Usage(e.into()),
            e => CommandError::Scan(e.into()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn ctx(cache: Option<&str>) -> Ctx {
        Ctx {
            cache_dir: cache.map(PathBuf::from),
            clock: std::time::SystemTime::now,
        }
    }

    #[test]
    fn db_flag_else_the_cache() {
        /// `--db`, the cache directory, and the URL or the start of the error.
        type Case<'a> = (Option<&'a str>, Option<&'a str>, Result<&'a str, &'a str>);
        let cases: &[Case<'_>] = &[
            (
                None,
                Some("/home/u/.cache"),
                Ok("/home/u/.cache/plimsoll/plimsoll.db"),
            ),
            (Some("postgres://db/x"), None, Ok("postgres://db/x")),
            (Some(" ./p.db "), Some("/c"), Ok("./p.db")),
            (None, None, Err("no default store")),
            (Some(""), Some("/c"), Err("--db is empty")),
        ];
        for (db, cache, expected) in cases {
            let got = store_url(*db, &ctx(*cache));
            match (got, expected) {
                (Ok(url), Ok(want)) => assert_eq!(url, *want),
                (Err(CommandError::Usage(e)), Err(want)) => {
                    assert!(e.to_string().starts_with(want), "{e}");
                }
                (got, _) => panic!("{db:?} {cache:?}: {got:?}"),
            }
        }
    }

    #[tokio::test]
    async fn bad_urls_are_usage_errors_and_never_echo_passwords() {
        let err = open(Some("mysql://u:hunter2@h/x"), &ctx(None))
            .await
            .expect_err("unsupported");
        assert!(matches!(err, CommandError::Usage(_)), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(None, &ctx(Some(&dir.path().to_string_lossy())))
            .await
            .expect("default store");
        assert!(dir.path().join("plimsoll/plimsoll.db").is_file());
        store.close().await;
        // A directory that cannot be created: the store failed, exit 3.
        let file = dir.path().join("file");
        std::fs::write(&file, "").expect("write");
        let under_a_file = file.join("sub/plimsoll.db").display().to_string();
        let err = open(Some(&under_a_file), &ctx(None))
            .await
            .expect_err("not a directory");
        assert!(matches!(err, CommandError::Scan(_)), "{err}");
    }
}
