//! RTCP (RFC 3550 §6): SR/RR/BYE parsing and building, reception statistics, RTT.
