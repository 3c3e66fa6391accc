//! Adaptive jitter buffer with reordering and FEC/PLC-aware playout.
