//! The transfer modal's lists: which agents (M2) and teams (M3) are offered, in which order, and
//! which of them can be picked now.

use crate::tui::model::{voice_active, AgentStatus, Model};
use crate::tui::strings;

/// One row of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// User name (agents) or team name: what the transfer is addressed to.
    pub key: String,
    /// What is shown as the name.
    pub name: String,
    /// Status text, with the reason when not pickable.
    pub status: String,
    /// False when the target cannot take the call now.
    pub pickable: bool,
}

/// The agents M2 offers: voice active, not me, not already in the call; available first, then
/// by name.
pub fn agent_rows(model: &Model, filter: &str) -> Vec<Row> {
    let in_call = |user: &str| {
        model
            .call
            .as_ref()
            .is_some_and(|c| c.participants.iter().any(|p| p.user == user))
    };
    let mut agents: Vec<_> = model
        .directory
        .agents
        .iter()
        .filter(|a| voice_active(a.status))
        .filter(|a| a.user != model.me.user && !in_call(&a.user))
        .filter(|a| matches_filter(filter, &[&a.display, &a.user]))
        .collect();
    agents.sort_by_key(|a| (a.status != AgentStatus::Available, a.display.to_lowercase()));
    agents
        .into_iter()
        .map(|a| Row {
            key: a.user.clone(),
            name: a.display.clone(),
            status: strings::agent_status(a.status, a.away_reason.as_deref()),
            pickable: a.status == AgentStatus::Available,
        })
        .collect()
}

/// The teams M3 offers: voice-active ones, by name; a team with nobody free cannot be picked.
pub fn team_rows(model: &Model, filter: &str) -> Vec<Row> {
    let mut teams: Vec<_> = model
        .directory
        .teams
        .iter()
        .filter(|t| t.active > 0 && matches_filter(filter, &[&t.name]))
        .collect();
    teams.sort_by_key(|t| t.name.to_lowercase());
    teams
        .into_iter()
        .map(|t| Row {
            key: t.name.clone(),
            name: t.name.clone(),
            status: strings::team_status(t.available, t.active),
            pickable: t.available > 0,
        })
        .collect()
}

/// Case-insensitive substring match on any of `fields`.
fn matches_filter(filter: &str, fields: &[&str]) -> bool {
    let f = filter.trim().to_lowercase();
    f.is_empty() || fields.iter().any(|s| s.to_lowercase().contains(&f))
}
