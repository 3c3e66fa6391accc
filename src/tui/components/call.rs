//! The call component (C1): customer and timer, participants with state and level, the buttons
//! Mute · Hold · Transfer · Hang up, the transfer status line and the quality line.

use crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Padding, Paragraph};
use ratatui::Frame;

use super::button::{Button, HitMap};
use super::meter::meter;
use super::{Component, Ctx};
use crate::tui::action::Action;
use crate::tui::model::{AgentStatus, CallView, Connection, Me, PartyState, TransferView};
use crate::tui::strings;
use crate::tui::theme::Theme;

/// Width of a participant's name column.
const NAME_COLUMN: usize = 22;
/// Cells of a participant's level meter.
const PARTICIPANT_METER: usize = 8;
/// Cells of the quality line's meters.
const QUALITY_METER: usize = 6;

/// The call component.
#[derive(Debug, Default)]
pub struct CallComponent {
    hits: HitMap,
}

impl CallComponent {
    /// Rows this component wants for the current model (borders included).
    pub fn wanted_height(ctx: &Ctx) -> u16 {
        match &ctx.model.call {
            // Title row, participants, blank, buttons, status, quality, two borders.
            Some(call) => 7 + call.participants.len() as u16,
            None => 5,
        }
    }

    /// Where the button for `action` was drawn last (for tests and mouse hit checks).
    pub fn button_rect(&self, action: &Action) -> Option<Rect> {
        self.hits.rect_of(action)
    }

    /// The four buttons, in the order C1 wants: Mute · Hold · Transfer · Hang up.
    fn buttons(call: &CallView, me: &Me, ctx: &Ctx) -> [Button; 4] {
        let t = &ctx.theme;
        let keys = ctx.keys;
        let muted = call.muted(me);
        let held = call.held(me);
        let (mute_label, mute_style) = if muted {
            (strings::BTN_UNMUTE, t.button_active())
        } else {
            (strings::BTN_MUTE, t.button())
        };
        let (hold_label, hold_style) = if listening(call, me) {
            (strings::BTN_HOLD, t.button_disabled())
        } else if held {
            (strings::BTN_RESUME, t.button_active())
        } else {
            (strings::BTN_HOLD, t.button())
        };
        let (transfer_label, transfer_action, transfer_style) = transfer_button(call, me, t);
        [
            Button::new(
                keys.mute.label(),
                mute_label,
                mute_style,
                Action::Mute(!muted),
            ),
            Button::new(
                keys.hold.label(),
                hold_label,
                hold_style,
                hold_action(call, me),
            ),
            Button::new(
                keys.transfer.label(),
                transfer_label,
                transfer_style,
                transfer_action,
            ),
            Button::new(
                keys.hangup.label(),
                strings::BTN_HANGUP,
                t.button_danger(),
                Action::Hangup,
            ),
        ]
    }

    fn draw_idle(&mut self, frame: &mut Frame, inner: Rect, ctx: &Ctx) {
        let state = &ctx.model.state;
        let hint = if ctx.model.connection != Connection::Online {
            strings::OFFLINE_HINT
        } else if !ctx.model.voice_active {
            strings::VOICE_OFF_HINT
        } else if state.status == Some(AgentStatus::Away) {
            strings::AWAY_HINT
        } else if state.status == Some(AgentStatus::AfterCallWork) {
            strings::WRAP_UP_HINT
        } else {
            strings::WAITING_HINT
        };
        let lines = vec![
            Line::from(Span::styled(strings::NO_CALL, ctx.theme.title())),
            Line::from(Span::styled(hint, ctx.theme.dim())),
        ];
        frame.render_widget(Paragraph::new(lines), inner);
    }

