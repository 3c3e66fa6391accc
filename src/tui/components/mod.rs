//! Reusable pieces of the main screen. Each one turns input into an [`Action`] and draws itself
//! from the model (ratatui's component template); buttons remember where they were drawn so a
//! mouse click lands on them.

pub mod button;
pub mod call;
pub mod conversation;
pub mod footer;
pub mod header;
pub mod meter;

use std::time::Instant;

use crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::Rect;
use ratatui::Frame;

use super::action::Action;
use super::keys::KeyConfig;
use super::model::Model;
use super::theme::Theme;

/// What every component may look at while handling input or drawing.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    /// The current view model.
    pub model: &'a Model,
    /// Key bindings.
    pub keys: &'a KeyConfig,
    /// Colours or none.
    pub theme: Theme,
    /// The time the call timer counts to.
    pub now: Instant,
}

/// A piece of the screen that reacts to input and draws itself.
pub trait Component {
    /// The action a key asks for, if this component handles it.
    fn handle_key(&mut self, key: KeyEvent, ctx: &Ctx) -> Option<Action>;
    /// The action a mouse event asks for (clicks on what was drawn last).
    fn handle_mouse(&mut self, mouse: MouseEvent, ctx: &Ctx) -> Option<Action>;
    /// Draw into `area`, remembering clickable spots.
    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx);
}
