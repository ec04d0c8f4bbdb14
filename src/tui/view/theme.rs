//! Styles. With colours off (`NO_COLOR`), everything is told apart by bold, reverse and underline alone.

use ratatui::style::{Color, Modifier, Style};

use crate::tui::model::StatusKind;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Theme {
    pub colors: bool,
}

impl Theme {
    fn pick(&self, colored: Style, plain: Style) -> Style {
        if self.colors {
            colored
        } else {
            plain
        }
    }

    pub(crate) fn border(&self, focused: bool) -> Style {
        match (focused, self.colors) {
            (true, true) => Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            (true, false) => Style::new().add_modifier(Modifier::BOLD),
            (false, true) => Style::new().fg(Color::DarkGray),
            (false, false) => Style::new(),
        }
    }

    /// The row under the cursor.
    pub(crate) fn cursor(&self, focused: bool) -> Style {
        if focused {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new().add_modifier(Modifier::UNDERLINED)
        }
    }

    /// A checked item.
    pub(crate) fn checked(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    pub(crate) fn accent(&self) -> Style {
        self.pick(Style::new().fg(Color::Cyan), Style::new().add_modifier(Modifier::BOLD))
    }

    pub(crate) fn dim(&self) -> Style {
        self.pick(Style::new().fg(Color::DarkGray), Style::new())
    }

    pub(crate) fn key(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    pub(crate) fn error(&self) -> Style {
        self.pick(Style::new().fg(Color::Red), Style::new().add_modifier(Modifier::BOLD))
    }

    pub(crate) fn warning(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Yellow),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    pub(crate) fn success(&self) -> Style {
        self.pick(Style::new().fg(Color::Green), Style::new())
    }

    pub(crate) fn status(&self, kind: StatusKind) -> Style {
        match kind {
            StatusKind::Info => Style::new(),
            StatusKind::Success => self.success(),
            StatusKind::Warning => self.warning(),
            StatusKind::Error => self.error(),
        }
    }

    pub(crate) fn tab(&self, active: bool) -> Style {
        if active {
            self.pick(
                Style::new()
                    .fg(Color::Black)
                    .bg(Color::Cyan)
                    .add_modifier(Modifier::BOLD),
                Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            )
        } else {
            Style::new()
        }
    }
}
