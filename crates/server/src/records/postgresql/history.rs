//! An agent's history and dispositions read from PostgreSQL: the same queries as
//! `call_history.rs` does on SQLite (`id` where SQLite has `rowid`).

use agentphone_protocol::history::{DispositionRequest, HistoryCall, MAX_CALLS};
use postgres::Client;

use crate::call_history::HistoryRow;

/// The newest calls of `agent` (at most [`MAX_CALLS`]), as of `now` (ms).
pub fn read(
    client: &mut Client,
    agent: &str,
    now: i64,
) -> Result<Vec<HistoryCall>, postgres::Error> {
    let rows = client.query(
        "SELECT a.call_id, a.joined_at_ms, a.party, c.team, a.left_at_ms, a.transferred,
                a.disposition, a.note,
                (SELECT COUNT(*) FROM call_events e
                 WHERE e.call_id = a.call_id AND e.state = 'transfer_completed')
         FROM call_agents a LEFT JOIN calls c ON c.id = a.call_id
         WHERE a.agent = $1
         ORDER BY a.joined_at_ms DESC, a.id DESC
         LIMIT $2",
        &[&agent, &(MAX_CALLS as i64)],
    )?;
    rows.iter()
        .map(|r| {
            Ok(HistoryRow {
                call: r.try_get(0)?,
                joined: r.try_get(1)?,
                party: r.try_get(2)?,
                team: r.try_get(3)?,
                left: r.try_get(4)?,
                transferred: r.try_get(5)?,
                disposition: r.try_get(6)?,
                note: r.try_get(7)?,
                transfers: r.try_get(8)?,
            }
            .into_call(now))
        })
        .collect()
}

/// Store `agent`'s disposition on the call it names (or their newest); false when none.
pub fn set_disposition(
    client: &mut Client,
    agent: &str,
    req: &DispositionRequest,
) -> Result<bool, postgres::Error> {
    let stored = client.execute(
        "UPDATE call_agents SET disposition = $3, note = $4
         WHERE id = (SELECT id FROM call_agents
                     WHERE agent = $1 AND ($2::text IS NULL OR call_id = $2)
                     ORDER BY joined_at_ms DESC, id DESC LIMIT 1)",
        &[&agent, &req.call, &req.code, &req.note],
    )?;
    Ok(stored > 0)
}
