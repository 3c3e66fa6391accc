//! The PostgreSQL store (cluster mode, `[cluster] postgres`): the same tables as SQLite
//! (`records/schema.rs`), shared by every node. Each call row names the node that owns it, and
//! each node keeps a lease (`lease.rs`): a node's own calls left open by its crash are closed when
//! it starts again, and a survivor closes the calls of a node whose lease ran out.
//!
//! The `postgres` crate is the blocking face of `tokio-postgres` (own small runtime inside),
//! which suits the records writer thread: statements are prepared once per connection, a batch is
//! one transaction. A lost connection is re-opened at the next batch; the batch that failed is
//! counted as lost, like a SQLite error.

mod history;
pub mod lease;
mod writes;

use std::time::Duration;

use agentphone_protocol::history::{DispositionRequest, HistoryCall};
use postgres::{Client, NoTls};

use super::{RecordOp, RecordStore};

/// How to reach PostgreSQL and who we are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostgresSettings {
    /// libpq-style connection string (`host=127.0.0.1 port=5432 user=agentphone dbname=…`).
    pub conninfo: String,
    /// This node's name, unique in the cluster.
    pub node: String,
    /// How long this node's lease lasts without a heartbeat (a heartbeat every third of it).
    pub lease: Duration,
}

/// An open connection and its prepared statements.
struct Connection {
    client: Client,
    writes: writes::Statements,
}

/// The records in PostgreSQL.
pub struct PostgresStore {
    settings: PostgresSettings,
    conn: Option<Connection>,
}

impl PostgresStore {
    /// Connect, migrate, close what this node left open when it last stopped, and take the lease.
    pub fn open(settings: &PostgresSettings) -> anyhow::Result<PostgresStore> {
        let mut client = Client::connect(&settings.conninfo, NoTls)?;
        super::schema::migrate_postgres(&mut client)?;
        let closed = lease::close_own_left_open(&mut client, &settings.node)?;
        if closed > 0 {
            tracing::warn!(
                calls = closed,
                node = %settings.node,
                "call records this node left open closed as `{}`",
                crate::records_recovery::SERVER_RESTART
            );
        }
        lease::heartbeat(&mut client, &settings.node, settings.lease)?;
        let writes = writes::Statements::prepare(&mut client)?;
        Ok(PostgresStore {
            settings: settings.clone(),
            conn: Some(Connection { client, writes }),
        })
    }

    /// The connection, re-opened if it was lost.
    fn conn(&mut self) -> anyhow::Result<&mut Connection> {
        if self.conn.as_ref().is_some_and(|c| c.client.is_closed()) {
            self.conn = None;
        }
        if self.conn.is_none() {
            let mut client = Client::connect(&self.settings.conninfo, NoTls)?;
            let writes = writes::Statements::prepare(&mut client)?;
            tracing::info!(node = %self.settings.node, "reconnected to PostgreSQL");
            self.conn = Some(Connection { client, writes });
        }
        self.conn
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("no PostgreSQL connection"))
    }
}

impl RecordStore for PostgresStore {
    fn write_batch(&mut self, batch: &[(RecordOp, i64)]) -> anyhow::Result<()> {
        let node = self.settings.node.clone();
        let conn = self.conn()?;
        let mut tx = conn.client.transaction()?;
        for (op, at) in batch {
            conn.writes.apply(&mut tx, op, *at, &node)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn history(&mut self, agent: &str, now: i64) -> anyhow::Result<Vec<HistoryCall>> {
        Ok(history::read(&mut self.conn()?.client, agent, now)?)
    }

    fn dispose(&mut self, agent: &str, req: &DispositionRequest) -> anyhow::Result<bool> {
        Ok(history::set_disposition(
            &mut self.conn()?.client,
            agent,
            req,
        )?)
    }

    fn tick_every(&self) -> Option<Duration> {
        Some(self.settings.lease / 3)
    }

    /// Renew our lease, then close the calls of nodes whose lease ran out.
    fn tick(&mut self) {
        let (node, lease) = (self.settings.node.clone(), self.settings.lease);
        let result = self.conn().and_then(|c| {
            lease::heartbeat(&mut c.client, &node, lease)?;
            Ok(lease::sweep(&mut c.client, &node)?)
        });
        match result {
            Ok(swept) => {
                for (dead, calls) in swept {
                    tracing::warn!(
                        node = %dead,
                        calls,
                        "a node's lease ran out: its open calls are closed as `{}`",
                        lease::NODE_LOST
                    );
                }
            }
            Err(e) => tracing::error!(error = %e, "could not renew the node lease"),
        }
    }
}
