//! Cluster mode with the real softphone (issue 12): `deploy/cluster` (PostgreSQL, Redis,
//! Kamailio, three nodes); every phone's only server is Kamailio. A customer calls support;
//! alice answers; she transfers to carol, consults, resumes the customer (three-way) and
//! completes: each phase is heard as it should be. Which node each agent registered through is
//! Kamailio's hash of her address; the room is on the node the customer's Call-ID hashed to —
//! printed, so that a run shows which of them were on different nodes. Skipped, saying so, only
//! when Kamailio, PostgreSQL or Redis is not installed.

use agentphone_testkit::cluster::TestCluster;
use agentphone_testkit::prelude::*;
use std::path::Path;
use std::time::Duration;

fn softphone(cluster: &TestCluster, dir: &Path, user: &str, hz: f32) -> Client {
    let pw = format!("{user}-secret");
    let mut c = Client::spawn(cluster.kamailio, dir, ClientOptions::agent(user, &pw, hz));
    c.register();
    c.voice_on();
    c
}

#[test]
fn softphones_through_kamailio_answer_transfer_and_complete_across_nodes() {
    let dir = scratch_dir("e2e_cluster");
    let config = standard_config(&dir, "");
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    // The server binary beside the softphone's (a workspace build builds both).
    let server_bin = agentphone_bin().with_file_name("agentphone-server");
    assert!(
        server_bin.exists(),
        "{} is missing: cargo build -p agentphone-server",
        server_bin.display()
    );
    let Some(cluster) = TestCluster::start(&server_bin, &config, 3, &assets, 3) else {
        return;
    };
    let mut alice = softphone(&cluster, &dir, "alice", ALICE_HZ);
    let mut carol = softphone(&cluster, &dir, "carol", CAROL_HZ);
    let mut customer = Client::spawn(
        cluster.kamailio,
        &dir,
        ClientOptions::customer("customer", CUSTOMER_HZ),
    );
    customer.cmd(&format!("dial sip:support@{}", cluster.kamailio));
    alice.wait(
        "incoming_call",
        &[("team", "support")],
        Duration::from_secs(10),
    );
    alice.cmd("answer");
    alice.wait_state("connected");
    customer.wait_state("connected");
    alice.wait("room", &[], Duration::from_secs(10));
    customer.wait_hearing(&[ALICE_HZ], &[]);
    alice.wait_hearing(&[CUSTOMER_HZ], &[]);

    // A transfers to carol: the customer hears music, carol rings and answers; A and carol talk.
    alice.cmd("transfer agent carol cluster");
    let incoming = carol.wait("incoming_call", &[], Duration::from_secs(10));
    assert_eq!(incoming["transferred_by"], "alice", "{incoming}");
    carol.cmd("answer");
    carol.wait_state("connected");
    alice.wait_transfer("answered");
    carol.wait_hearing(&[ALICE_HZ], &[CUSTOMER_HZ]);
    alice.wait_hearing(&[CAROL_HZ], &[CUSTOMER_HZ]);

    // Resume: all three hear each other.
    alice.cmd("resume");
    alice.wait_timeline("resumed");
    customer.wait_hearing(&[ALICE_HZ, CAROL_HZ], &[]);
    carol.wait_hearing(&[CUSTOMER_HZ, ALICE_HZ], &[]);

    // Complete: alice leaves; the customer and carol carry on.
    alice.cmd("transfer complete");
    alice.wait_state("ended");
    customer.wait_hearing(&[CAROL_HZ], &[ALICE_HZ]);
    carol.wait_hearing(&[CUSTOMER_HZ], &[ALICE_HZ]);

    let nodes = cluster.query("SELECT node FROM calls WHERE kind = 'inbound'");
    let home = |agent: &str| {
        std::process::Command::new("redis-cli")
            .args([
                "-u",
                &cluster.redis,
                "HGET",
                &format!("ap:agent:{agent}"),
                "node",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    eprintln!(
        "e2e_cluster: the customer's room on {nodes}, alice registered through {}, carol \
         through {}",
        home("alice"),
        home("carol")
    );
    customer.cmd("hangup");
    carol.wait_state("ended");
}
