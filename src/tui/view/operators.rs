//! The Operators screen: catalogs and platforms (left), packages (middle), channels and bundles (right). Names come
//! first, in the split of the screen as in each list ([`columns`](super::columns)).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph, Wrap};
use ratatui::Frame;

use super::columns::{details, draw_details, widest, width_of, Columns, Widths};
use super::{bytes, duration, fit, fit_tail, pane_block, spinner, Theme};
use crate::config::Package;
use crate::tui::model::{
    short_platform, BundleInfo, CatalogEntry, ChannelInfo, LoadState, Model, PackageInfo, PackageRow, Pane, PlatformRow,
};

/// The side columns of the screen are not made narrower than this for the packages' names.
const SIDE_FLOOR: u16 = 20;
/// The widest bundle marks.
const ALL_MARKS: &str = "min,max,head";
/// What the columns of the packages pane show, as the details name them.
const PACKAGE_COLUMNS: [&str; 3] = ["default channel", "head", "platforms"];

pub(super) fn draw(model: &Model, theme: &Theme, frame: &mut Frame, area: Rect) {
    let [left, middle, right] = Layout::horizontal(split(model, area.width).map(Constraint::Length)).areas(area);
    let [catalogs, platforms] = Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(left);
    let [channels, bundles] = Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(right);
    draw_catalogs(model, theme, frame, catalogs);
    draw_platforms(model, theme, frame, platforms);
    draw_packages(model, theme, frame, middle);
    draw_channels(model, theme, frame, channels);
    draw_bundles(model, theme, frame, bundles);
}

/// The widths of the side columns before the names are taken into account.
fn base_widths(width: u16) -> (u16, u16) {
    match width {
        w if w >= 120 => (28, 30),
        w if w >= 100 => (24, 28),
        w if w >= 80 => (22, 24),
        w => (w * 27 / 100, w * 30 / 100),
    }
}

/// The widths of the screen's three columns, in this order of priority: the side columns down to
/// [`SIDE_FLOOR`], the packages' names, the side columns' base widths, every column of the packages, what the
/// side panes' rows want; the packages pane gets the rest.
fn split(model: &Model, width: u16) -> [u16; 3] {
    const LEFT: usize = 0;
    const MIDDLE: usize = 1;
    const RIGHT: usize = 2;
    let (base_left, base_right) = base_widths(width);
    let wants = Wants::of(model);
    let requests = [
        (LEFT, base_left.min(SIDE_FLOOR)),
        (RIGHT, base_right.min(SIDE_FLOOR)),
        (MIDDLE, wants.package_names),
        (LEFT, base_left),
        (RIGHT, base_right),
        (MIDDLE, wants.packages),
        (LEFT, wants.left),
        (RIGHT, wants.right),
    ];
    let mut widths = [0u16; 3];
    let mut free = width;
    for (column, up_to) in requests {
        let granted = up_to.saturating_sub(widths[column]).min(free);
        widths[column] += granted;
        free -= granted;
    }
    widths[MIDDLE] += free;
    widths
}

/// What the screen's columns want, borders included. They are read from the whole catalog (every package, channel
/// and bundle, not the ones in view) so that the split stays put while the cursor moves and a filter is typed.
struct Wants {
    left: u16,
    package_names: u16,
    packages: u16,
    right: u16,
}

impl Wants {
    fn of(model: &Model) -> Self {
        let with_borders = |width: usize| u16::try_from(width + 2).unwrap_or(u16::MAX);
        let catalog = model.catalog();
        let platforms = catalog.map_or(0, |c| platform_columns(c).full_width());
        let left = with_borders(catalog_columns(model).full_width().max(platforms));
        let Some((catalog, data)) = catalog.and_then(|c| Some((c, c.data()?))) else {
            return Wants {
                left,
                package_names: 0,
                packages: u16::MAX,
                right: 0,
            };
        };
        let configured = catalog.operator.packages.iter().map(|p| p.name.as_str());
        let packages = package_columns(
            data.packages.iter().map(|p| p.name.as_str()).chain(configured),
            &data.packages,
        );
        let channels = channel_columns(data.packages.iter().flat_map(|p| &p.channels));
        let bundles = bundle_columns(
            data.packages.iter().flat_map(|p| &p.channels).flat_map(|c| &c.bundles),
            width_of(ALL_MARKS),
        );
        Wants {
            left,
            package_names: with_borders(packages.names_width()),
            packages: with_borders(packages.full_width()),
            right: with_borders(channels.full_width().max(bundles.full_width())),
        }
    }
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

fn checked_style(checked: bool, theme: &Theme) -> Style {
    if checked {
        theme.checked()
    } else {
        Style::new()
    }
}

/// The rows of a list and, below them, the focused row's details.
struct Rows<'a> {
    items: Vec<ListItem<'a>>,
    details: Vec<Line<'static>>,
    cursor: usize,
}

