//! The functions charts call: Go's built-ins, Helm's (`include`, `tpl`, `required`, `toYaml`, `lookup`...) and
//! sprig's, by family (`text`, `data`). Functions that make secrets or read the time return fixed, harmless values:
//! rendering only looks for images, and the same chart must always give the same result.

mod data;
mod text;

use serde_json::Value;

use super::exec::{Executor, Frame};
use super::value::{compare, equal, print, truth};
use crate::helm::template::Failure;

pub(super) use data::to_yaml;
pub(super) use text::{base64, glob_regex};

/// The `n`th argument, or nil.
fn arg(args: &[Value], n: usize) -> &Value {
    args.get(n).unwrap_or(&Value::Null)
}

/// The `n`th argument as text.
fn text_arg(args: &[Value], n: usize) -> String {
    print(arg(args, n))
}

/// The last argument (what a pipeline passes), or nil.
fn last(args: &[Value]) -> &Value {
    args.last().unwrap_or(&Value::Null)
}

/// Whether function `name` changes the map given as its first argument (sprig changes Go's shared maps in place).
pub(super) fn changes_its_map(name: &str) -> bool {
    matches!(
        name,
        "set" | "unset" | "merge" | "mergeOverwrite" | "mustMerge" | "mustMergeOverwrite"
    )
}

/// Calls function `name`; `include` and `tpl` run templates through `exec`.
pub(super) fn call(
    exec: &mut Executor<'_>,
    frame: &mut Frame,
    name: &str,
    args: Vec<Value>,
    _dot: &Value,
) -> Result<Value, Failure> {
    let name = name
        .strip_prefix("must")
        .filter(|rest| rest.starts_with(char::is_uppercase))
        .map_or(name.to_string(), |rest| {
            let mut chars = rest.chars();
            chars
                .next()
                .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
                .unwrap_or_default()
        });
    if let Some(value) = helm(exec, frame, &name, &args)? {
        return Ok(value);
    }
    if let Some(value) = logic(&name, &args)? {
        return Ok(value);
    }
    if let Some(value) = text::call(&name, &args)? {
        return Ok(value);
    }
    if let Some(value) = data::call(&name, &args)? {
        return Ok(value);
    }
    Err(Failure::new(format!("function \"{name}\" not defined")))
}

/// Helm's own functions.
fn helm(exec: &mut Executor<'_>, frame: &mut Frame, name: &str, args: &[Value]) -> Result<Option<Value>, Failure> {
    Ok(Some(match name {
        "include" => {
            let template = text_arg(args, 0);
            Value::String(exec.execute(&template, arg(args, 1)).map_err(|e| e.to_string())?)
        }
        "tpl" => {
            let caller = frame.template().to_string();
            Value::String(
                exec.tpl(&caller, &text_arg(args, 0), arg(args, 1))
                    .map_err(|e| e.to_string())?,
            )
        }
        "required" => {
            let value = arg(args, 1);
            if value.is_null() || value.as_str() == Some("") {
                return Err(text_arg(args, 0).into());
            }
            value.clone()
        }
        "fail" => return Err(text_arg(args, 0).into()),
        // A render without a cluster: lookups find nothing, as `helm template` does.
        "lookup" => Value::Object(serde_json::Map::new()),
        _ => return Ok(None),
    }))
}

/// Go's comparison and logic built-ins, and sprig's defaults.
fn logic(name: &str, args: &[Value]) -> Result<Option<Value>, Failure> {
    Ok(Some(match name {
        "not" => Value::Bool(!truth(arg(args, 0))),
        "eq" => {
            let first = arg(args, 0);
            Value::Bool(args.iter().skip(1).any(|other| equal(first, other)))
        }
        "ne" => Value::Bool(!equal(arg(args, 0), arg(args, 1))),
        "lt" => Value::Bool(compare(arg(args, 0), arg(args, 1))?.is_lt()),
        "le" => Value::Bool(compare(arg(args, 0), arg(args, 1))?.is_le()),
        "gt" => Value::Bool(compare(arg(args, 0), arg(args, 1))?.is_gt()),
        "ge" => Value::Bool(compare(arg(args, 0), arg(args, 1))?.is_ge()),
        "default" => {
            let given = if args.len() > 1 { last(args) } else { &Value::Null };
            if truth(given) {
                given.clone()
            } else {
                arg(args, 0).clone()
            }
        }
        "empty" => Value::Bool(!truth(arg(args, 0))),
        "coalesce" => args.iter().find(|v| truth(v)).cloned().unwrap_or(Value::Null),
        "ternary" => {
            if truth(arg(args, 2)) {
                arg(args, 0).clone()
            } else {
                arg(args, 1).clone()
            }
        }
        "all" => Value::Bool(args.iter().all(truth)),
        "any" => Value::Bool(args.iter().any(truth)),
        "deepEqual" => Value::Bool(arg(args, 0) == arg(args, 1)),
        _ => return Ok(None),
    }))
}
