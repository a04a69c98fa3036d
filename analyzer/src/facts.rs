//! Image facts from the config blob: platform, user, ports, env, entrypoint, labels, history,
//! and a Dockerfile reconstructed from the history when the real one was not given.

mod config;
mod dockerfile;

pub use config::{ConfigError, ParsedConfig, parse_config};
pub use dockerfile::guess_dockerfile;
