//! The Images (additional and blocked images), Releases and Preview screens.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use super::columns::{details, draw_details, widest, Columns, Widths};
use super::{fit, pane_block, Theme};
use crate::config::{AdditionalImage, ReleasePlatform, RELEASE_ARCHITECTURES};
use crate::tui::model::{ChartRow, Model, Pane, PreviewLine, Resolved};

fn table_state(cursor: usize, len: usize) -> TableState {
    TableState::default().with_selected((len > 0).then_some(cursor.min(len.saturating_sub(1))))
}

/// Additional images above, blocked images below.
pub(super) fn draw_images(model: &Model, theme: &Theme, frame: &mut Frame, area: Rect) {
    let blocked_height = (model.blocked.len() as u16 + 2).clamp(4, (area.height / 4).max(4));
    let charts_height = (model.chart_rows().len() as u16 + 3).clamp(5, (area.height / 3).max(5));
    let [images, charts, blocked] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(charts_height),
        Constraint::Length(blocked_height),
    ])
    .areas(area);
    draw_additional(model, theme, frame, images);
    draw_charts(model, theme, frame, charts);
    draw_blocked(model, theme, frame, blocked);
}

/// A chart row's cells: where it comes from, which chart, which version.
fn chart_cells(model: &Model, row: ChartRow) -> [String; 3] {
    match row {
        ChartRow::Repository { repository, chart } => {
            let repo = &model.helm.repositories[repository];
            match chart.and_then(|c| repo.charts.get(c)) {
                Some(chart) => [
                    repo.url.clone(),
                    chart.name.clone(),
                    chart.version.clone().unwrap_or_else(|| "every version".into()),
                ],
                None => [repo.url.clone(), "every chart".into(), "every version".into()],
            }
        }
        ChartRow::Local(at) => {
            let chart = &model.helm.local[at];
            [
                chart.path.clone().unwrap_or_default(),
                chart.name.clone(),
                "as packaged".into(),
            ]
        }
    }
}

fn draw_charts(model: &Model, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = model.focus == Pane::Charts;
    let rows = model.chart_rows();
    let block = pane_block(format!(" Helm charts ({}) ", rows.len()), focused, theme);
    if rows.is_empty() {
        let text = Line::from(vec![
            Span::styled("None. ", theme.dim()),
            Span::styled("a", theme.key()),
            Span::raw(" adds a chart from a repository (https://, oci://) or a local .tgz or directory"),
        ]);
        frame.render_widget(Paragraph::new(text).block(block).wrap(Wrap { trim: true }), area);
        return;
    }
    let cells: Vec<[String; 3]> = rows.iter().map(|row| chart_cells(model, *row)).collect();
    let width = |column: usize, header: &str| {
        cells
            .iter()
            .map(|c| c[column].chars().count())
            .chain([header.len()])
            .max()
            .unwrap_or(0) as u16
    };
    let widths = [
        Constraint::Min(width(0, "SOURCE").min(60)),
        Constraint::Length(width(1, "CHART")),
        Constraint::Length(width(2, "VERSION")),
    ];
    let table = Table::new(cells.into_iter().map(Row::new), widths)
        .header(Row::new(["SOURCE", "CHART", "VERSION"]).style(theme.dim()))
        .row_highlight_style(theme.cursor(focused))
        .block(block);
    frame.render_stateful_widget(table, area, &mut table_state(model.chart_cursor, rows.len()));
}

fn draw_blocked(model: &Model, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = model.focus == Pane::Blocked;
    let block = pane_block(format!(" Blocked images ({}) ", model.blocked.len()), focused, theme);
    if model.blocked.is_empty() {
        let text = Line::from(vec![
            Span::styled("None. ", theme.dim()),
            Span::styled("tab", theme.key()),
            Span::raw(" here, then "),
            Span::styled("a", theme.key()),
            Span::raw(" blocks images by name or regular expression"),
        ]);
        frame.render_widget(Paragraph::new(text).block(block).wrap(Wrap { trim: true }), area);
        return;
    }
    let rows: Vec<Row> = model
        .blocked
        .iter()
        .map(|blocked| Row::new(vec![Cell::from(blocked.name.clone())]))
        .collect();
    let len = rows.len();
    let table = Table::new(rows, [Constraint::Percentage(100)])
        .row_highlight_style(theme.cursor(focused))
        .block(block);
    frame.render_stateful_widget(table, area, &mut table_state(model.blocked_cursor, len));
}

