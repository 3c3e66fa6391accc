//! The app: the model, the components and the popups; routes input to the top popup or the main
//! screen, applies the actions that only change the screen, and draws. No terminal I/O here, so
//! tests drive it with keys, clicks and models and read a `TestBackend`.

use std::time::Instant;

use crossterm::event::{Event, KeyEvent, KeyEventKind, MouseEvent};
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::action::Action;
use super::components::button::HitMap;
use super::components::call::CallComponent;
use super::components::conversation::Conversation;
use super::components::footer::{hint_spots, Footer, Hint};
use super::components::header::Header;
use super::components::{Component, Ctx};
use super::keys::KeyConfig;
use super::model::{AudioStatus, Connection, Model};
use super::popups::dial::DialPrompt;
use super::popups::help::HelpOverlay;
use super::popups::history::HistoryPanel;
use super::popups::incoming::IncomingPopup;
use super::popups::quit_confirm::QuitConfirm;
use super::popups::state::StateMenu;
use super::popups::transfer::TransferModal;
use super::popups::Popup;
use super::strings;
use super::supervisor::SupervisorPanel;
use super::theme::Theme;

/// From this width on, the conversation pane goes beside the call component instead of below.
const SIDE_BY_SIDE_WIDTH: u16 = 110;

/// The popup opened by the user (the incoming-call popup and help are tracked apart: the first
/// follows the model, the second goes over everything).
#[derive(Debug)]
pub enum Modal {
    /// The transfer modal.
    Transfer(TransferModal),
    /// The dial prompt / keypad.
    Dial(DialPrompt),
    /// The agent-state menu.
    State(StateMenu),
    /// My call history and the disposition of my last call.
    History(HistoryPanel),
}

/// The whole TUI, minus the terminal.
pub struct App {
    model: Model,
    keys: KeyConfig,
    theme: Theme,
    now: Instant,
    header: Header,
    call: CallComponent,
    conversation: Conversation,
    /// The floor, for a supervisor.
    supervisor: SupervisorPanel,
    incoming: IncomingPopup,
    modal: Option<Modal>,
    help: Option<HelpOverlay>,
    /// Quit was asked during a call: the question is on top of everything.
    quit_confirm: Option<QuitConfirm>,
    quit: bool,
    /// The footer's clickable hints, where they were drawn last.
    footer: HitMap,
}

impl App {
    /// An app showing `model`, with default keys.
    pub fn new(model: Model, theme: Theme) -> Self {
        App {
            model,
            keys: KeyConfig::default(),
            theme,
            now: Instant::now(),
            header: Header::default(),
            call: CallComponent::default(),
            conversation: Conversation,
            supervisor: SupervisorPanel::default(),
            incoming: IncomingPopup::default(),
            modal: None,
            help: None,
            quit_confirm: None,
            quit: false,
            footer: HitMap::default(),
        }
    }

    /// The model shown.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The open modal, if any.
    pub fn modal(&self) -> Option<&Modal> {
        self.modal.as_ref()
    }

    /// The transfer modal, if it is open.
    pub fn transfer_modal(&self) -> Option<&TransferModal> {
        match &self.modal {
            Some(Modal::Transfer(m)) => Some(m),
            _ => None,
        }
    }

    /// The dial prompt, if it is open.
    pub fn dial_prompt(&self) -> Option<&DialPrompt> {
        match &self.modal {
            Some(Modal::Dial(d)) => Some(d),
            _ => None,
        }
    }

    /// True while the help overlay shows.
    pub fn help_open(&self) -> bool {
        self.help.is_some()
    }

    /// True once the user asked to quit.
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// The call component (to find its buttons).
    pub fn call_component(&self) -> &CallComponent {
        &self.call
    }

    /// The incoming-call popup (to find its buttons).
    pub fn incoming_popup(&self) -> &IncomingPopup {
        &self.incoming
    }

    /// Set the time the call timer counts to (the run loop does this on every tick).
    pub fn set_now(&mut self, now: Instant) {
        self.now = now;
    }

    /// True when something on screen changes with time alone (the call timer, the reconnect
    /// countdown), so the loop must tick; otherwise it sleeps until input or a model change.
    pub fn needs_tick(&self) -> bool {
        self.model.call.is_some()
            || self.model.floor.is_some()
            || self.model.incoming.is_some()
            || self.model.state.wrap_up_until.is_some()
            || matches!(self.model.connection, Connection::Offline { .. })
    }

