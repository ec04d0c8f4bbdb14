//! The `?` overlay: every key, by where it works. `docs/tui.md` lists the same keys.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use super::{centered, pane_block, Theme};

/// (key, what it does); a row with an empty key is a section title.
pub(crate) const LINES: &[(&str, &str)] = &[
    ("", "Everywhere"),
    ("↑ ↓  j k", "move"),
    ("PgUp PgDn  g G", "page, first, last"),
    ("tab  shift-tab", "next, previous pane"),
    ("→ l  ← h", "open, back (Operators panes)"),
    ("1 2 3 4 5", "Operators, Images, Releases, Preview, Run"),
    ("enter", "open (packages, channels, bundles, edit)"),
    ("esc", "back out (pane, filter, dialog)"),
    ("ctrl-s", "save the configuration to the output file"),
    ("?", "this help"),
    ("q", "quit (asks when there are unsaved changes)"),
    ("ctrl-c", "cancel the run; else quit"),
    ("", "Catalogs"),
    ("a", "add a catalog (docker://, oci://, archive)"),
    ("space", "mirror the whole catalog / back to packages"),
    ("e", "target catalog and tag in the mirror"),
    ("r", "load the catalog again"),
    ("d", "remove the catalog"),
    ("", "Packages"),
    ("space", "select or deselect the package"),
    ("/", "filter as you type (enter keeps, esc clears)"),
    ("", "Channels"),
    ("space", "select or deselect the channel"),
    ("", "Bundles"),
    ("m  M", "the channel's min / max: this version"),
    ("p  P", "the package's min / max: this version"),
    ("c", "clear the range in force"),
    ("", "Platforms"),
    ("space", "check or uncheck (none checked: all)"),
    ("", "Images, Helm charts, Blocked images, Releases"),
    ("a  enter/e  d", "add, edit, delete"),
    ("space", "check a release architecture"),
    ("", "Forms"),
    ("tab ↑ ↓", "next, previous field"),
    ("← → space", "change a choice"),
    ("ctrl-u", "clear the field"),
    ("enter  esc", "apply, cancel"),
    ("", "Run"),
    ("enter", "choose mode and destination, start"),
    ("ctrl-c", "cancel cleanly, back to the editor"),
];

fn line(entry: &(&'static str, &'static str), theme: &Theme) -> Line<'static> {
    let (key, what) = *entry;
    if key.is_empty() {
        Line::styled(what, theme.accent())
    } else {
        Line::from(vec![Span::styled(format!("  {key:<16}"), theme.key()), Span::raw(what)])
    }
}

/// One column, scrolled, when the screen is narrow; two columns (split at a section) when they fit.
pub(crate) fn draw(scroll: u16, theme: &Theme, frame: &mut Frame, area: Rect) {
    let lines: Vec<Line> = LINES.iter().map(|entry| line(entry, theme)).collect();
    let half = LINES.len().div_ceil(2);
    let split = (half..LINES.len()).find(|i| LINES[*i].0.is_empty()).unwrap_or(half);
    let two_columns = area.width >= 126 && usize::from(area.height) >= split + 4;
    if two_columns {
        let height = u16::try_from(split.max(LINES.len() - split) + 2).unwrap_or(u16::MAX);
        let popup = centered(area, 124, height);
        frame.render_widget(Clear, popup);
        let block = pane_block(" Keys (esc closes) ", true, theme);
        let inner = block.inner(popup);
        frame.render_widget(block, popup);
        let [left, right] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner);
        let mut lines = lines;
        let second = lines.split_off(split);
        frame.render_widget(Paragraph::new(lines), left);
        frame.render_widget(Paragraph::new(second), right);
        return;
    }
    let popup = centered(area, 64, u16::try_from(LINES.len() + 2).unwrap_or(u16::MAX));
    frame.render_widget(Clear, popup);
    let visible = usize::from(popup.height.saturating_sub(2));
    let mut block = pane_block(" Keys (esc closes) ", true, theme);
    if visible < LINES.len() {
        let last = (usize::from(scroll) + visible).min(LINES.len());
        block = block
            .title_bottom(Line::styled(format!(" j/k scroll · {last}/{} ", LINES.len()), theme.dim()).right_aligned());
    }
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), popup);
}
