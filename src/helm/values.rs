//! Values as Helm computes them for a render: the chart's defaults under what the configuration supplies, each
//! subchart's defaults under its parent's section for it (named by alias when it has one), `global` passed down,
//! and subcharts switched off by their `condition` or `tags`.

use serde_json::{Map, Value};

use super::chart::Chart;

/// A chart as it is rendered: its name in the template set (an alias renames it), its values, and the enabled
/// subcharts below it.
#[derive(Debug)]
pub(crate) struct ChartInstance<'c> {
    pub chart: &'c Chart,
    /// The chart's name for this render (`alias` when the dependency gives one).
    pub name: String,
    /// Template path prefix: `top`, `top/charts/sub`.
    pub path: String,
    pub values: Map<String, Value>,
    pub subcharts: Vec<ChartInstance<'c>>,
}

/// The render tree of `chart` with `supplied` values over its defaults.
pub(crate) fn instantiate(chart: &Chart, supplied: Map<String, Value>) -> ChartInstance<'_> {
    let mut tree = instance(chart, chart.name.clone(), chart.name.clone(), supplied);
    drop_nulls(&mut tree);
    tree
}

/// Helm drops keys whose value is null from the computed values, defaults included.
fn drop_nulls(instance: &mut ChartInstance<'_>) {
    fn strip(map: &mut Map<String, Value>) {
        map.retain(|_, value| !value.is_null());
        for value in map.values_mut() {
            if let Value::Object(inner) = value {
                strip(inner);
            }
        }
    }
    strip(&mut instance.values);
    instance.subcharts.iter_mut().for_each(drop_nulls);
}

fn instance<'c>(chart: &'c Chart, name: String, path: String, supplied: Map<String, Value>) -> ChartInstance<'c> {
    let mut values = supplied;
    coalesce(&mut values, &chart.values);
    let mut subcharts = Vec::new();
    for (subchart, sub_name) in dependencies(chart) {
        if !enabled(chart, subchart, &sub_name, &values) {
            continue;
        }
        let mut scoped = match values.get(&sub_name) {
            Some(Value::Object(section)) => section.clone(),
            _ => Map::new(),
        };
        pass_globals(&values, &mut scoped);
        let sub_path = format!("{path}/charts/{sub_name}");
        let sub = instance(subchart, sub_name.clone(), sub_path, scoped);
        // The parent sees its subchart's computed values under the subchart's name, as Helm's coalescing leaves them.
        values.insert(sub_name, Value::Object(sub.values.clone()));
        subcharts.push(sub);
    }
    ChartInstance {
        chart,
        name,
        path,
        values,
        subcharts,
    }
}

/// The subcharts to render with the name each gets: every dependency found under `charts/` (once per alias), and
/// the charts there that no dependency names.
fn dependencies(chart: &Chart) -> Vec<(&Chart, String)> {
    let mut out = Vec::new();
    for dependency in &chart.dependencies {
        if let Some(subchart) = chart.subcharts.iter().find(|s| s.name == dependency.name) {
            out.push((
                subchart,
                dependency.alias.clone().unwrap_or_else(|| dependency.name.clone()),
            ));
        }
    }
    for subchart in &chart.subcharts {
        if !chart.dependencies.iter().any(|d| d.name == subchart.name) {
            out.push((subchart, subchart.name.clone()));
        }
    }
    out
}

/// A dependency's `condition` (the first of its paths that holds a boolean) decides; else its `tags` (any true
/// enables, all false disables); else it is enabled.
fn enabled(parent: &Chart, subchart: &Chart, name: &str, values: &Map<String, Value>) -> bool {
    let Some(dependency) = parent
        .dependencies
        .iter()
        .find(|d| d.name == subchart.name && d.alias.as_deref().unwrap_or(&d.name) == name)
    else {
        return true;
    };
    if let Some(condition) = &dependency.condition {
        for path in condition.split(',').map(str::trim) {
            if let Some(Value::Bool(on)) = lookup(values, path) {
                return *on;
            }
        }
    }
    let tags: Vec<bool> = dependency
        .tags
        .iter()
        .filter_map(|tag| values.get("tags").and_then(|t| t.get(tag)).and_then(Value::as_bool))
        .collect();
    tags.is_empty() || tags.contains(&true)
}

