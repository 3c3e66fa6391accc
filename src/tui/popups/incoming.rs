//! The incoming-call popup (R2): who calls, which team, who transfers and why; Answer / Decline.
//! It shows whenever the model has an incoming call, above any other popup but help.

use crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Padding, Paragraph};
use ratatui::Frame;

use super::{centered, Popup};
use crate::tui::action::Action;
use crate::tui::components::button::{Button, HitMap};
use crate::tui::components::footer::Hint;
use crate::tui::components::{Component, Ctx};
use crate::tui::strings;

/// The incoming-call popup.
#[derive(Debug, Default)]
pub struct IncomingPopup {
    hits: HitMap,
}

impl IncomingPopup {
    /// Where the button for `action` was drawn last.
    pub fn button_rect(&self, action: &Action) -> Option<Rect> {
        self.hits.rect_of(action)
    }
}

impl Component for IncomingPopup {
    fn handle_key(&mut self, key: KeyEvent, ctx: &Ctx) -> Option<Action> {
        ctx.model.incoming.as_ref()?;
        let k = ctx.keys;
        if k.answer.matches(&key) || k.confirm.matches(&key) {
            Some(Action::Answer)
        } else if k.decline.matches(&key) {
            Some(Action::Decline)
        } else {
            None
        }
    }

    fn handle_mouse(&mut self, mouse: MouseEvent, ctx: &Ctx) -> Option<Action> {
        ctx.model.incoming.as_ref()?;
        self.hits.hit(&mouse)
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        self.hits.clear();
        let Some(inc) = &ctx.model.incoming else {
            return;
        };
        let t = ctx.theme;
        let mut lines = vec![Line::from(vec![
            Span::raw(format!("{}: ", strings::FROM)),
            Span::styled(inc.from.clone(), t.title()),
        ])];
        if inc.uri != inc.from {
            lines.push(Line::from(Span::styled(
                format!("      {}", inc.uri),
                t.dim(),
            )));
        }
        if let Some(team) = &inc.team {
            lines.push(Line::from(format!("{}: {team}", strings::TEAM)));
        }
        if let Some(by) = &inc.transferred_by {
            lines.push(Line::from(strings::transferred_by(by)));
        }
        if let Some(reason) = &inc.reason {
            lines.push(Line::from(vec![
                Span::raw(format!("{}: ", strings::REASON)),
                Span::styled(reason.clone(), t.warn()),
            ]));
        }
        if let Some(since) = inc.waiting_since {
            let waited = ctx.now.saturating_duration_since(since);
            lines.push(Line::from(Span::styled(
                strings::waiting_for(waited),
                t.warn(),
            )));
        }
        if let Some(at) = inc.rings_out_at {
            let left = at.saturating_duration_since(ctx.now);
            lines.push(Line::from(Span::styled(
                strings::rings_out_in(left),
                t.dim(),
            )));
        }
        let height = lines.len() as u16 + 4;
        let rect = centered(area, 62, height);
        frame.render_widget(Clear, rect);
        let block = Block::default()
            .borders(Borders::ALL)
            .padding(Padding::horizontal(1))
            .title(Span::styled(
                format!(" {} ", strings::INCOMING_TITLE),
                t.warn(),
            ));
        let inner = block.inner(rect);
        frame.render_widget(block, rect);
        frame.render_widget(Paragraph::new(lines), inner);
        if inner.height == 0 {
            return;
        }
        let row = Rect::new(inner.x, inner.bottom() - 1, inner.width, 1);
        let buttons = [
            Button::new(
                ctx.keys.answer.label(),
                strings::BTN_ANSWER,
                t.button_go(),
                Action::Answer,
            ),
            Button::new(
                ctx.keys.decline.label(),
                strings::BTN_DECLINE,
                t.button_danger(),
                Action::Decline,
            ),
        ];
        self.hits.row(frame, row, &buttons, &t);
    }
}

impl Popup for IncomingPopup {
    fn hints(&self, ctx: &Ctx) -> Vec<Hint> {
        vec![
            Hint::new(ctx.keys.answer.label(), strings::BTN_ANSWER),
            Hint::new(ctx.keys.decline.label(), strings::BTN_DECLINE),
        ]
    }
}
