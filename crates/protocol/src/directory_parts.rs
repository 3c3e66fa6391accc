//! A directory document too big for one UDP datagram goes as several NOTIFYs, each a document of
//! its own (`part` of `parts`, the same `version` and `base`) holding a run of the agents and
//! teams — a team too big for one part is cut into pieces of its member list, consecutive entries
//! of the same name; the reader puts them back together before applying the version
//! (docs/protocol.md "Directory"). The writer serialises once per version, whatever the number of
//! subscribers.

use std::ops::Range;

use crate::directory::{DirectoryAgent, DirectoryState, DirectoryTeam};
use crate::schema::DELTA_SCHEMA;

/// Body bytes of a NOTIFY sent over UDP: with its headers (≈ 450 B) the request stays under the
/// 1300 B above which RFC 3261 §18.1.1 wants a congestion-controlled transport when the path MTU
/// is unknown — so it is never fragmented, and never over the 65 507 B a datagram can hold.
pub const DATAGRAM_BODY: usize = 800;

/// The most parts of one version a reader collects (memory bound: a server sends far fewer).
pub const MAX_PARTS: u32 = 50_000;

/// `doc` as NOTIFY bodies of at most `budget` bytes: one body when it fits, else parts. An entry
/// bigger than `budget` by itself (a team of hundreds of members) goes alone in its part.
pub fn encode(doc: &DirectoryState, budget: usize) -> Vec<Vec<u8>> {
    let whole = serde_json::to_vec(doc).unwrap_or_default();
    if whole.len() <= budget {
        return vec![whole];
    }
    let mut envelope = part_of(doc, 0..0, 0..0, u32::MAX, u32::MAX);
    envelope.version = u64::MAX;
    envelope.base = doc.base.map(|_| u64::MAX);
    let room = budget
        .saturating_sub(serde_json::to_vec(&envelope).map_or(0, |v| v.len()))
        .max(1);
    let teams = pieces(&doc.teams, room);
    let groups = group(&doc.agents, &teams, room);
    let parts = u32::try_from(groups.len()).unwrap_or(u32::MAX);
    groups
        .into_iter()
        .zip(1..)
        .map(|((agents, team_range), n)| {
            let mut part = part_of(doc, agents, 0..0, n, parts);
            part.teams = teams[team_range].to_vec();
            if n > 1 {
                part.away_reasons = Vec::new();
                part.ring_timeout_s = None;
            }
            serde_json::to_vec(&part).unwrap_or_default()
        })
        .collect()
}

fn len_of<T: serde::Serialize>(x: &T) -> usize {
    serde_json::to_vec(x).map_or(0, |v| v.len()) + 1
}

/// The teams, those bigger than `room` cut into pieces of their members that fit.
fn pieces(teams: &[DirectoryTeam], room: usize) -> Vec<DirectoryTeam> {
    let mut out = Vec::with_capacity(teams.len());
    for t in teams {
        if len_of(t) <= room || t.members.len() < 2 {
            out.push(t.clone());
            continue;
        }
        let mut piece = DirectoryTeam {
            members: Vec::new(),
            ..t.clone()
        };
        let mut size = len_of(&piece);
        let empty = size;
        for m in &t.members {
            let len = m.len() + 3;
            if size + len > room && !piece.members.is_empty() {
                out.push(piece.clone());
                piece.members.clear();
                size = empty;
            }
            piece.members.push(m.clone());
            size += len;
        }
        out.push(piece);
    }
    out
}

/// Runs of agents and teams whose entries (serialised, with their commas) fit in `room` bytes.
fn group(
    agents_in: &[DirectoryAgent],
    teams_in: &[DirectoryTeam],
    room: usize,
) -> Vec<(Range<usize>, Range<usize>)> {
    let agent_len = |i: usize| len_of(&agents_in[i]);
    let team_len = |i: usize| len_of(&teams_in[i]);
    let mut groups = Vec::new();
    let (mut agents, mut teams, mut size) = (0..0, 0..0, 0usize);
    for i in 0..agents_in.len() {
        let len = agent_len(i);
        if size + len > room && size > 0 {
            groups.push((agents.clone(), 0..0));
            (agents, size) = (i..i, 0);
        }
        agents.end = i + 1;
        size += len;
    }
    for i in 0..teams_in.len() {
        let len = team_len(i);
        if size + len > room && size > 0 {
            groups.push((agents.clone(), teams.clone()));
            (agents, teams, size) = (0..0, i..i, 0);
        }
        teams.end = i + 1;
        size += len;
    }
    groups.push((agents, teams));
    groups
}

