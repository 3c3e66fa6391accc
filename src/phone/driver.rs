//! The thin tokio driver around the engine machine: it owns the SIP endpoint, the media thread,
//! the server transactions and the RTP sockets, feeds every input to [`Engine::handle`] and
//! carries out the effects. One loop, one sleep until the machine's next deadline.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use agentphone_media::session::RtpSession;
use agentphone_sip::endpoint::{Endpoint, ServerTransaction};
use agentphone_sip::{message, rsip};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::{oneshot, watch};
use tokio::task::AbortHandle;

use super::command::{PhoneCommand, PhoneError};
use super::engine::Engine;
use super::event::PhoneEvent;
use super::handle::Request;
use super::machine::{Effect, Incoming, Input, MediaOrder, RtpPorts, TxId};
use super::media::{MediaControl, MediaEvent, MediaThread};
use super::transactions::{spawn_forwarder, Purpose};
use super::view::PhoneView;

/// Requests waiting for our final response at most; past it, new ones get 503.
const OPEN_TRANSACTIONS_MAX: usize = 256;
/// RTP ports bound and not yet started at most (one call at a time, plus slack).
const PORTS_MAX: usize = 8;

/// RTP sessions bound for calls whose media has not started yet.
type BoundSessions = Arc<Mutex<HashMap<SocketAddr, Box<RtpSession>>>>;

/// Binds real RTP sockets; the driver hands them to the media thread on `MediaOrder::Start`.
pub(super) struct SocketPorts {
    bound: BoundSessions,
}

impl SocketPorts {
    pub(super) fn new() -> (SocketPorts, BoundSessions) {
        let bound = BoundSessions::default();
        (
            SocketPorts {
                bound: bound.clone(),
            },
            bound,
        )
    }
}

impl RtpPorts for SocketPorts {
    fn bind(&mut self, ip: IpAddr) -> std::io::Result<SocketAddr> {
        let mut bound = self.bound.lock().unwrap_or_else(|e| e.into_inner());
        if bound.len() >= PORTS_MAX {
            return Err(std::io::Error::other("too many RTP ports bound"));
        }
        let rtp = RtpSession::bind(ip)?;
        let local = rtp.local_addr();
        bound.insert(local, Box::new(rtp));
        Ok(local)
    }
}

/// A server transaction waiting for our final response, and its CANCEL watcher (INVITE).
struct OpenTx {
    st: Arc<ServerTransaction>,
    watcher: Option<AbortHandle>,
}

/// Everything the driver owns.
pub(super) struct Driver {
    pub(super) endpoint: Endpoint,
    pub(super) media: Option<MediaThread>,
    pub(super) events: UnboundedSender<PhoneEvent>,
    pub(super) view: watch::Sender<PhoneView>,
    pub(super) inputs: UnboundedSender<Input>,
    pub(super) ports: BoundSessions,
    open: HashMap<TxId, OpenTx>,
    next_tx: TxId,
    /// Pending outgoing INVITEs by Call-ID: sending fires their CANCEL.
    cancels: HashMap<String, oneshot::Sender<()>>,
}

impl Driver {
    pub(super) fn new(
        endpoint: Endpoint,
        media: MediaThread,
        events: UnboundedSender<PhoneEvent>,
        view: watch::Sender<PhoneView>,
        inputs: UnboundedSender<Input>,
        ports: BoundSessions,
    ) -> Self {
        Driver {
            endpoint,
            media: Some(media),
            events,
            view,
            inputs,
            ports,
            open: HashMap::new(),
            next_tx: 0,
            cancels: HashMap::new(),
        }
    }

