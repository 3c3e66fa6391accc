//! Calls a crash left open (issue 11 §7): at start-up, before any new call is written, every
//! call record without an end is closed with end reason `server restart`, at the time of the last
//! thing written about it (its last event, else its start) — the best bound the database has of
//! when the call was cut. An `ended` event says the same in the call's history.

use rusqlite::Connection;

/// The end reason of calls a crash or kill left open.
pub const SERVER_RESTART: &str = "server restart";

/// Close every open call; how many there were.
pub fn close_left_open(conn: &mut Connection) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO call_events (call_id, at_ms, state, detail)
         SELECT id, COALESCE((SELECT MAX(at_ms) FROM call_events WHERE call_id = calls.id),
                             started_at_ms), 'ended', ?1
         FROM calls WHERE ended_at_ms IS NULL",
        [SERVER_RESTART],
    )?;
    let closed = tx.execute(
        "UPDATE calls SET state = 'ended', end_reason = ?1,
             ended_at_ms = COALESCE((SELECT MAX(at_ms) FROM call_events WHERE call_id = calls.id),
                                    started_at_ms)
         WHERE ended_at_ms IS NULL",
        [SERVER_RESTART],
    )?;
    tx.commit()?;
    if closed > 0 {
        tracing::warn!(
            calls = closed,
            "call records left open by the last run closed as `{SERVER_RESTART}`"
        );
    }
    Ok(closed)
}
