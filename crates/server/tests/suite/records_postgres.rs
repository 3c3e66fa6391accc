//! Call records in PostgreSQL (issue 12, cluster mode), against a real PostgreSQL started by
//! `deploy/postgres`: the same rows and the same history as SQLite, migrations, a node's own
//! calls closed when it restarts, and a dead node's calls closed by a survivor once its lease
//! runs out. Skipped, saying so, only when PostgreSQL is not installed.

use std::time::Duration;

use agentphone_protocol::history::{DispositionRequest, HistoryCall};
use agentphone_server::records::postgresql::{lease::NODE_LOST, PostgresSettings};
use agentphone_server::records::{RecordOp, RecordsHandle};
use agentphone_testkit::postgres::TempPostgres;
use agentphone_testkit::wait::wait_until;

fn settings(pg: &TempPostgres, node: &str, lease_s: u64) -> PostgresSettings {
    PostgresSettings {
        conninfo: pg.conninfo.clone(),
        node: node.into(),
        lease: Duration::from_secs(lease_s),
    }
}

fn open(pg: &TempPostgres, node: &str, lease_s: u64) -> RecordsHandle {
    RecordsHandle::open_postgres(&settings(pg, node, lease_s))
        .unwrap_or_else(|e| panic!("open node {node}: {e:#}"))
        .0
}

fn started(records: &RecordsHandle, call: &str) {
    records.write(RecordOp::Started {
        call: call.into(),
        kind: "inbound",
        caller: "sip:cust@x".into(),
        target: "support".into(),
        team: Some("support".into()),
    });
}

/// A call with these agents' parts, each left by a transfer when `true`; the last stays open
/// when `open_at_end`.
fn call(records: &RecordsHandle, id: &str, agents: &[(&str, bool)], open_at_end: bool) {
    started(records, id);
    for (i, (agent, transferred)) in agents.iter().enumerate() {
        records.write(RecordOp::AgentJoined {
            call: id.into(),
            agent: agent.to_string(),
            party: "Sam Carter".into(),
        });
        if i == 0 {
            records.write(RecordOp::Answered {
                call: id.into(),
                agent: agent.to_string(),
            });
        }
        if *transferred {
            records.write(RecordOp::State {
                call: id.into(),
                state: "transfer_completed",
                detail: None,
            });
        }
        if !(open_at_end && i + 1 == agents.len()) {
            records.write(RecordOp::AgentLeft {
                call: id.into(),
                agent: agent.to_string(),
                transferred: *transferred,
            });
        }
    }
    if !open_at_end {
        records.write(RecordOp::Ended {
            call: id.into(),
            reason: "caller hung up".into(),
        });
    }
}

fn history(records: &RecordsHandle, agent: &str) -> Vec<HistoryCall> {
    records
        .history_blocking(agent)
        .unwrap_or_else(|| panic!("no history for {agent}"))
}

fn dispose(records: &RecordsHandle, agent: &str, call: Option<&str>, code: &str) -> bool {
    let req = DispositionRequest {
        call: call.map(str::to_string),
        code: code.into(),
        note: Some(format!("note {code}")),
    };
    records.dispose_blocking(agent, req).expect("an answer")
}

/// What an agent's history says, minus the times.
fn summary(h: &[HistoryCall]) -> Vec<String> {
    h.iter()
        .map(|c| {
            format!(
                "{} {:?} t{} {:?} {:?} {:?}",
                c.call, c.outcome, c.transfers, c.team, c.disposition, c.note
            )
        })
        .collect()
}

#[test]
fn a_call_is_recorded_through_its_states_with_its_node() {
    let Some(pg) = TempPostgres::start() else {
        return;
    };
    let records = open(&pg, "n1", 6);
    call(&records, "c1", &[("alice", false)], false);
    records.flush_blocking();
    assert_eq!(
        pg.query("SELECT state, answered_by, end_reason, node FROM calls WHERE id = 'c1'"),
        "ended|alice|caller hung up|n1"
    );
    assert_eq!(
        pg.query("SELECT string_agg(state, ',' ORDER BY id) FROM call_events WHERE call_id = 'c1'"),
        "started,answered,ended"
    );
    assert_eq!(
        pg.query("SELECT agent, left_at_ms IS NOT NULL, transferred FROM call_agents"),
        "alice|t|f"
    );
}

/// The server opens its records from inside its async runtime (the PostgreSQL client's own
/// runtime must not start there).
#[tokio::test(flavor = "multi_thread")]
async fn opens_from_inside_an_async_runtime() {
    let Some(pg) = TempPostgres::start() else {
        return;
    };
    let records = open(&pg, "n1", 6);
    started(&records, "c1");
    tokio::task::block_in_place(|| records.flush_blocking());
    assert_eq!(pg.query("SELECT node FROM calls"), "n1");
}

