//! An RTP peer for tests: a thread that every 20 ms sends a tone (or silence, or nothing) and keeps
//! everything it hears, so a test can ask "which tones did I hear in the last second?".

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::wait::wait_until_async;
use agentphone_media::codec::CodecKind;
use agentphone_media::session::{RtpSession, SessionConfig};
use agentphone_media::tone::{detect_tones, ToneGenerator};
use agentphone_media::{Frame, FRAME, SAMPLE_RATE};
use agentphone_sip::sdp::Negotiated;

/// A running RTP peer.
pub struct MediaPeer {
    pub local: SocketAddr,
    heard: Arc<Mutex<Vec<i16>>>,
    digits: Arc<Mutex<Vec<char>>>,
    stop: Arc<AtomicBool>,
    /// While false, nothing is sent (a vanished party).
    pub sending: Arc<AtomicBool>,
    dtmf: Arc<AtomicU32>,
    thread: Option<JoinHandle<()>>,
}

/// A bound session not yet running (its port goes into the SDP first).
pub struct Unstarted {
    pub session: RtpSession,
}

impl Unstarted {
    pub fn bind() -> Unstarted {
        let session = RtpSession::bind(IpAddr::V4(Ipv4Addr::LOCALHOST))
            .unwrap_or_else(|e| panic!("RTP bind: {e}"));
        Unstarted { session }
    }
    pub fn port(&self) -> u16 {
        self.session.local_addr().port()
    }
    /// Configure from a negotiation and start sending `tone_hz`.
    pub fn start(mut self, n: &Negotiated, tone_hz: f32) -> MediaPeer {
        let codec =
            CodecKind::from_name(&n.codec.name).unwrap_or_else(|| panic!("codec {}", n.codec.name));
        let cfg = SessionConfig {
            remote: n.remote_addr,
            codec,
            pt: n.codec.pt,
            telephone_event_pt: n.telephone_event.as_ref().map(|f| f.pt),
            rtcp_mux: n.answer.rtcp_mux,
            srtp: None,
        };
        self.session
            .configure(cfg)
            .unwrap_or_else(|e| panic!("configure: {e}"));
        MediaPeer::run(self.session, tone_hz)
    }
}

impl MediaPeer {
    fn run(mut session: RtpSession, tone_hz: f32) -> MediaPeer {
        let local = session.local_addr();
        let heard = Arc::new(Mutex::new(Vec::new()));
        let digits = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let sending = Arc::new(AtomicBool::new(true));
        let dtmf = Arc::new(AtomicU32::new(0));
        let (h, d, s, snd, dt) = (
            heard.clone(),
            digits.clone(),
            stop.clone(),
            sending.clone(),
            dtmf.clone(),
        );
        let thread = std::thread::spawn(move || {
            let mut tone = ToneGenerator::new(tone_hz, -12.0);
            let mut out: Frame = [0; FRAME];
            let mut inp: Frame = [0; FRAME];
            let mut got = Vec::with_capacity(16);
            let mut next = Instant::now();
            while !s.load(Ordering::Relaxed) {
                let now = Instant::now();
                got.clear();
                session.poll_receive(now, &mut got);
                session.next_frame(&mut inp);
                if let Ok(mut v) = h.lock() {
                    v.extend_from_slice(&inp);
                }
                if !got.is_empty() {
                    if let Ok(mut v) = d.lock() {
                        v.extend_from_slice(&got);
                    }
                }
                if snd.load(Ordering::Relaxed) {
                    let digit = dt.swap(0, Ordering::Relaxed);
                    if let Some(c) = char::from_u32(digit).filter(|_| digit != 0) {
                        let _ = session.send_dtmf(c);
                    }
                    tone.fill(&mut out);
                    let _ = session.send_frame(&out);
                }
                next += Duration::from_millis(20);
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    // Real-time pacing of the RTP stream (one frame per 20 ms), not a settle.
                    std::thread::sleep(wait);
                }
            }
        });
        MediaPeer {
            local,
            heard,
            digits,
            stop,
            sending,
            dtmf,
            thread: Some(thread),
        }
    }

    /// Forget what was heard so far.
    pub fn clear(&self) {
        if let Ok(mut v) = self.heard.lock() {
            v.clear();
        }
    }

    /// Which of `freqs` are present in the last `secs` of what was heard.
    pub fn hears(&self, freqs: &[f32], secs: f32) -> Vec<bool> {
        let v = self.heard.lock().map(|v| v.clone()).unwrap_or_default();
        let n = ((SAMPLE_RATE as f32 * secs) as usize).min(v.len());
        let tail = v.get(v.len() - n..).unwrap_or(&[]);
        detect_tones(tail, SAMPLE_RATE, freqs)
    }

    /// Wait until the last second heard matches `tones` (frequency, heard?) — the phase has
    /// changed and a full analysis window holds only the new one — polling every 50 ms for up to
    /// 8 s; panics naming `who` with the last reading. Waits for the sound, not a fixed time.
    pub async fn assert_hears(&self, who: &str, tones: &[(f32, bool)]) {
        let freqs: Vec<f32> = tones.iter().map(|t| t.0).collect();
        let want: Vec<bool> = tones.iter().map(|t| t.1).collect();
        let what = format!("{who} to hear {freqs:?}: {want:?}");
        wait_until_async(&what, Duration::from_secs(8), || {
            let got = self.hears(&freqs, 1.0);
            std::future::ready(if got == want {
                Ok(())
            } else {
                Err(format!("{got:?}"))
            })
        })
        .await;
    }

    /// Wait until DTMF `digit` has arrived (up to 5 s); panics with what did.
    pub async fn assert_digit(&self, digit: char) {
        let what = format!("DTMF digit {digit}");
        wait_until_async(&what, Duration::from_secs(5), || {
            let digits = self.digits();
            std::future::ready(if digits.contains(&digit) {
                Ok(())
            } else {
                Err(format!("digits {digits:?}"))
            })
        })
        .await;
    }

    /// Send one DTMF digit.
    pub fn send_dtmf(&self, digit: char) {
        self.dtmf.store(digit as u32, Ordering::Relaxed);
    }

    /// DTMF digits received.
    pub fn digits(&self) -> Vec<char> {
        self.digits.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Drop for MediaPeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
