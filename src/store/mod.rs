//! Local content: OCI image layouts (and, later, the archive format).

pub mod layout;

pub use layout::{LayoutError, OciLayout};
