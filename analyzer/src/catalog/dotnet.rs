//! .NET packages: the `*.deps.json` file the .NET SDK writes beside every built application and
//! library, listing the NuGet packages it was built against.

mod cataloger;
mod parse_deps_json;

pub use cataloger::DotnetCataloger;
pub use parse_deps_json::{DepsLibrary, parse_deps_json};
