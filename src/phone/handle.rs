//! The way in: [`Phone::start`] and the [`PhoneHandle`] that sends commands to the engine.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use agentphone_sip::endpoint::{Endpoint, EndpointConfig};
use agentphone_sip::tls::{TlsClient, TlsSettings};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::{oneshot, watch};

use super::command::{PhoneCommand, PhoneError};
use super::config::PhoneConfig;
use super::driver::{Driver, SocketPorts};
use super::engine::Engine;
use super::event::PhoneEvent;
use super::machine::{Input, Surroundings};
use super::media::{MediaEvent, MediaThread};
use super::sip_util;
use super::view::PhoneView;

type Reply = oneshot::Sender<Result<(), PhoneError>>;

/// What the handle asks the engine.
pub(super) enum Request {
    Command(PhoneCommand, Reply),
    Shutdown(oneshot::Sender<()>),
}

/// Starts Phone engines.
pub struct Phone;

/// Sends commands to a running engine. Cheap to clone.
#[derive(Clone)]
pub struct PhoneHandle {
    tx: mpsc::Sender<Request>,
    view: watch::Receiver<PhoneView>,
}

impl PhoneHandle {
    /// Run a command. Returns once the engine has acted on it (every event it caused at once is
    /// already in the event channel), or why it was refused.
    pub async fn command(&self, cmd: PhoneCommand) -> Result<(), PhoneError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Command(cmd, reply))
            .await
            .map_err(|_| PhoneError::Stopped)?;
        rx.await.map_err(|_| PhoneError::Stopped)?
    }

    /// The phone's folded state, published by the engine after every input that changed it
    /// (before the events of that input are sent).
    pub fn view(&self) -> watch::Receiver<PhoneView> {
        self.view.clone()
    }

    /// Stop the engine: the media thread is joined (a recording is complete) and the SIP
    /// endpoint closed. Does not hang up or unregister first — do that with commands.
    pub async fn shutdown(&self) {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Request::Shutdown(reply)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

impl Phone {
    /// Bind the SIP endpoint, open the audio source and sink, start the engine. The first event
    /// is `Ready` with the local SIP address.
    pub async fn start(
        config: PhoneConfig,
    ) -> Result<(PhoneHandle, UnboundedReceiver<PhoneEvent>), PhoneError> {
        let source = config
            .source
            .open()
            .map_err(|e| PhoneError::Audio(e.to_string()))?;
        let sink = config
            .sink
            .open()
            .map_err(|e| PhoneError::Audio(e.to_string()))?;
        let endpoint_config = EndpointConfig {
            timers: config.sip_timers,
            tls: tls_settings(&config)?,
            ..EndpointConfig::default()
        };
        let (endpoint, incoming) =
            Endpoint::bind_with(SocketAddr::new(config.bind, 0), endpoint_config)
                .await
                .map_err(|e| PhoneError::Network(format!("binding SIP on {}: {e}", config.bind)))?;
        let (inputs_tx, inputs_rx) = mpsc::unbounded_channel();
        let (media_tx, media_rx) = mpsc::unbounded_channel();
        let media = MediaThread::spawn(source, sink, media_tx)
            .map_err(|e| PhoneError::Audio(format!("starting the media thread: {e}")))?;
        forward_media_events(media_rx, inputs_tx.clone());

        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        let here = Surroundings {
            sip: endpoint.local_addr(),
            media_ip: media_ip(&config, endpoint.local_addr()),
        };
        let (ports, bound) = SocketPorts::new();
        let (view_tx, view_rx) = watch::channel(PhoneView::new(&config.user));
        let engine = Engine::new(config, here, Box::new(ports), Instant::now());
        let driver = Driver::new(endpoint, media, events_tx, view_tx, inputs_tx, bound);
        tokio::spawn(driver.run(engine, cmd_rx, incoming, inputs_rx));
        let handle = PhoneHandle {
            tx: cmd_tx,
            view: view_rx,
        };
        Ok((handle, events_rx))
    }
}

/// Over TLS: trust the configured CA (or the system's) and expect the server's certificate to
/// name `tls_server_name`, else `domain`, else the server's IP.
fn tls_settings(config: &PhoneConfig) -> Result<TlsSettings, PhoneError> {
    if config.transport != super::config::Transport::Tls {
        return Ok(TlsSettings::default());
    }
    let tls_error = |e: agentphone_sip::tls::TlsError| PhoneError::Network(format!("TLS: {e}"));
    let roots = agentphone_sip::tls::client_config(config.tls_ca.as_deref()).map_err(tls_error)?;
    let name = config
        .tls_server_name
        .clone()
        .or_else(|| config.domain.clone())
        .or_else(|| config.server.map(|s| s.ip().to_string()));
    let server_name = match name {
        Some(n) => Some(agentphone_sip::tls::server_name(&n).map_err(tls_error)?),
        None => None,
    };
    Ok(TlsSettings {
        listen: None,
        client: Some(TlsClient {
            config: roots,
            server_name,
        }),
    })
}

/// The IP we announce (Contact, SDP) and bind RTP to: the bound IP, or — bound to a wildcard —
/// the local IP of the route to the server (127.0.0.1 without a server).
fn media_ip(cfg: &PhoneConfig, sip: SocketAddr) -> IpAddr {
    let ip = sip.ip();
    if !ip.is_unspecified() {
        return ip;
    }
    cfg.server
        .and_then(sip_util::route_ip)
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

fn forward_media_events(mut rx: UnboundedReceiver<MediaEvent>, to: UnboundedSender<Input>) {
    tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            if to.send(Input::Media(ev)).is_err() {
                break;
            }
        }
    });
}
