//! Executing parsed templates over JSON data with Go's semantics: dot and `$`, variables scoped to their block,
//! `range` over lists, maps (sorted keys) and integers, `with`, `template`, `break`/`continue`, missing map keys as
//! nil and fields of nil as errors (Helm's `missingkey=zero`), and a step budget so no chart can loop forever.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::funcs;
use super::parse::{parse, Arg, Branch, Node, Pipe};
use super::value::{print, sorted, truth, FILES_MARKER, GLOB_MARKER};
use super::TemplateSet;
use crate::helm::template::Failure;

/// Steps (nodes, commands, iterations) one render may take.
const STEP_BUDGET: u64 = 20_000_000;
/// Output one render may produce.
const OUTPUT_LIMIT: usize = 64 << 20;
/// How deep `include`/`template`/`tpl` may nest.
const DEPTH_LIMIT: usize = 100;

/// Why a template could not be executed: where, and the cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{template}:{line}: {reason}")]
pub(crate) struct ExecError {
    pub template: String,
    pub line: usize,
    pub reason: String,
}

/// How a list of nodes ended.
enum Flow {
    Normal,
    Break,
    Continue,
}

/// The variables and position of one template execution.
pub(crate) struct Frame {
    template: String,
    line: usize,
    variables: Vec<(String, Value)>,
}

/// Runs templates of one set; `tpl` may add definitions for the rest of the run.
pub(crate) struct Executor<'s> {
    set: &'s TemplateSet,
    added: TemplateSet,
    steps: u64,
    depth: usize,
}

