//! What an evaluation reads: the analysis, the vulnerability matches with their first-seen
//! times, the feed's freshness, the image reference the mappings select on, and the clock.
//!
//! Everything is passed in; the engine reads no clock and no store. Traps:
//! - Mappings select on `registry/repository:tag`, so an image analyzed by digest only has no
//!   tag and `type: tag` mappings other than `*` cannot select it.
//! - Docker Hub has many names (`index.docker.io`, `registry-1.docker.io`, Anchore's
//!   `dockerhub/` prefix) and official images live under `library/`: [`ImageRef::new`]
//!   normalises the registry to `docker.io`, and repository patterns are tried against both
//!   `library/alpine` and `alpine`.
//! - First-seen times come from the store, which keeps them across re-matching; a match
//!   without a known time counts as first seen `now` (so age-based rules do not fire on it yet).

use crate::matcher::Match;
use chrono::{DateTime, Utc};
use plimsoll_analyzer::model::Analysis;
use serde::{Deserialize, Serialize};

/// When a match was first seen, and when a fix for it was first seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchTimes {
    pub first_seen: Option<DateTime<Utc>>,
    pub fix_first_seen: Option<DateTime<Utc>>,
}

/// The image as mappings and whitelisted/blacklisted image rules see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    /// `docker.io`, `registry.example.com:5000`; empty for a local source.
    pub registry: String,
    /// `library/alpine`, `team/app`.
    pub repository: String,
    pub tag: Option<String>,
    /// The manifest digest (`sha256:...`).
    pub digest: String,
    /// The image id: the config digest's hex (Anchore's image id).
    pub image_id: Option<String>,
}

/// Names Docker Hub answers to.
const DOCKER_HUB_ALIASES: &[&str] = &[
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
    "hub.docker.com",
    "dockerhub",
];

/// Docker Hub's registry under its canonical name; other registries lowercased.
pub(crate) fn normalize_registry(registry: &str) -> String {
    let r = registry.trim().to_ascii_lowercase();
    if DOCKER_HUB_ALIASES.contains(&r.as_str()) {
        "docker.io".to_owned()
    } else {
        r
    }
}

impl ImageRef {
    pub fn new(
        registry: &str,
        repository: &str,
        tag: Option<&str>,
        digest: &str,
        image_id: Option<&str>,
    ) -> Self {
        let registry = normalize_registry(registry);
        let mut repository = repository.trim_matches('/').to_owned();
        if registry == "docker.io" && !repository.contains('/') && !repository.is_empty() {
            repository = format!("library/{repository}");
        }
        Self {
            registry,
            repository,
            tag: tag.map(str::to_owned),
            digest: digest.to_owned(),
            image_id: image_id.map(|i| i.trim_start_matches("sha256:").to_owned()),
        }
    }

