//! Values as Go templates see them (JSON values standing in for Go's `interface{}`): truth, printing, kinds,
//! comparison and number conversions, with Go's rules where charts depend on them.

use std::cmp::Ordering;

use crate::helm::template::Failure;
use serde_json::{Map, Number, Value};

/// The key that marks a `.Files` object (the chart whose files it serves, with methods `Get`, `Glob`...).
pub(crate) const FILES_MARKER: &str = "\u{0}files";
/// The key of the `Glob` patterns a `.Files` object was narrowed by.
pub(crate) const GLOB_MARKER: &str = "\u{0}glob";

/// Go's truth: false, 0, nil, and empty strings, lists and maps are false.
pub(crate) fn truth(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// How `{{ value }}` prints: nil prints nothing (Helm removes `<no value>`), lists as `[a b]`, maps as
/// `map[k:v]` with sorted keys, as Go's fmt does.
pub(crate) fn print(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => print_number(n),
        Value::Array(items) => format!("[{}]", items.iter().map(print_nested).collect::<Vec<_>>().join(" ")),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let entries: Vec<String> = keys.iter().map(|k| format!("{k}:{}", print_nested(&map[*k]))).collect();
            format!("map[{}]", entries.join(" "))
        }
    }
}

fn print_nested(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".into(),
        other => print(other),
    }
}

/// Integers as integers; other floats as Go's `%v` (shortest form, exponent from 1e21).
pub(crate) fn print_number(number: &Number) -> String {
    if let Some(i) = number.as_i64() {
        return i.to_string();
    }
    if let Some(u) = number.as_u64() {
        return u.to_string();
    }
    let f = number.as_f64().unwrap_or(0.0);
    if f.fract() == 0.0 && f.abs() < 1e21 {
        return format!("{f:.0}");
    }
    let text = f.to_string();
    if f.abs() >= 1e21 || (f != 0.0 && f.abs() < 1e-4) {
        return format!("{f:e}").replace('e', "e+").replace("e+-", "e-");
    }
    text
}

/// Go's kind names, as `kindOf` answers.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "invalid",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "slice",
        Value::Object(_) => "map",
    }
}

/// A number from any value that holds one (strings are parsed, booleans are 0/1, nil is 0).
pub(crate) fn to_f64(value: &Value) -> f64 {
    match value {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => s.trim().parse().unwrap_or(0.0),
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    }
}

/// An integer from any value (floats truncate, as sprig's `int`).
pub(crate) fn to_i64(value: &Value) -> i64 {
    match value {
        Value::Number(n) => n.as_i64().unwrap_or_else(|| n.as_f64().unwrap_or(0.0) as i64),
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .unwrap_or_else(|_| s.trim().parse::<f64>().unwrap_or(0.0) as i64),
        other => to_f64(other) as i64,
    }
}

/// A number value: an integer when it is one.
pub(crate) fn number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::from(f as i64)
    } else {
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

/// Go's `eq`: numbers by value, everything else structurally.
pub(crate) fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Go's ordering for `lt`/`gt`: numbers and strings (other kinds do not compare).
pub(crate) fn compare(a: &Value, b: &Value) -> Result<Ordering, Failure> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .ok_or_else(|| Failure::new("incomparable numbers")),
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ => Err(Failure::new(format!(
            "incompatible types for comparison: {} and {}",
            kind(a),
            kind(b)
        ))),
    }
}

/// A map with sorted keys, for output where Go's map order (sorted) shows: `toYaml`, `keys`, `range`.
pub(crate) fn sorted(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// The value with every map's keys in sorted order, recursively.
pub(crate) fn sorted_deep(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            sorted(map)
                .into_iter()
                .map(|(k, v)| (k.clone(), sorted_deep(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(sorted_deep).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_print_and_test_as_go_does() {
        assert_eq!(print(&json!({"b": 1, "a": [true, null]})), "map[a:[true <nil>] b:1]");
        assert_eq!(print(&json!(2.5)), "2.5");
        assert_eq!(print(&json!(3.0)), "3");
        assert_eq!(print(&Value::Null), "");
        assert!(!truth(&json!(0)) && !truth(&json!("")) && !truth(&json!({})) && truth(&json!([0])));
        assert!(equal(&json!(1), &json!(1.0)));
        assert!(compare(&json!("a"), &json!(1)).is_err());
    }
}
