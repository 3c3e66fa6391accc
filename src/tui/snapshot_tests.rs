//! Screens rendered on a `TestBackend` and compared with the reviewed `.snap` files in
//! `snapshots/`. Text only: colour is checked separately (NO_COLOR).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;

use super::app::App;
use super::fixtures::{self, app};
use super::theme::Theme;

fn render(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    terminal.draw(|f| app.draw(f)).expect("draw");
    terminal
}

fn press(app: &mut App, code: KeyCode) {
    let _ = app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

#[test]
fn agent_states_in_the_header_80x24() {
    // Available, away with the reason, wrap-up counting down with Ready beside it.
    let mut shots = String::new();
    for model in [fixtures::available(), fixtures::away(), fixtures::wrap_up()] {
        let mut a = app(model);
        let t = render(&mut a, 80, 24);
        let buffer = t.backend().buffer();
        let header: String = (0..80)
            .map(|x| buffer.cell((x, 0)).map_or(" ", |c| c.symbol()))
            .collect();
        let footer: String = (0..80)
            .map(|x| buffer.cell((x, 23)).map_or(" ", |c| c.symbol()))
            .collect();
        shots.push_str(&format!("{}\n{}\n", header.trim_end(), footer.trim_end()));
    }
    assert_snapshot!(shots);
}

#[test]
fn state_menu_80x24() {
    let mut a = app(fixtures::away());
    press(&mut a, KeyCode::Char('s'));
    assert_snapshot!(render(&mut a, 80, 24).backend());
}

#[test]
fn idle_80x24() {
    let mut a = app(fixtures::idle());
    assert_snapshot!(render(&mut a, 80, 24).backend());
}

#[test]
fn incoming_call_with_team_and_transfer_reason_80x24() {
    let mut a = app(fixtures::incoming());
    assert_snapshot!(render(&mut a, 80, 24).backend());
}

#[test]
fn incoming_call_with_the_customers_queue_wait_80x24() {
    let mut a = app(fixtures::incoming_queued());
    assert_snapshot!(render(&mut a, 80, 24).backend());
}

#[test]
fn in_call_80x24() {
    let mut a = app(fixtures::in_call());
    assert_snapshot!(render(&mut a, 80, 24).backend());
}

#[test]
fn muted_80x24() {
    let mut a = app(fixtures::muted());
    assert_snapshot!(render(&mut a, 80, 24).backend());
}

#[test]
fn customer_on_hold_80x24() {
    let mut a = app(fixtures::on_hold());
    assert_snapshot!(render(&mut a, 80, 24).backend());
}

#[test]
fn transfer_modal_agent_tab_filtered_80x24() {
    let mut a = app(fixtures::in_call());
    press(&mut a, KeyCode::Char('t'));
    type_text(&mut a, "e");
    assert_snapshot!(render(&mut a, 80, 24).backend());
}

#[test]
fn transfer_modal_team_tab_with_reason_and_listen_only_80x24() {
    let mut a = app(fixtures::in_call());
    press(&mut a, KeyCode::Char('t'));
    press(&mut a, KeyCode::Right);
    press(&mut a, KeyCode::Tab);
    type_text(&mut a, "Refund over 100 EUR");
    press(&mut a, KeyCode::Tab);
    press(&mut a, KeyCode::Char(' '));
    assert_snapshot!(render(&mut a, 80, 24).backend());
}

#[test]
fn transfer_ringing_80x24() {
    let mut a = app(fixtures::transfer_ringing());
    assert_snapshot!(render(&mut a, 80, 24).backend());
}

#[test]
fn transfer_consulting_80x24() {
    let mut a = app(fixtures::consulting());
    assert_snapshot!(render(&mut a, 80, 24).backend());
}

#[test]
fn transfer_three_way_80x24() {
    let mut a = app(fixtures::three_way());
    assert_snapshot!(render(&mut a, 80, 24).backend());
}

#[test]
fn transfer_completed_seen_by_target_80x24() {
    let mut a = app(fixtures::completed());
    assert_snapshot!(render(&mut a, 80, 24).backend());
}

#[test]
fn offline_reconnecting_80x24() {
    let mut a = app(fixtures::offline());
    assert_snapshot!(render(&mut a, 80, 24).backend());
}

#[test]
fn no_audio_device_80x24() {
    let mut a = app(fixtures::no_audio());
    assert_snapshot!(render(&mut a, 80, 24).backend());
}

#[test]
fn no_audio_notice_and_demo_hint_stack_under_the_header_80x24() {
    let mut model = fixtures::no_audio();
    model.notice = Some(super::strings::transferred_to("Bob Stone"));
    model.hint = Some(super::strings::demo_hint(
        &super::demo::second_terminal_command(
            "127.0.0.1:5060".parse().expect("addr"),
            std::path::Path::new("demo"),
        ),
    ));
    let mut a = app(model);
    assert_snapshot!(render(&mut a, 80, 24).backend());
}

#[test]
fn help_overlay_80x24() {
    let mut a = app(fixtures::in_call());
    press(&mut a, KeyCode::Char('?'));
    assert_snapshot!(render(&mut a, 80, 24).backend());
}

#[test]
fn dial_prompt_80x24() {
    let mut a = app(fixtures::idle());
    press(&mut a, KeyCode::Char('d'));
    type_text(&mut a, "sip:+4930123@pstn");
    assert_snapshot!(render(&mut a, 80, 24).backend());
}

#[test]
fn keypad_in_call_80x24() {
    let mut a = app(fixtures::in_call());
    press(&mut a, KeyCode::Char('d'));
    type_text(&mut a, "12#");
    assert_snapshot!(render(&mut a, 80, 24).backend());
}

#[test]
fn consulting_120x40() {
    let mut a = app(fixtures::consulting());
    assert_snapshot!(render(&mut a, 120, 40).backend());
}

#[test]
fn transfer_modal_120x40() {
    let mut a = app(fixtures::in_call());
    press(&mut a, KeyCode::Char('t'));
    assert_snapshot!(render(&mut a, 120, 40).backend());
}

#[test]
fn no_color_uses_no_colours_and_stays_readable() {
    let mut a = fixtures::app_with_theme(fixtures::transfer_ringing(), Theme::no_color());
    let terminal = render(&mut a, 80, 24);
    let buffer = terminal.backend().buffer();
    let coloured = buffer
        .content
        .iter()
        .filter(|c| c.fg != Color::Reset || c.bg != Color::Reset)
        .count();
    assert_eq!(coloured, 0, "NO_COLOR: no cell may carry a colour");
    assert_snapshot!(terminal.backend());

    // The same screen with colours does use them, so the check above can fail.
    let mut coloured_app = app(fixtures::transfer_ringing());
    let terminal = render(&mut coloured_app, 80, 24);
    assert!(terminal
        .backend()
        .buffer()
        .content
        .iter()
        .any(|c| c.fg != Color::Reset || c.bg != Color::Reset));
}

#[test]
fn resize_redraws_cleanly_at_the_new_size() {
    let mut a = app(fixtures::in_call());
    let mut terminal = render(&mut a, 120, 40);
    terminal.backend_mut().resize(80, 24);
    terminal
        .resize(ratatui::layout::Rect::new(0, 0, 80, 24))
        .expect("resize");
    terminal.draw(|f| a.draw(f)).expect("draw");
    let mut fresh = app(fixtures::in_call());
    let expected = render(&mut fresh, 80, 24);
    assert_eq!(terminal.backend().buffer(), expected.backend().buffer());
}

#[test]
fn tiny_terminal_does_not_panic() {
    for (w, h) in [(1, 1), (10, 3), (20, 5), (40, 10), (79, 23)] {
        for model in [
            fixtures::incoming(),
            fixtures::three_way(),
            fixtures::no_audio(),
        ] {
            let mut a = app(model);
            press(&mut a, KeyCode::Char('t'));
            render(&mut a, w, h);
            press(&mut a, KeyCode::Char('?'));
            render(&mut a, w, h);
        }
    }
}

/// #6: a caller without a display name shows the URI, which must not run into the role column.
#[test]
fn caller_uri_without_display_name_keeps_its_own_column_80x24() {
    for uri in [
        "sip:customer@127.0.0.1",
        "sip:+4930123456789@customers.example.com",
    ] {
        let mut model = fixtures::in_call();
        if let Some(call) = model.call.as_mut() {
            call.customer = Some(uri.into());
            call.participants[0].user = uri.into();
            call.participants[0].name = uri.into();
        }
        let mut a = app(model);
        let terminal = render(&mut a, 80, 24);
        let buffer = terminal.backend().buffer();
        let rows: Vec<String> = (0..24)
            .map(|y| {
                (0..80)
                    .filter_map(|x| buffer.cell((x, y)))
                    .map(|c| c.symbol())
                    .collect()
            })
            .collect();
        let row = rows
            .iter()
            .find(|r| r.contains("customer ") && r.contains("talking"))
            .unwrap_or_else(|| panic!("{uri}: no participant row in\n{}", rows.join("\n")));
        let role_at = row.find("customer ").unwrap_or_default();
        let before_role = row.get(..role_at).unwrap_or_default();
        assert!(
            before_role.ends_with(' '),
            "{uri}: name runs into the role column: {row:?}"
        );
        if uri.len() > 21 {
            assert!(
                before_role.contains('…'),
                "{uri}: cut without a mark: {row:?}"
            );
        }
        if uri.starts_with("sip:+49") {
            assert_snapshot!(terminal.backend());
        }
    }
}
