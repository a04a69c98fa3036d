//! The policy bundle as written: Anchore's bundle format version `1_0`, unvalidated.
//!
//! ```text
//! id, version ("1_0"), name, comment,
//! policies[]    {id, name, comment, version, rules[] {id, gate, trigger, action, params[] {name, value}}}
//! whitelists[]  {id, name, comment, version, items[] {id, gate, trigger_id, expires_on?}}
//! mappings[]    {id, name, registry, repository, image {type, value}, policy_id | policy_ids[], whitelist_ids[]}
//! whitelisted_images[], blacklisted_images[]   {id, name, registry, repository, image {type, value}}
//! no_mapping_action                            (Plimsoll: STOP | WARN | GO, default GO)
//! ```
//!
//! Every field is optional here: [`super::validate`] says what is missing. The serde derives
//! serve callers that hold a bundle as data (a custom resource's spec); files go through
//! [`from_document`], which reads a positioned tree and reports every type error at once.
//!
//! Traps: Anchore exports carry bookkeeping keys (`last_updated`, `created_at`, `user_id`,
//! `policybundleid`, ...) that are not part of the format; they are accepted silently. Other
//! unknown keys are warnings, since a typo (`whitelist_id`) silently disables what it meant.
//! Param values are strings in Anchore; numbers and booleans are accepted as their text.

use super::diagnostics::{Code, Diagnostics, index, join, quote};
use super::document::{Entry, Kind, Node};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RawBundle {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub policies: Vec<RawPolicy>,
    pub whitelists: Vec<RawWhitelist>,
    pub mappings: Vec<RawMapping>,
    pub whitelisted_images: Vec<RawImageSelector>,
    pub blacklisted_images: Vec<RawImageSelector>,
    /// Plimsoll extension: the final action for an image no mapping selects (default GO, as
    /// Anchore).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_mapping_action: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RawPolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub rules: Vec<RawRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RawRule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    pub params: Vec<RawParam>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct RawParam {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RawWhitelist {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub items: Vec<RawWhitelistItem>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RawWhitelistItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger_id: Option<String>,
    /// RFC 3339 (`2025-12-31T00:00:00Z`) or a date (`2025-12-31`, midnight UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RawImageRef {
    /// `tag`, `digest` or `id`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RawMapping {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<RawImageRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_ids: Option<Vec<String>>,
    pub whitelist_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RawImageSelector {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<RawImageRef>,
}

/// Keys Anchore writes into exported bundles that carry no policy meaning.
const BOOKKEEPING: &[&str] = &[
    "created_at",
    "last_updated",
    "updated_at",
    "user_id",
    "userid",
    "policybundleid",
    "policy_bundle_id",
    "description",
    "active",
    "policy_source",
    "policy_name",
];

/// Reads a positioned document into a [`RawBundle`], reporting every field of the wrong type.
/// The result is complete for what was readable; list elements that are not objects are kept
/// as empty elements so indexes stay those of the file, and their paths are returned so
/// validation does not pile consequences onto them.
pub(crate) fn from_document(root: &Node, d: &mut Diagnostics) -> (RawBundle, Vec<String>) {
    let mut r = Reader {
        d,
        broken: Vec::new(),
    };
    let mut b = RawBundle::default();
    if let Some(entries) = r.object(root, "") {
        for (key, value, path) in r.fields(entries, "") {
            match key.as_str() {
                "id" => b.id = r.string(value, &path),
                "version" => b.version = r.string(value, &path),
                "name" => b.name = r.string(value, &path),
                "comment" => b.comment = r.string(value, &path),
                "no_mapping_action" => b.no_mapping_action = r.string(value, &path),
                "policies" => b.policies = r.list(value, &path, Reader::policy),
                "whitelists" => b.whitelists = r.list(value, &path, Reader::whitelist),
                "mappings" => b.mappings = r.list(value, &path, Reader::mapping),
                "whitelisted_images" => {
                    b.whitelisted_images = r.list(value, &path, Reader::selector);
                }
                "blacklisted_images" => {
                    b.blacklisted_images = r.list(value, &path, Reader::selector);
                }
                _ => r.unknown(&key, &path),
            }
        }
    }
    (b, r.broken)
}

struct Reader<'d> {
    d: &'d mut Diagnostics,
    broken: Vec<String>,
}

