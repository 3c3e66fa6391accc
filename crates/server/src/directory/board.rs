//! The floor as supervisors see it (SPEC V1): every call under way as its room last described
//! it, and per team the calls and abandoned calls of the day. Rooms report their call after
//! every change ([`Board::update`]); the directory joins this with the agents into the
//! supervisor document ([`Board::document`]). Plain data: the wall clock is a parameter.

use std::collections::{BTreeMap, HashMap};

use agentphone_protocol::supervisor::{
    CallPhase, SupervisorAgent, SupervisorCall, SupervisorTeam, MAX_CALLS,
};
use agentphone_protocol::{DirectoryState, RoomId, SupervisorState};

use crate::records::TeamDay;
use crate::records_day::DAY_MS;

/// Calls under way and today's counts.
#[derive(Default)]
pub struct Board {
    calls: BTreeMap<RoomId, SupervisorCall>,
    /// The day (since the Unix epoch, UTC) the counts are for.
    day: u64,
    /// Per team: calls today, abandoned today.
    counts: HashMap<String, (u32, u32)>,
}

impl Board {
    /// A room's call changed (`Some`) or the room ended (`None`), at `wall_ms`. A customer's
    /// call to a team counts once, when first seen; it is abandoned when it ends waiting.
    pub fn update(&mut self, room: RoomId, call: Option<SupervisorCall>, wall_ms: u64) {
        self.roll(wall_ms);
        match call {
            Some(call) => {
                let new = !self.calls.contains_key(&room);
                if let (true, Some(team), Some(_)) = (new, &call.team, &call.customer) {
                    let c = self.counts.entry(team.clone()).or_default();
                    c.0 = c.0.saturating_add(1);
                }
                self.calls.insert(room, call);
            }
            None => {
                let Some(old) = self.calls.remove(&room) else {
                    return;
                };
                if let (CallPhase::Waiting, Some(team), Some(_)) =
                    (old.phase, &old.team, &old.customer)
                {
                    let c = self.counts.entry(team.clone()).or_default();
                    c.1 = c.1.saturating_add(1);
                }
            }
        }
    }

    /// Add the counts the call records hold for a day (read at start-up, before this run saw
    /// any call of it: the two add up); a day other than today's is ignored.
    pub fn seed(&mut self, counts: &TeamDay, wall_ms: u64) {
        self.roll(wall_ms);
        if counts.day != self.day {
            return;
        }
        for (team, calls, abandoned) in &counts.teams {
            let c = self.counts.entry(team.clone()).or_default();
            c.0 = c.0.saturating_add(*calls);
            c.1 = c.1.saturating_add(*abandoned);
        }
    }

    /// A new day starts the counts again.
    fn roll(&mut self, wall_ms: u64) {
        let day = wall_ms / DAY_MS;
        if day != self.day {
            self.day = day;
            self.counts.clear();
        }
    }

