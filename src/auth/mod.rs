//! Registry credentials per containers-auth.json(5) (being written).
