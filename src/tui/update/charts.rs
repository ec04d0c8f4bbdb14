//! Keys of the Helm charts pane and its form: charts from repositories (`https://` or `oci://`), every chart of a
//! repository, and local charts; what the form does not show (image paths, values, platforms) is kept on edit.

use super::*;
use crate::config::{HelmChart, HelmRepository};
use crate::tui::model::ChartRow;

pub(super) fn charts_key(model: &mut Model, key: KeyEvent) {
    let rows = model.chart_rows();
    if let Some(mv) = movement(&key) {
        model.chart_cursor = moved(model.chart_cursor, rows.len(), mv);
        return;
    }
    match key.code {
        KeyCode::Char('a') => model.dialog = Some(Dialog::Form(chart_form(None, ChartFields::default()))),
        KeyCode::Enter | KeyCode::Char('e') => {
            if let Some(row) = rows.get(model.chart_cursor) {
                let fields = ChartFields::of(model, *row);
                model.dialog = Some(Dialog::Form(chart_form(Some(model.chart_cursor), fields)));
            }
        }
        KeyCode::Char('d') | KeyCode::Delete => {
            if let Some(row) = rows.get(model.chart_cursor) {
                let removed = remove_chart(model, *row);
                model.chart_cursor = model.chart_cursor.min(model.chart_rows().len().saturating_sub(1));
                say(model, StatusKind::Info, format!("removed {removed}"));
            }
        }
        KeyCode::Esc => model.focus = Pane::Images,
        _ => {}
    }
}

/// What the chart form shows.
#[derive(Debug, Default)]
pub(super) struct ChartFields {
    source: String,
    name: String,
    version: String,
    repository: String,
}

impl ChartFields {
    fn of(model: &Model, row: ChartRow) -> ChartFields {
        let helm = &model.helm;
        match row {
            ChartRow::Repository { repository, chart } => {
                let repo = &helm.repositories[repository];
                let entry = chart.and_then(|c| repo.charts.get(c));
                ChartFields {
                    source: repo.url.clone(),
                    name: entry.map(|c| c.name.clone()).unwrap_or_default(),
                    version: entry.and_then(|c| c.version.clone()).unwrap_or_default(),
                    repository: repo.name.clone(),
                }
            }
            ChartRow::Local(at) => ChartFields {
                source: helm.local[at].path.clone().unwrap_or_default(),
                name: helm.local[at].name.clone(),
                ..ChartFields::default()
            },
        }
    }
}

fn chart_form(index: Option<usize>, fields: ChartFields) -> Form {
    Form {
        kind: index.map_or(FormKind::AddChart, FormKind::EditChart),
        title: if index.is_some() { "Edit a Helm chart".into() } else { "Add a Helm chart".into() },
        fields: vec![
            Field::text(
                FieldId::Source,
                fields.source,
                "a repository (https://charts.example.com, oci://registry/namespace) or a local .tgz or chart directory",
            ),
            Field::text(FieldId::Chart, fields.name, "the chart's name; empty for a repository: every chart it has"),
            Field::text(FieldId::Version, fields.version, "optional: one version (none: every version the repository lists)"),
            Field::text(FieldId::RepositoryName, fields.repository, "optional: a name for the repository (default: its host)"),
        ],
        focus: 0,
        error: None,
    }
}

/// Adds the chart the form describes, or replaces the one at row `index`.
pub(super) fn set_chart(model: &mut Model, index: Option<usize>, form: &Form) -> Result<Vec<Command>, FormError> {
    let source = form.value(FieldId::Source).trim().to_string();
    let name = form.value(FieldId::Chart).trim().to_string();
    let version = Some(form.value(FieldId::Version).trim().to_string()).filter(|v| !v.is_empty());
    if source.is_empty() {
        return Err(FormError::NoChartSource);
    }
    let remote = source.starts_with("http://") || source.starts_with("https://") || source.starts_with("oci://");
    if name.is_empty() && (!remote || source.starts_with("oci://")) {
        return Err(FormError::NoChartName);
    }
    let previous = index
        .and_then(|at| model.chart_rows().get(at).copied())
        .map(|row| (row, kept_entry(model, row)));
    let mut entry = previous.as_ref().map(|(_, kept)| kept.clone()).unwrap_or_default();
    if let Some((row, _)) = previous {
        remove_chart(model, row);
    }
    entry.name = name.clone();
    if remote {
        entry.version = version;
        entry.path = None;
        let repository = Some(form.value(FieldId::RepositoryName).trim().to_string()).filter(|n| !n.is_empty());
        add_to_repository(model, &source, repository, (!name.is_empty()).then_some(entry));
    } else {
        entry.version = None;
        entry.path = Some(source.clone());
        model.helm.local.push(entry);
    }
    let label = if name.is_empty() {
        format!("every chart of {source}")
    } else {
        format!("chart {name} from {source}")
    };
    say(
        model,
        StatusKind::Info,
        format!("{} {label}", if index.is_some() { "updated" } else { "added" }),
    );
    Ok(Vec::new())
}

/// The configuration entry behind a row (what an edit keeps: image paths, values, platforms).
fn kept_entry(model: &Model, row: ChartRow) -> HelmChart {
    match row {
        ChartRow::Repository { repository, chart } => chart
            .and_then(|c| model.helm.repositories[repository].charts.get(c).cloned())
            .unwrap_or_default(),
        ChartRow::Local(at) => model.helm.local[at].clone(),
    }
}

/// Adds `chart` (none: every chart) to the repository at `url`, creating it if needed.
fn add_to_repository(model: &mut Model, url: &str, name: Option<String>, chart: Option<HelmChart>) {
    let at = match model.helm.repositories.iter().position(|r| r.url == url) {
        Some(at) => at,
        None => {
            let name = name.clone().unwrap_or_else(|| repository_name(url));
            model.helm.repositories.push(HelmRepository {
                name,
                url: url.to_string(),
                charts: Vec::new(),
            });
            model.helm.repositories.len() - 1
        }
    };
    let repository = &mut model.helm.repositories[at];
    if let Some(name) = name {
        repository.name = name;
    }
    match chart {
        Some(chart) => repository.charts.push(chart),
        None => repository.charts.clear(),
    }
}

/// A repository's default name: its host.
fn repository_name(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', ':']).next().unwrap_or(rest).to_string()
}

/// Removes the chart of a row (a repository left without charts is removed: it would mean every chart).
fn remove_chart(model: &mut Model, row: ChartRow) -> String {
    match row {
        ChartRow::Repository {
            repository,
            chart: Some(c),
        } => {
            let repo = &mut model.helm.repositories[repository];
            let removed = repo.charts.remove(c);
            if repo.charts.is_empty() {
                model.helm.repositories.remove(repository);
            }
            format!("chart {}", removed.name)
        }
        ChartRow::Repository {
            repository,
            chart: None,
        } => {
            format!("repository {}", model.helm.repositories.remove(repository).url)
        }
        ChartRow::Local(at) => format!("chart {}", model.helm.local.remove(at).name),
    }
}
