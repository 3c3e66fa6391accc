//! My call history (issue 10): the server's records of my recent calls — time, who, team, how
//! long, transfers, how it ended, the disposition I set — and, below, the disposition of my last
//! call: Left/Right (or Up/Down) pick the code, typing writes the note, Enter stores both.

use crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Padding, Paragraph};
use ratatui::Frame;

use super::{centered, Popup};
use crate::tui::action::Action;
use crate::tui::components::footer::Hint;
use crate::tui::components::{Component, Ctx};
use crate::tui::keys::typed_char;
use crate::tui::model::HistoryRow;
use crate::tui::strings;

/// Most characters of a note (the server's limit is 500).
const NOTE_MAX: usize = 200;

/// The panel: the code picked and the note typed for my last call.
#[derive(Debug, Default)]
pub struct HistoryPanel {
    code: usize,
    note: String,
}

impl HistoryPanel {
    /// Nothing picked yet (the first code).
    pub fn new() -> Self {
        HistoryPanel::default()
    }

    /// The code index picked and the note typed.
    pub fn choice(&self) -> (usize, &str) {
        (self.code, &self.note)
    }
}

/// One call as one line.
fn row_text(r: &HistoryRow) -> String {
    let mut s = format!(
        "{}  {:<18.18} {:<10.10} {:>6}  {}",
        r.at,
        r.customer,
        r.team.as_deref().unwrap_or("—"),
        strings::timer(std::time::Duration::from_secs(r.duration_s)),
        r.outcome
    );
    if r.transfers > 0 {
        s += &format!(
            ", {} transfer{}",
            r.transfers,
            if r.transfers == 1 { "" } else { "s" }
        );
    }
    if let Some(d) = &r.disposition {
        s += &format!("  [{d}]");
    }
    if let Some(n) = &r.note {
        s += &format!(" {n}");
    }
    s
}

impl Component for HistoryPanel {
    fn handle_key(&mut self, key: KeyEvent, ctx: &Ctx) -> Option<Action> {
        let k = ctx.keys;
        let codes = ctx.model.history.as_ref().map_or(&[][..], |h| &h.codes[..]);
        if k.close.matches(&key) {
            Some(Action::ClosePopup)
        } else if k.confirm.matches(&key) {
            let has_call = ctx
                .model
                .history
                .as_ref()
                .is_some_and(|h| !h.calls.is_empty());
            let code = codes.get(self.code).filter(|_| has_call)?;
            Some(Action::SetDisposition {
                code: code.clone(),
                note: self.note.clone(),
            })
        } else if k.up.matches(&key) || k.tab_left.matches(&key) {
            self.code = self.code.saturating_sub(1);
            None
        } else if k.down.matches(&key) || k.tab_right.matches(&key) {
            self.code = (self.code + 1).min(codes.len().saturating_sub(1));
            None
        } else if k.backspace.matches(&key) {
            self.note.pop();
            None
        } else if let Some(c) = typed_char(&key) {
            if self.note.chars().count() < NOTE_MAX {
                self.note.push(c);
            }
            None
        } else {
            None
        }
    }

    fn handle_mouse(&mut self, _mouse: MouseEvent, _ctx: &Ctx) -> Option<Action> {
        None
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = ctx.theme;
        let mut lines: Vec<Line> = Vec::new();
        match &ctx.model.history {
            None => lines.push(Line::from(Span::styled(strings::HISTORY_NOT_YET, t.dim()))),
            Some(h) if h.calls.is_empty() => {
                lines.push(Line::from(Span::styled(strings::HISTORY_EMPTY, t.dim())))
            }
            Some(h) => {
                for r in h.calls.iter().take(8) {
                    lines.push(Line::from(row_text(r)));
                }
                lines.push(Line::from(""));
                lines.push(Line::from(Span::styled(
                    strings::DISPOSITION_TITLE,
                    t.title(),
                )));
                let mut codes = vec![Span::raw(format!("{}: ", strings::DISPOSITION_CODE))];
                for (i, c) in h.codes.iter().enumerate() {
                    let style = if i == self.code {
                        t.selected()
                    } else {
                        t.normal()
                    };
                    codes.push(Span::styled(format!(" {c} "), style));
                    codes.push(Span::raw(" "));
                }
                lines.push(Line::from(codes));
                lines.push(Line::from(vec![
                    Span::raw(format!("{}: ", strings::DISPOSITION_NOTE)),
                    Span::styled(format!("{}█", self.note), t.normal()),
                ]));
            }
        }
        let height = lines.len() as u16 + 2;
        let rect = centered(area, 100, height);
        frame.render_widget(Clear, rect);
        let block = Block::default()
            .borders(Borders::ALL)
            .padding(Padding::horizontal(1))
            .title(Span::styled(
                format!(" {} ", strings::HISTORY_TITLE),
                t.title(),
            ));
        let inner = block.inner(rect);
        frame.render_widget(block, rect);
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

impl Popup for HistoryPanel {
    fn hints(&self, ctx: &Ctx) -> Vec<Hint> {
        let k = ctx.keys;
        vec![
            Hint::new(k.up.label(), strings::HINT_PICK_CODE),
            Hint::new(k.confirm.label(), strings::HINT_SET_DISPOSITION),
            Hint::new(k.close.label(), strings::HINT_CLOSE),
        ]
    }
}