    /// Parses a pull reference (`alpine`, `registry:5000/team/app:1.2`,
    /// `repo@sha256:...`, `dockerhub/alpine:3`), as Docker does: the first component is a
    /// registry when it has a `.` or `:` or is `localhost`. `digest` is used when the
    /// reference has none.
    pub fn parse(reference: &str, digest: &str) -> Self {
        let reference = reference.trim();
        let (name, ref_digest) = match reference.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (reference, None),
        };
        let (registry, rest) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.')
                    || first.contains(':')
                    || first == "localhost"
                    || first == "dockerhub" =>
            {
                (first, rest)
            }
            _ => ("docker.io", name),
        };
        // A tag is the part after the last `:` of the last path component.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        let tag = match (tag, ref_digest) {
            (Some(t), _) => Some(t),
            (None, None) => Some("latest"),
            (None, Some(_)) => None,
        };
        Self::new(
            registry,
            repository,
            tag,
            ref_digest.unwrap_or(digest),
            None,
        )
    }

    /// The reference an analysis records (`image.repository` is `registry/repository`).
    pub fn from_analysis(analysis: &Analysis) -> Self {
        let image = &analysis.image;
        let config_id = Some(image.config_digest.as_str()).filter(|c| !c.is_empty());
        match image.repository.as_deref() {
            Some(full) => {
                let (registry, repository) = match full.split_once('/') {
                    Some((first, rest))
                        if first.contains('.') || first.contains(':') || first == "localhost" =>
                    {
                        (first, rest)
                    }
                    _ => ("docker.io", full),
                };
                Self::new(
                    registry,
                    repository,
                    image.tag.as_deref(),
                    &image.manifest_digest,
                    config_id,
                )
            }
            None => Self {
                registry: String::new(),
                repository: image.reference.clone(),
                tag: image.tag.clone(),
                digest: image.manifest_digest.clone(),
                image_id: config_id.map(|c| c.trim_start_matches("sha256:").to_owned()),
            },
        }
    }

    /// The repository names a pattern may use for this image: Docker Hub official images
    /// answer to both `library/alpine` and `alpine`.
    pub(crate) fn repository_names(&self) -> impl Iterator<Item = &str> {
        let short = (self.registry == "docker.io")
            .then(|| self.repository.strip_prefix("library/"))
            .flatten();
        std::iter::once(self.repository.as_str()).chain(short)
    }
}

/// Everything one evaluation needs.
#[derive(Debug, Clone, Copy)]
pub struct EvalInput<'a> {
    pub analysis: &'a Analysis,
    pub matches: &'a [Match],
    /// First-seen times of `matches`, index for index (the order the store returns them). A
    /// shorter slice leaves the remaining matches without known times.
    pub match_times: &'a [MatchTimes],
    /// When the vulnerability feed was last synced; `None` when it never was.
    pub feed_sync: Option<DateTime<Utc>>,
    pub image: &'a ImageRef,
    pub now: DateTime<Utc>,
}

impl EvalInput<'_> {
    pub(crate) fn times(&self, index: usize) -> MatchTimes {
        self.match_times.get(index).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references_like_docker() {
        let cases: &[(&str, &str, &str, Option<&str>, &str)] = &[
            (
                "alpine",
                "docker.io",
                "library/alpine",
                Some("latest"),
                "sha256:d",
            ),
            (
                "alpine:3.20",
                "docker.io",
                "library/alpine",
                Some("3.20"),
                "sha256:d",
            ),
            (
                "dockerhub/alpine:3",
                "docker.io",
                "library/alpine",
                Some("3"),
                "sha256:d",
            ),
            (
                "index.docker.io/grafana/grafana",
                "docker.io",
                "grafana/grafana",
                Some("latest"),
                "sha256:d",
            ),
            (
                "registry:5000/team/app:1.2",
                "registry:5000",
                "team/app",
                Some("1.2"),
                "sha256:d",
            ),
            (
                "Quay.IO/org/app",
                "quay.io",
                "org/app",
                Some("latest"),
                "sha256:d",
            ),
            (
                "localhost/app@sha256:ab",
                "localhost",
                "app",
                None,
                "sha256:ab",
            ),
            ("team/app:1", "docker.io", "team/app", Some("1"), "sha256:d"),
        ];
        for (reference, registry, repository, tag, digest) in cases {
            let r = ImageRef::parse(reference, "sha256:d");
            assert_eq!(
                (
                    r.registry.as_str(),
                    r.repository.as_str(),
                    r.tag.as_deref(),
                    r.digest.as_str()
                ),
                (*registry, *repository, *tag, *digest),
                "{reference}"
            );
        }
    }

    #[test]
    fn official_images_answer_to_both_names() {
        let r = ImageRef::parse("alpine", "sha256:d");
        assert_eq!(
            r.repository_names().collect::<Vec<_>>(),
            vec!["library/alpine", "alpine"]
        );
        let r = ImageRef::parse("quay.io/library/x", "sha256:d");
        assert_eq!(r.repository_names().collect::<Vec<_>>(), vec!["library/x"]);
    }
}
