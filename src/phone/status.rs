//! What the phone looks like from outside, folded from its events: the answer to "are we
//! registered / in a call / muted?" for a UI or a script's `expect`.

use super::event::{CallState, PhoneEvent};

/// A summary of the phone's state, kept up to date by [`PhoneStatus::apply`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PhoneStatus {
    /// Registered with the server.
    pub registered: bool,
    /// The server is unreachable and we retry.
    pub offline: bool,
    /// Voice channel active (as accepted by the server).
    pub voice_active: bool,
    /// The current call: id, state and whether it is incoming.
    pub call: Option<CallStatus>,
    /// Microphone muted.
    pub muted: bool,
}

/// The current call as seen from outside.
#[derive(Clone, Debug, PartialEq)]
pub struct CallStatus {
    /// Call id.
    pub id: String,
    /// Last state.
    pub state: CallState,
    /// It rang here (vs. we dialled).
    pub incoming: bool,
}

impl PhoneStatus {
    /// Fold one event in.
    pub fn apply(&mut self, ev: &PhoneEvent) {
        match ev {
            PhoneEvent::Registered { .. } => {
                self.registered = true;
                self.offline = false;
            }
            PhoneEvent::RegistrationFailed { .. } | PhoneEvent::Unregistered { .. } => {
                self.registered = false;
            }
            PhoneEvent::Offline { .. } => {
                self.registered = false;
                self.offline = true;
            }
            PhoneEvent::Voice { active } => self.voice_active = *active,
            PhoneEvent::IncomingCall { call, .. } => {
                self.call = Some(CallStatus {
                    id: call.clone(),
                    state: CallState::Ringing,
                    incoming: true,
                });
            }
            PhoneEvent::CallState { call, state, .. } => {
                if *state == CallState::Ended {
                    if self.call.as_ref().is_some_and(|c| &c.id == call) {
                        self.call = None;
                        self.muted = false;
                    }
                } else {
                    match self.call.as_mut().filter(|c| &c.id == call) {
                        Some(c) => c.state = *state,
                        None => {
                            self.call = Some(CallStatus {
                                id: call.clone(),
                                state: *state,
                                incoming: false,
                            })
                        }
                    }
                }
            }
            PhoneEvent::Mute { muted } => self.muted = *muted,
            _ => {}
        }
    }

    /// No call.
    pub fn is_idle(&self) -> bool {
        self.call.is_none()
    }

    /// An incoming call rings here.
    pub fn is_ringing(&self) -> bool {
        self.call
            .as_ref()
            .is_some_and(|c| c.incoming && c.state == CallState::Ringing)
    }

    /// We dialled and nobody answered yet.
    pub fn is_calling(&self) -> bool {
        self.call.as_ref().is_some_and(|c| {
            !c.incoming
                && matches!(
                    c.state,
                    CallState::Calling | CallState::Ringing | CallState::Early
                )
        })
    }

    /// In a call (including the far end holding us).
    pub fn is_connected(&self) -> bool {
        self.call
            .as_ref()
            .is_some_and(|c| matches!(c.state, CallState::Connected | CallState::RemoteHeld))
    }

    /// I hold the call.
    pub fn is_held(&self) -> bool {
        self.call
            .as_ref()
            .is_some_and(|c| c.state == CallState::Held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(call: &str, state: CallState) -> PhoneEvent {
        PhoneEvent::CallState {
            call: call.into(),
            state,
            reason: None,
        }
    }

    #[test]
    fn outgoing_call_goes_calling_connected_held_idle() {
        let mut s = PhoneStatus::default();
        assert!(s.is_idle());
        s.apply(&state("a", CallState::Calling));
        assert!(s.is_calling() && !s.is_ringing());
        s.apply(&state("a", CallState::Ringing));
        assert!(s.is_calling(), "remote ringing is still calling");
        s.apply(&state("a", CallState::Connected));
        assert!(s.is_connected());
        s.apply(&state("a", CallState::Held));
        assert!(s.is_held() && !s.is_connected());
        s.apply(&PhoneEvent::Mute { muted: true });
        assert!(s.muted);
        s.apply(&state("a", CallState::Ended));
        assert!(s.is_idle() && !s.muted);
    }

    #[test]
    fn incoming_call_rings_then_connects() {
        let mut s = PhoneStatus::default();
        s.apply(&PhoneEvent::IncomingCall {
            call: "b".into(),
            from: "sip:x@y".into(),
            display: None,
            team: None,
            reason: None,
            transferred_by: None,
            listen_only: false,
        });
        assert!(s.is_ringing() && !s.is_calling());
        s.apply(&state("b", CallState::Connected));
        assert!(s.is_connected() && !s.is_ringing());
    }

    #[test]
    fn ended_event_of_another_call_keeps_the_current_one() {
        let mut s = PhoneStatus::default();
        s.apply(&state("a", CallState::Connected));
        s.apply(&state("old", CallState::Ended));
        assert!(s.is_connected());
    }

    #[test]
    fn registration_follows_events() {
        let mut s = PhoneStatus::default();
        s.apply(&PhoneEvent::Registered { user: "u".into() });
        assert!(s.registered);
        s.apply(&PhoneEvent::Offline { retry_in_s: 2 });
        assert!(!s.registered && s.offline);
        s.apply(&PhoneEvent::Registered { user: "u".into() });
        assert!(s.registered && !s.offline);
    }
}
