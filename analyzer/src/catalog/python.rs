//! Python packages installed in an image: `*.dist-info/METADATA` (wheels, pip), `*.egg-info/PKG-INFO`
//! and single-file `*.egg-info` (setuptools, distutils, Debian's `dist-packages`),
//! `*.egg/EGG-INFO/PKG-INFO` (easy_install), and the files each `.dist-info/RECORD` lists.

mod cataloger;
mod parse_metadata;
mod parse_record;

pub use cataloger::PythonCataloger;
pub use parse_metadata::{CoreMetadata, normalize_name, parse_metadata};
pub use parse_record::parse_record;

/// How a `RECORD`'s files find their package in [`crate::catalog::assemble`]: the PEP 503
/// name plus the metadata directory. The name alone is not enough: a `RECORD` names its
/// package by the `.dist-info` directory (`python_dateutil-2.8.2.dist-info` for
/// `python-dateutil`), and one image often holds the same package twice (system
/// `dist-packages` and a virtualenv). `record_path` is the path of the `METADATA` or `RECORD`.
pub(crate) fn owned_files_key(name: &str, record_path: &str) -> String {
    let dir = record_path.rsplit_once('/').map_or("", |(d, _)| d);
    format!("{}@{dir}", normalize_name(name))
}
