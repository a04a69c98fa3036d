//! Tar entry names become absolute, normalised paths. Nothing is ever extracted, but paths
//! still matter: a `../../etc/passwd` entry must not shadow the real `/etc/passwd` in the
//! squashed view, and a link target is only meaningful inside the image root.

/// `./usr//bin/./ls` -> `/usr/bin/ls`. `None` when the name climbs above the root or is not
/// UTF-8-clean enough to name a file we can reason about (invalid bytes are replaced).
pub fn normalize_entry_path(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let mut parts: Vec<&str> = Vec::new();
    for comp in text.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    let mut out = String::with_capacity(text.len() + 1);
    for p in &parts {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() {
        out.push('/');
    }
    Some(out)
}

/// Resolves a symlink target relative to the link's own directory, within the image root:
/// `..` at the root stays at the root, as the kernel does inside a chroot.
pub fn resolve_link_target(link_path: &str, target: &str) -> String {
    let base = if target.starts_with('/') {
        String::new()
    } else {
        match link_path.rsplit_once('/') {
            Some((dir, _)) => dir.to_owned(),
            None => String::new(),
        }
    };
    let joined = format!("{base}/{target}");
    let mut parts: Vec<&str> = Vec::new();
    for comp in joined.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        "/".to_owned()
    } else {
        format!("/{}", parts.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_entry_names() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (b"./usr//bin/./ls", Some("/usr/bin/ls")),
            (b"/etc/passwd", Some("/etc/passwd")),
            (b"etc/", Some("/etc")),
            (b"./", Some("/")),
            (b"a/b/../c", Some("/a/c")),
            (b"../etc/passwd", None),
            (b"a/../../etc/shadow", None),
            (b"/../../x", None),
        ];
        for (raw, want) in cases {
            assert_eq!(
                normalize_entry_path(raw).as_deref(),
                *want,
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn link_targets_stay_inside_root() {
        assert_eq!(
            resolve_link_target("/usr/bin/python3", "python3.11"),
            "/usr/bin/python3.11"
        );
        assert_eq!(
            resolve_link_target("/lib/x", "../../../../etc/shadow"),
            "/etc/shadow"
        );
        assert_eq!(resolve_link_target("/a/b", "/abs/t"), "/abs/t");
        assert_eq!(resolve_link_target("/a", ".."), "/");
    }
}
