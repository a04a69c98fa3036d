//! The module text of Go build info (`runtime/debug.BuildInfo.String()` format):
//!
//! ```text
//! path\tgithub.com/x/cmd/tool
//! mod\tgithub.com/x\tv1.2.3\th1:...=
//! dep\tgolang.org/x/sys\tv0.1.0\th1:...=
//! =>\tgithub.com/fork/sys\tv0.1.1\th1:...=
//! build\tGOARCH=amd64
//! build\t"-ldflags=-s -w"
//! ```

/// A module as the build info names it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Module {
    pub(crate) path: String,
    pub(crate) version: String,
    /// The `h1:` go.sum hash, absent for the main module and local replacements.
    pub(crate) sum: Option<String>,
    /// What a `=>` line replaced this module with.
    pub(crate) replace: Option<Box<Module>>,
}

impl Module {
    /// The module that was actually compiled in: the replacement if there is one.
    pub(crate) fn effective(&self) -> &Module {
        self.replace.as_deref().unwrap_or(self)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ModInfo {
    /// The main package's import path.
    pub(crate) path: Option<String>,
    pub(crate) main: Option<Module>,
    pub(crate) deps: Vec<Module>,
    pub(crate) settings: Vec<(String, String)>,
}

impl ModInfo {
    pub(crate) fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

pub(crate) fn parse_modinfo(text: &str) -> (ModInfo, Vec<String>) {
    let mut info = ModInfo::default();
    let mut warnings = Vec::new();
    // Which module a `=>` line replaces: the last `dep`, or the `mod` line if no dep yet.
    let mut last_is_dep = false;
    for (n, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let (word, rest) = line.split_once('\t').unwrap_or((line, ""));
        match word {
            "go" => {} // Go 1.18+ may repeat the toolchain version here; the header has it.
            "path" => info.path = Some(rest.to_owned()),
            "mod" | "dep" => match module_fields(rest) {
                Some(m) if word == "mod" => {
                    info.main = Some(m);
                    last_is_dep = false;
                }
                Some(m) => {
                    info.deps.push(m);
                    last_is_dep = true;
                }
                None => warnings.push(format!("build info line {}: malformed {word} line", n + 1)),
            },
            "=>" => {
                let target = if last_is_dep {
                    info.deps.last_mut()
                } else {
                    info.main.as_mut()
                };
                match (module_fields(rest), target) {
                    (Some(r), Some(t)) if t.replace.is_none() => t.replace = Some(Box::new(r)),
                    _ => warnings.push(format!("build info line {}: stray replacement", n + 1)),
                }
            }
            "build" => match parse_setting(rest) {
                Some(kv) => info.settings.push(kv),
                None => warnings.push(format!(
                    "build info line {}: malformed build setting",
                    n + 1
                )),
            },
            _ => {} // Lines a newer toolchain may add.
        }
    }
    (info, warnings)
}

/// `PATH\tVERSION[\tSUM]`. A local-directory replacement has an empty version.
fn module_fields(rest: &str) -> Option<Module> {
    let mut fields = rest.split('\t');
    let path = fields.next().filter(|p| !p.is_empty())?;
    let version = fields.next().unwrap_or("");
    let sum = fields.next().filter(|s| !s.is_empty());
    Some(Module {
        path: path.to_owned(),
        version: version.to_owned(),
        sum: sum.map(str::to_owned),
        replace: None,
    })
}

/// `KEY=VALUE`, either side possibly a Go-quoted string.
fn parse_setting(rest: &str) -> Option<(String, String)> {
    let (key, after) = if rest.starts_with('"') {
        let (k, used) = unquote_prefix(rest)?;
        (k, rest.get(used..)?)
    } else {
        let eq = rest.find('=')?;
        (rest[..eq].to_owned(), &rest[eq..])
    };
    let value = after.strip_prefix('=')?;
    let value = if value.starts_with('"') {
        let (v, used) = unquote_prefix(value)?;
        if used != value.len() {
            return None;
        }
        v
    } else {
        value.to_owned()
    };
    if key.is_empty() {
        return None;
    }
    Some((key, value))
}

/// Decodes the Go double-quoted string at the start of `s`; returns it and the bytes used.
fn unquote_prefix(s: &str) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    if chars.next()?.1 != '"' {
        return None;
    }
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, i + 1)),
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'f' => out.push('\x0c'),
                    'v' => out.push('\x0b'),
                    '\\' | '"' | '\'' => out.push(e),
                    'x' | 'u' | 'U' => {
                        let digits = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let hex: String = (0..digits)
                            .filter_map(|_| chars.next().map(|(_, c)| c))
                            .collect();
                        let code = u32::from_str_radix(&hex, 16).ok()?;
                        out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                    }
                    '0'..='7' => {
                        let mut code = e.to_digit(8)?;
                        for _ in 0..2 {
                            code = code * 8 + chars.next()?.1.to_digit(8)?;
                        }
                        out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                    }
                    _ => return None,
                }
            }
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(path: &str, version: &str, sum: Option<&str>) -> Module {
        Module {
            path: path.into(),
            version: version.into(),
            sum: sum.map(Into::into),
            replace: None,
        }
    }

    #[test]
    fn modules_replacements_and_settings() {
        let text = "path\tgithub.com/x/tool/cmd/tool\n\
                    mod\tgithub.com/x/tool\t(devel)\t\n\
                    dep\tgithub.com/a/b\tv1.0.0\th1:aaa=\n\
                    dep\tgolang.org/x/sys\tv0.1.0\th1:bbb=\n\
                    =>\tgithub.com/fork/sys\tv0.1.1\th1:ccc=\n\
                    dep\texample.com/local\tv0.0.0-00010101000000-000000000000\n\
                    =>\t../local\t\t\n\
                    build\t-compiler=gc\n\
                    build\t-ldflags=\"-s -w -X main.v=1\"\n\
                    build\tCGO_ENABLED=0\n\
                    build\tDefaultGODEBUG=a=1,b=0\n\
                    build\tvcs.modified=\"tr\\\"ue\"\n";
        let (info, warnings) = parse_modinfo(text);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(info.path.as_deref(), Some("github.com/x/tool/cmd/tool"));
        assert_eq!(
            info.main,
            Some(module("github.com/x/tool", "(devel)", None))
        );
        let deps: Vec<(&str, &str, Option<&str>)> = info
            .deps
            .iter()
            .map(|d| {
                let e = d.effective();
                (e.path.as_str(), e.version.as_str(), e.sum.as_deref())
            })
            .collect();
        assert_eq!(
            deps,
            vec![
                ("github.com/a/b", "v1.0.0", Some("h1:aaa=")),
                ("github.com/fork/sys", "v0.1.1", Some("h1:ccc=")),
                ("../local", "", None),
            ]
        );
        assert_eq!(info.deps[1].path, "golang.org/x/sys");
        assert_eq!(info.setting("-ldflags"), Some("-s -w -X main.v=1"));
        assert_eq!(info.setting("DefaultGODEBUG"), Some("a=1,b=0"));
        assert_eq!(info.setting("vcs.modified"), Some("tr\"ue"));
        assert_eq!(info.setting("CGO_ENABLED"), Some("0"));
    }

    #[test]
    fn replaced_main_module_and_gopath_builds() {
        let (info, _) = parse_modinfo("path\tx/cmd\nmod\tx\t(devel)\t\n=>\t./\t\t\n");
        assert_eq!(
            info.main.as_ref().map(|m| m.effective().path.as_str()),
            Some("./")
        );

        let (info, warnings) = parse_modinfo("path\tgithub.com/junegunn/fzf\nbuild\tGOOS=linux\n");
        assert!(warnings.is_empty());
        assert_eq!(info.main, None);
        assert_eq!(info.path.as_deref(), Some("github.com/junegunn/fzf"));
    }

    #[test]
    fn malformed_lines_warn() {
        let (info, warnings) = parse_modinfo(
            "dep\n=>\tx\tv1\nbuild\tnoequals\nbuild\t\"unterminated=1\nbuild\t=v\ndep\tok\tv1\nfuture\tline\n",
        );
        assert_eq!(info.deps, vec![module("ok", "v1", None)]);
        assert_eq!(warnings.len(), 5, "{warnings:?}");
    }

    #[test]
    fn quoted_keys_and_escapes() {
        assert_eq!(
            parse_setting("\"we=ird\"=\"\\x41\\u00e9\\101\\t\""),
            Some(("we=ird".into(), "A\u{e9}A\t".into()))
        );
        assert_eq!(parse_setting("\"k\"v"), None);
        assert_eq!(parse_setting("k=\"v\"x"), None);
        assert_eq!(parse_setting("k=\"\\q\""), None);
    }
}
