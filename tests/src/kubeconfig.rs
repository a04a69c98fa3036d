//! The kubeconfig clients use to reach the simulator: one cluster (plain HTTP on loopback),
//! one user with the bearer token, one context, current.

use std::path::Path;

/// A YAML string scalar (double-quoted, escaped).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

pub fn render(server_url: &str, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-sim\n  cluster:\n    server: {}\ncontexts:\n- name: kube-sim\n  context:\n    cluster: kube-sim\n    user: kube-sim\n    namespace: default\ncurrent-context: kube-sim\nusers:\n- name: kube-sim\n  user:\n    token: {}\npreferences: {{}}\n",
        quoted(server_url),
        quoted(token)
    )
}

/// Writes the kubeconfig readable by its owner only (it holds the token).
pub fn write(path: &Path, server_url: &str, token: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(render(server_url, token).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_yaml_that_reads_back() {
        let y = render("http://127.0.0.1:1234", "t\"ok");
        let v: serde_json::Value = serde_saphyr::from_str(&y).expect("valid YAML");
        assert_eq!(
            v["clusters"][0]["cluster"]["server"],
            "http://127.0.0.1:1234"
        );
        assert_eq!(v["users"][0]["user"]["token"], "t\"ok");
        assert_eq!(v["current-context"], "kube-sim");
    }
}
