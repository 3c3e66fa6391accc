//! `agentphone demo` (D2): the bundled server in-process with demo agents and a Support team, a
//! simulated customer (an in-process Phone engine speaking `assets/customer-speech.wav`) who calls
//! Support, and the terminal UI as alice. A second terminal opens the UI as bob.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::wiring::{run_tui, runtime, TuiOptions};
use super::{devices, strings};
use crate::audio::{SinkSpec, SourceSpec};
use crate::config_file::PhoneSection;
use crate::phone::{CallState, Phone, PhoneCommand, PhoneConfig, PhoneEvent};

/// The customer waits this long before (re)calling, so the agents are registered and the caller
/// can watch the popup come in.
const CUSTOMER_PAUSE: Duration = Duration::from_secs(4);
/// The customer calls at most this many times, then stays quiet.
const CUSTOMER_CALLS: u32 = 20;

/// The demo's agents: user, display name, password.
pub const AGENTS: [(&str, &str, &str); 3] = [
    ("alice", "Alice Martin", "alice-secret"),
    ("bob", "Bob Stone", "bob-secret"),
    ("carol", "Carol Diaz", "carol-secret"),
];

/// Run the demo until alice quits. `port` is tried first; when it is taken, any free port.
pub fn run(port: u16, section: &PhoneSection) -> anyhow::Result<()> {
    let rt = runtime()?;
    let work = demo_dir()?;
    let assets = assets_dir();
    let (server, addr) = rt.block_on(start_server(port, &work, &assets))?;
    let bob = second_terminal_command(addr, &work);
    let mut config = PhoneConfig {
        server: Some(addr),
        user: "alice".into(),
        password: Some("alice-secret".into()),
        display: Some("Alice Martin".into()),
        ..PhoneConfig::default()
    };
    // Open the audio devices before printing: ALSA may print its own complaints on stderr, and
    // the instructions should be the last thing on the screen before the UI.
    let mut options = TuiOptions {
        hint: Some(strings::demo_hint(&bob)),
        ..TuiOptions::default()
    };
    devices::attach(&mut config, &mut options, section);
    println!("agentphone demo: server listening on {addr} (SIP, UDP and TCP)");
    println!("  agents: alice, bob, carol (password = NAME-secret); team Support = alice, bob");
    println!("  a customer (Sam Carter) calls sip:support@{addr} in a few seconds and speaks");
    println!();
    println!("  In terminal 2, open the softphone as bob:");
    println!("    {bob}");
    println!();
    println!(
        "  Here you are alice: answer (a), transfer (t) to bob, then press t again to complete."
    );
    println!(
        "  Logs (alice.log, bob.log) and call records: {}",
        work.display()
    );
    wait_to_start();

    rt.spawn(simulated_customer(addr, assets.join("customer-speech.wav")));

    let result = run_tui(&rt, config, options);
    server.shutdown();
    rt.shutdown_timeout(Duration::from_secs(2));
    println!(
        "agentphone demo: stopped. Call records: {}",
        work.join("calls.db").display()
    );
    result
}

/// Give the reader time for the instructions: Enter on a terminal, else a few seconds.
fn wait_to_start() {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        println!();
        println!("  Press Enter to open alice's softphone.");
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    } else {
        std::thread::sleep(Duration::from_secs(3));
    }
}

/// What to type in terminal 2: bob's UI, logging to its own file beside the demo's (issue 10 #9).
pub fn second_terminal_command(addr: SocketAddr, work: &Path) -> String {
    format!(
        "cargo run --release -- --server {addr} --user bob --password bob-secret --log {}",
        work.join("bob.log").display()
    )
}

/// The demo's own log (server, simulated customer and alice's UI): `alice.log` in the demo's
/// directory, so that bob's UI (`bob.log`) never interleaves with it.
pub fn log_path() -> Option<PathBuf> {
    demo_dir().ok().map(|d| d.join("alice.log"))
}

