//! Go executables: the build information the Go linker embeds (`go version -m`), giving the
//! compiler version, the main module, every dependency module and the build settings.
//!
//! Traps:
//! - The build info sits behind a 32-byte header (`\xff Go buildinf:`, pointer size, flags) in
//!   `.go.buildinfo` (ELF), `__go_buildinfo` (Mach-O) or at the start of `.data` (PE). Binaries
//!   whose section table was stripped still have it in a writable load segment, 16-aligned.
//! - Go 1.18+ stores both strings inline after the header as varint-length strings (flags bit
//!   2). Older linkers store two *pointers* to Go string headers `{data, len}`, which must be
//!   followed through the program's virtual addresses, in the binary's pointer size (4 or 8)
//!   and byte order (flags bit 1: big endian).
//! - The module text is framed by 16 sentinel bytes on each side; without them it is empty.
//! - A `=>` line replaces the module on the line before it; the replacement is what was built.
//! - Binaries built outside module mode (Debian's GOPATH builds) have a `path` line and no
//!   `mod` line: the main module is then the path at version `(devel)`, as Syft reports it.
//! - Build setting keys and values are Go-quoted when they hold spaces, quotes or `=`.

mod cataloger;
mod package;
mod parse_buildinfo;
mod parse_modinfo;
#[cfg(test)]
pub(crate) mod test_elf;

pub use cataloger::GoBinaryCataloger;
pub(crate) use cataloger::is_object_file;
