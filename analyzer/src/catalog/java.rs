//! Java archives: `*.jar`, `*.war`, `*.ear` and Jenkins plugins (`*.jpi`, `*.hpi`), read from
//! memory with the archives they nest (`BOOT-INF/lib/*.jar`, `WEB-INF/lib/*.jar`, jars in ears).
//!
//! Traps:
//! - One archive may describe many packages: a shaded or "fat" jar carries one
//!   `META-INF/maven/GROUP/ARTIFACT/pom.properties` per artifact folded into it.
//! - Many jars carry no Maven metadata at all (Ant builds, most Debian jars): the manifest or,
//!   failing that, the file name (`commons-text-1.9.jar`) is all there is; manifests often name
//!   the product in prose (`Implementation-Title: Apache Commons Text`), so the file name is the
//!   better artifact id when it carries a version.
//! - Archives are compressed and nest: a 1 MiB war can inflate to gigabytes (zip bombs, and
//!   entries that share the same compressed bytes). Every byte inflated from one top archive
//!   counts against one budget, nesting is depth-limited and nothing is written to disk.
//! - Manifest lines wrap at 72 bytes with a one-space continuation; `pom.properties` is a Java
//!   properties file (`=`, `:` or whitespace separators, `#`/`!` comments).

mod archive;
mod archive_filename;
mod cataloger;
mod package;
mod parse_manifest;
mod parse_pom_properties;

pub use archive::Limits;
pub use cataloger::JavaCataloger;