/// Draws `rows` in `area` (inside a pane's block).
fn draw_rows(frame: &mut Frame, area: Rect, rows: Rows<'_>, focused: bool, theme: &Theme) {
    let list_area = draw_details(frame, area, rows.details, theme);
    let len = rows.items.len();
    frame.render_stateful_widget(
        List::new(rows.items).highlight_style(theme.cursor(focused)),
        list_area,
        &mut state(rows.cursor, len),
    );
}

/// Draws `block` in `area`; returns its inside.
fn draw_block(frame: &mut Frame, area: Rect, block: Block<'_>) -> Rect {
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

// ---- catalogs ------------------------------------------------------------------------------------------------------

fn catalog_columns(model: &Model) -> Columns {
    Columns {
        marks: 4,
        name: widest(model.catalogs.iter().map(|c| short_catalog(&c.operator.catalog))),
        others: Vec::new(),
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
    let inner = draw_block(frame, area, block);
    let width = usize::from(inner.width);
    let widths = catalog_columns(model).fit(width);
    let items: Vec<ListItem> = model
        .catalogs
        .iter()
        .map(|catalog| {
            let name = Line::from(vec![
                catalog_mark(catalog, theme),
                Span::raw(" "),
                Span::raw(fit(short_catalog(&catalog.operator.catalog), widths.name)),
            ]);
            ListItem::new(Text::from(vec![
                name,
                Line::from(catalog_state(model, catalog, width, theme)),
            ]))
        })
        .collect();
    let rows = Rows {
        items,
        details: Vec::new(),
        cursor: model.catalog_cursor,
    };
    draw_rows(frame, inner, rows, focused, theme);
}

/// `[*]` the whole catalog, `[x]` a selection, `[ ]` not in the configuration.
fn catalog_mark(catalog: &CatalogEntry, theme: &Theme) -> Span<'static> {
    if catalog.whole {
        Span::styled("[*]", theme.checked())
    } else if catalog.operator.packages.is_empty() {
        Span::raw("[ ]")
    } else {
        Span::styled("[x]", theme.checked())
    }
}

/// The second line of a catalog: loading, its error, or how many packages are selected.
fn catalog_state(model: &Model, catalog: &CatalogEntry, width: usize, theme: &Theme) -> Span<'static> {
    match &catalog.load {
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
    }
}

// ---- packages ------------------------------------------------------------------------------------------------------

/// A package's values in the columns after its name (see [`PACKAGE_COLUMNS`]), platforms joined by `separator`.
fn package_cells(info: &PackageInfo, separator: &str) -> [String; 3] {
    let platforms: Vec<&str> = info.platforms.iter().map(|p| short_platform(p)).collect();
    [
        info.default_channel.as_deref().unwrap_or("-").to_string(),
        info.head_version.as_deref().unwrap_or("-").to_string(),
        platforms.join(separator),
    ]
}

fn package_columns<'a>(
    names: impl IntoIterator<Item = &'a str>,
    infos: impl IntoIterator<Item = &'a PackageInfo>,
) -> Columns {
    let cells: Vec<[String; 3]> = infos.into_iter().map(|info| package_cells(info, ",")).collect();
    Columns {
        marks: 4,
        name: widest(names),
        others: (0..PACKAGE_COLUMNS.len())
            .map(|column| widest(cells.iter().map(|c| &c[column])))
            .collect(),
    }
}