/// The same ops give the same history and dispositions in PostgreSQL as in SQLite.
#[test]
fn history_and_dispositions_match_sqlite() {
    let Some(pg) = TempPostgres::start() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let (lite, _thread) = RecordsHandle::open(&dir.path().join("r.db")).expect("sqlite");
    let post = open(&pg, "n1", 6);
    let mut seen = Vec::new();
    for records in [&lite, &post] {
        call(records, "c1", &[("alice", false)], false);
        call(records, "c2", &[("alice", true), ("bob", false)], false);
        call(records, "c3", &[("bob", false)], true);
        let answers = [
            dispose(records, "alice", None, "resolved"),
            dispose(records, "alice", Some("c1"), "callback"),
            dispose(records, "alice", Some("nope"), "resolved"),
            dispose(records, "carol", None, "resolved"),
        ];
        let alice = summary(&history(records, "alice"));
        let bob = summary(&history(records, "bob"));
        seen.push((answers, alice, bob));
    }
    assert_eq!(seen[0].0, [true, true, false, false]);
    assert_eq!(seen[0].1.len(), 2);
    assert_eq!(
        seen[0], seen[1],
        "SQLite (left) and PostgreSQL (right) differ"
    );
}

/// A database made before versions were counted (v1 tables only) is migrated and keeps its rows;
/// three nodes starting together migrate it once.
#[test]
fn an_old_database_is_migrated_once_by_nodes_starting_together() {
    let Some(pg) = TempPostgres::start() else {
        return;
    };
    pg.query(
        "CREATE TABLE calls (id TEXT PRIMARY KEY, kind TEXT NOT NULL, caller TEXT NOT NULL,
            target TEXT NOT NULL, team TEXT, state TEXT NOT NULL, answered_by TEXT,
            started_at_ms BIGINT NOT NULL, answered_at_ms BIGINT, ended_at_ms BIGINT,
            end_reason TEXT);
         CREATE TABLE call_events (id BIGSERIAL PRIMARY KEY, call_id TEXT NOT NULL,
            at_ms BIGINT NOT NULL, state TEXT NOT NULL, detail TEXT);
         INSERT INTO calls VALUES ('old', 'inbound', 'c', 'support', NULL, 'ended', 'alice',
            1, 2, 3, 'hung up');",
    );
    let nodes: Vec<RecordsHandle> = std::thread::scope(|s| {
        let starts: Vec<_> = ["n1", "n2", "n3"]
            .map(|n| {
                let pg = &pg;
                s.spawn(move || open(pg, n, 6))
            })
            .into_iter()
            .collect();
        starts
            .into_iter()
            .map(|h| h.join().expect("a node start panicked"))
            .collect()
    });
    for (i, records) in nodes.iter().enumerate() {
        call(records, &format!("new{i}"), &[("alice", false)], false);
        records.flush_blocking();
    }
    assert_eq!(pg.query("SELECT version FROM schema_version"), "3");
    assert_eq!(pg.query("SELECT COUNT(*) FROM calls"), "4");
    assert_eq!(
        pg.query("SELECT end_reason, node IS NULL FROM calls WHERE id = 'old'"),
        "hung up|t"
    );
    assert_eq!(
        pg.query("SELECT string_agg(node, ',' ORDER BY node) FROM node_leases"),
        "n1,n2,n3"
    );
}

/// A node that restarts closes the calls it left open — and only its own.
#[test]
fn a_restarted_node_closes_its_own_open_calls_only() {
    let Some(pg) = TempPostgres::start() else {
        return;
    };
    let other = open(&pg, "n2", 60);
    call(&other, "theirs", &[("bob", false)], true);
    other.flush_blocking();
    {
        let n1 = open(&pg, "n1", 60);
        call(&n1, "mine", &[("alice", false)], true);
        n1.flush_blocking();
    }
    let _n1 = open(&pg, "n1", 60);
    assert_eq!(
        pg.query(
            "SELECT id, state, end_reason, (SELECT COUNT(*) FROM call_agents a
                 WHERE a.call_id = calls.id AND a.left_at_ms IS NULL)
             FROM calls ORDER BY id"
        ),
        "mine|ended|server restart|0\ntheirs|connected||1"
    );
}

/// A node that stops renewing its lease (its writer is gone, as after kill -9) has its open calls
/// closed by a survivor within the lease plus one renewal; the survivor's own calls stay open.
#[test]
fn a_survivor_closes_a_dead_nodes_calls_when_its_lease_runs_out() {
    let Some(pg) = TempPostgres::start() else {
        return;
    };
    let survivor = open(&pg, "alive", 2);
    call(&survivor, "kept", &[("bob", false)], true);
    {
        let dead = open(&pg, "dead", 2);
        call(&dead, "cut1", &[("alice", false)], true);
        call(&dead, "cut2", &[("carol", true), ("dave", false)], true);
        call(&dead, "done", &[("erin", false)], false);
        dead.flush_blocking();
    }
    survivor.flush_blocking();
    wait_until(
        "the dead node's calls closed",
        Duration::from_secs(10),
        || {
            let open =
                pg.query("SELECT COUNT(*) FROM calls WHERE node = 'dead' AND ended_at_ms IS NULL");
            if open == "0" {
                Ok(())
            } else {
                Err(format!("{open} open"))
            }
        },
    );
    assert_eq!(
        pg.query(
            "SELECT id, end_reason, (SELECT COUNT(*) FROM call_agents a
                 WHERE a.call_id = calls.id AND a.left_at_ms IS NULL)
             FROM calls ORDER BY id"
        ),
        format!("cut1|{NODE_LOST}|0\ncut2|{NODE_LOST}|0\ndone|caller hung up|0\nkept||1")
    );
    assert_eq!(
        pg.query("SELECT string_agg(node, ',') FROM node_leases"),
        "alive"
    );
}
