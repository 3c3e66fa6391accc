//! The floor document (protocol.md "Supervisor") as the supervisor view's [`Floor`]: times as
//! instants of this process's clock, parties in plain words.

use agentphone_protocol::room::Role;
use agentphone_protocol::supervisor::{CallParty, CallPhase, SupervisorState};
use agentphone_protocol::ParticipantState;

use super::action::Action;
use super::adapter::instant_of_wall_ms;
use super::supervisor::{Floor, FloorAgent, FloorCall, FloorTeam, SuperviseMode};
use crate::phone::PhoneCommand;

/// The view's floor.
pub fn floor(state: &SupervisorState) -> Floor {
    Floor {
        teams: state
            .teams
            .iter()
            .map(|t| FloorTeam {
                name: t.name.clone(),
                waiting: t.waiting,
                longest_since: t.longest_wait_since_ms.map(instant_of_wall_ms),
                calls_today: t.calls_today,
                abandoned_today: t.abandoned_today,
            })
            .collect(),
        agents: state
            .agents
            .iter()
            .map(|a| FloorAgent {
                name: if a.display_name.is_empty() {
                    a.username.clone()
                } else {
                    a.display_name.clone()
                },
                status: a.status,
                away_reason: a.away_reason.clone(),
                since: a.since_ms.map(instant_of_wall_ms),
            })
            .collect(),
        calls: state
            .calls
            .iter()
            .map(|c| FloorCall {
                room: c.room.to_string(),
                team: c.team.clone(),
                who: c.parties.iter().map(party).collect::<Vec<_>>().join(" · "),
                answered: c.phase == CallPhase::Connected,
                since: instant_of_wall_ms(c.answered_ms.unwrap_or(c.since_ms)),
            })
            .collect(),
        more_calls: state.more_calls,
    }
}

/// A party in plain words: the name, and how they are in the call when it is not talking.
fn party(p: &CallParty) -> String {
    let how = match (p.role, p.state) {
        (_, ParticipantState::Whispering) => Some("whispering"),
        (_, ParticipantState::Listening) => Some("listening"),
        (_, ParticipantState::Held) => Some("on hold"),
        (_, ParticipantState::Ringing) => Some("ringing"),
        (Role::Customer | Role::Agent | Role::Unknown, _) => None,
    };
    match how {
        Some(how) => super::strings::supervising(&p.name, how),
        None => p.name.clone(),
    }
}

/// The engine command of a supervisor action.
pub fn command(action: &Action) -> Option<PhoneCommand> {
    let Action::Supervise { room, mode } = action else {
        return None;
    };
    let mode = match mode {
        SuperviseMode::Listen => agentphone_protocol::SuperviseMode::Listen,
        SuperviseMode::Whisper => agentphone_protocol::SuperviseMode::Whisper,
        SuperviseMode::Barge => agentphone_protocol::SuperviseMode::Barge,
    };
    Some(PhoneCommand::Supervise {
        room: room.clone().unwrap_or_default(),
        mode,
    })
}
