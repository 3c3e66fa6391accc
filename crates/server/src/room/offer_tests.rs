//! The offer machine in virtual time: every way ringing one party ends, and what the caller, the
//! transferring agent and the call record are told.

// Rule tables are vectors of tuples: one row per case, read like the SPEC's list.
#![allow(clippy::type_complexity)]

use super::*;
use crate::room::rule_table::Table;

const RING: Duration = Duration::from_secs(15);

fn agent() -> Offeree {
    Offeree::Agent("bob".into())
}

fn resp(code: u16, phrase: &str) -> OfferInput {
    OfferInput::Response(code, phrase.into())
}

/// How a case ends: the last step's kind, and for a miss what each party is told.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Waiting,
    Answered,
    /// caller status, transfer status, call record state, CANCEL sent
    Missed(
        (u16, String),
        (u16, &'static str, &'static str),
        Option<&'static str>,
        bool,
    ),
    Over,
}

fn run(to: Offeree, inputs: &[(u64, OfferInput)]) -> (End, OfferState) {
    let t0 = Instant::now();
    let mut offer = Offer::new(OfferId(1), to, t0, RING);
    let mut last = Step::Wait;
    for (at_s, input) in inputs {
        last = offer.handle(input.clone(), t0 + Duration::from_secs(*at_s));
    }
    let end = match last {
        Step::Wait => End::Waiting,
        Step::Answered => End::Answered,
        Step::Over => End::Over,
        Step::Missed(m) => End::Missed(
            m.caller_status(),
            m.transfer_status(),
            m.record("bob").map(|r| r.0),
            m.cancel_invite,
        ),
    };
    (end, offer.state())
}

fn missed(
    caller: (u16, &str),
    transfer: (u16, &'static str, &'static str),
    record: Option<&'static str>,
    cancel: bool,
) -> End {
    End::Missed((caller.0, caller.1.into()), transfer, record, cancel)
}

