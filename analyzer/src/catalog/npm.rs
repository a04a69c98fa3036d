//! npm packages installed in `node_modules`: the `package.json` at the root of each installed
//! package (`node_modules/NAME/package.json`, `node_modules/@scope/NAME/package.json`), at any
//! depth of nesting and in global prefixes (`/usr/local/lib/node_modules`).

mod cataloger;
mod parse_package_json;

pub use cataloger::NpmCataloger;
pub use parse_package_json::{PackageJson, parse_package_json};
