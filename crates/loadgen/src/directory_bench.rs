//! `--directory-bench`: how the directory's fan-out keeps subscribers current (issue 12).
//!
//! Registers the agents (voice on: available) on one socket, subscribes the first
//! `--subscribers` of them to the directory from a second socket (one after the other, each
//! waiting for its whole state), then makes `--changes` status changes at `--rate` per second
//! (PUBLISH `agentphone-agent-state` of agents that do not subscribe: away, later available
//! again) and measures, per change, when each subscriber got the NOTIFY showing it. The
//! subscribers put the documents together and apply them like a phone (parts, deltas, a gap
//! would be an error). With `--server-pid` it reads the server's CPU time and memory from /proc.
//! Prints one JSON line (`"event": "directory_bench"`).

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentphone_protocol::directory_parts::Assembler;
use agentphone_protocol::{decode, DirectoryState};
use agentphone_sip::message::{self, RequestBuilder};

use crate::agent_setup::{self, authenticated, Agent};
use crate::auto_answer::{self, AutoAnswer, Reply};
use crate::sip_socket::{Received, SipSocket};

/// What the bench is asked to do.
pub struct Options {
    pub server: SocketAddr,
    pub users: Vec<String>,
    pub password_prefix: String,
    pub subscribers: usize,
    pub changes: usize,
    pub rate: f64,
    pub server_pid: Option<u32>,
}

/// One status change: who, to what, when it was asked for.
struct Change {
    user: String,
    status: &'static str,
    at: Instant,
}

/// One subscriber as the bench keeps it.
struct Watcher {
    parts: Assembler,
    state: DirectoryState,
    /// The first whole state is in.
    whole: bool,
}

/// The subscribers' socket and what they got.
struct Watchers {
    /// Subscribers by their dialog's Call-ID.
    index: HashMap<String, usize>,
    /// The subscriber whose SUBSCRIBE is under way (its Call-ID is learnt from its first NOTIFY).
    subscribing: Option<usize>,
    subs: Vec<Watcher>,
    /// Per change: when each subscriber saw it.
    reached: Vec<Vec<Option<Instant>>>,
    /// Changes not yet seen by everyone, by user: (change number, status).
    pending: HashMap<String, Vec<(usize, &'static str)>>,
    notifies: u64,
    /// Bodies of the first whole states (all parts) and of later NOTIFYs.
    full_bytes: Vec<usize>,
    delta_bytes: Vec<usize>,
    datagram_max: usize,
}

impl Watchers {
    fn handle(&mut self, got: &Received) -> Option<Reply> {
        let rsip::SipMessage::Request(req) = &got.msg else {
            return None;
        };
        let code = if req.method == rsip::Method::Notify {
            200
        } else {
            405
        };
        let reply = Reply {
            bytes: message::to_bytes(&message::response(req, code, "OK", None).into()),
            to: got.from,
        };
        if req.method != rsip::Method::Notify {
            return Some(reply);
        }
        let at = Instant::now();
        self.notifies += 1;
        let size = message::to_bytes(&got.msg).len();
        self.datagram_max = self.datagram_max.max(size);
        let call_id = message::call_id(&got.msg).unwrap_or_default();
        if let (None, Some(i)) = (self.index.get(&call_id), self.subscribing.take()) {
            self.index.insert(call_id.clone(), i);
        }
        let (Some(&i), false) = (self.index.get(&call_id), req.body.is_empty()) else {
            return Some(reply);
        };
        let Ok(doc) = decode::<DirectoryState>(&req.body) else {
            eprintln!("a NOTIFY body that is not a directory document");
            return Some(reply);
        };
        let w = &mut self.subs[i];
        if w.whole {
            self.delta_bytes.push(req.body.len());
        } else {
            self.full_bytes.push(req.body.len());
        }
        let Some(whole) = w.parts.add(doc) else {
            return Some(reply);
        };
        let agents: Vec<(String, String)> = whole
            .agents
            .iter()
            .map(|a| (a.username.clone(), format!("{:?}", a.status).to_lowercase()))
            .collect();
        if let Err(gap) = w.state.apply(whole) {
            eprintln!("subscriber {i}: {gap}");
        }
        w.whole = true;
        for (user, status) in agents {
            let Some(list) = self.pending.get(&user) else {
                continue;
            };
            for &(n, want) in list {
                if want == status && self.reached[n][i].is_none() {
                    self.reached[n][i] = Some(at);
                }
            }
        }
        Some(reply)
    }

