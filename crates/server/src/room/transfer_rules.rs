//! The decisions of a transfer that need no I/O (SPEC T1, T2, T3, T6–T8, M5), as pure functions
//! the room calls and `transfer_rules_tests.rs` checks as tables: whether a request is refused
//! and with what reason, whether the customer is held, what a failed attempt tells the
//! requester, and who is next in a team.

use super::leg::Role;
use super::refer_to::{self, ReferTarget};
use crate::config::Config;
use crate::directory::AgentStatus;

/// A REFER refused at once (T1): status, reason phrase, Warning text.
pub type Refusal = (u16, &'static str, String);

/// What the room knows when a REFER arrives.
pub struct TransferAsk<'a> {
    /// The role of the leg the REFER came in on (None: not a leg of this call).
    pub requester: Option<&'a Role>,
    /// The Refer-To header (None: missing).
    pub refer_to: Option<&'a str>,
    /// A transfer is already under way.
    pub under_way: bool,
    /// Parties in the call now.
    pub parties: usize,
    /// Agents in the call now.
    pub agents_in_call: &'a [String],
}

/// Who a request asks for, once accepted by [`check_request`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The requesting agent.
    pub by: String,
    /// What the Refer-To says.
    pub target: ReferTarget,
    /// The team, for a team transfer (None: one agent, `target.user`).
    pub team: Option<String>,
}

/// T1, the checks that need no directory: who asks, the Refer-To, one transfer at a time, the
/// participant limit, the target exists and is not already in the call. The directory's answer
/// comes after ([`agent_refusal`], [`team_refusal`]).
pub fn check_request(config: &Config, ask: &TransferAsk<'_>) -> Result<Accepted, Refusal> {
    let Some(role) = ask.requester else {
        return Err((403, "Forbidden", "You are not in this call".into()));
    };
    let Some(by) = role.agent().map(str::to_string) else {
        return Err((403, "Forbidden", "A customer cannot transfer".into()));
    };
    let refer_to = ask
        .refer_to
        .ok_or((400, "Bad Request", "Refer-To is missing".to_string()))?;
    let target = refer_to::parse(refer_to).map_err(|e| (400, "Bad Request", e.to_string()))?;
    if ask.under_way {
        return Err((409, "Conflict", "A transfer is already under way".into()));
    }
    let max = config.max_participants;
    if ask.parties + 1 > max {
        return Err((
            488,
            "Not Acceptable Here",
            format!("The call already has {max} participants"),
        ));
    }
    let team = if target.team || config.agent(&target.user).is_none() {
        let team = config
            .team(&target.user)
            .or_else(|| config.team_by_inbound(&target.user))
            .ok_or((
                404,
                "Not Found",
                format!("No agent or team {}", target.user),
            ))?;
        Some(team.name.clone())
    } else {
        None
    };
    if team.is_none() && ask.agents_in_call.contains(&target.user) {
        return Err((
            482,
            "Loop Detected",
            format!(
                "{} is already in the call",
                display_name(config, &target.user)
            ),
        ));
    }
    Ok(Accepted { by, target, team })
}

/// T1: the agent asked for cannot be reserved (the directory's status says why).
pub fn agent_refusal(config: &Config, user: &str, status: AgentStatus) -> Refusal {
    let (code, phrase, why) = match status {
        AgentStatus::Offline | AgentStatus::Unknown => {
            (480, "Temporarily Unavailable", "is offline")
        }
        AgentStatus::Inactive => (480, "Temporarily Unavailable", "has the voice channel off"),
        AgentStatus::Away => (480, "Temporarily Unavailable", "is away"),
        AgentStatus::AfterCallWork => (480, "Temporarily Unavailable", "is wrapping up a call"),
        AgentStatus::Ringing => (486, "Busy Here", "is ringing for another call"),
        AgentStatus::OnCall | AgentStatus::Available => (486, "Busy Here", "is on a call"),
    };
    (
        code,
        phrase,
        format!("{} {why}", display_name(config, user)),
    )
}

/// T1: nobody in the team can be reserved.
pub fn team_refusal(team: &str) -> Refusal {
    (
        480,
        "Temporarily Unavailable",
        format!("Nobody in team {team} is available"),
    )
}

/// T2 / M5: does accepting this transfer put the customer on hold? Not for listen-only, not when
/// switched off, not without a customer, not when the customer is already held.
pub fn holds_customer(
    listen_only: bool,
    hold_on_transfer: bool,
    has_customer: bool,
    customer_already_held: bool,
) -> bool {
    !listen_only && hold_on_transfer && has_customer && !customer_already_held
}

/// T7: how a transfer attempt that reached nobody ends: `Some(text)` for the timeline entry
/// "{name} {why}" when a team goes on to its next member, and the failure (status, phrase,
/// text) if nobody is left.
pub fn failure_text(
    team: Option<&str>,
    name: &str,
    status: (u16, &'static str, &'static str),
) -> (u16, &'static str, String) {
    let (code, phrase, why) = status;
    match team {
        Some(team) => (
            480,
            "Temporarily Unavailable",
            format!("Nobody in team {team} answered (last: {name} {why})"),
        ),
        None => (code, phrase, format!("{name} {why}")),
    }
}

/// T3: who a team transfer must not ring again: those already tried and those in the call.
pub fn team_exclusions(tried: &[String], agents_in_call: &[String]) -> Vec<String> {
    let mut exclude = tried.to_vec();
    for a in agents_in_call {
        if !exclude.contains(a) {
            exclude.push(a.clone());
        }
    }
    exclude
}

/// ` (reason)` or nothing.
pub fn reason_suffix(reason: Option<&str>) -> String {
    reason.map(|r| format!(" ({r})")).unwrap_or_default()
}

/// An agent's display name (the user name for an unknown one).
pub fn display_name(config: &Config, user: &str) -> String {
    config
        .agent(user)
        .map(|a| a.display_name.clone())
        .unwrap_or_else(|| user.to_string())
}

#[cfg(test)]
#[path = "transfer_rules_tests.rs"]
mod tests;
