//! The event loop: input and model updates arrive on one channel; the screen is redrawn after each
//! of them, and every 250 ms only while a call timer shows. Otherwise the loop sleeps in `recv`,
//! so an idle TUI costs no CPU.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
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

/// Run the TUI on the real terminal until the user quits or the engine goes away.
///
/// `updates` brings a fresh [`Model`] after every change in the engine; every action the engine
/// must carry out ([`Action::is_for_engine`], Quit included) is sent on `actions`. The terminal is
/// restored on return, on panic and on Ctrl-C.
pub fn run(initial: Model, updates: Receiver<Model>, actions: Sender<Action>) -> io::Result<()> {
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let input = spawn_input_reader(tx.clone(), Arc::clone(&stop));
    spawn_update_forwarder(updates, tx);

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
    actions: &Sender<Action>,
) -> io::Result<()> {
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
                    if action.is_for_engine() && actions.send(action).is_err() {
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

/// Forward model updates into the loop's channel; tell it when the engine hung up.
fn spawn_update_forwarder(updates: Receiver<Model>, tx: Sender<UiEvent>) {
    thread::spawn(move || {
        for model in updates {
            if tx.send(UiEvent::Model(Box::new(model))).is_err() {
                return;
            }
        }
        let _ = tx.send(UiEvent::EngineGone);
    });
}
