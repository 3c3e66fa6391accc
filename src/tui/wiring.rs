//! The TUI wired to a running `Phone` engine: the engine and the adapter run as a task on a tokio
//! runtime (other threads); the UI loop runs on the calling thread and only redraws on input, on
//! a new model, or every 250 ms while a timer shows.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use tokio::sync::mpsc::{self, UnboundedReceiver};
use tokio::time::MissedTickBehavior;

use super::action::Action;
use super::adapter::Adapter;
use super::model::{AudioStatus, Model};
use crate::audio::LevelMeters;
use crate::phone::{Phone, PhoneCommand, PhoneConfig, PhoneEvent, PhoneHandle};

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
    let (model_tx, model_rx) = std_mpsc::channel::<Model>();
    let (action_tx, action_rx) = std_mpsc::channel::<Action>();
    let (async_tx, async_rx) = mpsc::unbounded_channel::<Action>();
    // The UI sends on a std channel (it never blocks on the runtime); this thread hands actions
    // over to the async side and ends when the UI drops its sender.
    std::thread::Builder::new()
        .name("tui-actions".into())
        .spawn(move || {
            for action in action_rx {
                if async_tx.send(action).is_err() {
                    return;
                }
            }
        })?;

    let initial = adapter.model().clone();
    let driver = runtime.spawn(drive(
        handle,
        events,
        async_rx,
        adapter,
        model_tx,
        Audio {
            levels: options.levels,
            ringing: options.ringing,
        },
    ));
    let ui = super::run(initial, model_rx, action_tx);
    // The UI is gone: the driver sees the action channel close (or already got Quit), says
    // goodbye to the server and stops the engine.
    let _ = runtime.block_on(async { tokio::time::timeout(3 * GOODBYE_TIMEOUT, driver).await });
    ui.map_err(anyhow::Error::from)
}

/// The adapter's loop: engine events → model, UI actions → commands, level meters while in a
/// call. Sleeps when nothing happens.
async fn drive(
    handle: PhoneHandle,
    mut events: UnboundedReceiver<PhoneEvent>,
    mut actions: UnboundedReceiver<Action>,
    mut adapter: Adapter,
    models: std_mpsc::Sender<Model>,
    audio: Audio,
) {
    let Audio { levels, ringing } = audio;
    let publish = |adapter: &Adapter| {
        if let Some(ringing) = &ringing {
            ringing.store(adapter.model().incoming.is_some(), Ordering::Relaxed);
        }
        models.send(adapter.model().clone()).is_ok()
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
            event = events.recv() => {
                let Some(event) = event else { break };
                tracing::info!(event = ?event, "engine event");
                if adapter.apply(&event, Instant::now()) && !publish(&adapter) {
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
