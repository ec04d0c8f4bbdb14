//! The Go template language, parsed: text and actions (`{{ }}`, with `{{-`/`-}}` trimming and `/* */` comments),
//! pipelines of commands, variables, and the control structures `if`/`else if`/`range`/`with`/`define`/`template`/
//! `block`/`break`/`continue`.

use crate::helm::template::Failure;
use serde_json::Number;

/// Where parsing failed: the template, its line, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{template}:{line}: {reason}")]
pub(crate) struct ParseError {
    pub template: String,
    pub line: usize,
    pub reason: String,
}

/// A node of a parsed template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Text(String),
    /// `{{ pipeline }}`: its value is printed unless it declares variables.
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    /// `{{ template "name" pipeline }}`.
    Template {
        name: String,
        pipe: Option<Pipe>,
    },
    Break,
    Continue,
}

/// `if`/`range`/`with`: the pipeline, the body, and the `else` part (an `else if` is an `else` holding an `if`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Branch {
    pub pipe: Pipe,
    pub body: Vec<Node>,
    pub otherwise: Vec<Node>,
    pub line: usize,
}

/// `$a := cmd | cmd arg`: declared (or assigned) variables and the commands.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pipe {
    pub variables: Vec<String>,
    /// `=` rather than `:=`.
    pub assign: bool,
    pub commands: Vec<Vec<Arg>>,
    pub line: usize,
}

/// One operand of a command.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Dot,
    Nil,
    Bool(bool),
    Number(Number),
    String(String),
    /// `.A.B` (fields of dot).
    Field(Vec<String>),
    /// `$x.A.B` (`$` alone is the root).
    Variable(String, Vec<String>),
    /// A function name.
    Function(String),
    /// `(pipeline).A.B`.
    Sub(Box<Pipe>, Vec<String>),
}

/// A parsed file: its top-level nodes and the templates it `define`s.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub nodes: Vec<Node>,
    pub defines: Vec<(String, Vec<Node>)>,
}

/// Parses template `text`, named `name` in errors.
pub(crate) fn parse(name: &str, text: &str) -> Result<Parsed, ParseError> {
    let items = split_actions(name, text)?;
    let mut parser = Parser {
        name,
        items,
        position: 0,
        defines: Vec::new(),
    };
    let (nodes, end) = parser.nodes()?;
    if let Some((keyword, line)) = end {
        return Err(parser.error(line, format!("unexpected {{{{{keyword}}}}}")));
    }
    Ok(Parsed {
        nodes,
        defines: parser.defines,
    })
}

/// A piece of the source: text, or an action's tokens.
#[derive(Debug, Clone)]
enum Item {
    Text(String),
    Action { tokens: Vec<Token>, line: usize },
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Field(Vec<String>),
    Variable(String, Vec<String>),
    String(String),
    Number(Number),
    Char(char),
    Dot,
    Open,
    Close(Vec<String>),
    Pipe,
    Declare,
    Assign,
    Comma,
}

/// Splits `text` into text and actions, applying trim markers and dropping comments.
fn split_actions(name: &str, text: &str) -> Result<Vec<Item>, ParseError> {
    let mut items = Vec::new();
    let mut rest = text;
    let mut line = 1;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let mut before = &rest[..start];
        if trim_next {
            before = before.trim_start();
        }
        let after_open = &rest[start + 2..];
        let trim_before =
            after_open.starts_with("- ") || after_open.starts_with("-\t") || after_open.starts_with("-\n");
        if trim_before {
            before = before.trim_end();
        }
        if !before.is_empty() {
            items.push(Item::Text(before.to_string()));
        }
        line += rest[..start].matches('\n').count();
        let body_start = if trim_before { 1 } else { 0 };
        let (body, consumed, trim_after) = action_body(&after_open[body_start..]).ok_or_else(|| ParseError {
            template: name.into(),
            line,
            reason: "unclosed action".into(),
        })?;
        let body = body.trim();
        if !(body.starts_with("/*") && body.ends_with("*/")) {
            let tokens = lex(body).map_err(|reason| ParseError {
                template: name.into(),
                line,
                reason: reason.to_string(),
            })?;
            items.push(Item::Action { tokens, line });
        }
        let action_text = &after_open[..body_start + consumed];
        line += action_text.matches('\n').count();
        rest = &after_open[body_start + consumed..];
        trim_next = trim_after;
    }
    let tail = if trim_next { rest.trim_start() } else { rest };
    if !tail.is_empty() {
        items.push(Item::Text(tail.to_string()));
    }
    Ok(items)
}

