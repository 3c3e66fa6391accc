//! `agentphone-loadgen`: a team of agents for the benches, all on one UDP socket on 127.0.0.1.
//! Each agent registers (digest), turns its voice channel on (PUBLISH) and subscribes to the
//! directory; then every agent answers every INVITE at once with 200 and SDP, and answers BYE,
//! NOTIFY, CANCEL, OPTIONS with 200. Prints `{"event":"ready",…}` when all are set up, and a
//! `{"event":"stats",…}` line every second; stops after `--duration-s`.
//!
//! `--directory-bench`: the directory fan-out bench instead ([`directory_bench`]).

mod agent_setup;
mod auto_answer;
mod directory_bench;
mod sip_socket;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use clap::Parser;

use crate::auto_answer::{AutoAnswer, Counters};
use crate::sip_socket::SipSocket;

/// A team of auto-answering agents on one UDP socket.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// The server's SIP address (UDP).
    #[arg(long)]
    server: SocketAddr,
    /// How many agents: PREFIX000 … with password PASSWORD_PREFIX + user name.
    #[arg(long, default_value_t = 100)]
    agents: usize,
    /// The first agent's number.
    #[arg(long, default_value_t = 0)]
    first: usize,
    /// User names are this prefix and a 3-digit number.
    #[arg(long, default_value = "agent")]
    prefix: String,
    /// Passwords are this prefix and the user name.
    #[arg(long, default_value = "secret-")]
    password_prefix: String,
    /// Do not subscribe to the directory.
    #[arg(long)]
    no_subscribe: bool,
    /// The codec the agents answer with (an RTP encoding name of the server's offer). Default
    /// G.711 µ-law: desk phones and SIP trunks of a contact center send it, and the bench then
    /// measures signalling and mixing rather than Opus encoders; `opus` for the softphone's.
    #[arg(long, default_value = "PCMU")]
    codec: String,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 600)]
    duration_s: u64,
    /// Run the directory fan-out bench (issue 12) instead of answering calls.
    #[arg(long)]
    directory_bench: bool,
    /// Directory bench: how many of the agents subscribe (the first ones).
    #[arg(long, default_value_t = 100)]
    subscribers: usize,
    /// Directory bench: how many status changes.
    #[arg(long, default_value_t = 200)]
    changes: usize,
    /// Directory bench: status changes per second.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// Directory bench: the server's process id (its CPU time and memory are read from /proc).
    #[arg(long)]
    server_pid: Option<u32>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if cli.directory_bench {
        return directory_bench::run(directory_bench::Options {
            server: cli.server,
            users: (cli.first..cli.first + cli.agents)
                .map(|i| format!("{}{i:03}", cli.prefix))
                .collect(),
            password_prefix: cli.password_prefix,
            subscribers: cli.subscribers,
            changes: cli.changes,
            rate: cli.rate,
            server_pid: cli.server_pid,
        });
    }
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let rtp_port = auto_answer::start_rtp_sink()?;
    let mut sip = SipSocket::new(socket, cli.server)?;
    let mut answer = AutoAnswer::new(sip.local_addr(), rtp_port, cli.codec.clone());
    let users: Vec<String> = (cli.first..cli.first + cli.agents)
        .map(|i| format!("{}{i:03}", cli.prefix))
        .collect();
    let started = Instant::now();
    for user in &users {
        let password = format!("{}{user}", cli.password_prefix);
        let agent = agent_setup::Agent {
            user,
            password: &password,
        };
        agent_setup::set_up(&mut sip, &mut answer, &agent, !cli.no_subscribe)?;
    }
    println!(
        "{}",
        serde_json::json!({"event": "ready", "agents": users.len(), "sip": sip.local_addr().to_string(),
                           "setup_ms": started.elapsed().as_millis() as u64})
    );
    let end = Instant::now() + Duration::from_secs(cli.duration_s);
    let mut next_report = Instant::now() + Duration::from_secs(1);
    let mut last = Counters::default();
    while Instant::now() < end {
        if let Some(msg) = sip.recv(Duration::from_millis(200))? {
            if let Some(reply) = answer.handle(&msg) {
                sip.send_to(&reply.bytes, reply.to)?;
            }
        }
        if Instant::now() >= next_report {
            let now = answer.counters;
            println!(
                "{}",
                serde_json::json!({"event": "stats", "invites": now.invites - last.invites,
                                   "byes": now.byes - last.byes, "notifies": now.notifies - last.notifies,
                                   "total_invites": now.invites})
            );
            last = now;
            next_report += Duration::from_secs(1);
        }
    }
    Ok(())
}