/// What the columns after an image's name show, as the details name them, and their headers.
const IMAGE_COLUMNS: [(&str, &str); 3] = [
    ("target repo", "TARGET REPO"),
    ("target tag", "TARGET TAG"),
    ("platforms", "PLATFORMS"),
];

/// An additional image's values in the columns after its name (empty: not set).
fn image_cells(image: &AdditionalImage) -> [String; 3] {
    let platforms: Vec<String> = image.platforms.iter().map(ToString::to_string).collect();
    [
        image.target_repo.clone().unwrap_or_default(),
        image.target_tag.clone().unwrap_or_default(),
        if platforms.is_empty() {
            "all".to_string()
        } else {
            platforms.join(",")
        },
    ]
}

/// Name, target repository, target tag, platforms: each as wide as its widest value or header.
fn image_columns(images: &[AdditionalImage]) -> Columns {
    let cells: Vec<[String; 3]> = images.iter().map(image_cells).collect();
    Columns {
        marks: 0,
        name: widest(images.iter().map(|i| i.name.as_str()).chain(["NAME"])),
        others: IMAGE_COLUMNS
            .iter()
            .enumerate()
            .map(|(column, (_, header))| widest(cells.iter().map(|c| c[column].as_str()).chain([*header])))
            .collect(),
    }
}

fn draw_additional(model: &Model, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = model.focus == Pane::Images;
    let title = format!(" Additional images ({}) ", model.additional.len());
    let block = pane_block(title, focused, theme);
    if model.additional.is_empty() {
        let text = vec![
            Line::styled("No additional images.", theme.dim()),
            Line::from(vec![
                Span::styled("a", theme.key()),
                Span::raw(" adds one: registry/namespace/name:tag or ...@sha256:<digest>"),
            ]),
        ];
        frame.render_widget(Paragraph::new(text).block(block).wrap(Wrap { trim: true }), area);
        return;
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let widths = image_columns(&model.additional).fit(width);
    let focused_image = model.additional.get(model.image_cursor);
    let details = focused_image.map_or_else(Vec::new, |image| {
        let labels = IMAGE_COLUMNS.iter().map(|(label, _)| *label);
        let values: Vec<(&str, String)> = widths.given_way(labels.zip(image_cells(image)));
        let values: Vec<(&str, String)> = values.into_iter().filter(|(_, value)| !value.is_empty()).collect();
        details(&values, width, theme)
    });
    let table_area = draw_details(frame, inner, details, theme);
    let table = image_table(&model.additional, &widths, focused, theme);
    frame.render_stateful_widget(
        table,
        table_area,
        &mut table_state(model.image_cursor, model.additional.len()),
    );
}

/// The images as a table with the columns that fit.
fn image_table<'a>(images: &[AdditionalImage], widths: &Widths, focused: bool, theme: &Theme) -> Table<'a> {
    let shown: Vec<(usize, usize)> = (0..IMAGE_COLUMNS.len())
        .filter_map(|column| Some((column, widths.shown(column)?)))
        .collect();
    let row = |name: String, cells: [String; 3]| {
        let mut row = vec![Cell::from(name)];
        row.extend(shown.iter().map(|&(column, _)| Cell::from(cells[column].clone())));
        Row::new(row)
    };
    let rows: Vec<Row> = images
        .iter()
        .map(|image| row(fit(&image.name, widths.name), image_cells(image)))
        .collect();
    let header = row("NAME".into(), IMAGE_COLUMNS.map(|(_, header)| header.to_string()));
    let constraints = std::iter::once(widths.name)
        .chain(shown.iter().map(|&(_, width)| width))
        .map(|width| Constraint::Length(u16::try_from(width).unwrap_or(u16::MAX)));
    Table::new(rows, constraints)
        .header(header.style(theme.dim()))
        .row_highlight_style(theme.cursor(focused))
}

fn flag(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        ""
    }
}

