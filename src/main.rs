//! The `agentphone` binary: the terminal UI (to come) or `--headless` scripted mode.

mod cli;

use std::process::ExitCode;

use clap::Parser;

use agentphone::config_file::{self, PhoneSection};
use agentphone::headless::{self, EventPrinter, Input};
use agentphone::phone::{Phone, PhoneError};
use cli::Cli;

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
    if !cli.headless {
        eprintln!("agentphone: the terminal UI is not built yet; run with --headless (see --help)");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    init_logging();
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

/// Headless mode: logs go to stderr, stdout is the JSON event stream.
fn init_logging() {
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
