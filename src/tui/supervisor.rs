//! The supervisor view (SPEC V1, V2; `agentphone --supervisor`): per team the customers waiting,
//! the longest wait, calls and abandoned calls today; every agent's state and time in it; the
//! calls under way. Up/down picks a call; `l` listens, `w` whispers (heard by the agent only),
//! `b` barges — on the picked call, or, once in a call, switches how I am in it. Plain data in,
//! one [`Action`] out; the adapter (`supervisor_adapter.rs`) builds the [`Floor`].

use std::time::{Duration, Instant};

use crossterm::event::{KeyEvent, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::action::Action;
use super::components::button::{Button, HitMap};
use super::components::footer::Hint;
use super::components::{Component, Ctx};
use super::model::AgentStatus;
use super::strings;

/// How a supervisor is in a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuperviseMode {
    /// Hears everyone, heard by no one.
    Listen,
    /// Heard by the agent only.
    Whisper,
    /// A full party.
    Barge,
}

/// The floor as the supervisor view shows it.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Floor {
    /// Teams in configured order.
    pub teams: Vec<FloorTeam>,
    /// Agents in configured order.
    pub agents: Vec<FloorAgent>,
    /// Calls under way, oldest first.
    pub calls: Vec<FloorCall>,
    /// Calls not listed (past the server's limit).
    pub more_calls: u32,
}

/// One team's queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FloorTeam {
    /// Name.
    pub name: String,
    /// Customers waiting.
    pub waiting: u32,
    /// Since when the longest-waiting one waits.
    pub longest_since: Option<Instant>,
    /// Customer calls today.
    pub calls_today: u32,
    /// Of those, ended before an answer.
    pub abandoned_today: u32,
}

/// One agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FloorAgent {
    /// Display name.
    pub name: String,
    /// Status.
    pub status: AgentStatus,
    /// Why away.
    pub away_reason: Option<String>,
    /// In this status since.
    pub since: Option<Instant>,
}

/// One call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FloorCall {
    /// The room's number (what supervise joins).
    pub room: String,
    /// The team called.
    pub team: Option<String>,
    /// Who is in it, in plain words ("Sam Carter · Bob Stone · Sue Park whispering").
    pub who: String,
    /// Answered yet.
    pub answered: bool,
    /// Since when (answered: since the answer; waiting: since the call came in).
    pub since: Instant,
}

/// The supervisor panel: which call is picked, where the call rows and the buttons were drawn.
#[derive(Debug, Default)]
pub struct SupervisorPanel {
    selected: usize,
    rows: Vec<(Rect, usize)>,
    buttons: HitMap,
}

/// The three ways to be in a call, in button order.
const MODES: [SuperviseMode; 3] = [
    SuperviseMode::Listen,
    SuperviseMode::Whisper,
    SuperviseMode::Barge,
];

impl SupervisorPanel {
    /// The call picked now, if there is one.
    pub fn selected_call<'a>(&self, floor: &'a Floor) -> Option<&'a FloorCall> {
        floor
            .calls
            .get(self.selected.min(floor.calls.len().saturating_sub(1)))
    }

    /// The footer's hints (clickable, like the buttons).
    pub fn hints(&self, ctx: &Ctx) -> Vec<Hint> {
        MODES
            .iter()
            .map(|&mode| {
                let (key, label) = key_and_label(mode, ctx);
                Hint::new(key, label).on_click(self.supervise(mode, ctx))
            })
            .collect()
    }

    /// The buttons under the calls: on the picked call, or, once in a call, how I am in it.
    fn buttons(&self, ctx: &Ctx) -> Vec<Button> {
        MODES
            .iter()
            .filter_map(|&mode| {
                // No call to join: no buttons (the keys say why).
                let action = self
                    .supervise(mode, ctx)
                    .filter(|a| !matches!(a, Action::Explain(_)))?;
                let (key, label) = key_and_label(mode, ctx);
                Some(Button::new(key, label, ctx.theme.button(), action))
            })
            .collect()
    }

    /// The action of `mode` now: in my call, switch; else join the picked call.
    fn supervise(&self, mode: SuperviseMode, ctx: &Ctx) -> Option<Action> {
        if ctx.model.call.is_some() {
            return Some(Action::Supervise { room: None, mode });
        }
        let floor = ctx.model.floor.as_ref()?;
        match self.selected_call(floor) {
            Some(call) => Some(Action::Supervise {
                room: Some(call.room.clone()),
                mode,
            }),
            None => Some(Action::Explain(strings::SUPERVISE_NO_CALL.into())),
        }
    }
}

impl Component for SupervisorPanel {
    fn handle_key(&mut self, key: KeyEvent, ctx: &Ctx) -> Option<Action> {
        let k = ctx.keys;
        let calls = ctx.model.floor.as_ref().map_or(0, |f| f.calls.len());
        if k.up.matches(&key) {
            self.selected = self.selected.min(calls.saturating_sub(1)).saturating_sub(1);
            None
        } else if k.down.matches(&key) {
            self.selected = (self.selected + 1).min(calls.saturating_sub(1));
            None
        } else if k.listen.matches(&key) {
            self.supervise(SuperviseMode::Listen, ctx)
        } else if k.whisper.matches(&key) {
            self.supervise(SuperviseMode::Whisper, ctx)
        } else if k.barge.matches(&key) {
            self.supervise(SuperviseMode::Barge, ctx)
        } else {
            None
        }
    }

