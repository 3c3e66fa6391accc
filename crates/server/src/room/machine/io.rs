//! What goes into the room machine ([`Event`]) and what comes out ([`Effect`]). The driver
//! (`room/actor.rs`) owns the SIP transactions, dialogs, RTP sessions and INVITEs and names them
//! to the machine by small ids ([`TxId`], [`LegId`], [`OfferId`]); it turns what happens into
//! events and carries out the effects in order. Nothing here holds a socket or a clock.

use agentphone_protocol::{AgentStatus, RoomCommand, RoomState, SuperviseMode};
use agentphone_sip::sdp::Direction;

use super::super::leg::Role;
use super::super::offer::{OfferInput, Offeree};
use super::super::LegId;
use crate::ids::OfferId;
use crate::media_engine::{LegMode, MediaEventKind};
use crate::records::RecordOp;

/// A server transaction the driver keeps until the machine says how to answer it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TxId(pub u64);

/// Who is being called, as the machine sees it (the driver keeps the outbound peer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dest {
    /// A team: members one at a time (T3), a customer queues (R1).
    Team(String),
    /// One agent.
    Agent(String),
    /// An outbound call to this URI.
    External(String),
}

/// A request in one of the room's dialogs, already checked by the driver (known leg, from the
/// leg's peer, CSeq in order; ACKs never reach the machine).
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// The party hangs up.
    Bye,
    /// A re-INVITE (hold / resume / media change).
    Reinvite,
    /// An INFO: a room command, one that does not parse (why), or not our package (None).
    Info(Result<Option<RoomCommand>, String>),
    /// A REFER with its Refer-To (None: missing).
    Refer(Option<String>),
    /// OPTIONS or UPDATE (200).
    Harmless,
    /// Anything else (405).
    Other,
}

/// What the directory answered to an [`Ask`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DirReply {
    /// This agent is reserved for the call (the driver keeps their binding).
    Reserved(String),
    /// A team has nobody available.
    NobodyFree,
    /// The one agent cannot be reserved (their status).
    Unavailable(AgentStatus),
}

/// What happens to a room.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A caller's INVITE arrived for `dest`.
    Start { caller: Role, dest: Dest },
    /// The driver answered the caller early (100 + 183 with ringback on the leg asked for, its
    /// direction), or could not (status, reason).
    EarlyAnswered(Result<Direction, (u16, String)>),
    /// The caller CANCELled (establishing only).
    CallerCancelled,
    /// The server, the media engine or the directory stops (why).
    Shutdown(&'static str),
    /// The directory changed (listened to only while queued).
    DirectoryChanged,
    /// Queued while the server is overloaded, for longer than the overload bound
    /// (`security/queue_order.rs`): the call is shed with 503.
    QueueShed,
    /// The directory's answer to the last [`Ask`].
    Directory(DirReply),
    /// Progress of an INVITE the room sent (2xx: the driver keeps the response for a [`Effect::Join`]).
    Offer { offer: OfferId, input: OfferInput },
    /// The driver could not even send the INVITE of an offer (status for a caller, why).
    OfferNotSent {
        offer: OfferId,
        code: u16,
        why: String,
    },
    /// The outcome of [`Effect::Join`]: the party's media direction, or why the answer is unusable.
    Joined {
        offer: OfferId,
        result: Result<Direction, Unusable>,
    },
    /// The clock reached [`super::RoomMachine::deadline`].
    Tick,
    /// A request in a leg's dialog.
    Request { tx: TxId, leg: LegId, req: Request },
    /// The driver answered a re-INVITE the machine let through ([`Effect::AnswerReinvite`]):
    /// the leg's new direction (its stream already reconfigured).
    Reinvited {
        tx: TxId,
        leg: LegId,
        direction: Direction,
    },
    /// An agent subscribes to the room state (`refresh_zero`: `Expires: 0`).
    Subscribe {
        tx: TxId,
        user: String,
        expires_zero: bool,
    },
    /// A media event of a leg.
    Media { leg: LegId, kind: MediaEventKind },
    /// The caller never ACKed our 2xx (the driver's wait ran out): the caller is gone.
    NoAck { leg: LegId },
    /// A supervisor's INVITE to the room (their role already checked): join as `mode` (V2).
    Supervise {
        tx: TxId,
        user: String,
        mode: SuperviseMode,
    },
    /// The outcome of [`Effect::AcceptSupervisor`]: the leg's media direction, or Err when the
    /// driver had to refuse the INVITE itself (bad SDP, no RTP port).
    SupervisorJoined {
        leg: LegId,
        result: Result<Direction, ()>,
    },
}

/// Why an answer could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unusable {
    /// No dialog could be formed from it.
    NoDialog,
    /// No codec in common (the driver sent that party BYE).
    NoAudio,
}