/// Start the server on `port`, or on a free port when that one is taken.
async fn start_server(
    port: u16,
    work: &Path,
    assets: &Path,
) -> anyhow::Result<(agentphone_server::ServerHandle, SocketAddr)> {
    let preferred = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let mut last_error = None;
    for listen in [preferred, any] {
        let config = agentphone_server::Config::from_toml_str(
            &server_config(listen, work, assets),
            "demo-config.toml",
        )?;
        match agentphone_server::start(config).await {
            Ok(handle) => {
                let addr = handle.sip_addr();
                return Ok((handle, addr));
            }
            Err(e) => {
                tracing::warn!("demo server on {listen}: {e:#}");
                last_error = Some(e);
            }
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("the demo server did not start")))
}

/// The demo server's config: three agents, the Support team reachable at sip:support@…, with
/// after-call work.
pub fn server_config(listen: SocketAddr, work: &Path, assets: &Path) -> String {
    let mut text = format!(
        r#"
[server]
listen = "{listen}"
realm = "agentphone"
music_on_hold = "{moh}"
ringback = "{ringback}"
database = "{db}"
"#,
        moh = toml_path(&assets.join("music-on-hold.wav")),
        ringback = toml_path(&assets.join("ringback.wav")),
        db = toml_path(&work.join("calls.db")),
    );
    for (user, display, password) in AGENTS {
        text.push_str(&format!(
            "\n[[agents]]\nusername = \"{user}\"\ndisplay_name = \"{display}\"\npassword = \"{password}\"\n"
        ));
    }
    text.push_str(
        // 15 s of after-call work after each Support call (S1): the header counts it down, r ends it.
        "\n[[teams]]\nname = \"Support\"\nmembers = [\"alice\", \"bob\"]\ninbound = \"support\"\nwrap_up_s = 15\n",
    );
    text.push_str("\n[[teams]]\nname = \"Sales\"\nmembers = [\"carol\"]\ninbound = \"sales\"\n");
    text
}

/// A path inside a TOML string (backslashes and quotes escaped).
fn toml_path(p: &Path) -> String {
    p.display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}

/// The customer: calls Support, talks (the speech file, looped) until an agent hangs up, calls
/// again a little later.
async fn simulated_customer(server: SocketAddr, speech: PathBuf) {
    let config = PhoneConfig {
        server: Some(server),
        user: "customer".into(),
        display: Some("Sam Carter".into()),
        source: SourceSpec::Wav(speech),
        sink: SinkSpec::Null,
        ..PhoneConfig::default()
    };
    let (phone, mut events) = match Phone::start(config).await {
        Ok(started) => started,
        Err(e) => {
            tracing::error!("demo customer: {e}");
            return;
        }
    };
    let support = format!("sip:support@{server}");
    for _ in 0..CUSTOMER_CALLS {
        tokio::time::sleep(CUSTOMER_PAUSE).await;
        if let Err(e) = phone.command(PhoneCommand::Dial(support.clone())).await {
            tracing::warn!("demo customer dial: {e}");
            continue;
        }
        // Until this call ends.
        while let Some(event) = events.recv().await {
            tracing::debug!(event = ?event, "demo customer");
            if let PhoneEvent::CallState {
                state: CallState::Ended,
                ..
            } = event
            {
                break;
            }
        }
    }
    phone.shutdown().await;
}

/// Where the demo keeps its database: `$XDG_STATE_HOME/agentphone/demo` or a temp dir.
fn demo_dir() -> anyhow::Result<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join("agentphone").join("demo");
    std::fs::create_dir_all(&dir)
        .map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
    Ok(dir)
}

/// The repository's `assets/` (the demo runs from a checkout), else `./assets`.
fn assets_dir() -> PathBuf {
    let built_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    if built_in.is_dir() {
        built_in
    } else {
        PathBuf::from("assets")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_config_is_accepted_by_the_server() {
        let text = server_config(
            "127.0.0.1:0".parse().unwrap(),
            Path::new("/tmp"),
            &assets_dir(),
        );
        agentphone_server::Config::from_toml_str(&text, "demo-config.toml").unwrap();
    }

    #[test]
    fn second_terminal_command_names_the_real_port() {
        let cmd = second_terminal_command("127.0.0.1:5071".parse().unwrap(), Path::new("/d"));
        assert!(cmd.contains("--server 127.0.0.1:5071 --user bob --password bob-secret"));
        assert!(
            cmd.ends_with("--log /d/bob.log"),
            "bob logs to his own file: {cmd}"
        );
    }
}
