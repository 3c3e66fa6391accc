//! The way in: [`Phone::start`] and the [`PhoneHandle`] that sends commands to the engine.

use std::net::SocketAddr;

use agentphone_sip::endpoint::Endpoint;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::oneshot;

use super::command::{PhoneCommand, PhoneError};
use super::config::PhoneConfig;
use super::engine::Engine;
use super::event::PhoneEvent;
use super::media::{MediaEvent, MediaThread};
use super::transactions::Internal;

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
        let (endpoint, incoming) =
            Endpoint::bind(SocketAddr::new(config.bind, 0), config.sip_timers)
                .await
                .map_err(|e| PhoneError::Network(format!("binding SIP on {}: {e}", config.bind)))?;
        let (internal_tx, internal_rx) = mpsc::unbounded_channel();
        let (media_tx, media_rx) = mpsc::unbounded_channel();
        let media = MediaThread::spawn(source, sink, media_tx)
            .map_err(|e| PhoneError::Audio(format!("starting the media thread: {e}")))?;
        forward_media_events(media_rx, internal_tx.clone());

        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        let engine = Engine::new(config, endpoint, events_tx, internal_tx, media);
        tokio::spawn(engine.run(cmd_rx, incoming, internal_rx));
        Ok((PhoneHandle { tx: cmd_tx }, events_rx))
    }
}

fn forward_media_events(mut rx: UnboundedReceiver<MediaEvent>, to: UnboundedSender<Internal>) {
    tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            if to.send(Internal::Media(ev)).is_err() {
                break;
            }
        }
    });
}
