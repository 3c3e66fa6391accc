//! Quitting during a call asks first (issue 10 #5): the call would be dropped — with a customer,
//! the customer. `y` (or Ctrl-C again) quits, anything else stays.

use crossterm::event::{KeyCode, KeyEvent, MouseEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Padding, Paragraph, Wrap};
use ratatui::Frame;

use super::{centered, Popup};
use crate::tui::action::Action;
use crate::tui::components::button::{Button, HitMap};
use crate::tui::components::footer::Hint;
use crate::tui::components::{Component, Ctx};
use crate::tui::strings;

/// The question.
#[derive(Debug, Default)]
pub struct QuitConfirm {
    hits: HitMap,
}

impl Component for QuitConfirm {
    fn handle_key(&mut self, key: KeyEvent, ctx: &Ctx) -> Option<Action> {
        let yes = matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y'))
            || ctx.keys.force_quit.matches(&key);
        Some(if yes {
            Action::Quit
        } else {
            Action::ClosePopup
        })
    }

    fn handle_mouse(&mut self, mouse: MouseEvent, _ctx: &Ctx) -> Option<Action> {
        self.hits.hit(&mouse)
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        self.hits.clear();
        let t = ctx.theme;
        let rect = centered(area, 50, 7);
        frame.render_widget(Clear, rect);
        let block = Block::default()
            .borders(Borders::ALL)
            .padding(Padding::horizontal(1))
            .title(Span::styled(
                format!(" {} ", strings::QUIT_TITLE),
                t.title(),
            ));
        let inner = block.inner(rect);
        frame.render_widget(block, rect);
        let who = ctx.model.call.as_ref().and_then(|c| c.customer.as_deref());
        let text =
            Paragraph::new(Line::from(strings::quit_during_call(who))).wrap(Wrap { trim: true });
        frame.render_widget(text, Rect::new(inner.x, inner.y, inner.width, 2));
        if inner.height < 4 {
            return;
        }
        let row = Rect::new(inner.x, inner.bottom() - 1, inner.width, 1);
        let buttons = [
            Button::new("y", strings::BTN_QUIT, t.button_danger(), Action::Quit),
            Button::new(
                ctx.keys.close.label(),
                strings::BTN_STAY,
                t.button(),
                Action::ClosePopup,
            ),
        ];
        self.hits.row(frame, row, &buttons, &t);
    }
}

impl Popup for QuitConfirm {
    fn hints(&self, ctx: &Ctx) -> Vec<Hint> {
        vec![
            Hint::new("y", strings::BTN_QUIT),
            Hint::new(ctx.keys.close.label(), strings::BTN_STAY),
        ]
    }
}
