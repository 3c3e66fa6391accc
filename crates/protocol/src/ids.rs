//! Identifiers the wire carries, typed: a room, a participant of a room, a transfer within a room.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A room (one call on the server): `sip:room-ID@HOST`, and `"room": "ID"` in its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(pub u64);

impl RoomId {
    /// The user part of the room's URI (`room-7`).
    pub fn uri_user(self) -> String {
        format!("room-{}", self.0)
    }

    /// The room of a URI user part (`room-7` → 7).
    pub fn from_uri_user(user: &str) -> Option<RoomId> {
        user.strip_prefix("room-")?.parse().ok().map(RoomId)
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for RoomId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RoomId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map(RoomId)
            .map_err(|_| serde::de::Error::custom(format!("room id {text:?} is not a number")))
    }
}

/// A participant of a room: a connected leg (`L3`) or the target of a transfer still ringing
/// (`T1`, the transfer's number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParticipantId {
    /// A leg of the room (the server's leg number).
    Leg(u32),
    /// The agent a transfer is ringing (the transfer's number).
    Ringing(TransferId),
}

impl fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParticipantId::Leg(n) => write!(f, "L{n}"),
            ParticipantId::Ringing(t) => write!(f, "T{}", t.0),
        }
    }
}

impl FromStr for ParticipantId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("participant id {s:?} is neither L<n> nor T<n>");
        match (s.get(..1), s.get(1..)) {
            (Some("L"), Some(n)) => n.parse().map(ParticipantId::Leg).map_err(|_| bad()),
            (Some("T"), Some(n)) => n
                .parse()
                .map(|n| ParticipantId::Ringing(TransferId(n)))
                .map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

impl Serialize for ParticipantId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ParticipantId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A transfer's number within its room (1, 2, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TransferId(pub u64);

impl fmt::Display for TransferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_and_write_their_wire_form() {
        for (text, id) in [
            ("\"L3\"", ParticipantId::Leg(3)),
            ("\"T12\"", ParticipantId::Ringing(TransferId(12))),
        ] {
            assert_eq!(serde_json::to_string(&id).unwrap(), text);
            assert_eq!(serde_json::from_str::<ParticipantId>(text).unwrap(), id);
        }
        for bad in ["\"X1\"", "\"L\"", "\"Lx\"", "\"\"", "3"] {
            assert!(serde_json::from_str::<ParticipantId>(bad).is_err(), "{bad}");
        }
        assert_eq!(serde_json::to_string(&RoomId(7)).unwrap(), "\"7\"");
        assert_eq!(serde_json::from_str::<RoomId>("\"7\"").unwrap(), RoomId(7));
        assert!(serde_json::from_str::<RoomId>("\"seven\"").is_err());
        assert_eq!(RoomId::from_uri_user("room-42"), Some(RoomId(42)));
        assert_eq!(RoomId::from_uri_user("roomy-42"), None);
        assert_eq!(RoomId(42).uri_user(), "room-42");
    }
}
