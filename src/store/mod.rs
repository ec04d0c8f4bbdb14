//! Local content: OCI image layouts and the archive format (tar segments) of mirror-to-disk.

pub(crate) mod archive;
pub(crate) mod drain;
pub(crate) mod layout;
pub(crate) mod layout_writer;

pub(crate) use layout::{LayoutError, OciLayout};
pub(crate) use layout_writer::LayoutWriter;
