//! A Go `text/template` engine with Helm's functions, enough to render charts as `helm template` does: `parse`
//! (the language), `exec` (Go's execution rules over JSON values), `funcs` (Helm's and sprig's functions, among
//! them `include`, `tpl`, `required`, `toYaml`), `value` (Go's truth, printing and comparison).

mod exec;
mod funcs;
mod parse;
mod value;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

#[cfg(test)]
use exec::ExecError;
pub(crate) use exec::Executor;
use parse::Node;
pub(crate) use parse::ParseError;

/// Why a function, a method or an action's text failed: the message a chart's author would read from Helm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Failure(String);

impl Failure {
    pub(crate) fn new(message: impl Into<String>) -> Failure {
        Failure(message.into())
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Failure {
        Failure(message.to_string())
    }
}

/// Parsed templates by name (each file's body and everything it `define`s), and the files of each chart.
#[derive(Debug, Default)]
pub(crate) struct TemplateSet {
    templates: HashMap<String, Arc<Vec<Node>>>,
    files: HashMap<String, Map<String, Value>>,
}

impl TemplateSet {
    /// Parses `text` as the template `name`, adding its definitions (a later definition replaces an earlier one).
    pub(crate) fn add(&mut self, name: &str, text: &str) -> Result<(), ParseError> {
        let parsed = parse::parse(name, text)?;
        for (define, body) in parsed.defines {
            self.insert(define, body);
        }
        self.insert(name.to_string(), parsed.nodes);
        Ok(())
    }

    fn insert(&mut self, name: String, nodes: Vec<Node>) {
        self.templates.insert(name, Arc::new(nodes));
    }

    fn get(&self, name: &str) -> Option<Arc<Vec<Node>>> {
        self.templates.get(name).cloned()
    }

    /// Keeps the files (name → content) of `chart` and returns its `.Files` object, which names the chart only:
    /// templates pass it around without copying the files.
    pub(crate) fn add_files(&mut self, chart: &str, files: Map<String, Value>) -> Value {
        self.files.insert(chart.to_string(), files);
        let mut object = Map::new();
        object.insert(value::FILES_MARKER.to_string(), Value::String(chart.to_string()));
        Value::Object(object)
    }

    fn files(&self, chart: &str) -> &Map<String, Value> {
        static NONE: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        self.files.get(chart).unwrap_or_else(|| NONE.get_or_init(Map::new))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(templates: &[(&str, &str)], data: Value) -> Result<String, ExecError> {
        let mut set = TemplateSet::default();
        for (name, text) in templates {
            set.add(name, text).unwrap();
        }
        Executor::new(&set).execute(templates[0].0, &data)
    }

    #[test]
    fn includes_defaults_and_pipelines_render_as_helm_does() {
        let out = render(
            &[
                (
                    "main",
                    r#"{{ include "img" . | quote }} {{ .Values.tag | default "latest" }} {{ $.Values.n | add 1 }}"#,
                ),
                (
                    "helpers",
                    r#"{{- define "img" -}}{{ printf "%s/%s" .Values.registry .Values.repo }}{{- end -}}"#,
                ),
            ],
            json!({"Values": {"registry": "r.io", "repo": "app", "tag": "", "n": 2}}),
        )
        .unwrap();
        assert_eq!(out, r#""r.io/app" latest 3"#);
    }

    #[test]
    fn range_with_variables_else_break_and_sorted_maps() {
        let out = render(
            &[(
                "t",
                "{{ range $k, $v := .m }}{{ $k }}={{ $v }};{{ end }}|{{ range .l }}{{ if eq . 3 }}{{ break }}{{ end }}{{ . }}{{ else }}none{{ end }}|{{ range .empty }}x{{ else }}none{{ end }}|{{ with .missing }}w{{ else }}nw{{ end }}",
            )],
            json!({"m": {"b": 2, "a": 1}, "l": [1, 2, 3, 4], "empty": []}),
        )
        .unwrap();
        assert_eq!(out, "a=1;b=2;|12|none|nw");
    }

    #[test]
    fn to_yaml_nindent_tpl_and_required() {
        let data =
            json!({"Values": {"res": {"limits": {"cpu": "1"}}, "greeting": "hi {{ .Values.name }}", "name": "bob"}});
        let out = render(
            &[(
                "t",
                "res:{{- toYaml .Values.res | nindent 2 }}\n{{ tpl .Values.greeting . }}",
            )],
            data.clone(),
        )
        .unwrap();
        assert_eq!(out, "res:\n  limits:\n    cpu: '1'\nhi bob");
        let error = render(&[("t", r#"{{ required "name the db" .Values.db }}"#)], data).unwrap_err();
        assert!(error.to_string().contains("name the db"), "{error}");
    }

    #[test]
    fn a_field_of_nil_fails_and_a_missing_key_is_empty() {
        let data = json!({"Values": {}});
        assert_eq!(render(&[("t", "[{{ .Values.missing }}]")], data.clone()).unwrap(), "[]");
        let error = render(&[("t", "{{ .Values.missing.deeper }}")], data.clone()).unwrap_err();
        assert!(error.reason.contains("nil pointer"), "{error}");
        let guarded = "[{{ ((.Values.missing).deeper).deepest }}{{ $m := .Values.missing }}{{ $m.deeper }}]";
        assert_eq!(render(&[("t", guarded)], data).unwrap(), "[]");
    }

    #[test]
    fn files_and_capabilities_methods_answer() {
        let mut set = TemplateSet::default();
        let files = set.add_files(
            "c",
            json!({"conf/a.txt": "A", "conf/b.txt": "B", "other": "O"})
                .as_object()
                .unwrap()
                .clone(),
        );
        let data = json!({"Files": files, "Capabilities": {"APIVersions": ["apps/v1"]}});
        let text = r#"{{ .Files.Get "other" }} {{ (.Files.Glob "conf/*").AsConfig | indent 1 }} {{ .Capabilities.APIVersions.Has "apps/v1" }}"#;
        set.add("t", text).unwrap();
        let out = Executor::new(&set).execute("t", &data).unwrap();
        assert_eq!(out, "O  a.txt: A\n b.txt: B true");
    }

    #[test]
    fn a_template_that_never_ends_is_stopped() {
        let error = render(
            &[(
                "t",
                r#"{{ define "loop" }}{{ include "loop" . }}{{ end }}{{ include "loop" . }}"#,
            )],
            json!({}),
        )
        .unwrap_err();
        assert!(error.to_string().contains("nest"), "{error}");
    }
}
