//! A cluster under test: `deploy/cluster` (PostgreSQL, Redis, Kamailio, N agentphone-server nodes) on
//! free ports of 127.0.0.1 in a temp dir, stopped on drop. None (saying why) when Kamailio or
//! PostgreSQL is not installed.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use tempfile::TempDir;

use crate::postgres::{deploy_dir, free_port, psql};

/// A running cluster.
pub struct TestCluster {
    dir: TempDir,
    /// Kamailio: where phones and customers send their requests.
    pub kamailio: SocketAddr,
    /// The nodes' SIP addresses, node1 first.
    pub nodes: Vec<SocketAddr>,
    /// The shared PostgreSQL.
    pub conninfo: String,
    /// The shared directory's Redis URL.
    pub redis: String,
}

impl TestCluster {
    /// Start `nodes` nodes of `server_bin` with `config` (a server config with `[server]`, agents
    /// and teams; listen, database and audio are set per node), music on hold and ringback from
    /// `assets` and a node lease of `lease_s`.
    pub fn start(
        server_bin: &Path,
        config: &str,
        nodes: usize,
        assets: &Path,
        lease_s: u64,
    ) -> Option<TestCluster> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let config_path = dir.path().join("base.toml");
        std::fs::write(&config_path, config).unwrap_or_else(|e| panic!("write config: {e}"));
        let sip = free_port();
        let ports: Vec<String> = (0..nodes).map(|_| free_port().to_string()).collect();
        let out = Command::new(deploy_dir().join("cluster"))
            .arg("start")
            .arg(dir.path().join("run"))
            .env("SIP_PORT", sip.to_string())
            .env("PG_PORT", free_port().to_string())
            .env("REDIS_PORT", free_port().to_string())
            .env("NODE_PORTS", ports.join(" "))
            .env("CONFIG", &config_path)
            .env("SERVER_BIN", server_bin)
            .env("ASSETS", assets)
            .env("LEASE_S", lease_s.to_string())
            .output()
            .unwrap_or_else(|e| panic!("cannot run deploy/cluster: {e}"));
        if out.status.code() == Some(3) {
            eprintln!(
                "SKIPPED: {} (run .ci/setup)",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        assert!(
            out.status.success(),
            "deploy/cluster start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let conninfo = stdout
            .lines()
            .find_map(|l| l.strip_prefix("postgres "))
            .unwrap_or_else(|| panic!("no postgres line in {stdout}"))
            .to_string();
        let redis = stdout
            .lines()
            .find_map(|l| l.strip_prefix("redis "))
            .unwrap_or_else(|| panic!("no redis line in {stdout}"))
            .to_string();
        let addr = |port: &str| -> SocketAddr {
            format!("127.0.0.1:{port}")
                .parse()
                .unwrap_or_else(|e| panic!("{e}"))
        };
        Some(TestCluster {
            kamailio: addr(&sip.to_string()),
            nodes: ports.iter().map(|p| addr(p)).collect(),
            conninfo,
            redis,
            dir,
        })
    }

    /// SQL on the shared PostgreSQL (unaligned output).
    pub fn query(&self, sql: &str) -> String {
        psql(&self.conninfo, sql)
    }

    /// Kill node `n` (1-based) with SIGKILL: no BYE, no flush, no lease release.
    pub fn kill_node(&self, n: usize) {
        let pids = std::fs::read_to_string(self.dir.path().join("run/pids"))
            .unwrap_or_else(|e| panic!("read pids: {e}"));
        let name = format!("node{n}");
        let pid = pids
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {pids}"))
            .trim()
            .to_string();
        let status = Command::new("kill")
            .args(["-9", &pid])
            .status()
            .unwrap_or_else(|e| panic!("kill: {e}"));
        assert!(status.success(), "kill -9 {pid} failed");
    }

    /// A node's log (stderr), for failure messages.
    pub fn node_log(&self, n: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("run/node{n}.log")))
            .unwrap_or_default()
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        let _ = Command::new(deploy_dir().join("cluster"))
            .arg("stop")
            .arg(self.dir.path().join("run"))
            .status();
    }
}