    /// The supervisor document (version 0) from the directory's agents and teams and the calls.
    pub fn document(&mut self, directory: &DirectoryState, wall_ms: u64) -> SupervisorState {
        self.roll(wall_ms);
        let teams = directory
            .teams
            .iter()
            .map(|t| {
                let waiting = self.calls.values().filter(|c| {
                    c.phase == CallPhase::Waiting
                        && c.customer.is_some()
                        && c.team.as_deref() == Some(t.name.as_str())
                });
                let (n, longest) = waiting.fold((0u32, None::<u64>), |(n, min), c| {
                    (n + 1, Some(min.map_or(c.since_ms, |m| m.min(c.since_ms))))
                });
                let (calls_today, abandoned_today) =
                    self.counts.get(&t.name).copied().unwrap_or_default();
                SupervisorTeam {
                    name: t.name.clone(),
                    waiting: n,
                    longest_wait_since_ms: longest,
                    calls_today,
                    abandoned_today,
                }
            })
            .collect();
        let agents = directory
            .agents
            .iter()
            .map(|a| SupervisorAgent {
                username: a.username.clone(),
                display_name: a.display_name.clone(),
                status: a.status,
                since_ms: a.status_since_ms,
                away_reason: a.away_reason.clone(),
                teams: a.teams.clone(),
            })
            .collect();
        // Oldest first (room ids grow with time, and so does `since_ms`).
        let mut calls: Vec<SupervisorCall> = self.calls.values().cloned().collect();
        calls.sort_by_key(|c| (c.since_ms, c.room));
        let more = calls.len().saturating_sub(MAX_CALLS);
        calls.truncate(MAX_CALLS);
        let mut state = SupervisorState::new(teams, agents, calls);
        state.more_calls = u32::try_from(more).unwrap_or(u32::MAX);
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentphone_protocol::DirectoryTeam;

    fn call(room: u64, phase: CallPhase, since_ms: u64) -> SupervisorCall {
        SupervisorCall {
            room: RoomId(room),
            team: Some("support".into()),
            phase,
            customer: Some("Cust".into()),
            parties: Vec::new(),
            since_ms,
            answered_ms: None,
        }
    }

    fn directory() -> DirectoryState {
        DirectoryState::new(
            1,
            Vec::new(),
            vec![DirectoryTeam {
                name: "support".into(),
                members: Vec::new(),
                available: 0,
                active: 0,
                inbound: None,
            }],
        )
    }

    /// What the team row shows: waiting, longest since, calls today, abandoned today.
    type Row = (u32, Option<u64>, u32, u32);

    /// (room, phase or gone, at ms) → the team row.
    #[test]
    fn counts_waits_and_abandoned_calls_per_team_and_day() {
        use CallPhase::{Connected, Waiting};
        let t0 = 10 * DAY_MS + 1_000;
        let steps: &[(u64, Option<CallPhase>, u64, Row)] = &[
            (1, Some(Waiting), t0, (1, Some(t0), 1, 0)),
            (2, Some(Waiting), t0 + 5, (2, Some(t0), 2, 0)),
            // The same call again is not a new call.
            (2, Some(Waiting), t0 + 6, (2, Some(t0), 2, 0)),
            (1, Some(Connected), t0 + 9, (1, Some(t0 + 5), 2, 0)),
            // Waiting and gone: abandoned; connected and gone: not.
            (2, None, t0 + 20, (0, None, 2, 1)),
            (1, None, t0 + 30, (0, None, 2, 1)),
            // The next day starts at zero.
            (3, Some(Waiting), t0 + DAY_MS, (1, Some(t0 + DAY_MS), 1, 0)),
        ];
        let mut board = Board::default();
        for (room, phase, at, want) in steps {
            let c = phase.map(|p| {
                let since = if *room == 3 {
                    t0 + DAY_MS
                } else {
                    t0 + (room - 1) * 5
                };
                call(*room, p, since)
            });
            board.update(RoomId(*room), c, *at);
            let doc = board.document(&directory(), *at);
            let t = &doc.teams[0];
            assert_eq!(
                (
                    t.waiting,
                    t.longest_wait_since_ms,
                    t.calls_today,
                    t.abandoned_today
                ),
                *want,
                "room {room} {phase:?} at {at}"
            );
        }
    }

    /// The records' counts of today add to what this run counts; another day's are ignored.
    #[test]
    fn counts_from_the_records_add_up_with_this_runs_calls() {
        let t0 = 10 * DAY_MS + 1_000;
        let row = |board: &mut Board, at| {
            let doc = board.document(&directory(), at);
            (doc.teams[0].calls_today, doc.teams[0].abandoned_today)
        };
        let mut board = Board::default();
        board.update(RoomId(1), Some(call(1, CallPhase::Waiting, t0)), t0);
        board.seed(
            &TeamDay {
                day: 10,
                teams: vec![("support".into(), 7, 2), ("gone".into(), 1, 1)],
            },
            t0 + 1,
        );
        assert_eq!(row(&mut board, t0 + 2), (8, 2));
        board.update(RoomId(1), None, t0 + 3);
        assert_eq!(row(&mut board, t0 + 4), (8, 3));
        board.seed(
            &TeamDay {
                day: 9,
                teams: vec![("support".into(), 5, 5)],
            },
            t0 + 5,
        );
        assert_eq!(row(&mut board, t0 + 6), (8, 3), "yesterday's counts");
        assert_eq!(row(&mut board, t0 + DAY_MS), (0, 0), "the next day");
    }

    #[test]
    fn calls_are_listed_oldest_first_and_bounded() {
        let mut board = Board::default();
        let n = MAX_CALLS as u64 + 3;
        for room in (1..=n).rev() {
            board.update(
                RoomId(room),
                Some(call(room, CallPhase::Connected, room)),
                5,
            );
        }
        let doc = board.document(&directory(), 5);
        assert_eq!(doc.calls.len(), MAX_CALLS);
        assert_eq!(doc.more_calls, 3);
        assert_eq!(doc.calls[0].room, RoomId(1));
        assert!(doc.calls.windows(2).all(|w| w[0].since_ms <= w[1].since_ms));
    }
}