/// The inside of an action up to its `}}` (strings and comments may hold `}}`): the body, the bytes consumed
/// including the close, and whether the close trims (`-}}`).
fn action_body(text: &str) -> Option<(&str, usize, bool)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'"' | b'`' | b'\'') => {
                i = skip_quoted(bytes, i, quote)?;
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += text[i + 2..].find("*/")? + 4;
                continue;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                let trim = i >= 2 && bytes[i - 1] == b'-' && bytes[i - 2].is_ascii_whitespace();
                let end = if trim { i - 1 } else { i };
                return Some((&text[..end], i + 2, trim));
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index after the closing quote of a quoted run starting at `start`.
fn skip_quoted(bytes: &[u8], start: usize, quote: u8) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        if bytes[i] == b'\\' && quote != b'`' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

fn lex(body: &str) -> Result<Vec<Token>, Failure> {
    let chars: Vec<char> = body.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let (token, next) = match punctuation(&chars, i) {
            Some(found) => found,
            None => operand_token(&chars, i)?,
        };
        tokens.push(token);
        i = next;
    }
    Ok(tokens)
}

/// `(`, `)` (with the fields after it), `|`, `,`, `:=`, `=` at `i`: the token and where the next one starts.
fn punctuation(chars: &[char], i: usize) -> Option<(Token, usize)> {
    Some(match chars[i] {
        '(' => (Token::Open, i + 1),
        ')' => {
            let (fields, next) = field_chain(chars, i + 1);
            (Token::Close(fields), next)
        }
        '|' => (Token::Pipe, i + 1),
        ',' => (Token::Comma, i + 1),
        ':' if chars.get(i + 1) == Some(&'=') => (Token::Declare, i + 2),
        '=' => (Token::Assign, i + 1),
        _ => return None,
    })
}

/// A string, character, dot, field chain, variable, number or word at `i`.
fn operand_token(chars: &[char], i: usize) -> Result<(Token, usize), Failure> {
    let c = chars[i];
    Ok(match c {
        '"' | '`' => {
            let (text, next) = string_literal(chars, i)?;
            (Token::String(text), next)
        }
        '\'' => {
            let (text, next) = string_literal(chars, i)?;
            let mut it = text.chars();
            match (it.next(), it.next()) {
                (Some(ch), None) => (Token::Char(ch), next),
                _ => return Err(Failure::new(format!("bad character constant '{text}'"))),
            }
        }
        '.' if chars.get(i + 1).is_none_or(|n| !n.is_alphanumeric() && *n != '_') => (Token::Dot, i + 1),
        '.' => {
            let (fields, next) = field_chain(chars, i);
            (Token::Field(fields), next)
        }
        '$' => {
            let end = word_end(chars, i + 1);
            let (fields, next) = field_chain(chars, end);
            (Token::Variable(chars[i..end].iter().collect(), fields), next)
        }
        _ if c.is_ascii_digit() || (matches!(c, '-' | '+') && chars.get(i + 1).is_some_and(char::is_ascii_digit)) => {
            let end = number_end(chars, i + 1);
            let text: String = chars[i..end].iter().collect();
            (
                Token::Number(number(&text).ok_or_else(|| format!("bad number `{text}`"))?),
                end,
            )
        }
        _ if c.is_alphabetic() || c == '_' => {
            let end = word_end(chars, i);
            (Token::Word(chars[i..end].iter().collect()), end)
        }
        _ => return Err(Failure::new(format!("unexpected `{c}` in action"))),
    })
}

/// Where a number that started before `start` ends: digits, letters (hex, exponents), `.`, `_`, and a sign
/// right after an exponent.
fn number_end(chars: &[char], start: usize) -> usize {
    (start..chars.len())
        .find(|&j| {
            let c = chars[j];
            let sign_of_exponent = matches!(c, '+' | '-') && matches!(chars[j - 1], 'e' | 'E');
            !(c.is_ascii_alphanumeric() || c == '.' || c == '_' || sign_of_exponent)
        })
        .unwrap_or(chars.len())
}

