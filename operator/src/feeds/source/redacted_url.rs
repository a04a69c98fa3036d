//! A URL whose `Display` and `Debug` never show credentials, so feed URLs can go to logs,
//! errors, Events and status. Userinfo (`https://user:token@host`) and every query value
//! (signed URLs carry `X-Goog-Signature=`, `sig=`, `token=`) are shown as `***`, as is a
//! fragment; the real URL is reached only through [`RedactedUrl::expose`].

use std::fmt;
use std::str::FromStr;

use url::Url;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RedactedUrl(Url);

impl RedactedUrl {
    pub fn new(url: Url) -> Self {
        Self(url)
    }

    /// The URL with its secrets, for the HTTP client only.
    pub fn expose(&self) -> &Url {
        &self.0
    }

    /// Whether `Display` hides anything.
    pub fn has_secrets(&self) -> bool {
        !self.0.username().is_empty()
            || self.0.password().is_some()
            || self.0.query().is_some()
            || self.0.fragment().is_some()
    }

    fn redacted(&self) -> Url {
        let mut url = self.0.clone();
        if !url.username().is_empty() || url.password().is_some() {
            // Both fail only for URLs that cannot have userinfo, which then have none.
            let _ = url.set_password(None);
            let _ = url.set_username("***");
        }
        if url.query().is_some() {
            let keys: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
            url.query_pairs_mut()
                .clear()
                .extend_pairs(keys.iter().map(|k| (k.as_str(), "***")));
        }
        if url.fragment().is_some() {
            url.set_fragment(Some("***"));
        }
        url
    }
}

impl FromStr for RedactedUrl {
    type Err = url::ParseError;

    /// The parse error names what is wrong, never the input.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Url::parse(s).map(Self)
    }
}

impl fmt::Display for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.redacted(), f)
    }
}

impl fmt::Debug for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedactedUrl({:?})", self.redacted().as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_display() {
        let cases = [
            (
                "https://mirror.example/osv",
                "https://mirror.example/osv",
                false,
            ),
            (
                "https://user:s3cret@mirror.example/osv/",
                "https://***@mirror.example/osv/",
                true,
            ),
            (
                "https://s3cret@mirror.example/",
                "https://***@mirror.example/",
                true,
            ),
            (
                "https://storage.example/PyPI/all.zip?X-Goog-Signature=s3cret&X-Goog-Expires=60",
                "https://storage.example/PyPI/all.zip?X-Goog-Signature=***&X-Goog-Expires=***",
                true,
            ),
            ("http://h/x?s3cret", "http://h/x?s3cret=***", true),
            ("http://h/x#s3cret", "http://h/x#***", true),
        ];
        for (input, shown, secret) in cases {
            let url: RedactedUrl = input.parse().expect("url");
            assert_eq!(url.to_string(), shown);
            assert_eq!(format!("{url:?}"), format!("RedactedUrl({shown:?})"));
            assert_eq!(url.has_secrets(), secret, "{input}");
            assert_eq!(
                url.expose().as_str().contains("s3cret"),
                secret,
                "exposed intact"
            );
        }
        let err = "https://user:s3cret@[bad"
            .parse::<RedactedUrl>()
            .expect_err("bad url");
        assert!(!err.to_string().contains("s3cret"));
    }
}
