//! Node leases in PostgreSQL (issue 12, stale-lease sweep). Every node renews its row in
//! `node_leases` every third of its lease; the expiry is computed on the database's clock, so
//! the nodes' clocks need not agree. Each renewal also sweeps: a lease that ran out is deleted and
//! its node's open calls are closed, as `server node lost`, at the time of the last thing written
//! about each (like a restart's recovery, `records_recovery.rs`). The DELETE … RETURNING takes the
//! lease row's lock, so when two survivors sweep at once only one of them closes a dead node's
//! calls.

use std::time::Duration;

use postgres::{Client, Transaction};

/// The end reason of the calls of a node that stopped renewing its lease.
pub const NODE_LOST: &str = "server node lost";

/// The database's clock in ms since the epoch.
const DB_NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

/// Renew (or take) `node`'s lease for `lease` from now.
pub fn heartbeat(client: &mut Client, node: &str, lease: Duration) -> Result<(), postgres::Error> {
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2);
    client.execute(
        &format!(
            "INSERT INTO node_leases (node, expires_at_ms) VALUES ($1, {DB_NOW_MS} + $2)
             ON CONFLICT (node) DO UPDATE SET expires_at_ms = EXCLUDED.expires_at_ms"
        ),
        &[&node, &lease_ms],
    )?;
    Ok(())
}

/// Close the open calls of every other node whose lease ran out; which nodes, with how many calls.
pub fn sweep(client: &mut Client, me: &str) -> Result<Vec<(String, u64)>, postgres::Error> {
    let mut tx = client.transaction()?;
    let dead: Vec<String> = tx
        .query(
            &format!(
                "DELETE FROM node_leases WHERE expires_at_ms < {DB_NOW_MS} AND node <> $1
                 RETURNING node"
            ),
            &[&me],
        )?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let mut swept = Vec::with_capacity(dead.len());
    for node in dead {
        let calls = close_open_calls(&mut tx, &node, NODE_LOST)?;
        swept.push((node, calls));
    }
    tx.commit()?;
    Ok(swept)
}

/// At start-up: close the calls this node left open when it last stopped (crash, kill).
pub fn close_own_left_open(client: &mut Client, node: &str) -> Result<u64, postgres::Error> {
    let mut tx = client.transaction()?;
    let closed = close_open_calls(&mut tx, node, crate::records_recovery::SERVER_RESTART)?;
    tx.commit()?;
    Ok(closed)
}

/// Close `node`'s open calls and its agents' open parts in them, at the time of the last thing
/// written about each call; how many calls.
fn close_open_calls(
    tx: &mut Transaction<'_>,
    node: &str,
    reason: &str,
) -> Result<u64, postgres::Error> {
    tx.execute(
        "INSERT INTO call_events (call_id, at_ms, state, detail)
         SELECT id, COALESCE((SELECT MAX(at_ms) FROM call_events WHERE call_id = calls.id),
                             started_at_ms), 'ended', $1
         FROM calls WHERE ended_at_ms IS NULL AND node = $2",
        &[&reason, &node],
    )?;
    let closed = tx.execute(
        "UPDATE calls SET state = 'ended', end_reason = $1,
             ended_at_ms = COALESCE((SELECT MAX(at_ms) FROM call_events WHERE call_id = calls.id),
                                    started_at_ms)
         WHERE ended_at_ms IS NULL AND node = $2",
        &[&reason, &node],
    )?;
    tx.execute(
        "UPDATE call_agents SET left_at_ms = GREATEST(joined_at_ms, COALESCE(
             (SELECT ended_at_ms FROM calls WHERE calls.id = call_agents.call_id), joined_at_ms))
         WHERE left_at_ms IS NULL
           AND call_id IN (SELECT id FROM calls WHERE node = $1)",
        &[&node],
    )?;
    Ok(closed)
}
