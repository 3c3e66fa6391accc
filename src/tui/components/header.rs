//! The header line: who I am, the voice channel switch, my agent state (both clickable; in
//! after-call work a Ready button ends it) and the connection state.

use crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::button::{Button, HitMap};
use super::{Component, Ctx};
use crate::phone::protocol::AgentStateRequest;
use crate::tui::action::Action;
use crate::tui::model::{AgentStatus, Connection};
use crate::tui::strings;

/// The header component.
#[derive(Debug, Default)]
pub struct Header {
    hits: HitMap,
}

impl Header {
    fn voice_button(ctx: &Ctx) -> Button {
        let on = ctx.model.voice_active;
        let label = format!(
            "{}: {}",
            strings::VOICE,
            if on {
                strings::VOICE_ON
            } else {
                strings::VOICE_OFF
            }
        );
        let style = if on {
            ctx.theme.button_go()
        } else {
            ctx.theme.button()
        };
        Button::new(ctx.keys.voice.label(), label, style, Action::SetVoice(!on))
    }

    /// My state (opens the state menu), when the server lists me.
    fn state_button(ctx: &Ctx) -> Option<Button> {
        let s = &ctx.model.state;
        let left = s
            .wrap_up_until
            .map(|until| until.saturating_duration_since(ctx.now));
        let label = strings::my_state(s.status, s.away_reason.as_deref(), left)?;
        let style = match s.status {
            Some(AgentStatus::Available) => ctx.theme.button_go(),
            Some(AgentStatus::Away | AgentStatus::AfterCallWork) => ctx.theme.button_active(),
            _ => ctx.theme.button(),
        };
        Some(Button::new(
            ctx.keys.state.label(),
            label,
            style,
            Action::OpenStateMenu,
        ))
    }

    /// In after-call work: Ready ends it.
    fn ready_button(ctx: &Ctx) -> Option<Button> {
        (ctx.model.state.status == Some(AgentStatus::AfterCallWork)).then(|| {
            Button::new(
                ctx.keys.ready.label(),
                strings::BTN_READY,
                ctx.theme.button_go(),
                Action::SetState(AgentStateRequest::Available),
            )
        })
    }
}

impl Component for Header {
    fn handle_key(&mut self, key: KeyEvent, ctx: &Ctx) -> Option<Action> {
        let k = ctx.keys;
        if k.voice.matches(&key) {
            Some(Action::SetVoice(!ctx.model.voice_active))
        } else if k.state.matches(&key) {
            Self::state_button(ctx).map(|b| b.action)
        } else if k.ready.matches(&key) {
            Self::ready_button(ctx).map(|b| b.action)
        } else {
            None
        }
    }

    fn handle_mouse(&mut self, mouse: MouseEvent, _ctx: &Ctx) -> Option<Action> {
        self.hits.hit(&mouse)
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        self.hits.clear();
        let me = &ctx.model.me;
        let who = format!(" {} ({})  ", me.display, me.user);
        let who_span = Span::styled(who, ctx.theme.title());
        let who_w = who_span.width() as u16;
        frame.render_widget(Line::from(who_span), area);

        let voice = Self::voice_button(ctx);
        let mut x = area.x.saturating_add(who_w);
        let mut w = self
            .hits
            .button(frame, area, (x, area.y), &voice, &ctx.theme);
        for b in [Self::state_button(ctx), Self::ready_button(ctx)]
            .into_iter()
            .flatten()
        {
            x = x.saturating_add(w + 2);
            w = self.hits.button(frame, area, (x, area.y), &b, &ctx.theme);
        }

        let conn = &ctx.model.connection;
        let style = match conn {
            Connection::Online => ctx.theme.ok(),
            Connection::Registering => ctx.theme.warn(),
            Connection::Offline { .. } | Connection::Refused { .. } => ctx.theme.error(),
        };
        let text = format!(
            "  {} {}",
            strings::connection_marker(conn),
            strings::connection(conn, ctx.now)
        );
        let conn_span = Span::styled(text, style);
        let conn_x = x.saturating_add(w);
        let conn_w = conn_span.width() as u16;
        let rect = Rect::new(conn_x, area.y, conn_w, 1).intersection(area);
        frame.render_widget(Line::from(conn_span), rect);

        // The program's name goes right-aligned, only when it fits.
        let name_w = strings::APP_NAME.len() as u16 + 1;
        let used = conn_x.saturating_add(conn_w).saturating_sub(area.x);
        if area.width > used + name_w + 2 {
            let r = Rect::new(area.right() - name_w, area.y, name_w, 1);
            frame.render_widget(Span::styled(strings::APP_NAME, ctx.theme.dim()), r);
        }
    }
}
