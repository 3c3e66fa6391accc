//! The engine's state: every piece of SIP state of the phone, changed only by
//! [`Engine::handle`](super::machine) one input at a time. Its methods are spread over the files
//! of this module by concern (registration, presence, directory, outgoing, incoming, in_dialog,
//! room, transfer, …); none of them does I/O — they push [`Effect`]s.

use std::collections::VecDeque;
use std::time::Instant;

use agentphone_sip::endpoint::{Peer, TransportKind, TxError};
use agentphone_sip::{message, rsip};

use super::agent_state::AgentStateLink;
use super::call::Call;
use super::command::{PhoneCommand, PhoneError};
use super::config::{PhoneConfig, Transport};
use super::digest::DigestClient;
use super::directory::DirectoryLink;
use super::event::PhoneEvent;
use super::history::HistoryLink;
use super::machine::{Effect, Incoming, MediaOrder, RtpPorts, Surroundings};
use super::media::MediaEvent;
use super::presence::Presence;
use super::registration::Registration;
use super::room_commands::RoomCommand;
use super::subscription::Subscription;
use super::transactions::Purpose;
use super::view::PhoneView;

/// The phone's state machine.
pub struct Engine {
    pub(super) cfg: PhoneConfig,
    pub(super) here: Surroundings,
    pub(super) ports: Box<dyn RtpPorts>,
    /// Effects of the input being handled.
    pub(super) effects: Vec<Effect>,
    /// The time of the input being handled.
    pub(super) now: Instant,
    pub(super) digest: DigestClient,
    pub(super) reg: Registration,
    pub(super) presence: Presence,
    pub(super) agent_state: AgentStateLink,
    pub(super) call: Option<Call>,
    pub(super) muted: bool,
    /// The whole directory: subscribed only while wanted (the transfer modal is open).
    pub(super) directory: DirectoryLink,
    /// Subscribe to the whole directory after each registration.
    pub(super) directory_wanted: bool,
    /// My own entry of the directory (scope `self`): held while registered.
    pub(super) own: DirectoryLink,
    /// The floor, for a supervisor (V1).
    pub(super) floor: DirectoryLink,
    /// Watch the floor after each registration.
    pub(super) floor_wanted: bool,
    /// The room URI a supervisor's INVITE goes to, and how they join (V2).
    pub(super) supervise: Option<(String, agentphone_protocol::SuperviseMode)>,
    pub(super) history: HistoryLink,
    /// Call-IDs of subscriptions we ended lately (their last NOTIFY is answered 200, not 481).
    pub(super) ended_subs: VecDeque<String>,
    /// Subscriptions ended before the notifier answered: their `Expires: 0` waits for the 2xx
    /// that gives their dialog (`subscribing.rs`).
    pub(super) ending_unconfirmed: VecDeque<Subscription>,
    /// The number of the last transfer asked for.
    pub(super) transfer_seq: u64,
    /// Every event emitted, folded: what the UI shows.
    pub(super) view: PhoneView,
}

impl Engine {
    /// A machine for `cfg`, its SIP endpoint at `here.sip`, RTP ports from `ports`.
    pub fn new(
        cfg: PhoneConfig,
        here: Surroundings,
        ports: Box<dyn RtpPorts>,
        now: Instant,
    ) -> Self {
        let digest = DigestClient::new(&cfg.user, cfg.password.as_deref());
        let cfg_user = cfg.user.clone();
        Engine {
            cfg,
            here,
            ports,
            effects: Vec::new(),
            now,
            digest,
            reg: Registration::new(),
            presence: Presence::new(),
            agent_state: AgentStateLink::new(),
            call: None,
            muted: false,
            directory: DirectoryLink::default(),
            directory_wanted: false,
            own: DirectoryLink::default(),
            floor: DirectoryLink::default(),
            floor_wanted: false,
            supervise: None,
            history: HistoryLink::new(),
            ended_subs: VecDeque::new(),
            ending_unconfirmed: VecDeque::new(),
            transfer_seq: 0,
            view: PhoneView::new(&cfg_user),
        }
    }

