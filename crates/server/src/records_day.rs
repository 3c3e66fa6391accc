//! Today's customer calls and abandoned calls per team, read from the call records (SPEC V1):
//! the supervisor view's "Today" and "Abandoned" are seeded from here when the server starts, so
//! a restart does not zero them; the directory's board counts the calls after that.
//!
//! The same definitions as the board's (`directory/board.rs`): a customer's call to a team
//! (`kind = 'inbound'` with a team) counts on the UTC day it started; it is abandoned when it
//! ended without an agent answering.

use rusqlite::{params, Connection};

/// A day in ms.
pub const DAY_MS: u64 = 86_400_000;

/// Per team, the day's calls and abandoned calls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TeamDay {
    /// The day (since the Unix epoch, UTC).
    pub day: u64,
    /// (team, calls, abandoned), by team name.
    pub teams: Vec<(String, u32, u32)>,
}

/// The counts of the UTC day that `wall_ms` falls in, from the records database at `path`.
pub fn read_file(path: &std::path::Path, wall_ms: u64) -> rusqlite::Result<TeamDay> {
    read(&Connection::open(path)?, wall_ms)
}

/// The counts of the UTC day that `wall_ms` falls in.
pub fn read(conn: &Connection, wall_ms: u64) -> rusqlite::Result<TeamDay> {
    let day = wall_ms / DAY_MS;
    let start = i64::try_from(day * DAY_MS).unwrap_or(i64::MAX);
    let end = start.saturating_add(DAY_MS as i64);
    let mut stmt = conn.prepare_cached(
        "SELECT team, COUNT(*),
                SUM(CASE WHEN answered_at_ms IS NULL AND ended_at_ms IS NOT NULL THEN 1 ELSE 0 END)
         FROM calls
         WHERE kind = 'inbound' AND team IS NOT NULL
           AND started_at_ms >= ?1 AND started_at_ms < ?2
         GROUP BY team ORDER BY team",
    )?;
    let teams = stmt
        .query_map(params![start, end], |r| {
            let count = |i: usize| -> rusqlite::Result<u32> {
                Ok(u32::try_from(r.get::<_, i64>(i)?).unwrap_or(u32::MAX))
            };
            Ok((r.get::<_, String>(0)?, count(1)?, count(2)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(TeamDay { day, teams })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{RecordOp, RecordsHandle};

    fn started(records: &RecordsHandle, call: &str, kind: &'static str, team: Option<&str>) {
        records.write(RecordOp::Started {
            call: call.into(),
            kind,
            caller: "sip:cust@x".into(),
            target: team.unwrap_or("bob").into(),
            team: team.map(str::to_string),
        });
    }

    fn ended(records: &RecordsHandle, call: &str) {
        records.write(RecordOp::Ended {
            call: call.into(),
            reason: "caller hung up".into(),
        });
    }

    /// Which calls count: answered, abandoned, still waiting, another team, not a customer's,
    /// not a team's, and yesterday's.
    #[test]
    fn todays_customer_calls_and_abandoned_calls_per_team() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("day.db");
        let (records, _thread) = RecordsHandle::open(&path)?;
        // Answered, then ended: a call, not abandoned.
        started(&records, "answered", "inbound", Some("support"));
        records.write(RecordOp::Answered {
            call: "answered".into(),
            agent: "alice".into(),
        });
        ended(&records, "answered");
        // Ended unanswered: abandoned.
        started(&records, "abandoned", "inbound", Some("support"));
        ended(&records, "abandoned");
        // Still waiting: a call, not (yet) abandoned.
        started(&records, "waiting", "inbound", Some("support"));
        started(&records, "sales", "inbound", Some("sales"));
        ended(&records, "sales");
        // An agent calling a team, and a customer calling an agent: no team customer call.
        started(&records, "internal", "internal", Some("support"));
        started(&records, "direct", "inbound", None);
        records.flush_blocking();
        let conn = Connection::open(&path)?;
        // Yesterday's call (moved back a day) is not today's.
        started(&records, "yesterday", "inbound", Some("support"));
        records.flush_blocking();
        conn.execute(
            "UPDATE calls SET started_at_ms = started_at_ms - ?1 WHERE id = 'yesterday'",
            [DAY_MS as i64],
        )?;
        // "Now" is when today's calls were written (the test does not depend on the clock).
        let now: i64 = conn.query_row(
            "SELECT MAX(started_at_ms) FROM calls WHERE id != 'yesterday'",
            [],
            |r| r.get(0),
        )?;
        let now = u64::try_from(now)?;
        let got = read(&conn, now)?;
        assert_eq!(got.day, now / DAY_MS);
        assert_eq!(
            got.teams,
            [("sales".to_string(), 1, 1), ("support".to_string(), 3, 1)]
        );
        Ok(())
    }
}