    /// Show a new model. Popups that no longer make sense close: the transfer modal and keypad
    /// when the call ended, the dial prompt when a call began. The transfer modal's lists follow
    /// the new directory by themselves (M6).
    pub fn update(&mut self, model: Model) {
        let had_call = self.model.call.is_some();
        let has_call = model.call.is_some();
        self.model = model;
        let close = match &self.modal {
            Some(Modal::Transfer(_)) => !has_call,
            Some(Modal::Dial(_)) => had_call != has_call,
            Some(Modal::State(_)) | Some(Modal::History(_)) => false,
            None => false,
        };
        if close {
            self.modal = None;
        }
    }

    /// Handle any terminal event; the action it produced, already applied to the screen.
    pub fn handle_event(&mut self, event: &Event) -> Option<Action> {
        match event {
            Event::Key(key) => self.handle_key(*key),
            Event::Mouse(mouse) => self.handle_mouse(*mouse),
            _ => None,
        }
    }

    /// Handle a key. Returns the action it asked for, after applying its screen part; forward it
    /// to the engine when [`Action::is_for_engine`].
    pub fn handle_key(&mut self, key: KeyEvent) -> Option<Action> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let ctx = Ctx {
            model: &self.model,
            keys: &self.keys,
            theme: self.theme,
            now: self.now,
        };
        if let Some(q) = &mut self.quit_confirm {
            let action = q.handle_key(key, &ctx);
            self.quit_confirm = None;
            return action.and_then(|a| self.answer_quit(a));
        }
        if self.keys.force_quit.matches(&key) {
            return self.apply(Action::Quit);
        }
        let action = if let Some(help) = &mut self.help {
            help.handle_key(key, &ctx)
        } else if self.model.incoming.is_some() {
            self.incoming.handle_key(key, &ctx)
        } else if let Some(modal) = &mut self.modal {
            match modal {
                Modal::Transfer(m) => m.handle_key(key, &ctx),
                Modal::Dial(d) => d.handle_key(key, &ctx),
                Modal::State(s) => s.handle_key(key, &ctx),
                Modal::History(h) => h.handle_key(key, &ctx),
            }
        } else {
            let supervisor = &mut self.supervisor;
            self.call
                .handle_key(key, &ctx)
                .or_else(|| {
                    ctx.model
                        .floor
                        .as_ref()
                        .and_then(|_| supervisor.handle_key(key, &ctx))
                })
                .or_else(|| self.header.handle_key(key, &ctx))
                .or_else(|| global_key(&key, &self.keys))
        };
        action.and_then(|a| self.apply(a))
    }

    /// Handle a mouse event: a click on what was drawn last.
    pub fn handle_mouse(&mut self, mouse: MouseEvent) -> Option<Action> {
        let ctx = Ctx {
            model: &self.model,
            keys: &self.keys,
            theme: self.theme,
            now: self.now,
        };
        if let Some(q) = &mut self.quit_confirm {
            let action = q.handle_mouse(mouse, &ctx);
            if action.is_some() {
                self.quit_confirm = None;
            }
            return action.and_then(|a| self.answer_quit(a));
        }
        // The footer's hints do what their keys do, whatever is open.
        if let Some(action) = self.footer.hit(&mouse) {
            return self.apply(action);
        }
        let action = if let Some(help) = &mut self.help {
            help.handle_mouse(mouse, &ctx)
        } else if self.model.incoming.is_some() {
            self.incoming.handle_mouse(mouse, &ctx)
        } else if let Some(modal) = &mut self.modal {
            match modal {
                Modal::Transfer(m) => m.handle_mouse(mouse, &ctx),
                Modal::Dial(d) => d.handle_mouse(mouse, &ctx),
                Modal::State(s) => s.handle_mouse(mouse, &ctx),
                Modal::History(h) => h.handle_mouse(mouse, &ctx),
            }
        } else {
            let supervisor = match ctx.model.floor {
                Some(_) => self.supervisor.handle_mouse(mouse, &ctx),
                None => None,
            };
            supervisor
                .or_else(|| self.call.handle_mouse(mouse, &ctx))
                .or_else(|| self.header.handle_mouse(mouse, &ctx))
        };
        action.and_then(|a| self.apply(a))
    }

    /// The answer to the quit question: Quit quits (the call is hung up on the way out).
    fn answer_quit(&mut self, action: Action) -> Option<Action> {
        match action {
            Action::Quit => {
                self.quit = true;
                Some(Action::Quit)
            }
            _ => None,
        }
    }

    /// Apply the screen part of an action and hand it back.
    fn apply(&mut self, action: Action) -> Option<Action> {
        match &action {
            Action::OpenTransfer => {
                // Nothing to transfer without a call.
                self.model.call.as_ref()?;
                self.modal = Some(Modal::Transfer(TransferModal::new()));
            }
            Action::OpenDial => self.modal = Some(Modal::Dial(DialPrompt::new())),
            Action::OpenStateMenu => self.modal = Some(Modal::State(StateMenu::new(&self.model))),
            Action::SetState(_) => {
                if matches!(self.modal, Some(Modal::State(_))) {
                    self.modal = None;
                }
            }
            Action::OpenHistory => self.modal = Some(Modal::History(HistoryPanel::new())),
            Action::Help => self.help = Some(HelpOverlay),
            // During a call, quitting asks first (issue 10 #5); the question's own Quit quits.
            Action::Quit if self.model.call.is_some() => {
                self.quit_confirm = Some(QuitConfirm::default());
                return None;
            }
            Action::ClosePopup => {
                if self.help.is_some() {
                    self.help = None;
                } else {
                    self.modal = None;
                }
            }
            Action::Transfer { .. } | Action::Dial(_) => self.modal = None,
            Action::Quit => self.quit = true,
            _ => {}
        }
        Some(action)
    }

    /// The footer hints for what is on top now.
    fn hints(&self, ctx: &Ctx) -> Vec<Hint> {
        let k = &self.keys;
        if let Some(q) = &self.quit_confirm {
            return q.hints(ctx);
        }
        if let Some(help) = &self.help {
            return help.hints(ctx);
        }
        if self.model.incoming.is_some() {
            return self.incoming.hints(ctx);
        }
        match &self.modal {
            Some(Modal::Transfer(m)) => return m.hints(ctx),
            Some(Modal::Dial(d)) => return d.hints(ctx),
            Some(Modal::State(s)) => return s.hints(ctx),
            Some(Modal::History(h)) => return h.hints(ctx),
            None => {}
        }
        let mut hints = Vec::new();
        if self.model.floor.is_some() {
            hints.extend(self.supervisor.hints(ctx));
        }
        // Each hint of the main screen can be clicked: it does what its key does.
        let dial = if self.model.call.is_some() {
            // The call's own keys are on its buttons; the footer lists the rest.
            strings::HINT_KEYPAD
        } else {
            strings::HINT_DIAL
        };
        hints.push(Hint::new(k.dial.label(), dial).on_click(Some(Action::OpenDial)));
        let voice = Action::SetVoice(!self.model.voice_active);
        hints.push(Hint::new(k.voice.label(), strings::HINT_VOICE).on_click(Some(voice)));
        if self.model.state.status.is_some() {
            let open = Some(Action::OpenStateMenu);
            hints.push(Hint::new(k.state.label(), strings::HINT_STATE).on_click(open));
        }
        let history = Some(Action::OpenHistory);
        hints.push(Hint::new(k.history.label(), strings::HINT_HISTORY).on_click(history));
        hints.push(Hint::new(k.help.label(), strings::HINT_HELP).on_click(Some(Action::Help)));
        let quit = if self.model.call.is_some() {
            &k.force_quit
        } else {
            &k.quit
        };
        hints.push(Hint::new(quit.label(), strings::HINT_QUIT).on_click(Some(Action::Quit)));
        hints
    }

    /// Draw the whole screen.
    pub fn draw(&mut self, frame: &mut Frame) {
        let area = frame.area();
        let ctx = Ctx {
            model: &self.model,
            keys: &self.keys,
            theme: self.theme,
            now: self.now,
        };
        // Up to three lines under the header: no audio device (lasting), the last notice
        // (fresh), the standing hint.
        let audio = match &self.model.audio {
            AudioStatus::NoDevice { message } => Some(strings::no_audio_device(message)),
            AudioStatus::Ready => None,
        };
        let notice = self.model.notice.clone();
        let hint = self.model.hint.clone();
        // The hint (a command to copy) wraps onto a second line rather than being cut.
        let hint_lines = hint.as_ref().map_or(0, |h| {
            if h.chars().count() + 1 > usize::from(area.width) {
                2
            } else {
                1
            }
        });

        let [header, audio_area, notice_area, hint_area, body, footer] = Layout::default()
            .direction(Direction::Vertical)
            .constraints([
                Constraint::Length(1),
                Constraint::Length(u16::from(audio.is_some())),
                Constraint::Length(u16::from(notice.is_some())),
                Constraint::Length(hint_lines),
                Constraint::Min(0),
                Constraint::Length(1),
            ])
            .areas(area);

        self.header.draw(frame, header, &ctx);
        for (text, line, style) in [
            (audio, audio_area, ctx.theme.error()),
            (notice, notice_area, ctx.theme.error()),
        ] {
            if let Some(text) = text {
                frame.render_widget(Span::styled(format!(" {text}"), style), line);
            }
        }
        if let Some(text) = hint {
            frame.render_widget(
                Paragraph::new(Span::styled(format!(" {text}"), ctx.theme.dim()))
                    .wrap(Wrap { trim: false }),
                hint_area,
            );
        }
        if self.model.floor.is_some() {
            // A supervisor: the call (when in one) above the floor.
            let call_height = if self.model.call.is_some() {
                CallComponent::wanted_height(&ctx)
            } else {
                0
            };
            let [call_area, floor_area] = Layout::default()
                .direction(Direction::Vertical)
                .constraints([Constraint::Length(call_height), Constraint::Min(0)])
                .areas(body);
            self.call.draw(frame, call_area, &ctx);
            self.supervisor.draw(frame, floor_area, &ctx);
        } else {
            let (call_area, conversation_area) =
                split_body(body, CallComponent::wanted_height(&ctx));
            self.call.draw(frame, call_area, &ctx);
            self.conversation.draw(frame, conversation_area, &ctx);
        }
        let hints = self.hints(&ctx);
        self.footer.clear();
        if self.quit_confirm.is_none() {
            for (rect, i) in hint_spots(&hints, footer) {
                if let Some(action) = hints.get(i).and_then(|h| h.action.clone()) {
                    self.footer.add(rect, action);
                }
            }
        }
        frame.render_widget(
            Footer {
                hints: &hints,
                theme: ctx.theme,
            },
            footer,
        );

        match &mut self.modal {
            Some(Modal::Transfer(m)) => m.draw(frame, area, &ctx),
            Some(Modal::Dial(d)) => d.draw(frame, area, &ctx),
            Some(Modal::State(s)) => s.draw(frame, area, &ctx),
            Some(Modal::History(h)) => h.draw(frame, area, &ctx),
            None => {}
        }
        if self.model.incoming.is_some() {
            self.incoming.draw(frame, area, &ctx);
        }
        if let Some(help) = &mut self.help {
            help.draw(frame, area, &ctx);
        }
        if let Some(q) = &mut self.quit_confirm {
            q.draw(frame, area, &ctx);
        }
    }
}

/// Keys of the main screen outside the call component. During a call `q` (like Ctrl-C) asks
/// before quitting, so one stray key cannot hang up on a customer.
fn global_key(key: &KeyEvent, k: &KeyConfig) -> Option<Action> {
    if k.dial.matches(key) {
        Some(Action::OpenDial)
    } else if k.help.matches(key) {
        Some(Action::Help)
    } else if k.history.matches(key) {
        Some(Action::OpenHistory)
    } else if k.quit.matches(key) {
        Some(Action::Quit)
    } else {
        None
    }
}

/// Call component and conversation pane: side by side on wide screens, stacked otherwise.
fn split_body(body: Rect, call_height: u16) -> (Rect, Rect) {
    if body.width >= SIDE_BY_SIDE_WIDTH {
        let [left, right] = Layout::default()
            .direction(Direction::Horizontal)
            .constraints([Constraint::Percentage(58), Constraint::Percentage(42)])
            .areas(body);
        (left, right)
    } else {
        let [top, bottom] = Layout::default()
            .direction(Direction::Vertical)
            .constraints([Constraint::Length(call_height), Constraint::Min(0)])
            .areas(body);
        (top, bottom)
    }
}
