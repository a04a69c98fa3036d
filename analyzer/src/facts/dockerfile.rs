//! A Dockerfile reconstructed from the image history, the way Anchore guesses one. Classic
//! builders record `/bin/sh -c #(nop)  CMD ["sh"]` for metadata steps and `/bin/sh -c apt-get
//! ...` for RUN; BuildKit records `RUN /bin/sh -c ... # buildkit` and `COPY ... # buildkit`.

use crate::model::HistoryEntry;

pub fn guess_dockerfile(history: &[HistoryEntry]) -> String {
    let mut out = String::from("FROM scratch\n");
    for h in history {
        let Some(cb) = h.created_by.as_deref() else {
            continue;
        };
        let line = instruction(cb);
        if !line.is_empty() {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

fn instruction(created_by: &str) -> String {
    let s = created_by.trim();
    let s = s.strip_suffix("# buildkit").map_or(s, str::trim_end);
    if let Some(rest) = s.strip_prefix("/bin/sh -c #(nop)") {
        return rest.trim().to_owned();
    }
    if let Some(rest) = s.strip_prefix("/bin/sh -c ") {
        return format!("RUN {}", rest.trim());
    }
    if let Some(rest) = s.strip_prefix("|") {
        // `|2 ARG1=a ARG2=b /bin/sh -c cmd`: build args prefixed to a RUN.
        if let Some((_, cmd)) = rest.split_once("/bin/sh -c ") {
            return format!("RUN {}", cmd.trim());
        }
    }
    if let Some(rest) = s.strip_prefix("RUN /bin/sh -c ") {
        return format!("RUN {}", rest.trim());
    }
    s.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> HistoryEntry {
        HistoryEntry {
            created: None,
            created_by: Some(s.into()),
            empty_layer: false,
            comment: None,
        }
    }

    #[test]
    fn classic_and_buildkit_history() {
        let hist = vec![
            h("/bin/sh -c #(nop) ADD file:abc in / "),
            h("/bin/sh -c #(nop)  CMD [\"bash\"]"),
            h("/bin/sh -c apt-get update && apt-get install -y curl"),
            h("RUN /bin/sh -c useradd app # buildkit"),
            h("COPY app /app # buildkit"),
            h("|1 VERSION=1 /bin/sh -c echo $VERSION"),
            h("EXPOSE map[22/tcp:{}]"),
            h("USER app"),
        ];
        assert_eq!(
            guess_dockerfile(&hist),
            "FROM scratch\nADD file:abc in /\nCMD [\"bash\"]\nRUN apt-get update && apt-get install -y curl\nRUN useradd app\nCOPY app /app\nRUN echo $VERSION\nEXPOSE map[22/tcp:{}]\nUSER app\n"
        );
    }
}
