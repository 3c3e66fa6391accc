//! The footer: the keys that apply now, and the last notice when there is one.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::tui::theme::Theme;

/// One "key: what it does" hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    /// The key's label.
    pub key: String,
    /// What it does.
    pub what: String,
}

impl Hint {
    /// A hint.
    pub fn new(key: impl Into<String>, what: impl Into<String>) -> Self {
        Hint {
            key: key.into(),
            what: what.into(),
        }
    }
}

/// The footer line.
pub struct Footer<'a> {
    /// The hints, most important first (what does not fit is cut).
    pub hints: &'a [Hint],
    /// Colours or none.
    pub theme: Theme,
}

impl Widget for Footer<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let mut spans = vec![Span::raw(" ")];
        for (i, h) in self.hints.iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(" · ", self.theme.dim()));
            }
            spans.push(Span::styled(h.key.clone(), self.theme.key()));
            spans.push(Span::raw(format!(" {}", h.what)));
        }
        Line::from(spans).render(area, buf);
    }
}