fn part_of(
    doc: &DirectoryState,
    agents: Range<usize>,
    teams: Range<usize>,
    part: u32,
    parts: u32,
) -> DirectoryState {
    let mut p = DirectoryState::new(
        doc.version,
        doc.agents[agents].to_vec(),
        doc.teams[teams].to_vec(),
    );
    p.schema = DELTA_SCHEMA;
    p.base = doc.base;
    p.away_reasons = doc.away_reasons.clone();
    p.ring_timeout_s = doc.ring_timeout_s;
    (p.part, p.parts) = (part, parts);
    p
}

/// Puts a version's parts back together (one version at a time: a server sends the parts of the
/// next version only once every part of this one was answered).
#[derive(Debug, Default)]
pub struct Assembler {
    pending: Option<Pending>,
}

#[derive(Debug)]
struct Pending {
    version: u64,
    base: Option<u64>,
    parts: Vec<Option<DirectoryState>>,
    missing: usize,
}

impl Assembler {
    /// Take one NOTIFY's document: the whole version (a state or a delta, `parts` 1) once every
    /// part of it is in, else None. A part of another version starts over; nonsense is dropped.
    pub fn add(&mut self, doc: DirectoryState) -> Option<DirectoryState> {
        if doc.parts <= 1 {
            return Some(doc);
        }
        if doc.parts > MAX_PARTS || doc.part == 0 || doc.part > doc.parts {
            return None;
        }
        let same = self.pending.as_ref().is_some_and(|p| {
            p.version == doc.version && p.base == doc.base && p.parts.len() == doc.parts as usize
        });
        if !same {
            if self
                .pending
                .as_ref()
                .is_some_and(|p| p.version > doc.version)
            {
                return None; // a stray part of an older version
            }
            self.pending = Some(Pending {
                version: doc.version,
                base: doc.base,
                parts: vec![None; doc.parts as usize],
                missing: doc.parts as usize,
            });
        }
        let pending = self.pending.as_mut()?;
        let slot = pending.parts.get_mut(doc.part as usize - 1)?;
        if slot.is_none() {
            pending.missing -= 1;
        }
        *slot = Some(doc);
        if pending.missing > 0 {
            return None;
        }
        let mut parts = self.pending.take()?.parts.into_iter().flatten();
        let mut whole = parts.next()?;
        for p in parts {
            whole.agents.extend(p.agents);
            for t in p.teams {
                match whole.teams.last_mut() {
                    // The next piece of a team cut in pieces.
                    Some(last) if last.name == t.name => last.members.extend(t.members),
                    _ => whole.teams.push(t),
                }
            }
            if whole.away_reasons.is_empty() {
                whole.away_reasons = p.away_reasons;
            }
            whole.ring_timeout_s = whole.ring_timeout_s.or(p.ring_timeout_s);
        }
        (whole.part, whole.parts) = (1, 1);
        Some(whole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{decode, AgentStatus, DirectoryAgent, DirectoryTeam};

    fn agent(i: usize, status: AgentStatus) -> DirectoryAgent {
        DirectoryAgent {
            username: format!("agent{i:04}"),
            display_name: format!("Agent Number {i}"),
            status,
            teams: vec![format!("team{}", i % 7)],
            idle_since_ms: Some(1_795_613_338_622 + i as u64),
            away_reason: None,
            wrap_up_until_ms: None,
            status_since_ms: Some(1_795_613_338_622),
        }
    }

    fn directory(n: usize) -> DirectoryState {
        let agents: Vec<_> = (0..n).map(|i| agent(i, AgentStatus::Available)).collect();
        let teams = (0..7)
            .map(|t| DirectoryTeam {
                name: format!("team{t}"),
                members: (0..n)
                    .filter(|i| i % 7 == t)
                    .map(|i| format!("agent{i:04}"))
                    .collect(),
                available: 3,
                active: 4,
                inbound: None,
            })
            .collect();
        let mut d = DirectoryState::new(9, agents, teams);
        d.away_reasons = vec!["lunch".into()];
        d.ring_timeout_s = Some(15);
        d
    }

    /// Read every body back and assemble them in `order`.
    fn assemble(bodies: &[Vec<u8>], order: impl Iterator<Item = usize>) -> Vec<DirectoryState> {
        let mut asm = Assembler::default();
        order
            .filter_map(|i| asm.add(decode(&bodies[i]).unwrap_or_else(|e| panic!("{e}"))))
            .collect()
    }

    #[test]
    fn a_small_state_is_one_body_of_the_first_schema() {
        let d = directory(3);
        let bodies = encode(&d, 2_000);
        assert_eq!(bodies.len(), 1);
        let back: DirectoryState = decode(&bodies[0]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((back.schema, back.part, back.parts), (1, 1, 1));
        assert_eq!(back, d);
    }

    /// (agents, budget) → parts, each within budget, and in any order the same state again.
    #[test]
    fn a_big_state_goes_in_parts_within_budget_and_comes_back_whole() {
        for (n, budget) in [(600, DATAGRAM_BODY), (5_000, DATAGRAM_BODY), (600, 4_000)] {
            let d = directory(n);
            let bodies = encode(&d, budget);
            assert!(bodies.len() > 1, "{n} agents in one body");
            let biggest = bodies.iter().map(|b| b.len()).max();
            assert!(
                biggest <= Some(budget),
                "{n}/{budget}: a part of {biggest:?} B"
            );
            for order in [
                Box::new(0..bodies.len()) as Box<dyn Iterator<Item = usize>>,
                Box::new((0..bodies.len()).rev()),
            ] {
                let whole = assemble(&bodies, order);
                assert_eq!(whole.len(), 1, "{n}/{budget}: one version");
                let mut want = d.clone();
                want.schema = DELTA_SCHEMA;
                assert_eq!(whole[0], want, "{n}/{budget}");
            }
        }
    }

    #[test]
    fn a_delta_applies_to_its_base_only_and_replaces_entries_by_name() {
        let mut have = directory(4);
        let mut changed = agent(2, AgentStatus::Away);
        changed.away_reason = Some("lunch".into());
        let delta = DirectoryState::delta(9, 10, vec![changed.clone()], Vec::new());
        let text = serde_json::to_vec(&delta).unwrap_or_default();
        let back: DirectoryState = decode(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, delta, "round trip");
        assert_eq!((back.schema, back.base), (DELTA_SCHEMA, Some(9)));
        let before = have.clone();
        have.apply(back.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(have.version, 10);
        assert_eq!(have.agents[2], changed);
        assert_eq!(have.agents[1], before.agents[1]);
        assert_eq!(have.teams, before.teams);
        // A team's entry in a delta leaves its members out: the known ones stay.
        let mut team = before.teams[1].clone();
        team.available = 0;
        let members = std::mem::take(&mut team.members);
        have.apply(DirectoryState::delta(10, 11, Vec::new(), vec![team]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (have.teams[1].available, &have.teams[1].members),
            (0, &members)
        );
        have.version = 10;
        assert_eq!(have.away_reasons, before.away_reasons, "kept when absent");
        // Applied again (now at 10), or from another base: a gap.
        assert_eq!(
            have.apply(back),
            Err(crate::directory::Gap { have: 10, base: 9 })
        );
        // A whole state replaces whatever was there.
        let mut fresh = directory(2);
        fresh.version = 3;
        have.apply(fresh.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(have, fresh);
    }

    #[test]
    fn parts_of_a_newer_version_replace_an_unfinished_one_and_older_strays_are_dropped() {
        let mut d = directory(600);
        let old = encode(&d, DATAGRAM_BODY);
        d.version = 10;
        let new = encode(&d, DATAGRAM_BODY);
        let mut asm = Assembler::default();
        let read = |b: &Vec<u8>| decode::<DirectoryState>(b).unwrap_or_else(|e| panic!("{e}"));
        assert!(asm.add(read(&old[0])).is_none());
        let mut done = Vec::new();
        for b in &new {
            done.extend(asm.add(read(b)));
            assert!(asm.add(read(&old[1])).is_none(), "stray");
        }
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].version, 10);
        assert_eq!(done[0].agents.len(), 600);
        let mut bad = read(&new[0]);
        bad.part = bad.parts + 1;
        assert!(asm.add(bad).is_none());
    }
}
