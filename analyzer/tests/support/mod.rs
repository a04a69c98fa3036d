//! Test support shared by the integration tests: build real image layouts from files and
//! real package artifacts, without a container engine.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

pub mod archive;
pub mod artifacts;
pub mod fake_http;
pub mod image;
pub mod registry;