fn draw_packages(model: &Model, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = model.focus == Pane::Packages;
    let Some(catalog) = model.catalog() else {
        let block = pane_block(" Packages ", focused, theme);
        frame.render_widget(Paragraph::new(no_catalog_hint(theme)).block(block), area);
        return;
    };
    let rows = catalog.package_rows();
    let block = packages_block(model, catalog, rows.len(), theme);
    if let Some(text) = not_loaded(model, catalog, theme) {
        frame.render_widget(Paragraph::new(text).block(block).wrap(Wrap { trim: false }), area);
        return;
    }
    let inner = draw_block(frame, area, block);
    let [header, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    frame.render_widget(Paragraph::new(Line::styled(header_line(catalog), theme.dim())), header);
    if rows.is_empty() {
        let text = if catalog.filter.is_empty() {
            "the catalog has no packages".to_string()
        } else {
            format!("no package matches `{}` (esc clears the filter)", catalog.filter)
        };
        frame.render_widget(Paragraph::new(Line::styled(text, theme.dim())), body);
        return;
    }
    let rows = package_rows(catalog, &rows, usize::from(body.width), theme);
    draw_rows(frame, body, rows, focused, theme);
}

fn no_catalog_hint(theme: &Theme) -> Vec<Line<'static>> {
    vec![
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
    ]
}

/// The packages pane's frame: the catalog in the title, the filter and the counts at the foot.
fn packages_block<'a>(model: &Model, catalog: &CatalogEntry, shown: usize, theme: &Theme) -> Block<'a> {
    let focused = model.focus == Pane::Packages;
    let mut block = pane_block(
        format!(" Packages · {} ", short_catalog(&catalog.operator.catalog)),
        focused,
        theme,
    );
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
        let counts = format!(
            " {} selected · {shown} shown of {} ",
            catalog.operator.packages.len(),
            data.packages.len()
        );
        block = block.title_bottom(Line::styled(counts, theme.dim()).right_aligned());
    }
    block
}

/// What the packages pane says while its catalog loads or after it failed; `None` once loaded.
fn not_loaded(model: &Model, catalog: &CatalogEntry, theme: &Theme) -> Option<Vec<Line<'static>>> {
    match &catalog.load {
        LoadState::Loading { since, fetched } => Some(vec![
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
        ]),
        LoadState::Failed(error) => {
            let mut text = vec![Line::styled(
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
            Some(text)
        }
        LoadState::Loaded(_) => None,
    }
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

/// The packages as rows, with the focused one's details when columns gave way.
fn package_rows<'a>(catalog: &CatalogEntry, rows: &[PackageRow<'_>], width: usize, theme: &Theme) -> Rows<'a> {
    let widths = package_columns(rows.iter().map(|r| r.name), rows.iter().filter_map(|r| r.info)).fit(width);
    let focused = rows.get(catalog.package_cursor).and_then(|r| r.info);
    let details = focused.map_or_else(Vec::new, |info| {
        let values = widths.given_way(PACKAGE_COLUMNS.into_iter().zip(package_cells(info, ", ")));
        details(&values, width, theme)
    });
    Rows {
        items: rows
            .iter()
            .map(|row| package_item(catalog, row, &widths, theme))
            .collect(),
        details,
        cursor: catalog.package_cursor,
    }
}

fn package_item<'a>(catalog: &CatalogEntry, row: &PackageRow<'_>, widths: &Widths, theme: &Theme) -> ListItem<'a> {
    let mark = if catalog.whole { "[*]" } else { checkbox(row.selected) };
    let mut spans = vec![
        Span::styled(mark, checked_style(row.selected || catalog.whole, theme)),
        Span::raw(" "),
        Span::raw(fit(row.name, widths.name)),
    ];
    let Some(info) = row.info else {
        spans.push(Span::styled(" not in this catalog", theme.warning()));
        return ListItem::new(Line::from(spans));
    };
    let styles = [theme.dim(), Style::new(), theme.dim()];
    for (column, (cell, style)) in package_cells(info, ",").iter().zip(styles).enumerate() {
        if let Some(width) = widths.shown(column) {
            spans.push(Span::raw(" "));
            spans.push(Span::styled(fit(cell, width), style));
        }
    }
    ListItem::new(Line::from(spans))
}

// ---- channels ------------------------------------------------------------------------------------------------------

/// A channel's head version, `-` when unknown.
fn head_version(channel: &ChannelInfo) -> &str {
    channel.head_version.as_deref().unwrap_or("-")
}

/// Checkbox and name, the default channel's `*`, the head version.
fn channel_columns<'a>(channels: impl IntoIterator<Item = &'a ChannelInfo> + Clone) -> Columns {
    Columns {
        marks: 6,
        name: widest(channels.clone().into_iter().map(|c| c.name.as_str())),
        others: vec![widest(channels.into_iter().map(head_version))],
    }
}

