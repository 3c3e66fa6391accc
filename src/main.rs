//! The `agentphone` binary: the terminal UI (default), `--headless` scripted mode, `demo` and
//! `devices`.

mod cli;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

use agentphone::config_file::{self, PhoneSection};
use agentphone::headless::{self, EventPrinter, Input};
use agentphone::phone::{Phone, PhoneError};
use agentphone::tui::{self, TuiOptions};
use cli::{Cli, Command};

/// Exit code for bad input: config, script, options.
const EXIT_BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let section = match &cli.config {
        Some(path) => match config_file::load(path) {
            Ok(section) => section,
            Err(e) => {
                eprintln!("agentphone: {e}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        },
        None => PhoneSection::default(),
    };
    match &cli.command {
        Some(Command::Devices) => return list_devices(),
        Some(Command::Demo { port }) => {
            // The demo's instances each log to their own file in the demo's directory.
            let path = match &cli.log {
                Some(p) => p.clone(),
                None => tui::demo::log_path().unwrap_or_else(|| log_path(&cli)),
            };
            let _log = init_file_logging(&path);
            return exit(tui::demo::run(*port, &section));
        }
        None => {}
    }
    if !cli.headless {
        if cli.phone.server.or(section.server).is_none() {
            eprintln!(
                "agentphone: no server: give --server IP:PORT (or `server` in the config's [phone]), \
                 or try `agentphone demo`"
            );
            return ExitCode::from(EXIT_BAD_INPUT);
        }
        let _log = init_file_logging(&log_path(&cli));
        return exit(run_tui(&cli, &section));
    }
    init_stderr_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("agentphone: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run_headless(&cli, &section));
    ExitCode::from(code)
}

/// Print an error after the terminal is restored; 1 on failure.
fn exit(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("agentphone: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The terminal UI with the options and the `[phone]` section. Sound files given as options
/// (`--tone`, `--wav`, `--record`, `--silence`) replace the audio devices.
fn run_tui(cli: &Cli, section: &PhoneSection) -> anyhow::Result<()> {
    let mut config = cli.phone.to_config(section);
    let runtime = tui::wiring::runtime()?;
    let mut options = TuiOptions {
        supervisor: cli.supervisor,
        ..TuiOptions::default()
    };
    if !cli.phone.sound_files_given(section) {
        tui::devices::attach(&mut config, &mut options, section);
    }
    tui::run_tui(&runtime, config, options)?;
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    Ok(())
}

/// `agentphone devices`.
fn list_devices() -> ExitCode {
    match agentphone::tui::devices::list() {
        Ok(list) => {
            print!("{list}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("agentphone: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Where the terminal UI logs: `--log`, else the state directory, else /tmp.
fn log_path(cli: &Cli) -> PathBuf {
    if let Some(path) = &cli.log {
        return path.clone();
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/state")));
    if let Some(dir) = state.map(|d| d.join("agentphone")) {
        if std::fs::create_dir_all(&dir).is_ok() {
            return dir.join("agentphone.log");
        }
    }
    std::env::temp_dir().join("agentphone.log")
}

/// The terminal UI logs to a file, never to the terminal. The guard flushes on drop.
fn init_file_logging(path: &Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .ok()?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .init();
    Some(guard)
}

/// Headless mode: logs go to stderr, stdout is the JSON event stream.
fn init_stderr_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
async fn run_headless(cli: &Cli, section: &PhoneSection) -> u8 {
    let mut printer = EventPrinter::stdout();
    let input = match &cli.script {
        Some(path) => {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    let message = format!("{}: cannot read script: {e}", path.display());
                    eprintln!("agentphone: {message}");
                    printer.error(&message);
                    return EXIT_BAD_INPUT;
                }
            };
            match headless::parse_script(&text) {
                Ok(lines) => Input::Script(lines),
                Err(e) => {
                    let message = format!("{}: {e}", path.display());
                    eprintln!("agentphone: {message}");
                    printer.error(&message);
                    return EXIT_BAD_INPUT;
                }
            }
        }
        None => Input::Stdin,
    };
    let config = cli.phone.to_config(section);
    let (handle, events) = match Phone::start(config).await {
        Ok(started) => started,
        Err(e) => {
            eprintln!("agentphone: {e}");
            printer.error(&e.to_string());
            return match e {
                PhoneError::Audio(_) | PhoneError::Invalid(_) => EXIT_BAD_INPUT,
                _ => 1,
            };
        }
    };
    let outcome = headless::run(handle, events, input, printer).await;
    outcome.exit_code() as u8
}
