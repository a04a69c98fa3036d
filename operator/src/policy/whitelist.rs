//! Whitelists: items that exempt fired triggers (by gate and trigger id) from the final action.
//!
//! Anchore's rules, kept: an item matches a result row when its gate equals the row's gate
//! (case-insensitive) and its `trigger_id` equals the row's trigger id or matches it as a
//! wildcard (`CVE-2023-*+openssl`, `*+libssl3`) or a `regexp:` pattern; an item whose
//! `expires_on` is at or before `now` no longer applies. Traps: vulnerability trigger ids are
//! `VULNID+PACKAGE`, so whitelisting `CVE-1` alone matches nothing (`CVE-1+*` does); the first
//! matching item (mapping's whitelists in order, items in order) is the one reported.
//!
//! Thousands of items are common (every accepted CVE): exact ids are looked up in a hash map,
//! only pattern items are tried one by one.

use super::pattern::Wildcard;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
pub struct WhitelistItem {
    pub id: Option<String>,
    /// Lowercase gate name.
    pub gate: String,
    pub trigger_id: Wildcard,
    pub expires_on: Option<DateTime<Utc>>,
}

impl WhitelistItem {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_on.is_some_and(|e| now >= e)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Whitelist {
    pub id: String,
    pub name: Option<String>,
    pub items: Vec<WhitelistItem>,
    /// (gate, exact trigger id) to item indexes, ascending.
    exact: HashMap<(String, String), Vec<usize>>,
    /// gate to indexes of items with wildcard or regexp trigger ids, ascending.
    patterns: HashMap<String, Vec<usize>>,
}

impl Whitelist {
    pub(crate) fn new(id: String, name: Option<String>, items: Vec<WhitelistItem>) -> Self {
        let mut exact: HashMap<(String, String), Vec<usize>> = HashMap::new();
        let mut patterns: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            match item.trigger_id.exact() {
                Some(t) => exact
                    .entry((item.gate.clone(), t.to_owned()))
                    .or_default()
                    .push(i),
                None => patterns.entry(item.gate.clone()).or_default().push(i),
            }
        }
        Self {
            id,
            name,
            items,
            exact,
            patterns,
        }
    }

    /// The first unexpired item that exempts a row of `gate` with `trigger_id`.
    pub fn find(&self, gate: &str, trigger_id: &str, now: DateTime<Utc>) -> Option<&WhitelistItem> {
        let gate = gate.to_ascii_lowercase();
        let exact = self
            .exact
            .get(&(gate.clone(), trigger_id.to_owned()))
            .into_iter()
            .flatten()
            .copied()
            .find(|i| !self.items[*i].is_expired(now));
        let pattern = self
            .patterns
            .get(&gate)
            .into_iter()
            .flatten()
            .copied()
            .take_while(|i| exact.is_none_or(|e| *i < e))
            .find(|i| {
                let item = &self.items[*i];
                !item.is_expired(now) && item.trigger_id.is_match(trigger_id)
            });
        pattern.or(exact).map(|i| &self.items[i])
    }
}

/// `expires_on` as Anchore writes it (RFC 3339), or a plain date meaning midnight UTC.
pub(crate) fn parse_expiry(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, gate: &str, trigger: &str, expires: Option<&str>) -> WhitelistItem {
        WhitelistItem {
            id: Some(id.into()),
            gate: gate.into(),
            trigger_id: Wildcard::new(trigger).expect("pattern"),
            expires_on: expires.map(|e| parse_expiry(e).expect("date")),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        parse_expiry(s).expect("time")
    }

    #[test]
    fn first_matching_unexpired_item_wins() {
        let wl = Whitelist::new(
            "w".into(),
            None,
            vec![
                item(
                    "old",
                    "vulnerabilities",
                    "CVE-1+openssl",
                    Some("2024-01-01"),
                ),
                item("glob", "vulnerabilities", "CVE-1+*", None),
                item("exact", "vulnerabilities", "CVE-1+openssl", None),
                item("re", "vulnerabilities", "regexp:CVE-2+.*", None),
                item("file", "files", "abc", Some("2030-01-01T00:00:00Z")),
            ],
        );
        let now = at("2025-06-01");
        let found = |gate: &str, id: &str| wl.find(gate, id, now).and_then(|i| i.id.clone());
        assert_eq!(
            found("vulnerabilities", "CVE-1+openssl").as_deref(),
            Some("glob")
        );
        assert_eq!(
            found("VULNERABILITIES", "CVE-1+zlib").as_deref(),
            Some("glob")
        );
        assert_eq!(
            found("vulnerabilities", "CVE-2+zlib").as_deref(),
            Some("re")
        );
        assert_eq!(found("vulnerabilities", "CVE-3+zlib"), None);
        assert_eq!(found("files", "abc").as_deref(), Some("file"));
        assert_eq!(found("dockerfile", "abc"), None, "gate must match");
        assert_eq!(
            wl.find("files", "abc", at("2030-01-01T00:00:00Z"))
                .map(|i| i.id.clone()),
            None,
            "expired at the exact instant"
        );
        assert!(
            wl.find("vulnerabilities", "CVE-1+openssl", at("2023-12-31"))
                .is_some_and(|i| i.id.as_deref() == Some("old")),
            "before expiry the first item applies"
        );
    }

    #[test]
    fn expiry_formats() {
        assert_eq!(parse_expiry("2025-01-02"), Some(at("2025-01-02T00:00:00Z")));
        assert_eq!(
            parse_expiry("2025-01-02T03:00:00+02:00"),
            Some(at("2025-01-02T01:00:00Z"))
        );
        assert_eq!(parse_expiry("next week"), None);
        assert_eq!(parse_expiry("2025-13-01"), None);
    }
}