    fn handle_mouse(&mut self, mouse: MouseEvent, _ctx: &Ctx) -> Option<Action> {
        if let MouseEventKind::Down(_) = mouse.kind {
            let hit = self.rows.iter().find(|(r, _)| {
                mouse.row == r.y && mouse.column >= r.x && mouse.column < r.x + r.width
            });
            if let Some((_, i)) = hit {
                self.selected = *i;
                return None;
            }
        }
        self.buttons.hit(&mouse)
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        self.rows.clear();
        self.buttons.clear();
        let t = ctx.theme;
        let block = Block::default()
            .borders(Borders::TOP)
            .title(Span::styled(strings::SUPERVISOR_TITLE, t.title()));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let Some(floor) = ctx.model.floor.as_ref() else {
            frame.render_widget(
                Paragraph::new(Span::styled(strings::SUPERVISOR_WAITING, t.dim())),
                inner,
            );
            return;
        };
        let since = |at: Option<Instant>| {
            at.map_or_else(
                || "--:--".to_string(),
                |at| strings::timer(ctx.now.saturating_duration_since(at)),
            )
        };
        let mut lines = vec![Line::from(Span::styled(strings::SUPERVISOR_TEAMS, t.dim()))];
        for team in &floor.teams {
            lines.push(Line::from(format!(
                " {:<14}{:>9}{:>9}{:>7}{:>11}",
                team.name,
                team.waiting,
                since(team.longest_since),
                team.calls_today,
                team.abandoned_today
            )));
        }
        lines.push(Line::from(Span::styled(
            strings::SUPERVISOR_AGENTS,
            t.dim(),
        )));
        for a in &floor.agents {
            let state = strings::floor_status(a.status, a.away_reason.as_deref());
            lines.push(Line::from(format!(
                " {:<20}{:<24}{:>8}",
                column(&a.name, 19),
                column(&state, 23),
                since(a.since)
            )));
        }
        lines.push(Line::from(Span::styled(strings::SUPERVISOR_CALLS, t.dim())));
        let first_call_line = lines.len();
        if floor.calls.is_empty() {
            lines.push(Line::from(Span::styled(
                strings::SUPERVISOR_NO_CALLS,
                t.dim(),
            )));
        }
        let selected = self.selected.min(floor.calls.len().saturating_sub(1));
        for (i, call) in floor.calls.iter().enumerate() {
            let mark = if i == selected { '▸' } else { ' ' };
            let state = if call.answered {
                strings::FLOOR_TALKING
            } else {
                strings::FLOOR_WAITING
            };
            let text = format!(
                "{mark}{:>4}  {:<10}{:>6}  {:<8} {}",
                call.room,
                column(call.team.as_deref().unwrap_or("-"), 9),
                strings::timer(ctx.now.saturating_duration_since(call.since)),
                state,
                call.who
            );
            let style = if i == selected {
                t.selected()
            } else {
                t.normal()
            };
            lines.push(Line::from(Span::styled(text, style)));
        }
        if floor.more_calls > 0 {
            lines.push(Line::from(Span::styled(
                strings::more_calls(floor.more_calls),
                t.dim(),
            )));
        }
        for i in 0..floor.calls.len() {
            let y = inner.y + u16::try_from(first_call_line + i).unwrap_or(u16::MAX);
            if y < inner.y + inner.height {
                self.rows.push((Rect::new(inner.x, y, inner.width, 1), i));
            }
        }
        // The buttons go on the line after the calls.
        let buttons_y = inner
            .y
            .saturating_add(u16::try_from(lines.len()).unwrap_or(u16::MAX));
        frame.render_widget(Paragraph::new(lines), inner);
        let buttons = self.buttons(ctx);
        if buttons_y < inner.bottom() {
            let row = Rect::new(inner.x + 1, buttons_y, inner.width.saturating_sub(1), 1);
            self.buttons.row(frame, row, &buttons, &ctx.theme);
        }
    }
}

/// The key and the word of a mode.
fn key_and_label(mode: SuperviseMode, ctx: &Ctx) -> (String, &'static str) {
    let k = ctx.keys;
    match mode {
        SuperviseMode::Listen => (k.listen.label(), strings::SUPERVISE_LISTEN),
        SuperviseMode::Whisper => (k.whisper.label(), strings::SUPERVISE_WHISPER),
        SuperviseMode::Barge => (k.barge.label(), strings::SUPERVISE_BARGE),
    }
}

/// `text` cut to `width` characters (with … when cut).
fn column(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// How long ago, for tests that build floors relative to a fixed now.
pub fn ago(now: Instant, secs: u64) -> Instant {
    now.checked_sub(Duration::from_secs(secs)).unwrap_or(now)
}
