//! The event loop: input and model updates arrive on one channel; the screen is redrawn after each
//! of them, and every 250 ms only while a call timer shows. Otherwise the loop sleeps in `recv`,
//! so an idle TUI costs no CPU.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossterm::event::{self, Event};
use ratatui::backend::Backend;
use ratatui::Terminal;

use super::action::Action;
use super::app::App;
use super::model::Model;
use super::terminal::TerminalGuard;
use super::theme::Theme;

/// How often the screen refreshes while a timer shows.
pub const TICK: Duration = Duration::from_millis(250);
/// How long the input thread blocks before checking whether it should stop.
const INPUT_POLL: Duration = Duration::from_millis(200);

/// What wakes the loop.
#[derive(Debug)]
pub enum UiEvent {
    /// A key, a click, a resize.
    Input(Event),
    /// The engine adapter's new model.
    Model(Box<Model>),
    /// The update channel closed: the engine is gone.
    EngineGone,
    /// Reading the terminal failed.
    InputError(io::Error),
}

/// Where the loop sends the actions the engine must carry out.
pub trait ActionSink {
    /// Send one; false when nobody takes them any more.
    fn send_action(&self, action: Action) -> bool;
}

impl ActionSink for Sender<Action> {
    fn send_action(&self, action: Action) -> bool {
        self.send(action).is_ok()
    }
}

impl ActionSink for tokio::sync::mpsc::UnboundedSender<Action> {
    fn send_action(&self, action: Action) -> bool {
        self.send(action).is_ok()
    }
}

/// Run the TUI on the real terminal until the user quits or the engine goes away.
///
/// `channel` is the loop's one channel: the engine side sends a fresh [`Model`] after every
/// change (and [`UiEvent::EngineGone`] at its end) on a clone of its sender, the terminal input
/// reader on another. Every action the engine must carry out ([`Action::is_for_engine`], Quit
/// included) goes to `actions`. The terminal is restored on return, on panic and on Ctrl-C.
pub fn run(
    initial: Model,
    channel: (Sender<UiEvent>, Receiver<UiEvent>),
    actions: impl ActionSink,
) -> io::Result<()> {
    let (tx, rx) = channel;
    let stop = Arc::new(AtomicBool::new(false));
    let input = spawn_input_reader(tx, Arc::clone(&stop));

    let result = TerminalGuard::enter().and_then(|mut guard| {
        let mut app = App::new(initial, Theme::from_env());
        run_loop(guard.terminal(), &mut app, &rx, &actions)
    });
    stop.store(true, Ordering::Relaxed);
    // The reader wakes within INPUT_POLL; joining keeps it from eating keys after we return.
    let _ = input.join();
    result
}

/// The loop itself, on any backend (tests drive it with a `TestBackend` and a channel).
pub fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    events: &Receiver<UiEvent>,
    actions: &impl ActionSink,
) -> io::Result<()> {
    // The transfer modal is open: the directory is watched.
    let mut watching = false;
    loop {
        app.set_now(Instant::now());
        terminal
            .draw(|frame| app.draw(frame))
            .map_err(|e| io::Error::other(e.to_string()))?;

        let event = if app.needs_tick() {
            match events.recv_timeout(TICK) {
                Ok(ev) => Some(ev),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
        } else {
            match events.recv() {
                Ok(ev) => Some(ev),
                Err(_) => return Ok(()),
            }
        };
        match event {
            None => {} // tick: redraw for the timer
            Some(UiEvent::Input(ev)) => {
                if let Some(action) = app.handle_event(&ev) {
                    if action.is_for_engine() && !actions.send_action(action) {
                        return Ok(()); // the engine is gone
                    }
                }
                if app.should_quit() {
                    return Ok(());
                }
            }
            Some(UiEvent::Model(model)) => app.update(*model),
            Some(UiEvent::EngineGone) => return Ok(()),
            Some(UiEvent::InputError(e)) => return Err(e),
        }
        let open = app.transfer_modal().is_some();
        if open != watching {
            watching = open;
            if !actions.send_action(Action::WatchDirectory(open)) {
                return Ok(());
            }
        }
    }
}

/// Read terminal events on a thread of their own.
fn spawn_input_reader(tx: Sender<UiEvent>, stop: Arc<AtomicBool>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let ready = match event::poll(INPUT_POLL) {
                Ok(ready) => ready,
                Err(e) => {
                    let _ = tx.send(UiEvent::InputError(e));
                    return;
                }
            };
            if !ready {
                continue;
            }
            let sent = match event::read() {
                Ok(ev) => tx.send(UiEvent::Input(ev)),
                Err(e) => {
                    let _ = tx.send(UiEvent::InputError(e));
                    return;
                }
            };
            if sent.is_err() {
                return;
            }
        }
    })
}
