//! A bundle file as a tree of positioned nodes, from JSON or YAML.
//!
//! Why a tree of our own rather than deserializing straight into the bundle types: validation
//! must report every problem at once with its line and column, and serde stops at the first
//! error and forgets positions. JSON is checked by `serde_json`, then read by a small scanner
//! that records positions; YAML by `saphyr-parser`, an event parser with positions. A serde
//! YAML crate (`serde_yaml_ng`, `serde_norway`) would also resolve scalar types on the way,
//! which bundles must not have (first trap below).
//!
//! Traps of the formats:
//! - YAML resolves plain scalars by schema: `mode: 0644` would become the integer 644 (or 420
//!   in YAML 1.1), `value: no` a boolean. Bundle values are strings, so every YAML scalar keeps
//!   its text exactly as written; only `null`, `~` and an empty plain scalar are null.
//! - YAML anchors and aliases can expand exponentially ("billion laughs"): aliases are expanded
//!   against a node budget, and past [`MAX_NODES`] the document is refused.
//! - Nesting is bounded ([`MAX_DEPTH`]) and so is the input ([`MAX_INPUT`]), before any work.
//! - JSON allows a key twice (serde_json keeps the last); both formats keep every occurrence
//!   here so validation can report `duplicate-key`.
//! - Only the first YAML document is read; a second one is an error, not silently ignored.

use super::diagnostics::{Code, Diagnostic};
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;

/// Largest bundle accepted, in bytes.
pub const MAX_INPUT: usize = 16 << 20;
/// Deepest nesting accepted. A bundle nests six levels deep.
pub const MAX_DEPTH: usize = 64;
/// Most nodes a document may expand to (aliases included).
pub const MAX_NODES: usize = 2_000_000;

/// Which syntax a bundle is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatHint {
    Json,
    Yaml,
    /// JSON when the first non-blank character opens an object or array, else YAML.
    Auto,
}

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub(crate) line: u32,
    pub(crate) column: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) pos: Pos,
    pub(crate) kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Null,
    /// A string, number or boolean, as written (JSON strings unescaped).
    Scalar(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) value: Node,
}

impl Node {
    pub(crate) fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Scalar(_) => "a scalar",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "an object",
        }
    }

    /// The position of the value at `path` (`policies[0].rules[3].params[1].value`), or of
    /// its nearest ancestor that exists.
    pub(crate) fn locate(&self, path: &str) -> Pos {
        let mut node = self;
        for segment in path_segments(path) {
            let next = match (&node.kind, segment) {
                (Kind::Map(entries), Segment::Key(k)) => entries
                    .iter()
                    .rev()
                    .find(|e| e.key.eq_ignore_ascii_case(k))
                    .map(|e| &e.value),
                (Kind::Seq(items), Segment::Index(i)) => items.get(i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node.pos
    }
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn path_segments(path: &str) -> impl Iterator<Item = Segment<'_>> {
    path.split('.').filter(|s| !s.is_empty()).flat_map(|part| {
        let (key, rest) = part.split_once('[').unwrap_or((part, ""));
        let key = (!key.is_empty()).then_some(Segment::Key(key));
        let indexes = rest
            .split('[')
            .filter_map(|i| i.trim_end_matches(']').parse().ok())
            .map(Segment::Index);
        key.into_iter().chain(indexes)
    })
}

/// Parses a bundle document. An error is one diagnostic: nothing else can be said about a
/// document that does not parse.
pub(crate) fn parse(bytes: &[u8], hint: FormatHint) -> Result<Node, Diagnostic> {
    if bytes.len() > MAX_INPUT {
        return Err(Diagnostic::new(
            Code::TooLarge,
            "",
            format!(
                "the bundle is {} bytes; at most {MAX_INPUT} are accepted",
                bytes.len()
            ),
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Diagnostic::new(
            Code::SyntaxError,
            "",
            format!("the bundle is not UTF-8 (byte {})", e.valid_up_to()),
        )
    })?;
    let json = match hint {
        FormatHint::Json => true,
        FormatHint::Yaml => false,
        FormatHint::Auto => matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'[')),
    };
    if json {
        parse_json(text)
    } else {
        parse_yaml(text)
    }
}

// ---------------------------------------------------------------- JSON

/// JSON is validated by `serde_json` first (syntax errors with its positions), then read by
/// a small scanner that only ever sees valid JSON and records where each value starts, in
/// one pass (line and character column tracked as it goes, so minified bundles stay linear).
/// Escaped strings are unescaped by `serde_json`.
fn parse_json(text: &str) -> Result<Node, Diagnostic> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| {
        let mut d = Diagnostic::new(Code::SyntaxError, "", format!("invalid JSON: {e}"));
        if e.line() > 0 {
            d.line = u32::try_from(e.line()).ok();
            d.column = u32::try_from(e.column()).ok();
        }
        if e.to_string().contains("recursion limit") {
            d.code = Code::TooLarge;
        }
        d
    })?;
    let mut scanner = JsonScanner {
        src: text,
        bytes: text.as_bytes(),
        i: 0,
        line: 1,
        col: 1,
        col_byte: 0,
        budget: MAX_NODES,
    };
    scanner.value(0)
}

