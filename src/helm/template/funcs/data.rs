//! Data functions: Go's `len`/`index`/`slice`, sprig's lists, dictionaries, math, type conversions, semantic
//! versions, and Helm's YAML and JSON conversions (maps written with sorted keys, as Go writes them).

use serde_json::{Map, Value};

use super::{arg, last, text_arg};
use crate::helm::template::value::{kind, number, print, sorted, sorted_deep, to_f64, to_i64, truth};
use crate::helm::template::Failure;

/// Helm's `toYaml`: the value as YAML without the trailing newline.
pub(in crate::helm::template) fn to_yaml(value: &Value) -> Result<String, Failure> {
    let text = serde_yaml::to_string(&sorted_deep(value)).map_err(|e| e.to_string())?;
    Ok(text.trim_end_matches('\n').to_string())
}

pub(super) fn call(name: &str, args: &[Value]) -> Result<Option<Value>, Failure> {
    for family in [go_builtins, collections, dictionaries, conversions, math] {
        if let Some(value) = family(name, args)? {
            return Ok(Some(value));
        }
    }
    Ok(None)
}

fn list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// Go's `len`, `index` and `slice`.
fn go_builtins(name: &str, args: &[Value]) -> Result<Option<Value>, Failure> {
    Ok(Some(match name {
        "len" => Value::from(match arg(args, 0) {
            Value::String(s) => s.len(),
            Value::Array(a) => a.len(),
            Value::Object(o) => o.len(),
            Value::Null => 0,
            other => return Err(Failure::new(format!("len of {}", kind(other)))),
        }),
        "index" => index(args)?,
        "slice" => slice(args)?,
        _ => return Ok(None),
    }))
}

/// sprig's list functions (the list comes last where sprig pipes it).
fn collections(name: &str, args: &[Value]) -> Result<Option<Value>, Failure> {
    let items = || list(last(args));
    Ok(Some(match name {
        "list" | "tuple" => Value::Array(args.to_vec()),
        "first" => items().first().cloned().unwrap_or(Value::Null),
        "last" => items().last().cloned().unwrap_or(Value::Null),
        "rest" => Value::Array(items().into_iter().skip(1).collect()),
        "initial" => {
            let mut all = items();
            all.pop();
            Value::Array(all)
        }
        "append" | "push" => Value::Array(list(arg(args, 0)).into_iter().chain([arg(args, 1).clone()]).collect()),
        "prepend" => Value::Array([arg(args, 1).clone()].into_iter().chain(list(arg(args, 0))).collect()),
        "concat" => Value::Array(args.iter().flat_map(list).collect()),
        "has" => Value::Bool(list(arg(args, 1)).contains(arg(args, 0))),
        "uniq" => {
            let mut unique: Vec<Value> = Vec::new();
            for item in items() {
                if !unique.contains(&item) {
                    unique.push(item);
                }
            }
            Value::Array(unique)
        }
        "without" => {
            let removed = &args[1.min(args.len())..];
            Value::Array(
                list(arg(args, 0))
                    .into_iter()
                    .filter(|v| !removed.contains(v))
                    .collect(),
            )
        }
        "compact" => Value::Array(items().into_iter().filter(truth).collect()),
        "reverse" => Value::Array(items().into_iter().rev().collect()),
        "sortAlpha" => {
            let mut texts: Vec<String> = items().iter().map(print).collect();
            texts.sort();
            Value::Array(texts.into_iter().map(Value::String).collect())
        }
        "until" => Value::Array((0..to_i64(arg(args, 0)).clamp(0, 1 << 20)).map(Value::from).collect()),
        "untilStep" => until_step(to_i64(arg(args, 0)), to_i64(arg(args, 1)), to_i64(arg(args, 2))),
        "seq" => seq(args),
        "join" => Value::String(
            list(arg(args, 1))
                .iter()
                .map(print)
                .collect::<Vec<_>>()
                .join(&text_arg(args, 0)),
        ),
        "splitList" => Value::Array(
            text_arg(args, 1)
                .split(&text_arg(args, 0))
                .map(|s| Value::String(s.into()))
                .collect(),
        ),
        "split" => split_map(&text_arg(args, 1), &text_arg(args, 0), usize::MAX),
        "splitn" => split_map(
            &text_arg(args, 2),
            &text_arg(args, 0),
            to_i64(arg(args, 1)).max(0) as usize,
        ),
        "toStrings" => Value::Array(items().iter().map(|v| Value::String(print(v))).collect()),
        _ => return Ok(None),
    }))
}