fn word_end(chars: &[char], start: usize) -> usize {
    (start..chars.len())
        .find(|&j| !(chars[j].is_alphanumeric() || chars[j] == '_'))
        .unwrap_or(chars.len())
}

/// `.A.B.C` starting at `start` (which may hold no dot: no fields).
fn field_chain(chars: &[char], start: usize) -> (Vec<String>, usize) {
    let mut fields = Vec::new();
    let mut i = start;
    while i < chars.len() && chars[i] == '.' && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric() || *n == '_') {
        let end = word_end(chars, i + 1);
        fields.push(chars[i + 1..end].iter().collect());
        i = end;
    }
    (fields, i)
}

/// A quoted string (`"..."` with Go escapes, `` `...` `` raw, `'c'`) starting at `start`.
fn string_literal(chars: &[char], start: usize) -> Result<(String, usize), Failure> {
    let quote = chars[start];
    let mut out = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if c == quote {
            return Ok((out, i + 1));
        }
        if c == '\\' && quote != '`' {
            let escaped = chars.get(i + 1).ok_or("unterminated escape")?;
            i += 2;
            match escaped {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                '\'' => out.push('\''),
                'u' | 'x' => {
                    let len = if *escaped == 'u' { 4 } else { 2 };
                    let hex: String = chars.get(i..i + len).ok_or("short escape")?.iter().collect();
                    let code = u32::from_str_radix(&hex, 16).map_err(|_| format!("bad escape \\{escaped}{hex}"))?;
                    out.push(char::from_u32(code).ok_or("bad escape")?);
                    i += len;
                }
                other => return Err(Failure::new(format!("unknown escape \\{other}"))),
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    Err("unterminated quoted string".into())
}

fn number(text: &str) -> Option<Number> {
    let clean = text.replace('_', "");
    if let Some(hex) = clean.strip_prefix("0x").or_else(|| clean.strip_prefix("0X")) {
        return i64::from_str_radix(hex, 16).ok().map(Number::from);
    }
    if let Ok(int) = clean.parse::<i64>() {
        return Some(Number::from(int));
    }
    clean.parse::<f64>().ok().and_then(Number::from_f64)
}

/// Builds nodes from items.
struct Parser<'a> {
    name: &'a str,
    items: Vec<Item>,
    position: usize,
    defines: Vec<(String, Vec<Node>)>,
}

/// What ended a list of nodes: `end`, `else` (with the rest of its tokens), or the end of input.
type Ending = Option<(String, usize)>;

impl Parser<'_> {
    fn error(&self, line: usize, reason: String) -> ParseError {
        ParseError {
            template: self.name.into(),
            line,
            reason,
        }
    }

    /// Nodes up to an `end` or `else` (returned) or the end of input.
    fn nodes(&mut self) -> Result<(Vec<Node>, Ending), ParseError> {
        let mut nodes = Vec::new();
        while let Some(item) = self.items.get(self.position).cloned() {
            self.position += 1;
            let (tokens, line) = match item {
                Item::Text(text) => {
                    nodes.push(Node::Text(text));
                    continue;
                }
                Item::Action { tokens, line } => (tokens, line),
            };
            match tokens.first() {
                Some(Token::Word(w)) if w == "end" => return Ok((nodes, Some(("end".into(), line)))),
                Some(Token::Word(w)) if w == "else" => {
                    // Keep the rest (`else if ...`) for the caller.
                    self.position -= 1;
                    self.items[self.position] = Item::Action {
                        tokens: tokens[1..].to_vec(),
                        line,
                    };
                    return Ok((nodes, Some(("else".into(), line))));
                }
                _ => {}
            }
            if let Some(node) = self.action(tokens, line)? {
                nodes.push(node);
            }
        }
        Ok((nodes, None))
    }

    fn action(&mut self, tokens: Vec<Token>, line: usize) -> Result<Option<Node>, ParseError> {
        let keyword = match tokens.first() {
            Some(Token::Word(w)) => w.clone(),
            _ => return Ok(Some(Node::Action(self.pipe(&tokens, line)?))),
        };
        let rest = &tokens[1..];
        Ok(Some(match keyword.as_str() {
            "if" => Node::If(self.branch(rest, line, "if")?),
            "range" => Node::Range(self.branch(rest, line, "range")?),
            "with" => Node::With(self.branch(rest, line, "with")?),
            "break" => Node::Break,
            "continue" => Node::Continue,
            "define" | "block" => {
                let name = self.template_name(rest, line)?;
                let (body, end) = self.nodes()?;
                if end.as_ref().map(|(k, _)| k.as_str()) != Some("end") {
                    return Err(self.error(line, format!("{keyword} \"{name}\" has no {{{{end}}}}")));
                }
                self.defines.push((name.clone(), body));
                if keyword == "define" {
                    return Ok(None);
                }
                Node::Template {
                    name,
                    pipe: Some(self.pipe(&rest[1..], line)?),
                }
            }
            "template" => {
                let name = self.template_name(rest, line)?;
                let pipe = if rest.len() > 1 {
                    Some(self.pipe(&rest[1..], line)?)
                } else {
                    None
                };
                Node::Template { name, pipe }
            }
            _ => Node::Action(self.pipe(&tokens, line)?),
        }))
    }

    fn template_name(&self, rest: &[Token], line: usize) -> Result<String, ParseError> {
        match rest.first() {
            Some(Token::String(name)) => Ok(name.clone()),
            _ => Err(self.error(line, "a template name must be a quoted string".into())),
        }
    }

    /// The pipeline, body and else part of `if`/`range`/`with`; `else if`/`else with` chain.
    fn branch(&mut self, rest: &[Token], line: usize, keyword: &str) -> Result<Branch, ParseError> {
        let pipe = self.pipe(rest, line)?;
        let (body, end) = self.nodes()?;
        let otherwise = match end {
            Some((k, _)) if k == "end" => Vec::new(),
            Some((_, else_line)) => self.else_part(else_line, keyword)?,
            None => return Err(self.error(line, format!("{keyword} has no {{{{end}}}}"))),
        };
        Ok(Branch {
            pipe,
            body,
            otherwise,
            line,
        })
    }

    /// After `else`: `else if ...` (a nested branch that consumes the shared `end`) or a plain else body.
    fn else_part(&mut self, line: usize, keyword: &str) -> Result<Vec<Node>, ParseError> {
        let Some(Item::Action { tokens, .. }) = self.items.get(self.position).cloned() else {
            return Err(self.error(line, "else without its action".into()));
        };
        self.position += 1;
        if let Some(Token::Word(w)) = tokens.first() {
            if w == "if" || w == "with" {
                let nested = self.branch(&tokens[1..], line, w)?;
                return Ok(vec![if w == "if" {
                    Node::If(nested)
                } else {
                    Node::With(nested)
                }]);
            }
        }
        if !tokens.is_empty() {
            return Err(self.error(line, format!("unexpected tokens after else in {keyword}")));
        }
        let (body, end) = self.nodes()?;
        match end {
            Some((k, _)) if k == "end" => Ok(body),
            _ => Err(self.error(line, format!("{keyword} ... else has no {{{{end}}}}"))),
        }
    }

    /// `$x := a | b c`, `$i, $v := range-pipe`, or a plain pipeline.
    fn pipe(&self, tokens: &[Token], line: usize) -> Result<Pipe, ParseError> {
        let mut variables = Vec::new();
        let mut assign = false;
        let mut start = 0;
        let declaration = tokens.iter().position(|t| matches!(t, Token::Declare | Token::Assign));
        if let Some(at) = declaration {
            let head = &tokens[..at];
            let all_variables = head
                .iter()
                .all(|t| matches!(t, Token::Variable(_, f) if f.is_empty()) || *t == Token::Comma);
            if all_variables && !head.is_empty() {
                for token in head {
                    if let Token::Variable(name, _) = token {
                        variables.push(name.clone());
                    }
                }
                assign = tokens[at] == Token::Assign;
                start = at + 1;
            }
        }
        let mut commands = Vec::new();
        let mut i = start;
        let mut current = Vec::new();
        while i < tokens.len() {
            match &tokens[i] {
                Token::Pipe => {
                    if current.is_empty() {
                        return Err(self.error(line, "missing command before `|`".into()));
                    }
                    commands.push(std::mem::take(&mut current));
                    i += 1;
                }
                Token::Open => {
                    let close = matching_close(tokens, i).ok_or_else(|| self.error(line, "unclosed `(`".into()))?;
                    let inner = self.pipe(&tokens[i + 1..close], line)?;
                    let fields = match &tokens[close] {
                        Token::Close(fields) => fields.clone(),
                        _ => Vec::new(),
                    };
                    current.push(Arg::Sub(Box::new(inner), fields));
                    i = close + 1;
                }
                token => {
                    current.push(self.operand(token, line)?);
                    i += 1;
                }
            }
        }
        if !current.is_empty() {
            commands.push(current);
        }
        if commands.is_empty() {
            return Err(self.error(line, "missing value for command".into()));
        }
        Ok(Pipe {
            variables,
            assign,
            commands,
            line,
        })
    }

    fn operand(&self, token: &Token, line: usize) -> Result<Arg, ParseError> {
        Ok(match token {
            Token::Dot => Arg::Dot,
            Token::Field(fields) => Arg::Field(fields.clone()),
            Token::Variable(name, fields) => Arg::Variable(name.clone(), fields.clone()),
            Token::String(text) => Arg::String(text.clone()),
            Token::Char(c) => Arg::Number(Number::from(*c as u32)),
            Token::Number(n) => Arg::Number(n.clone()),
            Token::Word(w) if w == "nil" => Arg::Nil,
            Token::Word(w) if w == "true" => Arg::Bool(true),
            Token::Word(w) if w == "false" => Arg::Bool(false),
            Token::Word(w) => Arg::Function(w.clone()),
            other => return Err(self.error(line, format!("unexpected {other:?} in command"))),
        })
    }
}

