//! Call records in SQLite (SPEC B6): one row per call, updated at each state change, plus an
//! append-only event list. A dedicated writer thread owns the connection, so SQLite's blocking I/O
//! never runs on the async runtime. WAL mode with synchronous=FULL: a crash loses nothing committed.

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection};

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
}

enum Msg {
    Op(RecordOp, i64),
    Flush(std::sync::mpsc::Sender<()>),
}

/// Sends record changes to the writer thread. Cheap to clone.
#[derive(Clone)]
pub struct RecordsHandle {
    tx: mpsc::Sender<Msg>,
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
";

impl RecordsHandle {
    /// Open (or create) the database and start the writer thread.
    pub fn open(path: &Path) -> anyhow::Result<(RecordsHandle, JoinHandle<()>)> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("call-records".into())
            .spawn(move || writer(conn, rx))?;
        Ok((RecordsHandle { tx }, thread))
    }

    /// Record a change (written at once, in order).
    pub fn write(&self, op: RecordOp) {
        let _ = self.tx.send(Msg::Op(op, now_ms()));
    }

    /// Wait until everything sent so far is written (blocking; for shutdown).
    pub fn flush_blocking(&self) {
        let (tx, rx) = mpsc::channel();
        if self.tx.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.recv_timeout(std::time::Duration::from_secs(5));
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn writer(conn: Connection, rx: mpsc::Receiver<Msg>) {
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Op(op, at) => {
                if let Err(e) = apply(&conn, &op, at) {
                    tracing::error!(error = %e, ?op, "could not write a call record");
                }
            }
            Msg::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
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
            conn.execute(
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
            conn.execute(
                "UPDATE calls SET state = ?2 WHERE id = ?1",
                params![call, state],
            )?;
            event(conn, call, at, state, detail.as_deref())
        }
        RecordOp::Answered { call, agent } => {
            conn.execute(
                "UPDATE calls SET state = 'connected', answered_by = ?2, answered_at_ms = ?3 WHERE id = ?1",
                params![call, agent, at],
            )?;
            event(conn, call, at, "answered", Some(agent))
        }
        RecordOp::Ended { call, reason } => {
            conn.execute(
                "UPDATE calls SET state = 'ended', ended_at_ms = ?2, end_reason = ?3 WHERE id = ?1",
                params![call, at, reason],
            )?;
            event(conn, call, at, "ended", Some(reason))
        }
    }
}

fn event(
    conn: &Connection,
    call: &str,
    at: i64,
    state: &str,
    detail: Option<&str>,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO call_events (call_id, at_ms, state, detail) VALUES (?1, ?2, ?3, ?4)",
        params![call, at, state, detail],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
