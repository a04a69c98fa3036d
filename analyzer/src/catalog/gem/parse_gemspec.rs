//! An installed gem's specification: Ruby source that RubyGems generates
//! (`Gem::Specification#to_ruby`), read here without running Ruby.
//!
//! Traps:
//! - It is code: the block variable is usually `s` but may be anything (`spec`), strings carry
//!   `.freeze`, and generated files guard attributes with `if s.respond_to? :metadata=`.
//! - String literals come as `"..."` (with escapes), `'...'`, `%q{...}` / `%q<...>` /
//!   `%Q(...)`, and word arrays as `%w[MIT Ruby]`.
//! - `s.license = "MIT"` (one) and `s.licenses = ["MIT", "Ruby"]` (several) both exist; a gem
//!   may set neither.
//! - The `# stub: NAME VERSION PLATFORM PATHS` header repeats name and version; its extension
//!   list is NUL-separated, so the file is not pure text.
//! - A gemspec from a source checkout (not an installed one) computes its version
//!   (`Foo::VERSION`): we report that rather than guess.

/// The fields we use.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Gemspec {
    pub name: String,
    pub version: String,
    pub licenses: Vec<String>,
    pub authors: Vec<String>,
    pub homepage: Option<String>,
}

/// Parses one gemspec; missing or computed name and version are errors.
pub fn parse_gemspec(text: &str) -> Result<Gemspec, String> {
    let var = block_variable(text).ok_or("no `Gem::Specification.new do |s|` block")?;
    let mut g = Gemspec::default();
    let mut computed_version = false;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim_start();
        let Some(rest) = trimmed.strip_prefix(var).and_then(|r| r.strip_prefix('.')) else {
            continue;
        };
        let Some((attr, value)) = rest.split_once('=') else {
            continue;
        };
        let attr = attr.trim();
        if value.starts_with(['=', '~'])
            || !attr.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            continue;
        }
        // The value may run past this line (a hand-written array): parse from the text.
        let value_at = start + line.len() - value.len();
        let value = text[value_at..].trim_start_matches([' ', '\t']);
        match attr {
            "name" => g.name = string_value(value).unwrap_or_default(),
            "version" => match version_value(value) {
                Some(v) => g.version = v,
                None => computed_version = true,
            },
            "license" => g.licenses = string_value(value).into_iter().collect(),
            "licenses" => g.licenses = strings_value(value),
            "authors" => g.authors = strings_value(value),
            "author" => g.authors = string_value(value).into_iter().collect(),
            "homepage" => g.homepage = string_value(value),
            _ => {}
        }
    }
    if let Some((name, version)) = stub_line(text) {
        if g.name.is_empty() {
            g.name = name;
        }
        if g.version.is_empty() {
            g.version = version;
        }
    }
    g.licenses.retain(|l| !l.trim().is_empty());
    if g.name.is_empty() {
        return Err("no literal `name`".into());
    }
    if g.version.is_empty() {
        return Err(if computed_version {
            format!("gem {}: the version is computed, not a literal", g.name)
        } else {
            format!("gem {} has no `version`", g.name)
        });
    }
    Ok(g)
}

