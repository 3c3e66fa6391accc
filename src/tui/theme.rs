//! Styles. With NO_COLOR set, no colours at all: everything stays readable through modifiers
//! (bold, reverse, dim) and the brackets and words the components always draw.

use ratatui::style::{Color, Modifier, Style};

/// The colour scheme, or its absence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    /// False when NO_COLOR is set.
    pub color: bool,
}

impl Theme {
    /// Colours unless the NO_COLOR environment variable is set to a non-empty value
    /// (<https://no-color.org>).
    pub fn from_env() -> Self {
        Self::from_no_color_var(std::env::var_os("NO_COLOR").as_deref())
    }

    /// The theme for a given value of NO_COLOR (None = unset).
    pub fn from_no_color_var(value: Option<&std::ffi::OsStr>) -> Self {
        let no_color = value.is_some_and(|v| !v.is_empty());
        Theme { color: !no_color }
    }

    /// With colours.
    pub fn colored() -> Self {
        Theme { color: true }
    }

    /// Without colours.
    pub fn no_color() -> Self {
        Theme { color: false }
    }

    fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    /// Block borders and plain text.
    pub fn normal(&self) -> Style {
        Style::new()
    }

    /// Titles and the customer's name.
    pub fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// A button at rest.
    pub fn button(&self) -> Style {
        if self.color {
            Style::new().fg(Color::White).bg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    /// A toggle button that is on (muted, on hold) or a pending transfer action.
    pub fn button_active(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Black).bg(Color::Yellow)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    /// A button whose action cannot work now (pressing it says why).
    pub fn button_disabled(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Gray).bg(Color::Black)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    /// The hang-up and decline buttons.
    pub fn button_danger(&self) -> Style {
        if self.color {
            Style::new().fg(Color::White).bg(Color::Red)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    /// The answer button.
    pub fn button_go(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Black).bg(Color::Green)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    /// The key shown inside a button or a hint.
    pub fn key(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    /// The key inside a button of style `button`: yellow where the button's background is dark
    /// or absent; on a light background (yellow, green …) yellow would vanish or blur, so the key
    /// keeps the button's own dark text colour and stands out by bold + underline instead.
    pub fn button_key(&self, button: Style) -> Style {
        match button.bg {
            Some(bg) if self.color && is_light(bg) => {
                button.add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
            }
            _ => button.patch(self.key()),
        }
    }

    /// Good news: online, available, voice on.
    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }

    /// Something to watch: registering, ringing, on hold.
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }

    /// Bad news: offline, failed, no device.
    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// Rows that cannot be picked, secondary text.
    pub fn dim(&self) -> Style {
        self.fg(Color::DarkGray).add_modifier(Modifier::DIM)
    }

    /// The selected row or tab.
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    /// Level meters.
    pub fn meter(&self) -> Style {
        self.fg(Color::Green)
    }
}

/// Backgrounds on which the yellow key colour is unreadable or weak.
fn is_light(bg: Color) -> bool {
    matches!(
        bg,
        Color::Yellow
            | Color::LightYellow
            | Color::Green
            | Color::LightGreen
            | Color::Cyan
            | Color::LightCyan
            | Color::White
            | Color::Gray
    )
}

#[cfg(test)]
mod tests {
    use super::Theme;
    use std::ffi::OsStr;

    #[test]
    fn no_color_set_and_non_empty_turns_colours_off() {
        assert!(Theme::from_no_color_var(None).color);
        assert!(Theme::from_no_color_var(Some(OsStr::new(""))).color);
        assert!(!Theme::from_no_color_var(Some(OsStr::new("1"))).color);
    }
}
