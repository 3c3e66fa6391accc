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
use crate::tui::components::button::{Button, HitMap};
use crate::tui::components::footer::Hint;
use crate::tui::components::{Component, Ctx};
use crate::tui::keys::typed_char;
use crate::tui::model::HistoryRow;
use crate::tui::strings;

/// Most characters of a note (the server's limit is 500).
const NOTE_MAX: usize = 200;

/// The panel: the code picked and the note typed for my last call, and where the clickable
/// codes and buttons were drawn.
#[derive(Debug, Default)]
pub struct HistoryPanel {
    code: usize,
    note: String,
    hits: HitMap<Spot>,
}

/// What a click on the panel can hit.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Spot {
    /// A disposition code, by index.
    Code(usize),
    /// Store the code and note.
    Save,
    /// Close the panel.
    Close,
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

    /// Store the picked code and the note on my last call (nothing without a call).
    fn save(&self, ctx: &Ctx) -> Option<Action> {
        let h = ctx.model.history.as_ref()?;
        if h.calls.is_empty() {
            return None;
        }
        Some(Action::SetDisposition {
            code: h.codes.get(self.code)?.clone(),
            note: self.note.clone(),
        })
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
            self.save(ctx)
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

    fn handle_mouse(&mut self, mouse: MouseEvent, ctx: &Ctx) -> Option<Action> {
        match self.hits.hit(&mouse)? {
            Spot::Code(i) => {
                self.code = i;
                None
            }
            Spot::Save => self.save(ctx),
            Spot::Close => Some(Action::ClosePopup),
        }
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        self.hits.clear();
        let t = ctx.theme;
        let mut lines: Vec<Line> = Vec::new();
        // Where the codes go (line index, then each code's column and width), drawn clickable.
        let mut code_spots: Option<(usize, Vec<(u16, u16)>)> = None;
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
                // Only the last call takes a disposition (the call being wrapped up): say which.
                let title = match h.calls.first() {
                    Some(last) => strings::disposition_of(&last.at, &last.customer),
                    None => strings::DISPOSITION_TITLE.to_string(),
                };
                lines.push(Line::from(Span::styled(title, t.title())));
                lines.push(Line::from(Span::styled(
                    strings::DISPOSITION_LAST_ONLY,
                    t.dim(),
                )));
                let lead = format!("{}: ", strings::DISPOSITION_CODE);
                let mut x = Span::raw(lead.as_str()).width() as u16;
                let mut spots = Vec::with_capacity(h.codes.len());
                let mut codes = vec![Span::raw(lead.clone())];
                for (i, c) in h.codes.iter().enumerate() {
                    let style = if i == self.code {
                        t.selected()
                    } else {
                        t.normal()
                    };
                    let code = Span::styled(format!(" {c} "), style);
                    let w = code.width() as u16;
                    spots.push((x, w));
                    x = x.saturating_add(w + 1);
                    codes.push(code);
                    codes.push(Span::raw(" "));
                }
                code_spots = Some((lines.len(), spots));
                lines.push(Line::from(codes));
                lines.push(Line::from(vec![
                    Span::raw(format!("{}: ", strings::DISPOSITION_NOTE)),
                    Span::styled(format!("{}█", self.note), t.normal()),
                ]));
            }
        }
        // The buttons' line.
        let buttons_line = lines.len();
        lines.push(Line::from(""));
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
        let line_y = |i: usize| inner.y.saturating_add(u16::try_from(i).unwrap_or(u16::MAX));
        if let Some((line, spots)) = code_spots {
            for (i, (x, w)) in spots.into_iter().enumerate() {
                let r = Rect::new(inner.x.saturating_add(x), line_y(line), w, 1);
                self.hits.add(r.intersection(inner), Spot::Code(i));
            }
        }
        let k = ctx.keys;
        let mut buttons = Vec::new();
        if self.save(ctx).is_some() {
            let save = strings::HINT_SET_DISPOSITION;
            buttons.push((
                Spot::Save,
                Button::new(k.confirm.label(), save, t.button_go(), Action::ClosePopup),
            ));
        }
        let close = strings::HINT_CLOSE;
        buttons.push((
            Spot::Close,
            Button::new(k.close.label(), close, t.button(), Action::ClosePopup),
        ));
        let mut x = inner.x;
        for (spot, b) in buttons {
            let w = self
                .hits
                .button_as(frame, inner, (x, line_y(buttons_line)), &b, &t, spot);
            x = x.saturating_add(w + 2);
        }
    }
}

impl Popup for HistoryPanel {
    fn hints(&self, ctx: &Ctx) -> Vec<Hint> {
        let k = ctx.keys;
        vec![
            Hint::new(k.up.label(), strings::HINT_PICK_CODE),
            Hint::new(k.confirm.label(), strings::HINT_SET_DISPOSITION),
            Hint::new(k.close.label(), strings::HINT_CLOSE).on_click(Some(Action::ClosePopup)),
        ]
    }
}
