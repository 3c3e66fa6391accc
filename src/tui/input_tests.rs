//! Keys and clicks through the `App`: what action each produces, and what it does to the screen.
//! Clicks are made where the thing was actually drawn (found by its text on a `TestBackend`).

use std::sync::mpsc;

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;

use super::action::{Action, TransferTarget};
use super::app::App;
use super::fixtures::{self, app};
use super::model::{AgentStatus, Model, PartyState};
use super::popups::transfer::{Field, Tab};
use super::runner::{run_loop, UiEvent};

fn key(app: &mut App, code: KeyCode) -> Option<Action> {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ch(app: &mut App, c: char) -> Option<Action> {
    key(app, KeyCode::Char(c))
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        assert_eq!(ch(app, c), None, "typing {c:?} must only edit a field");
    }
}

fn draw(app: &mut App) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("test backend");
    terminal.draw(|f| app.draw(f)).expect("draw");
    terminal.backend().buffer().clone()
}

/// The first cell where `text` is drawn, row by row.
fn find(buffer: &Buffer, text: &str) -> Option<(u16, u16)> {
    let want: Vec<char> = text.chars().collect();
    for y in 0..buffer.area.height {
        let row: Vec<char> = (0..buffer.area.width)
            .map(|x| {
                buffer
                    .cell((x, y))
                    .and_then(|c| c.symbol().chars().next())
                    .unwrap_or(' ')
            })
            .collect();
        if let Some(x) = row.windows(want.len()).position(|w| w == want.as_slice()) {
            return Some((x as u16, y));
        }
    }
    None
}

/// Everything drawn, row after row.
fn draw_text(app: &mut App) -> String {
    let buffer = draw(app);
    let mut text = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            text.push_str(buffer.cell((x, y)).map_or(" ", |c| c.symbol()));
        }
        text.push('\n');
    }
    text
}

/// Draw, then left-click on the middle of `text` where it was drawn.
fn click_text(app: &mut App, text: &str) -> Option<Action> {
    let buffer = draw(app);
    let (x, y) = find(&buffer, text).unwrap_or_else(|| panic!("{text:?} is not on screen"));
    click(app, x + text.chars().count() as u16 / 2, y)
}

fn click(app: &mut App, column: u16, row: u16) -> Option<Action> {
    app.handle_mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column,
        row,
        modifiers: KeyModifiers::NONE,
    })
}

// Call component: keys.

#[test]
fn call_keys_map_to_actions() {
    let mut a = app(fixtures::in_call());
    assert_eq!(ch(&mut a, 'm'), Some(Action::Mute(true)));
    assert_eq!(ch(&mut a, 'h'), Some(Action::Hold(true)));
    assert_eq!(ch(&mut a, 'x'), Some(Action::Hangup));
    assert_eq!(ch(&mut a, 't'), Some(Action::OpenTransfer));
    assert!(a.transfer_modal().is_some());
}

#[test]
fn mute_and_hold_keys_undo_when_already_on() {
    let mut a = app(fixtures::muted());
    assert_eq!(ch(&mut a, 'm'), Some(Action::Mute(false)));
    let mut a = app(fixtures::on_hold());
    assert_eq!(ch(&mut a, 'h'), Some(Action::Hold(false)));
}

#[test]
fn transfer_key_cancels_while_ringing_and_completes_once_joined() {
    let mut a = app(fixtures::transfer_ringing());
    assert_eq!(ch(&mut a, 't'), Some(Action::CancelTransfer));
    assert!(a.modal().is_none());
    let mut a = app(fixtures::consulting());
    assert_eq!(ch(&mut a, 't'), Some(Action::CompleteTransfer));
}

#[test]
fn only_the_transferring_agent_may_cancel_or_complete() {
    // Bob's view of Alice's consultation: a second transfer cannot work while hers is under
    // way, so his Transfer (key or click) says why instead of opening the modal (issue 10 #6).
    let mut m = fixtures::consulting();
    m.me.user = "bob".into();
    m.me.display = "Bob Baker".into();
    let mut a = app(m);
    let why =
        Action::Explain("A transfer to Bob Baker is under way: wait until it is over.".into());
    assert_eq!(ch(&mut a, 't'), Some(why.clone()));
    assert_eq!(click_text(&mut a, "Transfer"), Some(why));
    assert!(a.modal().is_none());
}

#[test]
fn a_listener_is_not_offered_hold() {
    // Carol joined listen-only (issue 10 #1): Hold says why instead of holding the customer.
    let mut m = fixtures::in_call();
    m.me.user = "carol".into();
    m.me.display = "Carol Diaz".into();
    let call = m.call.as_mut().expect("a call");
    call.participants[1].user = "carol".into();
    call.participants[1].state = PartyState::Listening;
    let mut a = app(m);
    let why = Action::Explain(
        "You are only listening: the agents in the conversation put the customer on hold.".into(),
    );
    assert_eq!(ch(&mut a, 'h'), Some(why.clone()));
    assert_eq!(click_text(&mut a, "Hold"), Some(why));
}

