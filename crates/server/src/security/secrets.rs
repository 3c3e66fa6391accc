//! Agents' digest secrets, stored as HA1 = H(user:realm:password) for MD5 and SHA-256 in the
//! server's SQLite database (issue 11 §2), never as the password. Managed with
//! `agentphone-server agent add|passwd|remove`; a `password` still in the config is imported
//! (hashed) at start-up with a warning, so existing configs keep working.

use std::collections::HashMap;
use std::path::Path;

use agentphone_sip::auth::Algorithm;
use rusqlite::{params, Connection, OptionalExtension};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS agent_secrets (
    username TEXT PRIMARY KEY,
    realm TEXT NOT NULL,
    ha1_md5 TEXT NOT NULL,
    ha1_sha256 TEXT NOT NULL,
    updated_at INTEGER NOT NULL    -- unix ms
);";

/// One agent's stored secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ha1 {
    /// H(user:realm:password) with MD5, hex.
    pub md5: String,
    /// The same with SHA-256, hex.
    pub sha256: String,
}

impl Ha1 {
    /// The secret of `user` with `password` in `realm`.
    pub fn of(user: &str, realm: &str, password: &str) -> Ha1 {
        Ha1 {
            md5: Algorithm::Md5.ha1(user, realm, password),
            sha256: Algorithm::Sha256.ha1(user, realm, password),
        }
    }

    /// The HA1 for `algorithm`.
    pub fn for_algorithm(&self, algorithm: Algorithm) -> &str {
        match algorithm {
            Algorithm::Md5 => &self.md5,
            Algorithm::Sha256 => &self.sha256,
        }
    }
}

/// The secrets table of a database file.
pub struct SecretStore {
    conn: Connection,
}

/// Why a change to the store was refused.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `agent add` for an agent that has a secret.
    #[error("agent `{0}` already has a password (use `agent passwd`)")]
    Exists(String),
    /// `agent passwd` / `remove` for an agent without one.
    #[error("agent `{0}` has no stored password")]
    Missing(String),
    /// SQLite said no.
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
}

impl SecretStore {
    /// Open (and create the table in) the database at `path`.
    pub fn open(path: &Path) -> Result<SecretStore, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(SecretStore { conn })
    }

    /// Every stored secret for `realm` (secrets stored for another realm cannot verify anything
    /// and are left out: their agents need `agent passwd` again).
    pub fn load(&self, realm: &str) -> Result<HashMap<String, Ha1>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT username, ha1_md5, ha1_sha256 FROM agent_secrets WHERE realm = ?1")?;
        let rows = stmt.query_map(params![realm], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Ha1 {
                    md5: r.get(1)?,
                    sha256: r.get(2)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The stored secret of `user`, with its realm.
    pub fn get(&self, user: &str) -> Result<Option<(String, Ha1)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT realm, ha1_md5, ha1_sha256 FROM agent_secrets WHERE username = ?1",
                params![user],
                |r| {
                    Ok((
                        r.get(0)?,
                        Ha1 {
                            md5: r.get(1)?,
                            sha256: r.get(2)?,
                        },
                    ))
                },
            )
            .optional()?)
    }

    /// Store (or replace) `user`'s secret.
    pub fn set(&self, user: &str, realm: &str, password: &str) -> Result<(), StoreError> {
        let ha1 = Ha1::of(user, realm, password);
        self.conn.execute(
            "INSERT INTO agent_secrets (username, realm, ha1_md5, ha1_sha256, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(username) DO UPDATE SET realm = ?2, ha1_md5 = ?3, ha1_sha256 = ?4,
                 updated_at = ?5",
            params![user, realm, ha1.md5, ha1.sha256, now_ms()],
        )?;
        Ok(())
    }

    /// `agent add`: a new agent's secret.
    pub fn add(&self, user: &str, realm: &str, password: &str) -> Result<(), StoreError> {
        if self.get(user)?.is_some() {
            return Err(StoreError::Exists(user.into()));
        }
        self.set(user, realm, password)
    }

    /// `agent passwd`: change an existing secret.
    pub fn passwd(&self, user: &str, realm: &str, password: &str) -> Result<(), StoreError> {
        if self.get(user)?.is_none() {
            return Err(StoreError::Missing(user.into()));
        }
        self.set(user, realm, password)
    }

    /// `agent remove`.
    pub fn remove(&self, user: &str) -> Result<(), StoreError> {
        let n = self.conn.execute(
            "DELETE FROM agent_secrets WHERE username = ?1",
            params![user],
        )?;
        if n == 0 {
            return Err(StoreError::Missing(user.into()));
        }
        Ok(())
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// An agent as the config names it: user name, and the plaintext password if the config still
/// holds one. (The config's own type stays out of here: `config` reads `security`'s settings.)
pub struct ConfiguredAgent<'a> {
    /// User name.
    pub username: &'a str,
    /// Plaintext password to import, if any.
    pub password: Option<&'a str>,
}

/// The secrets the server runs with: the stored ones in `database`, with every configured
/// password imported first (hashed; the plaintext is never written). Only configured agents can
/// log in.
pub fn load_for(
    database: &Path,
    realm: &str,
    agents: &[ConfiguredAgent<'_>],
) -> Result<HashMap<String, Ha1>, StoreError> {
    let store = SecretStore::open(database)?;
    // One transaction for the whole import: one commit, not one per agent.
    store.conn.execute_batch("BEGIN IMMEDIATE")?;
    for agent in agents {
        if let Some(password) = agent.password {
            let ha1 = Ha1::of(agent.username, realm, password);
            let stored = store.get(agent.username)?;
            if stored.as_ref() != Some(&(realm.to_string(), ha1)) {
                store.set(agent.username, realm, password)?;
            }
            tracing::warn!(
                agent = %agent.username,
                "plaintext password in the config imported into the database as a hash; remove \
                 it from the config (`agentphone-server --config FILE agent passwd {}` changes it)",
                agent.username
            );
        }
    }
    store.conn.execute_batch("COMMIT")?;
    let mut all = store.load(realm)?;
    all.retain(|user, _| agents.iter().any(|a| a.username == user));
    for agent in agents {
        if !all.contains_key(agent.username) {
            tracing::warn!(agent = %agent.username, "agent has no password: cannot log in \
                 (`agentphone-server --config FILE agent add {}`)", agent.username);
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hashes_managed_by_add_passwd_remove() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = SecretStore::open(&dir.path().join("s.db")).unwrap_or_else(|e| panic!("{e}"));
        store
            .add("alice", "r", "pw1")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            store.add("alice", "r", "x"),
            Err(StoreError::Exists(_))
        ));
        assert!(matches!(
            store.passwd("bob", "r", "x"),
            Err(StoreError::Missing(_))
        ));
        let loaded = store.load("r").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loaded.get("alice"), Some(&Ha1::of("alice", "r", "pw1")));
        // RFC 2617's example HA1 form: md5("alice:r:pw1"), not the password.
        assert_eq!(loaded["alice"].md5.len(), 32);
        assert_eq!(loaded["alice"].sha256.len(), 64);
        store
            .passwd("alice", "r", "pw2")
            .unwrap_or_else(|e| panic!("{e}"));
        let loaded = store.load("r").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loaded["alice"], Ha1::of("alice", "r", "pw2"));
        assert!(store.load("other").unwrap_or_default().is_empty());
        store.remove("alice").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(store.remove("alice"), Err(StoreError::Missing(_))));
        let raw = std::fs::read(dir.path().join("s.db")).unwrap_or_default();
        assert!(
            !raw.windows(3).any(|w| w == b"pw1"),
            "no plaintext in the file"
        );
    }
}
