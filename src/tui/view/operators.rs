//! The Operators screen: catalogs and platforms (left), packages (middle), channels and bundles (right).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{List, ListItem, ListState, Paragraph, Wrap};
use ratatui::Frame;

use super::{bytes, duration, fit, pane_block, spinner, Theme};
use crate::config::Package;
use crate::tui::model::{short_platform, CatalogEntry, LoadState, Model, Pane};

pub(super) fn draw(model: &Model, theme: &Theme, frame: &mut Frame, area: Rect) {
    let (left_width, right_width) = match area.width {
        w if w >= 120 => (28, 30),
        w if w >= 100 => (24, 28),
        w if w >= 80 => (22, 24),
        w => (w * 27 / 100, w * 30 / 100),
    };
    let [left, middle, right] = Layout::horizontal([
        Constraint::Length(left_width),
        Constraint::Min(0),
        Constraint::Length(right_width),
    ])
    .areas(area);
    let [catalogs, platforms] = Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(left);
    let [channels, bundles] = Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(right);
    draw_catalogs(model, theme, frame, catalogs);
    draw_platforms(model, theme, frame, platforms);
    draw_packages(model, theme, frame, middle);
    draw_channels(model, theme, frame, channels);
    draw_bundles(model, theme, frame, bundles);
}

/// `quay.io/redhat/catalog:v4.16` → `redhat/catalog:v4.16`; `oci:///a/b/layout:name` → `layout:name`.
pub(crate) fn short_catalog(reference: &str) -> &str {
    if let Some(path) = reference.strip_prefix("oci:") {
        let path = path.trim_end_matches('/');
        return path.rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or(path);
    }
    let bare = reference.strip_prefix("docker://").unwrap_or(reference);
    match bare.split_once('/') {
        Some((host, rest)) if host.contains(['.', ':']) || host == "localhost" => rest,
        _ => bare,
    }
}

/// The width of a column: its longest value, at most `max`.
fn column(values: impl Iterator<Item = usize>, max: usize) -> usize {
    values.max().unwrap_or(0).min(max)
}

fn list<'a>(items: Vec<ListItem<'a>>, block: ratatui::widgets::Block<'a>, focused: bool, theme: &Theme) -> List<'a> {
    List::new(items).block(block).highlight_style(theme.cursor(focused))
}

/// A version range as the panes show it.
struct VersionRange<'a> {
    min: Option<&'a str>,
    max: Option<&'a str>,
    of_package: bool,
}

impl std::fmt::Display for VersionRange<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let whose = if self.of_package { " (package)" } else { "" };
        write!(f, "{} – {}{whose}", self.min.unwrap_or("…"), self.max.unwrap_or("head"))
    }
}

/// The version range in force on `channel` of a selected package: the package's (on its selected channels, or on
/// every channel when none is selected, as the catalog filter applies it), else the channel's own.
fn range_on<'a>(package: Option<&'a Package>, channel: &str) -> Option<VersionRange<'a>> {
    let package = package?;
    let chosen = package.channels.iter().find(|c| c.name == channel);
    let package_applies = chosen.is_some() || package.channels.is_empty();
    if package.has_version_range() && package_applies {
        return Some(VersionRange {
            min: package.min_version.as_deref(),
            max: package.max_version.as_deref(),
            of_package: true,
        });
    }
    let chosen = chosen.filter(|c| c.has_version_range())?;
    Some(VersionRange {
        min: chosen.min_version.as_deref(),
        max: chosen.max_version.as_deref(),
        of_package: false,
    })
}

fn state(cursor: usize, len: usize) -> ListState {
    ListState::default().with_selected((len > 0).then_some(cursor.min(len.saturating_sub(1))))
}

fn checkbox(checked: bool) -> &'static str {
    if checked {
        "[x]"
    } else {
        "[ ]"
    }
}

