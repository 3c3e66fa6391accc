//! Call records (SPEC B6): one row per call, updated at each state change, plus an append-only
//! event list and each agent's part (`call_history.rs`). In SQLite by default
//! (`records/sqlite.rs`), in PostgreSQL when the server runs as a cluster node
//! (`records/postgresql/`); the schema is the same (`records/schema.rs`). A dedicated writer thread
//! owns the connection, so the database's blocking I/O never runs on the async runtime or a
//! call's path: rooms only push an op into a bounded queue.
//!
//! The writer takes whatever is queued (up to [`BATCH_MAX`] ops; under steady load it gathers
//! for up to [`COMMIT_EVERY`] after the previous commit) and writes it in one transaction with
//! prepared statements, so a burst costs one commit, not one per statement. SQLite runs WAL
//! with `synchronous=NORMAL`: a commit is in the WAL before the writer goes on, so a crash of the
//! process loses nothing committed (only an OS crash or power loss can lose the last commits).
//! An op waits at most [`COMMIT_EVERY`] plus the previous commit's time (milliseconds). The
//! writer gathers asleep, so the rooms' sends wake it at most once per commit, and a flush or
//! read that comes while it gathers waits for the window's end (≤ [`COMMIT_EVERY`]).
//!
//! Queue full ([`QUEUE_CAPACITY`] ops, the disk stalled for seconds): the op is dropped and
//! counted rather than blocking a room or growing memory; the writer's periodic report (below)
//! says how many were dropped, at warn level.
//!
//! Every [`REPORT_EVERY`] with activity the writer logs at info (target
//! `agentphone_server::records`): ops written, commits, the largest lag (op created → committed)
//! and what was dropped — the call-rate bench reads the lag from there.

pub mod postgresql;
pub mod schema;
mod sqlite;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use agentphone_protocol::history::{DispositionRequest, HistoryCall};

pub use crate::records_day::TeamDay;

/// Most ops waiting for the writer (≈ 150 bytes each): beyond it ops are dropped, counted.
pub const QUEUE_CAPACITY: usize = 65_536;
/// Most ops written in one transaction.
pub const BATCH_MAX: usize = 4_096;
/// How often the writer reports what it did (when it did something).
pub const REPORT_EVERY: Duration = Duration::from_secs(5);
/// Least time between two commits while ops keep coming: the writer gathers what arrives in
/// between into one transaction. Each commit appends every page it touched to the WAL, so at
/// 300 calls/s ≈ 900 commits of 2 ops each were 13 % of the server's CPU (memcpy and pwrite of
/// the same few pages); 20 commits/s cost a fraction of that and add at most this much lag. A
/// lone op after a quiet spell is committed at once.
pub const COMMIT_EVERY: Duration = Duration::from_millis(50);

/// Where the records are kept: the writer thread's side of one database engine.
pub trait RecordStore: Send + 'static {
    /// Write all ops of a batch in one transaction (rolled back as a whole when one fails).
    fn write_batch(&mut self, batch: &[(RecordOp, i64)]) -> anyhow::Result<()>;
    /// The newest calls of `agent`, as of `now` (ms).
    fn history(&mut self, agent: &str, now: i64) -> anyhow::Result<Vec<HistoryCall>>;
    /// Store `agent`'s disposition; false when the agent has no such call.
    fn dispose(&mut self, agent: &str, req: &DispositionRequest) -> anyhow::Result<bool>;
    /// Work the store does now and then besides writing (a cluster node's lease); the writer calls
    /// it at least this often. None: never.
    fn tick_every(&self) -> Option<Duration> {
        None
    }
    /// Do that work.
    fn tick(&mut self) {}
}

/// One change to a call record.
#[derive(Debug, Clone)]
pub enum RecordOp {
    /// A call started.
    Started {
        call: String,
        kind: &'static str,
        caller: String,
        target: String,
        team: Option<String>,
    },
    /// The call changed state (ringing X, connected, held, resumed, …); `detail` says more.
    State {
        call: String,
        state: &'static str,
        detail: Option<String>,
    },
    /// An agent answered.
    Answered { call: String, agent: String },
    /// The call ended.
    Ended { call: String, reason: String },
    /// An agent joined the call, talking with `party` (their history, `call_history.rs`).
    AgentJoined {
        call: String,
        agent: String,
        party: String,
    },
    /// An agent left the call (by completing a transfer when `transferred`).
    AgentLeft {
        call: String,
        agent: String,
        transferred: bool,
    },
}

enum Msg {
    Op(RecordOp, i64),
    /// Answered once everything queued before it is committed.
    Flush(mpsc::Sender<()>),
    /// A read, answered once everything queued before it is committed.
    Read(Read),
}