    pub(super) async fn run(
        mut self,
        mut engine: Engine,
        mut commands: mpsc::Receiver<Request>,
        mut incoming: mpsc::Receiver<ServerTransaction>,
        mut inputs: UnboundedReceiver<Input>,
    ) {
        let start = engine.handle(Input::Start, Instant::now());
        self.publish(&engine);
        self.apply(start, None).await;
        let shutdown_reply = 'main: loop {
            let deadline = engine.next_deadline();
            let (input, reply) = tokio::select! {
                req = commands.recv() => match req {
                    Some(Request::Command(cmd, reply)) => match self.audio_command(cmd) {
                        Ok(result) => {
                            let _ = reply.send(result);
                            continue;
                        }
                        Err(cmd) => (Input::Command(cmd), Some(reply)),
                    },
                    Some(Request::Shutdown(reply)) => break Some(reply),
                    None => break None,
                },
                st = incoming.recv() => match st {
                    Some(st) => {
                        let cancelled = self.cancelled_invites().await;
                        let Some(req) = self.open_request(st).await else {
                            continue;
                        };
                        // A CANCEL that came before this request is handled before it.
                        for input in cancels_first(cancelled, req) {
                            if self.step(&mut engine, input, None).await {
                                break 'main None;
                            }
                        }
                        continue;
                    }
                    None => (Input::EndpointClosed, None),
                },
                Some(input) = inputs.recv() => (input, None),
                _ = sleep_until_opt(deadline) => (Input::Timer, None),
            };
            if self.step(&mut engine, input, reply).await {
                break None;
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

    /// Hand one input to the machine and carry out its effects. True = stop.
    async fn step(
        &mut self,
        engine: &mut Engine,
        input: Input,
        reply: Option<oneshot::Sender<Result<(), PhoneError>>>,
    ) -> bool {
        if let Input::Response {
            purpose: Purpose::Invite { call },
            result,
            ..
        } = &input
        {
            let is_final = result
                .as_ref()
                .map_or(true, |r| r.status_code.code() >= 200);
            if is_final {
                self.cancels.remove(call);
            }
        }
        let effects = engine.handle(input, Instant::now());
        // The view first: whoever sees an event of this input sees the view after it.
        self.publish(engine);
        self.apply(effects, reply).await
    }

    /// The open INVITEs whose CANCEL the endpoint has already received. Their watchers report
    /// it too, but through a task of their own: a request that came after the CANCEL must not
    /// overtake it (a new INVITE would find the cancelled call still ringing and get 486).
    async fn cancelled_invites(&self) -> Vec<TxId> {
        let mut fired = Vec::new();
        for (tx, open) in &self.open {
            if open.watcher.is_some() && cancel_fired(&open.st).await {
                fired.push(*tx);
            }
        }
        fired.sort_unstable();
        fired
    }

    fn publish(&self, engine: &Engine) {
        self.view.send_if_modified(|shown| {
            let changed = shown != engine.view();
            if changed {
                shown.clone_from(engine.view());
            }
            changed
        });
    }

    /// Switching the audio source or sink opens a file or device: the driver's job. Other
    /// commands are handed back for the machine.
    fn audio_command(&self, cmd: PhoneCommand) -> Result<Result<(), PhoneError>, PhoneCommand> {
        let control = match cmd {
            PhoneCommand::SetAudioSource(spec) => spec.open().map(MediaControl::Source),
            PhoneCommand::SetAudioSink(spec) => spec.open().map(MediaControl::Sink),
            other => return Err(other),
        };
        Ok(match control {
            Ok(control) => {
                self.media_control(control);
                Ok(())
            }
            Err(e) => Err(PhoneError::Audio(e.to_string())),
        })
    }

    /// Keep a new request's transaction until the machine answers it; an INVITE's CANCEL is
    /// watched meanwhile.
    async fn open_request(&mut self, st: ServerTransaction) -> Option<Incoming> {
        self.next_tx += 1;
        let tx = self.next_tx;
        let incoming = Incoming {
            tx,
            request: st.request.clone(),
            peer: st.peer,
        };
        let method = *st.request.method();
        let msg = rsip::SipMessage::Request(st.request.clone());
        tracing::debug!(
            tx,
            %method,
            call_id = message::call_id(&msg).unwrap_or_default(),
            cseq = message::cseq(&msg).map_or(0, |(n, _)| n),
            peer = %st.peer.addr,
            "received"
        );
        if matches!(method, rsip::Method::Ack | rsip::Method::Cancel) {
            return Some(incoming); // nothing to respond on
        }
        if self.open.len() >= OPEN_TRANSACTIONS_MAX {
            tracing::warn!("too many open requests, answering 503");
            let busy = message::response(&st.request, 503, "Service Unavailable", None);
            let _ = st.respond(busy).await;
            return None;
        }
        let st = Arc::new(st);
        let new_invite = method == rsip::Method::Invite
            && message::to_tag(&rsip::SipMessage::Request(st.request.clone())).is_none();
        let watcher = new_invite.then(|| {
            let watched = st.clone();
            let inputs = self.inputs.clone();
            tokio::spawn(async move {
                watched.cancelled().await;
                let _ = inputs.send(Input::Cancelled { tx });
            })
            .abort_handle()
        });
        self.open.insert(tx, OpenTx { st, watcher });
        Some(incoming)
    }

    /// Carry out the effects in order; the command's reply goes last. True = stop.
    async fn apply(
        &mut self,
        effects: Vec<Effect>,
        mut reply: Option<oneshot::Sender<Result<(), PhoneError>>>,
    ) -> bool {
        let mut stop = false;
        for effect in effects {
            match effect {
                Effect::Respond { tx, response } => self.respond(tx, response).await,
                Effect::Send {
                    request,
                    peer,
                    purpose,
                } => {
                    let cancel = match &purpose {
                        Purpose::Invite { call } => {
                            let (tx, rx) = oneshot::channel();
                            self.cancels.insert(call.clone(), tx);
                            Some(rx)
                        }
                        _ => None,
                    };
                    let tx = self.endpoint.request(request, peer);
                    spawn_forwarder(
                        tx,
                        purpose,
                        self.endpoint.clone(),
                        self.inputs.clone(),
                        cancel,
                    );
                }
                Effect::CancelInvite { call } => {
                    if let Some(cancel) = self.cancels.remove(&call) {
                        let _ = cancel.send(());
                    }
                }
                Effect::Ack { request, peer } => {
                    if let Err(e) = self.endpoint.ack(request, peer).await {
                        tracing::warn!("sending ACK: {e}");
                    }
                }
                Effect::Media(order) => self.media_order(order),
                Effect::Emit(ev) => {
                    let _ = self.events.send(ev);
                }
                Effect::Reply(result) => {
                    if let Some(reply) = reply.take() {
                        let _ = reply.send(result);
                    }
                }
                Effect::Stop => stop = true,
            }
        }
        stop
    }

    async fn respond(&mut self, tx: TxId, response: rsip::Response) {
        let code = response.status_code.code();
        tracing::debug!(tx, code, "responding");
        let Some(open) = self.open.get(&tx) else {
            tracing::debug!(tx, code, "response for a transaction no longer open");
            return;
        };
        let st = open.st.clone();
        if code >= 200 {
            if let Some(watcher) = self.open.remove(&tx).and_then(|o| o.watcher) {
                watcher.abort();
            }
        }
        if let Err(e) = st.respond(response).await {
            tracing::warn!("sending {code}: {e}");
        }
    }

    fn media_order(&mut self, order: MediaOrder) {
        let control = match order {
            MediaOrder::Start { local, config } => {
                let taken = self
                    .ports
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&local);
                let Some(mut rtp) = taken else {
                    tracing::warn!(%local, "no RTP session bound there");
                    return;
                };
                if let Err(e) = rtp.configure(config) {
                    let _ = self
                        .inputs
                        .send(Input::Media(MediaEvent::Error(format!("media: {e}"))));
                    return;
                }
                MediaControl::Start(rtp)
            }
            MediaOrder::Release(local) => {
                self.ports
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&local);
                return;
            }
            MediaOrder::Configure(cfg) => MediaControl::Configure(cfg),
            MediaOrder::Transmit(on) => MediaControl::Transmit(on),
            MediaOrder::Watch(limit) => MediaControl::Watch(limit),
            MediaOrder::Dtmf(digits) => MediaControl::Dtmf(digits),
            MediaOrder::Stop => MediaControl::Stop,
        };
        self.media_control(control);
    }

    fn media_control(&self, control: MediaControl) {
        if let Some(m) = &self.media {
            m.send(control);
        }
    }
}

/// The inputs for a new request: first the cancels that came before it.
pub(super) fn cancels_first(cancelled: Vec<TxId>, request: Incoming) -> Vec<Input> {
    let mut inputs: Vec<Input> = cancelled
        .into_iter()
        .map(|tx| Input::Cancelled { tx })
        .collect();
    inputs.push(Input::Request(request));
    inputs
}

/// Whether the CANCEL of `st` has come (without waiting for it).
async fn cancel_fired(st: &ServerTransaction) -> bool {
    tokio::select! {
        biased;
        _ = st.cancelled() => true,
        _ = std::future::ready(()) => false,
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}
