//! Who hears what, from who holds (SPEC C3): an agent holding puts the customer on hold; in a call
//! without a customer it holds the other parties. A held party hears music and is not heard.
//! On top of that the room may hold the customer itself (a transfer under way, T2), and the
//! transferring agent hears ringback while the target rings.

use super::leg::Role;
use super::LegId;
use crate::media_engine::LegMode;

/// The facts about one leg that decide its media mode.
#[derive(Clone, Debug)]
pub struct LegView<'a> {
    /// Leg id.
    pub id: LegId,
    /// Who.
    pub role: &'a Role,
    /// Its last SDP direction says it holds the call.
    pub holding: bool,
    /// Added as listen-only (training).
    pub listen_only: bool,
}

/// The media mode of every leg, in the same order. `customer_held`: the room holds the customer
/// (transfer); `ringback`: this leg waits for a transfer target and hears ringback.
pub fn modes(
    legs: &[LegView<'_>],
    customer_held: bool,
    ringback: Option<LegId>,
) -> Vec<(LegId, LegMode)> {
    let customer = legs
        .iter()
        .find(|l| matches!(l.role, Role::Customer { .. }))
        .map(|l| l.id);
    let is_held = |id: LegId| {
        legs.iter()
            // A listener's hold holds nobody: it is not in the conversation (issue 10 #1).
            .filter(|h| h.holding && !h.listen_only)
            .any(|holder| match customer {
                Some(c) if c != holder.id => id == c,
                _ => id != holder.id,
            })
    };
    legs.iter()
        .map(|l| {
            let mode = if is_held(l.id) || (customer_held && Some(l.id) == customer) {
                LegMode::Held
            } else if Some(l.id) == ringback {
                LegMode::Ringback
            } else if l.listen_only {
                LegMode::ListenOnly
            } else {
                LegMode::Mixed
            };
            (l.id, mode)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One leg as `modes` sees it.
    fn leg(id: LegId, role: &Role, holding: bool, listen_only: bool) -> LegView<'_> {
        LegView {
            id,
            role,
            holding,
            listen_only,
        }
    }

    fn customer() -> Role {
        Role::Customer {
            uri: "sip:c@x".into(),
            display: None,
        }
    }

    #[test]
    fn agent_holding_holds_the_customer_only() {
        let (c, a, b) = (customer(), Role::Agent("a".into()), Role::Agent("b".into()));
        let legs = [
            leg(1, &c, false, false),
            leg(2, &a, true, false),
            leg(3, &b, false, false),
        ];
        assert_eq!(
            modes(&legs, false, None),
            vec![(1, LegMode::Held), (2, LegMode::Mixed), (3, LegMode::Mixed)]
        );
    }

    #[test]
    fn agent_to_agent_hold_holds_the_other_agent() {
        let (a, b) = (Role::Agent("a".into()), Role::Agent("b".into()));
        let legs = [leg(1, &a, true, false), leg(2, &b, false, false)];
        assert_eq!(
            modes(&legs, false, None),
            vec![(1, LegMode::Mixed), (2, LegMode::Held)]
        );
    }

    #[test]
    fn customer_holding_holds_the_agents_and_nobody_holding_mixes_all() {
        let (c, a) = (customer(), Role::Agent("a".into()));
        let legs = [leg(1, &c, true, false), leg(2, &a, false, true)];
        assert_eq!(
            modes(&legs, false, None),
            vec![(1, LegMode::Mixed), (2, LegMode::Held)]
        );
        let legs = [leg(1, &c, false, false), leg(2, &a, false, true)];
        assert_eq!(
            modes(&legs, false, None),
            vec![(1, LegMode::Mixed), (2, LegMode::ListenOnly)]
        );
    }

    #[test]
    fn a_listener_holding_holds_nobody() {
        let (c, a, l) = (customer(), Role::Agent("a".into()), Role::Agent("l".into()));
        let legs = [
            leg(1, &c, false, false),
            leg(2, &a, false, false),
            leg(3, &l, true, true),
        ];
        assert_eq!(
            modes(&legs, false, None),
            vec![
                (1, LegMode::Mixed),
                (2, LegMode::Mixed),
                (3, LegMode::ListenOnly)
            ]
        );
    }

    #[test]
    fn transfer_holds_the_customer_and_gives_the_transferring_agent_ringback() {
        let (c, a) = (customer(), Role::Agent("a".into()));
        let legs = [leg(1, &c, false, false), leg(2, &a, false, false)];
        assert_eq!(
            modes(&legs, true, Some(2)),
            vec![(1, LegMode::Held), (2, LegMode::Ringback)]
        );
        assert_eq!(
            modes(&legs, true, None),
            vec![(1, LegMode::Held), (2, LegMode::Mixed)]
        );
    }
}
