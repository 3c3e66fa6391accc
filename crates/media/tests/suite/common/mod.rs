//! Helpers for the loopback integration tests: a pair of sessions driven tick by tick, and a
//! UDP relay that can drop packets.

#![allow(dead_code)]

pub mod stream;

use agentphone_media::codec::CodecKind;
use agentphone_media::session::{FrameStatus, RtpSession, SessionConfig};
use agentphone_media::tone::ToneGenerator;
use agentphone_media::{Frame, FRAME};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
pub const TE_PT: u8 = 101;

pub fn config(remote: SocketAddr, codec: CodecKind) -> SessionConfig {
    SessionConfig {
        remote,
        codec,
        pt: codec.default_pt(),
        telephone_event_pt: Some(TE_PT),
        rtcp_mux: true,
        srtp: None,
    }
}

/// One side of a call: its session, tone source and everything it heard.
pub struct Side {
    pub session: RtpSession,
    pub tone: ToneGenerator,
    pub heard: Vec<i16>,
    pub statuses: Vec<FrameStatus>,
    pub digits: Vec<char>,
}

impl Side {
    pub fn new(freq: f32) -> Side {
        Side {
            session: RtpSession::bind(LOCALHOST).expect("bind"),
            tone: ToneGenerator::new(freq, -12.0),
            heard: Vec::new(),
            statuses: Vec::new(),
            digits: Vec::with_capacity(16),
        }
    }

    pub fn count(&self, s: FrameStatus) -> usize {
        self.statuses.iter().filter(|&&x| x == s).count()
    }
}

/// Drive both sides for `ticks` 20 ms ticks on a synthetic clock starting at `start`.
/// Each tick: both send a frame, then both poll until the packets the network delivered
/// (`delivered(a_sent, b_sent)` → (to A, to B)) have arrived or 200 ms of real time passed,
/// then both play out.
/// `recv_offset(tick)` shifts the receive time (simulated network jitter).
pub fn run_ticks(
    a: &mut Side,
    b: &mut Side,
    ticks: usize,
    start: Instant,
    delivered: &dyn Fn(u64, u64) -> (u64, u64),
    recv_offset: &dyn Fn(usize) -> Duration,
) {
    let mut frame: Frame = [0; FRAME];
    for tick in 0..ticks {
        let now = start + Duration::from_millis(20 * tick as u64);
        for side in [&mut *a, &mut *b] {
            side.tone.fill(&mut frame);
            side.session.send_frame(&frame).expect("send");
        }
        let deadline = Instant::now() + Duration::from_millis(200);
        let recv_now = now + recv_offset(tick);
        loop {
            a.session.poll_receive(recv_now, &mut a.digits);
            b.session.poll_receive(recv_now, &mut b.digits);
            let (qa, qb) = (a.session.quality(), b.session.quality());
            let (to_a, to_b) = delivered(qa.packets_sent, qb.packets_sent);
            let (qa, qb) = (qa.packets_received, qb.packets_received);
            if (qa >= to_a && qb >= to_b) || Instant::now() > deadline {
                break;
            }
            // The poll interval of this bounded wait for delivery, not a settle.
            std::thread::sleep(Duration::from_micros(200));
        }
        for side in [&mut *a, &mut *b] {
            side.session.maybe_send_rtcp(now);
            let st = side.session.next_frame(&mut frame);
            side.statuses.push(st);
            side.heard.extend_from_slice(&frame);
        }
    }
}

/// Loopback delivers everything: A receives what B sent and vice versa.
pub fn lossless(a_sent: u64, b_sent: u64) -> (u64, u64) {
    (b_sent, a_sent)
}

/// A UDP relay between A and B that drops every `drop_every`-th RTP packet in each direction
/// (RTCP always passes).
pub struct Relay {
    /// Configure A with this remote: the relay's socket facing A.
    pub a_remote: SocketAddr,
    /// Configure B with this remote: the relay's socket facing B.
    pub b_remote: SocketAddr,
    pub forwarded_to_a: Arc<AtomicU64>,
    pub forwarded_to_b: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Relay {
    /// Relay between sessions at `a` and `b`.
    pub fn start(a: SocketAddr, b: SocketAddr, drop_every: u64) -> Relay {
        let a_side = UdpSocket::bind((LOCALHOST, 0)).expect("relay bind");
        let b_side = UdpSocket::bind((LOCALHOST, 0)).expect("relay bind");
        for s in [&a_side, &b_side] {
            s.set_read_timeout(Some(Duration::from_millis(2)))
                .expect("timeout");
        }
        let a_remote = a_side.local_addr().expect("addr");
        let b_remote = b_side.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let forwarded_to_a = Arc::new(AtomicU64::new(0));
        let forwarded_to_b = Arc::new(AtomicU64::new(0));
        let (stop2, fa, fb) = (stop.clone(), forwarded_to_a.clone(), forwarded_to_b.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let (mut seen_from_a, mut seen_from_b) = (0u64, 0u64);
            while !stop2.load(Ordering::Relaxed) {
                // A → relay(a_side) → relay(b_side) → B
                if let Ok((n, _)) = a_side.recv_from(&mut buf) {
                    let rtcp = matches!(buf.get(1), Some(200..=204));
                    if !rtcp {
                        seen_from_a += 1;
                    }
                    if rtcp || seen_from_a % drop_every != 0 {
                        let _ = b_side.send_to(&buf[..n], b);
                        if !rtcp {
                            fb.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
                if let Ok((n, _)) = b_side.recv_from(&mut buf) {
                    let rtcp = matches!(buf.get(1), Some(200..=204));
                    if !rtcp {
                        seen_from_b += 1;
                    }
                    if rtcp || seen_from_b % drop_every != 0 {
                        let _ = a_side.send_to(&buf[..n], a);
                        if !rtcp {
                            fa.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            }
        });
        Relay {
            a_remote,
            b_remote,
            forwarded_to_a,
            forwarded_to_b,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
