//! Every key binding in one place (gitui's `key_config` idea): components ask "is this the mute
//! key?", never compare characters themselves, and the help overlay and footer show the same labels.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One key, with the modifiers that must be held (Shift is ignored for characters: terminals
/// disagree about reporting it for `?`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyBinding {
    /// The key.
    pub code: KeyCode,
    /// Ctrl / Alt that must be held.
    pub modifiers: KeyModifiers,
}

impl KeyBinding {
    /// A key without modifiers.
    pub const fn plain(code: KeyCode) -> Self {
        KeyBinding {
            code,
            modifiers: KeyModifiers::NONE,
        }
    }

    /// A character key without modifiers.
    pub const fn char(c: char) -> Self {
        Self::plain(KeyCode::Char(c))
    }

    /// A character with Ctrl held.
    pub const fn ctrl(c: char) -> Self {
        KeyBinding {
            code: KeyCode::Char(c),
            modifiers: KeyModifiers::CONTROL,
        }
    }

    /// True when `ev` is this key.
    pub fn matches(&self, ev: &KeyEvent) -> bool {
        let held = ev.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        let want = self.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        let code_matches = match (self.code, ev.code) {
            (KeyCode::Char(a), KeyCode::Char(b)) => a.eq_ignore_ascii_case(&b),
            (a, b) => a == b,
        };
        code_matches && held == want
    }

    /// How the key is written on screen: "m", "Enter", "Ctrl-C".
    pub fn label(&self) -> String {
        let key = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "Enter".to_string(),
            KeyCode::Esc => "Esc".to_string(),
            KeyCode::Tab => "Tab".to_string(),
            KeyCode::BackTab => "Shift-Tab".to_string(),
            KeyCode::Backspace => "Bksp".to_string(),
            KeyCode::Left => "←".to_string(),
            KeyCode::Right => "→".to_string(),
            KeyCode::Up => "↑".to_string(),
            KeyCode::Down => "↓".to_string(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            format!("Ctrl-{}", key.to_uppercase())
        } else {
            key
        }
    }
}

/// All bindings of the app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyConfig {
    /// Call component: mute / unmute.
    pub mute: KeyBinding,
    /// Call component: hold / resume.
    pub hold: KeyBinding,
    /// Call component: transfer / cancel transfer / complete transfer.
    pub transfer: KeyBinding,
    /// Call component: hang up.
    pub hangup: KeyBinding,
    /// Incoming call: answer.
    pub answer: KeyBinding,
    /// Incoming call: decline.
    pub decline: KeyBinding,
    /// Dial prompt (idle) or keypad (in a call).
    pub dial: KeyBinding,
    /// Voice channel switch.
    pub voice: KeyBinding,
    /// The agent-state menu (available / away).
    pub state: KeyBinding,
    /// End after-call work: ready for calls.
    pub ready: KeyBinding,
    /// Help overlay.
    pub help: KeyBinding,
    /// Open my call history and disposition.
    pub history: KeyBinding,
    /// Quit.
    pub quit: KeyBinding,
    /// Quit from anywhere (raw mode turns Ctrl-C into a key).
    pub force_quit: KeyBinding,
    /// Confirm a popup.
    pub confirm: KeyBinding,
    /// Close a popup.
    pub close: KeyBinding,
    /// Next field in a popup.
    pub next_field: KeyBinding,
    /// Previous field in a popup.
    pub prev_field: KeyBinding,
    /// Previous tab of the transfer modal.
    pub tab_left: KeyBinding,
    /// Next tab of the transfer modal.
    pub tab_right: KeyBinding,
    /// Previous row.
    pub up: KeyBinding,
    /// Next row.
    pub down: KeyBinding,
    /// Toggle a check box.
    pub toggle: KeyBinding,
    /// Delete the last character typed.
    pub backspace: KeyBinding,
    /// Supervisor view: listen to the picked call (or switch to listening).
    pub listen: KeyBinding,
    /// Supervisor view: whisper to the agent.
    pub whisper: KeyBinding,
    /// Supervisor view: barge in.
    pub barge: KeyBinding,
}

impl Default for KeyConfig {
    fn default() -> Self {
        KeyConfig {
            mute: KeyBinding::char('m'),
            hold: KeyBinding::char('h'),
            transfer: KeyBinding::char('t'),
            hangup: KeyBinding::char('x'),
            answer: KeyBinding::char('a'),
            decline: KeyBinding::char('d'),
            dial: KeyBinding::char('d'),
            voice: KeyBinding::char('v'),
            state: KeyBinding::char('s'),
            ready: KeyBinding::char('r'),
            help: KeyBinding::char('?'),
            history: KeyBinding::char('y'),
            quit: KeyBinding::char('q'),
            force_quit: KeyBinding::ctrl('c'),
            confirm: KeyBinding::plain(KeyCode::Enter),
            close: KeyBinding::plain(KeyCode::Esc),
            next_field: KeyBinding::plain(KeyCode::Tab),
            prev_field: KeyBinding::plain(KeyCode::BackTab),
            tab_left: KeyBinding::plain(KeyCode::Left),
            tab_right: KeyBinding::plain(KeyCode::Right),
            up: KeyBinding::plain(KeyCode::Up),
            down: KeyBinding::plain(KeyCode::Down),
            toggle: KeyBinding::char(' '),
            backspace: KeyBinding::plain(KeyCode::Backspace),
            listen: KeyBinding::char('l'),
            whisper: KeyBinding::char('w'),
            barge: KeyBinding::char('b'),
        }
    }
}

/// The printable character a key types into a text field, if any (no Ctrl/Alt held).
pub fn typed_char(ev: &KeyEvent) -> Option<char> {
    if ev
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return None;
    }
    match ev.code {
        KeyCode::Char(c) if !c.is_control() => Some(c),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_is_ignored_for_characters_but_ctrl_is_not() {
        let keys = KeyConfig::default();
        let shifted = KeyEvent::new(KeyCode::Char('?'), KeyModifiers::SHIFT);
        assert!(keys.help.matches(&shifted));
        let ctrl_m = KeyEvent::new(KeyCode::Char('m'), KeyModifiers::CONTROL);
        assert!(!keys.mute.matches(&ctrl_m));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert!(keys.force_quit.matches(&ctrl_c));
        assert_eq!(keys.force_quit.label(), "Ctrl-C");
        assert_eq!(typed_char(&ctrl_c), None);
    }
}
