//! The real TUI in a terminal: a tmux server of the test's own (its own socket, so the user's
//! sessions are never touched) running one command in session `tui`; keys in, screen out.

use std::ffi::OsStr;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long `wait_for` waits for the screen.
pub const SCREEN_WAIT: Duration = Duration::from_secs(20);

/// A tmux server with one session, killed on drop.
pub struct Tmux {
    pub socket: String,
    pub session: String,
}

impl Tmux {
    /// Whether tmux is installed (the TUI tests skip without it; .ci/setup installs it).
    pub fn available() -> bool {
        Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Run `command` in a `width`×`height` terminal; `name` makes the socket unique among the
    /// tests of one process.
    pub fn start(name: &str, command: &str, width: u16, height: u16) -> Tmux {
        Tmux::start_with_env(name, command, width, height, &[])
    }

    /// As `start`, with extra environment variables for the command.
    pub fn start_with_env(
        name: &str,
        command: &str,
        width: u16,
        height: u16,
        env: &[(&str, &OsStr)],
    ) -> Tmux {
        let tmux = Tmux {
            socket: format!("agentphone-{name}-{}", std::process::id()),
            session: "tui".to_string(),
        };
        let status = Command::new("tmux")
            .args(["-L", &tmux.socket, "new-session", "-d", "-s", &tmux.session])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .arg(command)
            .envs(env.iter().copied())
            .status()
            .unwrap_or_else(|e| panic!("run tmux: {e}"));
        assert!(status.success(), "tmux new-session failed");
        tmux
    }

    /// A tmux command on this server; its stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run tmux {args:?}: {e}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Type keys (tmux key names: "a", "Enter", "Down").
    pub fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .unwrap_or_else(|e| panic!("tmux send-keys: {e}"));
        assert!(status.success(), "tmux send-keys {keys:?}");
    }

    /// The screen's text now.
    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", &self.session])
    }

    /// Wait until the screen contains every one of `texts` (within `SCREEN_WAIT`); panic with
    /// the screen otherwise.
    pub fn wait_for(&self, step: &str, texts: &[&str]) -> String {
        self.wait_until(step, SCREEN_WAIT, &format!("{texts:?}"), |screen| {
            texts.iter().all(|t| screen.contains(t))
        })
    }

    /// Wait until the first line (the header) contains `text`; the header.
    pub fn header_shows(&self, step: &str, text: &str, within: Duration) -> String {
        let screen = self.wait_until(step, within, &format!("{text:?} in the header"), |s| {
            s.lines().next().unwrap_or_default().contains(text)
        });
        screen.lines().next().unwrap_or_default().to_string()
    }

    /// Wait until `done(screen)`; panic naming `step` and `what` with the screen otherwise.
    pub fn wait_until(
        &self,
        step: &str,
        within: Duration,
        what: &str,
        done: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{step}: the screen never showed {what}; it shows:\n{screen}"
            );
            // The poll interval of this wait for the screen, not a settle.
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The process id of the program in the pane.
    pub fn pane_pid(&self) -> u32 {
        let out = self.run(&["display-message", "-p", "-t", &self.session, "#{pane_pid}"]);
        out.trim()
            .parse()
            .unwrap_or_else(|e| panic!("tmux pane pid {out:?}: {e}"))
    }

    /// Whether the session still runs (the program has not exited).
    pub fn is_running(&self) -> bool {
        Command::new("tmux")
            .args(["-L", &self.socket, "has-session", "-t", &self.session])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Wait until the program exits (within `within`); panic with the screen otherwise.
    pub fn wait_exit(&self, step: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while self.is_running() {
            assert!(
                Instant::now() < deadline,
                "{step}: the TUI did not exit:\n{}",
                self.screen()
            );
            // The poll interval of this wait for the exit, not a settle.
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}
