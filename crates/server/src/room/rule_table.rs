//! Named cases of a rule table (tests only): every case runs even when one fails, the failures
//! are listed by name, and the table prints how many cases it ran (`cargo test -- --nocapture`
//! shows `rule table <name>: N cases`).

use std::panic::{catch_unwind, AssertUnwindSafe};

/// One table of cases.
pub struct Table {
    name: &'static str,
    ran: usize,
    failed: Vec<String>,
}

impl Table {
    /// A new table.
    pub fn new(name: &'static str) -> Table {
        Table {
            name,
            ran: 0,
            failed: Vec::new(),
        }
    }

    /// Run one case; a panic marks it failed with its message.
    pub fn case(&mut self, name: &str, f: impl FnOnce()) {
        self.ran += 1;
        if let Err(e) = catch_unwind(AssertUnwindSafe(f)) {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            self.failed.push(format!("{name}: {msg}"));
        }
    }

    /// Print the count; fail with every failed case.
    pub fn finish(self) {
        println!("rule table {}: {} cases", self.name, self.ran);
        assert!(self.ran > 0, "rule table {} has no cases", self.name);
        assert!(
            self.failed.is_empty(),
            "rule table {}: {} of {} cases failed:\n{}",
            self.name,
            self.failed.len(),
            self.ran,
            self.failed.join("\n")
        );
    }
}
