//! Call records in SQLite (SPEC B6): one row per call, updated at each state change, plus an
//! append-only event list. A dedicated writer thread owns the connection, so SQLite's blocking I/O
//! never runs on the async runtime or a call's path: rooms only push an op into a bounded queue.
//!
//! The writer takes whatever is queued (up to [`BATCH_MAX`] ops) and writes it in one transaction
//! with cached prepared statements, so a burst costs one commit, not one per statement. WAL with
//! `synchronous=NORMAL`: a commit is in the WAL before the writer goes on, so a crash of the
//! process loses nothing committed (only an OS crash or power loss can lose the last commits).
//! An op waits in the queue only while the previous batch commits (milliseconds).
//!
//! Queue full ([`QUEUE_CAPACITY`] ops, the disk stalled for seconds): the op is dropped and
//! counted rather than blocking a room or growing memory; the writer's periodic report (below)
//! says how many were dropped, at warn level.
//!
//! Every [`REPORT_EVERY`] with activity the writer logs at info (target
//! `agentphone_server::records`): ops written, commits, the largest lag (op created → committed)
//! and what was dropped — the call-rate bench reads the lag from there.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use agentphone_protocol::history::{DispositionRequest, HistoryCall};
use rusqlite::{params, Connection};

use crate::call_history;
pub use crate::records_day::TeamDay;

/// Most ops waiting for the writer (≈ 150 bytes each): beyond it ops are dropped, counted.
pub const QUEUE_CAPACITY: usize = 65_536;
/// Most ops written in one transaction.
pub const BATCH_MAX: usize = 4_096;
/// How often the writer reports what it did (when it did something).
pub const REPORT_EVERY: Duration = Duration::from_secs(5);

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

/// The schema; `IF NOT EXISTS` so a restart reuses the file.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS calls (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,            -- inbound | internal | outbound
    caller TEXT NOT NULL,
    target TEXT NOT NULL,
    team TEXT,
    state TEXT NOT NULL,           -- last state
    answered_by TEXT,
    started_at_ms INTEGER NOT NULL,
    answered_at_ms INTEGER,
    ended_at_ms INTEGER,
    end_reason TEXT
);
CREATE TABLE IF NOT EXISTS call_events (
    call_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS call_events_by_call ON call_events(call_id);
CREATE INDEX IF NOT EXISTS calls_by_start ON calls(started_at_ms);
";

impl RecordsHandle {
    /// Open (or create) the database and start the writer thread.
    pub fn open(path: &Path) -> anyhow::Result<(RecordsHandle, JoinHandle<()>)> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        call_history::migrate(&conn)?;
        crate::records_recovery::close_left_open(&mut conn)?;
        call_history::close_left_open(&conn)?;
        let (tx, rx) = mpsc::sync_channel(QUEUE_CAPACITY);
        let dropped = Arc::new(AtomicU64::new(0));
        let writer_dropped = dropped.clone();
        let thread = std::thread::Builder::new()
            .name("call-records".into())
            .spawn(move || writer(conn, rx, &writer_dropped))?;
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

    /// Wait until everything sent so far is committed (blocking; for shutdown and tests).
    pub fn flush_blocking(&self) {
        let (tx, rx) = mpsc::channel();
        if self.tx.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.recv_timeout(Duration::from_secs(5));
        }
    }
}

fn now_ms() -> i64 {
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

fn writer(mut conn: Connection, rx: Receiver<Msg>, dropped: &AtomicU64) {
    let mut batch: Vec<(RecordOp, i64)> = Vec::with_capacity(BATCH_MAX);
    let mut flushes: Vec<mpsc::Sender<()>> = Vec::new();
    let mut reads: Vec<Read> = Vec::new();
    let mut report = Report::default();
    let mut last_report = Instant::now();
    loop {
        // Wait for work (waking now and then to report), then take what else is queued.
        match rx.recv_timeout(REPORT_EVERY) {
            Ok(msg) => take(msg, &mut batch, &mut flushes, &mut reads),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        while batch.len() < BATCH_MAX {
            match rx.try_recv() {
                Ok(msg) => take(msg, &mut batch, &mut flushes, &mut reads),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            if let Err(e) = write_batch(&mut conn, &batch) {
                report.failed += batch.len() as u64;
                tracing::error!(error = %e, ops = batch.len(), "could not write call records");
            }
            let committed = now_ms();
            report.ops += batch.len() as u64;
            report.commits += 1;
            let oldest = batch.iter().map(|(_, at)| *at).min().unwrap_or(committed);
            report.max_lag_ms = report.max_lag_ms.max(committed - oldest);
            batch.clear();
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
        for read in reads.drain(..) {
            answer(&conn, read);
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
fn answer(conn: &Connection, read: Read) {
    match read {
        Read::History { agent, reply } => {
            let calls = call_history::read(conn, &agent, now_ms())
                .map_err(|e| tracing::error!(error = %e, %agent, "could not read the history"))
                .ok();
            let _ = reply.send(calls);
        }
        Read::Dispose { agent, req, reply } => {
            let stored = call_history::set_disposition(conn, &agent, &req)
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

/// All ops of a batch in one transaction (rolled back as a whole when one fails).
fn write_batch(conn: &mut Connection, batch: &[(RecordOp, i64)]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for (op, at) in batch {
        apply(&tx, op, *at)?;
    }
    tx.commit()
}

fn apply(conn: &Connection, op: &RecordOp, at: i64) -> rusqlite::Result<()> {
    match op {
        RecordOp::Started {
            call,
            kind,
            caller,
            target,
            team,
        } => {
            exec(
                conn,
                "INSERT OR REPLACE INTO calls (id, kind, caller, target, team, state, started_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'started', ?6)",
                params![call, kind, caller, target, team, at],
            )?;
            event(
                conn,
                call,
                at,
                "started",
                Some(&format!("{caller} → {target}")),
            )
        }
        RecordOp::State {
            call,
            state,
            detail,
        } => {
            exec(
                conn,
                "UPDATE calls SET state = ?2 WHERE id = ?1",
                params![call, state],
            )?;
            event(conn, call, at, state, detail.as_deref())
        }
        RecordOp::Answered { call, agent } => {
            exec(
                conn,
                "UPDATE calls SET state = 'connected', answered_by = ?2, answered_at_ms = ?3 WHERE id = ?1",
                params![call, agent, at],
            )?;
            event(conn, call, at, "answered", Some(agent))
        }
        RecordOp::Ended { call, reason } => {
            exec(
                conn,
                "UPDATE calls SET state = 'ended', ended_at_ms = ?2, end_reason = ?3 WHERE id = ?1",
                params![call, at, reason],
            )?;
            event(conn, call, at, "ended", Some(reason))
        }
        RecordOp::AgentJoined { call, agent, party } => {
            call_history::joined(conn, call, agent, party, at)
        }
        RecordOp::AgentLeft {
            call,
            agent,
            transferred,
        } => call_history::left(conn, call, agent, *transferred, at),
    }
}

/// Run one statement, prepared once per connection (SQLite's statement cache).
fn exec(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute(params)?;
    Ok(())
}

fn event(
    conn: &Connection,
    call: &str,
    at: i64,
    state: &str,
    detail: Option<&str>,
) -> rusqlite::Result<()> {
    exec(
        conn,
        "INSERT INTO call_events (call_id, at_ms, state, detail) VALUES (?1, ?2, ?3, ?4)",
        params![call, at, state, detail],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
