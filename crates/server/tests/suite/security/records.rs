//! §7 Records: a call cut by a crash (kill -9 of the server process) is closed at the next start
//! with end reason `server restart` at the time of its last write; a call ended by the RTP
//! timeout says `media timeout`, not that somebody hung up.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use agentphone_testkit::server::{standard_config, TestServer};
use agentphone_testkit::sip::call::{answer, dial, expect_bye, expect_invite};
use agentphone_testkit::sip::SipPeer;
use agentphone_testkit::wait::wait_until_async;

const CUSTOMER_HZ: f32 = 440.0;
const ALICE_HZ: f32 = 1000.0;

/// The server binary on `config`, and the address it listens on.
fn spawn_server(config: &Path) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentphone-server"))
        .arg("--config")
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn agentphone-server: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("read the listening line: {e}"));
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    let addr = v["sip"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    (child, addr)
}

fn last_call(db: &Path) -> (String, Option<String>, Option<i64>, i64) {
    try_last_call(db).unwrap_or_else(|e| panic!("no call record: {e}"))
}

type CallRow = (String, Option<String>, Option<i64>, i64);

fn try_last_call(db: &Path) -> rusqlite::Result<CallRow> {
    rusqlite::Connection::open(db)?.query_row(
        "SELECT state, end_reason, ended_at_ms,
                (SELECT MAX(at_ms) FROM call_events WHERE call_id = calls.id AND state != 'ended')
         FROM calls ORDER BY started_at_ms DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
}

/// Wait until the last call record satisfies `done` (the records writer is asynchronous).
async fn wait_record(db: &Path, what: &str, done: impl Fn(&CallRow) -> bool) -> CallRow {
    wait_until_async(what, Duration::from_secs(5), || {
        std::future::ready(match try_last_call(db) {
            Ok(row) if done(&row) => Ok(row),
            Ok(row) => Err(format!("{row:?}")),
            Err(e) => Err(e.to_string()),
        })
    })
    .await
}

#[tokio::test]
async fn a_call_cut_by_a_crash_is_closed_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = dir.path().join("server.toml");
    std::fs::write(&config, standard_config(dir.path(), "")).unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("calls.db");
    let (mut server, addr) = tokio::task::spawn_blocking({
        let config = config.clone();
        move || spawn_server(&config)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    let mut alice = SipPeer::new(addr, "alice", "alice-secret").await;
    alice.login().await;
    let customer = SipPeer::new(addr, "customer", "").await;
    let dialing = dial(&customer, &format!("sip:support@{addr}"), CUSTOMER_HZ);
    let inv = expect_invite(&mut alice).await;
    let _a = answer(&alice, &inv, ALICE_HZ).await;
    let (_, cust) = dialing.finish(&customer).await;
    let cust = cust.unwrap_or_else(|r| panic!("customer: {r}"));
    cust.media
        .assert_hears("connected", &[(ALICE_HZ, true)])
        .await;
    // The connection is committed within milliseconds; then the server dies without a word.
    wait_record(&db, "a record of the connected call", |row| {
        row.0 == "connected"
    })
    .await;
    server.kill().unwrap_or_else(|e| panic!("kill: {e}"));
    let _ = server.wait();
    let (state, reason, ended, _) = last_call(&db);
    assert_eq!(
        (state.as_str(), reason, ended),
        ("connected", None, None),
        "open after the crash"
    );

    let (mut again, _) = tokio::task::spawn_blocking(move || spawn_server(&config))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (state, reason, ended, last_write) = last_call(&db);
    let _ = again.kill();
    let _ = again.wait();
    assert_eq!(state, "ended");
    assert_eq!(reason.as_deref(), Some("server restart"));
    assert_eq!(
        ended,
        Some(last_write),
        "ended at the last write before the crash"
    );
}

#[tokio::test]
async fn a_call_ended_by_the_rtp_timeout_says_so() {
    let server = TestServer::start("rtp_timeout_s = 2").await;
    let mut alice = SipPeer::new(server.addr(), "alice", "alice-secret").await;
    alice.login().await;
    let mut customer = SipPeer::new(server.addr(), "customer", "").await;
    let dialing = dial(
        &customer,
        &format!("sip:support@{}", server.addr()),
        CUSTOMER_HZ,
    );
    let inv = expect_invite(&mut alice).await;
    let _a = answer(&alice, &inv, ALICE_HZ).await;
    let (_, cust) = dialing.finish(&customer).await;
    let cust = cust.unwrap_or_else(|r| panic!("customer: {r}"));
    cust.media
        .assert_hears("connected", &[(ALICE_HZ, true)])
        .await;
    cust.media
        .sending
        .store(false, std::sync::atomic::Ordering::Relaxed);
    assert!(
        expect_bye(&mut customer, 10).await,
        "silent customer gets BYE"
    );
    assert!(expect_bye(&mut alice, 3).await, "alice gets BYE");
    let row = wait_record(&server.db, "an end reason in the record", |row| {
        row.1.is_some()
    })
    .await;
    assert_eq!(row.1.as_deref(), Some("media timeout"));
}
