//! The engine actor: one task that owns every piece of SIP state and serializes all work on it.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use agentphone_sip::endpoint::{Endpoint, Peer, ServerTransaction, TransportKind};
use agentphone_sip::{message, rsip};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::call::Call;
use super::command::{PhoneCommand, PhoneError};
use super::config::{PhoneConfig, Transport};
use super::digest::DigestClient;
use super::directory::DirectoryLink;
use super::event::PhoneEvent;
use super::handle::Request;
use super::media::{MediaEvent, MediaThread};
use super::presence::Presence;
use super::registration::Registration;
use super::room_commands::RoomCommand;
use super::sip_util;
use super::transactions::{spawn_forwarder, Internal, Purpose};

/// The actor's state. Its methods are spread over the files of this module by concern
/// (registration, presence, directory, outgoing, incoming, in_dialog, room, transfer, …).
pub(super) struct Engine {
    pub(super) cfg: PhoneConfig,
    pub(super) endpoint: Endpoint,
    pub(super) events: UnboundedSender<PhoneEvent>,
    pub(super) internal: UnboundedSender<Internal>,
    pub(super) media: Option<MediaThread>,
    pub(super) digest: DigestClient,
    pub(super) reg: Registration,
    pub(super) presence: Presence,
    pub(super) call: Option<Call>,
    pub(super) muted: bool,
    pub(super) directory: DirectoryLink,
    /// Call-IDs of subscriptions we ended lately (their last NOTIFY is answered 200, not 481).
    pub(super) ended_subs: VecDeque<String>,
    /// The number of the last transfer asked for.
    pub(super) transfer_seq: u64,
}

impl Engine {
    pub(super) fn new(
        cfg: PhoneConfig,
        endpoint: Endpoint,
        events: UnboundedSender<PhoneEvent>,
        internal: UnboundedSender<Internal>,
        media: MediaThread,
    ) -> Self {
        let digest = DigestClient::new(&cfg.user, cfg.password.as_deref());
        Engine {
            cfg,
            endpoint,
            events,
            internal,
            media: Some(media),
            digest,
            reg: Registration::new(),
            presence: Presence::new(),
            call: None,
            muted: false,
            directory: DirectoryLink::default(),
            ended_subs: VecDeque::new(),
            transfer_seq: 0,
        }
    }

    pub(super) async fn run(
        mut self,
        mut commands: mpsc::Receiver<Request>,
        mut incoming: mpsc::Receiver<ServerTransaction>,
        mut internal: UnboundedReceiver<Internal>,
    ) {
        self.emit(PhoneEvent::Ready {
            sip: self.endpoint.local_addr().to_string(),
        });
        let shutdown_reply = loop {
            let deadline = self.next_deadline();
            tokio::select! {
                req = commands.recv() => match req {
                    Some(Request::Command(cmd, reply)) => {
                        let result = self.handle_command(cmd).await;
                        let _ = reply.send(result);
                    }
                    Some(Request::Shutdown(reply)) => break Some(reply),
                    None => break None,
                },
                st = incoming.recv() => match st {
                    Some(st) => self.handle_request(st).await,
                    None => {
                        self.emit(PhoneEvent::Error { message: "SIP endpoint closed".into() });
                        break None;
                    }
                },
                Some(msg) = internal.recv() => self.handle_internal(msg).await,
                _ = sleep_until_opt(deadline) => self.on_timer().await,
            }
        };
        if let Some(media) = self.media.take() {
            // Joining a std thread: keep it off the async workers.
            let _ = tokio::task::spawn_blocking(move || media.shutdown()).await;
        }
        self.endpoint.shutdown();
        if let Some(reply) = shutdown_reply {
            let _ = reply.send(());
        }
    }

    async fn handle_command(&mut self, cmd: PhoneCommand) -> Result<(), PhoneError> {
        match cmd {
            PhoneCommand::Register => self.register(),
            PhoneCommand::Unregister => self.unregister(),
            PhoneCommand::SetVoice(on) => self.set_voice(on),
            PhoneCommand::Dial(uri) => self.dial(&uri),
            PhoneCommand::Answer => self.answer().await,
            PhoneCommand::Decline => self.decline().await,
            PhoneCommand::Hangup => self.hangup().await,
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
            PhoneCommand::SetAudioSource(spec) => {
                let source = spec.open().map_err(|e| PhoneError::Audio(e.to_string()))?;
                self.media_send(super::media::MediaControl::Source(source));
                Ok(())
            }
            PhoneCommand::SetAudioSink(spec) => {
                let sink = spec.open().map_err(|e| PhoneError::Audio(e.to_string()))?;
                self.media_send(super::media::MediaControl::Sink(sink));
                Ok(())
            }
        }
    }

