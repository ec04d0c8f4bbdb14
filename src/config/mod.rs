//! ImageSetConfiguration model, loading and validation (being written).
