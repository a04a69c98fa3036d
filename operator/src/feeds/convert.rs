//! Small pieces shared by the native-feed converters (`alpine_secdb`, `debian_tracker`).

use crate::feeds::osv::{Event, Range};

/// `pkg:<kind>/<namespace>/<name>?arch=source`, the purl OSV distro feeds give a source
/// package. The name is percent-encoded outside the purl spec's unreserved characters (`+` in
/// `gtk+3.0` becomes `%2B`).
pub(crate) fn source_purl(kind: &str, namespace: &str, name: &str) -> String {
    let mut encoded = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("pkg:{kind}/{namespace}/{encoded}?arch=source")
}

/// An `ECOSYSTEM` range from the beginning of time, up to `fixed` when there is a fix.
pub(crate) fn range_from_zero(fixed: Option<&str>) -> Range {
    let mut events = vec![Event {
        introduced: Some("0".to_owned()),
        ..Event::default()
    }];
    if let Some(fixed) = fixed {
        events.push(Event {
            fixed: Some(fixed.to_owned()),
            ..Event::default()
        });
    }
    Range {
        kind: "ECOSYSTEM".to_owned(),
        repo: None,
        events,
        database_specific: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purl_names_are_percent_encoded() {
        assert_eq!(
            source_purl("apk", "alpine", "gtk+3.0"),
            "pkg:apk/alpine/gtk%2B3.0?arch=source"
        );
        assert_eq!(
            source_purl("deb", "debian", "libxml2"),
            "pkg:deb/debian/libxml2?arch=source"
        );
    }
}