    /// A new incoming request (in its server transaction).
    async fn handle_request(&mut self, st: ServerTransaction) {
        let method = *st.request.method();
        let st = Arc::new(st);
        match method {
            rsip::Method::Invite => {
                if message::to_tag(&rsip::SipMessage::Request(st.request.clone())).is_some() {
                    self.on_reinvite(st).await;
                } else {
                    self.on_invite(st).await;
                }
            }
            rsip::Method::Ack => self.on_ack(&st),
            rsip::Method::Bye => self.on_bye(&st).await,
            rsip::Method::Notify => self.on_notify(st).await,
            rsip::Method::Info => self.on_info(&st).await,
            rsip::Method::Refer => self.on_refer(&st).await,
            rsip::Method::Options => respond(&st, 200, "OK", None).await,
            // CANCEL is answered by the endpoint and reaches us through `cancelled()`.
            rsip::Method::Cancel => {}
            _ => respond(&st, 405, "Method Not Allowed", None).await,
        }
    }

    async fn handle_internal(&mut self, msg: Internal) {
        match msg {
            Internal::Response {
                purpose,
                request,
                result,
            } => match purpose {
                Purpose::Register { expires } => {
                    self.on_register_response(expires, &request, result)
                }
                Purpose::Publish { active } => self.on_publish_response(active, &request, result),
                Purpose::Invite { call } => self.on_invite_response(&call, &request, result).await,
                Purpose::ReInvite { call, hold, cseq } => {
                    self.on_reinvite_response(&call, hold, cseq, result).await
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
                Purpose::Fire => {}
            },
            Internal::Cancelled { call } => self.on_cancelled(&call).await,
            Internal::Media(MediaEvent::Dtmf(digit)) => self.emit(PhoneEvent::Dtmf {
                digit: digit.to_string(),
            }),
            Internal::Media(MediaEvent::Quality {
                jitter_ms,
                loss_pct,
                rtt_ms,
            }) => {
                if self.call.is_some() {
                    self.emit(PhoneEvent::Quality {
                        jitter_ms,
                        loss_pct,
                        rtt_ms,
                    })
                }
            }
            Internal::Media(MediaEvent::Silent) => self.on_media_silent().await,
            Internal::Media(MediaEvent::Error(message)) => self.emit(PhoneEvent::Error { message }),
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let room_refresh = self.room_deadline();
        [
            self.reg.deadline(),
            self.presence.deadline(),
            self.directory.deadline(),
            room_refresh,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    async fn on_timer(&mut self) {
        let now = Instant::now();
        if self.reg.deadline().is_some_and(|d| d <= now) {
            self.on_register_timer();
        }
        if self.presence.deadline().is_some_and(|d| d <= now) {
            self.on_publish_timer();
        }
        if self.directory.deadline().is_some_and(|d| d <= now) {
            self.on_directory_timer();
        }
        self.on_room_timer(now);
    }

    // ---- shared helpers -------------------------------------------------------------------

    /// Send an event to the UI (dropped when nobody listens any more).
    pub(super) fn emit(&self, ev: PhoneEvent) {
        tracing::info!(?ev, "event");
        let _ = self.events.send(ev);
    }

    pub(super) fn media_send(&self, msg: super::media::MediaControl) {
        if let Some(m) = &self.media {
            m.send(msg);
        }
    }

    /// Start a client transaction; its responses come back as `Internal::Response`.
    pub(super) fn send_request(
        &self,
        req: rsip::Request,
        peer: Peer,
        purpose: Purpose,
        cancel: Option<oneshot::Receiver<()>>,
    ) {
        tracing::debug!(method = %req.method(), uri = %req.uri(), peer = %peer.addr, "sending");
        let tx = self.endpoint.request(req, peer);
        spawn_forwarder(
            tx,
            purpose,
            self.endpoint.clone(),
            self.internal.clone(),
            cancel,
        );
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
        }
    }

    /// Our Contact URI: `sip:user@IP:PORT` (with `;transport=tcp` over TCP).
    pub(super) fn contact_uri(&self) -> String {
        let port = self.endpoint.local_addr().port();
        let addr = SocketAddr::new(self.media_ip(), port);
        let mut uri = format!("sip:{}@{}", self.cfg.user, addr);
        if self.cfg.transport == Transport::Tcp {
            uri.push_str(";transport=tcp");
        }
        uri
    }

    /// The IP we announce (Contact, SDP) and bind RTP to: the bound IP, or — bound to a wildcard —
    /// the local IP of the route to the server (127.0.0.1 without a server).
    pub(super) fn media_ip(&self) -> IpAddr {
        let ip = self.endpoint.local_addr().ip();
        if !ip.is_unspecified() {
            return ip;
        }
        self.cfg
            .server
            .and_then(sip_util::route_ip)
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }
}

/// Send a response without a body (errors only logged: the peer retransmits if it cares).
pub(super) async fn respond(st: &ServerTransaction, code: u16, reason: &str, to_tag: Option<&str>) {
    let resp = message::response(&st.request, code, reason, to_tag);
    if let Err(e) = st.respond(resp).await {
        tracing::warn!("sending {code} {reason}: {e}");
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