    pub(super) fn handle_command(&mut self, cmd: PhoneCommand) -> Result<(), PhoneError> {
        match cmd {
            PhoneCommand::Register => self.register(),
            PhoneCommand::Unregister => self.unregister(),
            PhoneCommand::SetVoice(on) => self.set_voice(on),
            PhoneCommand::SetState(state) => self.set_agent_state(state),
            PhoneCommand::Dial(uri) => self.dial(&uri),
            PhoneCommand::Answer => self.answer(),
            PhoneCommand::Decline => self.decline(),
            PhoneCommand::Hangup => self.hangup(),
            PhoneCommand::Mute(on) => {
                self.muted = on;
                self.update_transmit();
                self.emit(PhoneEvent::Mute { muted: on });
                if self.in_server_room() {
                    // The others see me muted; the gate above is what keeps my audio here.
                    if let Err(e) = self.send_room_command(RoomCommand::Mute { on }) {
                        tracing::debug!("mute INFO: {e}");
                    }
                }
                Ok(())
            }
            PhoneCommand::Hold if self.in_server_room() => {
                self.send_room_command(RoomCommand::Hold)
            }
            PhoneCommand::Resume if self.in_server_room() => {
                self.send_room_command(RoomCommand::Resume)
            }
            PhoneCommand::Hold => self.hold(true),
            PhoneCommand::Resume => self.hold(false),
            PhoneCommand::Transfer {
                target,
                reason,
                listen_only,
            } => self.transfer(target, reason, listen_only),
            PhoneCommand::CancelTransfer => self.send_room_command(RoomCommand::CancelTransfer),
            PhoneCommand::CompleteTransfer => self.send_room_command(RoomCommand::CompleteTransfer),
            PhoneCommand::Dtmf(digits) => self.send_dtmf(&digits),
            PhoneCommand::WatchFloor(on) => {
                self.watch_floor(on);
                Ok(())
            }
            PhoneCommand::WatchDirectory(on) => {
                self.watch_directory(on);
                Ok(())
            }
            PhoneCommand::Supervise { room, mode } => self.supervise(&room, mode),
            PhoneCommand::FetchHistory => self.fetch_history(),
            PhoneCommand::SetDisposition { code, note } => self.set_disposition(code, note),
            // Opening a file or device is the driver's business; it never reaches the machine.
            PhoneCommand::SetAudioSource(_) | PhoneCommand::SetAudioSink(_) => Err(
                PhoneError::Invalid("audio devices are switched by the driver".into()),
            ),
        }
    }

    /// A new incoming request.
    pub(super) fn handle_request(&mut self, st: Incoming) {
        let method = *st.request.method();
        match method {
            rsip::Method::Invite => {
                if message::to_tag(&rsip::SipMessage::Request(st.request.clone())).is_some() {
                    self.on_reinvite(&st);
                } else {
                    self.on_invite(st);
                }
            }
            rsip::Method::Ack => self.on_ack(&st),
            rsip::Method::Bye => self.on_bye(&st),
            rsip::Method::Notify => self.on_notify(&st),
            rsip::Method::Info => self.on_info(&st),
            rsip::Method::Refer => self.on_refer(&st),
            rsip::Method::Options => self.respond(&st, 200, "OK", None),
            // CANCEL is answered by the endpoint and reaches us as `Input::Cancelled`.
            rsip::Method::Cancel => {}
            _ => self.respond(&st, 405, "Method Not Allowed", None),
        }
    }

    pub(super) fn handle_response(
        &mut self,
        purpose: Purpose,
        request: &rsip::Request,
        result: Result<Box<rsip::Response>, TxError>,
    ) {
        match purpose {
            Purpose::Register { expires } => self.on_register_response(expires, request, result),
            Purpose::Publish { active } => self.on_publish_response(active, request, result),
            Purpose::AgentState { state } => self.on_agent_state_response(state, result),
            Purpose::Invite { call } => self.on_invite_response(&call, request, result),
            Purpose::ReInvite { call, hold, cseq } => {
                self.on_reinvite_response(&call, hold, cseq, result)
            }
            Purpose::Subscribe {
                kind,
                call_id,
                expires,
            } => self.on_subscribe_response(kind, &call_id, expires, result),
            Purpose::Refer { call, target } => self.on_refer_response(&call, &target, result),
            Purpose::RoomCommand {
                call,
                command,
                transfer,
            } => self.on_room_command_response(&call, command, transfer, result),
            Purpose::Disposition { req } => self.on_disposition_response(req, result),
            Purpose::Hangup { in_room } => {
                // The server has taken note of my leaving once it answers: now the history has it.
                if result.as_ref().is_ok_and(|r| r.status_code.code() >= 200) {
                    self.fetch_history_after_call(in_room);
                }
            }
            Purpose::Fire => {}
        }
    }

