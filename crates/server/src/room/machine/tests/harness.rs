//! One call through the machine: the clock is a number of milliseconds since the start, events
//! go in one at a time, every effect comes back as one short line ([`line`]). A step lists the
//! lines it expects in order (others may come between); a line starting with `!` is a prefix no
//! effect of that step may have.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentphone_protocol::{AgentStatus, RoomCommand, RoomId};
use agentphone_sip::sdp::Direction;

use super::super::super::leg::Role;
use super::super::super::offer::OfferInput;
use super::super::io::*;
use super::super::{Phase, RoomMachine};
use crate::config::Config;
use crate::ids::OfferId;
use crate::media_engine::MediaEventKind;
use crate::records::RecordOp;

/// The accounts and teams of every flow: support = alice, bob, carol (in that order); sales =
/// dave; ring 15 s, queue 120 s, 3 participants.
pub fn config() -> Config {
    let text = r#"
[[agents]]
username = "alice"
display_name = "Alice"
password = "a"
[[agents]]
username = "bob"
display_name = "Bob"
password = "b"
[[agents]]
username = "carol"
display_name = "Carol"
password = "c"
[[agents]]
username = "dave"
display_name = "Dave"
password = "d"
[[teams]]
name = "support"
members = ["alice", "bob", "carol"]
inbound = "help"
[[teams]]
name = "sales"
members = ["dave"]
"#;
    Config::from_toml_str(text, "flows.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// The customer of every flow.
pub fn customer() -> Role {
    Role::Customer {
        uri: "sip:cust@example.com".into(),
        display: Some("Cust".into()),
    }
}

/// One effect as one line.
pub fn line(e: &Effect) -> String {
    match e {
        Effect::AnswerEarly { leg } => format!("early {leg}"),
        Effect::AnswerCaller(CallerReply::Ok) => "caller 200".into(),
        Effect::AnswerCaller(CallerReply::Final(c, _)) => format!("caller {c}"),
        Effect::AnswerCaller(CallerReply::Refused(c, _)) => format!("caller refused {c}"),
        Effect::Respond { tx, reply } => match reply {
            Reply::Ok => format!("tx{} ok", tx.0),
            Reply::Status(c, _) => format!("tx{} {c}", tx.0),
            Reply::Refuse(c, _, w) => format!("tx{} {c} {w}", tx.0),
            Reply::NotAllowed => format!("tx{} 405", tx.0),
        },
        Effect::Ask(Ask::Team { team, exclude }) => {
            format!("ask team {team} -{}", exclude.join(","))
        }
        Effect::Ask(Ask::Agent(user)) => format!("ask agent {user}"),
        Effect::Directory(DirOp::Release(u)) => format!("release {u}"),
        Effect::Directory(DirOp::RangOut(u)) => format!("rang out {u}"),
        Effect::Directory(DirOp::Answered(u)) => format!("answered {u}"),
        Effect::Directory(DirOp::CallStarted(u)) => format!("started {u}"),
        Effect::Directory(DirOp::CallEnded(u)) => format!("ended {u}"),
        Effect::Directory(DirOp::MonitorEnded(u)) => format!("monitor ended {u}"),
        Effect::StartOffer { offer, to, invite } => {
            let mut s = format!("offer {} {}", offer.0, to.label());
            if let Some(t) = &invite.team {
                s += &format!(" team={t}");
            }
            if let Some(b) = &invite.referred_by {
                s += &format!(" by={b}");
            }
            if let Some(r) = &invite.subject {
                s += &format!(" subject={r}");
            }
            if invite.listen_only {
                s += " listen";
            }
            s += &format!(" shown={}", invite.shown.label());
            s
        }
        Effect::CancelOffer(o) => format!("cancel offer {}", o.0),
        Effect::Join {
            offer,
            leg,
            listen_only,
        } => format!(
            "join offer {} as {leg}{}",
            offer.0,
            if *listen_only { " listen" } else { "" }
        ),
        Effect::HangUpLate(o) => format!("hang up offer {}", o.0),
        Effect::SetMode { leg, mode } => format!("mode {leg} {mode:?}"),
        Effect::WatchTimeout { leg, on } => format!("watch {leg} {on}"),
        Effect::DropLeg { leg, bye } => format!("drop {leg}{}", if *bye { " bye" } else { "" }),
        Effect::Record(RecordOp::Started {
            kind,
            caller,
            target,
            ..
        }) => format!("record started {kind} {caller} -> {target}"),
        Effect::Record(RecordOp::State { state, detail, .. }) => {
            format!("record {state}: {}", detail.as_deref().unwrap_or(""))
        }
        Effect::Record(RecordOp::Answered { agent, .. }) => format!("record answered {agent}"),
        Effect::Record(RecordOp::Ended { reason, .. }) => format!("record ended: {reason}"),
        Effect::Record(RecordOp::AgentJoined { agent, party, .. }) => {
            format!("history {agent} joined, with {party}")
        }
        Effect::Record(RecordOp::AgentLeft {
            agent, transferred, ..
        }) => format!(
            "history {agent} left{}",
            if *transferred { " transferred" } else { "" }
        ),
        Effect::Sipfrag { leg, status, last } => {
            format!("sipfrag {leg} {status}{}", if *last { " last" } else { "" })
        }
        Effect::AnswerReinvite { tx, leg } => format!("reinvite tx{} leg {leg}", tx.0),
        Effect::AcceptSubscription { tx, user, .. } => format!("sub tx{} {user}", tx.0),
        Effect::NotifyState { state, end } => {
            let mut s = match state {
                Some(st) => format!("state v{}", st.version),
                None => "state -".into(),
            };
            match end {
                Some(Ends::User(u)) => s += &format!(" end {u}"),
                Some(Ends::All) => s += " end all",
                None => {}
            }
            s
        }
        Effect::AcceptSupervisor { tx, leg } => format!("accept supervisor tx{} as {leg}", tx.0),
        Effect::Ended(reason) => format!("ended: {reason}"),
    }
}

/// Check one step's lines against what it expects.
pub fn check(step: &str, got: &[String], expect: &[&str]) {
    let mut at = 0;
    for want in expect {
        if let Some(prefix) = want.strip_prefix('!') {
            if let Some(bad) = got.iter().find(|g| g.starts_with(prefix)) {
                panic!("{step}: unexpected `{bad}`\n  got: {got:#?}");
            }
            continue;
        }
        let matches = |g: &String| match want.split_once('*') {
            Some((a, b)) => g.len() >= a.len() + b.len() && g.starts_with(a) && g.ends_with(b),
            None => g == want,
        };
        match got[at..].iter().position(matches) {
            Some(i) => at += i + 1,
            None => panic!("{step}: missing `{want}` (in order)\n  got: {got:#?}"),
        }
    }
}

/// One call in virtual time.
pub struct Call {
    pub m: RoomMachine,
    t0: Instant,
    now: Instant,
    next_tx: u64,
}

impl Call {
    /// A room with the flows' config.
    pub fn new() -> Call {
        Call::with(config())
    }

    /// A room with this config.
    pub fn with(config: Config) -> Call {
        let t0 = Instant::now();
        Call {
            m: RoomMachine::new(Arc::new(config), RoomId(7), "rec".into(), (t0, 1_000_000)),
            t0,
            now: t0,
            next_tx: 0,
        }
    }

    /// Seconds since the call started.
    pub fn secs(&self) -> f64 {
        (self.now - self.t0).as_secs_f64()
    }

    /// Move the clock on.
    pub fn wait(&mut self, d: Duration) {
        self.now += d;
    }

    /// A fresh transaction id.
    pub fn tx(&mut self) -> TxId {
        self.next_tx += 1;
        TxId(self.next_tx)
    }

    /// Feed one event; its effects as lines.
    pub fn ev(&mut self, event: Event) -> Vec<String> {
        self.m.handle(event, self.now).iter().map(line).collect()
    }

    /// Feed one event; its effects as they are.
    pub fn raw(&mut self, event: Event) -> Vec<Effect> {
        self.m.handle(event, self.now)
    }

    /// Feed one event and check the lines.
    pub fn step(&mut self, event: Event, expect: &[&str]) -> Vec<String> {
        let name = format!("{event:?} at {:.1} s", self.secs());
        let got = self.ev(event);
        check(&name, &got, expect);
        got
    }

    /// Move the clock to the machine's deadline and tick; check the lines.
    pub fn ring_out(&mut self, expect: &[&str]) -> Vec<String> {
        let Some(at) = self.m.deadline() else {
            panic!("no deadline at {:.1} s", self.secs());
        };
        self.now = self.now.max(at);
        self.step(Event::Tick, expect)
    }

    /// A response to an offer.
    pub fn resp(&mut self, offer: u64, code: u16, expect: &[&str]) -> Vec<String> {
        let phrase = match code {
            180 => "Ringing",
            200 => "OK",
            486 => "Busy Here",
            480 => "Temporarily Unavailable",
            603 => "Decline",
            _ => "Whatever",
        };
        self.step(
            Event::Offer {
                offer: OfferId(offer),
                input: OfferInput::Response(code, phrase.into()),
            },
            expect,
        )
    }

    /// An offer's INVITE got no answer at all (Timer B / transport).
    pub fn unreachable(&mut self, offer: u64, expect: &[&str]) -> Vec<String> {
        self.step(
            Event::Offer {
                offer: OfferId(offer),
                input: OfferInput::Unreachable("no answer (timeout)".into()),
            },
            expect,
        )
    }

    /// The driver joined an answered offer.
    pub fn joined(&mut self, offer: u64, expect: &[&str]) -> Vec<String> {
        self.step(
            Event::Joined {
                offer: OfferId(offer),
                result: Ok(Direction::SendRecv),
            },
            expect,
        )
    }

    /// The directory reserved `user`.
    pub fn reserved(&mut self, user: &str, expect: &[&str]) -> Vec<String> {
        self.step(Event::Directory(DirReply::Reserved(user.into())), expect)
    }

    /// A request on a leg (a fresh transaction, returned).
    pub fn req(&mut self, leg: u32, req: Request, expect: &[&str]) -> TxId {
        let tx = self.tx();
        self.step(Event::Request { tx, leg, req }, expect);
        tx
    }

    /// A room command over INFO from `leg`.
    pub fn cmd(&mut self, leg: u32, cmd: RoomCommand, expect: &[&str]) -> TxId {
        self.req(leg, Request::Info(Ok(Some(cmd))), expect)
    }

    /// A leg hangs up.
    pub fn bye(&mut self, leg: u32, expect: &[&str]) {
        self.req(leg, Request::Bye, expect);
    }

    /// A leg goes silent for the RTP timeout (B3).
    pub fn silent(&mut self, leg: u32, expect: &[&str]) {
        self.step(
            Event::Media {
                leg,
                kind: MediaEventKind::RtpTimeout,
            },
            expect,
        );
    }

    /// A REFER from `leg` with Refer-To `<sip:{target}>` (e.g. `bob@h;agentphone-mode=listen`).
    pub fn refer(&mut self, leg: u32, target: &str, expect: &[&str]) -> TxId {
        self.req(leg, Request::Refer(Some(format!("<sip:{target}>"))), expect)
    }

    /// A caller starts a call to `dest`.
    pub fn start(&mut self, caller: Role, dest: Dest, expect: &[&str]) {
        self.step(Event::Start { caller, dest }, expect);
    }

    /// The driver answered a re-INVITE on `leg` with this direction.
    pub fn reinvited(&mut self, tx: TxId, leg: u32, direction: Direction, expect: &[&str]) {
        self.step(Event::Reinvited { tx, leg, direction }, expect);
    }

    /// `user` subscribes to the room (a fresh transaction).
    pub fn subscribe(&mut self, user: &str, expect: &[&str]) {
        let tx = self.tx();
        let user = user.to_string();
        self.step(
            Event::Subscribe {
                tx,
                user,
                expires_zero: false,
            },
            expect,
        );
    }

    /// The driver could not join an answered offer.
    pub fn join_failed(&mut self, offer: u64, why: Unusable, expect: &[&str]) {
        let result = Err(why);
        self.step(
            Event::Joined {
                offer: OfferId(offer),
                result,
            },
            expect,
        );
    }

    /// A party goes: BYE (`silent` false: no BYE back) or RTP silence (BYE from the room).
    pub fn vanish(&mut self, leg: u32, silent: bool, expect: &[&str]) {
        if silent {
            self.silent(leg, expect);
        } else {
            self.bye(leg, expect);
        }
    }

    /// A customer calls support under `config`, alice answers (legs: customer 1, alice 2).
    pub fn customer_with_alice_under(config: Config) -> Call {
        let mut c = Call::with(config);
        c.start(customer(), Dest::Team("support".into()), &["early 1"]);
        c.step(Event::EarlyAnswered(Ok(Direction::SendRecv)), &["ask*"]);
        c.reserved("alice", &["offer 1 alice*"]);
        c.resp(1, 200, &["join offer 1 as 2"]);
        c.joined(1, &["caller 200"]);
        c
    }

    /// The phase now.
    pub fn phase(&self) -> Phase {
        self.m.phase()
    }

    /// The timeline texts so far.
    pub fn timeline(&self) -> Vec<String> {
        self.m
            .room_state()
            .timeline
            .iter()
            .map(|t| t.text.clone())
            .collect()
    }

    /// A customer calls support; the caller is answered early (leg 1) and the directory asked.
    pub fn customer_calls_support() -> Call {
        let mut c = Call::new();
        c.step(
            Event::Start {
                caller: customer(),
                dest: Dest::Team("support".into()),
            },
            &[
                "record started inbound sip:cust@example.com -> support",
                "early 1",
                "!ask",
            ],
        );
        c.step(
            Event::EarlyAnswered(Ok(Direction::SendRecv)),
            &["ask team support -"],
        );
        c
    }

    /// The customer is connected with alice (legs: customer 1, alice 2; offer 1).
    pub fn customer_with_alice() -> Call {
        let mut c = Call::customer_calls_support();
        c.reserved(
            "alice",
            &[
                "record ringing: alice",
                "offer 1 alice team=support shown=sip:cust@example.com",
            ],
        );
        c.resp(1, 180, &["!join"]);
        c.resp(1, 200, &["join offer 1 as 2"]);
        c.joined(
            1,
            &[
                "answered alice",
                "caller 200",
                "record answered alice",
                "mode 1 Mixed",
                "mode 2 Mixed",
                "watch 1 true",
                "state v1",
            ],
        );
        assert_eq!(c.phase(), Phase::Connected);
        c
    }

    /// alice (leg 2) transfers to bob, who rings (offer 2) and answers as leg 3.
    pub fn consulting_bob() -> Call {
        let mut c = Call::customer_with_alice();
        c.ringing_bob();
        c.resp(2, 200, &["join offer 2 as 3"]);
        c.joined(
            2,
            &[
                "answered bob",
                "sipfrag 2 200 OK last",
                "record transfer_answered: Bob answered",
                "mode 1 Held",
                "mode 2 Mixed",
                "mode 3 Mixed",
            ],
        );
        c
    }

    /// The customer with alice, who transfers to bob; bob rings (offer 2).
    pub fn bob_ringing() -> Call {
        let mut c = Call::customer_with_alice();
        c.ringing_bob();
        c
    }

    /// alice (leg 2) asks to transfer to bob; bob rings (offer 2).
    pub fn ringing_bob(&mut self) {
        self.refer(2, "bob@h", &["ask agent bob", "!tx"]);
        self.reserved(
            "bob",
            &[
                "tx* ok",
                "sipfrag 2 100 Trying",
                "record transfer_requested: Alice asked to transfer to Bob",
                "offer 2 bob by=alice shown=sip:cust@example.com",
                "sipfrag 2 180 Ringing",
                "record transfer_ringing: Ringing Bob",
                "mode 1 Held",
                "mode 2 Ringback",
            ],
        );
    }

    /// The agent status the directory gives for `user`.
    pub fn unavailable(&mut self, status: AgentStatus, expect: &[&str]) -> Vec<String> {
        self.step(Event::Directory(DirReply::Unavailable(status)), expect)
    }
}

/// How a leg leaving shows: `drop N` after a BYE, `drop N bye` after silence.
pub fn drop_line(leg: u32, silent: bool) -> String {
    if silent {
        format!("drop {leg} bye")
    } else {
        format!("drop {leg}")
    }
}

/// An agent's role.
pub fn agent(user: &str) -> Role {
    Role::Agent(user.into())
}
