//! A throwaway Redis for tests, started by `deploy/redis` on a free port of 127.0.0.1 in a temp
//! dir, stopped on drop. Tests that need it skip (saying so) only when `redis-server` is not
//! installed — `.ci/setup` installs it.

use std::process::Command;

use tempfile::TempDir;

use crate::postgres::{deploy_dir, start_deployed};

/// A running Redis.
pub struct TempRedis {
    dir: TempDir,
    /// Its URL (`redis://127.0.0.1:PORT/`).
    pub url: String,
}

impl TempRedis {
    /// Start one; None (after saying why on stderr) when Redis is not installed.
    pub fn start() -> Option<TempRedis> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let url = start_deployed("redis", &dir.path().join("redis"))?;
        Some(TempRedis { dir, url })
    }
}

impl Drop for TempRedis {
    fn drop(&mut self) {
        let _ = Command::new(deploy_dir().join("redis"))
            .arg("stop")
            .arg(self.dir.path().join("redis"))
            .status();
    }
}
