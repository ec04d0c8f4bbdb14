//! Local content: OCI image layouts and the archive format (tar segments) of mirror-to-disk.

pub mod archive;
pub mod drain;
pub mod layout;
pub mod layout_writer;

pub use layout::{LayoutError, OciLayout};
pub use layout_writer::LayoutWriter;