struct JsonScanner<'a> {
    src: &'a str,
    bytes: &'a [u8],
    i: usize,
    line: u32,
    /// Column (in characters) of `col_byte`.
    col: u32,
    col_byte: usize,
    budget: usize,
}

impl JsonScanner<'_> {
    fn pos(&mut self) -> Pos {
        let upto = self.i.min(self.bytes.len());
        if upto > self.col_byte {
            let chars = self.bytes[self.col_byte..upto]
                .iter()
                .filter(|b| (**b & 0xC0) != 0x80)
                .count();
            self.col = self
                .col
                .saturating_add(u32::try_from(chars).unwrap_or(u32::MAX));
            self.col_byte = upto;
        }
        Pos {
            line: self.line,
            column: self.col,
        }
    }

    fn ws(&mut self) {
        while let Some(b) = self.bytes.get(self.i) {
            match b {
                b'\n' => {
                    self.i += 1;
                    self.line = self.line.saturating_add(1);
                    self.col = 1;
                    self.col_byte = self.i;
                }
                b' ' | b'\t' | b'\r' => self.i += 1,
                _ => break,
            }
        }
    }

    fn unexpected(&mut self) -> Diagnostic {
        let pos = self.pos();
        syntax_at("invalid JSON", pos)
    }

    fn expect(&mut self, byte: u8) -> Result<(), Diagnostic> {
        self.ws();
        if self.bytes.get(self.i) == Some(&byte) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn string(&mut self) -> Result<String, Diagnostic> {
        self.expect(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            match self.bytes.get(self.i) {
                Some(b'\\') => {
                    escaped = true;
                    self.i += 2;
                }
                Some(b'"') => break,
                Some(_) => self.i += 1,
                None => return Err(self.unexpected()),
            }
        }
        let end = self.i;
        self.i += 1;
        let raw = self.src.get(start..end).ok_or_else(|| self.unexpected())?;
        if escaped {
            let quoted = self
                .src
                .get(start - 1..end + 1)
                .ok_or_else(|| self.unexpected())?;
            serde_json::from_str::<String>(quoted).map_err(|_| self.unexpected())
        } else {
            Ok(raw.to_owned())
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, Diagnostic> {
        self.ws();
        let pos = self.pos();
        if depth > MAX_DEPTH {
            return Err(too_deep(pos));
        }
        spend(&mut self.budget, pos)?;
        let kind = match self.bytes.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut entries = Vec::new();
                self.ws();
                if self.bytes.get(self.i) == Some(&b'}') {
                    self.i += 1;
                } else {
                    loop {
                        let key = self.string()?;
                        self.expect(b':')?;
                        let value = self.value(depth + 1)?;
                        entries.push(Entry { key, value });
                        self.ws();
                        match self.bytes.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                break;
                            }
                            _ => return Err(self.unexpected()),
                        }
                    }
                }
                Kind::Map(entries)
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.bytes.get(self.i) == Some(&b']') {
                    self.i += 1;
                } else {
                    loop {
                        items.push(self.value(depth + 1)?);
                        self.ws();
                        match self.bytes.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                break;
                            }
                            _ => return Err(self.unexpected()),
                        }
                    }
                }
                Kind::Seq(items)
            }
            Some(b'"') => Kind::Scalar(self.string()?),
            Some(_) => {
                let start = self.i;
                while let Some(b) = self.bytes.get(self.i) {
                    if matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n') {
                        break;
                    }
                    self.i += 1;
                }
                let token = self
                    .src
                    .get(start..self.i)
                    .ok_or_else(|| self.unexpected())?;
                if token.is_empty() {
                    return Err(self.unexpected());
                }
                if token == "null" {
                    Kind::Null
                } else {
                    Kind::Scalar(token.to_owned())
                }
            }
            None => return Err(self.unexpected()),
        };
        Ok(Node { pos, kind })
    }
}

fn syntax_at(message: &str, pos: Pos) -> Diagnostic {
    let mut d = Diagnostic::new(Code::SyntaxError, "", message);
    d.line = Some(pos.line);
    d.column = Some(pos.column);
    d
}

// ---------------------------------------------------------------- YAML

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<Entry>,
        key: Option<String>,
    },
}

