//! Image signatures: reading and verifying the signatures published next to images (cosign, in `cosign`).

pub(crate) mod cosign;
