//! Modals: help, the quit confirmation, and forms.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::{centered, fit, fit_tail, help, pane_block, Theme};
use crate::tui::model::{Dialog, Field, Form, Model};

pub(super) fn draw(model: &Model, theme: &Theme, frame: &mut Frame, area: Rect) {
    match &model.dialog {
        None => {}
        Some(Dialog::Help { scroll }) => help::draw(*scroll, theme, frame, area),
        Some(Dialog::ConfirmQuit) => confirm_quit(theme, frame, area),
        Some(Dialog::Form(form)) => draw_form(form, theme, frame, area),
    }
}

fn confirm_quit(theme: &Theme, frame: &mut Frame, area: Rect) {
    let popup = centered(area, 50, 7);
    frame.render_widget(Clear, popup);
    let lines = vec![
        Line::raw("The configuration has unsaved changes."),
        Line::raw(""),
        Line::from(vec![Span::styled("s", theme.key()), Span::raw(" save and quit")]),
        Line::from(vec![
            Span::styled("y", theme.key()),
            Span::raw(" quit without saving   "),
            Span::styled("n", theme.key()),
            Span::raw(" stay"),
        ]),
    ];
    frame.render_widget(Paragraph::new(lines).block(pane_block(" Quit? ", true, theme)), popup);
}

/// The choices of a field on one line, the chosen one in brackets. When they do not fit, the leading ones give way
/// (marked `…`) so that the chosen one stays in view.
fn choice_line(choices: &[&str], chosen: &str, width: usize) -> String {
    let items: Vec<String> = choices
        .iter()
        .map(|c| {
            if *c == chosen {
                format!("[{c}]")
            } else {
                format!(" {c} ")
            }
        })
        .collect();
    let chosen_at = choices.iter().position(|c| *c == chosen).unwrap_or(0);
    let fits_from = |first: usize| usize::from(first > 0) + items[first..=chosen_at].join(" ").chars().count() <= width;
    let first = (0..chosen_at).find(|&first| fits_from(first)).unwrap_or(chosen_at);
    let prefix = if first > 0 { "…" } else { "" };
    fit(&format!("{prefix}{}", items[first..].join(" ")), width)
}

fn draw_form(form: &Form, theme: &Theme, frame: &mut Frame, area: Rect) {
    let height = form.fields.len() as u16 + 6;
    let popup = centered(area, 76, height);
    frame.render_widget(Clear, popup);
    let label_width = form.fields.iter().map(|f| f.label.len()).max().unwrap_or(0) + 2;
    let value_width = usize::from(popup.width.saturating_sub(4)).saturating_sub(label_width + 1);
    let mut lines: Vec<Line> = Vec::new();
    for (i, field) in form.fields.iter().enumerate() {
        let focused = i == form.focus;
        let label = Span::styled(format!("{:>width$} ", field.label, width = label_width), theme.dim());
        let style = if focused { theme.cursor(true) } else { Style::new() };
        let value = Span::styled(field_value(field, focused, value_width), style);
        lines.push(Line::from(vec![label, value]));
    }
    lines.push(Line::raw(""));
    let hint = form.fields.get(form.focus).map_or("", |f| f.hint);
    lines.push(Line::styled(hint.to_string(), theme.dim()));
    match &form.error {
        Some(error) => lines.push(Line::styled(error.clone(), theme.error())),
        None => lines.push(Line::from(vec![
            Span::styled("enter", theme.key()),
            Span::raw(" apply  "),
            Span::styled("esc", theme.key()),
            Span::raw(" cancel  "),
            Span::styled("tab", theme.key()),
            Span::raw(" next field"),
        ])),
    }
    frame.render_widget(
        Paragraph::new(lines)
            .block(pane_block(format!(" {} ", form.title), true, theme))
            .wrap(Wrap { trim: false }),
        popup,
    );
}

/// A field's value in `width` columns: its choices on one line, or its text (with the cursor when focused); long
/// text shows its end, where the typing happens.
fn field_value(field: &Field, focused: bool, width: usize) -> String {
    if !field.choices.is_empty() {
        return choice_line(&field.choices, &field.value, width);
    }
    let text = if focused {
        format!("{}▏", field.value)
    } else {
        field.value.clone()
    };
    fit_tail(&text, width)
}

#[cfg(test)]
mod tests {
    use super::choice_line;

    const MODES: [&str; 4] = ["dry-run", "mirror-to-disk", "mirror-to-mirror", "disk-to-mirror"];

    #[test]
    fn choices_that_fit_are_shown_whole() {
        assert_eq!(
            choice_line(&MODES[..2], "dry-run", 40).trim_end(),
            "[dry-run]  mirror-to-disk"
        );
    }

    #[test]
    fn the_chosen_choice_stays_in_view_when_the_line_is_too_narrow() {
        let line = choice_line(&MODES, "disk-to-mirror", 40);
        assert!(line.starts_with('…'), "{line}");
        assert!(line.contains("[disk-to-mirror]"), "{line}");
        assert!(line.chars().count() <= 40, "{line}");
        let first = choice_line(&MODES, "dry-run", 40);
        assert!(first.starts_with("[dry-run]"), "{first}");
    }
}
