"""Hold/resume click check on the audio a phone really received (issue 9): the energy above
8 kHz around each switch, in 5 ms windows, must stay within 10 dB of its louder side (the mean of
the windows 0.3–0.9 s before or after it). A hard cut is a broadband click far above both.

The switch moments come from the holding phone's events (wall clock) and are placed in the
listener's recording through its own sent packets (captured): the listener sends one packet and
records one frame per 20 ms tick, so its k-th packet's capture time is the k-th frame's.
"""
import numpy as np
from scipy.signal import butter, sosfilt

from capture import FRAME, RATE, read_pcap, rtp, streams

WINDOW = 240  # 5 ms
LIMIT_DB = 10.0


def hf_db(x):
    """Energy above 8 kHz (dBFS, floor -100) per 5 ms window."""
    sos = butter(8, 8000, "highpass", fs=RATE, output="sos")
    y = sosfilt(sos, x)
    n = len(y) // WINDOW
    e = (y[: n * WINDOW].reshape(n, WINDOW) ** 2).mean(axis=1)
    return 10 * np.log10(e + 1e-10)


def click_db(hf, at_window):
    """Loudest window within ±0.1/+0.3 s of the switch above the louder side's mean, dB."""
    per_s = RATE // WINDOW
    lo, hi = max(0, at_window - per_s // 10), at_window + 3 * per_s // 10
    peak = hf[lo:hi].max(initial=-100.0)

    def mean_db(a, b):
        side = hf[max(0, a):max(0, b)]
        return 10 * np.log10((10 ** (side / 10)).mean() + 1e-10) if len(side) else -100.0

    louder = max(mean_db(lo - 9 * per_s // 10, lo - 3 * per_s // 10),
                 mean_db(hi + 3 * per_s // 10, hi + 9 * per_s // 10))
    return peak - louder


def switch_clicks(recording, listener_pcap, listener_ip, others_pcap, switches_wall):
    """{name: dB above the louder side} for every (name, wall time) switch heard in
    `recording` (float samples, 48 kHz). The listener (the customer, on the server's address)
    is told from the server's stream to it by what the server relayed on to the agent
    (`others_pcap`, from the same address): the listener's payloads, byte for byte."""
    relayed = {bytes(r[4]) for p in read_pcap(others_pcap)
               if p[1] == listener_ip and (r := rtp(p[5])) is not None}
    theirs = {ssrc: pkts for ssrc, pkts in streams(read_pcap(listener_pcap), listener_ip).items()
              if any(bytes(b) in relayed for _t, _s, _ts, b, _ in pkts[:50])}
    if not theirs:
        return "the listener's stream is not in the capture"
    ticks = max(theirs.values(), key=len)
    ticks.sort(key=lambda p: p[0])
    ts0 = ticks[0][2]
    frames = np.array([((ts - ts0) & 0xFFFFFFFF) // FRAME for _t, _s, ts, _b, _ in ticks])
    times = np.array([t for t, *_ in ticks])
    hf = hf_db(recording)
    out = {}
    for name, wall in switches_wall:
        i = int(np.searchsorted(times, wall))
        if i >= len(times):
            continue
        out[name] = click_db(hf, int(frames[i]) * (FRAME // WINDOW))
    return out