fn draw_channels(model: &Model, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = model.focus == Pane::Channels;
    let package = model.catalog().and_then(CatalogEntry::focused_package);
    let title = match package {
        Some(row) => format!(" Channels · {} ", row.name),
        None => " Channels ".to_string(),
    };
    let mut block = pane_block(title, focused, theme);
    let (Some(catalog), Some(row)) = (model.catalog(), package) else {
        frame.render_widget(
            Paragraph::new(Line::styled("no package", theme.dim())).block(block),
            area,
        );
        return;
    };
    let Some(info) = row.info else {
        let text = Line::styled("not in this catalog", theme.warning());
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    };
    let selected = catalog.selected(row.name);
    if selected.is_some_and(|p| p.channels.is_empty()) {
        block = block.title_bottom(Line::styled(" none: default channel ", theme.dim()));
    }
    let inner = draw_block(frame, area, block);
    let width = usize::from(inner.width);
    let widths = channel_columns(&info.channels).fit(width);
    let items: Vec<ListItem> = info
        .channels
        .iter()
        .map(|channel| channel_item(info, channel, selected, &widths, theme))
        .collect();
    let focused_channel = info.channels.get(catalog.channel_cursor);
    let details = focused_channel.map_or_else(Vec::new, |channel| {
        let values = widths.given_way([("head", head_version(channel).to_string())]);
        details(&values, width, theme)
    });
    let rows = Rows {
        items,
        details,
        cursor: catalog.channel_cursor,
    };
    draw_rows(frame, inner, rows, focused, theme);
}

fn channel_item<'a>(
    info: &PackageInfo,
    channel: &ChannelInfo,
    selected: Option<&Package>,
    widths: &Widths,
    theme: &Theme,
) -> ListItem<'a> {
    let chosen = selected.is_some_and(|p| p.channels.iter().any(|c| c.name == channel.name));
    let is_default = info.default_channel.as_deref() == Some(channel.name.as_str());
    let mut first = vec![
        Span::styled(checkbox(chosen), checked_style(chosen, theme)),
        Span::raw(" "),
        Span::raw(fit(&channel.name, widths.name)),
        Span::styled(if is_default { " *" } else { "  " }, theme.accent()),
    ];
    if let Some(width) = widths.shown(0) {
        first.push(Span::raw(" "));
        first.push(Span::styled(fit(head_version(channel), width), theme.dim()));
    }
    let mut lines = vec![Line::from(first)];
    if let Some(range) = range_on(selected, &channel.name) {
        lines.push(Line::styled(format!("    {range}"), theme.accent()));
    }
    ListItem::new(Text::from(lines))
}

// ---- bundles -------------------------------------------------------------------------------------------------------

/// Name, then version and marks (`min`, `max`, `head`), the marks `marks` wide.
fn bundle_columns<'a>(bundles: impl IntoIterator<Item = &'a BundleInfo> + Clone, marks: usize) -> Columns {
    Columns {
        marks: 0,
        name: widest(bundles.clone().into_iter().map(|b| b.name.as_str())),
        others: vec![
            widest(bundles.into_iter().map(|b| b.version.as_deref().unwrap_or("-"))),
            marks,
        ],
    }
}

/// `min`, `max` and `head` as they apply to `bundle`, comma-separated.
fn bundle_marks(channel: &ChannelInfo, bundle: &BundleInfo, range: Option<&VersionRange<'_>>) -> String {
    let version = bundle.version.as_deref();
    let is = |bound: Option<&str>| version.is_some() && bound == version;
    let mut marks = Vec::new();
    if is(range.and_then(|r| r.min)) {
        marks.push("min");
    }
    if is(range.and_then(|r| r.max)) {
        marks.push("max");
    }
    if channel.head.as_deref() == Some(bundle.name.as_str()) {
        marks.push("head");
    }
    marks.join(",")
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
    let marks: Vec<String> = channel
        .bundles
        .iter()
        .map(|bundle| bundle_marks(channel, bundle, range.as_ref()))
        .collect();
    let inner = draw_block(frame, area, block);
    let width = usize::from(inner.width);
    let widths = bundle_columns(&channel.bundles, widest(&marks)).fit(width);
    let items: Vec<ListItem> = channel
        .bundles
        .iter()
        .zip(&marks)
        .map(|(bundle, marks)| bundle_item(bundle, marks, &widths, theme))
        .collect();
    let focused_bundle = channel.bundles.get(catalog.bundle_cursor);
    let details = focused_bundle.map_or_else(Vec::new, |bundle| {
        let version = bundle.version.clone().unwrap_or_else(|| "-".into());
        let marks = marks.get(catalog.bundle_cursor).cloned().unwrap_or_default();
        let values: Vec<_> = widths.given_way([("version", version), ("marks", marks)]);
        let values: Vec<_> = values.into_iter().filter(|(_, value)| !value.is_empty()).collect();
        details(&values, width, theme)
    });
    let rows = Rows {
        items,
        details,
        cursor: catalog.bundle_cursor,
    };
    draw_rows(frame, inner, rows, focused, theme);
}