fn index(args: &[Value]) -> Result<Value, Failure> {
    let mut current = arg(args, 0).clone();
    for key in args.iter().skip(1) {
        current = match (&current, key) {
            (Value::Object(map), key) => map.get(&print(key)).cloned().unwrap_or(Value::Null),
            (Value::Array(items), key) => {
                let i = to_i64(key);
                items
                    .get(usize::try_from(i).map_err(|_| format!("index {i} out of range"))?)
                    .cloned()
                    .ok_or(format!("index {i} out of range"))?
            }
            (Value::Null, _) => Value::Null,
            (other, _) => return Err(Failure::new(format!("can't index item of type {}", kind(other)))),
        };
    }
    Ok(current)
}

fn slice(args: &[Value]) -> Result<Value, Failure> {
    let bound = |n: usize, len: usize| {
        args.get(n).map_or(Ok(if n == 1 { 0 } else { len }), |v| {
            usize::try_from(to_i64(v))
                .ok()
                .filter(|i| *i <= len)
                .ok_or_else(|| "slice index out of range".to_string())
        })
    };
    match arg(args, 0) {
        Value::Array(items) => {
            let (from, to) = (bound(1, items.len())?, bound(2, items.len())?);
            Ok(Value::Array(
                items.get(from..to).map(<[Value]>::to_vec).unwrap_or_default(),
            ))
        }
        Value::String(text) => {
            let (from, to) = (bound(1, text.len())?, bound(2, text.len())?);
            Ok(Value::String(text.get(from..to).unwrap_or("").to_string()))
        }
        other => Err(Failure::new(format!("can't slice item of type {}", kind(other)))),
    }
}

fn until_step(start: i64, stop: i64, step: i64) -> Value {
    if step == 0 {
        return Value::Array(Vec::new());
    }
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(Value::from(i));
        i += step;
        if out.len() > 1 << 20 {
            break;
        }
    }
    Value::Array(out)
}

fn seq(args: &[Value]) -> Value {
    let numbers: Vec<i64> = args.iter().map(to_i64).collect();
    let (start, step, end) = match numbers.as_slice() {
        [end] => (1, 1, *end),
        [start, end] => (*start, if start <= end { 1 } else { -1 }, *end),
        [start, step, end] => (*start, *step, *end),
        _ => return Value::String(String::new()),
    };
    let stop = if step > 0 { end + 1 } else { end - 1 };
    let Value::Array(items) = until_step(start, stop, step) else {
        return Value::Null;
    };
    Value::String(items.iter().map(print).collect::<Vec<_>>().join(" "))
}

/// sprig's `split`: a map `_0`, `_1`... of the parts.
fn split_map(text: &str, separator: &str, limit: usize) -> Value {
    let parts: Vec<&str> = if limit == usize::MAX {
        text.split(separator).collect()
    } else {
        text.splitn(limit, separator).collect()
    };
    Value::Object(
        parts
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("_{i}"), Value::String((*p).into())))
            .collect(),
    )
}