/// A read of the records for an agent's desktop (answered on the writer thread, in order).
pub enum Read {
    /// An agent's history.
    History {
        agent: String,
        reply: tokio::sync::oneshot::Sender<Option<Vec<HistoryCall>>>,
    },
    /// Set a disposition: Some(true) stored, Some(false) no such call, None database error.
    Dispose {
        agent: String,
        req: DispositionRequest,
        reply: tokio::sync::oneshot::Sender<Option<bool>>,
    },
}

/// Sends record changes to the writer thread. Cheap to clone.
#[derive(Clone)]
pub struct RecordsHandle {
    tx: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
}

impl RecordsHandle {
    /// Open (or create) the SQLite database and start the writer thread.
    pub fn open(path: &Path) -> anyhow::Result<(RecordsHandle, JoinHandle<()>)> {
        let path = path.to_path_buf();
        Self::start(move || Ok(Box::new(sqlite::SqliteStore::open(&path)?)))
    }

    /// Connect to PostgreSQL as a cluster node and start the writer thread.
    pub fn open_postgres(
        settings: &postgresql::PostgresSettings,
    ) -> anyhow::Result<(RecordsHandle, JoinHandle<()>)> {
        let settings = settings.clone();
        Self::start(move || Ok(Box::new(postgresql::PostgresStore::open(&settings)?)))
    }

    /// Start the writer thread, which opens its store first (on its own thread: the PostgreSQL
    /// client runs a small runtime of its own, which cannot start inside the server's); returns
    /// once the store is open, or with the reason it could not be.
    fn start(
        open: impl FnOnce() -> anyhow::Result<Box<dyn RecordStore>> + Send + 'static,
    ) -> anyhow::Result<(RecordsHandle, JoinHandle<()>)> {
        let (tx, rx) = mpsc::sync_channel(QUEUE_CAPACITY);
        let dropped = Arc::new(AtomicU64::new(0));
        let writer_dropped = dropped.clone();
        let (opened_tx, opened) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("call-records".into())
            .spawn(move || match open() {
                Ok(store) => {
                    let _ = opened_tx.send(Ok(()));
                    writer(store, rx, &writer_dropped);
                }
                Err(e) => {
                    let _ = opened_tx.send(Err(e));
                }
            })?;
        opened
            .recv()
            .map_err(|_| anyhow::anyhow!("the records writer thread died while opening"))??;
        Ok((RecordsHandle { tx, dropped }, thread))
    }

    /// Queue a change (written in order, within milliseconds). Never blocks: when the queue is
    /// full the change is dropped and counted.
    pub fn write(&self, op: RecordOp) {
        match self.tx.try_send(Msg::Op(op, now_ms())) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Ask the writer for a read; it is answered after everything queued before it is written.
    /// False when the writer is gone or its queue is full (the caller answers 503).
    pub fn read(&self, read: Read) -> bool {
        self.tx.try_send(Msg::Read(read)).is_ok()
    }

    /// An agent's history, read after everything queued before (blocking; for tests and tools).
    /// None when the writer is gone or the read failed.
    pub fn history_blocking(&self, agent: &str) -> Option<Vec<HistoryCall>> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let agent = agent.to_string();
        self.read(Read::History { agent, reply })
            .then(|| rx.blocking_recv().ok().flatten())
            .flatten()
    }

