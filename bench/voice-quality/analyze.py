"""Align every looped copy of the reference speech in a recording and score it (WB-PESQ,
ITU-T P.862.2 via PyPI `pesq`). Also gives the lag of each copy (for mouth-to-ear).

Usage as a module: score(reference_wav, recording_wav, loop_len_s) -> dict
"""
import sys
import wave

import numpy as np
from scipy.signal import correlate, resample_poly
from pesq import pesq


def read_wav(path):
    with wave.open(path, "rb") as w:
        rate, ch, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        raw = w.readframes(w.getnframes())
    if width != 2:
        raise SystemExit(f"{path}: 16-bit WAV expected")
    x = np.frombuffer(raw, dtype="<i2").astype(np.float64)
    if ch > 1:
        x = x.reshape(-1, ch).mean(axis=1)
    return rate, x / 32768.0


def to16k(x, rate):
    if rate == 16000:
        return x
    g = np.gcd(int(rate), 16000)
    return resample_poly(x, 16000 // g, int(rate) // g)


def score(reference, recording, loop_len_s, speech_len_s):
    """PESQ and lag of every complete loop copy in `recording` (16 kHz analysis)."""
    rr, ref = read_wav(reference)
    cr, rec = read_wav(recording)
    ref, rec = to16k(ref, rr), to16k(rec, cr)
    speech = ref[: int(speech_len_s * 16000)]
    loop = int(loop_len_s * 16000)
    results = []
    # Search each copy in a window one loop long (plus slack for the path's delay).
    for start in range(0, len(rec) - loop - len(speech) // 4, loop):
        window = rec[start : start + loop + len(speech)]
        if len(window) < len(speech):
            break
        c = correlate(window, speech, mode="valid", method="fft")
        lag = int(np.argmax(np.abs(c)))
        deg = window[lag : lag + len(speech)]
        if len(deg) < len(speech) or np.max(np.abs(deg)) < 1e-3:
            continue
        try:
            mos = pesq(16000, speech, deg, "wb")
        except Exception as e:  # noqa: BLE001 - pesq raises on silent/short input
            print(f"  copy at {start / 16000:.1f}s: pesq failed: {e}", file=sys.stderr)
            continue
        results.append({"at_s": (start + lag) / 16000.0, "pesq": mos})
    return results


if __name__ == "__main__":
    ref, rec, loop_s, speech_s = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    for r in score(ref, rec, loop_s, speech_s):
        print(f"{r['at_s']:.3f} {r['pesq']:.3f}")