#[test]
fn call_keys_do_nothing_without_a_call() {
    let mut a = app(fixtures::idle());
    assert_eq!(ch(&mut a, 'm'), None);
    assert_eq!(ch(&mut a, 'h'), None);
    assert_eq!(ch(&mut a, 'x'), None);
    assert_eq!(ch(&mut a, 't'), None);
    assert!(a.modal().is_none());
}

#[test]
fn key_release_events_are_ignored() {
    let mut a = app(fixtures::in_call());
    let mut release = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE);
    release.kind = crossterm::event::KeyEventKind::Release;
    assert_eq!(a.handle_key(release), None);
}

// Call component: clicks on the drawn buttons.

#[test]
fn buttons_are_drawn_in_order_mute_hold_transfer_hangup() {
    let mut a = app(fixtures::in_call());
    let buffer = draw(&mut a);
    let xs: Vec<(u16, u16)> = ["[m Mute]", "[h Hold]", "[t Transfer]", "[x Hang up]"]
        .iter()
        .map(|t| find(&buffer, t).unwrap_or_else(|| panic!("{t} missing")))
        .collect();
    assert!(xs.iter().all(|(_, y)| *y == xs[0].1), "one row: {xs:?}");
    assert!(xs.windows(2).all(|w| w[0].0 < w[1].0), "order: {xs:?}");
}

#[test]
fn clicking_each_call_button_gives_its_action() {
    let mut a = app(fixtures::in_call());
    assert_eq!(click_text(&mut a, "Mute"), Some(Action::Mute(true)));
    assert_eq!(click_text(&mut a, "Hold"), Some(Action::Hold(true)));
    assert_eq!(click_text(&mut a, "Hang up"), Some(Action::Hangup));
    assert_eq!(click_text(&mut a, "Transfer"), Some(Action::OpenTransfer));
    assert!(a.transfer_modal().is_some());

    let mut a = app(fixtures::muted());
    assert_eq!(click_text(&mut a, "Unmute"), Some(Action::Mute(false)));
    let mut a = app(fixtures::on_hold());
    assert_eq!(click_text(&mut a, "Resume"), Some(Action::Hold(false)));
    let mut a = app(fixtures::transfer_ringing());
    assert_eq!(
        click_text(&mut a, "Cancel transfer"),
        Some(Action::CancelTransfer)
    );
    let mut a = app(fixtures::consulting());
    assert_eq!(
        click_text(&mut a, "Complete transfer"),
        Some(Action::CompleteTransfer)
    );
}

#[test]
fn clicks_beside_buttons_or_with_other_mouse_buttons_do_nothing() {
    let mut a = app(fixtures::in_call());
    let buffer = draw(&mut a);
    let (x, y) = find(&buffer, "[m Mute]").expect("mute drawn");
    // The gap between Mute and Hold.
    assert_eq!(click(&mut a, x + 9, y), None);
    let right = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Right),
        column: x + 2,
        row: y,
        modifiers: KeyModifiers::NONE,
    };
    assert_eq!(a.handle_mouse(right), None);
    assert_eq!(
        a.call_component()
            .button_rect(&Action::Mute(true))
            .map(|r| (r.x, r.y)),
        Some((x, y))
    );
}

#[test]
fn voice_switch_by_key_and_click() {
    let mut a = app(fixtures::idle());
    assert_eq!(ch(&mut a, 'v'), Some(Action::SetVoice(false)));
    assert_eq!(
        click_text(&mut a, "Voice: ON"),
        Some(Action::SetVoice(false))
    );
    let mut m = fixtures::idle();
    m.voice_active = false;
    let mut a = app(m);
    assert_eq!(
        click_text(&mut a, "Voice: OFF"),
        Some(Action::SetVoice(true))
    );
}

// Incoming call.

#[test]
fn incoming_call_answer_and_decline_by_key() {
    let mut a = app(fixtures::incoming());
    assert_eq!(ch(&mut a, 'a'), Some(Action::Answer));
    assert_eq!(key(&mut a, KeyCode::Enter), Some(Action::Answer));
    assert_eq!(ch(&mut a, 'd'), Some(Action::Decline));
    // Other keys do not reach the main screen while it rings.
    assert_eq!(ch(&mut a, 'v'), None);
}

#[test]
fn incoming_call_answer_and_decline_by_click() {
    let mut a = app(fixtures::incoming());
    assert_eq!(click_text(&mut a, "Answer"), Some(Action::Answer));
    assert_eq!(click_text(&mut a, "Decline"), Some(Action::Decline));
    let answer = a.incoming_popup().button_rect(&Action::Answer);
    assert!(answer.is_some());
}

