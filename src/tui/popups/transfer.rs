//! The transfer modal (M1–M6): Agent / Team tabs, type-to-filter, status per row (agents who
//! cannot take the call are shown greyed with the reason and cannot be picked), an optional
//! reason, the listen-only option, Enter to transfer, Esc to close. The rows are rebuilt from the
//! model at every draw and key, so the lists follow the directory live while the modal is open.

use crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Padding};
use ratatui::Frame;

use super::transfer_rows::{agent_rows, team_rows, Row};
use super::{centered, Popup};
use crate::tui::action::{Action, TransferTarget};
use crate::tui::components::button::{Button, HitMap};
use crate::tui::components::footer::Hint;
use crate::tui::components::{Component, Ctx};
use crate::tui::keys::typed_char;
use crate::tui::model::Model;
use crate::tui::strings;

/// Width of the name column.
const NAME_COLUMN: usize = 24;

/// The modal's tabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    /// Pick an agent.
    Agent,
    /// Pick a team.
    Team,
}

/// Which field keys go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// The filter (typing) and the list (arrows).
    List,
    /// The reason line.
    Reason,
    /// The listen-only check box.
    ListenOnly,
}

/// Clickable spots of the modal.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Spot {
    Tab(Tab),
    Row(String),
    Reason,
    ListenOnly,
    Confirm,
    Cancel,
}

/// The transfer modal's state.
#[derive(Debug)]
pub struct TransferModal {
    tab: Tab,
    field: Field,
    agent_filter: String,
    team_filter: String,
    reason: String,
    listen_only: bool,
    /// The picked row's key; kept by key so live updates do not move the selection.
    selected: Option<String>,
    hits: HitMap<Spot>,
}

impl Default for TransferModal {
    fn default() -> Self {
        Self::new()
    }
}

impl TransferModal {
    /// A fresh modal on the Agent tab.
    pub fn new() -> Self {
        TransferModal {
            tab: Tab::Agent,
            field: Field::List,
            agent_filter: String::new(),
            team_filter: String::new(),
            reason: String::new(),
            listen_only: false,
            selected: None,
            hits: HitMap::default(),
        }
    }

    /// The tab shown.
    pub fn tab(&self) -> Tab {
        self.tab
    }

    /// The focused field.
    pub fn field(&self) -> Field {
        self.field
    }

    /// The current tab's filter.
    pub fn filter(&self) -> &str {
        match self.tab {
            Tab::Agent => &self.agent_filter,
            Tab::Team => &self.team_filter,
        }
    }

    /// The reason typed so far.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The listen-only option.
    pub fn listen_only(&self) -> bool {
        self.listen_only
    }

    /// The current tab's rows, filtered.
    pub fn rows(&self, model: &Model) -> Vec<Row> {
        match self.tab {
            Tab::Agent => agent_rows(model, &self.agent_filter),
            Tab::Team => team_rows(model, &self.team_filter),
        }
    }

    /// The selected row's index: the remembered one if still pickable, else the first pickable.
    pub fn selected_index(&self, rows: &[Row]) -> Option<usize> {
        self.selected
            .as_ref()
            .and_then(|k| rows.iter().position(|r| &r.key == k && r.pickable))
            .or_else(|| rows.iter().position(|r| r.pickable))
    }

    /// The key of the selected row, if any.
    pub fn selected_key(&self, model: &Model) -> Option<String> {
        let rows = self.rows(model);
        self.selected_index(&rows)
            .and_then(|i| rows.get(i))
            .map(|r| r.key.clone())
    }

    fn filter_mut(&mut self) -> &mut String {
        match self.tab {
            Tab::Agent => &mut self.agent_filter,
            Tab::Team => &mut self.team_filter,
        }
    }

    fn switch_tab(&mut self, tab: Tab) {
        if self.tab != tab {
            self.tab = tab;
            self.selected = None;
        }
        self.field = Field::List;
    }

    /// Move the selection to the next (`down`) or previous pickable row.
    fn move_selection(&mut self, model: &Model, down: bool) {
        let rows = self.rows(model);
        let current = self.selected_index(&rows);
        let pickable = |i: &usize| rows.get(*i).is_some_and(|r| r.pickable);
        let next = match (current, down) {
            (None, _) => None,
            (Some(c), true) => (c + 1..rows.len()).find(pickable),
            (Some(c), false) => (0..c).rev().find(pickable),
        };
        if let Some(row) = next.and_then(|i| rows.get(i)) {
            self.selected = Some(row.key.clone());
        }
    }

    /// The transfer Enter asks for, when a pickable row is selected; else why there is none
    /// (issue 10 #6: an empty list or nobody free says so).
    fn confirm(&self, model: &Model) -> Option<Action> {
        let Some(key) = self.selected_key(model) else {
            let listed = !self.rows(model).is_empty();
            return Some(Action::Explain(
                strings::nobody_to_transfer_to(self.tab == Tab::Team, listed).to_string(),
            ));
        };
        let target = match self.tab {
            Tab::Agent => TransferTarget::Agent(key),
            Tab::Team => TransferTarget::Team(key),
        };
        let reason = self.reason.trim();
        Some(Action::Transfer {
            target,
            reason: (!reason.is_empty()).then(|| reason.to_string()),
            listen_only: self.listen_only,
        })
    }