impl Reader<'_> {
    fn object<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [Entry]> {
        match &node.kind {
            Kind::Map(entries) => Some(entries),
            _ => {
                self.d.push(
                    Code::WrongType,
                    path,
                    format!("expected an object, found {}", node.type_name()),
                );
                self.broken.push(path.to_owned());
                None
            }
        }
    }

    /// The entries of an object with lowercase keys and their paths; duplicates reported.
    fn fields<'n>(&mut self, entries: &'n [Entry], path: &str) -> Vec<(String, &'n Node, String)> {
        let mut seen: Vec<String> = Vec::with_capacity(entries.len());
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let key = e.key.to_ascii_lowercase();
            let field_path = join(path, &key);
            if seen.contains(&key) {
                self.d.push(
                    Code::DuplicateKey,
                    &field_path,
                    format!(
                        "key {} appears more than once; the last one is used",
                        quote(&e.key)
                    ),
                );
            } else {
                seen.push(key.clone());
            }
            out.push((key, &e.value, field_path));
        }
        out
    }

    fn unknown(&mut self, key: &str, path: &str) {
        if !BOOKKEEPING.contains(&key) {
            self.d.push(
                Code::UnknownField,
                path,
                format!("unknown field {}; it is ignored", quote(key)),
            );
        }
    }

    fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.kind {
            Kind::Scalar(s) => Some(s.clone()),
            Kind::Null => None,
            _ => {
                self.d.push(
                    Code::WrongType,
                    path,
                    format!("expected a string, found {}", node.type_name()),
                );
                None
            }
        }
    }

    fn strings(&mut self, node: &Node, path: &str) -> Vec<String> {
        match &node.kind {
            Kind::Seq(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.string(item, &index(path, i)))
                .collect(),
            Kind::Null => Vec::new(),
            _ => {
                self.d.push(
                    Code::WrongType,
                    path,
                    format!("expected a list of strings, found {}", node.type_name()),
                );
                Vec::new()
            }
        }
    }

    fn list<T: Default>(
        &mut self,
        node: &Node,
        path: &str,
        read: fn(&mut Self, &[Entry], &str) -> T,
    ) -> Vec<T> {
        match &node.kind {
            Kind::Seq(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let item_path = index(path, i);
                    match self.object(item, &item_path) {
                        Some(entries) => read(self, entries, &item_path),
                        None => T::default(),
                    }
                })
                .collect(),
            Kind::Null => Vec::new(),
            _ => {
                self.d.push(
                    Code::WrongType,
                    path,
                    format!("expected a list, found {}", node.type_name()),
                );
                Vec::new()
            }
        }
    }

    fn policy(&mut self, entries: &[Entry], path: &str) -> RawPolicy {
        let mut p = RawPolicy::default();
        for (key, value, path) in self.fields(entries, path) {
            match key.as_str() {
                "id" => p.id = self.string(value, &path),
                "name" => p.name = self.string(value, &path),
                "comment" => p.comment = self.string(value, &path),
                "version" => p.version = self.string(value, &path),
                "rules" => p.rules = self.list(value, &path, Reader::rule),
                _ => self.unknown(&key, &path),
            }
        }
        p
    }

    fn rule(&mut self, entries: &[Entry], path: &str) -> RawRule {
        let mut r = RawRule::default();
        for (key, value, path) in self.fields(entries, path) {
            match key.as_str() {
                "id" => r.id = self.string(value, &path),
                "gate" => r.gate = self.string(value, &path),
                "trigger" => r.trigger = self.string(value, &path),
                "action" => r.action = self.string(value, &path),
                "params" => r.params = self.list(value, &path, Reader::param),
                _ => self.unknown(&key, &path),
            }
        }
        r
    }

    fn param(&mut self, entries: &[Entry], path: &str) -> RawParam {
        let mut p = RawParam::default();
        let mut has_name = false;
        for (key, value, field) in self.fields(entries, path) {
            match key.as_str() {
                "name" => {
                    if let Some(s) = self.string(value, &field) {
                        p.name = s;
                        has_name = true;
                    }
                }
                "value" => p.value = self.string(value, &field).unwrap_or_default(),
                _ => self.unknown(&key, &field),
            }
        }
        if !has_name {
            self.d
                .push(Code::MissingField, path, "a param needs a name");
            self.broken.push(path.to_owned());
        }
        p
    }

    fn whitelist(&mut self, entries: &[Entry], path: &str) -> RawWhitelist {
        let mut w = RawWhitelist::default();
        for (key, value, path) in self.fields(entries, path) {
            match key.as_str() {
                "id" => w.id = self.string(value, &path),
                "name" => w.name = self.string(value, &path),
                "comment" => w.comment = self.string(value, &path),
                "version" => w.version = self.string(value, &path),
                "items" => w.items = self.list(value, &path, Reader::item),
                _ => self.unknown(&key, &path),
            }
        }
        w
    }

    fn item(&mut self, entries: &[Entry], path: &str) -> RawWhitelistItem {
        let mut i = RawWhitelistItem::default();
        for (key, value, path) in self.fields(entries, path) {
            match key.as_str() {
                "id" => i.id = self.string(value, &path),
                "gate" => i.gate = self.string(value, &path),
                "trigger_id" => i.trigger_id = self.string(value, &path),
                "expires_on" => i.expires_on = self.string(value, &path),
                _ => self.unknown(&key, &path),
            }
        }
        i
    }

    fn image(&mut self, node: &Node, path: &str) -> Option<RawImageRef> {
        let entries = self.object(node, path)?;
        let mut r = RawImageRef::default();
        for (key, value, path) in self.fields(entries, path) {
            match key.as_str() {
                "type" => r.kind = self.string(value, &path),
                "value" => r.value = self.string(value, &path),
                _ => self.unknown(&key, &path),
            }
        }
        Some(r)
    }

    fn mapping(&mut self, entries: &[Entry], path: &str) -> RawMapping {
        let mut m = RawMapping::default();
        for (key, value, path) in self.fields(entries, path) {
            match key.as_str() {
                "id" => m.id = self.string(value, &path),
                "name" => m.name = self.string(value, &path),
                "registry" => m.registry = self.string(value, &path),
                "repository" => m.repository = self.string(value, &path),
                "image" => m.image = self.image(value, &path),
                "policy_id" => m.policy_id = self.string(value, &path),
                "policy_ids" => m.policy_ids = Some(self.strings(value, &path)),
                "whitelist_ids" => m.whitelist_ids = self.strings(value, &path),
                _ => self.unknown(&key, &path),
            }
        }
        m
    }

    fn selector(&mut self, entries: &[Entry], path: &str) -> RawImageSelector {
        let mut s = RawImageSelector::default();
        for (key, value, path) in self.fields(entries, path) {
            match key.as_str() {
                "id" => s.id = self.string(value, &path),
                "name" => s.name = self.string(value, &path),
                "registry" => s.registry = self.string(value, &path),
                "repository" => s.repository = self.string(value, &path),
                "image" => s.image = self.image(value, &path),
                _ => self.unknown(&key, &path),
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::super::document::{FormatHint, parse};
    use super::*;

    fn read(text: &str) -> (RawBundle, Vec<String>, Vec<String>) {
        let node = parse(text.as_bytes(), FormatHint::Auto).expect("parses");
        let mut d = Diagnostics::default();
        let (b, broken) = from_document(&node, &mut d);
        let diags = d
            .into_vec()
            .into_iter()
            .map(|d| format!("{} {}", d.code, d.path))
            .collect();
        (b, broken, diags)
    }

    #[test]
    fn reads_every_field() {
        let (b, broken, diags) = read(
            r#"{"id": "b", "version": "1_0", "name": "n", "comment": "c", "no_mapping_action": "STOP",
                "policies": [{"id": "p", "name": "P", "version": "1_0", "comment": "",
                   "rules": [{"id": "r", "gate": "always", "trigger": "always", "action": "GO",
                              "params": [{"name": "x", "value": 3}]}]}],
                "whitelists": [{"id": "w", "name": "W", "version": "1_0",
                   "items": [{"id": "i", "gate": "vulnerabilities", "trigger_id": "CVE-1+*", "expires_on": "2030-01-01"}]}],
                "mappings": [{"id": "m", "name": "M", "registry": "*", "repository": "*",
                   "image": {"type": "tag", "value": "*"}, "policy_ids": ["p"], "whitelist_ids": ["w"]}],
                "whitelisted_images": [{"registry": "r", "repository": "x", "image": {"type": "digest", "value": "sha256:0"}}],
                "blacklisted_images": [],
                "last_updated": 1597953600}"#,
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert!(broken.is_empty());
        assert_eq!(b.no_mapping_action.as_deref(), Some("STOP"));
        assert_eq!(b.policies[0].rules[0].params[0].value, "3");
        assert_eq!(
            b.whitelists[0].items[0].expires_on.as_deref(),
            Some("2030-01-01")
        );
        assert_eq!(
            b.mappings[0].policy_ids.as_deref(),
            Some(&["p".to_owned()][..])
        );
        assert_eq!(
            b.whitelisted_images[0]
                .image
                .as_ref()
                .and_then(|i| i.kind.as_deref()),
            Some("digest")
        );
        // Round trip through serde: the derived model reads what it writes.
        let json = serde_json::to_string(&b).expect("serializes");
        let back: RawBundle = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, b);
    }

    #[test]
    fn reports_every_type_error_and_keeps_indexes() {
        let (b, broken, diags) = read(
            r#"{"id": ["x"], "policies": [7, {"id": "p", "rules": {"a": 1}}, {"id": "q", "whitelist": 1}],
                "mappings": [{"policy_ids": "p", "image": "tag"}], "Id": "again"}"#,
        );
        assert_eq!(
            diags,
            vec![
                "duplicate-key id",
                "wrong-type id",
                "wrong-type policies[0]",
                "wrong-type policies[1].rules",
                "unknown-field policies[2].whitelist",
                "wrong-type mappings[0].policy_ids",
                "wrong-type mappings[0].image",
            ]
        );
        assert_eq!(b.policies.len(), 3);
        assert_eq!(b.policies[2].id.as_deref(), Some("q"));
        assert_eq!(b.id.as_deref(), Some("again"));
        assert_eq!(broken, vec!["policies[0]", "mappings[0].image"]);
    }
}
