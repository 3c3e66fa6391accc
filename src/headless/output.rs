//! JSON event output: one object per line on stdout, each with `event` and `t` (seconds since
//! start). Nothing else ever goes to stdout in headless mode.

use std::io::Write;
use std::time::Instant;

use serde_json::{json, Map, Value};

use crate::phone::PhoneEvent;

/// Prints events as JSON lines with a time stamp.
pub struct EventPrinter {
    start: Instant,
    out: Box<dyn Write + Send>,
}

impl EventPrinter {
    /// Print to stdout; `t` counts from now.
    pub fn stdout() -> Self {
        Self::new(Box::new(std::io::stdout()))
    }

    /// Print to any writer (tests).
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        EventPrinter {
            start: Instant::now(),
            out,
        }
    }

    /// A phone event.
    pub fn event(&mut self, ev: &PhoneEvent) {
        match serde_json::to_value(ev) {
            Ok(Value::Object(map)) => self.object(map),
            _ => self.error(&format!("unprintable event {}", ev.name())),
        }
    }

    /// `{"event":"script_failed","line":N,"command":"…","reason":"…"}`
    pub fn script_failed(&mut self, line: usize, command: &str, reason: &str) {
        self.value(json!({
            "event": "script_failed",
            "line": line,
            "command": command,
            "reason": reason,
        }));
    }

    /// `{"event":"error","message":"…"}`
    pub fn error(&mut self, message: &str) {
        self.value(json!({ "event": "error", "message": message }));
    }

    fn value(&mut self, v: Value) {
        if let Value::Object(map) = v {
            self.object(map);
        }
    }

    fn object(&mut self, mut map: Map<String, Value>) {
        let t = (self.start.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
        map.insert("t".into(), json!(t));
        let line = Value::Object(map).to_string();
        // stdout gone (reader closed the pipe): nothing useful left to do with the line.
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_json_with_event_and_t() {
        let buf = Shared::default();
        let mut p = EventPrinter::new(Box::new(buf.clone()));
        p.event(&PhoneEvent::Registered {
            user: "alice".into(),
        });
        p.script_failed(4, "wait registered", "timed out after 10 s");
        p.error("boom");
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["event"], "registered");
        assert_eq!(lines[0]["user"], "alice");
        assert!(lines[0]["t"].as_f64().unwrap() >= 0.0);
        assert_eq!(lines[1]["event"], "script_failed");
        assert_eq!(lines[1]["line"], 4);
        assert_eq!(lines[1]["command"], "wait registered");
        assert_eq!(lines[2]["message"], "boom");
    }
}
