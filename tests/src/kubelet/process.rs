//! Container processes: what program runs, starting it in its own process group with a
//! clean environment and its output appended to a log file, and stopping the whole group
//! (SIGTERM, then SIGKILL after the grace period).
//!
//! The program: with `command`, its first element, run from the host if that path exists,
//! else the image's mapped binary (an in-image path like `/usr/local/bin/plimsoll-analyzer`
//! does not exist here); without `command`, the image's mapped binary (the image's entrypoint)
//! with `args`. An unmapped image is `ErrImagePull` unless host commands are allowed and a
//! `command` names an existing program.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::kubelet::images::ImageMap;

#[derive(Debug, PartialEq, Eq)]
pub enum ResolveError {
    /// `ErrImagePull`: nothing maps the image.
    ImageNotMapped(String),
    /// `StartError`: the program does not exist.
    NotFound(String),
}

/// `(program, args)` for a container whose `command` and `args` are already expanded.
pub fn resolve_program(
    image: &str,
    command: &[String],
    args: &[String],
    images: &ImageMap,
    allow_host_commands: bool,
) -> Result<(PathBuf, Vec<String>), ResolveError> {
    let mapped = images.resolve(image);
    let Some((first, rest)) = command.split_first() else {
        return match mapped {
            Some(bin) => Ok((bin.to_path_buf(), args.to_vec())),
            None => Err(ResolveError::ImageNotMapped(image.to_owned())),
        };
    };
    let mut all_args: Vec<String> = rest.to_vec();
    all_args.extend_from_slice(args);
    if mapped.is_none() && !allow_host_commands {
        return Err(ResolveError::ImageNotMapped(image.to_owned()));
    }
    if let Some(found) = find_program(first) {
        return Ok((found, all_args));
    }
    match mapped {
        Some(bin) => Ok((bin.to_path_buf(), all_args)),
        None => Err(ResolveError::NotFound(first.clone())),
    }
}

fn find_program(p: &str) -> Option<PathBuf> {
    if p.contains('/') {
        let path = Path::new(p);
        return path.is_file().then(|| path.to_path_buf());
    }
    [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ]
    .iter()
    .map(|d| Path::new(d).join(p))
    .find(|c| c.is_file())
}

pub struct Spawn<'a> {
    pub program: &'a Path,
    pub args: &'a [String],
    pub env: &'a [(String, String)],
    pub cwd: &'a Path,
    pub log: &'a Path,
}

pub fn spawn(s: &Spawn<'_>) -> std::io::Result<Child> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(s.log)?;
    let log2 = log.try_clone()?;
    Command::new(s.program)
        .args(s.args)
        .env_clear()
        .envs(s.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(s.cwd)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
}

fn signal_group(pid: u32, signal: &str) {
    // `kill(1)` rather than libc: no unsafe code in this crate.
    let _ = std::process::Command::new("kill")
        .args(["-s", signal, "--", &format!("-{pid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Stops the container's process group: SIGTERM, then SIGKILL after `grace`. Returns the
/// exit code.
pub async fn stop(child: &mut Child, grace: Duration) -> i32 {
    if let Some(pid) = child.id() {
        if !grace.is_zero() {
            signal_group(pid, "TERM");
            if let Ok(Ok(status)) = tokio::time::timeout(grace, child.wait()).await {
                signal_group(pid, "KILL");
                return exit_code(status);
            }
        }
        signal_group(pid, "KILL");
    }
    let _ = child.start_kill();
    child.wait().await.map_or(137, exit_code)
}

/// The exit code as the kubelet reports it: the code, or 128 + the signal number.
pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt as _;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(9))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_resolution() {
        let images = ImageMap::new().with("ghcr.io/plimsoll/analyzer:*", "/bin/true");
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            resolve_program(
                "ghcr.io/plimsoll/analyzer:v1",
                &[],
                &s(&["scan"]),
                &images,
                false
            ),
            Ok((PathBuf::from("/bin/true"), s(&["scan"])))
        );
        assert_eq!(
            resolve_program(
                "ghcr.io/plimsoll/analyzer:v1",
                &s(&["/usr/local/bin/plimsoll-analyzer", "a"]),
                &s(&["b"]),
                &images,
                false
            ),
            Ok((PathBuf::from("/bin/true"), s(&["a", "b"])))
        );
        assert_eq!(
            resolve_program(
                "busybox",
                &s(&["/bin/sh", "-c", "exit 0"]),
                &[],
                &images,
                true
            ),
            Ok((PathBuf::from("/bin/sh"), s(&["-c", "exit 0"])))
        );
        assert_eq!(
            resolve_program("busybox", &s(&["/bin/sh"]), &[], &images, false),
            Err(ResolveError::ImageNotMapped("busybox".into()))
        );
        assert_eq!(
            resolve_program("busybox", &s(&["/no/such/thing"]), &[], &images, true),
            Err(ResolveError::NotFound("/no/such/thing".into()))
        );
        assert_eq!(
            resolve_program("busybox", &[], &[], &images, true),
            Err(ResolveError::ImageNotMapped("busybox".into()))
        );
    }

    #[tokio::test]
    async fn stop_kills_the_whole_group() {
        let dir = tempfile::tempdir().expect("temp dir");
        let args = vec!["-c".to_owned(), "sleep 30 & wait".to_owned()];
        let mut child = spawn(&Spawn {
            program: Path::new("/bin/sh"),
            args: &args,
            env: &[],
            cwd: dir.path(),
            log: &dir.path().join("log"),
        })
        .expect("spawns");
        let started = std::time::Instant::now();
        let code = stop(&mut child, Duration::from_millis(200)).await;
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(code == 143 || code == 137, "{code}");
    }
}
