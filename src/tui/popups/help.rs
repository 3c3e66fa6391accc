//! The help overlay (`?`): every binding with what it does, from the key config itself.

use crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Padding, Paragraph};
use ratatui::Frame;

use super::{centered, Popup};
use crate::tui::action::Action;
use crate::tui::components::button::left_click;
use crate::tui::components::footer::Hint;
use crate::tui::components::{Component, Ctx};
use crate::tui::keys::KeyConfig;
use crate::tui::strings;

/// The help overlay.
#[derive(Debug, Default)]
pub struct HelpOverlay;

fn key_lines(k: &KeyConfig) -> Vec<(String, &'static str)> {
    vec![
        (k.mute.label(), strings::HELP_MUTE),
        (k.hold.label(), strings::HELP_HOLD),
        (k.transfer.label(), strings::HELP_TRANSFER),
        (k.hangup.label(), strings::HELP_HANGUP),
        (
            format!("{} / {}", k.answer.label(), k.confirm.label()),
            strings::HELP_ANSWER,
        ),
        (k.decline.label(), strings::HELP_DECLINE),
        (k.dial.label(), strings::HELP_DIAL),
        (k.voice.label(), strings::HELP_VOICE),
        (k.state.label(), strings::HELP_STATE),
        (k.ready.label(), strings::HELP_READY),
        (k.help.label(), strings::HELP_HELP),
        (
            format!("{} / {}", k.quit.label(), k.force_quit.label()),
            strings::HELP_QUIT,
        ),
    ]
}

impl Component for HelpOverlay {
    fn handle_key(&mut self, key: KeyEvent, ctx: &Ctx) -> Option<Action> {
        let k = ctx.keys;
        let closes = [&k.close, &k.help, &k.quit, &k.confirm];
        closes
            .iter()
            .any(|b| b.matches(&key))
            .then_some(Action::ClosePopup)
    }

    fn handle_mouse(&mut self, mouse: MouseEvent, _ctx: &Ctx) -> Option<Action> {
        left_click(&mouse).map(|_| Action::ClosePopup)
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = ctx.theme;
        let mut lines: Vec<Line> = key_lines(ctx.keys)
            .into_iter()
            .map(|(key, what)| {
                Line::from(vec![
                    Span::styled(format!("{key:<12}"), t.key()),
                    Span::raw(what),
                ])
            })
            .collect();
        lines.push(Line::default());
        for s in [
            strings::HELP_MODAL,
            strings::HELP_MODAL_2,
            strings::HELP_MOUSE,
        ] {
            lines.push(Line::from(Span::styled(s, t.dim())));
        }
        let rect = centered(area, 80, lines.len() as u16 + 2);
        frame.render_widget(Clear, rect);
        let block = Block::default()
            .borders(Borders::ALL)
            .padding(Padding::horizontal(1))
            .title(Span::styled(
                format!(" {} ", strings::HELP_TITLE),
                t.title(),
            ));
        frame.render_widget(Paragraph::new(lines).block(block), rect);
    }
}

impl Popup for HelpOverlay {
    fn hints(&self, ctx: &Ctx) -> Vec<Hint> {
        vec![Hint::new(ctx.keys.close.label(), strings::HINT_CLOSE)
            .on_click(Some(Action::ClosePopup))]
    }
}