fn object(value: &Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

/// sprig's dictionary functions. `set`, `unset` and `merge` return the changed map; the executor writes it back
/// to the variable it came from, which is how Go's shared maps behave for charts.
fn dictionaries(name: &str, args: &[Value]) -> Result<Option<Value>, Failure> {
    Ok(Some(match name {
        "dict" => Value::Object(
            args.chunks(2)
                .map(|pair| (print(&pair[0]), pair.get(1).cloned().unwrap_or(Value::Null)))
                .collect(),
        ),
        "get" => object(arg(args, 0))
            .get(&text_arg(args, 1))
            .cloned()
            .unwrap_or(Value::String(String::new())),
        "set" => {
            let mut map = object(arg(args, 0));
            map.insert(text_arg(args, 1), arg(args, 2).clone());
            Value::Object(map)
        }
        "unset" => {
            let mut map = object(arg(args, 0));
            map.remove(&text_arg(args, 1));
            Value::Object(map)
        }
        "hasKey" => Value::Bool(object(arg(args, 0)).contains_key(&text_arg(args, 1))),
        "keys" => {
            let mut keys: Vec<String> = args
                .iter()
                .flat_map(|d| object(d).into_iter().map(|(k, _)| k))
                .collect();
            keys.sort();
            Value::Array(keys.into_iter().map(Value::String).collect())
        }
        "values" => Value::Array(
            sorted(&object(arg(args, 0)))
                .into_iter()
                .map(|(_, v)| v.clone())
                .collect(),
        ),
        "pick" => {
            let map = object(arg(args, 0));
            let wanted: Vec<String> = args.iter().skip(1).map(print).collect();
            Value::Object(map.into_iter().filter(|(k, _)| wanted.contains(k)).collect())
        }
        "omit" => {
            let map = object(arg(args, 0));
            let dropped: Vec<String> = args.iter().skip(1).map(print).collect();
            Value::Object(map.into_iter().filter(|(k, _)| !dropped.contains(k)).collect())
        }
        "merge" | "mergeOverwrite" => merge(args, name == "mergeOverwrite"),
        "deepCopy" => arg(args, 0).clone(),
        "pluck" => Value::Array(
            args.iter()
                .skip(1)
                .filter_map(|d| object(d).get(&text_arg(args, 0)).cloned())
                .collect(),
        ),
        "dig" => dig(args),
        _ => return Ok(None),
    }))
}

/// sprig's `merge`: later maps fill what the first lacks (`mergeOverwrite`: later maps win), deeply.
fn merge(args: &[Value], overwrite: bool) -> Value {
    let mut target = object(arg(args, 0));
    for source in args.iter().skip(1) {
        merge_into(&mut target, &object(source), overwrite);
    }
    Value::Object(target)
}

fn merge_into(target: &mut Map<String, Value>, source: &Map<String, Value>, overwrite: bool) {
    for (key, value) in source {
        match (target.get_mut(key), value) {
            (Some(Value::Object(mine)), Value::Object(theirs)) => merge_into(mine, theirs, overwrite),
            (Some(existing), _) if overwrite => *existing = value.clone(),
            (Some(_), _) => {}
            (None, _) => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

/// sprig's `dig "a" "b" default dict`.
fn dig(args: &[Value]) -> Value {
    if args.len() < 2 {
        return Value::Null;
    }
    let (keys, rest) = args.split_at(args.len() - 2);
    let mut current = last(args).clone();
    for key in keys {
        match current.as_object().and_then(|m| m.get(&print(key))) {
            Some(next) => current = next.clone(),
            None => return rest[0].clone(),
        }
    }
    current
}

/// Type conversions, YAML and JSON, kinds and semantic versions.
fn conversions(name: &str, args: &[Value]) -> Result<Option<Value>, Failure> {
    let subject = last(args);
    Ok(Some(match name {
        "toString" => Value::String(print(subject)),
        "int" | "int64" | "atoi" => Value::from(to_i64(subject)),
        "float64" => number_or_zero(to_f64(subject)),
        "toYaml" | "toYamlPretty" => Value::String(to_yaml(subject).unwrap_or_default()),
        "fromYaml" => from_yaml(&print(subject), false),
        "fromYamlArray" => from_yaml(&print(subject), true),
        "toJson" | "toRawJson" => Value::String(serde_json::to_string(&sorted_deep(subject)).unwrap_or_default()),
        "toPrettyJson" => Value::String(serde_json::to_string_pretty(&sorted_deep(subject)).unwrap_or_default()),
        "fromJson" | "fromJsonArray" => {
            serde_json::from_str(&print(subject)).unwrap_or_else(|e| error_map(&e.to_string()))
        }
        "kindOf" => Value::String(kind(subject).into()),
        "kindIs" => Value::Bool(kind(arg(args, 1)) == text_arg(args, 0)),
        "typeOf" => Value::String(type_name(subject).into()),
        "typeIs" | "typeIsLike" => Value::Bool(type_name(arg(args, 1)) == text_arg(args, 0)),
        "semverCompare" => Value::Bool(semver_matches(&text_arg(args, 0), &text_arg(args, 1))?),
        "semver" => semver_object(&print(subject))?,
        _ => return Ok(None),
    }))
}

fn number_or_zero(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or(Value::from(0), Value::Number)
}

/// Go's type names for `typeOf`.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Helm's `fromYaml`: a map, or a map holding `Error` when the text is not YAML (as Helm does).
fn from_yaml(text: &str, array: bool) -> Value {
    match serde_yaml::from_str::<Value>(text) {
        Ok(Value::Null) if array => Value::Array(Vec::new()),
        Ok(Value::Null) => Value::Object(Map::new()),
        Ok(value) => value,
        Err(e) => error_map(&e.to_string()),
    }
}

fn error_map(message: &str) -> Value {
    let mut map = Map::new();
    map.insert("Error".into(), Value::String(message.into()));
    Value::Object(map)
}

/// A Masterminds-style constraint (`>=1.16.0-0`, `>= 1.19 < 2`, `<1.25-0`, `^1.2 || ~2.0`) against a version
/// (`v1.31.0`).
fn semver_matches(constraint: &str, version: &str) -> Result<bool, Failure> {
    let version = parse_version(version)?;
    let stable = semver::Version::new(version.major, version.minor, version.patch);
    for alternative in constraint.split("||") {
        let comparators = comparators(alternative);
        let requirement = semver::VersionReq::parse(&comparators.join(", "))
            .map_err(|e| format!("constraint `{constraint}`: {e}"))?;
        if requirement.matches(&version) || requirement.matches(&stable) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The comparators of one alternative, each `OP` joined to its version, partial versions with a pre-release
/// padded (`<1.25-0` → `<1.25.0-0`).
fn comparators(alternative: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut operator = String::new();
    for token in alternative.replace(',', " ").split_whitespace() {
        let split = token
            .find(|c: char| !matches!(c, '<' | '>' | '=' | '!' | '~' | '^'))
            .unwrap_or(token.len());
        operator.push_str(&token[..split]);
        let version = token[split..].trim_start_matches('v');
        if version.is_empty() {
            continue;
        }
        let version = match version.split_once('-') {
            Some((core, pre)) if core.split('.').count() < 3 && !core.contains(['x', 'X', '*']) => {
                format!("{}{}-{pre}", core, ".0".repeat(3 - core.split('.').count()))
            }
            _ => version.to_string(),
        };
        out.push(format!("{}{version}", std::mem::take(&mut operator)));
    }
    out
}

fn parse_version(text: &str) -> Result<semver::Version, Failure> {
    let text = text.trim().trim_start_matches('v');
    let mut parts: Vec<&str> = text.splitn(2, ['-', '+']).collect();
    let core = parts.remove(0);
    let numbers: Vec<&str> = core.split('.').collect();
    let padded = match numbers.len() {
        1 => format!("{core}.0.0"),
        2 => format!("{core}.0"),
        _ => core.to_string(),
    };
    let rest = &text[core.len()..];
    semver::Version::parse(&format!("{padded}{rest}")).map_err(|e| Failure::new(format!("version `{text}`: {e}")))
}

fn semver_object(text: &str) -> Result<Value, Failure> {
    let version = parse_version(text)?;
    let mut map = Map::new();
    map.insert("Major".into(), Value::from(version.major));
    map.insert("Minor".into(), Value::from(version.minor));
    map.insert("Patch".into(), Value::from(version.patch));
    map.insert("Prerelease".into(), Value::String(version.pre.to_string()));
    map.insert("Metadata".into(), Value::String(version.build.to_string()));
    map.insert("Original".into(), Value::String(text.into()));
    Ok(Value::Object(map))
}

/// sprig's math: integer functions truncate, `*f` functions keep floats.
fn math(name: &str, args: &[Value]) -> Result<Option<Value>, Failure> {
    let ints: Vec<i64> = args.iter().map(to_i64).collect();
    let floats: Vec<f64> = args.iter().map(to_f64).collect();
    let first = ints.first().copied().unwrap_or(0);
    Ok(Some(match name {
        "add" => Value::from(ints.iter().sum::<i64>()),
        "add1" => Value::from(to_i64(last(args)) + 1),
        "sub" => Value::from(first - ints.get(1).copied().unwrap_or(0)),
        "mul" => Value::from(ints.iter().product::<i64>()),
        "div" => Value::from(
            first
                .checked_div(ints.get(1).copied().unwrap_or(1))
                .ok_or("division by zero")?,
        ),
        "mod" => Value::from(
            first
                .checked_rem(ints.get(1).copied().unwrap_or(1))
                .ok_or("division by zero")?,
        ),
        "max" => Value::from(ints.iter().copied().max().unwrap_or(0)),
        "min" => Value::from(ints.iter().copied().min().unwrap_or(0)),
        "addf" => number(floats.iter().sum()),
        "subf" => number(floats.first().copied().unwrap_or(0.0) - floats.get(1).copied().unwrap_or(0.0)),
        "mulf" => number(floats.iter().product()),
        "divf" => number(floats.first().copied().unwrap_or(0.0) / floats.get(1).copied().unwrap_or(1.0)),
        "floor" => number(to_f64(last(args)).floor()),
        "ceil" => number(to_f64(last(args)).ceil()),
        "round" => {
            let scale = 10f64.powi(ints.get(1).copied().unwrap_or(0) as i32);
            number((to_f64(arg(args, 0)) * scale).round() / scale)
        }
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn semver_constraints_read_as_helm_reads_them() {
        assert!(semver_matches(">=1.16.0-0", "v1.31.0").unwrap());
        assert!(semver_matches(">= 1.19.2-0", "v1.31.0").unwrap());
        assert!(!semver_matches("<1.19", "v1.31.0").unwrap());
        assert!(semver_matches("<1.19 || >=1.30", "1.31.0").unwrap());
        assert!(!semver_matches("<1.14-0", "v1.31.0").unwrap());
        assert!(semver_matches(">=1.25-0, <2", "v1.31.0").unwrap());
    }

    #[test]
    fn dictionaries_merge_and_dig() {
        let merged = merge(&[json!({"a": {"x": 1}}), json!({"a": {"x": 2, "y": 3}, "b": 4})], false);
        assert_eq!(merged, json!({"a": {"x": 1, "y": 3}, "b": 4}));
        assert_eq!(dig(&[json!("a"), json!("y"), json!("none"), merged.clone()]), json!(3));
        assert_eq!(dig(&[json!("z"), json!("none"), merged]), json!("none"));
        assert_eq!(
            to_yaml(&json!({"b": "1", "a": [1, 2]})).unwrap(),
            "a:\n- 1\n- 2\nb: '1'"
        );
    }
}
