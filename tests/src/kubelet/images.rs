//! Images to local programs: the simulator pulls nothing; an image reference maps to a binary
//! on this machine through a table of glob patterns (`*` matches any run of characters), e.g.
//! `ghcr.io/plimsoll/analyzer:*` -> `target/debug/plimsoll-analyzer`. The first match wins.

use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default)]
pub struct ImageMap(Vec<(String, PathBuf)>);

impl ImageMap {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, pattern: &str, binary: impl Into<PathBuf>) -> Self {
        self.0.push((pattern.to_owned(), binary.into()));
        self
    }

    /// Parses `PATTERN=PATH` (the `--image` flag).
    pub fn parse_entry(s: &str) -> Result<(String, PathBuf), String> {
        let (pattern, path) = s
            .split_once('=')
            .ok_or_else(|| format!("expected PATTERN=PATH, got {s:?}"))?;
        if pattern.is_empty() || path.is_empty() {
            return Err(format!("expected PATTERN=PATH, got {s:?}"));
        }
        Ok((pattern.to_owned(), PathBuf::from(path)))
    }

    pub fn push(&mut self, pattern: String, binary: PathBuf) {
        self.0.push((pattern, binary));
    }

    pub fn resolve(&self, image: &str) -> Option<&Path> {
        self.0
            .iter()
            .find(|(p, _)| glob(p, image))
            .map(|(_, b)| b.as_path())
    }
}

/// `*`-only glob matching, iterative (no backtracking blow-up).
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_table() {
        for (p, t, want) in [
            (
                "ghcr.io/plimsoll/analyzer:*",
                "ghcr.io/plimsoll/analyzer:v1",
                true,
            ),
            (
                "ghcr.io/plimsoll/analyzer:*",
                "ghcr.io/plimsoll/analyzer@sha256:ab",
                false,
            ),
            (
                "ghcr.io/plimsoll/analyzer*",
                "ghcr.io/plimsoll/analyzer@sha256:ab",
                true,
            ),
            ("busybox", "busybox", true),
            ("busybox", "busybox:1", false),
            ("*", "anything", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
        ] {
            assert_eq!(glob(p, t), want, "{p} vs {t}");
        }
    }

    #[test]
    fn first_match_wins() {
        let m = ImageMap::new().with("x:*", "/a").with("*", "/b");
        assert_eq!(m.resolve("x:1"), Some(Path::new("/a")));
        assert_eq!(m.resolve("y"), Some(Path::new("/b")));
        assert_eq!(
            ImageMap::parse_entry("x=/bin/true"),
            Ok(("x".to_owned(), PathBuf::from("/bin/true")))
        );
        assert!(ImageMap::parse_entry("x").is_err());
    }
}
