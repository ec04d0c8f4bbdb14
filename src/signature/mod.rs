//! Image signatures: reading and verifying the signatures published next to images (cosign, in `cosign`).

// wired into the copy path next
#![allow(dead_code)]

pub(crate) mod cosign;
