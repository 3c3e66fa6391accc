//! The call records' schema, version by version, for both engines side by side: SQLite (the
//! embedded default, `PRAGMA user_version`) and PostgreSQL (cluster mode, table `schema_version`).
//! The tables and columns are the same; only the dialect differs (`BIGINT` for `INTEGER`,
//! `BOOLEAN` for 0/1, an `id BIGSERIAL` where SQLite has its implicit `rowid`).
//!
//! - v1: `calls` (one row per call) and `call_events` (its timeline).
//! - v2: `call_agents` (each agent's part of a call: history and disposition, issue 10).
//! - v3: `calls.node` (the server node that owns the call; NULL in single-process mode) and
//!   `node_leases` (PostgreSQL only: each node's heartbeat, `records/postgresql/lease.rs`).

/// The schema version both engines are brought to.
pub const SCHEMA_VERSION: i64 = 3;

/// SQLite, step `i` brings the database to version `i + 1`. v1 uses `IF NOT EXISTS`: databases
/// written before versions were counted have its tables at version 0.
pub const SQLITE: [&str; 3] = [
    "CREATE TABLE IF NOT EXISTS calls (
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
    CREATE INDEX IF NOT EXISTS calls_by_start ON calls(started_at_ms);",
    "CREATE TABLE IF NOT EXISTS call_agents (
        call_id TEXT NOT NULL,
        agent TEXT NOT NULL,
        party TEXT NOT NULL,            -- whom the agent talked with (customer, else the other agent)
        joined_at_ms INTEGER NOT NULL,
        left_at_ms INTEGER,
        transferred INTEGER NOT NULL DEFAULT 0,   -- left by completing a transfer
        disposition TEXT,
        note TEXT
    );
    CREATE INDEX IF NOT EXISTS call_agents_by_agent ON call_agents(agent, joined_at_ms);",
    "ALTER TABLE calls ADD COLUMN node TEXT;",
];

/// PostgreSQL, step `i` brings the database to version `i + 1`.
pub const POSTGRES: [&str; 3] = [
    "CREATE TABLE IF NOT EXISTS calls (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        caller TEXT NOT NULL,
        target TEXT NOT NULL,
        team TEXT,
        state TEXT NOT NULL,
        answered_by TEXT,
        started_at_ms BIGINT NOT NULL,
        answered_at_ms BIGINT,
        ended_at_ms BIGINT,
        end_reason TEXT
    );
    CREATE TABLE IF NOT EXISTS call_events (
        id BIGSERIAL PRIMARY KEY,
        call_id TEXT NOT NULL,
        at_ms BIGINT NOT NULL,
        state TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX IF NOT EXISTS call_events_by_call ON call_events(call_id);
    CREATE INDEX IF NOT EXISTS calls_by_start ON calls(started_at_ms);",
    "CREATE TABLE IF NOT EXISTS call_agents (
        id BIGSERIAL PRIMARY KEY,
        call_id TEXT NOT NULL,
        agent TEXT NOT NULL,
        party TEXT NOT NULL,
        joined_at_ms BIGINT NOT NULL,
        left_at_ms BIGINT,
        transferred BOOLEAN NOT NULL DEFAULT FALSE,
        disposition TEXT,
        note TEXT
    );
    CREATE INDEX IF NOT EXISTS call_agents_by_agent ON call_agents(agent, joined_at_ms);",
    "ALTER TABLE calls ADD COLUMN IF NOT EXISTS node TEXT;
    CREATE INDEX IF NOT EXISTS calls_open_by_node ON calls(node) WHERE ended_at_ms IS NULL;
    CREATE TABLE IF NOT EXISTS node_leases (
        node TEXT PRIMARY KEY,
        expires_at_ms BIGINT NOT NULL   -- the database's clock, so nodes' clocks need not agree
    );",
];

/// Bring a SQLite database to [`SCHEMA_VERSION`].
pub fn migrate_sqlite(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    // v1 is idempotent and old databases have its tables at version 0 or 1.
    let from = if version < 1 { 0 } else { version as usize };
    for step in SQLITE.iter().skip(from) {
        conn.execute_batch(step)?;
    }
    if version < SCHEMA_VERSION {
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    Ok(())
}

/// Bring a PostgreSQL database to [`SCHEMA_VERSION`], in one transaction under an advisory lock
/// so that nodes starting together migrate once.
pub fn migrate_postgres(client: &mut postgres::Client) -> Result<(), postgres::Error> {
    let mut tx = client.transaction()?;
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(4242001);
         CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL);",
    )?;
    let version: i64 = tx
        .query_opt("SELECT version FROM schema_version", &[])?
        .map(|r| r.get(0))
        .unwrap_or(0);
    for step in POSTGRES.iter().skip(version.max(0) as usize) {
        tx.batch_execute(step)?;
    }
    if version < SCHEMA_VERSION {
        tx.execute("DELETE FROM schema_version", &[])?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&SCHEMA_VERSION],
        )?;
    }
    tx.commit()
}
