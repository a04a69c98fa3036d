//! Ruby gems: the `.gemspec` files RubyGems writes into a `specifications/` directory when it
//! installs a gem (`/usr/local/bundle/specifications/`, `/usr/lib/ruby/gems/3.1.0/specifications/`
//! and its `default/` subdirectory, Debian's `/usr/share/rubygems-integration/*/specifications/`).

mod cataloger;
mod parse_gemspec;

pub use cataloger::GemCataloger;
pub use parse_gemspec::{Gemspec, parse_gemspec};
