//! PHP packages installed by Composer: `<vendor-dir>/composer/installed.json`.

mod cataloger;
mod parse_installed_json;

pub use cataloger::ComposerCataloger;
pub use parse_installed_json::{ComposerPackage, parse_installed_json};
