//! A throwaway PostgreSQL for tests, started by `deploy/postgres` on a free port of 127.0.0.1
//! in a temp dir, stopped on drop. Tests that need it skip (with a message saying so) only when
//! PostgreSQL is not installed — `.ci/setup` installs it.

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// The repository's `deploy/` directory.
pub fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// A port free for both TCP and UDP on 127.0.0.1 (free when asked; the caller binds it soon
/// after). Both, because SIP listens on both and other tests hold many UDP sockets. Taken below
/// the kernel's ephemeral range: the port is bound seconds later by another process (a cluster
/// starts PostgreSQL first), and tests running meanwhile bind hundreds of ephemeral sockets
/// (the 200-customer test) that would otherwise take it first.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32_768);
    let (first, span) = (10_000u32, low.saturating_sub(10_000).max(1_000));
    // Each test process starts somewhere else in the range (its pid and the clock).
    let seed = std::process::id()
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
    let _ = NEXT.compare_exchange(0, seed | 1, Ordering::SeqCst, Ordering::SeqCst);
    for _ in 0..span {
        let n = NEXT.fetch_add(7_919, Ordering::SeqCst); // a prime step: every port comes round
        let Ok(port) = u16::try_from(first + n % span) else {
            continue;
        };
        let free = TcpListener::bind(("127.0.0.1", port)).is_ok()
            && UdpSocket::bind(("127.0.0.1", port)).is_ok();
        if free {
            return port;
        }
    }
    // Below the range all taken (never seen): any ephemeral port free for both.
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("no free port: {e}"));
        let port = tcp
            .local_addr()
            .unwrap_or_else(|e| panic!("no free port: {e}"))
            .port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Run `deploy/<script> start DIR PORT` on a free port; what it prints (its address). None, after
/// saying so, when it exits with 3 (not installed).
pub fn start_deployed(script: &str, dir: &Path) -> Option<String> {
    let mut last_error = String::new();
    // A port taken between the look-up and the start: try another.
    for _ in 0..3 {
        let out = Command::new(deploy_dir().join(script))
            .arg("start")
            .arg(dir)
            .arg(free_port().to_string())
            .output()
            .unwrap_or_else(|e| panic!("cannot run deploy/{script}: {e}"));
        if out.status.code() == Some(3) {
            eprintln!(
                "SKIPPED: {} (run .ci/setup)",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        if out.status.success() {
            return Some(String::from_utf8_lossy(&out.stdout).trim().to_string());
        }
        last_error = String::from_utf8_lossy(&out.stderr).into_owned();
    }
    panic!("deploy/{script} could not start: {last_error}");
}

/// A running PostgreSQL with role and database `agentphone`.
pub struct TempPostgres {
    dir: TempDir,
    /// The connection string (`host=127.0.0.1 port=… user=agentphone dbname=agentphone`).
    pub conninfo: String,
}

impl TempPostgres {
    /// Start one; None (after saying why on stderr) when PostgreSQL is not installed.
    pub fn start() -> Option<TempPostgres> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let conninfo = start_deployed("postgres", &dir.path().join("pg"))?;
        Some(TempPostgres { dir, conninfo })
    }

    /// Run SQL through `psql` and return its unaligned output (`|` between columns).
    pub fn query(&self, sql: &str) -> String {
        psql(&self.conninfo, sql)
    }
}

/// Run SQL through `psql` on `conninfo` and return its unaligned output (`|` between columns,
/// one line a row).
pub fn psql(conninfo: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .arg(conninfo)
        .output()
        .unwrap_or_else(|e| panic!("cannot run psql: {e}"));
    assert!(
        out.status.success(),
        "psql failed on {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let _ = Command::new(deploy_dir().join("postgres"))
            .arg("stop")
            .arg(self.dir.path().join("pg"))
            .status();
    }
}
