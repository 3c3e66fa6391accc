//! What the server's offer INVITE says about the customer besides SIP's own headers
//! (docs/protocol.md "Calls"): how long the customer has waited so far, so the offered agent's
//! popup can show it ("waiting 1:23").

/// The header carrying how long the customer has waited, in milliseconds, when the INVITE left
/// the server: since the customer's INVITE reached it (ringing other agents and queueing
/// included).
pub const WAITED_HEADER: &str = "X-Agentphone-Waited-Ms";

/// The header's value for a wait of `ms` milliseconds.
pub fn waited_value(ms: u64) -> String {
    ms.to_string()
}

/// Read the header's value (None when it is not a number of milliseconds).
pub fn parse_waited(value: &str) -> Option<u64> {
    value.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_round_trips_and_garbage_is_none() {
        assert_eq!(parse_waited(&waited_value(83_250)), Some(83_250));
        assert_eq!(parse_waited(" 12 "), Some(12));
        for bad in ["", "-3", "1.5", "soon"] {
            assert_eq!(parse_waited(bad), None, "{bad}");
        }
    }
}