    fn draw_call(&mut self, frame: &mut Frame, inner: Rect, call: &CallView, ctx: &Ctx) {
        let t = ctx.theme;
        let me = &ctx.model.me;
        let mut lines: Vec<Line> = Vec::new();

        // Customer and timer on the first row; the timer is right-aligned below.
        let who = match &call.customer {
            Some(c) => Line::from(vec![
                Span::raw(format!("{}: ", strings::CUSTOMER)),
                Span::styled(c.clone(), t.title()),
            ]),
            None => Line::from(Span::styled(strings::INTERNAL_CALL, t.title())),
        };
        lines.push(who);

        // The state column is as wide as its longest word (at least 10).
        let state_w = call
            .participants
            .iter()
            .map(|p| strings::participant_state(p.state, p.muted).chars().count())
            .max()
            .unwrap_or(0)
            .max(9)
            + 1;
        for p in &call.participants {
            let mut name = p.name.clone();
            if p.user == me.user {
                name.push_str(strings::ME_SUFFIX);
            }
            let state_style = match p.state {
                PartyState::Talking if p.muted => t.warn(),
                PartyState::Talking => t.ok(),
                PartyState::Ringing | PartyState::OnHold => t.warn(),
                PartyState::Listening | PartyState::Whispering => t.dim(),
            };
            let mut spans = vec![
                Span::raw(format!(" {} ", if p.level > 0.05 { "◆" } else { "◇" })),
                Span::raw(column(&name, NAME_COLUMN)),
                Span::styled(format!("{:<9}", strings::role(p.role)), t.dim()),
                Span::styled(
                    format!("{:<state_w$}", strings::participant_state(p.state, p.muted)),
                    state_style,
                ),
            ];
            if matches!(
                p.state,
                PartyState::Talking | PartyState::Listening | PartyState::Whispering
            ) {
                spans.push(Span::styled(meter(p.level, PARTICIPANT_METER), t.meter()));
            } else if let Some(since) = p.held_since {
                // A held party has no level to show: how long they have been waiting instead.
                let held = strings::timer(ctx.now.saturating_duration_since(since));
                spans.push(Span::styled(
                    format!("{held:<PARTICIPANT_METER$}"),
                    t.warn(),
                ));
            } else {
                spans.push(Span::raw(" ".repeat(PARTICIPANT_METER)));
            }
            lines.push(Line::from(spans));
        }
        lines.push(Line::default());
        let buttons_row = lines.len() as u16;
        lines.push(Line::default());

        let status_style = match call.transfer {
            TransferView::Failed { .. } => t.error(),
            TransferView::Completed { .. } => t.ok(),
            _ => t.warn(),
        };
        let mut status = transfer_line(call);
        if let Some(what) = strings::hangup_during_transfer(&call.transfer, &me.user) {
            status.push_str(what);
        }
        lines.push(Line::from(Span::styled(status, status_style)));

        let q = &call.quality;
        lines.push(Line::from(vec![
            Span::raw(format!("{} ", strings::MIC)),
            Span::styled(meter(q.mic_level, QUALITY_METER), t.meter()),
            Span::raw(format!(" {} ", strings::SPEAKER)),
            Span::styled(meter(q.speaker_level, QUALITY_METER), t.meter()),
            Span::styled(
                format!(
                    "  {}",
                    strings::quality_figures(q.jitter_ms, q.loss_pct, q.rtt_ms)
                ),
                t.dim(),
            ),
        ]));
        frame.render_widget(Paragraph::new(lines), inner);

        let timer = strings::timer(ctx.now.saturating_duration_since(call.started_at));
        let tw = timer.len() as u16;
        if inner.width > tw {
            let r = Rect::new(inner.right() - tw, inner.y, tw, 1);
            frame.render_widget(Span::styled(timer, t.title()), r);
        }

        if buttons_row < inner.height {
            let row = Rect::new(inner.x, inner.y + buttons_row, inner.width, 1);
            let buttons = Self::buttons(call, me, ctx);
            self.hits.row(frame, row, &buttons, &t);
        }
    }
}