impl<'s> Executor<'s> {
    pub(crate) fn new(set: &'s TemplateSet) -> Executor<'s> {
        Executor {
            set,
            added: TemplateSet::default(),
            steps: 0,
            depth: 0,
        }
    }

    /// The output of template `name` over `data`.
    pub(crate) fn execute(&mut self, name: &str, data: &Value) -> Result<String, ExecError> {
        let nodes = self.lookup(name).ok_or_else(|| ExecError {
            template: name.into(),
            line: 0,
            reason: format!("no template \"{name}\""),
        })?;
        let mut frame = Frame {
            template: name.into(),
            line: 0,
            variables: vec![("$".into(), data.clone())],
        };
        let mut out = String::new();
        self.depth += 1;
        if self.depth > DEPTH_LIMIT {
            self.depth -= 1;
            return Err(frame.error(format!("templates nest more than {DEPTH_LIMIT} deep")));
        }
        let result = self.nodes(&mut frame, &nodes, data, &mut out);
        self.depth -= 1;
        result.map(|_| out)
    }

    /// `tpl`: `text` rendered as a template (its definitions kept) over `data`.
    pub(crate) fn tpl(&mut self, caller: &str, text: &str, data: &Value) -> Result<String, ExecError> {
        let name = format!("{caller} (tpl)");
        let parsed = parse(&name, text).map_err(|e| ExecError {
            template: e.template,
            line: e.line,
            reason: e.reason,
        })?;
        for (define, body) in parsed.defines {
            self.added.insert(define, body);
        }
        self.added.insert(name.clone(), parsed.nodes);
        self.execute(&name, data)
    }

    fn lookup(&self, name: &str) -> Option<Arc<Vec<Node>>> {
        self.added.get(name).or_else(|| self.set.get(name))
    }

    fn tick(&mut self, frame: &Frame) -> Result<(), ExecError> {
        self.steps += 1;
        if self.steps > STEP_BUDGET {
            return Err(frame.error("the chart's templates take too many steps (a loop without end?)".into()));
        }
        Ok(())
    }

    fn nodes(&mut self, frame: &mut Frame, nodes: &[Node], dot: &Value, out: &mut String) -> Result<Flow, ExecError> {
        for node in nodes {
            self.tick(frame)?;
            if out.len() > OUTPUT_LIMIT {
                return Err(frame.error(format!("output larger than {} MiB", OUTPUT_LIMIT >> 20)));
            }
            match node {
                Node::Text(text) => out.push_str(text),
                Node::Action(pipe) => {
                    let value = self.pipe(frame, pipe, dot)?;
                    if pipe.variables.is_empty() {
                        out.push_str(&print(&value));
                    }
                }
                Node::If(branch) => {
                    let flow = self.scoped(frame, |this, frame| {
                        let condition = this.pipe(frame, &branch.pipe, dot)?;
                        let body = if truth(&condition) {
                            &branch.body
                        } else {
                            &branch.otherwise
                        };
                        this.nodes(frame, body, dot, out)
                    })?;
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::With(branch) => {
                    let flow = self.scoped(frame, |this, frame| {
                        let value = this.pipe(frame, &branch.pipe, dot)?;
                        if truth(&value) {
                            this.nodes(frame, &branch.body, &value, out)
                        } else {
                            this.nodes(frame, &branch.otherwise, dot, out)
                        }
                    })?;
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::Range(branch) => {
                    self.scoped(frame, |this, frame| this.range(frame, branch, dot, out))?;
                }
                Node::Template { name, pipe } => {
                    let data = match pipe {
                        Some(pipe) => self.pipe(frame, pipe, dot)?,
                        None => Value::Null,
                    };
                    let text = self.execute(name, &data).map_err(|e| frame.error(e.to_string()))?;
                    out.push_str(&text);
                }
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Normal)
    }

    /// Runs `body` with variables declared inside it dropped afterwards.
    fn scoped<T>(
        &mut self,
        frame: &mut Frame,
        body: impl FnOnce(&mut Self, &mut Frame) -> Result<T, ExecError>,
    ) -> Result<T, ExecError> {
        let depth = frame.variables.len();
        let result = body(self, frame);
        frame.variables.truncate(depth);
        result
    }

    fn range(&mut self, frame: &mut Frame, branch: &Branch, dot: &Value, out: &mut String) -> Result<Flow, ExecError> {
        let mut pipe = branch.pipe.clone();
        let names = std::mem::take(&mut pipe.variables);
        let collection = self.pipe(frame, &pipe, dot)?;
        let items: Vec<(Value, Value)> = match &collection {
            Value::Array(list) => list
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::from(i), v.clone()))
                .collect(),
            Value::Object(map) => sorted(map)
                .into_iter()
                .map(|(k, v)| (Value::from(k.clone()), v.clone()))
                .collect(),
            Value::Number(n) => (0..n.as_i64().unwrap_or(0))
                .map(|i| (Value::from(i), Value::from(i)))
                .collect(),
            Value::Null | Value::Bool(false) => Vec::new(),
            other => return Err(frame.error(format!("range can't iterate over {}", print(other)))),
        };
        if items.is_empty() {
            return self.nodes(frame, &branch.otherwise, dot, out).map(|_| Flow::Normal);
        }
        let depth = frame.variables.len();
        for (key, item) in items {
            self.tick(frame)?;
            frame.variables.truncate(depth);
            match names.as_slice() {
                [value] => frame.variables.push((value.clone(), item.clone())),
                [index, value] => {
                    frame.variables.push((index.clone(), key));
                    frame.variables.push((value.clone(), item.clone()));
                }
                _ => {}
            }
            if let Flow::Break = self.nodes(frame, &branch.body, &item, out)? {
                break;
            }
        }
        Ok(Flow::Normal)
    }

    /// A pipeline's value (and its variable declaration or assignment).
    pub(crate) fn pipe(&mut self, frame: &mut Frame, pipe: &Pipe, dot: &Value) -> Result<Value, ExecError> {
        frame.line = pipe.line;
        let mut value = None;
        for command in &pipe.commands {
            self.tick(frame)?;
            value = Some(self.command(frame, command, dot, value)?);
        }
        let value = value.unwrap_or(Value::Null);
        for name in &pipe.variables {
            if pipe.assign {
                match frame.variables.iter_mut().rev().find(|(n, _)| n == name) {
                    Some(slot) => slot.1 = value.clone(),
                    None => return Err(frame.error(format!("undefined variable: {name}"))),
                }
            } else {
                frame.variables.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    /// One command: a function call, a method call, or a value; `last` is the previous command's value.
    fn command(
        &mut self,
        frame: &mut Frame,
        args: &[Arg],
        dot: &Value,
        last: Option<Value>,
    ) -> Result<Value, ExecError> {
        let Some(first) = args.first() else {
            return Err(frame.error("empty command".into()));
        };
        match first {
            Arg::Function(name) if name == "and" || name == "or" => {
                self.and_or(frame, name == "and", &args[1..], dot, last)
            }
            Arg::Function(name) => {
                let mut values = Vec::with_capacity(args.len());
                for arg in &args[1..] {
                    values.push(self.operand(frame, arg, dot)?);
                }
                values.extend(last);
                let result = funcs::call(self, frame, name, values, dot)
                    .map_err(|reason| frame.error(format!("{name}: {reason}")))?;
                if funcs::changes_its_map(name) {
                    if let Some(Arg::Variable(variable, fields)) = args.get(1) {
                        frame.write(variable, fields, result.clone());
                    }
                }
                Ok(result)
            }
            chain if args.len() > 1 || last.is_some() => self.method_call(frame, chain, &args[1..], dot, last),
            operand => self.operand(frame, operand, dot),
        }
    }

    /// `and`/`or`, evaluating only as far as needed (as Go does).
    fn and_or(
        &mut self,
        frame: &mut Frame,
        is_and: bool,
        args: &[Arg],
        dot: &Value,
        last: Option<Value>,
    ) -> Result<Value, ExecError> {
        let mut result = Value::Null;
        let count = args.len() + usize::from(last.is_some());
        let mut last = last;
        for i in 0..count {
            result = match args.get(i) {
                Some(arg) => self.operand(frame, arg, dot)?,
                None => last.take().unwrap_or(Value::Null),
            };
            if truth(&result) != is_and {
                return Ok(result);
            }
        }
        Ok(result)
    }

    /// `.Files.Get "x"`, `.Capabilities.APIVersions.Has "v"`: the last field of a chain called with arguments.
    fn method_call(
        &mut self,
        frame: &mut Frame,
        chain: &Arg,
        args: &[Arg],
        dot: &Value,
        last: Option<Value>,
    ) -> Result<Value, ExecError> {
        let (receiver, name) = match chain {
            Arg::Field(fields) if !fields.is_empty() => (
                self.walk(frame, dot.clone(), &fields[..fields.len() - 1])?,
                &fields[fields.len() - 1],
            ),
            Arg::Variable(name, fields) if !fields.is_empty() => {
                let root = frame.variable(name)?;
                (
                    self.walk(frame, root, &fields[..fields.len() - 1])?,
                    &fields[fields.len() - 1],
                )
            }
            other => return Err(frame.error(format!("can't give an argument to non-function {}", describe(other)))),
        };
        let mut values = Vec::new();
        for arg in args {
            values.push(self.operand(frame, arg, dot)?);
        }
        values.extend(last);
        self.method(&receiver, name, &values)
            .map_err(|reason| frame.error(reason.to_string()))
    }

    fn operand(&mut self, frame: &mut Frame, arg: &Arg, dot: &Value) -> Result<Value, ExecError> {
        match arg {
            Arg::Dot => Ok(dot.clone()),
            Arg::Nil => Ok(Value::Null),
            Arg::Bool(b) => Ok(Value::Bool(*b)),
            Arg::Number(n) => Ok(Value::Number(n.clone())),
            Arg::String(s) => Ok(Value::String(s.clone())),
            Arg::Field(fields) => self.walk(frame, dot.clone(), fields),
            Arg::Variable(name, fields) => {
                let root = frame.variable(name)?;
                self.walk(frame, root, fields)
            }
            Arg::Function(name) => funcs::call(self, frame, name, Vec::new(), dot)
                .map_err(|reason| frame.error(format!("{name}: {reason}"))),
            Arg::Sub(pipe, fields) => {
                let value = self.pipe(frame, pipe, dot)?;
                self.walk(frame, value, fields)
            }
        }
    }

    /// Follows `fields` from `value`: map keys (missing ones are nil), zero-argument methods. As in Go, a nil that
    /// a pipeline, a variable or dot gave has only nil fields, while a nil met inside the chain (a missing key
    /// followed by another field) is an error: `(.Values.a).b` is nil where `.Values.a.b` fails.
    fn walk(&mut self, frame: &Frame, mut value: Value, fields: &[String]) -> Result<Value, ExecError> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        for field in fields {
            value = match value {
                Value::Object(ref map) if map.contains_key(FILES_MARKER) && is_files_method(field) => self
                    .method(&value, field, &[])
                    .map_err(|reason| frame.error(reason.to_string()))?,
                Value::Object(mut map) => map.remove(field).unwrap_or(Value::Null),
                Value::Null => return Err(frame.error(format!("nil pointer evaluating interface {{}}.{field}"))),
                other => {
                    return Err(frame.error(format!(
                        "can't evaluate field {field} in type {}",
                        super::value::kind(&other)
                    )))
                }
            };
        }
        Ok(value)
    }
}

impl Frame {
    fn error(&self, reason: String) -> ExecError {
        ExecError {
            template: self.template.clone(),
            line: self.line,
            reason,
        }
    }

    fn variable(&self, name: &str) -> Result<Value, ExecError> {
        self.variables
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| self.error(format!("undefined variable: {name}")))
    }

    /// Stores `value` at `$variable.fields...`: what a function that changes a map in place (`set`) did to it.
    fn write(&mut self, variable: &str, fields: &[String], value: Value) {
        let Some((_, slot)) = self.variables.iter_mut().rev().find(|(n, _)| n == variable) else {
            return;
        };
        let mut target = slot;
        for field in fields {
            let Value::Object(map) = target else { return };
            target = map.entry(field.clone()).or_insert(Value::Null);
        }
        *target = value;
    }

    /// The name of the template running (for `tpl` and errors).
    pub(crate) fn template(&self) -> &str {
        &self.template
    }
}

fn describe(arg: &Arg) -> String {
    match arg {
        Arg::Dot => ".".into(),
        Arg::Field(fields) => format!(".{}", fields.join(".")),
        Arg::Variable(name, _) => name.clone(),
        other => format!("{other:?}"),
    }
}

fn is_files_method(name: &str) -> bool {
    matches!(name, "Get" | "GetBytes" | "Glob" | "Lines" | "AsConfig" | "AsSecrets")
}

/// `.Files` of one chart, narrowed by the `Glob` patterns applied to it.
fn files_view(object: &Map<String, Value>) -> (String, Vec<String>) {
    let chart = object.get(FILES_MARKER).map(print).unwrap_or_default();
    let globs = match object.get(GLOB_MARKER) {
        Some(Value::Array(patterns)) => patterns.iter().map(print).collect(),
        _ => Vec::new(),
    };
    (chart, globs)
}

impl Executor<'_> {
    /// The methods of Helm's built-in objects: `.Files` and `.Capabilities.APIVersions`.
    fn method(&self, receiver: &Value, name: &str, args: &[Value]) -> Result<Value, Failure> {
        let text_arg = || args.first().map(print).unwrap_or_default();
        match (receiver, name) {
            (Value::Array(list), "Has") => Ok(Value::Bool(
                list.iter().any(|v| v.as_str() == Some(text_arg().as_str())),
            )),
            (Value::Object(object), _) if object.contains_key(FILES_MARKER) && is_files_method(name) => {
                self.files_method(object, name, &text_arg())
            }
            _ => Err(Failure::new(format!(
                "{name} is not a method of {}",
                super::value::kind(receiver)
            ))),
        }
    }

    fn files_method(&self, object: &Map<String, Value>, name: &str, arg: &str) -> Result<Value, Failure> {
        let (chart, globs) = files_view(object);
        let patterns = globs
            .iter()
            .map(|g| funcs::glob_regex(g))
            .collect::<Result<Vec<_>, _>>()?;
        let all = self.set.files(&chart);
        let files = all.iter().filter(|(path, _)| patterns.iter().all(|p| p.is_match(path)));
        match name {
            "Get" | "GetBytes" => Ok(all.get(arg).cloned().unwrap_or_else(|| Value::String(String::new()))),
            "Lines" => Ok(Value::Array(
                all.get(arg)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .lines()
                    .map(|l| Value::String(l.into()))
                    .collect(),
            )),
            "Glob" => {
                let mut narrowed = object.clone();
                let mut list: Vec<Value> = globs.into_iter().map(Value::String).collect();
                list.push(Value::String(arg.to_string()));
                narrowed.insert(GLOB_MARKER.into(), Value::Array(list));
                Ok(Value::Object(narrowed))
            }
            "AsConfig" | "AsSecrets" => {
                let encode = name == "AsSecrets";
                let entries: Map<String, Value> = files
                    .map(|(path, content)| {
                        let base = path.rsplit('/').next().unwrap_or(path).to_string();
                        let text = print(content);
                        (
                            base,
                            Value::String(if encode { funcs::base64(text.as_bytes()) } else { text }),
                        )
                    })
                    .collect();
                funcs::to_yaml(&Value::Object(entries)).map(Value::String)
            }
            _ => Err(Failure::new(format!("{name} is not a method of .Files"))),
        }
    }
}
