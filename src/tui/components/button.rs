//! Clickable buttons: drawn as `[k Label]` (the key is part of the text, so the binding shows even
//! without colour) and remembered with their `Rect` so a click finds them.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::tui::action::Action;
use crate::tui::theme::Theme;

/// One button to draw.
#[derive(Clone, Debug)]
pub struct Button {
    /// The key's label ("m", "Enter"); empty for buttons without a key.
    pub key: String,
    /// What the button says.
    pub label: String,
    /// Its style.
    pub style: Style,
    /// What a click (or the key) asks for.
    pub action: Action,
}

impl Button {
    /// A button.
    pub fn new(
        key: impl Into<String>,
        label: impl Into<String>,
        style: Style,
        action: Action,
    ) -> Self {
        Button {
            key: key.into(),
            label: label.into(),
            style,
            action,
        }
    }

    /// Width on screen in cells.
    pub fn width(&self) -> u16 {
        self.line(&Theme::no_color()).width() as u16
    }

    fn line(&self, theme: &Theme) -> Line<'static> {
        let mut spans = vec![Span::styled("[", self.style)];
        if !self.key.is_empty() {
            spans.push(Span::styled(self.key.clone(), theme.button_key(self.style)));
            spans.push(Span::styled(" ", self.style));
        }
        spans.push(Span::styled(self.label.clone(), self.style));
        spans.push(Span::styled("]", self.style));
        Line::from(spans)
    }
}

/// Where clickable things were drawn last, to map clicks back to what they mean (`T` is an
/// [`Action`] for plain buttons, or a popup's own spot type).
#[derive(Clone, Debug)]
pub struct HitMap<T = Action> {
    spots: Vec<(Rect, T)>,
}

impl<T> Default for HitMap<T> {
    fn default() -> Self {
        HitMap { spots: Vec::new() }
    }
}

impl<T: Clone + PartialEq> HitMap<T> {
    /// Forget every spot (at the start of a draw).
    pub fn clear(&mut self) {
        self.spots.clear();
    }

    /// Remember that a click inside `rect` means `what`.
    pub fn add(&mut self, rect: Rect, what: T) {
        if !rect.is_empty() {
            self.spots.push((rect, what));
        }
    }

    /// What is under a left click, if anything.
    pub fn hit(&self, mouse: &MouseEvent) -> Option<T> {
        let pos = left_click(mouse)?;
        self.spots
            .iter()
            .find(|(rect, _)| rect.contains(pos))
            .map(|(_, what)| what.clone())
    }

    /// The rect remembered for `what`, if it was drawn.
    pub fn rect_of(&self, what: &T) -> Option<Rect> {
        self.spots
            .iter()
            .find(|(_, w)| w == what)
            .map(|(rect, _)| *rect)
    }

    /// Draw a button at (x, y) clipped to `bounds` and remember it as `what`; returns its width.
    pub fn button_as(
        &mut self,
        frame: &mut Frame,
        bounds: Rect,
        (x, y): (u16, u16),
        b: &Button,
        theme: &Theme,
        what: T,
    ) -> u16 {
        let rect = draw_button(frame, bounds, (x, y), b, theme);
        self.add(rect, what);
        b.width()
    }
}

impl HitMap<Action> {
    /// Draw a button at (x, y) clipped to `bounds`, remembered by its action; returns its width.
    pub fn button(
        &mut self,
        frame: &mut Frame,
        bounds: Rect,
        (x, y): (u16, u16),
        b: &Button,
        theme: &Theme,
    ) -> u16 {
        let what = b.action.clone();
        self.button_as(frame, bounds, (x, y), b, theme, what)
    }

    /// Draw buttons left to right on the first line of `area`, two cells apart.
    pub fn row(&mut self, frame: &mut Frame, area: Rect, buttons: &[Button], theme: &Theme) {
        let mut x = area.x;
        for b in buttons {
            let w = self.button(frame, area, (x, area.y), b, theme);
            x = x.saturating_add(w + 2);
        }
    }
}

/// Draw a button at (x, y) clipped to `bounds`; returns the rect it covers (empty when clipped
/// away entirely).
pub fn draw_button(
    frame: &mut Frame,
    bounds: Rect,
    (x, y): (u16, u16),
    b: &Button,
    theme: &Theme,
) -> Rect {
    let rect = Rect::new(x, y, b.width(), 1).intersection(bounds);
    if !rect.is_empty() {
        frame.render_widget(b.line(theme), rect);
    }
    rect
}

/// The cell of a left-button press, if that is what `mouse` is.
pub fn left_click(mouse: &MouseEvent) -> Option<Position> {
    match mouse.kind {
        MouseEventKind::Down(MouseButton::Left) => Some(Position::new(mouse.column, mouse.row)),
        _ => None,
    }
}