pub(super) fn draw_releases(model: &Model, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = model.focus == Pane::Releases;
    let block = pane_block(" Releases ", focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let releases = &model.releases;
    let channel_rows = releases.channels.len().max(1) as u16 + 1;
    let [title, channels, _gap, arch_title, arches, extra] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(channel_rows.min(inner.height.saturating_sub(9))),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(RELEASE_ARCHITECTURES.len() as u16),
        Constraint::Min(0),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(Line::styled("Channels", theme.accent())), title);
    draw_release_channels(model, theme, frame, channels);
    frame.render_widget(Paragraph::new(architectures_title(releases, theme)), arch_title);
    frame.render_widget(Paragraph::new(architecture_lines(model, theme)), arches);
    let mut notes = resolution_lines(model, theme);
    notes.extend(kept_notes(releases, theme));
    frame.render_widget(Paragraph::new(notes).wrap(Wrap { trim: true }), extra);
}

/// What the update graph says of the focused channel: the releases it resolves to, or why not.
fn resolution_lines(model: &Model, theme: &Theme) -> Vec<Line<'static>> {
    let Some(channel) = model.releases.channels.get(model.release_cursor) else {
        return Vec::new();
    };
    let line = match model.resolved.get(&channel.name) {
        None => return Vec::new(),
        Some(Resolved::Loading) => Line::styled(format!("{}: asking the update graph…", channel.name), theme.dim()),
        Some(Resolved::Failed(error)) => Line::styled(
            format!(
                "{}: cannot resolve: {}",
                channel.name,
                error.lines().next().unwrap_or_default()
            ),
            theme.warning(),
        ),
        Some(Resolved::Versions(versions)) => Line::from(format!(
            "{}: {} release(s) to mirror: {}",
            channel.name,
            versions.len(),
            version_list(versions)
        )),
    };
    vec![line, Line::default()]
}

/// The versions, the middle elided when there are many.
fn version_list(versions: &[String]) -> String {
    if versions.len() <= 8 {
        return versions.join(", ");
    }
    format!(
        "{} … {}",
        versions[..4].join(", "),
        versions[versions.len() - 3..].join(", ")
    )
}

/// The release channels as a table, or how to add one.
fn draw_release_channels(model: &Model, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = model.focus == Pane::Releases;
    let channels = &model.releases.channels;
    if channels.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled("  none: ", theme.dim()),
                Span::styled("a", theme.key()),
                Span::styled(" adds a release channel (stable-4.18, fast-4.19, okd ...)", theme.dim()),
            ])),
            area,
        );
        return;
    }
    let rows: Vec<Row> = channels
        .iter()
        .map(|c| {
            Row::new(vec![
                c.name.clone(),
                c.channel_type.as_str().to_string(),
                c.min_version.clone().unwrap_or_default(),
                c.max_version.clone().unwrap_or_default(),
                flag(c.full).to_string(),
                flag(c.shortest_path).to_string(),
            ])
        })
        .collect();
    let cursor = model.release_cursor;
    let len = rows.len();
    let table = Table::new(
        rows,
        [
            Constraint::Min(16),
            Constraint::Length(5),
            Constraint::Length(12),
            Constraint::Length(12),
            Constraint::Length(5),
            Constraint::Length(9),
        ],
    )
    .header(Row::new(vec!["CHANNEL", "TYPE", "MIN", "MAX", "FULL", "SHORTEST"]).style(theme.dim()))
    .row_highlight_style(theme.cursor(focused && cursor < len));
    let mut state = table_state(cursor, len);
    if cursor >= len {
        state.select(None);
    }
    frame.render_stateful_widget(table, area, &mut state);
}