/// `s` in `Gem::Specification.new do |s|` (or `{ |s|`).
fn block_variable(text: &str) -> Option<&str> {
    let after = &text[text.find("Gem::Specification.new")? + "Gem::Specification.new".len()..];
    let open = after.find('|')?;
    // `new do |s|`, `new { |s|`, or `new(args) do |s|`.
    let between = after[..open].trim();
    if !(between == "do" || between == "{" || between.ends_with(") do") || between.ends_with(") {"))
    {
        return None;
    }
    let var_and_rest = &after[open + 1..];
    let close = var_and_rest.find('|')?;
    let var = var_and_rest[..close].trim();
    (!var.is_empty() && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')).then_some(var)
}

/// `# stub: rack 2.2.22 ruby lib` -> (`rack`, `2.2.22`).
fn stub_line(text: &str) -> Option<(String, String)> {
    let line = text
        .lines()
        .take(5)
        .find_map(|l| l.strip_prefix("# stub: "))?;
    let mut words = line.split_whitespace();
    Some((words.next()?.to_owned(), words.next()?.to_owned()))
}

/// `"1.2.3"` or `Gem::Version.new("1.2.3")`.
fn version_value(value: &str) -> Option<String> {
    let value = value
        .strip_prefix("Gem::Version.new(")
        .unwrap_or(value)
        .trim_start();
    string_value(value)
}

fn string_value(value: &str) -> Option<String> {
    let (s, _) = string_literal(value)?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// `["a".freeze, 'b']`, `%w[a b]`, or a single string.
fn strings_value(value: &str) -> Vec<String> {
    if let Some(rest) = value
        .strip_prefix("%w")
        .or_else(|| value.strip_prefix("%W"))
    {
        return percent_body(rest)
            .map(|(body, _)| body.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
    }
    let Some(mut rest) = value.strip_prefix('[') else {
        return string_value(value).into_iter().collect();
    };
    let mut out = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.starts_with(']') {
            break;
        }
        let Some((s, after)) = string_literal(rest) else {
            break;
        };
        out.push(s);
        rest = skip_method_calls(after).trim_start();
        match rest.strip_prefix(',') {
            Some(r) => rest = r,
            None => break,
        }
    }
    out
}

/// `.freeze`, `.dup` after a literal.
fn skip_method_calls(mut s: &str) -> &str {
    while let Some(r) = s.strip_prefix('.') {
        let end = r
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(r.len());
        s = &r[end..];
    }
    s
}

/// One Ruby string literal at the start of `s`: its value and the text after it.
fn string_literal(s: &str) -> Option<(String, &str)> {
    let mut chars = s.char_indices();
    let (_, first) = chars.next()?;
    match first {
        '"' => double_quoted(&s[1..]),
        '\'' => single_quoted(&s[1..]),
        '%' => {
            let rest = s[1..]
                .strip_prefix('q')
                .or_else(|| s[1..].strip_prefix('Q'))
                .unwrap_or(&s[1..]);
            percent_body(rest).map(|(body, after)| (body.to_owned(), after))
        }
        _ => None,
    }
}

fn double_quoted(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 1..])),
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'u' => {
                        // `\u00e9` or `\u{e9}`
                        let rest = &s[i + 2..];
                        let (hex, skip) = match rest.strip_prefix('{') {
                            Some(r) => {
                                let end = r.find('}')?;
                                (&r[..end], end + 2)
                            }
                            None => (rest.get(..4)?, 4),
                        };
                        let ch = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)?;
                        out.push(ch);
                        for _ in 0..skip {
                            chars.next();
                        }
                    }
                    other => out.push(other),
                }
            }
            c => out.push(c),
        }
    }
    None
}

fn single_quoted(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' => return Some((out, &s[i + 1..])),
            '\\' => match chars.next()? {
                (_, e @ ('\'' | '\\')) => out.push(e),
                (_, e) => {
                    out.push('\\');
                    out.push(e);
                }
            },
            c => out.push(c),
        }
    }
    None
}

