//! Request paths to API targets (pure).
//!
//! Trap: `/api/v1/namespaces/<ns>/<x>` is the collection `<x>` in namespace `<ns>` when `<x>`
//! is a namespaced resource, and otherwise the subresource `<x>` of the namespace `<ns>`
//! (`/api/v1/namespaces/<ns>/status`, `/finalize`).

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourcePath {
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub plural: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Health,
    Version,
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/<group>`
    Group(String),
    /// `/api/v1`, `/apis/<group>/<version>`
    Resources {
        group: String,
        version: String,
    },
    Resource(ResourcePath),
    /// `POST /kube-sim/compact`: forget the watch history (tests force 410 Gone with it).
    Compact,
}

/// `is_namespaced(group, version, plural)` tells whether a namespaced resource of that name
/// is served (to read `/namespaces/<ns>/<x>` right).
pub fn parse(path: &str, is_namespaced: impl Fn(&str, &str, &str) -> bool) -> Option<Route> {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let (group, version, rest): (&str, &str, &[&str]) = match segs.as_slice() {
        ["healthz" | "livez" | "readyz", ..] => return Some(Route::Health),
        ["version"] => return Some(Route::Version),
        ["kube-sim", "compact"] => return Some(Route::Compact),
        ["api"] => return Some(Route::CoreVersions),
        ["apis"] => return Some(Route::Groups),
        ["apis", g] => return Some(Route::Group((*g).to_owned())),
        ["api", v, rest @ ..] => ("", v, rest),
        ["apis", g, v, rest @ ..] => (g, v, rest),
        _ => return None,
    };
    let res = |namespace: Option<&str>, plural: &str, name: Option<&str>, sub: Option<&str>| {
        Some(Route::Resource(ResourcePath {
            group: group.to_owned(),
            version: version.to_owned(),
            namespace: namespace.map(str::to_owned),
            plural: plural.to_owned(),
            name: name.map(str::to_owned),
            subresource: sub.map(str::to_owned),
        }))
    };
    match rest {
        [] => Some(Route::Resources {
            group: group.to_owned(),
            version: version.to_owned(),
        }),
        ["namespaces", ns, plural, tail @ ..] if is_namespaced(group, version, plural) => {
            match tail {
                [] => res(Some(ns), plural, None, None),
                [name] => res(Some(ns), plural, Some(name), None),
                [name, sub] => res(Some(ns), plural, Some(name), Some(sub)),
                _ => None,
            }
        }
        [plural] => res(None, plural, None, None),
        [plural, name] => res(None, plural, Some(name), None),
        [plural, name, sub] => res(None, plural, Some(name), Some(sub)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(path: &str) -> Option<Route> {
        parse(path, |g, _, r| {
            matches!((g, r), ("", "configmaps" | "pods") | ("batch", "jobs"))
        })
    }

    fn r(
        group: &str,
        ns: Option<&str>,
        plural: &str,
        name: Option<&str>,
        sub: Option<&str>,
    ) -> Option<Route> {
        Some(Route::Resource(ResourcePath {
            group: group.into(),
            version: "v1".into(),
            namespace: ns.map(Into::into),
            plural: plural.into(),
            name: name.map(Into::into),
            subresource: sub.map(Into::into),
        }))
    }

    #[test]
    fn path_table() {
        assert_eq!(p("/api"), Some(Route::CoreVersions));
        assert_eq!(
            p("/api/v1"),
            Some(Route::Resources {
                group: String::new(),
                version: "v1".into()
            })
        );
        assert_eq!(p("/apis/batch"), Some(Route::Group("batch".into())));
        assert_eq!(
            p("/api/v1/configmaps"),
            r("", None, "configmaps", None, None)
        );
        assert_eq!(
            p("/api/v1/namespaces/default/configmaps"),
            r("", Some("default"), "configmaps", None, None)
        );
        assert_eq!(
            p("/api/v1/namespaces/default/pods/x/log"),
            r("", Some("default"), "pods", Some("x"), Some("log"))
        );
        assert_eq!(
            p("/api/v1/namespaces/default"),
            r("", None, "namespaces", Some("default"), None)
        );
        assert_eq!(
            p("/api/v1/namespaces/default/status"),
            r("", None, "namespaces", Some("default"), Some("status"))
        );
        assert_eq!(
            p("/apis/batch/v1/namespaces/a/jobs/j/status"),
            r("batch", Some("a"), "jobs", Some("j"), Some("status"))
        );
        assert_eq!(p("/healthz"), Some(Route::Health));
        assert_eq!(p("/nope"), None);
    }
}