/// How to answer a server transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The positive answer for this request: 200 OK (a re-INVITE's with our SDP answer), 202
    /// Accepted for a REFER.
    Ok,
    /// A plain status.
    Status(u16, &'static str),
    /// A refusal with a Warning the party shows.
    Refuse(u16, &'static str, String),
    /// 405 with Allow.
    NotAllowed,
}

/// The final answer to the caller's INVITE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallerReply {
    /// 200 OK with the SDP of the 183 (the call connected).
    Ok,
    /// A failure in the early dialog (our To tag).
    Final(u16, String),
    /// A failure before the early dialog (the caller could not even be answered early).
    Refused(u16, String),
}

/// What the machine asks the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ask {
    /// Reserve the next available member of `team`, not one of `exclude` (T3).
    Team { team: String, exclude: Vec<String> },
    /// Reserve this agent.
    Agent(String),
}

/// A change the machine tells the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DirOp {
    /// The reserved agent is free again.
    Release(String),
    /// The offered agent let the call ring out (after `Release`): away, missed call (S2).
    RangOut(String),
    /// The reserved agent answered.
    Answered(String),
    /// The agent calls out.
    CallStarted(String),
    /// The agent left the call.
    CallEnded(String),
    /// A supervisor left a call they listened to, whispered in or barged into: not a call they
    /// handled, so no after-call work and no new idle time (SPEC V2, issue 10).
    MonitorEnded(String),
}

/// What the INVITE of an offer says besides its target (built by `offer_invite.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteInfo {
    /// Who the offered party sees as calling.
    pub shown: Role,
    /// The team the call is for.
    pub team: Option<String>,
    /// A transfer: the requesting agent.
    pub referred_by: Option<String>,
    /// A transfer: the reason.
    pub subject: Option<String>,
    /// A transfer to listen only.
    pub listen_only: bool,
    /// A customer's call: how long the customer has waited so far (ms).
    pub waited_ms: Option<u64>,
}

/// Which subscriptions end with a [`Effect::NotifyState`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ends {
    /// Those of an agent who left.
    User(String),
    /// All (the room ends).
    All,
}

/// What the driver does, in order.
#[derive(Clone, Debug)]
pub enum Effect {
    /// Answer the caller early (RTP, SDP answer, 100 + 183, its leg `leg` with ringback), then
    /// report [`Event::EarlyAnswered`].
    AnswerEarly { leg: LegId },
    /// The final answer to the caller's INVITE.
    AnswerCaller(CallerReply),
    /// Answer a server transaction (and forget it).
    Respond { tx: TxId, reply: Reply },
    /// Ask the directory; report [`Event::Directory`].
    Ask(Ask),
    /// Tell the directory.
    Directory(DirOp),
    /// Send an INVITE offering the call (RTP session, SDP offer); its progress comes back as
    /// [`Event::Offer`], or at once [`Event::OfferNotSent`].
    StartOffer {
        offer: OfferId,
        to: Offeree,
        invite: InviteInfo,
    },
    /// CANCEL an offer's INVITE (a late 2xx comes back; the machine says [`Effect::HangUpLate`]).
    CancelOffer(OfferId),
    /// The offer was answered: ACK, accept its SDP, add leg `leg`; report [`Event::Joined`].
    Join {
        offer: OfferId,
        leg: LegId,
        listen_only: bool,
    },
    /// An abandoned offer answered 2xx after all: ACK and BYE at once.
    HangUpLate(OfferId),
    /// What a leg hears.
    SetMode { leg: LegId, mode: LegMode },
    /// Watch a leg for RTP silence (B3).
    WatchTimeout { leg: LegId, on: bool },
    /// A leg is gone: forget its dialog and media; BYE when `bye`.
    DropLeg { leg: LegId, bye: bool },
    /// Write to the call record.
    Record(RecordOp),
    /// A sipfrag NOTIFY to a transfer's requester (`last`: the subscription ends).
    Sipfrag {
        leg: LegId,
        status: String,
        last: bool,
    },
    /// Let this re-INVITE through: the driver answers the SDP (488 itself when it cannot) and
    /// reports [`Event::Reinvited`].
    AnswerReinvite { tx: TxId, leg: LegId },
    /// Accept a room state subscription (state: a first state to remember).
    AcceptSubscription {
        tx: TxId,
        user: String,
        state: Option<Box<RoomState>>,
    },
    /// The room state changed (`state`, numbered) and/or some subscriptions end: the ending
    /// ones get a final NOTIFY with the last state, then the others the new one.
    NotifyState {
        state: Option<Box<RoomState>>,
        end: Option<Ends>,
    },
    /// Answer a supervisor's INVITE (SDP answer, 200 with the room as Contact), add its leg
    /// `leg`; report [`Event::SupervisorJoined`].
    AcceptSupervisor { tx: TxId, leg: LegId },
    /// The room is over: cancel what is pending, remove the room.
    Ended(String),
}
