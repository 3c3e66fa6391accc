//! Cluster mode (issue 12): several server nodes behind Kamailio (`deploy/kamailio/`), sharing
//! their call records in PostgreSQL (`records/postgresql/`). Off unless the config has a
//! `[cluster]` table; the single process with SQLite stays the default. `shared_directory` is the
//! Redis side of the directory (reservation of agents across nodes); `routing` is a node's use
//! of it (with `[cluster] redis` and `edge`): publishing its agents, reserving team members and
//! agents of any node, reaching the others' agents through Kamailio.

pub mod config;
pub mod routing;
pub mod shared_directory;

pub use config::ClusterConfig;
