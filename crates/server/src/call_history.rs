//! Each agent's part of the call records (issue 10, call history and disposition): when they
//! joined and left each call, whether they left by completing a transfer, the disposition code
//! and note they set. Read back as the agent's history (docs/protocol.md "Call history").
//!
//! The table came with schema version 2 of the records database (`records/schema.rs`): a
//! database of version 0 or 1 (calls and call_events only) is migrated when it is opened.
//! This is the SQLite side; `records/postgresql/history.rs` is the same for PostgreSQL.

use agentphone_protocol::history::{DispositionRequest, HistoryCall, Outcome, MAX_CALLS};
use rusqlite::{params, Connection, OptionalExtension};

/// Agents' parts a crash left open end when their call was closed (`records_recovery.rs` closes
/// the calls first); how many.
pub fn close_left_open(conn: &Connection) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE call_agents SET left_at_ms = MAX(joined_at_ms, COALESCE(
             (SELECT ended_at_ms FROM calls WHERE calls.id = call_agents.call_id), joined_at_ms))
         WHERE left_at_ms IS NULL",
        [],
    )
}

/// `agent` joined call `call`, talking with `party`.
pub fn joined(
    conn: &Connection,
    call: &str,
    agent: &str,
    party: &str,
    at: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO call_agents (call_id, agent, party, joined_at_ms) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![call, agent, party, at])?;
    Ok(())
}

/// `agent` left call `call` (by completing a transfer when `transferred`).
pub fn left(
    conn: &Connection,
    call: &str,
    agent: &str,
    transferred: bool,
    at: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE call_agents SET left_at_ms = ?3, transferred = ?4
         WHERE call_id = ?1 AND agent = ?2 AND left_at_ms IS NULL",
    )?
    .execute(params![call, agent, at, transferred])?;
    Ok(())
}

/// The newest calls of `agent` (at most [`MAX_CALLS`]), as of `now` (ms; for one still going).
pub fn read(conn: &Connection, agent: &str, now: i64) -> rusqlite::Result<Vec<HistoryCall>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.call_id, a.joined_at_ms, a.party, c.team, a.left_at_ms, a.transferred,
                a.disposition, a.note,
                (SELECT COUNT(*) FROM call_events e
                 WHERE e.call_id = a.call_id AND e.state = 'transfer_completed')
         FROM call_agents a LEFT JOIN calls c ON c.id = a.call_id
         WHERE a.agent = ?1
         ORDER BY a.joined_at_ms DESC, a.rowid DESC
         LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![agent, MAX_CALLS as i64], |r| {
        Ok(HistoryRow {
            call: r.get(0)?,
            joined: r.get(1)?,
            party: r.get(2)?,
            team: r.get(3)?,
            left: r.get(4)?,
            transferred: r.get(5)?,
            disposition: r.get(6)?,
            note: r.get(7)?,
            transfers: r.get(8)?,
        }
        .into_call(now))
    })?;
    rows.collect()
}

/// One row of an agent's history as both engines read it (`call_agents` joined with `calls`).
pub struct HistoryRow {
    pub call: String,
    pub joined: i64,
    pub party: String,
    pub team: Option<String>,
    pub left: Option<i64>,
    pub transferred: bool,
    pub disposition: Option<String>,
    pub note: Option<String>,
    /// How many transfers the call saw (its `transfer_completed` events).
    pub transfers: i64,
}

impl HistoryRow {
    /// The history entry, as of `now` (ms; for a call still going).
    pub fn into_call(self, now: i64) -> HistoryCall {
        HistoryCall {
            call: self.call,
            at_ms: u64::try_from(self.joined).unwrap_or(0),
            customer: self.party,
            team: self.team,
            duration_s: u64::try_from((self.left.unwrap_or(now) - self.joined).max(0) / 1000)
                .unwrap_or(0),
            transfers: u32::try_from(self.transfers).unwrap_or(u32::MAX),
            outcome: match (self.left, self.transferred) {
                (None, _) => Outcome::Ongoing,
                (Some(_), true) => Outcome::Transferred,
                (Some(_), false) => Outcome::Completed,
            },
            disposition: self.disposition,
            note: self.note,
        }
    }
}

