//! Debian packages: `/var/lib/dpkg/status`, distroless `status.d/*`, and the owned-file lists
//! `info/NAME[:ARCH].list` / `.md5sums`.

mod cataloger;
mod parse_info;
mod parse_status;

pub use cataloger::DpkgCataloger;
pub use parse_status::{StatusRecord, parse_status};
