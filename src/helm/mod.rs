//! Helm charts: repository indexes (`repository`), charts read safely into memory (`chart`), values as Helm
//! computes them (`values`), template rendering with default values (`render`), the images found in the rendered
//! documents or, failing that, in the values (`images`), and charts as OCI artifacts (`oci`).

pub(crate) mod chart;
pub(crate) mod images;
pub(crate) mod oci;
pub(crate) mod render;
pub(crate) mod repository;
pub(crate) mod template;
pub(crate) mod values;
