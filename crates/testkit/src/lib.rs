//! agentphone's test kit, one of each: the counting allocator (`alloc`), what-was-heard checks
//! (`tone`), the TUI in tmux (`tmux`), and with features the scripted SIP peer (`sip`), the server under test (`server`),
//! the headless-phone driver (`phone`), end-to-end scenario builders (`scenario`), a
//! throwaway PostgreSQL (`postgres`) and Redis (`redis`), a cluster behind Kamailio (`cluster`).
//!
//! Everything talks over real sockets on 127.0.0.1 with ephemeral ports. Helpers panic with a
//! message on failure: they are for tests only.

pub mod alloc;
pub mod capture;
pub mod pki;
pub mod tmux;
pub mod tone;
pub mod torture;
pub mod wait;

#[cfg(feature = "server")]
pub mod cluster;
#[cfg(feature = "server")]
pub mod phone;
#[cfg(feature = "server")]
pub mod postgres;
#[cfg(feature = "server")]
pub mod redis;
#[cfg(feature = "server")]
pub mod scenario;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "sip")]
pub mod sip;

/// What an end-to-end test of the root package needs: the server, headless phones, scenarios
/// and what-was-heard checks.
#[cfg(feature = "server")]
pub mod prelude {
    pub use crate::phone::{agentphone_bin, scratch_dir, Client, ClientOptions};
    pub use crate::scenario::{
        self, agent, agent_voice_off, assert_hear_each_other, customer_calls, customer_with_alice,
        paths, record_phase, transfer_answered, transfer_rings, ALICE_HZ, ALL_TONES, BOB_HZ,
        CAROL_HZ, CUSTOMER_HZ, DAVE_HZ,
    };
    pub use crate::server::{standard_config, TestServer};
    pub use crate::tmux::Tmux;
    pub use crate::tone::{Heard, MOH_NOTES};
    pub use crate::wait::wait_until;
}
