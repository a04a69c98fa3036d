//! Which distribution an image is: `/etc/os-release` (or `/usr/lib/os-release`), refined or
//! replaced by the older release files, and busybox for images that have nothing else.
//!
//! Traps: Debian's os-release has no minor version (`VERSION_ID="12"`), `/etc/debian_version`
//! has it (`12.7`) — or a codename (`bookworm/sid`) on testing, which must not replace the
//! number. Distroless images carry only `/usr/lib/os-release`.

use crate::model::Distro;

/// The files detection reads; the walk keeps their content.
pub const FILES: &[&str] = &[
    "/etc/os-release",
    "/usr/lib/os-release",
    "/etc/debian_version",
    "/etc/redhat-release",
    "/etc/system-release-cpe",
    "/etc/alpine-release",
    "/bin/busybox",
];

/// Detects the distro from visible files; `read` returns a path's content if the image has it.
pub fn detect<'a>(read: impl Fn(&str) -> Option<&'a [u8]>) -> Option<Distro> {
    let os_release = read("/etc/os-release").or_else(|| read("/usr/lib/os-release"));
    let mut distro = os_release.and_then(|b| parse_os_release(&String::from_utf8_lossy(b)));
    if distro.is_none() {
        distro = read("/etc/redhat-release")
            .and_then(|b| parse_redhat_release(&String::from_utf8_lossy(b)));
    }
    if distro.is_none() {
        distro =
            read("/etc/system-release-cpe").and_then(|b| parse_cpe(&String::from_utf8_lossy(b)));
    }
    if distro.is_none() {
        distro = read("/bin/busybox")
            .and_then(busybox_version)
            .map(|v| Distro {
                id: "busybox".into(),
                version_id: Some(v),
                ..Distro::default()
            });
    }
    let mut distro = distro?;
    if distro.id == "debian"
        && let Some(v) = read("/etc/debian_version")
    {
        let v = String::from_utf8_lossy(v).trim().to_owned();
        if v.starts_with(|c: char| c.is_ascii_digit()) {
            distro.version_id = Some(v);
        }
    }
    Some(distro)
}

/// `KEY=value` lines, values optionally quoted (systemd os-release(5)).
pub fn parse_os_release(text: &str) -> Option<Distro> {
    let mut d = Distro::default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = unquote(v.trim());
        match k.trim() {
            "ID" => d.id = v.to_ascii_lowercase(),
            "VERSION_ID" => d.version_id = Some(v),
            "VERSION_CODENAME" => d.version_codename = Some(v),
            "ID_LIKE" => d.id_like = v.split_whitespace().map(str::to_owned).collect(),
            "PRETTY_NAME" => d.pretty_name = Some(v),
            "CPE_NAME" => d.cpe_name = Some(v),
            _ => {}
        }
    }
    (!d.id.is_empty()).then_some(d)
}

fn unquote(v: &str) -> String {
    let v = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(v);
    let v = v
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .unwrap_or(v);
    v.replace("\\\"", "\"")
        .replace("\\$", "$")
        .replace("\\\\", "\\")
}

/// `Red Hat Enterprise Linux release 8.9 (Ootpa)`, `CentOS Linux release 7.9.2009 (Core)`.
fn parse_redhat_release(text: &str) -> Option<Distro> {
    let line = text.lines().next()?.trim();
    let (name, rest) = line.split_once(" release ")?;
    let version = rest.split_whitespace().next()?.to_owned();
    let id = match name.to_ascii_lowercase() {
        n if n.starts_with("red hat") => "rhel".to_owned(),
        n if n.starts_with("centos") => "centos".to_owned(),
        n if n.starts_with("almalinux") => "almalinux".to_owned(),
        n if n.starts_with("rocky") => "rocky".to_owned(),
        n if n.starts_with("fedora") => "fedora".to_owned(),
        n => n.split_whitespace().next()?.to_owned(),
    };
    Some(Distro {
        id,
        version_id: Some(version),
        pretty_name: Some(line.to_owned()),
        ..Distro::default()
    })
}

