//! Agent states from the headless phone (SPEC S1): `status away REASON` and `status available`
//! reach the server, the directory shows them to everyone, `expect away|available` checks them,
//! and a customer's call skips the away agent.

use agentphone_testkit::prelude::*;
use serde_json::Value;
use std::time::Duration;

/// `user`'s entry in a `directory` event, when it has `status`.
fn entry(v: &Value, user: &str, status: &str) -> Option<Value> {
    if v["event"] != "directory" {
        return None;
    }
    v["agents"]
        .as_array()?
        .iter()
        .find(|a| a["username"] == user && a["status"] == status)
        .cloned()
}

#[test]
fn status_away_and_available_from_the_headless_phone() {
    let dir = scratch_dir("phone_states");
    let server = TestServer::standard(&dir);
    let mut alice = agent(&server, &dir, "alice");
    let mut bob = agent(&server, &dir, "bob");

    alice.cmd("status away lunch");
    let seen = bob.wait_for("alice away", Duration::from_secs(10), |v| {
        entry(v, "alice", "away").is_some()
    });
    let alice_entry = entry(&seen, "alice", "away").unwrap_or_default();
    assert_eq!(alice_entry["away_reason"], "lunch", "{seen}");
    assert!(
        seen["away_reasons"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == "lunch")),
        "the server's reasons reach the phone: {seen}"
    );
    alice.wait_for("her own state", Duration::from_secs(10), |v| {
        entry(v, "alice", "away").is_some()
    });
    alice.cmd("expect away");

    // A reason the server does not know: refused, in the server's words.
    alice.cmd("status away nap");
    let refused = alice.wait(
        "command_failed",
        &[("command", "status")],
        Duration::from_secs(10),
    );
    assert!(
        refused["reason"]
            .as_str()
            .is_some_and(|r| r.contains("not an away reason")),
        "{refused}"
    );

    // alice is first in the team's order: away, she is skipped.
    let mut customer = customer_calls(&server, &dir, "support");
    bob.wait(
        "incoming_call",
        &[("team", "support")],
        Duration::from_secs(10),
    );
    alice.assert_no_event("incoming_call", Duration::from_millis(300));
    bob.cmd("decline");
    customer.wait_state("ended");

    alice.cmd("status available");
    alice.wait_for("available again", Duration::from_secs(10), |v| {
        entry(v, "alice", "available").is_some()
    });
    alice.cmd("expect available");
    // A failed expect prints script_failed before this answer, and every wait fails on it.
    alice.set_voice(false);
}

/// Subscribe only while needed (issue 12): the server holds a phone's whole-directory
/// subscription only while the phone watches it (`directory on|off`, the TUI's transfer modal),
/// its own-entry subscription while it is registered.
#[test]
fn the_server_holds_the_whole_directory_only_while_the_phone_watches_it() {
    let dir = scratch_dir("directory_watch");
    let server = TestServer::standard(&dir);
    let held = |want: (usize, usize), what: &str| {
        let until = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let now = server.handle.directory_subscribers();
            if now == want {
                return;
            }
            assert!(
                std::time::Instant::now() < until,
                "{what}: {now:?}, not {want:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    // A headless phone watches the directory from the start.
    let mut alice = agent(&server, &dir, "alice");
    held((1, 1), "registered, watching");
    alice.cmd("directory off");
    held((0, 1), "not watching");
    let mut bob = agent(&server, &dir, "bob");
    bob.cmd("directory off");
    held((0, 2), "nobody watching");
    // My own state still comes: bob sees his away state without the directory.
    bob.cmd("status away lunch");
    bob.wait_for("his own state", Duration::from_secs(10), |v| {
        v["event"] == "me" && v["me"]["status"] == "away"
    });
    alice.cmd("directory on");
    held((1, 2), "alice watching again");
    alice.cmd("unregister");
    held((0, 1), "alice gone");
}
