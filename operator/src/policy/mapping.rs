//! Image selectors: which mapping, whitelisted-image or blacklisted-image rule an image falls
//! under.
//!
//! Anchore's rules, kept: mappings are tried in order and the first match wins; registry,
//! repository and tag are wildcards (`*`) or `regexp:` patterns; `type: digest` and
//! `type: id` compare exactly. Traps: registry patterns are compared to the normalised
//! registry (`index.docker.io` in a bundle means `docker.io`); a digest selector given without
//! its `sha256:` prefix still matches; an image without a tag is only selected by tag patterns
//! that match the empty string (`*`).

use super::input::{ImageRef, normalize_registry};
use super::pattern::Wildcard;

/// How a selector picks images within a repository.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageMatch {
    Tag(Wildcard),
    /// A manifest digest, `sha256:` included.
    Digest(String),
    /// An image id (config digest hex, no prefix).
    Id(String),
}

/// `registry`, `repository` and `image {type, value}` of a mapping or image rule.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSelector {
    pub registry: Wildcard,
    pub repository: Wildcard,
    pub image: ImageMatch,
}

impl ImageSelector {
    /// Builds a selector; the error says which part is wrong and why.
    pub(crate) fn new(
        registry: &str,
        repository: &str,
        kind: &str,
        value: &str,
    ) -> Result<Self, SelectorError> {
        // Only exact registry names are normalised: a pattern says what it says.
        let registry = if registry.contains('*') || registry.starts_with("regexp:") {
            Wildcard::new(registry)
        } else {
            Wildcard::new(&normalize_registry(registry))
        }
        .map_err(SelectorError::Registry)?;
        let repository =
            Wildcard::new(repository.trim_matches('/')).map_err(SelectorError::Repository)?;
        let value = value.trim();
        let image = match kind.trim().to_ascii_lowercase().as_str() {
            _ if value.is_empty() => return Err(SelectorError::EmptyValue),
            "tag" => ImageMatch::Tag(Wildcard::new(value).map_err(SelectorError::Tag)?),
            "digest" => ImageMatch::Digest(if value.contains(':') {
                value.to_ascii_lowercase()
            } else {
                format!("sha256:{}", value.to_ascii_lowercase())
            }),
            "id" => ImageMatch::Id(value.trim_start_matches("sha256:").to_ascii_lowercase()),
            _ => return Err(SelectorError::Type(kind.to_owned())),
        };
        Ok(Self {
            registry,
            repository,
            image,
        })
    }

    pub fn matches(&self, image: &ImageRef) -> bool {
        if !self.registry.is_match(&image.registry) {
            return false;
        }
        if !image
            .repository_names()
            .any(|r| self.repository.is_match(r))
        {
            return false;
        }
        match &self.image {
            ImageMatch::Tag(pattern) => pattern.is_match(image.tag.as_deref().unwrap_or("")),
            ImageMatch::Digest(d) => image.digest.eq_ignore_ascii_case(d),
            ImageMatch::Id(id) => image
                .image_id
                .as_deref()
                .is_some_and(|i| i.eq_ignore_ascii_case(id)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SelectorError {
    Registry(String),
    Repository(String),
    Tag(String),
    Type(String),
    EmptyValue,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(registry: &str, repository: &str, kind: &str, value: &str) -> ImageSelector {
        ImageSelector::new(registry, repository, kind, value).expect("valid selector")
    }

    #[test]
    fn selects_like_anchore() {
        let alpine = ImageRef::parse("alpine:3.20", "sha256:abc");
        let app = {
            let mut r = ImageRef::parse("registry.example.com:5000/team/app:v1.2", "sha256:def");
            r.image_id = Some("0123".into());
            r
        };
        let cases: &[(ImageSelector, &ImageRef, bool)] = &[
            (sel("*", "*", "tag", "*"), &alpine, true),
            (sel("docker.io", "alpine", "tag", "3.*"), &alpine, true),
            (
                sel("index.docker.io", "library/alpine", "tag", "3.20"),
                &alpine,
                true,
            ),
            (sel("docker.io", "alpine", "tag", "latest"), &alpine, false),
            (sel("docker.io", "library/*", "tag", "*"), &alpine, true),
            (sel("quay.io", "*", "tag", "*"), &alpine, false),
            (
                sel(
                    "registry.example.com:5000",
                    "team/*",
                    "tag",
                    "regexp:v[0-9]+\\.",
                ),
                &app,
                true,
            ),
            (sel("regexp:.*example\\.com.*", "*", "tag", "*"), &app, true),
            (sel("*", "team/app", "digest", "sha256:DEF"), &app, true),
            (sel("*", "team/app", "digest", "def"), &app, true),
            (sel("*", "team/app", "digest", "sha256:abc"), &app, false),
            (sel("*", "*", "id", "0123"), &app, true),
            (sel("*", "*", "id", "0123"), &alpine, false),
            (sel("*", "team", "tag", "*"), &app, false),
        ];
        for (i, (s, image, expected)) in cases.iter().enumerate() {
            assert_eq!(s.matches(image), *expected, "case {i}: {s:?}");
        }
    }

    #[test]
    fn untagged_images_need_a_tag_pattern_matching_nothing() {
        let by_digest = ImageRef::parse("alpine@sha256:abc", "sha256:abc");
        assert!(sel("*", "*", "tag", "*").matches(&by_digest));
        assert!(!sel("*", "*", "tag", "latest").matches(&by_digest));
    }

    #[test]
    fn bad_selectors() {
        assert_eq!(
            ImageSelector::new("*", "*", "label", "x"),
            Err(SelectorError::Type("label".into()))
        );
        assert_eq!(
            ImageSelector::new("*", "*", "tag", " "),
            Err(SelectorError::EmptyValue)
        );
        assert!(matches!(
            ImageSelector::new("regexp:(", "*", "tag", "*"),
            Err(SelectorError::Registry(_))
        ));
    }
}
