//! Client transactions run in their own small tasks that forward every response to the driver,
//! tagged with what the request was for. The engine never waits on the network.

use agentphone_sip::endpoint::{ClientTransaction, Endpoint, TxError};
use agentphone_sip::rsip;
use tokio::sync::{mpsc::UnboundedSender, oneshot};

use agentphone_protocol::history::DispositionRequest;
use agentphone_protocol::AgentStateRequest;

use super::machine::Input;
use super::room_commands::RoomCommand;
use super::subscription::SubKind;

/// What a request was sent for; it comes back with each of its responses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// REGISTER asking for `expires` seconds (0 = unregister).
    Register {
        /// Requested lifetime.
        expires: u32,
    },
    /// PUBLISH of the voice channel state.
    Publish {
        /// open (true) / closed (false).
        active: bool,
    },
    /// PUBLISH of the agent's state (S1).
    AgentState {
        /// What was asked for.
        state: AgentStateRequest,
    },
    /// The initial INVITE of call `call`.
    Invite {
        /// Call-ID.
        call: String,
    },
    /// A re-INVITE of call `call` (hold = sendonly offer).
    ReInvite {
        /// Call-ID.
        call: String,
        /// true = hold, false = resume.
        hold: bool,
        /// CSeq of the re-INVITE (for the ACK).
        cseq: u32,
    },
    /// A SUBSCRIBE (directory or room state) asking for `expires` seconds.
    Subscribe {
        /// Which subscription.
        kind: SubKind,
        /// Its Call-ID (a response for a subscription since replaced is ignored).
        call_id: String,
        /// Lifetime asked for (0 = unsubscribe).
        expires: u32,
    },
    /// A REFER in call `call` asking for `target`.
    Refer {
        /// Call-ID.
        call: String,
        /// The agent or team asked for.
        target: String,
    },
    /// A room command (INFO) in call `call`.
    RoomCommand {
        /// Call-ID.
        call: String,
        /// Which command.
        command: RoomCommand,
        /// For cancel/complete: the number and target of my transfer it is about, if tracked.
        transfer: Option<(u64, String)>,
    },
    /// A disposition MESSAGE.
    Disposition {
        /// What was asked for.
        req: DispositionRequest,
    },
    /// My BYE (the history is fetched once it is answered, when the call was in a room).
    Hangup {
        /// The call was in a server room.
        in_room: bool,
    },
    /// BYE, CANCEL and other requests whose answer needs no action.
    Fire,
}

/// Run `tx` to its end, forwarding responses as `Input::Response`. When `cancel` fires (and
/// the transaction is still pending) a CANCEL is sent for it.
pub fn spawn_forwarder(
    mut tx: ClientTransaction,
    purpose: Purpose,
    endpoint: Endpoint,
    internal: UnboundedSender<Input>,
    mut cancel: Option<oneshot::Receiver<()>>,
) {
    tokio::spawn(async move {
        let request = Box::new(tx.request().clone());
        loop {
            // `next()` is a channel receive, so dropping it when the cancel wins loses nothing.
            let step = match cancel.as_mut() {
                Some(cancel_rx) => tokio::select! {
                    next = tx.next() => Step::Next(next),
                    asked = cancel_rx => Step::Cancel(asked.is_ok()),
                },
                None => Step::Next(tx.next().await),
            };
            match step {
                Step::Cancel(asked) => {
                    cancel = None;
                    if asked {
                        let cancel_tx = endpoint.cancel(&tx);
                        spawn_forwarder(
                            cancel_tx,
                            Purpose::Fire,
                            endpoint.clone(),
                            internal.clone(),
                            None,
                        );
                    }
                }
                Step::Next(None) => break,
                Step::Next(Some(result)) => {
                    let is_final = match &result {
                        Ok(resp) => resp.status_code.code() >= 200,
                        Err(_) => true,
                    };
                    let msg = Input::Response {
                        purpose: purpose.clone(),
                        request: request.clone(),
                        result: result.map(Box::new),
                    };
                    if internal.send(msg).is_err() || is_final {
                        break;
                    }
                }
            }
        }
    });
}

enum Step {
    Next(Option<Result<rsip::Response, TxError>>),
    Cancel(bool),
}
