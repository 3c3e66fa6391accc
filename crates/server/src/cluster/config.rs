//! The `[cluster]` section of the server config: this node's name, the shared PostgreSQL and the
//! node lease.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::records::postgresql::PostgresSettings;
use crate::security::config::KeyError;

/// Validated `[cluster]` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    /// This node's name and where the shared call records are.
    pub records: PostgresSettings,
}

/// Default `lease_s`: a dead node's calls are closed 6 to 8 s after its last heartbeat.
const DEFAULT_LEASE_S: u64 = 6;

/// `[cluster]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    node: Spanned<String>,
    postgres: Spanned<String>,
    lease_s: Option<Spanned<u64>>,
}

impl RawCluster {
    /// Check the values and fill defaults.
    pub fn validate(self) -> Result<ClusterConfig, KeyError> {
        let node = self.node.get_ref().trim();
        let node_ok = !node.is_empty()
            && node.len() <= 64
            && node
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !node_ok {
            return Err((
                self.node.span(),
                "node",
                "1 to 64 letters, digits, `-` or `_`".into(),
            ));
        }
        if self.postgres.get_ref().trim().is_empty() {
            return Err((
                self.postgres.span(),
                "postgres",
                "a PostgreSQL connection string, e.g. \"host=127.0.0.1 user=agentphone dbname=agentphone\"".into(),
            ));
        }
        let lease_s = match &self.lease_s {
            None => DEFAULT_LEASE_S,
            Some(v) if (2..=300).contains(v.get_ref()) => *v.get_ref(),
            Some(v) => return Err((v.span(), "lease_s", "must be between 2 and 300".into())),
        };
        Ok(ClusterConfig {
            records: PostgresSettings {
                conninfo: self.postgres.get_ref().clone(),
                node: node.to_string(),
                lease: Duration::from_secs(lease_s),
            },
        })
    }
}
