//! `view`: draws the model, and only reads it. The frame is a header (screens, output file, unsaved mark), the
//! focused screen, a status line and the keys of the focused pane; dialogs float on top.

mod columns;
mod dialogs;
pub(crate) mod help;
mod operators;
mod run;
mod screens;
mod theme;

#[cfg(test)]
mod tests;

use std::time::Duration;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

pub(crate) use theme::Theme;

use super::model::{Model, Pane, Screen};

/// The smallest frame worth drawing into.
const MIN_WIDTH: u16 = 40;
const MIN_HEIGHT: u16 = 10;

/// Draws the whole screen.
pub(crate) fn view(model: &Model, frame: &mut Frame) {
    let area = frame.area();
    let theme = Theme { colors: model.colors };
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!(
            "ferry tui needs at least {MIN_WIDTH}×{MIN_HEIGHT}; this terminal is {}×{}",
            area.width, area.height
        );
        frame.render_widget(Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true }), area);
        return;
    }
    let [header, body, status, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(model, &theme, frame, header);
    match model.screen() {
        Screen::Operators => operators::draw(model, &theme, frame, body),
        Screen::Images => screens::draw_images(model, &theme, frame, body),
        Screen::Releases => screens::draw_releases(model, &theme, frame, body),
        Screen::Preview => screens::draw_preview(model, &theme, frame, body),
        Screen::Run => run::draw(model, &theme, frame, body),
    }
    draw_status(model, &theme, frame, status);
    draw_hints(model, &theme, frame, hints);
    dialogs::draw(model, &theme, frame, area);
}

fn draw_header(model: &Model, theme: &Theme, frame: &mut Frame, area: Rect) {
    let mut spans = vec![Span::styled(" ferry ", theme.accent().add_modifier(Modifier::BOLD))];
    for (i, screen) in Screen::ALL.iter().enumerate() {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(
            format!("{} {}", i + 1, screen.title()),
            theme.tab(model.screen() == *screen),
        ));
    }
    let left = Line::from(spans);
    let left_width = u16::try_from(left.width()).unwrap_or(u16::MAX);
    let mut right = Vec::new();
    if model.running() {
        right.push(Span::styled(
            format!("{} running ", spinner(model.spinner)),
            theme.accent(),
        ));
    }
    if model.is_dirty() {
        right.push(Span::styled("[modified] ", theme.warning()));
    }
    let room = usize::from(area.width.saturating_sub(left_width + 1))
        .saturating_sub(right.iter().map(Span::width).sum::<usize>() + 1);
    let file = model.output.file_name().map_or_else(
        || model.output.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    if room >= 4 {
        right.push(Span::raw(fit_tail(&file, room)));
        right.push(Span::raw(" "));
    }
    let right = Line::from(right);
    let right_width = u16::try_from(right.width())
        .unwrap_or(u16::MAX)
        .min(area.width.saturating_sub(left_width));
    let [l, r] = Layout::horizontal([Constraint::Min(0), Constraint::Length(right_width)]).areas(area);
    frame.render_widget(Paragraph::new(left), l);
    frame.render_widget(Paragraph::new(right).right_aligned(), r);
}

fn draw_status(model: &Model, theme: &Theme, frame: &mut Frame, area: Rect) {
    let first_line = model.status.text.lines().next().unwrap_or("");
    frame.render_widget(
        Paragraph::new(Line::styled(format!(" {first_line}"), theme.status(model.status.kind))),
        area,
    );
}

/// The keys that work in the focused pane, most useful first; those that do not fit whole are left out.
fn draw_hints(model: &Model, theme: &Theme, frame: &mut Frame, area: Rect) {
    let common: &[(&str, &str)] = if model.filtering {
        &[("tab", "pane"), ("ctrl-s", "save")]
    } else {
        &[("tab", "pane"), ("ctrl-s", "save"), ("?", "help"), ("q", "quit")]
    };
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (key, what) in pane_keys(model).iter().chain(common.iter()) {
        let width = key.chars().count() + 1 + what.chars().count();
        if used + width > usize::from(area.width) {
            break;
        }
        used += width + 2;
        spans.push(Span::styled(*key, theme.key()));
        spans.push(Span::styled(format!(" {what}  "), theme.dim()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// (key, what it does) in the focused pane, or while a filter is typed.
fn pane_keys(model: &Model) -> &'static [(&'static str, &'static str)] {
    if model.filtering {
        &[
            ("type", "filter"),
            ("enter", "keep"),
            ("esc", "clear"),
            ("space", "select"),
            ("↑↓", "move"),
        ]
    } else {
        match model.focus {
            Pane::Catalogs => &[
                ("enter", "packages"),
                ("a", "add"),
                ("space", "whole catalog"),
                ("e", "target"),
                ("r", "reload"),
                ("d", "remove"),
            ],
            Pane::Packages => &[
                ("space", "select"),
                ("/", "filter"),
                ("enter", "channels"),
                ("esc", "back"),
            ],
            Pane::Channels => &[("space", "select"), ("enter", "bundles"), ("esc", "back")],
            Pane::Bundles => &[("m M", "channel range"), ("p P", "package range"), ("c", "clear")],
            Pane::Platforms => &[("space", "toggle"), ("esc", "back")],
            Pane::Images => &[("a", "add"), ("enter", "edit"), ("d", "delete"), ("tab", "helm charts")],
            Pane::Charts => &[("a", "add"), ("enter", "edit"), ("d", "delete"), ("esc", "images")],
            Pane::Blocked => &[("a", "block"), ("enter", "edit"), ("d", "unblock"), ("esc", "images")],
            Pane::Releases => &[
                ("a", "add channel"),
                ("enter", "edit"),
                ("d", "delete"),
                ("space", "architecture"),
            ],
            Pane::Preview => &[("↑↓", "scroll")],
            Pane::Run if model.running() => &[("ctrl-c", "cancel the run")],
            Pane::Run => &[("enter", "configure and start")],
        }
    }
}

/// A bordered block with the pane's title, highlighted when focused.
pub(crate) fn pane_block<'a>(title: impl Into<Line<'a>>, focused: bool, theme: &Theme) -> Block<'a> {
    let title: Line<'a> = title.into();
    let title_style = if focused { theme.border(true) } else { Style::new() };
    Block::bordered()
        .border_style(theme.border(focused))
        .title(title.style(title_style))
}

/// `text` cut (with `…`) or padded to exactly `width` columns.
pub(crate) fn fit(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        format!("{text:<width$}")
    } else if width == 0 {
        String::new()
    } else {
        let mut cut: String = text.chars().take(width - 1).collect();
        cut.push('…');
        cut
    }
}

/// `text` cut at its start (with `…`) to `width` columns: the end of a path or reference is what tells it apart.
pub(crate) fn fit_tail(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        text.to_string()
    } else if width == 0 {
        String::new()
    } else {
        let tail: String = text.chars().skip(count - width + 1).collect();
        format!("…{tail}")
    }
}

pub(crate) fn spinner(tick: usize) -> &'static str {
    const FRAMES: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];
    FRAMES[tick % FRAMES.len()]
}

/// `1.5 GiB`, `12.0 MiB`, `512 B`.
pub(crate) fn bytes(count: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if count < 1024 {
        return format!("{count} B");
    }
    let mut value = count as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `45s`, `3m07s`, `1h02m`.
pub(crate) fn duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// A rectangle of at most `width`×`height` centred in `area`.
pub(crate) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}