/// The value at a dotted path.
pub(crate) fn lookup<'v>(values: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let mut current = values.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

/// The parent's `global` over the subchart's own.
fn pass_globals(parent: &Map<String, Value>, scoped: &mut Map<String, Value>) {
    let Some(Value::Object(globals)) = parent.get("global") else {
        return;
    };
    let mut merged = globals.clone();
    if let Some(Value::Object(own)) = scoped.get("global") {
        coalesce(&mut merged, own);
    }
    scoped.insert("global".into(), Value::Object(merged));
}

/// Fills `values` with `defaults` where it has nothing; mappings merge deeply; a `null` the user wrote removes
/// the default (Helm's way to unset a key).
pub(crate) fn coalesce(values: &mut Map<String, Value>, defaults: &Map<String, Value>) {
    for (key, default) in defaults {
        match values.get_mut(key) {
            None => {
                values.insert(key.clone(), default.clone());
            }
            Some(Value::Object(mine)) => {
                if let Value::Object(theirs) = default {
                    coalesce(mine, theirs);
                }
            }
            Some(_) => {}
        }
    }
    values.retain(|_, value| !value.is_null());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chart(yaml: &str, values: Value, subcharts: Vec<Chart>) -> Chart {
        let metadata: Map<String, Value> = serde_yaml::from_str(yaml).unwrap();
        let dependencies = crate::helm::chart::dependencies_of(&metadata);
        Chart {
            name: metadata["name"].as_str().unwrap().into(),
            version: "1.0.0".into(),
            metadata,
            values: values.as_object().unwrap().clone(),
            templates: Vec::new(),
            files: Vec::new(),
            dependencies,
            subcharts,
        }
    }

    #[test]
    fn an_aliased_subchart_reads_its_section_and_the_globals() {
        let sub = chart(
            "name: db\n",
            json!({"image": {"tag": "1"}, "global": {"own": true}}),
            vec![],
        );
        let top = chart(
            "name: app\ndependencies:\n- name: db\n  alias: store\n  condition: store.enabled\n",
            json!({"global": {"registry": "r.io"}, "store": {"image": {"tag": "2"}}}),
            vec![sub],
        );
        let tree = instantiate(&top, Map::new());
        assert_eq!(tree.subcharts.len(), 1);
        let store = &tree.subcharts[0];
        assert_eq!(store.name, "store");
        assert_eq!(store.path, "app/charts/store");
        assert_eq!(store.values["image"]["tag"], "2");
        assert_eq!(store.values["global"], json!({"registry": "r.io", "own": true}));
    }

    #[test]
    fn conditions_and_tags_switch_subcharts_off() {
        let sub = || chart("name: db\n", json!({}), vec![]);
        let off = chart(
            "name: app\ndependencies:\n- name: db\n  condition: db.enabled\n",
            json!({"db": {"enabled": false}}),
            vec![sub()],
        );
        assert!(instantiate(&off, Map::new()).subcharts.is_empty());
        let tagged = chart(
            "name: app\ndependencies:\n- name: db\n  tags: [backend]\n",
            json!({"tags": {"backend": false}}),
            vec![sub()],
        );
        assert!(instantiate(&tagged, Map::new()).subcharts.is_empty());
        let supplied = json!({"tags": {"backend": true}}).as_object().unwrap().clone();
        assert_eq!(instantiate(&tagged, supplied).subcharts.len(), 1);
    }

    #[test]
    fn supplied_values_win_and_null_unsets() {
        let top = chart("name: app\n", json!({"a": {"b": 1, "c": 2}, "d": 3}), vec![]);
        let supplied = json!({"a": {"b": 9}, "d": null}).as_object().unwrap().clone();
        let tree = instantiate(&top, supplied);
        assert_eq!(Value::Object(tree.values), json!({"a": {"b": 9, "c": 2}}));
    }
}
