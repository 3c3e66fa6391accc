//! The statements that write call records to PostgreSQL, prepared once per connection; the same
//! rows as `records/sqlite.rs` writes, plus the owning node on each call.

use postgres::{Client, Statement, Transaction};

use crate::records::RecordOp;

/// Prepared write statements.
pub struct Statements {
    started: Statement,
    state: Statement,
    answered: Statement,
    ended: Statement,
    event: Statement,
    joined: Statement,
    left: Statement,
}

impl Statements {
    /// Prepare them on `client`.
    pub fn prepare(client: &mut Client) -> Result<Statements, postgres::Error> {
        Ok(Statements {
            // A call id seen again starts over (SQLite's INSERT OR REPLACE).
            started: client.prepare(
                "INSERT INTO calls (id, kind, caller, target, team, state, started_at_ms, node)
                 VALUES ($1, $2, $3, $4, $5, 'started', $6, $7)
                 ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, caller = EXCLUDED.caller,
                     target = EXCLUDED.target, team = EXCLUDED.team, state = 'started',
                     started_at_ms = EXCLUDED.started_at_ms, node = EXCLUDED.node,
                     answered_by = NULL, answered_at_ms = NULL, ended_at_ms = NULL,
                     end_reason = NULL",
            )?,
            state: client.prepare("UPDATE calls SET state = $2 WHERE id = $1")?,
            answered: client.prepare(
                "UPDATE calls SET state = 'connected', answered_by = $2, answered_at_ms = $3
                 WHERE id = $1",
            )?,
            ended: client.prepare(
                "UPDATE calls SET state = 'ended', ended_at_ms = $2, end_reason = $3 WHERE id = $1",
            )?,
            event: client.prepare(
                "INSERT INTO call_events (call_id, at_ms, state, detail) VALUES ($1, $2, $3, $4)",
            )?,
            joined: client.prepare(
                "INSERT INTO call_agents (call_id, agent, party, joined_at_ms)
                 VALUES ($1, $2, $3, $4)",
            )?,
            left: client.prepare(
                "UPDATE call_agents SET left_at_ms = $3, transferred = $4
                 WHERE call_id = $1 AND agent = $2 AND left_at_ms IS NULL",
            )?,
        })
    }

    /// Write one op (at `at` ms) inside `tx`, as node `node`.
    pub fn apply(
        &self,
        tx: &mut Transaction<'_>,
        op: &RecordOp,
        at: i64,
        node: &str,
    ) -> Result<(), postgres::Error> {
        match op {
            RecordOp::Started {
                call,
                kind,
                caller,
                target,
                team,
            } => {
                tx.execute(
                    &self.started,
                    &[call, kind, caller, target, team, &at, &node],
                )?;
                let detail = Some(format!("{caller} → {target}"));
                tx.execute(&self.event, &[call, &at, &"started", &detail])?;
            }
            RecordOp::State {
                call,
                state,
                detail,
            } => {
                tx.execute(&self.state, &[call, state])?;
                tx.execute(&self.event, &[call, &at, state, detail])?;
            }
            RecordOp::Answered { call, agent } => {
                tx.execute(&self.answered, &[call, agent, &at])?;
                tx.execute(&self.event, &[call, &at, &"answered", &Some(agent)])?;
            }
            RecordOp::Ended { call, reason } => {
                tx.execute(&self.ended, &[call, &at, reason])?;
                tx.execute(&self.event, &[call, &at, &"ended", &Some(reason)])?;
            }
            RecordOp::AgentJoined { call, agent, party } => {
                tx.execute(&self.joined, &[call, agent, party, &at])?;
            }
            RecordOp::AgentLeft {
                call,
                agent,
                transferred,
            } => {
                tx.execute(&self.left, &[call, agent, &at, transferred])?;
            }
        }
        Ok(())
    }
}
