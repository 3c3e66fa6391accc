//! The fan-out task: sends the directory's NOTIFYs, so the directory task (which routing waits
//! on) never does. It owns the subscription dialogs (their CSeq) by Call-ID; a subscriber whose
//! NOTIFY is refused (404/481) or never answered is reported back as gone.

use std::collections::HashMap;

use agentphone_protocol::supervisor;
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::Endpoint;
use tokio::sync::mpsc;

use super::machine::{Effect, Event, SubState};
use super::Cmd;
use crate::notify;

/// The directory package's `Event` and body type.
const DIRECTORY: (&str, &str) = (super::machine::EVENT, super::machine::CONTENT_TYPE);
/// The supervisor package's.
const SUPERVISOR: (&str, &str) = (supervisor::EVENT, supervisor::CONTENT_TYPE);

/// Work queued for the fan-out task (one message per directory step, not per subscriber).
const QUEUE: usize = 256;

/// What the directory hands over.
pub enum Fanout {
    /// A new subscription's dialog (before its first NOTIFY).
    Add(Box<Dialog>),
    /// NOTIFYs to send and dialogs to forget, in order.
    Effects(Vec<Effect>),
}

/// Start the task; NOTIFY failures go back to the directory through `directory`.
pub fn spawn(endpoint: Endpoint, directory: mpsc::UnboundedSender<Cmd>) -> mpsc::Sender<Fanout> {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(run(endpoint, rx, directory));
    tx
}

async fn run(
    endpoint: Endpoint,
    mut rx: mpsc::Receiver<Fanout>,
    directory: mpsc::UnboundedSender<Cmd>,
) {
    let mut dialogs: HashMap<String, Dialog> = HashMap::new();
    while let Some(msg) = rx.recv().await {
        let effects = match msg {
            Fanout::Add(dialog) => {
                dialogs.insert(dialog.call_id.clone(), *dialog);
                continue;
            }
            Fanout::Effects(effects) => effects,
        };
        for effect in effects {
            let (id, state, body, package) = match effect {
                Effect::Notify { id, state, body } => (id, state, body, DIRECTORY),
                Effect::NotifySupervisor { id, state, body } => (id, state, body, SUPERVISOR),
                Effect::Forget { id } => {
                    dialogs.remove(&id);
                    continue;
                }
                Effect::Changed => continue,
            };
            let Some(dialog) = dialogs.get_mut(&id) else {
                continue;
            };
            let state = match state {
                SubState::Active { expires } => notify::active(expires),
                SubState::Terminated => "terminated;reason=timeout".to_string(),
            };
            let (event, content_type) = package;
            let req = notify::request(dialog, event, &state, content_type, body.to_vec());
            let tx = endpoint.request(req, dialog.peer);
            let directory = directory.clone();
            tokio::spawn(async move {
                let gone = match tx.final_response().await {
                    Ok(resp) => matches!(u16::from(resp.status_code), 404 | 481),
                    Err(_) => true,
                };
                if gone {
                    let _ = directory.send(Cmd::Subscription(Event::Gone { id }));
                }
            });
        }
    }
}
