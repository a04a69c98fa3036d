//! Registry credentials: a docker `config.json` (which is also the `.dockerconfigjson` of a
//! Kubernetes pull secret), the older `.dockercfg` shape without the `auths` wrapper, and an
//! explicit user name and password.
//!
//! Traps of the format:
//! - Host keys are written every way: `registry:5000`, `https://registry:5000/`,
//!   `https://index.docker.io/v1/` (what `docker login` writes for Docker Hub). Docker Hub has
//!   four names (`docker.io`, `index.docker.io`, `registry-1.docker.io`, the `/v1/` URL).
//! - `auth` is base64 of `user:password`; the password may itself contain `:`, the base64 may
//!   lack padding, and some tools put `username`/`password` fields next to it instead.
//! - `registrytoken` is a bearer token to send as is; `identitytoken` is an OAuth2 refresh
//!   token that needs a separate token exchange we do not do (the entry is skipped with a
//!   warning rather than sent as a password, which would only be refused).
//! - `credsStore` / `credHelpers` name helper programs; the analyzer never runs programs.
//! - Nothing here may echo a secret: JSON errors are reported by position only (serde's
//!   messages quote the offending value), `Debug` redacts.

use base64::Engine as _;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A string that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What to present to one registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// User name and password (or a personal access token used as one).
    Basic { username: String, password: Secret },
    /// A bearer token sent as is.
    Bearer(Secret),
}

/// Credentials by normalised registry host.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    by_host: BTreeMap<String, Credential>,
    /// Entries that were skipped, and why (no secrets in them).
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialsError {
    /// Position only: serde's message would quote the offending (secret) value.
    #[error("registry auth file is not valid JSON (line {line}, column {column})")]
    NotJson { line: usize, column: usize },
    #[error("registry auth file: expected a JSON object with an \"auths\" object")]
    NotAnObject,
}

#[derive(Deserialize, Default)]
struct RawEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
    #[serde(default)]
    registrytoken: Option<String>,
}

impl Credentials {
    /// Parses a docker `config.json` / `.dockerconfigjson` / `.dockercfg`.
    pub fn from_docker_config(bytes: &[u8]) -> Result<Self, CredentialsError> {
        let doc: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| CredentialsError::NotJson {
                line: e.line(),
                column: e.column(),
            })?;
        let top = doc.as_object().ok_or(CredentialsError::NotAnObject)?;
        let mut out = Self::default();
        let auths = match top.get("auths") {
            Some(serde_json::Value::Object(a)) => a,
            Some(_) => return Err(CredentialsError::NotAnObject),
            // `.dockercfg`: the host map is the whole document.
            None if !top.contains_key("credsStore") && !top.contains_key("credHelpers") => top,
            None => &serde_json::Map::new(),
        };
        for (key, value) in auths {
            let host = normalize_host(key);
            let Ok(raw) = RawEntry::deserialize(value) else {
                out.warnings.push(format!(
                    "registry auth entry {host:?} is not an object; skipped"
                ));
                continue;
            };
            match entry_credential(&raw) {
                Ok(Some(c)) => {
                    out.by_host.insert(host, c);
                }
                Ok(None) => {}
                Err(why) => out
                    .warnings
                    .push(format!("registry auth entry {host:?}: {why}; skipped")),
            }
        }
        if top.contains_key("credsStore") || top.contains_key("credHelpers") {
            out.warnings.push(
                "credsStore/credHelpers are ignored: credential helper programs are not run".into(),
            );
        }
        Ok(out)
    }

    /// Adds or replaces the credential of one registry.
    pub fn insert(&mut self, registry: &str, credential: Credential) {
        self.by_host.insert(normalize_host(registry), credential);
    }

    /// Adds the entries of `later` for registries this set has no credential for, and its
    /// warnings. With several auth files (one per mounted pull secret) read in order, the
    /// first file that names a registry wins, as the kubelet does with `imagePullSecrets`.
    pub fn fill_from(&mut self, later: Credentials) {
        for (host, credential) in later.by_host {
            self.by_host.entry(host).or_insert(credential);
        }
        self.warnings.extend(later.warnings);
    }

    /// The credential for a registry host as a reference names it (`docker.io`,
    /// `registry:5000`).
    pub fn for_registry(&self, registry: &str) -> Option<&Credential> {
        self.by_host.get(&normalize_host(registry))
    }

    pub fn is_empty(&self) -> bool {
        self.by_host.is_empty()
    }
}

fn entry_credential(raw: &RawEntry) -> Result<Option<Credential>, &'static str> {
    if let Some(t) = raw.registrytoken.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credential::Bearer(Secret::new(t))));
    }
    if raw.identitytoken.as_deref().is_some_and(|t| !t.is_empty()) {
        return Err("identity tokens (OAuth2 refresh tokens) are not supported");
    }
    if let (Some(u), Some(p)) = (&raw.username, &raw.password)
        && !u.is_empty()
    {
        return Ok(Some(Credential::Basic {
            username: u.clone(),
            password: Secret::new(p.clone()),
        }));
    }
    let Some(auth) = raw.auth.as_deref().map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(auth))
        .map_err(|_| "\"auth\" is not base64")?;
    let text = String::from_utf8(decoded).map_err(|_| "\"auth\" is not UTF-8")?;
    let (user, password) = text
        .split_once(':')
        .ok_or("\"auth\" is not base64 of user:password")?;
    if user.is_empty() {
        return Err("\"auth\" has an empty user name");
    }
    Ok(Some(Credential::Basic {
        username: user.to_owned(),
        password: Secret::new(password),
    }))
}