/// The index of the `)` that closes the `(` at `open`.
fn matching_close(tokens: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        match token {
            Token::Open => depth += 1,
            Token::Close(_) => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_markers_and_comments_shape_the_text() {
        let parsed = parse(
            "t",
            "a  \n{{- /* note */ -}}\n  b {{ .X }}\n{{- if .Y }}y{{ else if .Z }}z{{ else }}n{{ end -}}\n c",
        )
        .unwrap();
        assert_eq!(parsed.nodes[..2], [Node::Text("a".into()), Node::Text("b ".into())]);
        assert!(matches!(&parsed.nodes[2], Node::Action(p) if p.commands[0] == vec![Arg::Field(vec!["X".into()])]));
        let Node::If(branch) = &parsed.nodes[3] else {
            panic!("{:?}", parsed.nodes)
        };
        assert!(matches!(&branch.otherwise[0], Node::If(inner) if inner.otherwise == vec![Node::Text("n".into())]));
        assert_eq!(parsed.nodes[4], Node::Text("c".into()));
    }

    #[test]
    fn pipelines_variables_and_defines_parse() {
        let parsed = parse(
            "t",
            r#"{{ define "x" }}[{{ . }}]{{ end }}{{ range $a, $b := $.List }}{{ (include "x" .).Len | printf "%d" -1 }}{{ end }}"#,
        )
        .unwrap();
        assert_eq!(parsed.defines[0].0, "x");
        let Node::Range(branch) = &parsed.nodes[0] else {
            panic!("{:?}", parsed.nodes)
        };
        assert_eq!(branch.pipe.variables, ["$a", "$b"]);
        let Node::Action(pipe) = &branch.body[0] else { panic!() };
        assert!(matches!(&pipe.commands[0][0], Arg::Sub(_, fields) if fields == &["Len"]));
        assert_eq!(pipe.commands[1][2], Arg::Number(Number::from(-1)));
    }

    #[test]
    fn errors_name_the_template_and_line() {
        let error = parse("chart/templates/a.yaml", "ok\n\n{{ if .X }}never closed").unwrap_err();
        assert_eq!((error.line, error.template.as_str()), (3, "chart/templates/a.yaml"));
        assert!(parse("t", "{{ end }}").unwrap_err().reason.contains("unexpected"));
        assert!(parse("t", "{{ .X ").unwrap_err().reason.contains("unclosed"));
        assert!(parse("t", r#"{{ "}}" }}"#).is_ok(), "a quoted }} is not the close");
        let quoted = parse("t", r#"a: '{{if eq .V "o"}}t{{else}}f{{end}}' {{"{{ x }}"}}"#).unwrap();
        assert_eq!(quoted.nodes.len(), 4, "{:?}", quoted.nodes);
    }
}