fn architectures_title(releases: &ReleasePlatform, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled("Architectures", theme.accent()),
        Span::styled(
            if releases.architectures.is_empty() {
                "  (none checked: amd64)"
            } else {
                ""
            },
            theme.dim(),
        ),
    ])
}

/// A checkbox per release architecture; the cursor moves on to them after the channels.
fn architecture_lines(model: &Model, theme: &Theme) -> Vec<Line<'static>> {
    let focused = model.focus == Pane::Releases;
    let releases = &model.releases;
    RELEASE_ARCHITECTURES
        .iter()
        .enumerate()
        .map(|(i, arch)| {
            let checked = releases.architectures.iter().any(|a| a == arch);
            let row_focused = focused && model.release_cursor == releases.channels.len() + i;
            let style = if row_focused { theme.cursor(true) } else { Style::new() };
            Line::from(vec![
                Span::styled(
                    if checked { "[x]" } else { "[ ]" },
                    if checked { theme.checked() } else { Style::new() },
                ),
                Span::styled(format!(" {arch}"), style),
            ])
        })
        .collect()
}

/// The fields the screen does not edit, shown as they were loaded.
fn kept_notes(releases: &ReleasePlatform, theme: &Theme) -> Vec<Line<'static>> {
    let mut notes = Vec::new();
    if !releases.platforms.is_empty() {
        let platforms: Vec<String> = releases.platforms.iter().map(ToString::to_string).collect();
        notes.push(Line::styled(
            format!(
                "platforms: {} (kept as loaded; it excludes architectures)",
                platforms.join(", ")
            ),
            theme.warning(),
        ));
    }
    if releases.graph {
        notes.push(Line::styled("graph: true (kept as loaded)", theme.dim()));
    }
    if let Some(release) = &releases.release {
        notes.push(Line::styled(
            format!("release: {release} (kept as loaded)"),
            theme.dim(),
        ));
    }
    if releases.kube_virt_container {
        notes.push(Line::styled("kubeVirtContainer: true (kept as loaded)", theme.dim()));
    }
    notes
}

pub(super) fn draw_preview(model: &Model, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = model.focus == Pane::Preview;
    let title = if model.is_dirty() {
        format!(" Preview · {} (unsaved) ", model.output.display())
    } else {
        format!(" Preview · {} ", model.output.display())
    };
    let block = pane_block(title, focused, theme);
    let preview = model.preview();
    let lines: Vec<Line> = preview.iter().map(|line| preview_line(line, theme)).collect();
    frame.render_widget(
        Paragraph::new(Text::from(lines))
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((model.preview_scroll, 0)),
        area,
    );
}

/// One preview line, styled.
fn preview_line<'a>(line: &'a PreviewLine, theme: &Theme) -> Line<'a> {
    match line {
        PreviewLine::Valid => Line::styled("✓ valid: ctrl-s writes it", theme.success()),
        PreviewLine::Problems(count) => Line::styled(
            format!("✗ {count} problem(s): ctrl-s refuses to write it"),
            theme.error(),
        ),
        PreviewLine::Problem { field, message } => Line::styled(format!("  {field}: {message}"), theme.error()),
        PreviewLine::Help(help) => Line::styled(format!("    help: {help}"), theme.dim()),
        PreviewLine::Blank => Line::raw(""),
        PreviewLine::Yaml(text) => yaml_line(text, theme),
    }
}

/// Keys tinted, values plain.
fn yaml_line<'a>(line: &'a str, theme: &Theme) -> Line<'a> {
    let trimmed = line.trim_start_matches([' ', '-']);
    match trimmed.find(':') {
        Some(at) if !trimmed[..at].contains(' ') => {
            let split = line.len() - trimmed.len() + at;
            Line::from(vec![
                Span::raw(&line[..line.len() - trimmed.len()]),
                Span::styled(&line[line.len() - trimmed.len()..=split], theme.accent()),
                Span::raw(&line[split + 1..]),
            ])
        }
        _ => Line::raw(line),
    }
}
