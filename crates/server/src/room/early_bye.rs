//! A BYE that overtook the 2xx it follows. An agent who answers our INVITE and hangs up at once
//! sends 200 then BYE; a proxy in between (Kamailio, whose children forward in parallel) can
//! deliver the BYE first. Answering it 481 — no such dialog yet — left the agent gone and the
//! leg joined with no one on it until the RTP timeout (30 s). (RFC 3261 §15 has the callee wait
//! for the ACK before its BYE; RFC 5407 collects such races.) The BYE belongs to the dialog the
//! 2xx will confirm, so the room holds it until the INVITE's final answer, then handles it as an
//! ordinary BYE of the joined leg (or answers it, see [`fate_at_end`]).

use agentphone_sip::endpoint::ServerTransaction;

use agentphone_sip::message::fields;

use super::actor::Room;
use super::machine::Event;
use crate::ids::OfferId;
use crate::sip_reply;

/// What becomes of a BYE for the dialog of an INVITE we sent, on arrival.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OnArrival {
    /// Keep it until the INVITE's end (its 2xx may even be here already, the join not yet).
    Hold,
    /// The INVITE was answered and its party joined meanwhile: an ordinary BYE of that leg.
    InDialog,
    /// 481: not for a dialog of ours (the To tag is not our From tag, a BYE is held already, or
    /// the INVITE ended without a leg).
    Reject,
}

/// How the INVITE of a held BYE ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum InviteEnd {
    /// 2xx, and the room joins the party.
    Joined,
    /// 2xx to an INVITE the room no longer wanted (ACKed and hung up).
    AnsweredLate,
    /// A non-2xx final answer, Timer B or a transport error: no dialog was confirmed.
    Failed,
    /// The room ended before the answer.
    RoomEnded,
}

/// What the held BYE gets when its INVITE ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AtEnd {
    /// Handled as any BYE of the joined leg (200, and the machine's rules for a party leaving).
    InDialog,
    /// Answered with this status here.
    Answer(u16),
}

/// On arrival: `pending` — the room still has the INVITE (not joined, not ended); `our_tag` —
/// the BYE's To tag is the INVITE's From tag; `held` — a BYE of this INVITE is held already;
/// `joined` — the INVITE's Call-ID is a leg of the room now.
pub(super) fn on_arrival(pending: bool, our_tag: bool, held: bool, joined: bool) -> OnArrival {
    match (pending, joined) {
        (true, _) if our_tag && !held => OnArrival::Hold,
        (false, true) => OnArrival::InDialog,
        _ => OnArrival::Reject,
    }
}

/// When the INVITE ended.
pub(super) fn fate_at_end(end: InviteEnd) -> AtEnd {
    match end {
        InviteEnd::Joined => AtEnd::InDialog,
        // The session the 2xx confirmed is over: the party ended it.
        InviteEnd::AnsweredLate | InviteEnd::RoomEnded => AtEnd::Answer(200),
        InviteEnd::Failed => AtEnd::Answer(481),
    }
}

impl Room {
    /// An INVITE went out: its Call-ID leads to the room until it is joined or ends.
    pub(super) fn offer_sent(&self, id: OfferId) {
        if let Some(call_id) = self
            .offers
            .get(&id)
            .and_then(|o| fields::call_id(&o.out.request))
        {
            self.ctx.dialogs.bind_offer(&call_id, self.handle.id(), id);
        }
    }

    /// The INVITE's OfferIo is gone (joined, hung up late, failed): its Call-ID no longer
    /// leads to an offer.
    pub(super) fn offer_done(&self, request: &rsip::Request) {
        if let Some(call_id) = fields::call_id(request) {
            self.ctx.dialogs.unbind_offer(&call_id);
        }
    }

    /// The INVITE ended without a dialog: forget it, answer its held BYE.
    pub(super) async fn offer_failed(&mut self, id: OfferId) {
        if let Some(o) = self.offers.remove(&id) {
            self.offer_done(&o.out.request);
            if let Some(bye) = o.early_bye {
                answer(&bye, fate_at_end(InviteEnd::Failed)).await;
            }
        }
    }

    /// A BYE that named INVITE `id` when it arrived: hold it, hand it to the joined leg (the
    /// event for the machine), or 481.
    pub(super) async fn early_bye(&mut self, id: OfferId, bye: ServerTransaction) -> Option<Event> {
        let to_tag = fields::to_tag(&bye.request);
        let call_id = fields::call_id(&bye.request).unwrap_or_default();
        let leg = self
            .ctx
            .dialogs
            .lookup(&call_id)
            .filter(|(room, _)| room.id() == self.handle.id())
            .map(|(_, leg)| leg);
        let offer = self.offers.get_mut(&id);
        let our_tag = offer.as_ref().is_some_and(|o| {
            let ours = fields::from_tag(&o.out.request);
            ours.is_some() && ours == to_tag
        });
        let held = offer.as_ref().is_some_and(|o| o.early_bye.is_some());
        match (
            on_arrival(offer.is_some(), our_tag, held, leg.is_some()),
            offer,
            leg,
        ) {
            (OnArrival::Hold, Some(o), _) => {
                tracing::info!(room = %self.handle.id(), %id, "BYE before the 2xx: held");
                o.early_bye = Some(bye);
                None
            }
            (OnArrival::InDialog, _, Some(leg)) => self.in_dialog(leg, bye).await,
            _ => {
                sip_reply::reply(&bye, 481, "Call/Transaction Does Not Exist").await;
                None
            }
        }
    }

    /// The room ends: answer the BYEs still held.
    pub(super) async fn answer_early_byes(&mut self) {
        let held: Vec<ServerTransaction> = self
            .offers
            .values_mut()
            .filter_map(|o| o.early_bye.take())
            .collect();
        for bye in held {
            answer(&bye, fate_at_end(InviteEnd::RoomEnded)).await;
        }
    }
}

/// Answer a held BYE as `fate` says (an in-dialog one is the caller's to handle).
pub(super) async fn answer(bye: &ServerTransaction, fate: AtEnd) {
    match fate {
        AtEnd::Answer(200) => sip_reply::reply(bye, 200, "OK").await,
        AtEnd::Answer(_) | AtEnd::InDialog => {
            sip_reply::reply(bye, 481, "Call/Transaction Does Not Exist").await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bye_is_held_only_for_a_pending_invite_of_ours() {
        use OnArrival::{Hold, InDialog, Reject};
        let table = [
            // pending, our tag, held already, joined → fate
            (true, true, false, false, Hold),
            (true, false, false, false, Reject), // another dialog's BYE with a reused Call-ID
            (true, true, true, false, Reject),   // a second BYE (new CSeq) while one waits
            (false, true, false, true, InDialog), // the 2xx won the race after all
            (false, false, false, true, InDialog), // the leg's own checks apply then
            (false, true, false, false, Reject), // ended without a leg
        ];
        for (pending, our_tag, held, joined, want) in table {
            assert_eq!(
                on_arrival(pending, our_tag, held, joined),
                want,
                "pending {pending}, our tag {our_tag}, held {held}, joined {joined}"
            );
        }
    }

    #[test]
    fn a_held_bye_is_answered_by_how_its_invite_ended() {
        let table = [
            (InviteEnd::Joined, AtEnd::InDialog),
            (InviteEnd::AnsweredLate, AtEnd::Answer(200)),
            (InviteEnd::RoomEnded, AtEnd::Answer(200)),
            (InviteEnd::Failed, AtEnd::Answer(481)),
        ];
        for (end, want) in table {
            assert_eq!(fate_at_end(end), want, "{end:?}");
        }
    }
}