fn yaml_pos(span: &Span) -> Pos {
    Pos {
        line: u32::try_from(span.start.line()).unwrap_or(u32::MAX),
        column: u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
    }
}

fn parse_yaml(text: &str) -> Result<Node, Diagnostic> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, (Node, usize)> = HashMap::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    let mut budget = MAX_NODES;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            let code = if e.info().contains("recursion limit") {
                Code::TooLarge
            } else {
                Code::SyntaxError
            };
            let mut d = Diagnostic::new(code, "", format!("invalid YAML: {}", e.info()));
            d.line = u32::try_from(e.marker().line()).ok();
            d.column = u32::try_from(e.marker().col() + 1).ok();
            d
        })?;
        let pos = yaml_pos(&span);
        let (node, anchor) = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    let mut d = Diagnostic::new(
                        Code::SyntaxError,
                        "",
                        "the file holds several YAML documents; a bundle is one document",
                    );
                    d.line = Some(pos.line);
                    d.column = Some(pos.column);
                    return Err(d);
                }
                continue;
            }
            Event::SequenceStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(too_deep(pos));
                }
                spend(&mut budget, pos)?;
                stack.push(Frame::Seq {
                    pos,
                    anchor,
                    items: Vec::new(),
                });
                continue;
            }
            Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(too_deep(pos));
                }
                spend(&mut budget, pos)?;
                stack.push(Frame::Map {
                    pos,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                });
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq { pos, anchor, items }) => (
                    Node {
                        pos,
                        kind: Kind::Seq(items),
                    },
                    anchor,
                ),
                _ => return Err(syntax("unbalanced sequence", pos)),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    pos,
                    anchor,
                    entries,
                    key,
                }) => {
                    if key.is_some() {
                        return Err(syntax("a mapping key has no value", pos));
                    }
                    (
                        Node {
                            pos,
                            kind: Kind::Map(entries),
                        },
                        anchor,
                    )
                }
                _ => return Err(syntax("unbalanced mapping", pos)),
            },
            Event::Scalar(value, style, anchor, _tag) => {
                spend(&mut budget, pos)?;
                let null = style == ScalarStyle::Plain
                    && matches!(value.as_ref(), "" | "~" | "null" | "Null" | "NULL");
                let kind = if null {
                    Kind::Null
                } else {
                    Kind::Scalar(value.into_owned())
                };
                (Node { pos, kind }, anchor)
            }
            Event::Alias(id) => {
                let Some((node, size)) = anchors.get(&id) else {
                    return Err(syntax("an alias names an unknown anchor", pos));
                };
                if *size > budget {
                    return Err(Diagnostic::new(
                        Code::TooLarge,
                        "",
                        format!("aliases expand the document past {MAX_NODES} nodes"),
                    ));
                }
                budget -= *size;
                (node.clone(), 0)
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {
                continue;
            }
        };
        if anchor != 0 {
            let size = count_nodes(&node);
            anchors.insert(anchor, (node.clone(), size));
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => match node.kind {
                    Kind::Scalar(text) => *key = Some(text),
                    Kind::Null => *key = Some(String::new()),
                    _ => return Err(syntax("mapping keys must be plain strings", node.pos)),
                },
                Some(k) => entries.push(Entry {
                    key: k,
                    value: node,
                }),
            },
        }
    }
    Ok(root.unwrap_or(Node {
        pos: Pos { line: 1, column: 1 },
        kind: Kind::Null,
    }))
}

fn count_nodes(node: &Node) -> usize {
    let mut count = 0;
    let mut todo = vec![node];
    while let Some(n) = todo.pop() {
        count += 1;
        match &n.kind {
            Kind::Seq(items) => todo.extend(items),
            Kind::Map(entries) => todo.extend(entries.iter().map(|e| &e.value)),
            Kind::Null | Kind::Scalar(_) => {}
        }
    }
    count
}

fn spend(budget: &mut usize, pos: Pos) -> Result<(), Diagnostic> {
    if *budget == 0 {
        let mut d = Diagnostic::new(
            Code::TooLarge,
            "",
            format!("the document has more than {MAX_NODES} nodes"),
        );
        d.line = Some(pos.line);
        d.column = Some(pos.column);
        return Err(d);
    }
    *budget -= 1;
    Ok(())
}

fn too_deep(pos: Pos) -> Diagnostic {
    let mut d = Diagnostic::new(
        Code::TooLarge,
        "",
        format!("the document nests deeper than {MAX_DEPTH} levels"),
    );
    d.line = Some(pos.line);
    d.column = Some(pos.column);
    d
}

