//! Every glyph on screen must be readable with colours on: no text drawn in the colour of its own
//! background (#3: the key letter of `[h Resume]` was yellow on yellow).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::Terminal;

use super::action::Action;
use super::app::App;
use super::components::button::{draw_button, Button};
use super::fixtures::{self, app};
use super::model::Model;
use super::theme::Theme;

/// Cells with a glyph whose foreground equals their background, as "(x,y) 'c'" strings.
fn invisible_glyphs(buffer: &Buffer) -> Vec<String> {
    let area = buffer.area;
    let mut bad = Vec::new();
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let Some(cell) = buffer.cell((x, y)) else {
                continue;
            };
            let visible = !cell.symbol().trim().is_empty();
            if visible && cell.bg != Color::Reset && cell.fg == cell.bg {
                bad.push(format!("({x},{y}) {:?} {:?}", cell.symbol(), cell.fg));
            }
        }
    }
    bad
}

fn render(app: &mut App) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("test backend");
    terminal.draw(|f| app.draw(f)).expect("draw");
    terminal
}

fn press(app: &mut App, code: KeyCode) {
    let _ = app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

/// Every button style the theme has, each in a button with a key.
fn every_button_style(t: &Theme) -> Vec<(&'static str, Style)> {
    vec![
        ("rest", t.button()),
        ("active", t.button_active()),
        ("danger", t.button_danger()),
        ("go", t.button_go()),
        ("disabled", t.dim()),
        ("selected", t.selected()),
    ]
}

#[test]
fn key_letter_differs_from_its_background_in_every_button_style() {
    let t = Theme::colored();
    for (name, style) in every_button_style(&t) {
        let b = Button::new("h", "Resume", style, Action::Hold(false));
        let mut terminal = Terminal::new(TestBackend::new(20, 1)).expect("test backend");
        terminal
            .draw(|f| {
                draw_button(f, Rect::new(0, 0, 20, 1), (0, 0), &b, &t);
            })
            .expect("draw");
        let buffer = terminal.backend().buffer();
        let key = buffer.cell((1, 0)).expect("key cell");
        assert_eq!(key.symbol(), "h");
        assert!(
            key.bg == Color::Reset || key.fg != key.bg,
            "{name} button: key drawn {:?} on {:?}",
            key.fg,
            key.bg
        );
        // The key still stands out from the label (colour or modifier).
        let label = buffer.cell((3, 0)).expect("label cell");
        assert!(
            key.fg != label.fg || key.modifier != label.modifier,
            "{name} button: key looks like the label"
        );
    }
}

#[test]
fn every_screen_state_draws_no_glyph_in_its_own_background() {
    let screens: Vec<(&str, Model, Option<KeyCode>)> = vec![
        ("idle", fixtures::idle(), None),
        ("incoming", fixtures::incoming(), None),
        ("in call", fixtures::in_call(), None),
        ("muted (Unmute active)", fixtures::muted(), None),
        ("on hold (Resume active)", fixtures::on_hold(), None),
        (
            "ringing (Cancel transfer)",
            fixtures::transfer_ringing(),
            None,
        ),
        ("consulting (Complete)", fixtures::consulting(), None),
        ("three way", fixtures::three_way(), None),
        ("completed", fixtures::completed(), None),
        (
            "transfer modal",
            fixtures::in_call(),
            Some(KeyCode::Char('t')),
        ),
        ("keypad", fixtures::in_call(), Some(KeyCode::Char('d'))),
        ("dial", fixtures::idle(), Some(KeyCode::Char('d'))),
        ("help", fixtures::in_call(), Some(KeyCode::Char('?'))),
    ];
    for (name, model, key) in screens {
        let mut a = app(model);
        if let Some(code) = key {
            press(&mut a, code);
        }
        let terminal = render(&mut a);
        let bad = invisible_glyphs(terminal.backend().buffer());
        assert!(bad.is_empty(), "{name}: unreadable cells {bad:?}");
    }
}
