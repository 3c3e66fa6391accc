//! The dial prompt with a keypad (R3, R4). Idle: type an agent, a number or a SIP URI (or click
//! the keypad) and press Enter to call. During a call the same popup is a keypad: every digit key
//! or click sends one DTMF digit at once.

use crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Padding};
use ratatui::Frame;

use super::{centered, Popup};
use crate::tui::action::Action;
use crate::tui::components::button::{Button, HitMap};
use crate::tui::components::footer::Hint;
use crate::tui::components::{Component, Ctx};
use crate::tui::keys::typed_char;
use crate::tui::strings;

/// The keypad, row by row.
const KEYPAD: [[char; 3]; 4] = [
    ['1', '2', '3'],
    ['4', '5', '6'],
    ['7', '8', '9'],
    ['*', '0', '#'],
];

/// True for the characters RFC 4733 events 0–11 carry.
fn is_dtmf(c: char) -> bool {
    c.is_ascii_digit() || c == '*' || c == '#'
}

/// Clickable spots of the dial prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Spot {
    Digit(char),
    Confirm,
    Close,
}

/// The dial prompt / keypad.
#[derive(Debug, Default)]
pub struct DialPrompt {
    input: String,
    /// Digits sent during this call, shown back to the user.
    sent: String,
    hits: HitMap<Spot>,
}

impl DialPrompt {
    /// An empty prompt.
    pub fn new() -> Self {
        Self::default()
    }

    /// What has been typed (dial mode).
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Where the keypad key `digit` was drawn last.
    pub fn digit_rect(&self, digit: char) -> Option<Rect> {
        self.hits.rect_of(&Spot::Digit(digit))
    }

    fn press_digit(&mut self, c: char, in_call: bool) -> Option<Action> {
        if in_call {
            self.sent.push(c);
            Some(Action::Dtmf(c))
        } else {
            self.input.push(c);
            None
        }
    }

    fn confirm(&self, in_call: bool) -> Option<Action> {
        let target = self.input.trim();
        (!in_call && !target.is_empty()).then(|| Action::Dial(target.to_string()))
    }
}

/// The last characters of `s` that fit in `width` cells after `reserved` cells of label.
fn tail(s: &str, width: u16, reserved: u16) -> String {
    let room = usize::from(width.saturating_sub(reserved));
    let count = s.chars().count();
    s.chars().skip(count.saturating_sub(room)).collect()
}

impl Component for DialPrompt {
    fn handle_key(&mut self, key: KeyEvent, ctx: &Ctx) -> Option<Action> {
        let k = ctx.keys;
        let in_call = ctx.model.call.is_some();
        if k.close.matches(&key) {
            return Some(Action::ClosePopup);
        }
        if k.confirm.matches(&key) {
            return self.confirm(in_call);
        }
        if k.backspace.matches(&key) {
            if !in_call {
                self.input.pop();
            }
            return None;
        }
        match typed_char(&key) {
            Some(c) if in_call && is_dtmf(c) => self.press_digit(c, true),
            Some(c) if !in_call => self.press_digit(c, false),
            _ => None,
        }
    }

    fn handle_mouse(&mut self, mouse: MouseEvent, ctx: &Ctx) -> Option<Action> {
        let in_call = ctx.model.call.is_some();
        match self.hits.hit(&mouse)? {
            Spot::Digit(c) => self.press_digit(c, in_call),
            Spot::Confirm => self.confirm(in_call),
            Spot::Close => Some(Action::ClosePopup),
        }
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        self.hits.clear();
        let t = ctx.theme;
        let in_call = ctx.model.call.is_some();
        let rect = centered(area, 44, 12);
        frame.render_widget(Clear, rect);
        let title = if in_call {
            strings::KEYPAD_TITLE
        } else {
            strings::DIAL_TITLE
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .padding(Padding::horizontal(1))
            .title(Span::styled(format!(" {title} "), t.title()));
        let inner = block.inner(rect);
        frame.render_widget(block, rect);
        if inner.height < 9 || inner.width < 24 {
            return;
        }
        let line = |n: u16| Rect::new(inner.x, inner.y + n, inner.width, 1);
        if in_call {
            let sent = Line::from(vec![
                Span::raw(format!("{}: ", strings::DTMF_SENT)),
                Span::styled(tail(&self.sent, inner.width, 6), t.title()),
            ]);
            frame.render_widget(sent, line(0));
        } else {
            frame.render_widget(Span::styled(strings::DIAL_FIELD, t.dim()), line(0));
            // Show the end of a long entry, where the cursor is.
            let shown = tail(&self.input, inner.width, 3);
            frame.render_widget(
                Line::from(vec![
                    Span::styled(strings::DIAL_PROMPT, t.title()),
                    Span::raw(format!("{shown}_")),
                ]),
                line(1),
            );
        }

        for (r, keys) in KEYPAD.iter().enumerate() {
            let y = inner.y + 3 + r as u16;
            for (col, &c) in keys.iter().enumerate() {
                let b = Button::new("", format!(" {c} "), t.button(), Action::Dtmf(c));
                let x = inner.x + 10 + col as u16 * 7;
                self.hits
                    .button_as(frame, inner, (x, y), &b, &t, Spot::Digit(c));
            }
        }

        let row = line(inner.height - 1);
        let mut x = row.x;
        if !in_call {
            let call = Button::new(
                ctx.keys.confirm.label(),
                strings::BTN_CALL,
                t.button_go(),
                Action::ClosePopup,
            );
            x += self
                .hits
                .button_as(frame, row, (x, row.y), &call, &t, Spot::Confirm)
                + 2;
        }
        let close_label = if in_call {
            strings::BTN_CLOSE
        } else {
            strings::BTN_CANCEL
        };
        let close = Button::new(
            ctx.keys.close.label(),
            close_label,
            t.button(),
            Action::ClosePopup,
        );
        self.hits
            .button_as(frame, row, (x, row.y), &close, &t, Spot::Close);
    }
}

impl Popup for DialPrompt {
    fn hints(&self, ctx: &Ctx) -> Vec<Hint> {
        let k = ctx.keys;
        if ctx.model.call.is_some() {
            vec![
                Hint::new(strings::HINT_DIGIT_KEYS, strings::HINT_DIGITS),
                Hint::new(k.close.label(), strings::HINT_CLOSE).on_click(Some(Action::ClosePopup)),
            ]
        } else {
            vec![
                Hint::new(k.confirm.label(), strings::HINT_CALL),
                Hint::new(k.close.label(), strings::HINT_CLOSE).on_click(Some(Action::ClosePopup)),
            ]
        }
    }
}