/// Store `agent`'s disposition on the call it names (or their newest). False when the agent has
/// no such call.
pub fn set_disposition(
    conn: &Connection,
    agent: &str,
    req: &DispositionRequest,
) -> rusqlite::Result<bool> {
    let row: Option<i64> = match &req.call {
        Some(call) => conn
            .prepare_cached(
                "SELECT rowid FROM call_agents WHERE agent = ?1 AND call_id = ?2
                 ORDER BY joined_at_ms DESC, rowid DESC LIMIT 1",
            )?
            .query_row(params![agent, call], |r| r.get(0))
            .optional()?,
        None => conn
            .prepare_cached(
                "SELECT rowid FROM call_agents WHERE agent = ?1
                 ORDER BY joined_at_ms DESC, rowid DESC LIMIT 1",
            )?
            .query_row(params![agent], |r| r.get(0))
            .optional()?,
    };
    let Some(row) = row else {
        return Ok(false);
    };
    conn.prepare_cached("UPDATE call_agents SET disposition = ?2, note = ?3 WHERE rowid = ?1")?
        .execute(params![row, req.code, req.note])?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{RecordOp, RecordsHandle};

    fn history(records: &RecordsHandle, agent: &str) -> Vec<HistoryCall> {
        records.history_blocking(agent).expect("a history")
    }

    fn dispose(records: &RecordsHandle, agent: &str, call: Option<&str>, code: &str) -> bool {
        let req = DispositionRequest {
            call: call.map(str::to_string),
            code: code.into(),
            note: Some(format!("note {code}")),
        };
        records.dispose_blocking(agent, req).expect("an answer")
    }

    fn call(records: &RecordsHandle, id: &str, agents: &[(&str, bool)]) {
        let call = id.to_string();
        records.write(RecordOp::Started {
            call: call.clone(),
            kind: "inbound",
            caller: "sip:cust@x".into(),
            target: "support".into(),
            team: Some("support".into()),
        });
        for (agent, transferred) in agents {
            records.write(RecordOp::AgentJoined {
                call: call.clone(),
                agent: agent.to_string(),
                party: "Sam Carter".into(),
            });
            if *transferred {
                records.write(RecordOp::State {
                    call: call.clone(),
                    state: "transfer_completed",
                    detail: None,
                });
            }
            records.write(RecordOp::AgentLeft {
                call: call.clone(),
                agent: agent.to_string(),
                transferred: *transferred,
            });
        }
    }

    /// A database written before the history existed (schema 1: calls and call_events) opens,
    /// is migrated once, and keeps its calls.
    #[test]
    fn an_old_database_is_migrated_and_keeps_its_calls() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path)?;
            conn.execute_batch(
                "CREATE TABLE calls (id TEXT PRIMARY KEY, kind TEXT NOT NULL, caller TEXT NOT NULL,
                    target TEXT NOT NULL, team TEXT, state TEXT NOT NULL, answered_by TEXT,
                    started_at_ms INTEGER NOT NULL, answered_at_ms INTEGER, ended_at_ms INTEGER,
                    end_reason TEXT);
                 CREATE TABLE call_events (call_id TEXT NOT NULL, at_ms INTEGER NOT NULL,
                    state TEXT NOT NULL, detail TEXT);
                 INSERT INTO calls VALUES ('old', 'inbound', 'c', 'support', NULL, 'ended', 'alice',
                    1, 2, 3, 'hung up');",
            )?;
        }
        for _ in 0..2 {
            let (records, _thread) = RecordsHandle::open(&path)?;
            call(&records, "new", &[("alice", false)]);
            records.flush_blocking();
        }
        // A part a crash left open (joined, never left) ends with its call at the next start.
        {
            let (records, _thread) = RecordsHandle::open(&path)?;
            records.write(RecordOp::AgentJoined {
                call: "cut".into(),
                agent: "bob".into(),
                party: "Sam Carter".into(),
            });
            records.flush_blocking();
            assert_eq!(history(&records, "bob")[0].outcome, Outcome::Ongoing);
        }
        let (records, _thread) = RecordsHandle::open(&path)?;
        assert_eq!(history(&records, "bob")[0].outcome, Outcome::Completed);
        drop(records);
        let conn = Connection::open(&path)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let old: i64 = conn.query_row("SELECT COUNT(*) FROM calls WHERE id = 'old'", [], |r| {
            r.get(0)
        })?;
        let parts: i64 = conn.query_row("SELECT COUNT(*) FROM call_agents", [], |r| r.get(0))?;
        assert_eq!(
            (version, old, parts),
            (crate::records::schema::SCHEMA_VERSION, 1, 3)
        );
        Ok(())
    }

    #[test]
    fn the_history_lists_an_agents_calls_newest_first_with_dispositions() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let (records, _thread) = RecordsHandle::open(&dir.path().join("h.db"))?;
        call(&records, "c1", &[("alice", false)]);
        call(&records, "c2", &[("alice", true), ("bob", false)]);
        // Read at once: the read waits for the writes queued before it.
        let h = history(&records, "alice");
        let ids: Vec<(&str, Outcome, u32)> = h
            .iter()
            .map(|c| (c.call.as_str(), c.outcome, c.transfers))
            .collect();
        assert_eq!(
            ids,
            [
                ("c2", Outcome::Transferred, 1),
                ("c1", Outcome::Completed, 0)
            ]
        );
        assert_eq!(h[0].customer, "Sam Carter");
        assert_eq!(h[0].team.as_deref(), Some("support"));
        // No call named: the newest; a call named: that one; another's call: none.
        assert!(dispose(&records, "alice", None, "resolved"));
        assert!(dispose(&records, "alice", Some("c1"), "callback"));
        assert!(!dispose(&records, "alice", Some("nope"), "resolved"));
        assert!(!dispose(&records, "carol", None, "resolved"));
        let h = history(&records, "alice");
        let set: Vec<(Option<&str>, Option<&str>)> = h
            .iter()
            .map(|c| (c.disposition.as_deref(), c.note.as_deref()))
            .collect();
        assert_eq!(
            set,
            [
                (Some("resolved"), Some("note resolved")),
                (Some("callback"), Some("note callback"))
            ]
        );
        // bob's part of c2 is his own: no disposition from alice's.
        let bob = history(&records, "bob");
        assert_eq!(bob.len(), 1);
        assert_eq!(
            (bob[0].disposition.as_deref(), bob[0].outcome),
            (None, Outcome::Completed)
        );
        Ok(())
    }
}
