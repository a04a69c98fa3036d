//! The image config (OCI image-spec `config.json`; Docker's is the same shape).

use crate::content::{ContentScanner, redact_env, redact_text};
use crate::model::{ContentHit, HistoryEntry, HitLocation, ImageConfig};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize, Default)]
struct RawConfig {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    config: Option<RawRuntime>,
    #[serde(default)]
    rootfs: Option<RawRootfs>,
    #[serde(default)]
    history: Vec<RawHistory>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawRuntime {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    env: Option<Vec<String>>,
    #[serde(default)]
    entrypoint: Option<Vec<String>>,
    #[serde(default)]
    cmd: Option<Vec<String>>,
    #[serde(default)]
    healthcheck: Option<RawHealthcheck>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    working_dir: Option<String>,
    #[serde(default)]
    volumes: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    stop_signal: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawHealthcheck {
    #[serde(default)]
    test: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Default)]
struct RawRootfs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
struct RawHistory {
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    empty_layer: Option<bool>,
    #[serde(default)]
    comment: Option<String>,
}

/// The config as the analysis reports it, secrets redacted, plus the secret hits found in
/// env and history.
#[derive(Debug, Default)]
pub struct ParsedConfig {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    pub created: Option<String>,
    pub config: ImageConfig,
    pub history: Vec<HistoryEntry>,
    pub diff_ids: Vec<String>,
    pub secrets: Vec<ContentHit>,
}

#[derive(Debug, thiserror::Error)]
#[error("image config is not valid JSON of the expected shape: {0}")]
pub struct ConfigError(#[from] serde_json::Error);

pub fn parse_config(bytes: &[u8], scanner: &ContentScanner) -> Result<ParsedConfig, ConfigError> {
    let raw: RawConfig = serde_json::from_slice(bytes)?;
    let rt = raw.config.unwrap_or_default();
    let mut secrets = Vec::new();
    let env_raw = rt.env.unwrap_or_default();
    for e in &env_raw {
        let name = e.split_once('=').map_or(e.as_str(), |(n, _)| n);
        for pattern in scanner.secret_names_in(e) {
            secrets.push(ContentHit {
                pattern,
                location: HitLocation::Env {
                    name: name.to_owned(),
                },
                lines: vec![],
            });
        }
    }
    let history: Vec<HistoryEntry> = raw
        .history
        .into_iter()
        .enumerate()
        .map(|(i, h)| {
            if let Some(cb) = &h.created_by {
                for pattern in scanner.secret_names_in(cb) {
                    secrets.push(ContentHit {
                        pattern,
                        location: HitLocation::History { index: i },
                        lines: vec![],
                    });
                }
            }
            HistoryEntry {
                created: h.created,
                created_by: h.created_by.map(|c| redact_text(&c, scanner)),
                empty_layer: h.empty_layer.unwrap_or(false),
                comment: h.comment,
            }
        })
        .collect();
    let config = ImageConfig {
        user: rt.user.filter(|u| !u.is_empty()),
        exposed_ports: rt.exposed_ports.unwrap_or_default().into_keys().collect(),
        env: env_raw.iter().map(|e| redact_env(e, scanner)).collect(),
        entrypoint: rt.entrypoint.unwrap_or_default(),
        cmd: rt.cmd.unwrap_or_default(),
        healthcheck: rt.healthcheck.and_then(|h| h.test),
        labels: rt.labels.unwrap_or_default(),
        working_dir: rt.working_dir.filter(|w| !w.is_empty()),
        volumes: rt.volumes.unwrap_or_default().into_keys().collect(),
        stop_signal: rt.stop_signal,
    };
    Ok(ParsedConfig {
        os: raw.os,
        architecture: raw.architecture,
        variant: raw.variant,
        created: raw.created,
        config,
        history,
        diff_ids: raw.rootfs.unwrap_or_default().diff_ids,
        secrets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::ContentSettings;

    #[test]
    fn parses_and_redacts() {
        let scanner = ContentScanner::new(&ContentSettings::default());
        let cfg = br#"{"architecture":"amd64","os":"linux","config":{"User":"","ExposedPorts":{"22/tcp":{},"8080/tcp":{}},
          "Env":["PATH=/usr/bin","AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],"Cmd":["sh"],
          "Healthcheck":{"Test":["CMD","true"]}},"rootfs":{"type":"layers","diff_ids":["sha256:ab"]},
          "history":[{"created_by":"/bin/sh -c #(nop) ENV AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},{"created_by":"CMD [\"sh\"]","empty_layer":true}]}"#;
        let p = parse_config(cfg, &scanner).expect("config");
        assert_eq!(p.config.user, None);
        assert_eq!(p.config.exposed_ports, vec!["22/tcp", "8080/tcp"]);
        assert_eq!(p.config.env[1], "AWS_SECRET_ACCESS_KEY=[REDACTED]");
        assert!(
            !p.history[0]
                .created_by
                .as_deref()
                .unwrap_or_default()
                .contains("wJalr")
        );
        let locs: Vec<&HitLocation> = p.secrets.iter().map(|s| &s.location).collect();
        assert_eq!(
            locs,
            vec![
                &HitLocation::Env {
                    name: "AWS_SECRET_ACCESS_KEY".into()
                },
                &HitLocation::History { index: 0 }
            ]
        );
        assert!(parse_config(b"[1,2]", &scanner).is_err());
    }
}
