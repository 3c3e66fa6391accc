//! The TUI wired to a running `Phone` engine: the engine and the adapter run as a task on a tokio
//! runtime (other threads); the UI loop runs on the calling thread and only redraws on input, on
//! a new model, or every 250 ms while a timer shows. The adapter reads the engine's published
//! view and sends models straight into the UI loop's one channel; the UI sends actions straight
//! to the adapter's task (no relay threads).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::sync::mpsc::{self, UnboundedReceiver};
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::action::Action;
use super::adapter::Adapter;
use super::model::AudioStatus;
use super::runner::UiEvent;
use crate::audio::LevelMeters;
use crate::phone::{Phone, PhoneCommand, PhoneConfig, PhoneHandle, PhoneView};

/// How often the level meters are read while in a call (the UI's own tick).
const LEVELS_EVERY: Duration = Duration::from_millis(250);
/// How long each goodbye command (hang up, unregister) may take when quitting.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the TUI shows besides the engine's state.
#[derive(Debug, Default)]
pub struct TuiOptions {
    /// Whether the audio devices opened (A5: the UI runs either way).
    pub audio: Option<AudioStatus>,
    /// Level meters filled by the media path, when there are devices.
    pub levels: Option<Arc<LevelMeters>>,
    /// A standing hint (the demo's "in terminal 2 …").
    pub hint: Option<String>,
    /// Switches the ring tone of the audio devices (on while a call rings here).
    pub ringing: Option<Arc<AtomicBool>>,
    /// Show the supervisor view (watch the floor).
    pub supervisor: bool,
}

/// The runtime the engine (and the demo's server) run on: two worker threads, so the UI thread
/// stays free.
pub fn runtime() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("agentphone-engine")
        .enable_all()
        .build()
}

/// Start the engine on `runtime`, run the TUI on this thread until the user quits, then hang up,
/// unregister and stop the engine.
pub fn run_tui(runtime: &Runtime, config: PhoneConfig, options: TuiOptions) -> anyhow::Result<()> {
    let display = config
        .display
        .clone()
        .unwrap_or_else(|| config.user.clone());
    let mut adapter = Adapter::new(&config.user, &display, config.server);
    if let Some(audio) = options.audio {
        adapter.model_mut().audio = audio;
    }
    adapter.model_mut().hint = options.hint;

    let (handle, events) = runtime.block_on(Phone::start(config))?;
    if options.supervisor {
        // Before REGISTER: the floor is subscribed with the directory once registered.
        runtime.block_on(handle.command(PhoneCommand::WatchFloor(true)))?;
    }
    // The TUI shows the engine's view; the event stream is for scripts.
    drop(events);
    let view = handle.view();
    // One channel into the UI loop (keys and new models); actions go straight to the driver.
    let (ui_tx, ui_rx) = std_mpsc::channel::<UiEvent>();
    let (action_tx, action_rx) = mpsc::unbounded_channel::<Action>();

    let initial = adapter.model().clone();
    let driver = runtime.spawn(drive(
        handle,
        view,
        action_rx,
        adapter,
        ui_tx.clone(),
        Audio {
            levels: options.levels,
            ringing: options.ringing,
        },
    ));
    let ui = super::run(initial, (ui_tx, ui_rx), action_tx);
    // The UI is gone: the driver sees the action channel close (or already got Quit), says
    // goodbye to the server and stops the engine.
    let _ = runtime.block_on(async { tokio::time::timeout(3 * GOODBYE_TIMEOUT, driver).await });
    ui.map_err(anyhow::Error::from)
}

/// The adapter's loop: the engine's view → model, UI actions → commands, level meters while in
/// a call. Sleeps when nothing happens.
async fn drive(
    handle: PhoneHandle,
    mut view: watch::Receiver<PhoneView>,
    mut actions: UnboundedReceiver<Action>,
    mut adapter: Adapter,
    ui: std_mpsc::Sender<UiEvent>,
    audio: Audio,
) {
    let Audio { levels, ringing } = audio;
    let publish = |adapter: &Adapter| {
        if let Some(ringing) = &ringing {
            ringing.store(adapter.model().incoming.is_some(), Ordering::Relaxed);
        }
        ui.send(UiEvent::Model(Box::new(adapter.model().clone())))
            .is_ok()
    };
    if let Err(e) = handle.command(PhoneCommand::Register).await {
        adapter.notice(e.to_string());
        publish(&adapter);
    }
    let mut meter_tick = tokio::time::interval(LEVELS_EVERY);
    meter_tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        let in_call = adapter.model().call.is_some();
        tokio::select! {
            changed = view.changed() => {
                if changed.is_err() {
                    break; // the engine stopped
                }
                let shown = view.borrow_and_update().clone();
                if adapter.show(&shown) && !publish(&adapter) {
                    break;
                }
                if adapter.take_first_registration() {
                    run_command(&handle, &mut adapter, PhoneCommand::SetVoice(true)).await;
                }
            }
            action = actions.recv() => {
                match action {
                    None | Some(Action::Quit) => break,
                    Some(action) => {
                        tracing::info!(action = ?action, "user action");
                        if action.is_for_engine() {
                            adapter.clear_notice();
                        }
                        match adapter.commands_for(&action) {
                            Ok(commands) => {
                                for cmd in commands {
                                    run_command(&handle, &mut adapter, cmd).await;
                                }
                            }
                            Err(notice) => adapter.notice(notice),
                        }
                        if !publish(&adapter) {
                            break;
                        }
                    }
                }
            }
            _ = meter_tick.tick(), if in_call && levels.is_some() => {
                if let Some(levels) = &levels {
                    if adapter.set_levels(levels.mic(), levels.speaker()) && !publish(&adapter) {
                        break;
                    }
                }
            }
        }
    }
    if let Some(ringing) = &ringing {
        ringing.store(false, Ordering::Relaxed);
    }
    goodbye(&handle, &mut adapter).await;
    let _ = ui.send(UiEvent::EngineGone);
}

/// The audio devices' side of the UI: level meters to read, the ring tone to switch.
struct Audio {
    levels: Option<Arc<LevelMeters>>,
    ringing: Option<Arc<AtomicBool>>,
}

/// Run one command; a refusal becomes the notice.
async fn run_command(handle: &PhoneHandle, adapter: &mut Adapter, cmd: PhoneCommand) {
    tracing::info!(command = ?cmd, "engine command");
    if let Err(e) = handle.command(cmd.clone()).await {
        tracing::warn!(command = ?cmd, error = %e, "command refused");
        adapter.notice(e.to_string());
    }
}

/// Hang up, unregister, stop the engine — each step bounded, so quitting never hangs.
async fn goodbye(handle: &PhoneHandle, adapter: &mut Adapter) {
    let commands = adapter.commands_for(&Action::Quit).unwrap_or_default();
    for cmd in commands {
        let _ = tokio::time::timeout(GOODBYE_TIMEOUT, handle.command(cmd)).await;
    }
    let _ = tokio::time::timeout(GOODBYE_TIMEOUT, handle.shutdown()).await;
}