#[test]
fn offer_to_one_party_every_ending() {
    use OfferInput::*;
    let busy = (486, "Busy Here", "is busy");
    let declined = (603, "Declined", "declined");
    let no_answer = (480, "Temporarily Unavailable", "did not answer");
    let timeout = (408, "Request Timeout", "did not answer");
    let unreachable = (480, "Temporarily Unavailable", "cannot be reached");
    #[rustfmt::skip]
    let cases: Vec<(&str, Offeree, Vec<(u64, OfferInput)>, End, OfferState)> = vec![
        ("nothing heard yet", agent(), vec![], End::Waiting, OfferState::Calling),
        ("100 Trying keeps calling", agent(), vec![(0, resp(100, "Trying"))], End::Waiting, OfferState::Ringing),
        ("180 rings", agent(), vec![(1, resp(180, "Ringing"))], End::Waiting, OfferState::Ringing),
        ("183 rings", agent(), vec![(1, resp(183, "Session Progress"))], End::Waiting, OfferState::Ringing),
        ("200 answers", agent(), vec![(1, resp(180, "Ringing")), (3, resp(200, "OK"))], End::Answered, OfferState::Answered),
        ("202 answers too", agent(), vec![(3, resp(202, "Accepted"))], End::Answered, OfferState::Answered),
        ("answer just before the timeout", agent(), vec![(14, resp(200, "OK"))], End::Answered, OfferState::Answered),
        ("486 is busy", agent(), vec![(2, resp(486, "Busy Here"))], missed((486, "Busy Here"), busy, Some("refused"), false), OfferState::Missed),
        ("600 is busy", agent(), vec![(2, resp(600, "Busy Everywhere"))], missed((600, "Busy Everywhere"), busy, Some("refused"), false), OfferState::Missed),
        ("603 declines", agent(), vec![(1, resp(180, "Ringing")), (2, resp(603, "Decline"))], missed((603, "Decline"), declined, Some("refused"), false), OfferState::Missed),
        ("404 counts as declined", agent(), vec![(0, resp(404, "Not Found"))], missed((404, "Not Found"), declined, Some("refused"), false), OfferState::Missed),
        ("500 counts as declined", agent(), vec![(0, resp(500, "Server Internal Error"))], missed((500, "Server Internal Error"), declined, Some("refused"), false), OfferState::Missed),
        ("480 did not answer", agent(), vec![(5, resp(480, "Temporarily Unavailable"))], missed((480, "Temporarily Unavailable"), no_answer, Some("refused"), false), OfferState::Missed),
        ("408 did not answer", agent(), vec![(5, resp(408, "Request Timeout"))], missed((408, "Request Timeout"), no_answer, Some("refused"), false), OfferState::Missed),
        ("unreachable", agent(), vec![(32, Unreachable("timeout".into()))], missed((480, "Temporarily Unavailable"), unreachable, Some("unreachable"), false), OfferState::Missed),
        ("tick before the ring timeout waits", agent(), vec![(1, resp(180, "Ringing")), (14, Tick)], End::Waiting, OfferState::Ringing),
        ("ring timeout: CANCEL, next", agent(), vec![(1, resp(180, "Ringing")), (15, Tick)], missed((480, "Temporarily Unavailable"), timeout, Some("no answer"), true), OfferState::Missed),
        ("late tick is a timeout too", agent(), vec![(40, Tick)], missed((480, "Temporarily Unavailable"), timeout, Some("no answer"), true), OfferState::Missed),
        ("outbound rings at least 60 s", Offeree::External("sip:c@h".into()), vec![(15, Tick), (59, Tick)], End::Waiting, OfferState::Calling),
        ("outbound times out at 60 s", Offeree::External("sip:c@h".into()), vec![(60, Tick)], missed((480, "Temporarily Unavailable"), timeout, Some("no answer"), true), OfferState::Missed),
        ("withdrawn while calling: CANCEL", agent(), vec![(2, Withdraw)], missed((480, "Temporarily Unavailable"), unreachable, None, true), OfferState::Missed),
        ("withdrawn while ringing: CANCEL", agent(), vec![(1, resp(180, "Ringing")), (2, Withdraw)], missed((480, "Temporarily Unavailable"), unreachable, None, true), OfferState::Missed),
        ("a late 200 after the timeout is over", agent(), vec![(15, Tick), (16, resp(200, "OK"))], End::Over, OfferState::Missed),
        ("a late 200 after a withdraw is over", agent(), vec![(3, Withdraw), (4, resp(200, "OK"))], End::Over, OfferState::Missed),
        ("a retransmitted 486 is over", agent(), vec![(2, resp(486, "Busy Here")), (2, resp(486, "Busy Here"))], End::Over, OfferState::Missed),
        ("a tick after the answer is over", agent(), vec![(2, resp(200, "OK")), (20, Tick)], End::Over, OfferState::Answered),
        ("withdraw after the answer is over", agent(), vec![(2, resp(200, "OK")), (3, Withdraw)], End::Over, OfferState::Answered),
        ("answer without a dialog", agent(), vec![(2, resp(200, "OK")), (2, BadAnswer { no_audio: false })], missed((502, "Bad Gateway (answer without a dialog)"), (480, "Temporarily Unavailable", "answered badly"), None, false), OfferState::Missed),
        ("answer without a common codec", agent(), vec![(2, resp(200, "OK")), (2, BadAnswer { no_audio: true })], missed((488, "Not Acceptable Here"), (488, "Not Acceptable Here", "has no usable audio"), None, false), OfferState::Missed),
        ("a bad answer before any answer is ignored", agent(), vec![(2, BadAnswer { no_audio: true })], End::Over, OfferState::Calling),
    ];
    let mut table = Table::new("offer");
    for (name, to, inputs, end, state) in cases {
        table.case(name, || {
            assert_eq!(run(to.clone(), &inputs), (end, state));
        });
    }
    table.finish();
}

#[test]
fn records_name_the_party_and_the_reason() {
    let mut table = Table::new("offer records");
    table.case("refused names the code", || {
        let t0 = Instant::now();
        let mut o = Offer::new(OfferId(7), agent(), t0, RING);
        let Step::Missed(m) = o.handle(resp(603, "Decline"), t0) else {
            panic!("not missed")
        };
        assert_eq!(m.record("bob"), Some(("refused", "bob: 603".into())));
    });
    table.case("unreachable names the transport error", || {
        let t0 = Instant::now();
        let mut o = Offer::new(OfferId(7), agent(), t0, RING);
        let Step::Missed(m) = o.handle(OfferInput::Unreachable("no answer (timeout)".into()), t0)
        else {
            panic!("not missed")
        };
        assert_eq!(
            m.record("bob"),
            Some(("unreachable", "bob: no answer (timeout)".into()))
        );
    });
    table.case("label and agent of both kinds", || {
        assert_eq!(agent().agent(), Some("bob"));
        assert_eq!(Offeree::External("sip:x@y".into()).agent(), None);
        assert_eq!(Offeree::External("sip:x@y".into()).label(), "sip:x@y");
    });
    table.finish();
}
