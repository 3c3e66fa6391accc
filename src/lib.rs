//! agentphone — the agent softphone: a UI-agnostic SIP user agent (`phone`), audio sources and
//! sinks (`audio`), the headless scripted face (`headless`) and the config file reader.

pub mod audio;
pub mod config_file;
pub mod headless;
pub mod phone;
pub mod tui;
