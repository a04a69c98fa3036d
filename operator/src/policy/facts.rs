//! Views of the input that several rules share, each computed at most once per evaluation and
//! only when a rule needs it: the Dockerfile's instructions, the file index by path, retrieved
//! files decoded, `/etc/passwd` entries, whether vulnerability data covers the image.
//!
//! Traps: Dockerfile lines continue with a trailing `\`; a line starting with `#` is a comment
//! (also inside a continuation, as Docker reads it); instruction names are case-insensitive.
//! Retrieved files are base64 in the analysis and may be truncated; `/etc/passwd` lines with
//! fewer than seven fields are skipped.

use super::input::EvalInput;
use crate::matcher::ecosystem::{Unmatchable, queries_for};
use base64::Engine as _;
use plimsoll_analyzer::model::{DockerfileSource, FileEntry};
use std::cell::OnceCell;
use std::collections::HashMap;

/// One instruction of a Dockerfile: the uppercase name and the rest of the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Instruction {
    pub(crate) name: String,
    pub(crate) args: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DockerfileFacts {
    pub(crate) actual: bool,
    pub(crate) instructions: Vec<Instruction>,
}

impl DockerfileFacts {
    pub(crate) fn parse(text: &str, actual: bool) -> Self {
        let mut instructions = Vec::new();
        let mut buf = String::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(head) = line.strip_suffix('\\') {
                buf.push_str(head);
                buf.push(' ');
                continue;
            }
            buf.push_str(line);
            let full = std::mem::take(&mut buf);
            let full = full.trim();
            let (name, args) = full.split_once(char::is_whitespace).unwrap_or((full, ""));
            instructions.push(Instruction {
                name: name.to_ascii_uppercase(),
                args: args.trim().to_owned(),
            });
        }
        if !buf.trim().is_empty() {
            let full = buf.trim();
            let (name, args) = full.split_once(char::is_whitespace).unwrap_or((full, ""));
            instructions.push(Instruction {
                name: name.to_ascii_uppercase(),
                args: args.trim().to_owned(),
            });
        }
        Self {
            actual,
            instructions,
        }
    }

    pub(crate) fn named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Instruction> {
        self.instructions.iter().filter(move |i| i.name == name)
    }
}

/// A retrieved file's content as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Retrieved {
    pub(crate) text: String,
    pub(crate) truncated: bool,
}

/// One `/etc/passwd` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PasswdEntry {
    pub(crate) line: String,
    pub(crate) name: String,
    pub(crate) uid: String,
    pub(crate) gid: String,
    pub(crate) shell: String,
}

pub(crate) fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() < 7 {
                return None;
            }
            Some(PasswdEntry {
                line: line.to_owned(),
                name: fields[0].to_owned(),
                uid: fields[2].to_owned(),
                gid: fields[3].to_owned(),
                shell: fields[6].to_owned(),
            })
        })
        .collect()
}

pub(crate) struct Facts<'a> {
    pub(crate) input: &'a EvalInput<'a>,
    dockerfile: OnceCell<Option<DockerfileFacts>>,
    files: OnceCell<HashMap<&'a str, &'a FileEntry>>,
    retrieved: OnceCell<HashMap<&'a str, Retrieved>>,
    passwd: OnceCell<Option<Vec<PasswdEntry>>>,
    vuln_data: OnceCell<Option<String>>,
}

impl<'a> Facts<'a> {
    pub(crate) fn new(input: &'a EvalInput<'a>) -> Self {
        Self {
            input,
            dockerfile: OnceCell::new(),
            files: OnceCell::new(),
            retrieved: OnceCell::new(),
            passwd: OnceCell::new(),
            vuln_data: OnceCell::new(),
        }
    }

    /// The Dockerfile, actual or guessed from history; `None` when the analysis has none.
    pub(crate) fn dockerfile(&self) -> Option<&DockerfileFacts> {
        self.dockerfile
            .get_or_init(|| {
                let d = self.input.analysis.image.dockerfile.as_ref()?;
                Some(DockerfileFacts::parse(
                    &d.text,
                    d.source == DockerfileSource::Actual,
                ))
            })
            .as_ref()
    }

    pub(crate) fn file(&self, path: &str) -> Option<&'a FileEntry> {
        self.files
            .get_or_init(|| {
                self.input
                    .analysis
                    .files
                    .iter()
                    .map(|f| (f.path.as_str(), f))
                    .collect()
            })
            .get(path)
            .copied()
    }

    pub(crate) fn retrieved(&self, path: &str) -> Option<&Retrieved> {
        self.retrieved
            .get_or_init(|| {
                let mut map = HashMap::new();
                for f in &self.input.analysis.retrieved_files {
                    // An undecodable file is treated as not retrieved.
                    let Ok(bytes) =
                        base64::engine::general_purpose::STANDARD.decode(f.content_base64.trim())
                    else {
                        continue;
                    };
                    map.insert(
                        f.path.as_str(),
                        Retrieved {
                            text: String::from_utf8_lossy(&bytes).into_owned(),
                            truncated: f.truncated,
                        },
                    );
                }
                map
            })
            .get(path)
    }

    /// The entries of the retrieved `/etc/passwd`, `None` when it was not retrieved.
    pub(crate) fn passwd(&self) -> Option<&[PasswdEntry]> {
        self.passwd
            .get_or_init(|| self.retrieved("/etc/passwd").map(|r| parse_passwd(&r.text)))
            .as_deref()
    }

    /// Why vulnerability data does not cover the image's OS packages, if it does not: no feed
    /// synced, or a distribution the matcher has no feed for.
    pub(crate) fn vulnerability_data_gap(&self) -> Option<&str> {
        self.vuln_data
            .get_or_init(|| {
                if self.input.feed_sync.is_none() {
                    return Some("the vulnerability feed has never been synced".to_owned());
                }
                let analysis = self.input.analysis;
                analysis
                    .packages
                    .iter()
                    .filter(|p| p.kind.is_os())
                    .find_map(|p| match queries_for(p, analysis.distro.as_ref()) {
                        Err(e @ Unmatchable::UnknownDistro { .. }) => Some(e.to_string()),
                        _ => None,
                    })
            })
            .as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_lines() {
        let text = "# syntax=docker/dockerfile:1\nFROM debian:12 AS build\n\nrun apt-get update && \\\n    apt-get install -y curl\n  # a comment\nEXPOSE 80 443/tcp\nUSER app\nHEALTHCHECK\nCMD [\"x\"] \\";
        let d = DockerfileFacts::parse(text, true);
        let got: Vec<(&str, &str)> = d
            .instructions
            .iter()
            .map(|i| (i.name.as_str(), i.args.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("FROM", "debian:12 AS build"),
                ("RUN", "apt-get update &&  apt-get install -y curl"),
                ("EXPOSE", "80 443/tcp"),
                ("USER", "app"),
                ("HEALTHCHECK", ""),
                ("CMD", "[\"x\"]"),
            ]
        );
    }

    #[test]
    fn passwd_entries() {
        let e = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\n\n# c\nbroken:x:1\nftp:x:14:50:FTP User:/var/ftp:/sbin/nologin\n",
        );
        assert_eq!(e.len(), 2);
        assert_eq!(
            (
                e[1].name.as_str(),
                e[1].uid.as_str(),
                e[1].gid.as_str(),
                e[1].shell.as_str()
            ),
            ("ftp", "14", "50", "/sbin/nologin")
        );
        assert_eq!(e[0].line, "root:x:0:0:root:/root:/bin/bash");
    }
}
