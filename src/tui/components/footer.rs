//! The footer: the keys that apply now, and the last notice when there is one.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::tui::action::Action;
use crate::tui::theme::Theme;

/// One "key: what it does" hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    /// The key's label.
    pub key: String,
    /// What it does.
    pub what: String,
    /// What a click on it asks for (the same as the key), when it can be clicked.
    pub action: Option<Action>,
}

impl Hint {
    /// A hint that only names a key.
    pub fn new(key: impl Into<String>, what: impl Into<String>) -> Self {
        Hint {
            key: key.into(),
            what: what.into(),
            action: None,
        }
    }

    /// The same hint, clickable: a click asks for `action`.
    pub fn on_click(mut self, action: Option<Action>) -> Self {
        self.action = action;
        self
    }
}

/// Where each hint is drawn on the footer line `area` (as [`Footer`] lays them out): its rect
/// and its index, for the hints that fit.
pub fn hint_spots(hints: &[Hint], area: Rect) -> Vec<(Rect, usize)> {
    let mut spots = Vec::with_capacity(hints.len());
    let mut x = area.x.saturating_add(1);
    for (i, h) in hints.iter().enumerate() {
        if i > 0 {
            x = x.saturating_add(Span::raw(SEPARATOR).width() as u16);
        }
        let w = (Span::raw(h.key.as_str()).width() + 1 + Span::raw(h.what.as_str()).width()) as u16;
        let rect = Rect::new(x, area.y, w, 1).intersection(area);
        if rect.is_empty() {
            break;
        }
        spots.push((rect, i));
        x = x.saturating_add(w);
    }
    spots
}

/// Between two hints.
const SEPARATOR: &str = " · ";

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
                spans.push(Span::styled(SEPARATOR, self.theme.dim()));
            }
            spans.push(Span::styled(h.key.clone(), self.theme.key()));
            spans.push(Span::raw(format!(" {}", h.what)));
        }
        Line::from(spans).render(area, buf);
    }
}
