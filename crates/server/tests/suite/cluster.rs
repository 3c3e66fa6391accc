//! Cluster mode end to end (issue 12): `deploy/cluster` starts PostgreSQL, Kamailio and three
//! nodes; customers call a team through Kamailio and, nobody being available, wait hearing
//! music on hold from whichever node their Call-ID hashed to. One node is killed with SIGKILL:
//! new calls still connect (Kamailio's OPTIONS probes and failover), the survivors' customers
//! keep their music, and a survivor closes the dead node's calls in PostgreSQL once its lease
//! runs out. Skipped, saying so, only when Kamailio or PostgreSQL is not installed.
//!
//! Not covered yet: agents registered through one node answering calls of another (that needs
//! the shared directory in Redis, issue 12 point 2, not built).

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use agentphone_testkit::cluster::TestCluster;
use agentphone_testkit::server::{BASE_DIRECTORY, MOH_HZ, RINGBACK_HZ};
use agentphone_testkit::sip::call::{dial, Dialing};
use agentphone_testkit::sip::media_peer::MediaPeer;
use agentphone_testkit::sip::{code, SipPeer};
use agentphone_testkit::tone::write_tone_wav;
use agentphone_testkit::wait::wait_until;

const CUSTOMER_HZ: f32 = 440.0;
const LEASE_S: u64 = 3;
/// Customers waiting before the kill: with three nodes, all on one node has odds ≈ 3·3⁻¹².
const BEFORE: usize = 12;
const AFTER: usize = 6;

/// The nodes' settings; the directory is the test kit's `BASE_DIRECTORY` (alice, bob, support).
const SERVER: &str = r#"
[server]
realm = "agentphone"
queue_timeout_s = 300
rtp_timeout_s = 30

[security]
max_calls_per_source = 500
"#;

/// A customer waiting in the queue: the call, its media and what it hears.
struct Waiting {
    _ua: SipPeer,
    _dialing: Dialing,
    media: MediaPeer,
}

/// A customer calls `support` through Kamailio and waits for the early media (183) of music on
/// hold; how long that took, or what went wrong.
async fn customer_waits(kamailio: SocketAddr) -> Result<(Waiting, Duration), String> {
    let started = Instant::now();
    let ua = SipPeer::new(kamailio, "customer", "").await;
    let mut dialing = dial(&ua, &format!("sip:support@{kamailio}"), CUSTOMER_HZ);
    let early = loop {
        match tokio::time::timeout(Duration::from_secs(10), dialing.tx.next()).await {
            Ok(Some(Ok(resp))) if code(&resp) == 183 => break resp,
            Ok(Some(Ok(resp))) if code(&resp) < 200 => continue,
            Ok(Some(Ok(resp))) => return Err(format!("answered {}", code(&resp))),
            other => return Err(format!("no 183 within 10 s ({})", other.is_ok())),
        }
    };
    let waited = started.elapsed();
    let text = String::from_utf8_lossy(&early.body).into_owned();
    let sdp = agentphone_sip::sdp::Sdp::parse(&text).map_err(|e| e.0)?;
    let n = agentphone_sip::sdp::accept_answer(&dialing.offer, &sdp).map_err(|e| e.0)?;
    let media = dialing
        .media
        .take()
        .ok_or("no media")?
        .start(&n, CUSTOMER_HZ);
    media
        .assert_hears(
            "a customer queued through Kamailio hears music on hold",
            &[(MOH_HZ, true), (RINGBACK_HZ, false)],
        )
        .await;
    Ok((
        Waiting {
            _ua: ua,
            _dialing: dialing,
            media,
        },
        waited,
    ))
}

