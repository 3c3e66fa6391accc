//! The real terminal: raw mode, alternate screen, mouse capture — and putting it all back on
//! drop, on panic (a panic hook) and on Ctrl-C (raw mode turns Ctrl-C into a key the app maps to
//! Quit, so the normal drop path restores it).

use std::io::{self, Stdout};
use std::sync::Once;

use crossterm::cursor::Show;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

/// The terminal in TUI mode; restored when dropped.
pub struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    /// Switch the terminal to TUI mode.
    pub fn enter() -> io::Result<Self> {
        install_panic_hook();
        enable_raw_mode()?;
        let mut stdout = io::stdout();
        if let Err(e) = execute!(stdout, EnterAlternateScreen, EnableMouseCapture) {
            // Half-entered: undo what was done before reporting.
            let _ = restore();
            return Err(e);
        }
        match Terminal::new(CrosstermBackend::new(stdout)) {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                let _ = restore();
                Err(e)
            }
        }
    }

    /// The ratatui terminal to draw on.
    pub fn terminal(&mut self) -> &mut Terminal<CrosstermBackend<Stdout>> {
        &mut self.terminal
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = restore();
    }
}

/// Leave TUI mode: mouse capture off, main screen back, cursor shown, raw mode off. Safe to call
/// more than once.
pub fn restore() -> io::Result<()> {
    let mut stdout = io::stdout();
    let screen = execute!(stdout, DisableMouseCapture, LeaveAlternateScreen, Show);
    let raw = disable_raw_mode();
    screen.and(raw)
}

/// Restore the terminal before the default panic message prints, so it is readable.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = restore();
            previous(info);
        }));
    });
}
