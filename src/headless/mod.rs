//! Headless mode: the Phone engine driven by a script (or stdin), printing one JSON event per
//! line on stdout. See `docs/headless.md` for the interface.

mod output;
mod runner;
mod script;

pub use output::EventPrinter;
pub use runner::{run, Input, RunOutcome};
pub use script::{parse_line, parse_script, Command, ParseError, ScriptLine};