fn syntax(message: &str, pos: Pos) -> Diagnostic {
    syntax_at(&format!("invalid YAML: {message}"), pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(n: &Node) -> &str {
        match &n.kind {
            Kind::Scalar(s) => s,
            other => panic!("not a scalar: {other:?}"),
        }
    }

    fn get<'a>(n: &'a Node, key: &str) -> &'a Node {
        match &n.kind {
            Kind::Map(entries) => &entries.iter().find(|e| e.key == key).expect("key").value,
            other => panic!("not a map: {other:?}"),
        }
    }

    #[test]
    fn json_positions_and_scalars() {
        let text = "{\n  \"id\": \"b1\",\n  \"n\": 12,\n  \"ok\": true,\n  \"none\": null,\n  \"list\": [ \"a\\u00e9\", {\"k\": \"v\"} ]\n}";
        let root = parse(text.as_bytes(), FormatHint::Auto).expect("parses");
        assert_eq!(root.pos, Pos { line: 1, column: 1 });
        let id = get(&root, "id");
        assert_eq!((scalar(id), id.pos), ("b1", Pos { line: 2, column: 9 }));
        assert_eq!(scalar(get(&root, "n")), "12");
        assert_eq!(scalar(get(&root, "ok")), "true");
        assert_eq!(get(&root, "none").kind, Kind::Null);
        let Kind::Seq(items) = &get(&root, "list").kind else {
            panic!("list")
        };
        assert_eq!(scalar(&items[0]), "aé");
        assert_eq!(
            items[1].pos,
            Pos {
                line: 6,
                column: 24
            }
        );
        assert_eq!(
            root.locate("list[1].k"),
            Pos {
                line: 6,
                column: 30
            },
            "locate walks keys and indexes"
        );
        assert_eq!(
            root.locate("list[7]"),
            get(&root, "list").pos,
            "nearest ancestor"
        );
    }

    #[test]
    fn json_keeps_duplicate_keys() {
        let root = parse(br#"{"a": "1", "a": "2"}"#, FormatHint::Json).expect("parses");
        let Kind::Map(entries) = root.kind else {
            panic!("map")
        };
        assert_eq!(entries.len(), 2);
    }

    #[test]
    fn yaml_keeps_scalar_text() {
        let text = "id: b1\nmode: 0644\nflag: no\nempty:\ntilde: ~\nquoted: 'null'\nlist:\n  - a\n  - {k: v}\n";
        let root = parse(text.as_bytes(), FormatHint::Auto).expect("parses");
        assert_eq!(scalar(get(&root, "mode")), "0644");
        assert_eq!(scalar(get(&root, "flag")), "no");
        assert_eq!(get(&root, "empty").kind, Kind::Null);
        assert_eq!(get(&root, "tilde").kind, Kind::Null);
        assert_eq!(scalar(get(&root, "quoted")), "null");
        assert_eq!(get(&root, "mode").pos, Pos { line: 2, column: 7 });
        assert_eq!(root.locate("list[1].k").line, 9);
    }

    #[test]
    fn yaml_aliases_expand_within_budget() {
        let text = "a: &x {k: v}\nb: *x\n";
        let root = parse(text.as_bytes(), FormatHint::Yaml).expect("parses");
        assert_eq!(scalar(get(get(&root, "b"), "k")), "v");
    }

    #[test]
    fn billion_laughs_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = format!("*a{}", i - 1);
            let items = [prev.as_str(); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{items}]\n"));
        }
        let err = parse(text.as_bytes(), FormatHint::Yaml).expect_err("refused");
        assert_eq!(err.code, Code::TooLarge);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let json = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let err = parse(json.as_bytes(), FormatHint::Json).expect_err("refused");
        assert_eq!(err.code, Code::TooLarge);
        let yaml = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        let err = parse(yaml.as_bytes(), FormatHint::Yaml).expect_err("refused");
        assert_eq!(err.code, Code::TooLarge, "{err}");
    }

    #[test]
    fn syntax_errors_carry_positions() {
        let err = parse(b"{\n \"a\": ,\n}", FormatHint::Auto).expect_err("bad json");
        assert_eq!((err.code, err.line), (Code::SyntaxError, Some(2)));
        let err = parse(b"a: [b\nc: d", FormatHint::Yaml).expect_err("bad yaml");
        assert_eq!(err.code, Code::SyntaxError);
        assert!(err.line.is_some());
        let err = parse(b"a: b\n---\nc: d\n", FormatHint::Yaml).expect_err("two docs");
        assert_eq!(err.code, Code::SyntaxError);
        let err = parse(b"\xff\xfe", FormatHint::Auto).expect_err("not utf-8");
        assert_eq!(err.code, Code::SyntaxError);
    }

    #[test]
    fn oversized_input_is_refused_before_parsing() {
        let big = vec![b' '; MAX_INPUT + 1];
        let err = parse(&big, FormatHint::Auto).expect_err("too big");
        assert_eq!(err.code, Code::TooLarge);
    }
}