/// `text` in a column of `width` cells that always ends with a space, so that it never runs into
/// the next column: padded, or cut with `…` (a URI without display name is often longer).
fn column(text: &str, width: usize) -> String {
    let room = width.saturating_sub(1);
    let shown: String = if text.chars().count() > room {
        let mut cut: String = text.chars().take(room.saturating_sub(1)).collect();
        cut.push('…');
        cut
    } else {
        text.to_string()
    };
    format!("{shown:<width$}")
}

/// The transfer status line; during a consultation it tells whether the customer is on hold,
/// talking with both agents (T5) or gone (T9).
fn transfer_line(call: &CallView) -> String {
    match &call.transfer {
        TransferView::Consulting { target, .. } => match call.customer_participant() {
            None if call.customer.is_some() => strings::transfer_customer_left(target),
            Some(c) if c.state == PartyState::Talking => strings::transfer_three_way(target),
            _ => strings::transfer_status(&call.transfer).unwrap_or_default(),
        },
        other => strings::transfer_status(other).unwrap_or_default(),
    }
}

/// I only listen (a trainee): holding is not mine to do.
fn listening(call: &CallView, me: &Me) -> bool {
    call.me(me)
        .is_some_and(|p| matches!(p.state, PartyState::Listening | PartyState::Whispering))
}

/// Hold / resume, or why a listener cannot.
fn hold_action(call: &CallView, me: &Me) -> Action {
    if listening(call, me) {
        Action::Explain(strings::LISTENER_CANNOT_HOLD.to_string())
    } else {
        Action::Hold(!call.held(me))
    }
}

/// Transfer turns into Cancel while the target rings and into Complete once they joined — but
/// only for the agent who asked for the transfer; the others' Transfer says why it cannot work.
fn transfer_button(
    call: &CallView,
    me: &Me,
    t: &Theme,
) -> (&'static str, Action, ratatui::style::Style) {
    match &call.transfer {
        TransferView::Ringing { by, .. } if *by == me.user => (
            strings::BTN_CANCEL_TRANSFER,
            Action::CancelTransfer,
            t.button_active(),
        ),
        TransferView::Consulting { by, .. } if *by == me.user => (
            strings::BTN_COMPLETE_TRANSFER,
            Action::CompleteTransfer,
            t.button_active(),
        ),
        TransferView::Ringing { target, .. } | TransferView::Consulting { target, .. } => (
            strings::BTN_TRANSFER,
            Action::Explain(strings::transfer_under_way(target)),
            t.button_disabled(),
        ),
        _ => (strings::BTN_TRANSFER, Action::OpenTransfer, t.button()),
    }
}

impl Component for CallComponent {
    fn handle_key(&mut self, key: KeyEvent, ctx: &Ctx) -> Option<Action> {
        let call = ctx.model.call.as_ref()?;
        let me = &ctx.model.me;
        let keys = ctx.keys;
        if keys.mute.matches(&key) {
            Some(Action::Mute(!call.muted(me)))
        } else if keys.hold.matches(&key) {
            Some(hold_action(call, me))
        } else if keys.transfer.matches(&key) {
            Some(transfer_button(call, me, &ctx.theme).1)
        } else if keys.hangup.matches(&key) {
            Some(Action::Hangup)
        } else {
            None
        }
    }

    fn handle_mouse(&mut self, mouse: MouseEvent, ctx: &Ctx) -> Option<Action> {
        ctx.model.call.as_ref()?;
        self.hits.hit(&mouse)
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        self.hits.clear();
        let block = Block::default()
            .borders(Borders::ALL)
            .padding(Padding::horizontal(1))
            .title(Span::styled(
                format!(" {} ", strings::CALL_TITLE),
                ctx.theme.title(),
            ));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        match &ctx.model.call {
            Some(call) => self.draw_call(frame, inner, call, ctx),
            None => self.draw_idle(frame, inner, ctx),
        }
    }
}