    fn add_change(&mut self, n: usize, change: &Change) {
        self.reached.push(vec![None; self.subs.len()]);
        debug_assert_eq!(self.reached.len(), n + 1);
        self.pending
            .entry(change.user.clone())
            .or_default()
            .push((n, change.status));
    }

    fn all_reached(&self) -> bool {
        self.reached.iter().all(|r| r.iter().all(Option::is_some))
    }
}

/// A UDP socket on 127.0.0.1 with a receive buffer of 4 MB: a hundred subscribers' NOTIFYs of one
/// change (or the keepalive probes of thousands of agents) arrive at once, and a reader
/// descheduled for a while must not lose them (a lost NOTIFY waits 500 ms for its
/// retransmission, and the subscriber with it).
fn big_buffer_socket() -> std::io::Result<UdpSocket> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    socket.set_recv_buffer_size(4 << 20)?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    Ok(socket.into())
}

/// Server CPU time (s) and resident memory (MB) from /proc.
fn server_usage(pid: Option<u32>) -> Option<(f64, f64, f64)> {
    let pid = pid?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Some((ticks / 100.0, kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn run(opts: Options) -> anyhow::Result<()> {
    let started = Instant::now();
    // The agents' socket gets the server's keepalive probes of all agents in bursts; with the
    // default buffer (208 KB) it dropped thousands a run, among them now and then the 401 or 200
    // to a change's PUBLISH, which then waited 500 ms for its retransmission: the change, and
    // every subscriber with it, "current" after 532 ms (1.5 s for two drops).
    let mut sip = SipSocket::new(big_buffer_socket()?, opts.server)?;
    let rtp_port = auto_answer::start_rtp_sink()?;
    let mut answer = AutoAnswer::new(sip.local_addr(), rtp_port, "PCMU".into());
    for user in &opts.users {
        let password = format!("{}{user}", opts.password_prefix);
        let agent = Agent {
            user,
            password: &password,
        };
        agent_setup::set_up(&mut sip, &mut answer, &agent, false)?;
    }
    let registered_s = started.elapsed().as_secs_f64();

    // The agents' socket answers the server's keepalives from now on, and makes the changes
    // once told to go.
    let go = Arc::new(AtomicBool::new(false));
    let (changes_tx, changes_rx) = mpsc::channel::<Change>();
    let changer = {
        let go = go.clone();
        // Agents that do not subscribe change; when all subscribe, the subscribers do.
        let rest = &opts.users[opts.subscribers.min(opts.users.len())..];
        let pool: Vec<String> = if rest.is_empty() {
            opts.users.clone()
        } else {
            rest.to_vec()
        };
        let password_prefix = opts.password_prefix.clone();
        let (count, rate) = (opts.changes, opts.rate);
        std::thread::spawn(move || -> anyhow::Result<()> {
            change_loop(
                sip,
                answer,
                &go,
                &pool,
                &password_prefix,
                count,
                rate,
                changes_tx,
            )
        })
    };

    // The subscribers, one after the other, each with its whole state before the next.
    let mut subs_sock = SipSocket::new(big_buffer_socket()?, opts.server)?;
    let mut watchers = Watchers {
        index: HashMap::new(),
        subscribing: None,
        subs: Vec::new(),
        reached: Vec::new(),
        pending: HashMap::new(),
        notifies: 0,
        full_bytes: Vec::new(),
        delta_bytes: Vec::new(),
        datagram_max: 0,
    };
    let host = opts.server.ip().to_string();
    let directory = format!("sip:directory@{host}");
    let mut whole_ms = Vec::new();
    for user in opts.users.iter().take(opts.subscribers) {
        let password = format!("{}{user}", opts.password_prefix);
        let agent = Agent {
            user,
            password: &password,
        };
        let aor = format!("sip:{user}@{host}");
        watchers.subscribing = Some(watchers.subs.len());
        watchers.subs.push(Watcher {
            parts: Assembler::default(),
            state: DirectoryState::new(0, Vec::new(), Vec::new()),
            whole: false,
        });
        let t = Instant::now();
        let subscribe = RequestBuilder::new(rsip::Method::Subscribe, &directory)?
            .contact(&format!("sip:{user}@{}", subs_sock.local_addr()))
            .header("Event", "agentphone-directory")
            .header("Accept", "application/vnd.agentphone.directory+json")
            .header("Expires", "3600");
        authenticated(
            &mut subs_sock,
            |got| watchers.handle(got),
            &agent,
            subscribe,
            &aor,
            &directory,
        )?;
        let i = watchers.subs.len() - 1;
        let until = Instant::now() + Duration::from_secs(30);
        while !watchers.subs[i].whole && Instant::now() < until {
            if let Some(got) = subs_sock.recv(Duration::from_millis(50))? {
                if let Some(reply) = watchers.handle(&got) {
                    subs_sock.send_to(&reply.bytes, reply.to)?;
                }
            }
        }
        anyhow::ensure!(watchers.subs[i].whole, "{user}: no whole state within 30 s");
        whole_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let agents_seen = watchers.subs.first().map_or(0, |w| w.state.agents.len());
    let full_parts = watchers.full_bytes.len() / opts.subscribers.max(1);
    let full_bytes: usize = watchers.full_bytes.iter().sum::<usize>() / opts.subscribers.max(1);
    let notifies_before = watchers.notifies;

    // The changes.
    let before = server_usage(opts.server_pid);
    let t0 = Instant::now();
    go.store(true, Ordering::Relaxed);
    let mut changes: Vec<Change> = Vec::new();
    let mut last_change_at: Option<Instant> = None;
    loop {
        let got = subs_sock.recv(Duration::from_millis(5))?;
        // Changes first: the change a NOTIFY shows was announced before it was asked for.
        while let Ok(c) = changes_rx.try_recv() {
            watchers.add_change(changes.len(), &c);
            last_change_at = Some(c.at);
            changes.push(c);
        }
        if let Some(got) = got {
            if let Some(reply) = watchers.handle(&got) {
                subs_sock.send_to(&reply.bytes, reply.to)?;
            }
        }
        let done = changes.len() >= opts.changes && watchers.all_reached();
        // Nothing new for 10 s: some subscriber never got a change (reported), or the changer
        // stopped early.
        let stalled = last_change_at.map_or(t0, |t| t).elapsed() > Duration::from_secs(10);
        if done || stalled {
            break;
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let after = server_usage(opts.server_pid);
    go.store(false, Ordering::Relaxed);
    if let Ok(Err(e)) = changer.join() {
        eprintln!("changes: {e}");
    }

    // Figures.
    let mut each = Vec::new(); // every (change, subscriber) latency, ms
    let mut first = Vec::new();
    let mut last = Vec::new();
    let mut missed = 0usize;
    for (c, reached) in changes.iter().zip(&watchers.reached) {
        let ms: Vec<f64> = reached
            .iter()
            .flatten()
            .map(|t| t.saturating_duration_since(c.at).as_secs_f64() * 1e3)
            .collect();
        missed += reached.len() - ms.len();
        if ms.len() == reached.len() && !ms.is_empty() {
            first.push(ms.iter().copied().fold(f64::INFINITY, f64::min));
            last.push(ms.iter().copied().fold(0.0, f64::max));
        }
        each.extend(ms);
    }
    for v in [&mut each, &mut first, &mut last, &mut whole_ms] {
        v.sort_by(f64::total_cmp);
    }
    let mut deltas = watchers.delta_bytes.clone();
    deltas.sort_unstable();
    let cpu = match (before, after) {
        (Some(b), Some(a)) => Some(a.0 - b.0),
        _ => None,
    };
    let n = changes.len().max(1) as f64;
    let report = serde_json::json!({
        "event": "directory_bench",
        "agents": opts.users.len(),
        "agents_in_state": agents_seen,
        "subscribers": opts.subscribers,
        "changes": changes.len(),
        "rate_per_s": opts.rate,
        "register_s": registered_s,
        "whole_state": {"parts": full_parts, "bytes": full_bytes,
                        "ms_p50": percentile(&whole_ms, 0.5), "ms_max": percentile(&whole_ms, 1.0)},
        "current_ms": {"p50": percentile(&last, 0.5), "p99": percentile(&last, 0.99),
                       "max": percentile(&last, 1.0)},
        "first_ms": {"p50": percentile(&first, 0.5)},
        "each_ms": {"p50": percentile(&each, 0.5), "p99": percentile(&each, 0.99),
                    "max": percentile(&each, 1.0)},
        "never_reached": missed,
        "notifies": watchers.notifies - notifies_before,
        "delta_body_bytes": {"p50": deltas.get(deltas.len() / 2), "max": deltas.last()},
        "datagram_max_bytes": watchers.datagram_max,
        "phase_s": wall,
        "server_cpu_s": cpu,
        "server_cpu_pct": cpu.map(|c| c / wall * 100.0),
        "server_cpu_ms_per_change": cpu.map(|c| c * 1e3 / n),
        "server_rss_mb": after.map(|a| a.1),
        "server_peak_rss_mb": after.map(|a| a.2),
    });
    println!("{report}");
    Ok(())
}

/// The agents' socket: answer the server (keepalives) and, once `go`, make `count` changes at
/// `rate` per second among `pool`, each reported on `tx` as it is asked for.
#[allow(clippy::too_many_arguments)]
fn change_loop(
    mut sip: SipSocket,
    mut answer: AutoAnswer,
    go: &AtomicBool,
    pool: &[String],
    password_prefix: &str,
    count: usize,
    rate: f64,
    tx: mpsc::Sender<Change>,
) -> anyhow::Result<()> {
    anyhow::ensure!(!pool.is_empty(), "no agent left to change (all subscribe)");
    let every = Duration::from_secs_f64(1.0 / rate.max(0.1));
    let host = sip.server().ip().to_string();
    let mut made = 0usize;
    let mut next = None::<Instant>;
    loop {
        if let Some(got) = sip.recv(Duration::from_millis(2))? {
            if let Some(reply) = answer.handle(&got) {
                sip.send_to(&reply.bytes, reply.to)?;
            }
        }
        if !go.load(Ordering::Relaxed) {
            if made > 0 {
                return Ok(());
            }
            continue;
        }
        if made >= count {
            // Keep answering keepalives until the bench is over.
            continue;
        }
        let now = Instant::now();
        let due = *next.get_or_insert(now);
        if now < due {
            continue;
        }
        next = Some(due + every);
        let user = &pool[made % pool.len()];
        // Away on the first round through the pool, available on the next, …
        let away = (made / pool.len()).is_multiple_of(2);
        let (body, status) = if away {
            (r#"{"state": "away", "reason": "lunch"}"#, "away")
        } else {
            (r#"{"state": "available"}"#, "available")
        };
        let password = format!("{password_prefix}{user}");
        let agent = Agent {
            user,
            password: &password,
        };
        let aor = format!("sip:{user}@{host}");
        let publish = RequestBuilder::new(rsip::Method::Publish, &aor)?
            .header("Event", "agentphone-agent-state")
            .body(
                "application/vnd.agentphone.agent-state+json",
                body.as_bytes().to_vec(),
            );
        let change = Change {
            user: user.clone(),
            status,
            at: Instant::now(),
        };
        let _ = tx.send(change);
        authenticated(
            &mut sip,
            |got| answer.handle(got),
            &agent,
            publish,
            &aor,
            &aor,
        )?;
        made += 1;
    }
}
