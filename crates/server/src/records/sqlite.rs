//! The SQLite store (the embedded default): one file, WAL, written by the records writer thread.

use std::path::Path;

use agentphone_protocol::history::{DispositionRequest, HistoryCall};
use rusqlite::{params, Connection};

use super::{RecordOp, RecordStore};
use crate::call_history;

/// The records in a SQLite file.
pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    /// Open (or create) the database, migrate it and close what the last run left open.
    pub fn open(path: &Path) -> anyhow::Result<SqliteStore> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        super::schema::migrate_sqlite(&conn)?;
        crate::records_recovery::close_left_open(&mut conn)?;
        call_history::close_left_open(&conn)?;
        Ok(SqliteStore { conn })
    }
}

impl RecordStore for SqliteStore {
    fn write_batch(&mut self, batch: &[(RecordOp, i64)]) -> anyhow::Result<()> {
        Ok(write_batch(&mut self.conn, batch)?)
    }

    fn history(&mut self, agent: &str, now: i64) -> anyhow::Result<Vec<HistoryCall>> {
        Ok(call_history::read(&self.conn, agent, now)?)
    }

    fn dispose(&mut self, agent: &str, req: &DispositionRequest) -> anyhow::Result<bool> {
        Ok(call_history::set_disposition(&self.conn, agent, req)?)
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
