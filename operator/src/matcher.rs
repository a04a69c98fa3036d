//! Vulnerability matching. `version`: exact version ordering per ecosystem (dpkg, rpm, apk,
//! PEP 440, SemVer, Go, Maven, RubyGems), sans-IO.

pub mod version;