    fn next_field(&mut self, forward: bool) {
        self.field = match (self.field, forward) {
            (Field::List, true) | (Field::ListenOnly, false) => Field::Reason,
            (Field::Reason, true) | (Field::List, false) => Field::ListenOnly,
            (Field::ListenOnly, true) | (Field::Reason, false) => Field::List,
        };
    }

    fn draw_tabs(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let mut x = area.x;
        for (tab, label) in [
            (Tab::Agent, strings::TAB_AGENT),
            (Tab::Team, strings::TAB_TEAM),
        ] {
            let active = tab == self.tab;
            // Brackets mark the active tab even without colour.
            let text = if active {
                format!("[{label}]")
            } else {
                format!(" {label} ")
            };
            let style = if active {
                ctx.theme.selected()
            } else {
                ctx.theme.normal()
            };
            let w = text.chars().count() as u16;
            let rect = Rect::new(x, area.y, w, 1).intersection(area);
            frame.render_widget(Span::styled(text, style), rect);
            self.hits.add(rect, Spot::Tab(tab));
            x = x.saturating_add(w + 2);
        }
        let hint = format!(
            "{}/{} {}",
            ctx.keys.tab_left.label(),
            ctx.keys.tab_right.label(),
            strings::HINT_TABS
        );
        let hw = hint.chars().count() as u16;
        if area.width > hw + (x - area.x) {
            let rect = Rect::new(area.right() - hw, area.y, hw, 1);
            frame.render_widget(Span::styled(hint, ctx.theme.dim()), rect);
        }
    }

    fn field_line(&self, label: &str, value: &str, field: Field, ctx: &Ctx) -> Line<'static> {
        let focused = self.field == field;
        let label_style = if focused {
            ctx.theme.title()
        } else {
            ctx.theme.normal()
        };
        // A visible "_" cursor: snapshots and NO_COLOR terminals show which field types.
        let cursor = if focused { "_" } else { "" };
        Line::from(vec![
            Span::styled(format!("{label}: "), label_style),
            Span::raw(format!("{value}{cursor}")),
        ])
    }

    fn draw_rows(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let rows = self.rows(ctx.model);
        let selected = self.selected_index(&rows);
        if rows.is_empty() {
            let empty = match self.tab {
                Tab::Agent => strings::NO_AGENTS,
                Tab::Team => strings::NO_TEAMS,
            };
            frame.render_widget(Span::styled(empty, ctx.theme.dim()), area);
            return;
        }
        // Scroll so the selection stays visible.
        let height = area.height as usize;
        let first = selected.map_or(0, |s| s.saturating_sub(height.saturating_sub(1)));
        for (line, (i, row)) in rows.iter().enumerate().skip(first).take(height).enumerate() {
            let is_selected = Some(i) == selected;
            let marker = if is_selected { "▶" } else { " " };
            let text = format!(
                "{marker} {:<NAME_COLUMN$.NAME_COLUMN$} {}",
                row.name, row.status
            );
            let style = if is_selected {
                ctx.theme.selected()
            } else if row.pickable {
                ctx.theme.normal()
            } else {
                ctx.theme.dim()
            };
            let rect = Rect::new(area.x, area.y + line as u16, area.width, 1);
            frame.render_widget(Span::styled(text, style), rect);
            self.hits.add(rect, Spot::Row(row.key.clone()));
        }
    }
}

impl Component for TransferModal {
    fn handle_key(&mut self, key: KeyEvent, ctx: &Ctx) -> Option<Action> {
        let keys = ctx.keys;
        let model = ctx.model;
        if keys.close.matches(&key) {
            return Some(Action::ClosePopup);
        }
        if keys.confirm.matches(&key) {
            return self.confirm(model);
        }
        if keys.next_field.matches(&key) || keys.prev_field.matches(&key) {
            self.next_field(keys.next_field.matches(&key));
            return None;
        }
        match self.field {
            Field::List => {
                if keys.tab_left.matches(&key) {
                    self.switch_tab(Tab::Agent);
                } else if keys.tab_right.matches(&key) {
                    self.switch_tab(Tab::Team);
                } else if keys.up.matches(&key) || keys.down.matches(&key) {
                    self.move_selection(model, keys.down.matches(&key));
                } else if keys.backspace.matches(&key) {
                    self.filter_mut().pop();
                } else if let Some(c) = typed_char(&key) {
                    self.filter_mut().push(c);
                }
            }
            Field::Reason => {
                if keys.backspace.matches(&key) {
                    self.reason.pop();
                } else if let Some(c) = typed_char(&key) {
                    self.reason.push(c);
                }
            }
            Field::ListenOnly => {
                if keys.toggle.matches(&key) {
                    self.listen_only = !self.listen_only;
                }
            }
        }
        None
    }

