//! The conversation pane: the transfer reason and the call's timeline, newest at the bottom.

use crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Padding, Paragraph, Wrap};
use ratatui::Frame;

use super::{Component, Ctx};
use crate::tui::action::Action;
use crate::tui::strings;

/// The conversation pane (display only).
#[derive(Debug, Default)]
pub struct Conversation;

impl Component for Conversation {
    fn handle_key(&mut self, _key: KeyEvent, _ctx: &Ctx) -> Option<Action> {
        None
    }

    fn handle_mouse(&mut self, _mouse: MouseEvent, _ctx: &Ctx) -> Option<Action> {
        None
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = ctx.theme;
        let block = Block::default()
            .borders(Borders::ALL)
            .padding(Padding::horizontal(1))
            .title(Span::styled(
                format!(" {} ", strings::CONVERSATION_TITLE),
                t.title(),
            ));
        let inner = block.inner(area);
        frame.render_widget(block, area);

        let Some(call) = &ctx.model.call else {
            frame.render_widget(
                Paragraph::new(Span::styled(strings::NO_CONVERSATION, t.dim()))
                    .wrap(Wrap { trim: true }),
                inner,
            );
            return;
        };
        let mut lines = Vec::new();
        if let Some(reason) = &call.reason {
            lines.push(Line::from(vec![
                Span::styled(format!("{}: ", strings::REASON), t.title()),
                Span::raw(reason.clone()),
            ]));
        }
        // Newest at the bottom: keep the newest entries whose wrapped lines fit.
        let width = usize::from(inner.width.max(1));
        let mut room = usize::from(inner.height).saturating_sub(lines.len());
        let mut newest = Vec::new();
        for entry in call.timeline.iter().rev() {
            let line = Line::from(vec![
                Span::styled(format!("{}  ", entry.at), t.dim()),
                Span::raw(entry.text.clone()),
            ]);
            let rows = line.width().div_ceil(width).max(1);
            if rows > room {
                break;
            }
            room -= rows;
            newest.push(line);
        }
        lines.extend(newest.into_iter().rev());
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }
}
