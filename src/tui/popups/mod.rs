//! Modal windows, one file each (gitui's `popups/`): the transfer modal, the incoming-call popup,
//! the dial prompt / keypad and the help overlay. The top popup gets all input.

pub mod dial;
pub mod help;
pub mod history;
pub mod incoming;
pub mod quit_confirm;
pub mod state;
pub mod transfer;
pub mod transfer_rows;

use ratatui::layout::Rect;

use super::components::footer::Hint;
use super::components::{Component, Ctx};

/// A popup: a component that also says which keys apply while it is on top.
pub trait Popup: Component {
    /// The footer hints while this popup is on top.
    fn hints(&self, ctx: &Ctx) -> Vec<Hint>;
}

/// A `width`×`height` rect centred in `area`, shrunk to fit.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}
