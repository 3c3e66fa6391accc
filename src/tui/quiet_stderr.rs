//! ALSA prints its complaints ("Unknown PCM default", "cannot find card '0'") straight to the
//! process's stderr while the audio devices open — onto the terminal, before the UI (issue 10 #9).
//! While a closure runs, stderr (fd 2) goes to a temporary file; afterwards it is restored and
//! what was written there goes to the log instead.

use std::io::{Read, Seek, SeekFrom};
use std::os::fd::AsRawFd;

/// Run `f` with stderr captured; the captured lines are logged (debug). If stderr cannot be
/// redirected, `f` simply runs with it as it is.
pub fn run<T>(f: impl FnOnce() -> T) -> T {
    let (out, captured) = capture(f);
    for line in captured.lines().filter(|l| !l.trim().is_empty()) {
        tracing::debug!("audio library: {line}");
    }
    out
}

/// An unnamed temporary file (created, then unlinked: it lives while open).
fn scratch() -> Option<std::fs::File> {
    let path = std::env::temp_dir().join(format!(
        "agentphone-stderr-{}-{:x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .ok()?;
    let _ = std::fs::remove_file(&path);
    Some(file)
}

/// Run `f` with fd 2 going to a scratch file; what was written there.
fn capture<T>(f: impl FnOnce() -> T) -> (T, String) {
    let Some(mut file) = scratch() else {
        return (f(), String::new());
    };
    // SAFETY: dup/dup2/close on fd 2 and on a file we own; no memory is shared with them.
    let saved = unsafe { libc::dup(2) };
    if saved < 0 || unsafe { libc::dup2(file.as_raw_fd(), 2) } < 0 {
        if saved >= 0 {
            unsafe { libc::close(saved) };
        }
        return (f(), String::new());
    }
    let out = f();
    // SAFETY: as above; `saved` is the stderr we duplicated and is closed once restored.
    unsafe {
        libc::dup2(saved, 2);
        libc::close(saved);
    }
    let mut captured = String::new();
    if file.seek(SeekFrom::Start(0)).is_err() || file.read_to_string(&mut captured).is_err() {
        captured.clear();
    }
    (out, captured)
}

#[cfg(test)]
mod tests {
    use super::capture;

    #[test]
    fn what_is_written_to_stderr_meanwhile_is_captured_and_stderr_comes_back() {
        let (value, captured) = capture(|| {
            // SAFETY: writing a byte buffer to fd 2.
            let text = b"ALSA lib conf.c: Unknown PCM default\n";
            let n = unsafe { libc::write(2, text.as_ptr().cast(), text.len()) };
            assert_eq!(n, text.len() as isize);
            7
        });
        assert_eq!(value, 7);
        assert!(captured.contains("Unknown PCM default"), "{captured:?}");
        // fd 2 is a valid descriptor again (the test harness's stderr).
        assert!(unsafe { libc::fcntl(2, libc::F_GETFD) } >= 0);
    }
}
