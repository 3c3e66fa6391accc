//! The directory event package (`agentphone-directory`, JSON): the whole state as subscribers see
//! it, and the subscribers themselves. Owned by the directory task, which calls [`DirectorySubs::publish`]
//! shortly after every change (coalesced) and [`DirectorySubs::add`] for a new subscriber.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use agentphone_protocol::{DirectoryAgent, DirectoryState, DirectoryTeam};
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::Endpoint;
use tokio::sync::mpsc;

use crate::config::Config;
use crate::directory::{AgentState, AgentStatus, Cmd};
use crate::notify;

pub use agentphone_protocol::directory::{CONTENT_TYPE, EVENT};

/// Agents and teams (version 0), in config order.
pub fn snapshot(
    config: &Config,
    agents: &mut HashMap<String, AgentState>,
    now: Instant,
) -> DirectoryState {
    let mut statuses: HashMap<&str, (AgentStatus, bool)> = HashMap::new();
    let mut agent_list = Vec::with_capacity(config.agents.len());
    for a in &config.agents {
        let Some(state) = agents.get_mut(&a.username) else {
            continue;
        };
        let status = state.status(now);
        let voice_active = state.binding.is_some() && state.voice_active;
        statuses.insert(a.username.as_str(), (status, voice_active));
        agent_list.push(DirectoryAgent {
            username: a.username.clone(),
            display_name: a.display_name.clone(),
            status,
            teams: config
                .teams
                .iter()
                .filter(|t| t.members.contains(&a.username))
                .map(|t| t.name.clone())
                .collect(),
            idle_since_ms: Some(wall_ms(state.idle_since)),
        });
    }
    let teams: Vec<DirectoryTeam> = config
        .teams
        .iter()
        .map(|t| {
            let of = |m: &String| statuses.get(m.as_str()).copied();
            let available = t
                .members
                .iter()
                .filter(|m| of(m).is_some_and(|(s, _)| s == AgentStatus::Available))
                .count();
            let active = t
                .members
                .iter()
                .filter(|m| of(m).is_some_and(|(_, v)| v))
                .count();
            DirectoryTeam {
                name: t.name.clone(),
                members: t.members.clone(),
                available: available as u32,
                active: active as u32,
                inbound: t.inbound.clone(),
            }
        })
        .collect();
    DirectoryState::new(0, agent_list, teams)
}

/// An instant as milliseconds since the Unix epoch, from one fixed pairing of the two clocks (so
/// the same instant always gives the same number and the snapshot does not flicker).
fn wall_ms(at: Instant) -> u64 {
    static EPOCH: OnceLock<(Instant, u64)> = OnceLock::new();
    let (base, base_ms) = *EPOCH.get_or_init(|| {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        (Instant::now(), ms)
    });
    if at >= base {
        base_ms + at.duration_since(base).as_millis() as u64
    } else {
        base_ms.saturating_sub(base.duration_since(at).as_millis() as u64)
    }
}

struct Subscriber {
    dialog: Dialog,
    expires_at: Instant,
}

/// The subscribers and the last published state.
pub struct DirectorySubs {
    endpoint: Option<Endpoint>,
    directory: mpsc::UnboundedSender<Cmd>,
    subs: HashMap<String, Subscriber>,
    /// The last state published (numbered) and its NOTIFY body, serialised once.
    last: Option<DirectoryState>,
    last_body: Vec<u8>,
    version: u64,
}

impl DirectorySubs {
    /// No subscribers yet; NOTIFYs go out through `endpoint` (None: never, for unit tests).
    pub fn new(endpoint: Option<Endpoint>, directory: mpsc::UnboundedSender<Cmd>) -> Self {
        DirectorySubs {
            endpoint,
            directory,
            subs: HashMap::new(),
            last: None,
            last_body: Vec::new(),
            version: 0,
        }
    }

    /// The state changed (maybe): if it differs from the last one sent, NOTIFY everyone. True when
    /// it did change.
    pub fn publish(&mut self, snapshot: DirectoryState) -> bool {
        if !self.remember(snapshot) {
            return false;
        }
        let ids: Vec<String> = self.subs.keys().cloned().collect();
        for id in ids {
            self.notify(&id, None);
        }
        true
    }

    /// A new subscriber: NOTIFY it the current state at once.
    pub fn add(
        &mut self,
        dialog: Dialog,
        expires: Duration,
        snapshot: DirectoryState,
        now: Instant,
    ) {
        self.remember(snapshot);
        let id = dialog.call_id.clone();
        self.subs.insert(
            id.clone(),
            Subscriber {
                dialog,
                expires_at: now + expires,
            },
        );
        self.notify(&id, None);
    }

    /// Take `snapshot` as the last state when its content differs (the next version, serialised
    /// once for every subscriber). True when it did.
    fn remember(&mut self, mut snapshot: DirectoryState) -> bool {
        if self
            .last
            .as_ref()
            .is_some_and(|last| last.same_content(&snapshot))
        {
            return false;
        }
        self.version += 1;
        snapshot.version = self.version;
        self.last_body = serde_json::to_vec(&snapshot).unwrap_or_default();
        self.last = Some(snapshot);
        true
    }

    /// Refresh (Some) or end (None) a subscription.
    pub fn refresh(&mut self, call_id: &str, expires: Option<Duration>, now: Instant) {
        match expires {
            Some(e) => {
                if let Some(s) = self.subs.get_mut(call_id) {
                    s.expires_at = now + e;
                }
            }
            None => {
                self.notify(call_id, Some("terminated;reason=timeout"));
                self.subs.remove(call_id);
            }
        }
    }

    /// Forget a subscriber whose NOTIFY failed.
    pub fn forget(&mut self, call_id: &str) {
        self.subs.remove(call_id);
    }

    /// End the subscriptions that were not refreshed in time.
    pub fn expire(&mut self, now: Instant) {
        let lapsed: Vec<String> = self
            .subs
            .iter()
            .filter(|(_, s)| s.expires_at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in lapsed {
            self.refresh(&id, None, now);
        }
    }

    fn notify(&mut self, call_id: &str, terminated: Option<&str>) {
        let Some(endpoint) = &self.endpoint else {
            return;
        };
        let Some(sub) = self.subs.get_mut(call_id) else {
            return;
        };
        let state = match terminated {
            Some(t) => t.to_string(),
            None => notify::active(
                sub.expires_at
                    .saturating_duration_since(Instant::now())
                    .as_secs(),
            ),
        };
        let req = notify::request(
            &mut sub.dialog,
            EVENT,
            &state,
            CONTENT_TYPE,
            self.last_body.clone(),
        );
        let tx = endpoint.request(req, sub.dialog.peer);
        let directory = self.directory.clone();
        let id = call_id.to_string();
        tokio::spawn(async move {
            let gone = match tx.final_response().await {
                Ok(resp) => matches!(u16::from(resp.status_code), 404 | 481),
                Err(_) => true,
            };
            if gone {
                let _ = directory.send(Cmd::Drop { call_id: id });
            }
        });
    }
}
