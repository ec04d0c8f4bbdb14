//! Source registry mirrors per containers-registries.conf(5) (being written).