#[test]
fn incoming_call_goes_over_an_open_modal_and_leaves_it_when_gone() {
    let mut a = app(fixtures::in_call());
    ch(&mut a, 't');
    let mut ringing = fixtures::in_call();
    ringing.incoming = fixtures::incoming().incoming;
    a.update(ringing);
    assert_eq!(ch(&mut a, 'a'), Some(Action::Answer));
    a.update(fixtures::in_call());
    assert!(a.transfer_modal().is_some());
    type_text(&mut a, "bob");
    assert_eq!(a.transfer_modal().map(|m| m.filter()), Some("bob"));
}

// Transfer modal.

fn open_modal(model: Model) -> App {
    let mut a = app(model);
    assert_eq!(ch(&mut a, 't'), Some(Action::OpenTransfer));
    a
}

fn selected(a: &App) -> Option<String> {
    a.transfer_modal().and_then(|m| m.selected_key(a.model()))
}

fn row_keys(a: &App) -> Vec<(String, bool)> {
    a.transfer_modal()
        .map(|m| {
            m.rows(a.model())
                .into_iter()
                .map(|r| (r.key, r.pickable))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn modal_lists_active_agents_available_first_without_me_or_inactive() {
    let a = open_modal(fixtures::in_call());
    assert_eq!(
        row_keys(&a),
        vec![
            ("bea".to_string(), true),
            ("bob".to_string(), true),
            ("dave".to_string(), false),
            ("erin".to_string(), false),
        ]
    );
    assert_eq!(selected(&a).as_deref(), Some("bea"));
}

#[test]
fn modal_excludes_agents_already_in_the_call() {
    // Bob is in the call (consulting); Bob's view would offer Alice — here Alice's: no Bob.
    let mut m = fixtures::consulting();
    if let Some(call) = m.call.as_mut() {
        call.transfer = super::model::TransferView::None;
    }
    let a = open_modal(m);
    assert!(row_keys(&a).iter().all(|(k, _)| k != "bob" && k != "alice"));
}

#[test]
fn typing_filters_the_list() {
    let mut a = open_modal(fixtures::in_call());
    type_text(&mut a, "BA");
    assert_eq!(row_keys(&a), vec![("bob".to_string(), true)]);
    key(&mut a, KeyCode::Backspace);
    key(&mut a, KeyCode::Backspace);
    type_text(&mut a, "e");
    assert_eq!(row_keys(&a).len(), 4);
    type_text(&mut a, "zz");
    assert!(row_keys(&a).is_empty());
    assert_eq!(
        key(&mut a, KeyCode::Enter),
        Some(Action::Explain(
            "No agent to transfer to: nobody else has the voice channel on.".into()
        )),
        "nothing to pick: says so (issue 10 #6)"
    );
    assert!(a.transfer_modal().is_some());
}

#[test]
fn arrows_skip_rows_that_cannot_be_picked() {
    let mut a = open_modal(fixtures::in_call());
    key(&mut a, KeyCode::Down);
    assert_eq!(selected(&a).as_deref(), Some("bob"));
    // Dave and Erin are busy: Down stays on Bob.
    key(&mut a, KeyCode::Down);
    key(&mut a, KeyCode::Down);
    assert_eq!(selected(&a).as_deref(), Some("bob"));
    key(&mut a, KeyCode::Up);
    assert_eq!(selected(&a).as_deref(), Some("bea"));
}

#[test]
fn clicking_an_unpickable_row_does_not_select_it() {
    let mut a = open_modal(fixtures::in_call());
    assert_eq!(click_text(&mut a, "Dave Dunn"), None);
    assert_eq!(selected(&a).as_deref(), Some("bea"));
    assert_eq!(click_text(&mut a, "Bob Baker"), None);
    assert_eq!(selected(&a).as_deref(), Some("bob"));
}

#[test]
fn only_busy_or_away_agents_means_enter_says_why() {
    let mut m = fixtures::in_call();
    for agent in &mut m.directory.agents {
        if agent.status == AgentStatus::Available {
            agent.status = AgentStatus::Away;
            agent.away_reason = Some("lunch".into());
        }
    }
    let mut a = open_modal(m);
    assert!(row_keys(&a).iter().all(|(_, pickable)| !pickable));
    assert!(
        draw_text(&mut a).contains("away (lunch)"),
        "the modal says why"
    );
    let why = Some(Action::Explain(
        "No agent can take the call now: they are busy, away or wrapping up.".into(),
    ));
    assert_eq!(key(&mut a, KeyCode::Enter), why);
    assert_eq!(click_text(&mut a, "[Enter Transfer]"), why);
    assert!(a.transfer_modal().is_some());
}

#[test]
fn esc_closes_the_modal() {
    let mut a = open_modal(fixtures::in_call());
    assert_eq!(key(&mut a, KeyCode::Esc), Some(Action::ClosePopup));
    assert!(a.modal().is_none());
}

#[test]
fn enter_transfers_with_reason_and_listen_only() {
    let mut a = open_modal(fixtures::in_call());
    type_text(&mut a, "bob");
    key(&mut a, KeyCode::Tab);
    assert_eq!(a.transfer_modal().map(|m| m.field()), Some(Field::Reason));
    type_text(&mut a, "  Refund question ");
    key(&mut a, KeyCode::Tab);
    key(&mut a, KeyCode::Char(' '));
    assert_eq!(a.transfer_modal().map(|m| m.listen_only()), Some(true));
    assert_eq!(
        key(&mut a, KeyCode::Enter),
        Some(Action::Transfer {
            target: TransferTarget::Agent("bob".into()),
            reason: Some("Refund question".into()),
            listen_only: true,
        })
    );
    assert!(a.modal().is_none(), "confirming closes the modal");
}

#[test]
fn enter_without_reason_sends_none() {
    let mut a = open_modal(fixtures::in_call());
    assert_eq!(
        key(&mut a, KeyCode::Enter),
        Some(Action::Transfer {
            target: TransferTarget::Agent("bea".into()),
            reason: None,
            listen_only: false,
        })
    );
}

#[test]
fn team_tab_by_key_lists_voice_active_teams_and_picks_one_with_someone_free() {
    let mut a = open_modal(fixtures::in_call());
    key(&mut a, KeyCode::Right);
    assert_eq!(a.transfer_modal().map(|m| m.tab()), Some(Tab::Team));
    assert_eq!(
        row_keys(&a),
        vec![
            ("Bookings".to_string(), true),
            ("Sales".to_string(), false),
            ("Support".to_string(), true),
        ]
    );
    key(&mut a, KeyCode::Down);
    assert_eq!(selected(&a).as_deref(), Some("Support"), "Sales is skipped");
    assert_eq!(
        key(&mut a, KeyCode::Enter),
        Some(Action::Transfer {
            target: TransferTarget::Team("Support".into()),
            reason: None,
            listen_only: false,
        })
    );
}

#[test]
fn modal_works_with_the_mouse() {
    let mut a = open_modal(fixtures::in_call());
    assert_eq!(click_text(&mut a, "Team"), None);
    assert_eq!(a.transfer_modal().map(|m| m.tab()), Some(Tab::Team));
    assert_eq!(click_text(&mut a, "Support"), None);
    assert_eq!(click_text(&mut a, "Reason (optional)"), None);
    assert_eq!(a.transfer_modal().map(|m| m.field()), Some(Field::Reason));
    type_text(&mut a, "VIP");
    assert_eq!(click_text(&mut a, "Listen only"), None);
    assert_eq!(a.transfer_modal().map(|m| m.listen_only()), Some(true));
    assert_eq!(
        click_text(&mut a, "[Enter Transfer]"),
        Some(Action::Transfer {
            target: TransferTarget::Team("Support".into()),
            reason: Some("VIP".into()),
            listen_only: true,
        })
    );
    assert!(a.modal().is_none());

    let mut a = open_modal(fixtures::in_call());
    assert_eq!(click_text(&mut a, "[Esc Cancel]"), Some(Action::ClosePopup));
    assert!(a.modal().is_none());
}

#[test]
fn modal_lists_follow_the_directory_live() {
    let mut a = open_modal(fixtures::in_call());
    key(&mut a, KeyCode::Down);
    assert_eq!(selected(&a).as_deref(), Some("bob"));
    // Bob switches his voice channel off: he disappears and the selection falls back.
    let mut m = fixtures::in_call();
    for agent in &mut m.directory.agents {
        if agent.user == "bob" {
            agent.status = AgentStatus::Inactive;
        }
        if agent.user == "dave" {
            agent.status = AgentStatus::Available;
        }
    }
    a.update(m);
    assert_eq!(
        row_keys(&a),
        vec![
            ("bea".to_string(), true),
            ("dave".to_string(), true),
            ("erin".to_string(), false),
        ]
    );
    assert_eq!(selected(&a).as_deref(), Some("bea"));
    let buffer = draw(&mut a);
    assert!(find(&buffer, "Bob Baker").is_none());
}

#[test]
fn modal_closes_when_the_call_ends() {
    let mut a = open_modal(fixtures::in_call());
    a.update(fixtures::idle());
    assert!(a.modal().is_none());
}

// Dial prompt and keypad.

#[test]
fn dial_prompt_types_and_calls() {
    let mut a = app(fixtures::idle());
    assert_eq!(ch(&mut a, 'd'), Some(Action::OpenDial));
    assert_eq!(key(&mut a, KeyCode::Enter), None, "empty: nothing to dial");
    type_text(&mut a, "bobx");
    key(&mut a, KeyCode::Backspace);
    assert_eq!(a.dial_prompt().map(|d| d.input()), Some("bob"));
    assert_eq!(
        key(&mut a, KeyCode::Enter),
        Some(Action::Dial("bob".into()))
    );
    assert!(a.modal().is_none());
}

#[test]
fn dial_keypad_clicks_type_digits_then_call_click_dials() {
    let mut a = app(fixtures::idle());
    ch(&mut a, 'd');
    for digit in [" 1 ", " 0 ", " # "] {
        assert_eq!(click_text(&mut a, digit), None);
    }
    assert_eq!(a.dial_prompt().map(|d| d.input()), Some("10#"));
    assert_eq!(
        click_text(&mut a, "[Enter Call]"),
        Some(Action::Dial("10#".into()))
    );
}

#[test]
fn keypad_in_a_call_sends_dtmf_by_key_and_click() {
    let mut a = app(fixtures::in_call());
    assert_eq!(ch(&mut a, 'd'), Some(Action::OpenDial));
    assert_eq!(ch(&mut a, '5'), Some(Action::Dtmf('5')));
    assert_eq!(ch(&mut a, '*'), Some(Action::Dtmf('*')));
    assert_eq!(ch(&mut a, 'q'), None, "not a DTMF digit");
    assert_eq!(click_text(&mut a, " # "), Some(Action::Dtmf('#')));
    let rect = a.dial_prompt().and_then(|d| d.digit_rect('9'));
    let rect = rect.expect("9 drawn");
    assert_eq!(click(&mut a, rect.x, rect.y), Some(Action::Dtmf('9')));
    assert_eq!(click_text(&mut a, "[Esc Close]"), Some(Action::ClosePopup));
    assert!(a.modal().is_none());
}

// Help, quit, ticking.

#[test]
fn help_opens_with_question_mark_and_closes_with_esc_or_click() {
    let mut a = app(fixtures::in_call());
    assert_eq!(ch(&mut a, '?'), Some(Action::Help));
    assert!(a.help_open());
    assert_eq!(ch(&mut a, 'm'), None, "help swallows other keys");
    assert_eq!(key(&mut a, KeyCode::Esc), Some(Action::ClosePopup));
    assert!(!a.help_open());
    ch(&mut a, '?');
    assert_eq!(click(&mut a, 0, 0), Some(Action::ClosePopup));
    assert!(!a.help_open());
}

#[test]
fn quit_by_q_and_by_ctrl_c_asks_first_during_a_call() {
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    let mut a = app(fixtures::idle());
    assert_eq!(ch(&mut a, 'q'), Some(Action::Quit));
    assert!(a.should_quit());
    let mut a = app(fixtures::idle());
    assert_eq!(a.handle_key(ctrl_c), Some(Action::Quit), "no call: at once");

    // In a call (issue 10 #5): q asks; anything but y stays in the call.
    let mut a = app(fixtures::in_call());
    assert_eq!(ch(&mut a, 'q'), None, "q does not hang up on a customer");
    let text = draw_text(&mut a);
    assert!(
        text.contains("quitting hangs up and drops") && text.contains("Carol Customer."),
        "{text}"
    );
    assert_eq!(ch(&mut a, 'm'), None, "the question swallows other keys");
    assert!(!a.should_quit());
    assert_eq!(
        ch(&mut a, 'm'),
        Some(Action::Mute(true)),
        "back in the call"
    );

    // Ctrl-C asks too; Ctrl-C again (or y) quits.
    assert_eq!(a.handle_key(ctrl_c), None);
    assert_eq!(a.handle_key(ctrl_c), Some(Action::Quit));
    assert!(a.should_quit());
    let mut a = open_modal(fixtures::in_call());
    type_text(&mut a, "q");
    assert!(!a.should_quit(), "q types into the filter");
    assert_eq!(a.handle_key(ctrl_c), None);
    assert_eq!(ch(&mut a, 'y'), Some(Action::Quit));
    assert!(a.should_quit());

    // A click on the question's Quit quits.
    let mut a = app(fixtures::in_call());
    assert_eq!(a.handle_key(ctrl_c), None);
    assert_eq!(click_text(&mut a, "y Quit"), Some(Action::Quit));
    assert!(a.should_quit());
}

#[test]
fn only_screen_actions_stay_in_the_ui() {
    assert!(!Action::OpenTransfer.is_for_engine());
    assert!(!Action::Help.is_for_engine());
    assert!(Action::Hangup.is_for_engine());
    assert!(Action::Quit.is_for_engine());
}

#[test]
fn ticks_only_while_a_timer_shows() {
    assert!(!app(fixtures::idle()).needs_tick());
    assert!(app(fixtures::offline()).needs_tick(), "reconnect countdown");
    assert!(app(fixtures::in_call()).needs_tick());
}

// The loop, driven by a fake engine over channels.

#[test]
fn run_loop_with_a_fake_driver() {
    let (events_tx, events_rx) = mpsc::channel();
    let (actions_tx, actions_rx) = mpsc::channel();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("test backend");
    let mut a = app(fixtures::idle());

    let key_event = |c: char| {
        UiEvent::Input(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )))
    };
    events_tx
        .send(UiEvent::Model(Box::new(fixtures::incoming())))
        .expect("send");
    events_tx.send(key_event('a')).expect("send");
    events_tx
        .send(UiEvent::Model(Box::new(fixtures::in_call())))
        .expect("send");
    events_tx.send(key_event('t')).expect("send"); // opens the modal: screen only
    events_tx.send(key_event('b')).expect("send");
    events_tx.send(key_event('o')).expect("send");
    events_tx
        .send(UiEvent::Input(Event::Key(KeyEvent::new(
            KeyCode::Enter,
            KeyModifiers::NONE,
        ))))
        .expect("send");
    events_tx
        .send(UiEvent::Input(Event::Resize(100, 30)))
        .expect("send");
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    events_tx
        .send(UiEvent::Input(Event::Key(ctrl_c)))
        .expect("send");
    // In a call Ctrl-C asks first; a second one quits.
    events_tx
        .send(UiEvent::Input(Event::Key(ctrl_c)))
        .expect("send");
    events_tx.send(key_event('x')).expect("send"); // after Quit: never read
                                                   // Should the loop not stop at Quit, it ends (and the assertion fails) instead of hanging.
    drop(events_tx);

    run_loop(&mut terminal, &mut a, &events_rx, &actions_tx).expect("loop");
    let sent: Vec<Action> = actions_rx.try_iter().collect();
    assert_eq!(
        sent,
        vec![
            Action::Answer,
            Action::WatchDirectory(true), // the modal opened: the directory is watched
            Action::Transfer {
                target: TransferTarget::Agent("bob".into()),
                reason: None,
                listen_only: false,
            },
            Action::WatchDirectory(false), // … until it closed
            Action::Quit,
        ]
    );
    let screen = terminal.backend().buffer().clone();
    assert!(
        find(&screen, "Carol Customer").is_some(),
        "last draw shows the call"
    );
}

/// Whatever closes the transfer modal (Esc, the call ending), the directory stops being watched;
/// other popups never start it.
#[test]
fn the_directory_is_watched_exactly_while_the_transfer_modal_is_open() {
    let key = |code: KeyCode| UiEvent::Input(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    let model = |m: Model| UiEvent::Model(Box::new(m));
    // (what happens, then the actions sent)
    let cases: Vec<(&str, Vec<UiEvent>, Vec<Action>)> = vec![
        (
            "opened, closed with Esc",
            vec![key(KeyCode::Char('t')), key(KeyCode::Esc)],
            vec![Action::WatchDirectory(true), Action::WatchDirectory(false)],
        ),
        (
            "opened, the call ends",
            vec![key(KeyCode::Char('t')), model(fixtures::idle())],
            vec![Action::WatchDirectory(true), Action::WatchDirectory(false)],
        ),
        (
            "help only",
            vec![key(KeyCode::Char('?')), key(KeyCode::Esc)],
            vec![],
        ),
    ];
    for (name, events, want) in cases {
        let (events_tx, events_rx) = mpsc::channel();
        let (actions_tx, actions_rx) = mpsc::channel();
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("test backend");
        let mut a = app(fixtures::in_call());
        for e in events {
            events_tx.send(e).expect("send");
        }
        drop(events_tx);
        run_loop(&mut terminal, &mut a, &events_rx, &actions_tx).expect("loop");
        let sent: Vec<Action> = actions_rx.try_iter().collect();
        assert_eq!(sent, want, "{name}");
    }
}

#[test]
fn run_loop_ends_when_the_engine_goes_away() {
    let (events_tx, events_rx) = mpsc::channel();
    let (actions_tx, _actions_rx) = mpsc::channel();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("test backend");
    let mut a = app(fixtures::idle());
    events_tx.send(UiEvent::EngineGone).expect("send");
    run_loop(&mut terminal, &mut a, &events_rx, &actions_tx).expect("loop");
    assert!(!a.should_quit(), "ended by the engine, not by the user");
}

#[test]
fn offline_countdown_follows_the_clock() {
    let mut a = app(fixtures::offline());
    let buffer = draw(&mut a);
    assert!(find(&buffer, "reconnecting in 5 s").is_some());
    a.set_now(fixtures::t0() + fixtures::CALL_AGE + std::time::Duration::from_millis(3500));
    let buffer = draw(&mut a);
    assert!(find(&buffer, "reconnecting in 2 s").is_some());
    a.set_now(fixtures::t0() + fixtures::CALL_AGE + std::time::Duration::from_secs(9));
    let buffer = draw(&mut a);
    assert!(find(&buffer, "Offline, reconnecting…").is_some());
}

#[test]
fn consultation_status_says_when_the_customer_left() {
    let mut m = fixtures::consulting();
    if let Some(call) = m.call.as_mut() {
        call.participants
            .retain(|p| p.role != super::model::Role::Customer);
    }
    let mut a = app(m);
    let buffer = draw(&mut a);
    assert!(find(&buffer, "Transfer: Bob Baker joined, customer left").is_some());
    let mut a = app(fixtures::consulting());
    let buffer = draw(&mut a);
    assert!(find(&buffer, "Transfer: Bob Baker joined, customer on hold").is_some());
}

// Agent states (S1).

#[test]
fn state_key_and_click_open_the_menu_and_a_row_sets_the_state() {
    use crate::phone::protocol::AgentStateRequest as Set;
    let mut a = app(fixtures::available());
    assert_eq!(ch(&mut a, 's'), Some(Action::OpenStateMenu));
    assert!(a.modal().is_some());
    // Available is selected (current); down twice = Away — lunch.
    key(&mut a, KeyCode::Down);
    key(&mut a, KeyCode::Down);
    let lunch = Action::SetState(Set::Away {
        reason: "lunch".into(),
    });
    assert_eq!(key(&mut a, KeyCode::Enter), Some(lunch));
    assert!(a.modal().is_none(), "setting the state closes the menu");

    let mut a = app(fixtures::away());
    assert_eq!(
        click_text(&mut a, "Away: lunch"),
        Some(Action::OpenStateMenu)
    );
    assert_eq!(
        click_text(&mut a, "Available"),
        Some(Action::SetState(Set::Available))
    );
    // Esc closes without a change.
    assert_eq!(ch(&mut a, 's'), Some(Action::OpenStateMenu));
    assert_eq!(key(&mut a, KeyCode::Esc), Some(Action::ClosePopup));
    assert!(a.modal().is_none());
}

#[test]
fn ready_ends_wrap_up_by_key_and_click_and_only_then() {
    use crate::phone::protocol::AgentStateRequest as Set;
    let ready = Some(Action::SetState(Set::Available));
    let mut a = app(fixtures::wrap_up());
    assert_eq!(ch(&mut a, 'r'), ready);
    assert_eq!(click_text(&mut a, "r Ready"), ready);
    let mut a = app(fixtures::available());
    assert_eq!(ch(&mut a, 'r'), None);
    // Before the directory lists me there is no state to set.
    let mut a = app(fixtures::idle());
    assert_eq!(ch(&mut a, 's'), None);
}

/// Issue 10: `y` opens my history; the code is picked with Up/Down, letters (even `y`, `q`)
/// type the note, Enter stores both, Esc closes without storing.
#[test]
fn the_history_panel_sets_the_disposition_of_the_last_call() {
    let mut a = app(fixtures::with_history());
    assert_eq!(ch(&mut a, 'y'), Some(Action::OpenHistory));
    assert_eq!(key(&mut a, KeyCode::Down), None);
    assert_eq!(key(&mut a, KeyCode::Down), None);
    assert_eq!(key(&mut a, KeyCode::Down), None, "stays on the last code");
    assert_eq!(key(&mut a, KeyCode::Up), None);
    type_text(&mut a, "yq refundx");
    assert_eq!(key(&mut a, KeyCode::Backspace), None);
    assert_eq!(
        key(&mut a, KeyCode::Enter),
        Some(Action::SetDisposition {
            code: "callback".into(),
            note: "yq refund".into()
        })
    );
    assert_eq!(key(&mut a, KeyCode::Esc), Some(Action::ClosePopup));
    assert!(a.modal().is_none());
    // With no call in the history there is nothing to set.
    let mut a = app(fixtures::wrap_up());
    ch(&mut a, 'y');
    assert_eq!(key(&mut a, KeyCode::Enter), None);
}

#[test]
fn supervisor_keys_pick_a_call_and_listen_whisper_or_barge() {
    use super::supervisor::SuperviseMode;
    let mut a = fixtures::app(fixtures::supervisor_floor());
    let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    assert_eq!(
        a.handle_key(key('w')),
        Some(Action::Supervise {
            room: Some("7".into()),
            mode: SuperviseMode::Whisper
        }),
        "the first call is picked"
    );
    let _ = a.handle_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    let _ = a.handle_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    assert_eq!(
        a.handle_key(key('l')),
        Some(Action::Supervise {
            room: Some("8".into()),
            mode: SuperviseMode::Listen
        }),
        "down past the last stays on the last"
    );
    // In a call: the keys switch how I am in it.
    let mut m = fixtures::supervisor_floor();
    m.call = fixtures::in_call().call;
    a.update(m);
    assert_eq!(
        a.handle_key(key('b')),
        Some(Action::Supervise {
            room: None,
            mode: SuperviseMode::Barge
        })
    );
    // An agent (no floor) gets nothing from these keys.
    let mut agent = fixtures::app(fixtures::idle());
    assert_eq!(agent.handle_key(key('w')), None);
}

/// Issue 10: the history panel with the mouse — the footer's `y History` opens it, a click on a
/// code picks it, `[Enter Save]` stores code and note, `[Esc Close]` closes. Without a call in
/// the history there is no Save button.
#[test]
fn the_history_panel_works_with_the_mouse() {
    let mut a = app(fixtures::with_history());
    assert_eq!(click_text(&mut a, "y History"), Some(Action::OpenHistory));
    assert!(draw_text(&mut a).contains("Disposition of your last call: 14:02:11 Carol Customer"));
    assert_eq!(click_text(&mut a, "escalated"), None);
    type_text(&mut a, "call back");
    assert_eq!(
        click_text(&mut a, "Enter Save"),
        Some(Action::SetDisposition {
            code: "escalated".into(),
            note: "call back".into()
        })
    );
    assert_eq!(click_text(&mut a, "[Esc Close]"), Some(Action::ClosePopup));
    assert!(a.modal().is_none());
    // The footer's Esc Close does the same.
    ch(&mut a, 'y');
    assert_eq!(click_text(&mut a, "Esc Close "), Some(Action::ClosePopup));
    assert!(a.modal().is_none());

    let mut a = app(fixtures::wrap_up());
    ch(&mut a, 'y');
    assert!(
        !draw_text(&mut a).contains("Enter Save]"),
        "nothing to save"
    );
}

/// Issue 10: the supervisor's Listen / Whisper / Barge by mouse — a click on a call row picks it,
/// the buttons under the calls (and the footer's hints) join it; in a call they switch; with no
/// call there are no buttons and the hint says why.
#[test]
fn supervisor_buttons_and_hints_join_the_picked_call_by_click() {
    use super::supervisor::SuperviseMode;
    let join = |room: Option<&str>, mode| {
        Some(Action::Supervise {
            room: room.map(str::to_string),
            mode,
        })
    };
    let mut a = app(fixtures::supervisor_floor());
    assert_eq!(
        click_text(&mut a, "[w Whisper]"),
        join(Some("7"), SuperviseMode::Whisper)
    );
    assert_eq!(click_text(&mut a, "sip:+15550111"), None, "picks call 8");
    assert_eq!(
        click_text(&mut a, "[l Listen]"),
        join(Some("8"), SuperviseMode::Listen)
    );
    assert_eq!(
        click_text(&mut a, "b Barge ·"),
        join(Some("8"), SuperviseMode::Barge),
        "the footer's hint"
    );
    // In a call: switch how I am in it.
    let mut m = fixtures::supervisor_floor();
    m.call = fixtures::in_call().call;
    a.update(m);
    assert_eq!(
        click_text(&mut a, "[b Barge]"),
        join(None, SuperviseMode::Barge)
    );
    // No call on the floor: no buttons; the hint explains.
    let mut m = fixtures::supervisor_floor();
    if let Some(f) = m.floor.as_mut() {
        f.calls.clear();
    }
    let mut a = app(m);
    assert!(!draw_text(&mut a).contains("[l Listen]"));
    assert!(matches!(
        click_text(&mut a, "l Listen"),
        Some(Action::Explain(_))
    ));
}

/// Issue 10: every hint of the main screen's footer can be clicked and does what its key does;
/// during a call the footer's Quit asks first, like the key.
#[test]
fn footer_hints_are_clickable_like_their_keys() {
    let mut a = app(fixtures::idle());
    assert_eq!(click_text(&mut a, "? Help"), Some(Action::Help));
    assert!(a.help_open());
    assert_eq!(click_text(&mut a, "Esc Close"), Some(Action::ClosePopup));
    assert_eq!(click_text(&mut a, "d Dial"), Some(Action::OpenDial));
    assert!(a.dial_prompt().is_some());
    assert_eq!(click_text(&mut a, "Esc Close"), Some(Action::ClosePopup));
    assert_eq!(
        click_text(&mut a, "v Voice ·"),
        Some(Action::SetVoice(false))
    );
    let mut a = app(fixtures::in_call());
    assert_eq!(click_text(&mut a, "Quit"), None, "asks first");
    assert!(!a.should_quit());
    assert!(draw_text(&mut a).contains("You are in a call: quitting hangs up"));
}
