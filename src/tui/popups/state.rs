//! The agent-state menu (S1): Available, or Away for one of the server's reasons. Opened from the
//! header (key or click); Up/Down and Enter, or a click on a row, set the state.

use crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Padding};
use ratatui::Frame;

use super::{centered, Popup};
use crate::phone::protocol::AgentStateRequest;
use crate::tui::action::Action;
use crate::tui::components::button::HitMap;
use crate::tui::components::footer::Hint;
use crate::tui::components::{Component, Ctx};
use crate::tui::model::{AgentStatus, Model};
use crate::tui::strings;

/// The menu.
#[derive(Debug)]
pub struct StateMenu {
    selected: usize,
    hits: HitMap<usize>,
}

/// The menu's rows: Available, then Away for every reason of the server.
fn rows(model: &Model) -> Vec<(String, AgentStateRequest)> {
    let mut rows = vec![(
        strings::STATE_AVAILABLE.to_string(),
        AgentStateRequest::Available,
    )];
    rows.extend(model.state.away_reasons.iter().map(|r| {
        (
            strings::state_away(r),
            AgentStateRequest::Away { reason: r.clone() },
        )
    }));
    rows
}

/// The row of the state I am in now (0 when none matches).
fn current(model: &Model) -> usize {
    let s = &model.state;
    rows(model)
        .iter()
        .position(|(_, req)| match req {
            AgentStateRequest::Available => s.status == Some(AgentStatus::Available),
            AgentStateRequest::Away { reason } => {
                s.status == Some(AgentStatus::Away) && s.away_reason.as_ref() == Some(reason)
            }
        })
        .unwrap_or(0)
}

impl StateMenu {
    /// The menu with my current state selected.
    pub fn new(model: &Model) -> Self {
        StateMenu {
            selected: current(model),
            hits: HitMap::default(),
        }
    }

    /// The selected row.
    pub fn selected(&self) -> usize {
        self.selected
    }

    fn pick(model: &Model, row: usize) -> Option<Action> {
        rows(model)
            .into_iter()
            .nth(row)
            .map(|(_, req)| Action::SetState(req))
    }
}

impl Component for StateMenu {
    fn handle_key(&mut self, key: KeyEvent, ctx: &Ctx) -> Option<Action> {
        let k = ctx.keys;
        let n = rows(ctx.model).len();
        if k.close.matches(&key) || k.state.matches(&key) {
            Some(Action::ClosePopup)
        } else if k.confirm.matches(&key) {
            Self::pick(ctx.model, self.selected)
        } else if k.up.matches(&key) {
            self.selected = self.selected.saturating_sub(1);
            None
        } else if k.down.matches(&key) {
            self.selected = (self.selected + 1).min(n.saturating_sub(1));
            None
        } else {
            None
        }
    }

    fn handle_mouse(&mut self, mouse: MouseEvent, ctx: &Ctx) -> Option<Action> {
        let row = self.hits.hit(&mouse)?;
        Self::pick(ctx.model, row)
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        self.hits.clear();
        let t = ctx.theme;
        let rows = rows(ctx.model);
        let now = current(ctx.model);
        let height = rows.len() as u16 + 3;
        let rect = centered(area, 34, height);
        frame.render_widget(Clear, rect);
        let block = Block::default()
            .borders(Borders::ALL)
            .padding(Padding::horizontal(1))
            .title(Span::styled(
                format!(" {} ", strings::STATE_TITLE),
                t.title(),
            ));
        let inner = block.inner(rect);
        frame.render_widget(block, rect);
        for (i, (label, _)) in rows.iter().enumerate() {
            let y = inner.y + i as u16;
            if y >= inner.bottom() {
                break;
            }
            let mark = if i == now && ctx.model.state.status.is_some() {
                "● "
            } else {
                "  "
            };
            let style = if i == self.selected {
                t.selected()
            } else {
                t.normal()
            };
            let text = format!("{mark}{label}");
            let r = Rect::new(inner.x, y, inner.width, 1);
            frame.render_widget(Line::from(Span::styled(text, style)), r);
            self.hits.add(r, i);
        }
        if ctx.model.state.away_reasons.is_empty() {
            let y = inner.y + rows.len() as u16;
            if y < inner.bottom() {
                let r = Rect::new(inner.x, y, inner.width, 1);
                frame.render_widget(Span::styled(strings::STATE_NO_REASONS, t.dim()), r);
            }
        }
    }
}

impl Popup for StateMenu {
    fn hints(&self, ctx: &Ctx) -> Vec<Hint> {
        let k = ctx.keys;
        vec![
            Hint::new(k.confirm.label(), strings::HINT_SET_STATE),
            Hint::new(k.close.label(), strings::HINT_CLOSE).on_click(Some(Action::ClosePopup)),
        ]
    }
}