    pub(super) fn on_media(&mut self, ev: MediaEvent) {
        match ev {
            MediaEvent::Dtmf(digit) => self.emit(PhoneEvent::Dtmf {
                digit: digit.to_string(),
            }),
            MediaEvent::Quality {
                jitter_ms,
                loss_pct,
                rtt_ms,
            } => {
                if self.call.is_some() {
                    self.emit(PhoneEvent::Quality {
                        jitter_ms,
                        loss_pct,
                        rtt_ms,
                    })
                }
            }
            MediaEvent::Silent => self.on_media_silent(),
            MediaEvent::Error(message) => self.emit(PhoneEvent::Error { message }),
        }
    }

    /// The earliest time something is due (refresh, retry, subscribe); None = nothing.
    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.reg.deadline(),
            self.presence.deadline(),
            self.directory.deadline(),
            self.own.deadline(),
            self.floor.deadline(),
            self.room_deadline(),
            self.call_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub(super) fn on_timer(&mut self, now: Instant) {
        if self.reg.deadline().is_some_and(|d| d <= now) {
            self.on_register_timer();
        }
        if self.presence.deadline().is_some_and(|d| d <= now) {
            self.on_publish_timer();
        }
        self.on_directory_timer(now);
        self.on_room_timer(now);
        self.on_call_timer(now);
    }

    // ---- shared helpers -------------------------------------------------------------------

    /// An event for the UI.
    pub(super) fn emit(&mut self, ev: PhoneEvent) {
        match &ev {
            // Whole documents: a line, not the document (5 000 agents at every change).
            PhoneEvent::Directory {
                version,
                agents,
                teams,
                ..
            } => tracing::debug!(
                version,
                agents = agents.len(),
                teams = teams.len(),
                "directory"
            ),
            PhoneEvent::Floor { floor } => tracing::debug!(version = floor.version, "floor"),
            _ => tracing::info!(?ev, "event"),
        }
        self.view.apply(&ev, self.now);
        self.effects.push(Effect::Emit(ev));
    }

    /// The phone's folded state after the last input.
    pub fn view(&self) -> &PhoneView {
        &self.view
    }

    /// Start a client transaction; its responses come back as `Input::Response`.
    pub(super) fn send_request(&mut self, request: rsip::Request, peer: Peer, purpose: Purpose) {
        tracing::debug!(method = %request.method(), uri = %request.uri(), peer = %peer.addr, "sending");
        self.effects.push(Effect::Send {
            request,
            peer,
            purpose,
        });
    }

    /// The server as a SIP peer.
    pub(super) fn server_peer(&self) -> Result<Peer, PhoneError> {
        let addr = self.cfg.server.ok_or(PhoneError::NoServer)?;
        Ok(Peer {
            addr,
            transport: self.transport_kind(),
        })
    }

    pub(super) fn transport_kind(&self) -> TransportKind {
        match self.cfg.transport {
            Transport::Udp => TransportKind::Udp,
            Transport::Tcp => TransportKind::Tcp,
            Transport::Tls => TransportKind::Tls,
        }
    }

    /// Our Contact URI: `sip:user@IP:PORT` (with `;transport=tcp` over TCP, `;transport=tls`
    /// over TLS: the server reaches us over our own connection either way).
    pub(super) fn contact_uri(&self) -> String {
        let addr = std::net::SocketAddr::new(self.media_ip(), self.here.sip.port());
        let mut uri = format!("sip:{}@{}", self.cfg.user, addr);
        match self.cfg.transport {
            Transport::Tcp => uri.push_str(";transport=tcp"),
            Transport::Tls => uri.push_str(";transport=tls"),
            Transport::Udp => {}
        }
        uri
    }

    /// The IP we announce (Contact, SDP) and bind RTP to.
    pub(super) fn media_ip(&self) -> std::net::IpAddr {
        self.here.media_ip
    }

    /// Stop the media thread's part of a call bound at `local` that never started.
    pub(super) fn release_port(&mut self, local: std::net::SocketAddr) {
        self.media_send(MediaOrder::Release(local));
    }
}
