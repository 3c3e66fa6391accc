//! Sending side of RFC 4733 events: a queue of digits, each sent as ~100 ms of event packets
//! followed by three end packets, instead of audio frames.

use crate::dtmf::{self, DtmfEvent};
use std::collections::VecDeque;

/// Event packets without the end bit (5 × 20 ms = 100 ms).
const TONE_PACKETS: u32 = 5;
/// End packets (RFC 4733 §2.5.1.4: the final packet is sent three times).
const END_PACKETS: u32 = 3;
/// Digits that may wait in the queue.
pub(super) const QUEUE_CAPACITY: usize = 32;
const VOLUME: u8 = 10;

struct Current {
    event: u8,
    start_ts: u32,
    sent: u32,
}

/// One event packet to send.
pub(super) struct EventPacket {
    pub payload: [u8; dtmf::EVENT_LEN],
    /// The event's start timestamp (the RTP ts of every packet of the event).
    pub ts: u32,
    /// First packet of the event (RTP marker bit).
    pub first: bool,
}

pub(super) struct DtmfSender {
    queue: VecDeque<u8>,
    current: Option<Current>,
}

impl DtmfSender {
    pub fn new() -> Self {
        DtmfSender {
            queue: VecDeque::with_capacity(QUEUE_CAPACITY),
            current: None,
        }
    }

    /// Queue an event code; false when the queue is full.
    /// Nothing queued and no event being sent.
    pub fn is_idle(&self) -> bool {
        self.current.is_none() && self.queue.is_empty()
    }

    pub fn queue(&mut self, event: u8) -> bool {
        if self.queue.len() >= QUEUE_CAPACITY {
            return false;
        }
        self.queue.push_back(event);
        true
    }

    /// The packet to send in place of the audio frame at `frame_ts`, if an event is due.
    /// `step` is the RTP timestamp increment per frame.
    pub fn next_packet(&mut self, frame_ts: u32, step: u32) -> Option<EventPacket> {
        if self.current.is_none() {
            let event = self.queue.pop_front()?;
            self.current = Some(Current {
                event,
                start_ts: frame_ts,
                sent: 0,
            });
        }
        let cur = self.current.as_mut()?;
        cur.sent += 1;
        let end = cur.sent > TONE_PACKETS;
        let frames = cur.sent.min(TONE_PACKETS);
        let ev = DtmfEvent {
            event: cur.event,
            end,
            volume: VOLUME,
            duration: (frames * step).min(u32::from(u16::MAX)) as u16,
        };
        let mut payload = [0u8; dtmf::EVENT_LEN];
        dtmf::write(&ev, &mut payload);
        let packet = EventPacket {
            payload,
            ts: cur.start_ts,
            first: cur.sent == 1,
        };
        if cur.sent >= TONE_PACKETS + END_PACKETS {
            self.current = None;
        }
        Some(packet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_digit_is_five_tone_and_three_end_packets() {
        let mut s = DtmfSender::new();
        assert!(s.next_packet(0, 960).is_none());
        assert!(s.queue(5));
        let mut ends = 0;
        let mut frame_ts = 1000;
        for i in 0..8 {
            let p = s.next_packet(frame_ts, 960).unwrap();
            let ev = dtmf::parse(&p.payload).unwrap();
            assert_eq!(ev.event, 5);
            assert_eq!(p.ts, 1000);
            assert_eq!(p.first, i == 0);
            if ev.end {
                ends += 1;
                assert_eq!(ev.duration, 5 * 960);
            }
            frame_ts += 960;
        }
        assert_eq!(ends, 3);
        assert!(s.next_packet(frame_ts, 960).is_none());
    }

    #[test]
    fn queue_is_bounded() {
        let mut s = DtmfSender::new();
        for _ in 0..QUEUE_CAPACITY {
            assert!(s.queue(1));
        }
        assert!(!s.queue(1));
    }
}
