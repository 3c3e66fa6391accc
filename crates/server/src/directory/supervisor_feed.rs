//! The supervisor event package's subscribers (SPEC V1): like the directory's, a whole document
//! per NOTIFY, published with the directory's coalescing (the same 20 ms burst), serialised once
//! and only when it differs from the last one. The document joins the directory's agents with
//! the [`Board`] of calls the rooms report.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentphone_protocol::supervisor::SupervisorCall;
use agentphone_protocol::{DirectoryState, RoomId, SupervisorState};

use super::board::Board;
use super::effect::{Effect, SubState};
use crate::records::TeamDay;

/// The supervisors' subscriptions and the last document they got.
#[derive(Default)]
pub struct SupervisorFeed {
    /// Subscribers by Call-ID, with when they lapse.
    subs: BTreeMap<String, Instant>,
    board: Board,
    last: Option<SupervisorState>,
    body: Arc<[u8]>,
    version: u64,
}

impl SupervisorFeed {
    /// Does anyone watch the floor?
    pub fn watched(&self) -> bool {
        !self.subs.is_empty()
    }

    /// A new subscriber (NOTIFY it with [`notify`](Self::notify) after publishing).
    pub fn subscribe(&mut self, id: String, expires: Duration, now: Instant) {
        self.subs.insert(id, now + expires);
    }

    /// Refresh a subscription.
    pub fn refresh(&mut self, id: &str, expires: Duration, now: Instant) {
        if let Some(at) = self.subs.get_mut(id) {
            *at = now + expires;
        }
    }

    /// A subscriber is gone without a final NOTIFY: true when it was ours.
    pub fn remove(&mut self, id: &str) -> bool {
        self.subs.remove(id).is_some()
    }

    /// A room's call changed or ended.
    pub fn update_call(&mut self, room: RoomId, call: Option<SupervisorCall>, wall_ms: u64) {
        self.board.update(room, call, wall_ms);
    }

    /// The call records' counts of today (at start-up).
    pub fn seed_counts(&mut self, counts: &TeamDay, wall_ms: u64) {
        self.board.seed(counts, wall_ms);
    }

    /// When the first subscription lapses.
    pub fn next_lapse(&self) -> Option<Instant> {
        self.subs.values().min().copied()
    }

    /// Subscriptions lapsed at `now`.
    pub fn lapsed(&self, now: Instant) -> Vec<String> {
        self.subs
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Publish to every subscriber when the document differs from the last one.
    pub fn publish(
        &mut self,
        directory: &DirectoryState,
        wall_ms: u64,
        now: Instant,
        effects: &mut Vec<Effect>,
    ) {
        if self.subs.is_empty() {
            // Nobody watches: build nothing (a subscriber gets a fresh document at once).
            self.last = None;
            return;
        }
        let mut doc = self.board.document(directory, wall_ms);
        if self.last.as_ref().is_some_and(|l| l.same_content(&doc)) {
            return;
        }
        self.version += 1;
        doc.version = self.version;
        self.body = serde_json::to_vec(&doc).unwrap_or_default().into();
        self.last = Some(doc);
        let ids: Vec<String> = self.subs.keys().cloned().collect();
        for id in ids {
            effects.push(self.notify(&id, now));
        }
    }

    /// The last document to one active subscriber.
    pub fn notify(&self, id: &str, now: Instant) -> Effect {
        let expires = self
            .subs
            .get(id)
            .map_or(0, |at| at.saturating_duration_since(now).as_secs());
        Effect::NotifySupervisor {
            id: id.to_string(),
            state: SubState::Active { expires },
            body: self.body.clone(),
        }
    }

    /// End a subscription: its final NOTIFY, then forget it.
    pub fn end(&mut self, id: &str, effects: &mut Vec<Effect>) {
        if self.subs.remove(id).is_some() {
            effects.push(Effect::NotifySupervisor {
                id: id.to_string(),
                state: SubState::Terminated,
                body: self.body.clone(),
            });
            effects.push(Effect::Forget { id: id.to_string() });
        }
    }
}

#[cfg(test)]
mod tests {
    use agentphone_protocol::supervisor::{CallPhase, SupervisorCall};
    use agentphone_protocol::{decode, RoomId, SupervisorState};
    use std::time::{Duration, Instant};

    use super::super::machine::{Directory, Effect, Event, SubState, COALESCE};
    use super::super::machine_tests::config;

    /// The supervisor documents among `effects`, with their subscription state.
    fn docs(effects: &[Effect]) -> Vec<(SubState, SupervisorState)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::NotifySupervisor { state, body, .. } => {
                    let doc = decode(body).unwrap_or_else(|e| panic!("{e}"));
                    Some((state.clone(), doc))
                }
                Effect::Notify { id, .. } => panic!("a directory NOTIFY to {id}"),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_supervisor_gets_the_floor_at_once_then_each_change_then_the_end() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut d = Directory::new(config(), t0);
        let first = docs(&d.handle(
            Event::SubscribeSupervisor {
                id: "s".into(),
                expires: Duration::from_secs(600),
            },
            t0,
        ));
        assert_eq!(first.len(), 1);
        let floor = &first[0].1;
        assert_eq!(floor.teams[0].name, "support");
        assert_eq!(floor.teams[0].waiting, 0);
        assert_eq!(floor.agents.len(), 3);
        assert!(floor.agents.iter().all(|a| a.since_ms.is_some()));
        let call = SupervisorCall {
            room: RoomId(4),
            team: Some("support".into()),
            phase: CallPhase::Waiting,
            customer: Some("Cust".into()),
            parties: Vec::new(),
            since_ms: 1_000,
            answered_ms: None,
        };
        let at_once = d.handle(
            Event::Call {
                room: RoomId(4),
                call: Some(Box::new(call)),
            },
            ms(1),
        );
        assert!(docs(&at_once).is_empty(), "coalesced");
        let due = d.deadline().unwrap_or_else(|| panic!("no deadline"));
        assert!(due <= ms(1) + COALESCE);
        let next = docs(&d.handle(Event::Timer, due));
        assert_eq!(next.len(), 1);
        let (state, floor) = &next[0];
        assert!(matches!(state, SubState::Active { .. }));
        assert_eq!(floor.version, first[0].1.version + 1);
        let t = &floor.teams[0];
        assert_eq!(
            (t.waiting, t.longest_wait_since_ms, t.calls_today),
            (1, Some(1_000), 1)
        );
        assert_eq!(floor.calls.len(), 1);
        let end = d.handle(
            Event::Resubscribe {
                id: "s".into(),
                expires: None,
            },
            ms(100),
        );
        assert_eq!(docs(&end)[0].0, SubState::Terminated);
        assert!(matches!(end.last(), Some(Effect::Forget { id }) if id == "s"));
    }
}