fn draw_catalogs(model: &Model, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = model.focus == Pane::Catalogs;
    let block = pane_block(" Catalogs ", focused, theme);
    if model.catalogs.is_empty() {
        let text = Text::from(vec![
            Line::styled("No catalog yet.", theme.dim()),
            Line::from(vec![Span::styled("a", theme.key()), Span::raw(" adds one")]),
        ]);
        frame.render_widget(Paragraph::new(text).block(block).wrap(Wrap { trim: true }), area);
        return;
    }
    let width = usize::from(area.width.saturating_sub(2));
    let items: Vec<ListItem> = model
        .catalogs
        .iter()
        .map(|catalog| {
            let (mark, mark_style) = if catalog.whole {
                ("[*]", theme.checked())
            } else if catalog.operator.packages.is_empty() {
                ("[ ]", ratatui::style::Style::new())
            } else {
                ("[x]", theme.checked())
            };
            let name = Line::from(vec![
                Span::styled(mark, mark_style),
                Span::raw(" "),
                Span::raw(fit(short_catalog(&catalog.operator.catalog), width.saturating_sub(4))),
            ]);
            let detail = match &catalog.load {
                LoadState::Loading { since, fetched } => Span::styled(
                    format!(
                        "    {} loading {}{}",
                        spinner(model.spinner),
                        duration(model.now.saturating_duration_since(*since)),
                        read_so_far(*fetched)
                    ),
                    theme.accent(),
                ),
                LoadState::Failed(error) => Span::styled(
                    fit(&format!("    error: {}", error.lines().next().unwrap_or("")), width),
                    theme.error(),
                ),
                LoadState::Loaded(data) => {
                    let selected = if catalog.whole {
                        "all".to_string()
                    } else {
                        catalog.operator.packages.len().to_string()
                    };
                    Span::styled(
                        fit(&format!("    {selected} of {} packages", data.packages.len()), width),
                        theme.dim(),
                    )
                }
            };
            ListItem::new(Text::from(vec![name, Line::from(detail)]))
        })
        .collect();
    let len = items.len();
    frame.render_stateful_widget(
        list(items, block, focused, theme),
        area,
        &mut state(model.catalog_cursor, len),
    );
}

