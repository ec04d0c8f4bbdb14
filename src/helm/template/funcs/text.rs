//! Text functions: Go's `print`/`printf` and escapers, sprig's string, regular expression, encoding, hashing,
//! date and random-value functions (dates and random values are fixed, for repeatable renders).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use regex::Regex;
use serde_json::{Map, Value};
use sha2::Digest as _;

use super::{arg, last, text_arg};
use crate::helm::template::value::{print, print_number, to_i64};
use crate::helm::template::Failure;

pub(in crate::helm::template) fn base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// A shell glob (`*`, `?`, `**`) as an anchored regular expression, for `.Files.Glob`.
pub(in crate::helm::template) fn glob_regex(glob: &str) -> Result<Regex, Failure> {
    let mut pattern = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                pattern.push_str(".*");
            }
            '*' => pattern.push_str("[^/]*"),
            '?' => pattern.push_str("[^/]"),
            other => pattern.push_str(&regex::escape(&other.to_string())),
        }
    }
    pattern.push('$');
    Regex::new(&pattern).map_err(|e| Failure::new(e.to_string()))
}

fn string(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

pub(super) fn call(name: &str, args: &[Value]) -> Result<Option<Value>, Failure> {
    if let Some(value) = strings(name, args)? {
        return Ok(Some(value));
    }
    if let Some(value) = formatting(name, args)? {
        return Ok(Some(value));
    }
    regexes(name, args)
}

/// sprig's string functions; the string operated on comes last (the pipeline's value).
fn strings(name: &str, args: &[Value]) -> Result<Option<Value>, Failure> {
    let subject = || print(last(args));
    Ok(Some(match name {
        "upper" => string(subject().to_uppercase()),
        "lower" => string(subject().to_lowercase()),
        "title" => string(title(&subject())),
        "untitle" => string(untitle(&subject())),
        "trim" => string(subject().trim()),
        "trimAll" => string(subject().trim_matches(|c| text_arg(args, 0).contains(c))),
        "trimPrefix" => string(
            subject()
                .strip_prefix(&text_arg(args, 0))
                .map_or(subject(), str::to_string),
        ),
        "trimSuffix" => string(
            subject()
                .strip_suffix(&text_arg(args, 0))
                .map_or(subject(), str::to_string),
        ),
        "trunc" => string(truncate(&subject(), to_i64(arg(args, 0)))),
        "abbrev" => string(abbreviate(&subject(), to_i64(arg(args, 0)))),
        "contains" => Value::Bool(subject().contains(&text_arg(args, 0))),
        "hasPrefix" => Value::Bool(subject().starts_with(&text_arg(args, 0))),
        "hasSuffix" => Value::Bool(subject().ends_with(&text_arg(args, 0))),
        "replace" => string(subject().replace(&text_arg(args, 0), &text_arg(args, 1))),
        "repeat" => string(subject().repeat(to_i64(arg(args, 0)).clamp(0, 1 << 20) as usize)),
        "substr" => string(substring(&subject(), to_i64(arg(args, 0)), to_i64(arg(args, 1)))),
        "nospace" => string(subject().split_whitespace().collect::<String>()),
        "indent" => string(indent(&subject(), to_i64(arg(args, 0)))),
        "nindent" => string(format!("\n{}", indent(&subject(), to_i64(arg(args, 0))))),
        "quote" => string(
            args.iter()
                .filter(|v| !v.is_null())
                .map(|v| go_quote(&print(v)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "squote" => string(
            args.iter()
                .filter(|v| !v.is_null())
                .map(|v| format!("'{}'", print(v)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "cat" => string(
            args.iter()
                .filter(|v| !v.is_null())
                .map(print)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "snakecase" => string(separate_words(&subject(), '_')),
        "kebabcase" => string(separate_words(&subject(), '-')),
        "camelcase" => string(subject().split(['_', '-', ' ']).map(title).collect::<String>()),
        "plural" => string(if to_i64(arg(args, 2)) == 1 {
            text_arg(args, 0)
        } else {
            text_arg(args, 1)
        }),
        "wrap" | "wrapWith" => string(subject()),
        "initials" => string(
            subject()
                .split_whitespace()
                .filter_map(|w| w.chars().next())
                .collect::<String>(),
        ),
        _ => return Ok(None),
    }))
}

/// Printing, encodings, hashes, and the fixed stand-ins for dates, random values and generated secrets.
fn formatting(name: &str, args: &[Value]) -> Result<Option<Value>, Failure> {
    Ok(Some(match name {
        "print" => string(go_print(args)),
        "println" => string(args.iter().map(print).collect::<Vec<_>>().join(" ") + "\n"),
        "printf" => string(printf(&text_arg(args, 0), &args[1.min(args.len())..])),
        "html" => string(
            print(last(args))
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&#34;")
                .replace('\'', "&#39;"),
        ),
        "js" => string(
            print(last(args))
                .replace('\\', "\\\\")
                .replace('\'', "\\'")
                .replace('"', "\\\""),
        ),
        "urlquery" => string(
            args.iter()
                .map(print)
                .collect::<String>()
                .replace('%', "%25")
                .replace(' ', "+")
                .replace('&', "%26")
                .replace('=', "%3D"),
        ),
        "b64enc" => string(base64(print(last(args)).as_bytes())),
        "b64dec" => string(
            String::from_utf8_lossy(&STANDARD.decode(print(last(args))).map_err(|e| e.to_string())?).into_owned(),
        ),
        "sha256sum" => string(hex(&sha2::Sha256::digest(print(last(args)).as_bytes()))),
        "randAlphaNum" | "randAlpha" | "randAscii" => string("x".repeat(to_i64(arg(args, 0)).clamp(0, 4096) as usize)),
        "randNumeric" => string("0".repeat(to_i64(arg(args, 0)).clamp(0, 4096) as usize)),
        "uuidv4" => string("00000000-0000-4000-8000-000000000000"),
        "now" | "toDate" | "unixEpoch" => string("1970-01-01T00:00:00Z"),
        "date" | "dateInZone" | "htmlDate" | "htmlDateInZone" | "dateModify" | "ago" => {
            string(fixed_date(&text_arg(args, 0)))
        }
        "genPrivateKey" | "derivePassword" | "htpasswd" | "encryptAES" | "decryptAES" | "bcrypt" => string(""),
        "genCA"
        | "genSelfSignedCert"
        | "genSignedCert"
        | "genCAWithKey"
        | "genSelfSignedCertWithKey"
        | "genSignedCertWithKey"
        | "buildCustomCert" => {
            let mut cert = Map::new();
            cert.insert("Cert".into(), string(""));
            cert.insert("Key".into(), string(""));
            Value::Object(cert)
        }
        _ => return Ok(None),
    }))
}

fn regexes(name: &str, args: &[Value]) -> Result<Option<Value>, Failure> {
    let compile = || Regex::new(&text_arg(args, 0)).map_err(|e| e.to_string());
    Ok(Some(match name {
        "regexMatch" => Value::Bool(compile()?.is_match(&text_arg(args, 1))),
        "regexFind" => string(compile()?.find(&text_arg(args, 1)).map_or("", |m| m.as_str())),
        "regexFindAll" => {
            let subject = text_arg(args, 1);
            let limit = to_i64(arg(args, 2));
            let found = compile()?
                .find_iter(&subject)
                .map(|m| string(m.as_str()))
                .collect::<Vec<_>>();
            Value::Array(if limit >= 0 {
                found.into_iter().take(limit as usize).collect()
            } else {
                found
            })
        }
        "regexReplaceAll" => string(
            compile()?
                .replace_all(&text_arg(args, 1), text_arg(args, 2).as_str())
                .into_owned(),
        ),
        "regexReplaceAllLiteral" => string(
            compile()?
                .replace_all(&text_arg(args, 1), regex::NoExpand(&text_arg(args, 2)))
                .into_owned(),
        ),
        "regexSplit" => {
            let subject = text_arg(args, 1);
            Value::Array(compile()?.split(&subject).map(string).collect())
        }
        "regexQuoteMeta" => string(regex::escape(&print(last(args)))),
        _ => return Ok(None),
    }))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Go's `fmt.Sprint`: a space between operands when neither is a string.
fn go_print(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, value) in args.iter().enumerate() {
        if i > 0 && !value.is_string() && !args[i - 1].is_string() {
            out.push(' ');
        }
        out.push_str(&print(value));
    }
    out
}

/// Go's `strconv.Quote` for the text charts quote.
fn go_quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn title(word: &str) -> String {
    word.split(' ')
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn untitle(text: &str) -> String {
    text.split(' ')
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_lowercase().collect::<String>() + chars.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn separate_words(text: &str, separator: char) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(separator);
        }
        if c == '-' || c == '_' || c == ' ' {
            out.push(separator);
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// sprig's `trunc`: the first `n` characters, or the last `-n`.
fn truncate(text: &str, n: i64) -> String {
    let chars: Vec<char> = text.chars().collect();
    if n >= 0 {
        chars.iter().take(n as usize).collect()
    } else {
        let keep = n.unsigned_abs() as usize;
        chars[chars.len().saturating_sub(keep)..].iter().collect()
    }
}

fn abbreviate(text: &str, width: i64) -> String {
    let chars: Vec<char> = text.chars().collect();
    if width < 4 || chars.len() as i64 <= width {
        return text.to_string();
    }
    chars[..(width - 3) as usize].iter().collect::<String>() + "..."
}

fn substring(text: &str, start: i64, end: i64) -> String {
    let chars: Vec<char> = text.chars().collect();
    let start = start.clamp(0, chars.len() as i64) as usize;
    let end = if end < 0 || end as usize > chars.len() {
        chars.len()
    } else {
        end as usize
    };
    if start >= end {
        return String::new();
    }
    chars[start..end].iter().collect()
}

/// Every line of `text` prefixed with `n` spaces.
fn indent(text: &str, n: i64) -> String {
    let pad = " ".repeat(n.clamp(0, 1024) as usize);
    text.split('\n')
        .map(|line| format!("{pad}{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A date layout (Go's reference time) filled with the epoch.
fn fixed_date(layout: &str) -> String {
    if layout.is_empty() {
        return "1970-01-01".into();
    }
    layout
        .replace("2006", "1970")
        .replace("15", "00")
        .replace("02", "01")
        .replace("04", "00")
        .replace("05", "00")
}

/// Go's `fmt.Sprintf` for the verbs charts use: `%s %d %v %q %t %f %x %X %o %e %g %c %%`, with flags, width and
/// precision.
fn printf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut next_arg = args.iter();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_digit() || matches!(c, '-' | '+' | ' ' | '#' | '.') {
                spec.push(c);
                chars.next();
            } else {
                break;
            }
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match next_arg.next() {
            Some(value) => out.push_str(&format_verb(verb, &spec, value)),
            None => out.push_str(&format!("%!{verb}(MISSING)")),
        }
    }
    out
}

fn format_verb(verb: char, spec: &str, value: &Value) -> String {
    let left = spec.contains('-');
    let zero = spec.starts_with('0') || spec.contains("+0") || spec.contains("-0");
    let digits = spec.trim_start_matches(['-', '+', ' ', '#', '0']);
    let (width, precision) = match digits.split_once('.') {
        Some((w, p)) => (w.parse::<usize>().ok(), Some(p.parse::<usize>().unwrap_or(0))),
        None => (digits.parse::<usize>().ok(), None),
    };
    let number = value.as_f64().unwrap_or_else(|| print(value).parse().unwrap_or(0.0));
    let body = match verb {
        's' | 'v' => {
            let text = print(value);
            match precision {
                Some(p) if verb == 's' => text.chars().take(p).collect(),
                _ => text,
            }
        }
        'q' => go_quote(&print(value)),
        't' => print(value),
        'd' => match value {
            Value::Number(n) => n.as_i64().map_or_else(|| print_number(n), |i| i.to_string()),
            other => format!("%!d({})", print(other)),
        },
        'f' | 'F' => format!("{number:.*}", precision.unwrap_or(6)),
        'e' => format!("{number:.*e}", precision.unwrap_or(6)),
        'g' => print(value),
        'x' => value
            .as_i64()
            .map_or_else(|| hex(print(value).as_bytes()), |i| format!("{i:x}")),
        'X' => value
            .as_i64()
            .map_or_else(|| hex(print(value).as_bytes()).to_uppercase(), |i| format!("{i:X}")),
        'o' => format!("{:o}", to_i64(value)),
        'c' => char::from_u32(to_i64(value) as u32)
            .map(String::from)
            .unwrap_or_default(),
        other => format!("%!{other}({})", print(value)),
    };
    pad(
        body,
        width,
        left,
        zero && matches!(verb, 'd' | 'f' | 'F' | 'x' | 'X' | 'o'),
    )
}

fn pad(body: String, width: Option<usize>, left: bool, zero: bool) -> String {
    let Some(width) = width else { return body };
    let len = body.chars().count();
    if len >= width {
        return body;
    }
    let fill = width - len;
    match (left, zero) {
        (true, _) => body + &" ".repeat(fill),
        (false, true) => match body.strip_prefix('-') {
            Some(rest) => format!("-{}{rest}", "0".repeat(fill)),
            None => "0".repeat(fill) + &body,
        },
        (false, false) => " ".repeat(fill) + &body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn printf_formats_the_verbs_charts_use() {
        assert_eq!(printf("%s/%s:%s", &[json!("r"), json!("a"), json!(1)]), "r/a:1");
        assert_eq!(
            printf(
                "%d-%05d-%-4s|%.2f %q %v%%",
                &[json!(3), json!(42), json!("ab"), json!(1.5), json!("x"), json!([1])]
            ),
            "3-00042-ab  |1.50 \"x\" [1]%"
        );
        assert_eq!(printf("%s", &[]), "%!s(MISSING)");
    }

    #[test]
    fn strings_take_their_subject_last() {
        let call = |name: &str, args: Vec<Value>| strings(name, &args).unwrap().unwrap();
        assert_eq!(call("trunc", vec![json!(5), json!("abcdefg")]), "abcde");
        assert_eq!(call("trimSuffix", vec![json!("-"), json!("a-b-")]), "a-b");
        assert_eq!(call("indent", vec![json!(2), json!("a\nb")]), "  a\n  b");
        assert_eq!(call("quote", vec![json!("a\"b")]), "\"a\\\"b\"");
        assert_eq!(call("replace", vec![json!("+"), json!("_"), json!("1+2")]), "1_2");
        assert!(glob_regex("conf/*.yaml").unwrap().is_match("conf/a.yaml"));
        assert!(!glob_regex("conf/*.yaml").unwrap().is_match("conf/x/a.yaml"));
    }
}
