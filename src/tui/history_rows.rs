//! My call history as the TUI shows it (issue 10): the engine's [`History`] (the server's call
//! records) in words — time of day, who, team, how long, transfers, how it ended.

use super::model::{HistoryList, HistoryRow, TimeOfDay};
use crate::phone::protocol::history::Outcome;
use crate::phone::History;

/// The history panel's data.
pub fn history_list(h: &History) -> HistoryList {
    HistoryList {
        codes: h.codes.clone(),
        calls: h
            .calls
            .iter()
            .map(|c| HistoryRow {
                at: TimeOfDay(((c.at_ms / 1000) % 86_400) as u32),
                customer: c.customer.clone(),
                team: c.team.clone(),
                duration_s: c.duration_s,
                transfers: c.transfers,
                outcome: outcome_words(c.outcome).into(),
                disposition: c.disposition.clone(),
                note: c.note.clone(),
            })
            .collect(),
    }
}

/// How a call ended for me, in words.
fn outcome_words(o: Outcome) -> &'static str {
    match o {
        Outcome::Completed => "completed",
        Outcome::Transferred => "transferred",
        Outcome::Ongoing => "still going",
        Outcome::Unknown => "—",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::protocol::history::HistoryCall;

    #[test]
    fn a_call_reads_as_words_with_the_time_of_day() {
        let h = History {
            codes: vec!["resolved".into()],
            calls: vec![HistoryCall {
                call: "c1".into(),
                at_ms: (13 * 3600 + 5 * 60 + 7) * 1000 + 86_400_000 * 3,
                customer: "Sam Carter".into(),
                team: Some("support".into()),
                duration_s: 83,
                transfers: 1,
                outcome: Outcome::Transferred,
                disposition: Some("resolved".into()),
                note: None,
            }],
        };
        let list = history_list(&h);
        let row = &list.calls[0];
        assert_eq!(row.at.to_string(), "13:05:07");
        assert_eq!(
            (row.outcome.as_str(), row.duration_s, row.transfers),
            ("transferred", 83, 1)
        );
        assert_eq!(list.codes, ["resolved"]);
    }
}
