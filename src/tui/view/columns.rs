//! The width rule of every list: a row's name gets the width it needs, up to the widest name listed; the other
//! columns follow it, each as wide as its widest value, while they fit whole, and give way from the last one when
//! they do not. What a column that gave way showed is written below the list for the focused row ([`details`]).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{fit, Theme};

/// The width of `text` as the panes count it.
pub(super) fn width_of(text: &str) -> usize {
    text.chars().count()
}

/// The widest of `values`, 0 for none.
pub(super) fn widest<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> usize {
    values.into_iter().map(|v| width_of(v.as_ref())).max().unwrap_or(0)
}

/// What the rows of a list want: the cells of their marks (checkboxes, flags), their widest name, and the widest
/// value of each other column, in the order they are drawn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Columns {
    pub marks: usize,
    pub name: usize,
    pub others: Vec<usize>,
}

/// Where the columns of a row go in a given width.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Widths {
    /// What the names want, or all there is when that is less.
    pub name: usize,
    /// Each other column's width, `None` when it gave way.
    pub others: Vec<Option<usize>>,
}

impl Columns {
    /// The width the marks and the names need.
    pub(super) fn names_width(&self) -> usize {
        self.marks + self.name
    }

    /// The width every column needs, one cell between columns.
    pub(super) fn full_width(&self) -> usize {
        self.names_width() + self.others.iter().map(|w| w + 1).sum::<usize>()
    }

    /// The columns in `width` cells: the name first, then the other columns as long as they fit whole.
    pub(super) fn fit(&self, width: usize) -> Widths {
        let name = self.name.min(width.saturating_sub(self.marks));
        let mut free = width.saturating_sub(self.marks + name);
        let mut fits = true;
        let others = self
            .others
            .iter()
            .map(|&wanted| {
                fits = fits && wanted < free;
                fits.then(|| {
                    free -= wanted + 1;
                    wanted
                })
            })
            .collect();
        Widths { name, others }
    }
}

impl Widths {
    /// The width of the `column`th other column, `None` when it gave way.
    pub(super) fn shown(&self, column: usize) -> Option<usize> {
        self.others.get(column).copied().flatten()
    }

    /// Of `values` (one per other column, in order), those of the columns that gave way.
    pub(super) fn given_way<T>(&self, values: impl IntoIterator<Item = T>) -> Vec<T> {
        values
            .into_iter()
            .zip(&self.others)
            .filter(|(_, width)| width.is_none())
            .map(|(value, _)| value)
            .collect()
    }
}

/// The focused row's values of the columns that gave way, as `label value` lines wrapped to `width`.
pub(super) fn details(values: &[(&str, String)], width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for (label, value) in values {
        for (i, line) in wrap(&format!("{label} {value}"), width).into_iter().enumerate() {
            lines.push(match line.strip_prefix(label) {
                Some(rest) if i == 0 => Line::from(vec![
                    Span::styled(label.to_string(), theme.dim()),
                    Span::raw(rest.to_string()),
                ]),
                _ => Line::raw(line),
            });
        }
    }
    lines
}

/// Draws `details` at the foot of `area` under a rule; returns what is left above them for the list.
pub(super) fn draw_details(frame: &mut Frame, area: Rect, details: Vec<Line<'static>>, theme: &Theme) -> Rect {
    if details.is_empty() {
        return area;
    }
    let height = u16::try_from(details.len() + 1).unwrap_or(u16::MAX);
    let [list, foot] = Layout::vertical([Constraint::Min(1), Constraint::Length(height)]).areas(area);
    let mut lines = vec![Line::styled("─".repeat(usize::from(foot.width)), theme.dim())];
    lines.extend(details);
    frame.render_widget(Paragraph::new(lines), foot);
    list
}

/// `text` broken at spaces into lines of at most `width` characters; a word longer than that is cut.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && width_of(&line) + 1 + width_of(word) > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
        .iter()
        .map(|line| fit(line, width).trim_end().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(name: usize, others: &[usize]) -> Columns {
        Columns {
            marks: 4,
            name,
            others: others.to_vec(),
        }
    }

    #[test]
    fn the_name_gets_what_it_wants_and_the_other_columns_what_is_left() {
        let widths = columns(31, &[5, 7, 25]).fit(60);
        assert_eq!(widths.name, 31);
        assert_eq!(widths.others, [Some(5), Some(7), None]);
        assert_eq!(widths.given_way(["a", "b", "c"]), ["c"]);
        assert_eq!(columns(31, &[5, 7, 25]).full_width(), 4 + 31 + 6 + 8 + 26);
    }

    #[test]
    fn columns_give_way_from_the_last_one() {
        // The third would fit in what the second leaves, but the second gave way.
        assert_eq!(columns(10, &[3, 20, 2]).fit(30).others, [Some(3), None, None]);
        assert_eq!(columns(10, &[3]).fit(18).others, [Some(3)]);
        assert_eq!(columns(10, &[3]).fit(17).others, [None]);
    }

    #[test]
    fn a_name_wider_than_the_row_gets_the_whole_row() {
        let widths = columns(40, &[5]).fit(30);
        assert_eq!(widths.name, 26);
        assert_eq!(widths.others, [None]);
        assert_eq!(columns(40, &[5]).fit(2).name, 0);
    }

    #[test]
    fn details_wrap_at_spaces() {
        assert_eq!(
            wrap("platforms amd64, arm64, ppc64le, s390x", 20),
            ["platforms amd64,", "arm64, ppc64le,", "s390x"]
        );
        assert_eq!(wrap("head 1.6.0", 20), ["head 1.6.0"]);
        assert_eq!(wrap("averyveryverylongword", 8), ["averyve…"]);
        let theme = Theme { colors: false };
        let lines = details(
            &[("head", "1.6.0".into()), ("platforms", "amd64, arm64".into())],
            12,
            &theme,
        );
        let text: Vec<String> = lines.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["head 1.6.0", "platforms", "amd64, arm64"]);
    }
}