/// A bundle's row. A name cut to the width keeps its end: the bundles of a channel share the package's name.
fn bundle_item<'a>(bundle: &BundleInfo, marks: &str, widths: &Widths, theme: &Theme) -> ListItem<'a> {
    let style = if marks.contains('m') {
        theme.accent()
    } else {
        theme.dim()
    };
    let mut spans = vec![Span::styled(
        fit(&fit_tail(&bundle.name, widths.name), widths.name),
        style,
    )];
    if let Some(width) = widths.shown(0) {
        spans.push(Span::raw(" "));
        spans.push(Span::raw(fit(bundle.version.as_deref().unwrap_or("-"), width)));
    }
    if let Some(width) = widths.shown(1) {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(fit(marks, width), style));
    }
    ListItem::new(Line::from(spans))
}

// ---- platforms -----------------------------------------------------------------------------------------------------

/// Checkbox and platform, then the note a platform can get.
fn platform_columns(catalog: &CatalogEntry) -> Columns {
    let rows = catalog.platform_rows();
    Columns {
        marks: 4,
        name: widest(rows.iter().map(|r| r.name.as_str())),
        others: vec![widest(rows.iter().map(|r| {
            if r.in_index {
                "(lacks it)"
            } else {
                "(not in index)"
            }
        }))],
    }
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
    let inner = draw_block(frame, area, block);
    let info_height = if package.is_some() { 2 } else { 0 };
    let [list_area, info_area] = Layout::vertical([Constraint::Min(0), Constraint::Length(info_height)]).areas(inner);
    if rows.is_empty() {
        let text = match catalog.data() {
            Some(_) => "a single-platform catalog image",
            None => "",
        };
        let text = Paragraph::new(Line::styled(text, theme.dim())).wrap(Wrap { trim: true });
        frame.render_widget(text, list_area);
    } else {
        let items: Vec<ListItem> = rows
            .iter()
            .map(|row| {
                ListItem::new(Line::from(vec![
                    Span::styled(checkbox(row.checked), checked_style(row.checked, theme)),
                    Span::raw(" "),
                    Span::raw(row.name.clone()),
                    Span::styled(platform_note(catalog, row, package), theme.warning()),
                ]))
            })
            .collect();
        let rows = Rows {
            items,
            details: Vec::new(),
            cursor: catalog.platform_cursor,
        };
        draw_rows(frame, list_area, rows, focused, theme);
    }
    if let Some(info) = package {
        frame.render_widget(
            Paragraph::new(package_architectures(info, info_area.width, theme)),
            info_area,
        );
    }
}

/// ` (lacks it)` on a platform whose catalog does not carry the focused package, ` (not in index)` on a configured
/// platform the catalog's index does not list.
fn platform_note(catalog: &CatalogEntry, row: &PlatformRow, package: Option<&PackageInfo>) -> &'static str {
    match package {
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
    }
}

/// The foot of the platforms pane: the focused package and the architectures its bundles declare.
fn package_architectures(info: &PackageInfo, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let arches = if info.architectures.is_empty() {
        "no arch labels".to_string()
    } else {
        info.architectures.join(",")
    };
    vec![
        Line::styled(fit(&format!("{}:", info.name), usize::from(width)), theme.dim()),
        Line::styled(format!(" bundles: {arches}"), theme.dim()),
    ]
}

/// `  · 12.3 MiB read` once a catalog load has read something, else nothing.
fn read_so_far(fetched: u64) -> String {
    if fetched == 0 {
        String::new()
    } else {
        format!("  · {} read", bytes(fetched))
    }
}
