//! Offline loss experiment: a WAV through our Opus encoder, random packet loss, our jitter
//! buffer and decoder (FEC/PLC), to a WAV — to see where quality goes under loss without the
//! network. `cargo run --release -p agentphone-media --example loss_sim -- IN OUT LOSS% HINT% SEED PHASE_MS`
use agentphone_media::codec::{CodecKind, Decoder, Encoder};
use agentphone_media::jitter::{JitterBuffer, Playout};
use agentphone_media::rtp::RtpHeader;
use agentphone_media::wav::{read_mono_48k, WavSink};
use agentphone_media::{Frame, FRAME};
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 7 {
        return Err("usage: loss_sim IN.wav OUT.wav LOSS% HINT% SEED PHASE_MS [BITRATE]".into());
    }
    let pcm = read_mono_48k(Path::new(&a[1]))?;
    let loss: f64 = a[3].parse()?;
    let hint: u8 = a[4].parse()?;
    let seed: u64 = a[5].parse()?;
    let phase_ms: u64 = a[6].parse()?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut enc = Encoder::new(CodecKind::Opus)?;
    enc.set_loss_hint(hint)?;
    if let Some(b) = a.get(7) {
        enc.set_bitrate(b.parse()?)?;
    }
    let mut dec = Decoder::new(CodecKind::Opus)?;
    let mut jb = JitterBuffer::new(48_000);
    let mut out = WavSink::create(Path::new(&a[2]))?;
    let t0 = Instant::now();
    let frames = pcm.len() / FRAME;
    let mut payload = [0u8; 1500];
    let (mut fec_used, mut plc_used) = (0, 0);
    for k in 0..frames + 10 {
        // Packet k is sent at k*20 ms and arrives 1 ms later (loss: never).
        let mut f: Frame = [0; FRAME];
        if k < frames {
            f.copy_from_slice(&pcm[k * FRAME..(k + 1) * FRAME]);
        }
        let n = enc.encode(&f, &mut payload)?;
        let now = t0 + Duration::from_millis(k as u64 * 20 + phase_ms);
        if !rng.gen_bool(loss / 100.0) {
            let h = RtpHeader {
                marker: false,
                pt: 111,
                seq: k as u16,
                ts: (k * 960) as u32,
                ssrc: 7,
            };
            jb.push(&h, &payload[..n], 960, now);
        }
        let mut frame: Frame = [0; FRAME];
        match jb.pop() {
            Playout::Packet { payload, .. } => {
                dec.decode(payload, &mut frame)?;
            }
            Playout::Missing { next, .. } => {
                if next.is_some() {
                    fec_used += 1
                } else {
                    plc_used += 1
                }
                dec.conceal(next, &mut frame)?;
            }
            Playout::Empty => {}
        }
        out.write(&frame)?;
    }
    out.finish()?;
    eprintln!("fec {fec_used} plc {plc_used} stats {:?}", jb.stats());
    Ok(())
}