fn draw_packages(model: &Model, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = model.focus == Pane::Packages;
    let Some(catalog) = model.catalog() else {
        let block = pane_block(" Packages ", focused, theme);
        let text = vec![
            Line::raw("Add an operator catalog to browse its packages:"),
            Line::raw(""),
            Line::from(vec![
                Span::styled("  a", theme.key()),
                Span::raw(" in the Catalogs pane, then a reference:"),
            ]),
            Line::styled("  docker://registry.redhat.io/redhat/", theme.dim()),
            Line::styled("      redhat-operator-index:v4.18", theme.dim()),
            Line::styled("  oci:///path/to/layout", theme.dim()),
            Line::styled("  or a catalog in ferry archives (file://DIR)", theme.dim()),
        ];
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    };
    let mut block = pane_block(
        format!(" Packages · {} ", short_catalog(&catalog.operator.catalog)),
        focused,
        theme,
    );
    let rows = catalog.package_rows();
    if model.filtering && focused {
        block = block.title_bottom(Line::from(vec![
            Span::styled(" /", theme.key()),
            Span::raw(format!("{}▏ ", catalog.filter)),
        ]));
    } else if !catalog.filter.is_empty() {
        block = block.title_bottom(Line::from(vec![
            Span::styled(" filter ", theme.dim()),
            Span::raw(format!("{} ", catalog.filter)),
        ]));
    }
    if let Some(data) = catalog.data() {
        block = block.title_bottom(
            Line::styled(
                format!(
                    " {} selected · {} shown of {} ",
                    catalog.operator.packages.len(),
                    rows.len(),
                    data.packages.len()
                ),
                theme.dim(),
            )
            .right_aligned(),
        );
    }
    match &catalog.load {
        LoadState::Loading { since, fetched } => {
            let text = vec![
                Line::styled(
                    format!(
                        "{} loading {}  {}{}",
                        spinner(model.spinner),
                        catalog.operator.catalog,
                        duration(model.now.saturating_duration_since(*since)),
                        read_so_far(*fetched)
                    ),
                    theme.accent(),
                ),
                Line::styled("only the catalog's declarative-config layers are fetched", theme.dim()),
            ];
            frame.render_widget(Paragraph::new(text).block(block).wrap(Wrap { trim: false }), area);
            return;
        }
        LoadState::Failed(error) => {
            let mut text: Vec<Line> = vec![Line::styled(
                format!("{} could not be loaded:", catalog.operator.catalog),
                theme.error(),
            )];
            text.extend(error.lines().map(|l| Line::styled(l.to_string(), theme.error())));
            text.push(Line::raw(""));
            text.push(Line::from(vec![
                Span::styled("r", theme.key()),
                Span::raw(" (in Catalogs) loads it again, "),
                Span::styled("d", theme.key()),
                Span::raw(" removes it"),
            ]));
            frame.render_widget(Paragraph::new(text).block(block).wrap(Wrap { trim: false }), area);
            return;
        }
        LoadState::Loaded(_) => {}
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [header, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    let header_text = header_line(catalog);
    frame.render_widget(Paragraph::new(Line::styled(header_text, theme.dim())), header);

    let width = usize::from(body.width);
    let infos = || rows.iter().filter_map(|r| r.info);
    let version_width = column(infos().map(|i| i.head_version.as_deref().map_or(1, str::len)), 12) + 1;
    let default_width = if width >= 40 {
        column(infos().map(|i| i.default_channel.as_deref().map_or(1, str::len)), 20) + 1
    } else {
        0
    };
    let platforms_width = if width >= 56 {
        column(
            infos().map(|i| i.platforms.iter().map(|p| short_platform(p).len() + 1).sum()),
            24,
        )
    } else {
        0
    };
    let name_width = width.saturating_sub(4 + version_width + default_width + platforms_width + 1);
    let items: Vec<ListItem> = rows
        .iter()
        .map(|row| {
            let mark = if catalog.whole { "[*]" } else { checkbox(row.selected) };
            let mut spans = vec![
                Span::styled(
                    mark,
                    if row.selected || catalog.whole {
                        theme.checked()
                    } else {
                        ratatui::style::Style::new()
                    },
                ),
                Span::raw(" "),
                Span::raw(fit(row.name, name_width)),
                Span::raw(" "),
            ];
            match row.info {
                Some(info) => {
                    if default_width > 0 {
                        spans.push(Span::styled(
                            fit(info.default_channel.as_deref().unwrap_or("-"), default_width),
                            theme.dim(),
                        ));
                    }
                    spans.push(Span::raw(fit(
                        info.head_version.as_deref().unwrap_or("-"),
                        version_width,
                    )));
                    if platforms_width > 0 {
                        let platforms: Vec<&str> = info.platforms.iter().map(|p| short_platform(p)).collect();
                        spans.push(Span::styled(fit(&platforms.join(","), platforms_width), theme.dim()));
                    }
                }
                None => spans.push(Span::styled("not in this catalog", theme.warning())),
            }
            ListItem::new(Line::from(spans))
        })
        .collect();
    if items.is_empty() {
        let text = if catalog.filter.is_empty() {
            "the catalog has no packages".to_string()
        } else {
            format!("no package matches `{}` (esc clears the filter)", catalog.filter)
        };
        frame.render_widget(Paragraph::new(Line::styled(text, theme.dim())), body);
        return;
    }
    let len = items.len();
    frame.render_stateful_widget(
        List::new(items).highlight_style(theme.cursor(focused)),
        body,
        &mut state(catalog.package_cursor, len),
    );
}

/// The first line of the packages pane: what the catalog is (digest, platforms), or that it is mirrored whole.
fn header_line(catalog: &CatalogEntry) -> String {
    let Some(data) = catalog.data() else {
        return String::new();
    };
    if catalog.whole {
        return "every package is mirrored (space on the catalog to choose)".into();
    }
    let digest = data
        .digest
        .strip_prefix("sha256:")
        .map_or(data.digest.as_str(), |hex| &hex[..hex.len().min(12)]);
    let platforms: Vec<&str> = data.platforms.iter().map(|p| short_platform(p)).collect();
    format!("@{digest} · {}", platforms.join(" "))
}

fn draw_channels(model: &Model, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = model.focus == Pane::Channels;
    let package = model.catalog().and_then(CatalogEntry::focused_package);
    let title = match package {
        Some(row) => format!(" Channels · {} ", row.name),
        None => " Channels ".to_string(),
    };
    let block = pane_block(title, focused, theme);
    let (Some(catalog), Some(row)) = (model.catalog(), package) else {
        frame.render_widget(
            Paragraph::new(Line::styled("no package", theme.dim())).block(block),
            area,
        );
        return;
    };
    let Some(info) = row.info else {
        frame.render_widget(
            Paragraph::new(Line::styled("not in this catalog", theme.warning())).block(block),
            area,
        );
        return;
    };
    let selected = catalog.selected(row.name);
    let width = usize::from(area.width.saturating_sub(2));
    let version_width = column(
        info.channels
            .iter()
            .map(|c| c.head_version.as_deref().map_or(1, str::len)),
        10,
    );
    let name_width = width.saturating_sub(4 + 2 + version_width);
    let items: Vec<ListItem> = info
        .channels
        .iter()
        .map(|channel| {
            let chosen = selected.and_then(|p| p.channels.iter().find(|c| c.name == channel.name));
            let is_default = info.default_channel.as_deref() == Some(channel.name.as_str());
            let mut lines = vec![Line::from(vec![
                Span::styled(
                    checkbox(chosen.is_some()),
                    if chosen.is_some() {
                        theme.checked()
                    } else {
                        ratatui::style::Style::new()
                    },
                ),
                Span::raw(" "),
                Span::raw(fit(&channel.name, name_width)),
                Span::styled(if is_default { "* " } else { "  " }, theme.accent()),
                Span::styled(
                    fit(channel.head_version.as_deref().unwrap_or("-"), version_width),
                    theme.dim(),
                ),
            ])];
            if let Some(range) = range_on(selected, &channel.name) {
                lines.push(Line::styled(format!("    {range}"), theme.accent()));
            }
            ListItem::new(Text::from(lines))
        })
        .collect();
    let len = items.len();
    let mut block = block;
    if selected.is_some_and(|p| p.channels.is_empty()) {
        block = block.title_bottom(Line::styled(" none: default channel ", theme.dim()));
    }
    frame.render_stateful_widget(
        list(items, block, focused, theme),
        area,
        &mut state(catalog.channel_cursor, len),
    );
}

fn draw_bundles(model: &Model, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = model.focus == Pane::Bundles;
    let catalog = model.catalog();
    let channel = catalog.and_then(CatalogEntry::focused_channel);
    let title = match channel {
        Some(channel) => format!(" Bundles · {} ", channel.name),
        None => " Bundles ".to_string(),
    };
    let block = pane_block(title, focused, theme);
    let (Some(catalog), Some(channel)) = (catalog, channel) else {
        frame.render_widget(
            Paragraph::new(Line::styled("no channel", theme.dim())).block(block),
            area,
        );
        return;
    };
    let package = catalog.focused_package().map_or("", |row| row.name);
    let range = range_on(catalog.selected(package), &channel.name);
    let (min, max) = range.map_or((None, None), |r| (r.min, r.max));
    let width = usize::from(area.width.saturating_sub(2));
    let version_width = column(
        channel.bundles.iter().map(|b| b.version.as_deref().map_or(1, str::len)),
        12,
    );
    let items: Vec<ListItem> = channel
        .bundles
        .iter()
        .map(|bundle| {
            let version = bundle.version.as_deref();
            let is = |bound: Option<&str>| version.is_some() && bound == version;
            let mut tags = Vec::new();
            if is(min) {
                tags.push("min");
            }
            if is(max) {
                tags.push("max");
            }
            if channel.head.as_deref() == Some(bundle.name.as_str()) {
                tags.push("head");
            }
            let tags = tags.join(",");
            let version_text = fit(version.unwrap_or("-"), version_width);
            let rest = width.saturating_sub(version_width + 1);
            let tail = if tags.is_empty() {
                bundle.name.clone()
            } else {
                format!("{tags} {}", bundle.name)
            };
            ListItem::new(Line::from(vec![
                Span::raw(version_text),
                Span::raw(" "),
                Span::styled(
                    fit(&tail, rest),
                    if tags.contains('m') {
                        theme.accent()
                    } else {
                        theme.dim()
                    },
                ),
            ]))
        })
        .collect();
    let len = items.len();
    frame.render_stateful_widget(
        list(items, block, focused, theme),
        area,
        &mut state(catalog.bundle_cursor, len),
    );
}

fn draw_platforms(model: &Model, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = model.focus == Pane::Platforms;
    let mut block = pane_block(" Platforms ", focused, theme);
    let Some(catalog) = model.catalog() else {
        frame.render_widget(Paragraph::new("").block(block), area);
        return;
    };
    let rows = catalog.platform_rows();
    let package = catalog.focused_package().and_then(|r| r.info);
    if !rows.is_empty() && !rows.iter().any(|r| r.checked) {
        block = block.title_bottom(Line::styled(" none: every platform ", theme.dim()));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let info_height = if package.is_some() { 2 } else { 0 };
    let [list_area, info_area] = Layout::vertical([Constraint::Min(0), Constraint::Length(info_height)]).areas(inner);
    if rows.is_empty() {
        let text = match catalog.data() {
            Some(_) => "a single-platform catalog image",
            None => "",
        };
        frame.render_widget(
            Paragraph::new(Line::styled(text, theme.dim())).wrap(Wrap { trim: true }),
            list_area,
        );
    } else {
        let items: Vec<ListItem> = rows
            .iter()
            .map(|row| {
                let carried = match package {
                    Some(info) if row.in_index => {
                        if info.platforms.contains(&row.name) {
                            ""
                        } else {
                            " (lacks it)"
                        }
                    }
                    _ if !row.in_index && catalog.data().is_some_and(|d| !d.platforms.iter().any(|p| p == "all")) => {
                        " (not in index)"
                    }
                    _ => "",
                };
                ListItem::new(Line::from(vec![
                    Span::styled(
                        checkbox(row.checked),
                        if row.checked {
                            theme.checked()
                        } else {
                            ratatui::style::Style::new()
                        },
                    ),
                    Span::raw(" "),
                    Span::raw(row.name.clone()),
                    Span::styled(carried, theme.warning()),
                ]))
            })
            .collect();
        let len = items.len();
        frame.render_stateful_widget(
            List::new(items).highlight_style(theme.cursor(focused)),
            list_area,
            &mut state(catalog.platform_cursor, len),
        );
    }
    if let Some(info) = package {
        let arches = if info.architectures.is_empty() {
            "no arch labels".to_string()
        } else {
            info.architectures.join(",")
        };
        let text = vec![
            Line::styled(
                fit(&format!("{}:", info.name), usize::from(info_area.width)),
                theme.dim(),
            ),
            Line::styled(format!(" bundles: {arches}"), theme.dim()),
        ];
        frame.render_widget(Paragraph::new(text), info_area);
    }
}

/// `  · 12.3 MiB read` once a catalog load has read something, else nothing.
fn read_so_far(fetched: u64) -> String {
    if fetched == 0 {
        String::new()
    } else {
        format!("  · {} read", bytes(fetched))
    }
}