    /// Set a disposition (blocking; for tests and tools): Some(false) when the agent has no such
    /// call, None when the writer is gone or the write failed.
    pub fn dispose_blocking(&self, agent: &str, req: DispositionRequest) -> Option<bool> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let agent = agent.to_string();
        self.read(Read::Dispose { agent, req, reply })
            .then(|| rx.blocking_recv().ok().flatten())
            .flatten()
    }

    /// Wait until everything sent so far is committed (blocking; for shutdown and tests).
    pub fn flush_blocking(&self) {
        let (tx, rx) = mpsc::channel();
        if self.tx.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.recv_timeout(Duration::from_secs(5));
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What the writer did since its last report.
#[derive(Default)]
struct Report {
    ops: u64,
    commits: u64,
    max_lag_ms: i64,
    failed: u64,
}

fn writer(mut store: Box<dyn RecordStore>, rx: Receiver<Msg>, dropped: &AtomicU64) {
    let mut batch: Vec<(RecordOp, i64)> = Vec::with_capacity(BATCH_MAX);
    let mut flushes: Vec<mpsc::Sender<()>> = Vec::new();
    let mut reads: Vec<Read> = Vec::new();
    let mut report = Report::default();
    let mut last_report = Instant::now();
    let tick_every = store.tick_every();
    let wake_every = tick_every.map_or(REPORT_EVERY, |t| t.min(REPORT_EVERY));
    let mut last_tick = Instant::now();
    let mut last_commit: Option<Instant> = None;
    loop {
        // Wait for work (waking now and then to report), then take what else is queued.
        match rx.recv_timeout(wake_every) {
            Ok(msg) => take(msg, &mut batch, &mut flushes, &mut reads),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        // Gather by sleeping through the rest of the window, not by waiting on the queue: a
        // waiting receiver is woken by every op sent (a futex call on both sides, ≈ 1 000 a
        // second at 300 calls/s: 8 % of the server's CPU); asleep, senders only queue. A flush
        // or read that comes meanwhile waits for the window's end.
        let gather_until = last_commit.map(|t| t + COMMIT_EVERY);
        let wait = gather_until.and_then(|t| t.checked_duration_since(Instant::now()));
        if let Some(wait) = wait.filter(|_| flushes.is_empty() && reads.is_empty()) {
            std::thread::sleep(wait);
        }
        while batch.len() < BATCH_MAX {
            match rx.try_recv() {
                Ok(msg) => take(msg, &mut batch, &mut flushes, &mut reads),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            if let Err(e) = store.write_batch(&batch) {
                report.failed += batch.len() as u64;
                tracing::error!(error = %e, ops = batch.len(), "could not write call records");
            }
            let committed = now_ms();
            report.ops += batch.len() as u64;
            report.commits += 1;
            let oldest = batch.iter().map(|(_, at)| *at).min().unwrap_or(committed);
            report.max_lag_ms = report.max_lag_ms.max(committed - oldest);
            batch.clear();
            last_commit = Some(Instant::now());
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
        for read in reads.drain(..) {
            answer(store.as_mut(), read);
        }
        if tick_every.is_some_and(|t| last_tick.elapsed() >= t) {
            store.tick();
            last_tick = Instant::now();
        }
        if last_report.elapsed() >= REPORT_EVERY {
            log_report(
                &std::mem::take(&mut report),
                dropped.swap(0, Ordering::Relaxed),
            );
            last_report = Instant::now();
        }
    }
    log_report(&report, dropped.swap(0, Ordering::Relaxed));
}

fn take(
    msg: Msg,
    batch: &mut Vec<(RecordOp, i64)>,
    flushes: &mut Vec<mpsc::Sender<()>>,
    reads: &mut Vec<Read>,
) {
    match msg {
        Msg::Op(op, at) => batch.push((op, at)),
        Msg::Flush(done) => flushes.push(done),
        Msg::Read(read) => reads.push(read),
    }
}

/// Answer a read (a database error is logged and answered None).
fn answer(store: &mut dyn RecordStore, read: Read) {
    match read {
        Read::History { agent, reply } => {
            let calls = store
                .history(&agent, now_ms())
                .map_err(|e| tracing::error!(error = %e, %agent, "could not read the history"))
                .ok();
            let _ = reply.send(calls);
        }
        Read::Dispose { agent, req, reply } => {
            let stored = store
                .dispose(&agent, &req)
                .map_err(|e| tracing::error!(error = %e, %agent, "could not store a disposition"))
                .ok();
            let _ = reply.send(stored);
        }
    }
}

fn log_report(r: &Report, dropped: u64) {
    if dropped > 0 || r.failed > 0 {
        tracing::warn!(
            dropped,
            failed = r.failed,
            "call records lost (queue full or database error)"
        );
    }
    if r.ops > 0 {
        tracing::info!(
            ops = r.ops,
            commits = r.commits,
            max_lag_ms = r.max_lag_ms,
            "call records written"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// Set in the child process of the crash test: the database it writes to.
    const CRASH_CHILD_DB: &str = "AGENTPHONE_RECORDS_CRASH_CHILD_DB";
    const CRASH_CALLS: usize = 500;

    fn call_ops(records: &RecordsHandle, call: &str) {
        records.write(RecordOp::Started {
            call: call.into(),
            kind: "inbound",
            caller: "sip:cust@x".into(),
            target: "support".into(),
            team: Some("support".into()),
        });
        records.write(RecordOp::Answered {
            call: call.into(),
            agent: "alice".into(),
        });
        records.write(RecordOp::Ended {
            call: call.into(),
            reason: "caller hung up".into(),
        });
    }

    /// B6: calls that ended survive a crash of the process right after: a child (this test
    /// binary run again) writes them, waits until the writer says they are committed, and aborts
    /// without closing anything; the parent opens the database and finds every one ended.
    #[test]
    fn ended_calls_survive_a_crash_of_the_writer() -> anyhow::Result<()> {
        if let Ok(path) = std::env::var(CRASH_CHILD_DB) {
            let (records, _thread) = RecordsHandle::open(Path::new(&path))?;
            for i in 0..CRASH_CALLS {
                call_ops(&records, &format!("c{i}"));
            }
            records.flush_blocking();
            std::process::abort();
        }
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("crash.db");
        let status = std::process::Command::new(std::env::current_exe()?)
            .args([
                "--exact",
                "records::tests::ended_calls_survive_a_crash_of_the_writer",
                "--test-threads=1",
            ])
            .env(CRASH_CHILD_DB, &path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()?;
        assert!(!status.success(), "the child should have crashed");
        let conn = Connection::open(&path)?;
        let ended: i64 = conn.query_row(
            "SELECT COUNT(*) FROM calls WHERE state = 'ended' AND answered_by = 'alice'",
            [],
            |r| r.get(0),
        )?;
        assert_eq!(ended, CRASH_CALLS as i64);
        Ok(())
    }

    /// A store that only notes when each batch came and how big it was.
    struct Timed(Arc<std::sync::Mutex<Vec<(Instant, usize)>>>);

    impl RecordStore for Timed {
        fn write_batch(&mut self, batch: &[(RecordOp, i64)]) -> anyhow::Result<()> {
            if let Ok(mut seen) = self.0.lock() {
                seen.push((Instant::now(), batch.len()));
            }
            Ok(())
        }
        fn history(&mut self, _: &str, _: i64) -> anyhow::Result<Vec<HistoryCall>> {
            Ok(Vec::new())
        }
        fn dispose(&mut self, _: &str, _: &DispositionRequest) -> anyhow::Result<bool> {
            Ok(false)
        }
    }

    /// Ops trickling in (one every millisecond) are gathered: two commits are never closer than
    /// COMMIT_EVERY, and a flush still gets everything written.
    #[test]
    fn a_steady_trickle_is_committed_at_most_every_commit_interval() -> anyhow::Result<()> {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let store = Timed(seen.clone());
        let (records, _thread) = RecordsHandle::start(move || Ok(Box::new(store)))?;
        for i in 0..200 {
            records.write(RecordOp::Ended {
                call: format!("t{i}"),
                reason: "done".into(),
            });
            std::thread::sleep(Duration::from_millis(1));
        }
        records.flush_blocking();
        let seen = seen
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .clone();
        assert_eq!(seen.iter().map(|(_, n)| n).sum::<usize>(), 200);
        // The last batch may be cut short by the flush; the ones before it waited their turn.
        for pair in seen[..seen.len() - 1].windows(2) {
            let gap = pair[1].0 - pair[0].0;
            assert!(gap >= COMMIT_EVERY, "commits {gap:?} apart: {seen:?}");
        }
        Ok(())
    }

    #[test]
    fn a_burst_lands_in_order_in_few_commits() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("burst.db");
        let (records, _thread) = RecordsHandle::open(&path)?;
        for i in 0..2_000 {
            call_ops(&records, &format!("b{i}"));
        }
        records.flush_blocking();
        let conn = Connection::open(&path)?;
        let (calls, events): (i64, i64) = conn.query_row(
            "SELECT (SELECT COUNT(*) FROM calls WHERE state = 'ended'), (SELECT COUNT(*) FROM call_events)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        assert_eq!((calls, events), (2_000, 6_000));
        // In order: each call's events are started, answered, ended.
        let order: String = conn.query_row(
            "SELECT group_concat(state, ',') FROM (SELECT state FROM call_events WHERE call_id = 'b1999' ORDER BY rowid)",
            [],
            |r| r.get(0),
        )?;
        assert_eq!(order, "started,answered,ended");
        Ok(())
    }

    #[test]
    fn a_call_is_recorded_through_its_states() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("r.db");
        let (records, _thread) = RecordsHandle::open(&path)?;
        records.write(RecordOp::Started {
            call: "c1".into(),
            kind: "inbound",
            caller: "sip:cust@x".into(),
            target: "support".into(),
            team: Some("support".into()),
        });
        records.write(RecordOp::Answered {
            call: "c1".into(),
            agent: "alice".into(),
        });
        records.write(RecordOp::Ended {
            call: "c1".into(),
            reason: "caller hung up".into(),
        });
        records.flush_blocking();
        let conn = Connection::open(&path)?;
        let (state, by, reason): (String, String, String) = conn.query_row(
            "SELECT state, answered_by, end_reason FROM calls WHERE id = 'c1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        assert_eq!(
            (state.as_str(), by.as_str(), reason.as_str()),
            ("ended", "alice", "caller hung up")
        );
        let events: i64 = conn.query_row(
            "SELECT COUNT(*) FROM call_events WHERE call_id = 'c1'",
            [],
            |r| r.get(0),
        )?;
        assert_eq!(events, 3);
        Ok(())
    }
}
