//! What the directory machine asks its driver to do (a leaf module: the machine and the
//! supervisors' feed both produce these).

use std::sync::Arc;

use agentphone_protocol::{DirectoryAgent, DirectoryTeam};

/// Directory entries that changed since the last publication: what the fan-out
/// (`fanout::Fanout`) turns into deltas. Any source of agent state may produce them (the
/// directory machine today; a shared store's change feed in a cluster).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Agents whose entry changed (whole entries).
    pub agents: Vec<DirectoryAgent>,
    /// Teams whose entry changed: whole entries the first time, then with `members` empty
    /// (members change with the configuration only; the fan-out keeps those it has).
    pub teams: Vec<DirectoryTeam>,
}

impl Changes {
    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty() && self.teams.is_empty()
    }
}

/// The `Subscription-State` of a NOTIFY.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubState {
    /// `active;expires=N`.
    Active {
        /// Seconds left.
        expires: u64,
    },
    /// `terminated;reason=timeout`: the last NOTIFY of the subscription.
    Terminated,
}

/// What the driver must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Send a NOTIFY in subscription `id` with this body (the same bytes for every subscriber).
    Notify {
        /// The subscription dialog's Call-ID.
        id: String,
        /// Its state.
        state: SubState,
        /// The directory document.
        body: Arc<[u8]>,
    },
    /// Send a supervisor NOTIFY (`agentphone-supervisor`) in subscription `id`.
    NotifySupervisor {
        /// The subscription dialog's Call-ID.
        id: String,
        /// Its state.
        state: SubState,
        /// The supervisor document.
        body: Arc<[u8]>,
    },
    /// The subscription is over: forget its dialog (after any NOTIFY above).
    Forget {
        /// The subscription dialog's Call-ID.
        id: String,
    },
    /// Some agent's status changed (the queue looks for a member who became available).
    Changed,
    /// Entries changed: hand them to the fan-out (directory subscribers).
    Publish(Box<Changes>),
}