/// The body of `%q{...}` / `%w[...]` after the `%q`: bracket pairs nest, any other
/// punctuation closes with itself.
fn percent_body(s: &str) -> Option<(&str, &str)> {
    let open = s.chars().next()?;
    let close = match open {
        '(' => ')',
        '[' => ']',
        '{' => '}',
        '<' => '>',
        c if c.is_ascii_punctuation() => c,
        _ => return None,
    };
    let body = &s[open.len_utf8()..];
    let mut depth = 0usize;
    for (i, c) in body.char_indices() {
        if c == close && depth == 0 {
            return Some((&body[..i], &body[i + close.len_utf8()..]));
        } else if c == close {
            depth -= 1;
        } else if c == open && open != close {
            depth += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_literals() {
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            (r#""rack".freeze rest"#, Some(("rack", ".freeze rest"))),
            (r#""a\"b\\c\n""#, Some(("a\"b\\c\n", ""))),
            (r#""caf\u00e9 \u{1F600}""#, Some(("café 😀", ""))),
            (r"'it\'s \n'", Some(("it's \\n", ""))),
            ("%q{a {nested} b}x", Some(("a {nested} b", "x"))),
            ("%q<rake>.freeze", Some(("rake", ".freeze"))),
            ("%Q(x)", Some(("x", ""))),
            ("%|pipe|", Some(("pipe", ""))),
            (r#""unterminated"#, None),
            ("%q{unterminated", None),
            (r#""\u{zz}""#, None),
            ("Foo::VERSION", None),
            ("", None),
        ];
        for (input, want) in cases {
            let got = string_literal(input);
            let got = got.as_ref().map(|(s, rest)| (s.as_str(), *rest));
            assert_eq!(got, *want, "{input}");
        }
    }

    #[test]
    fn string_arrays() {
        let cases: &[(&str, &[&str])] = &[
            (
                r#"["Ruby".freeze, "BSD-2-Clause".freeze]"#,
                &["Ruby", "BSD-2-Clause"],
            ),
            (r#"[ 'MIT' , %q{Ruby} ]"#, &["MIT", "Ruby"]),
            (
                r#"["MIT",
                 "Apache-2.0"]"#,
                &["MIT", "Apache-2.0"],
            ),
            ("%w[MIT Ruby]", &["MIT", "Ruby"]),
            (r#""MIT""#, &["MIT"]),
            ("[]", &[]),
            ("[LICENSES]", &[]),
            ("[\"MIT\"", &["MIT"]),
        ];
        for (input, want) in cases {
            assert_eq!(strings_value(input), *want, "{input}");
        }
    }

    #[test]
    fn hand_written_spec_with_another_block_variable() {
        let text = "Gem::Specification.new do |spec|\n  spec.name    = 'demo'\n  spec.version = Gem::Version.new(\"0.1.0\")\n  spec.license = \"MIT\"\n  spec.authors = %w[Ann Bob]\n  spec.name == 'x' if false\nend\n";
        let g = parse_gemspec(text).expect("complete gemspec");
        assert_eq!(
            g,
            Gemspec {
                name: "demo".into(),
                version: "0.1.0".into(),
                licenses: vec!["MIT".into()],
                authors: vec!["Ann".into(), "Bob".into()],
                homepage: None,
            }
        );
    }

    #[test]
    fn incomplete_gemspecs_are_errors() {
        let cases = [
            ("", "no `Gem::Specification.new do |s|` block"),
            ("puts 'hello'\n", "no `Gem::Specification.new do |s|` block"),
            (
                "Gem::Specification.new do |s|\n  s.version = \"1\"\nend\n",
                "no literal `name`",
            ),
            (
                "Gem::Specification.new do |s|\n  s.name = \"x\"\nend\n",
                "gem x has no `version`",
            ),
            (
                "Gem::Specification.new do |s|\n  s.name = \"x\"\n  s.version = X::VERSION\nend\n",
                "gem x: the version is computed, not a literal",
            ),
            (
                "\u{0}\u{1}Gem::Specification.new do |",
                "no `Gem::Specification.new do |s|` block",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_gemspec(text), Err(want.to_owned()), "{text:?}");
        }
    }

    #[test]
    fn stub_line_fills_a_missing_version() {
        let text = "# stub: demo 2.0.1 ruby lib\n\nGem::Specification.new do |s|\n  s.name = \"demo\".freeze\n  s.version = VERSION\nend\n";
        let g = parse_gemspec(text).expect("stub gives the version");
        assert_eq!((g.name.as_str(), g.version.as_str()), ("demo", "2.0.1"));
    }
}