/// `https://index.docker.io/v1/` -> `docker.io`, `http://Registry:5000/` -> `registry:5000`.
pub fn normalize_host(key: &str) -> String {
    let key = key.trim();
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = without_scheme
        .split('/')
        .next()
        .unwrap_or(without_scheme)
        .to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_owned()
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn basic(u: &str, p: &str) -> Credential {
        Credential::Basic {
            username: u.into(),
            password: Secret::new(p),
        }
    }

    #[test]
    fn normalizes_hosts() {
        for (key, want) in [
            ("https://index.docker.io/v1/", "docker.io"),
            ("index.docker.io", "docker.io"),
            ("registry-1.docker.io", "docker.io"),
            ("docker.io", "docker.io"),
            ("http://Registry.Example:5000/", "registry.example:5000"),
            ("127.0.0.1:5001", "127.0.0.1:5001"),
            ("quay.io/some/repo", "quay.io"),
        ] {
            assert_eq!(normalize_host(key), want, "{key}");
        }
    }

    #[test]
    fn reads_docker_config_shapes() {
        let doc = format!(
            r#"{{"auths":{{
                "https://index.docker.io/v1/":{{"auth":"{}"}},
                "127.0.0.1:5001":{{"auth":"{}"}},
                "fields.example":{{"username":"u","password":"p:w"}},
                "token.example":{{"registrytoken":"tok"}},
                "acr.example":{{"auth":"{}","identitytoken":"refresh"}},
                "empty.example":{{}},
                "bad.example":{{"auth":"%%%"}}
              }},"credsStore":"desktop"}}"#,
            b64("hub:pa:ss"),
            b64("plimsoll:s3cret").trim_end_matches('='),
            b64("00000000-0000-0000-0000-000000000000:"),
        );
        let c = Credentials::from_docker_config(doc.as_bytes()).expect("parses");
        assert_eq!(c.for_registry("docker.io"), Some(&basic("hub", "pa:ss")));
        assert_eq!(
            c.for_registry("127.0.0.1:5001"),
            Some(&basic("plimsoll", "s3cret"))
        );
        assert_eq!(c.for_registry("fields.example"), Some(&basic("u", "p:w")));
        assert_eq!(
            c.for_registry("token.example"),
            Some(&Credential::Bearer(Secret::new("tok")))
        );
        assert_eq!(c.for_registry("acr.example"), None);
        assert_eq!(c.for_registry("empty.example"), None);
        assert_eq!(c.for_registry("bad.example"), None);
        assert_eq!(c.for_registry("other.example"), None);
        assert_eq!(c.warnings.len(), 3, "{:?}", c.warnings);
    }

    #[test]
    fn first_file_naming_a_registry_wins() {
        let first = format!(
            r#"{{"auths":{{"a.example":{{"auth":"{}"}},"bad.example":{{"auth":"%%%"}}}}}}"#,
            b64("first:1")
        );
        let second = format!(
            r#"{{"auths":{{"https://a.example/":{{"auth":"{}"}},"b.example":{{"auth":"{}"}}}}}}"#,
            b64("second:2"),
            b64("second:3")
        );
        let mut c = Credentials::from_docker_config(first.as_bytes()).expect("first");
        c.fill_from(Credentials::from_docker_config(second.as_bytes()).expect("second"));
        assert_eq!(c.for_registry("a.example"), Some(&basic("first", "1")));
        assert_eq!(c.for_registry("b.example"), Some(&basic("second", "3")));
        assert_eq!(c.for_registry("bad.example"), None);
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    }

    #[test]
    fn reads_old_dockercfg() {
        let doc = format!(r#"{{"r.example:443":{{"auth":"{}"}}}}"#, b64("a:b"));
        let c = Credentials::from_docker_config(doc.as_bytes()).expect("parses");
        assert_eq!(c.for_registry("r.example:443"), Some(&basic("a", "b")));
    }

    #[test]
    fn errors_never_quote_secrets() {
        // serde would say `invalid type: string "hunter2"`; we give the position only.
        let err = Credentials::from_docker_config(br#"{"auths":"hunter2"}"#).expect_err("bad");
        assert!(!err.to_string().contains("hunter2"));
        let err = Credentials::from_docker_config(br#"{"auths":{"x":{"auth":"hunter2"#)
            .expect_err("truncated");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(matches!(err, CredentialsError::NotJson { .. }));
        let c = Credentials::from_docker_config(br#"{"auths":{"x":{"auth":"aHVudGVyMg=="}}}"#)
            .expect("parses");
        assert!(c.warnings.iter().all(|w| !w.contains("hunter2")));
        let dbg = format!("{:?}", basic("u", "hunter2"));
        assert!(!dbg.contains("hunter2"), "{dbg}");
    }
}