/// `cpe:/o:amazon:amazon_linux:2` or `cpe:2.3:o:redhat:enterprise_linux:8:...`.
fn parse_cpe(text: &str) -> Option<Distro> {
    let cpe = text.trim();
    let parts: Vec<&str> = cpe.split(':').collect();
    let (vendor, product, version) = if cpe.starts_with("cpe:2.3:") {
        (parts.get(3)?, parts.get(4)?, parts.get(5)?)
    } else {
        (parts.get(2)?, parts.get(3)?, parts.get(4)?)
    };
    let id = match (*vendor, *product) {
        ("redhat", _) => "rhel",
        ("amazon", _) => "amzn",
        (_, p) => p,
    };
    Some(Distro {
        id: id.to_owned(),
        version_id: Some((*version).to_owned()),
        cpe_name: Some(cpe.to_owned()),
        ..Distro::default()
    })
}

/// Finds `BusyBox v1.36.1` in the binary.
fn busybox_version(bin: &[u8]) -> Option<String> {
    let needle = b"BusyBox v";
    let at = bin.windows(needle.len()).position(|w| w == needle)?;
    let rest = &bin[at + needle.len()..];
    let end = rest
        .iter()
        .position(|b| !(b.is_ascii_digit() || *b == b'.'))
        .unwrap_or(rest.len());
    let v = std::str::from_utf8(&rest[..end])
        .ok()?
        .trim_end_matches('.');
    (!v.is_empty()).then(|| v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn detect_from(files: &[(&str, &str)]) -> Option<Distro> {
        let map: HashMap<&str, &[u8]> = files.iter().map(|(p, c)| (*p, c.as_bytes())).collect();
        detect(|p| map.get(p).copied())
    }

    const DEBIAN_OS_RELEASE: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";

    #[test]
    fn debian_version_refines_os_release() {
        let d = detect_from(&[
            ("/etc/os-release", DEBIAN_OS_RELEASE),
            ("/etc/debian_version", "12.7\n"),
        ]);
        let d = d.expect("debian");
        assert_eq!(
            (d.id.as_str(), d.version_id.as_deref()),
            ("debian", Some("12.7"))
        );
        assert_eq!(d.version_codename.as_deref(), Some("bookworm"));
        let d = detect_from(&[
            ("/etc/os-release", DEBIAN_OS_RELEASE),
            ("/etc/debian_version", "trixie/sid\n"),
        ]);
        assert_eq!(d.and_then(|d| d.version_id).as_deref(), Some("12"));
    }

    #[test]
    fn distroless_and_alpine_and_rhel() {
        let alpine = "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n";
        assert_eq!(
            detect_from(&[("/usr/lib/os-release", alpine)]).map(|d| d.id),
            Some("alpine".into())
        );
        let alma = "NAME=\"AlmaLinux\"\nVERSION_ID=\"9.4\"\nID=\"almalinux\"\nID_LIKE=\"rhel centos fedora\"\n";
        let d = detect_from(&[("/etc/os-release", alma)]).expect("alma");
        assert_eq!(d.id_like, vec!["rhel", "centos", "fedora"]);
        let d = detect_from(&[(
            "/etc/redhat-release",
            "CentOS Linux release 7.9.2009 (Core)\n",
        )])
        .expect("centos");
        assert_eq!(
            (d.id.as_str(), d.version_id.as_deref()),
            ("centos", Some("7.9.2009"))
        );
        let d = detect_from(&[("/etc/system-release-cpe", "cpe:/o:amazon:amazon_linux:2\n")])
            .expect("amzn");
        assert_eq!(
            (d.id.as_str(), d.version_id.as_deref()),
            ("amzn", Some("2"))
        );
    }

    #[test]
    fn busybox_only() {
        let d = detect_from(&[(
            "/bin/busybox",
            "\x7fELF....BusyBox v1.36.1 (2023-11-07) multi-call",
        )])
        .expect("busybox");
        assert_eq!(
            (d.id.as_str(), d.version_id.as_deref()),
            ("busybox", Some("1.36.1"))
        );
        assert_eq!(detect_from(&[]), None);
    }
}