/// Open calls per node in PostgreSQL, most first: `node|count` lines.
fn open_calls_by_node(cluster: &TestCluster) -> String {
    cluster.query(
        "SELECT node, COUNT(*) FROM calls WHERE ended_at_ms IS NULL
         GROUP BY node ORDER BY 2 DESC, 1",
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_through_kamailio_survive_a_killed_node_and_its_records_are_closed() {
    let assets = tempfile::tempdir().expect("temp dir");
    write_tone_wav(&assets.path().join("music-on-hold.wav"), MOH_HZ, 48_000, 3);
    write_tone_wav(&assets.path().join("ringback.wav"), RINGBACK_HZ, 48_000, 3);
    let Some(cluster) = tokio::task::block_in_place(|| {
        TestCluster::start(
            Path::new(env!("CARGO_BIN_EXE_agentphone-server")),
            &format!("{SERVER}{BASE_DIRECTORY}"),
            3,
            assets.path(),
            LEASE_S,
        )
    }) else {
        return;
    };

    // An agent registers through Kamailio: the node behind it challenges, she answers, 200.
    let mut alice = SipPeer::new(cluster.kamailio, "alice", "alice-secret").await;
    let registered = alice.register().await;
    assert_eq!(
        code(&registered),
        200,
        "REGISTER via Kamailio: {registered}"
    );

    let mut waiting = Vec::new();
    for i in 0..BEFORE {
        let (w, _) = customer_waits(cluster.kamailio)
            .await
            .unwrap_or_else(|e| panic!("customer {i} before the kill: {e}"));
        waiting.push(w);
    }
    let spread = tokio::task::block_in_place(|| open_calls_by_node(&cluster));
    let rows: Vec<(String, usize)> = spread
        .lines()
        .filter_map(|l| l.split_once('|'))
        .map(|(n, c)| (n.to_string(), c.parse().unwrap_or(0)))
        .collect();
    assert_eq!(
        rows.iter().map(|r| r.1).sum::<usize>(),
        BEFORE,
        "every waiting call is open in PostgreSQL: {spread}"
    );
    assert!(rows.len() >= 2, "calls hashed over the nodes: {spread}");

    // Kill the node with the most calls.
    let (dead, dead_calls) = rows[0].clone();
    let n: usize = dead
        .trim_start_matches("node")
        .parse()
        .unwrap_or_else(|e| panic!("node name {dead}: {e}"));
    cluster.kill_node(n);
    let killed = Instant::now();

    // New calls connect, each within 10 s, on the other nodes.
    let mut slowest = Duration::ZERO;
    for i in 0..AFTER {
        let (w, waited) = customer_waits(cluster.kamailio)
            .await
            .unwrap_or_else(|e| panic!("customer {i} after the kill: {e}"));
        assert!(
            waited < Duration::from_secs(10),
            "customer {i} after the kill waited {waited:?} for the queue"
        );
        slowest = slowest.max(waited);
        waiting.push(w);
    }
    let on_dead = tokio::task::block_in_place(|| {
        cluster.query(&format!("SELECT COUNT(*) FROM calls WHERE node = '{dead}'"))
    });
    assert_eq!(
        on_dead,
        dead_calls.to_string(),
        "no call placed on the dead node after it died"
    );

    // A survivor closes the dead node's calls once its lease ran out.
    tokio::task::block_in_place(|| {
        wait_until(
            "the dead node's calls closed in PostgreSQL",
            Duration::from_secs(LEASE_S * 4),
            || {
                let open = cluster.query(&format!(
                    "SELECT COUNT(*) FROM calls WHERE node = '{dead}' AND ended_at_ms IS NULL"
                ));
                if open == "0" {
                    Ok(())
                } else {
                    Err(format!("{open} still open"))
                }
            },
        )
    });
    let closed = tokio::task::block_in_place(|| {
        cluster.query(&format!(
            "SELECT COUNT(*) FROM calls WHERE node = '{dead}' AND end_reason = 'server node lost'"
        ))
    });
    assert_eq!(
        closed,
        dead_calls.to_string(),
        "closed as `server node lost`"
    );
    eprintln!(
        "cluster: {spread:?} before the kill of {dead}; slowest new call {slowest:?}; its calls \
         closed {:?} after the kill",
        killed.elapsed()
    );

    // The survivors' customers (all but the dead node's) still hear their music.
    let survivors = tokio::task::block_in_place(|| {
        cluster.query("SELECT COUNT(*) FROM calls WHERE ended_at_ms IS NULL")
    });
    assert_eq!(
        survivors,
        (BEFORE + AFTER - dead_calls).to_string(),
        "the other nodes' calls stay open"
    );
    let hearing = waiting
        .iter()
        .filter(|w| w.media.hears(&[MOH_HZ], 1.0) == [true])
        .count();
    assert_eq!(
        hearing,
        BEFORE + AFTER - dead_calls,
        "the survivors' customers still hear music on hold"
    );
}
