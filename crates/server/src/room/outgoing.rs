//! An INVITE the room sends (to an agent or an outbound customer), driven by its own task so the
//! room never blocks: responses come back as [`RoomMsg::Offer`], and the room can ask it to CANCEL.

use agentphone_sip::endpoint::{Endpoint, Peer, TxError};
use tokio::sync::oneshot;

use super::offer::OfferInput;
use crate::ids::OfferId;
use crate::room_handle::{OfferEvent, RoomHandle, RoomMsg};

/// A running outgoing INVITE.
pub struct Outgoing {
    /// The INVITE as built (before the endpoint's Via), for the dialog and the ACK.
    pub request: rsip::Request,
    /// Where it went.
    pub peer: Peer,
    cancel: Option<oneshot::Sender<()>>,
}

impl Outgoing {
    /// Send `request` to `peer` and forward its responses to `room`.
    pub fn start(
        endpoint: &Endpoint,
        request: rsip::Request,
        peer: Peer,
        id: OfferId,
        room: RoomHandle,
    ) -> Outgoing {
        let (cancel_tx, mut cancel_rx) = oneshot::channel::<()>();
        let mut tx = endpoint.request(request.clone(), peer);
        let endpoint = endpoint.clone();
        tokio::spawn(async move {
            let mut cancel_asked = false;
            loop {
                tokio::select! {
                    next = tx.next() => {
                        let event = match next {
                            None => break,
                            Some(Ok(resp)) => {
                                let is_final = u16::from(resp.status_code.clone()) >= 200;
                                room.send(RoomMsg::Offer { offer: id, event: OfferEvent::Response(resp) });
                                if is_final { break } else { continue }
                            }
                            Some(Err(TxError::Timeout)) => OfferEvent::Failed("no answer (timeout)".into()),
                            Some(Err(TxError::Transport(e))) => OfferEvent::Failed(format!("unreachable: {e}")),
                        };
                        room.send(RoomMsg::Offer { offer: id, event });
                        break;
                    }
                    r = &mut cancel_rx, if !cancel_asked => {
                        cancel_asked = true;
                        if r.is_ok() {
                            let cancel = endpoint.cancel(&tx);
                            tokio::spawn(async move { let _ = cancel.final_response().await; });
                        }
                    }
                }
            }
        });
        Outgoing {
            request,
            peer,
            cancel: Some(cancel_tx),
        }
    }

    /// CANCEL the INVITE (once; the final response still comes back as an event).
    pub fn cancel(&mut self) {
        if let Some(c) = self.cancel.take() {
            let _ = c.send(());
        }
    }
}

/// What an event of the INVITE means to the offer machine.
pub fn offer_input(event: &OfferEvent) -> OfferInput {
    match event {
        OfferEvent::Response(resp) => {
            let full = resp.status_code.to_string();
            let phrase = full
                .split_once(' ')
                .map(|(_, r)| r.to_string())
                .unwrap_or(full);
            OfferInput::Response(u16::from(resp.status_code.clone()), phrase)
        }
        OfferEvent::Failed(reason) => OfferInput::Unreachable(reason.clone()),
    }
}