    fn handle_mouse(&mut self, mouse: MouseEvent, ctx: &Ctx) -> Option<Action> {
        match self.hits.hit(&mouse)? {
            Spot::Tab(tab) => self.switch_tab(tab),
            Spot::Row(key) => {
                // Re-check against the live list: the row may have changed since the draw.
                if self
                    .rows(ctx.model)
                    .iter()
                    .any(|r| r.key == key && r.pickable)
                {
                    self.selected = Some(key);
                    self.field = Field::List;
                }
            }
            Spot::Reason => self.field = Field::Reason,
            Spot::ListenOnly => {
                self.field = Field::ListenOnly;
                self.listen_only = !self.listen_only;
            }
            Spot::Confirm => return self.confirm(ctx.model),
            Spot::Cancel => return Some(Action::ClosePopup),
        }
        None
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        self.hits.clear();
        let rect = centered(area, 74, 18);
        frame.render_widget(Clear, rect);
        let block = Block::default()
            .borders(Borders::ALL)
            .padding(Padding::horizontal(1))
            .title(Span::styled(
                format!(" {} ", strings::TRANSFER_TITLE),
                ctx.theme.title(),
            ));
        let inner = block.inner(rect);
        frame.render_widget(block, rect);
        if inner.height < 8 || inner.width < 20 {
            return;
        }
        let row = |n: u16| Rect::new(inner.x, inner.y + n, inner.width, 1);
        let bottom = |n: u16| Rect::new(inner.x, inner.bottom() - n, inner.width, 1);

        self.draw_tabs(frame, row(0), ctx);
        let filter = self.filter().to_string();
        frame.render_widget(
            self.field_line(strings::FILTER, &filter, Field::List, ctx),
            row(1),
        );
        let list = Rect::new(inner.x, inner.y + 2, inner.width, inner.height - 7);
        self.draw_rows(frame, list, ctx);

        let reason_rect = bottom(4);
        frame.render_widget(
            self.field_line(strings::REASON_FIELD, &self.reason, Field::Reason, ctx),
            reason_rect,
        );
        self.hits.add(reason_rect, Spot::Reason);

        let check = if self.listen_only { "[x]" } else { "[ ]" };
        let listen_style = if self.field == Field::ListenOnly {
            ctx.theme.title()
        } else {
            ctx.theme.normal()
        };
        let listen_rect = bottom(3);
        let text = format!("{check} {}", strings::LISTEN_ONLY);
        let w = (text.chars().count() as u16).min(listen_rect.width);
        let listen_rect = Rect::new(listen_rect.x, listen_rect.y, w, 1);
        frame.render_widget(Span::styled(text, listen_style), listen_rect);
        self.hits.add(listen_rect, Spot::ListenOnly);

        let buttons = bottom(1);
        let can_confirm = self.selected_key(ctx.model).is_some();
        let confirm_style = if can_confirm {
            ctx.theme.button_go()
        } else {
            ctx.theme.dim()
        };
        let confirm = Button::new(
            ctx.keys.confirm.label(),
            strings::BTN_DO_TRANSFER,
            confirm_style,
            Action::ClosePopup,
        );
        let cancel = Button::new(
            ctx.keys.close.label(),
            strings::BTN_CANCEL,
            ctx.theme.button(),
            Action::ClosePopup,
        );
        let t = ctx.theme;
        let w = self.hits.button_as(
            frame,
            buttons,
            (buttons.x, buttons.y),
            &confirm,
            &t,
            Spot::Confirm,
        );
        self.hits.button_as(
            frame,
            buttons,
            (buttons.x + w + 2, buttons.y),
            &cancel,
            &t,
            Spot::Cancel,
        );
    }
}

impl Popup for TransferModal {
    fn hints(&self, ctx: &Ctx) -> Vec<Hint> {
        let k = ctx.keys;
        let mut hints = vec![
            Hint::new(k.confirm.label(), strings::HINT_CONFIRM_TRANSFER),
            Hint::new(k.close.label(), strings::HINT_CLOSE).on_click(Some(Action::ClosePopup)),
        ];
        // Only the keys of the focused field, so the line fits 80 columns.
        match self.field {
            Field::List => {
                hints.push(Hint::new(
                    format!("{}/{}", k.up.label(), k.down.label()),
                    strings::HINT_PICK,
                ));
                hints.push(Hint::new(
                    format!("{}/{}", k.tab_left.label(), k.tab_right.label()),
                    strings::HINT_TABS,
                ));
                hints.push(Hint::new(k.next_field.label(), strings::HINT_TO_REASON));
            }
            Field::Reason => {
                hints.push(Hint::new(k.next_field.label(), strings::HINT_TO_LISTEN));
            }
            Field::ListenOnly => {
                hints.push(Hint::new(k.toggle.label(), strings::HINT_TOGGLE));
                hints.push(Hint::new(k.next_field.label(), strings::HINT_TO_LIST));
            }
        }
        hints
    }
}
