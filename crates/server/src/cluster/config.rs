//! The `[cluster]` section of the server config: this node's name, the shared PostgreSQL, the
//! node lease and, for routing across nodes, the shared directory in Redis and the SIP edge.

use std::net::SocketAddr;
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
    /// Routing across nodes (`redis` and `edge`); None: each node routes to its own agents only.
    pub shared: Option<SharedSettings>,
}

/// The shared directory and the edge other nodes' agents are reached through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedSettings {
    /// Redis URL (`redis://127.0.0.1:6379/`).
    pub redis: String,
    /// Kamailio (UDP): INVITEs to agents registered through other nodes go there.
    pub edge: SocketAddr,
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
    redis: Option<Spanned<String>>,
    edge: Option<Spanned<String>>,
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
        let shared = match (&self.redis, &self.edge) {
            (None, None) => None,
            (Some(r), _) if !r.get_ref().starts_with("redis://") => {
                return Err((
                    r.span(),
                    "redis",
                    "a Redis URL, e.g. \"redis://127.0.0.1:6379/\"".into(),
                ))
            }
            (Some(r), Some(e)) => {
                let edge = e.get_ref().parse::<SocketAddr>().map_err(|_| {
                    (
                        e.span(),
                        "edge",
                        "Kamailio's SIP address, IP:PORT".to_string(),
                    )
                })?;
                Some(SharedSettings {
                    redis: r.get_ref().clone(),
                    edge,
                })
            }
            (Some(r), None) => {
                return Err((
                    r.span(),
                    "redis",
                    "needs `edge` too (Kamailio's IP:PORT)".into(),
                ))
            }
            (None, Some(e)) => {
                return Err((
                    e.span(),
                    "edge",
                    "needs `redis` too (the shared directory)".into(),
                ))
            }
        };
        Ok(ClusterConfig {
            shared,
            records: PostgresSettings {
                conninfo: self.postgres.get_ref().clone(),
                node: node.to_string(),
                lease: Duration::from_secs(lease_s),
            },
        })
    }
}
