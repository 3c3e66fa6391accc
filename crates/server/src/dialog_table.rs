//! Which room owns which dialog: in-dialog requests are routed by Call-ID (every leg of a room
//! has its own Call-ID, since the server is a B2BUA), and the list of live rooms for shutdown.
//! The INVITEs a room sends are known by Call-ID too until answered, so that a BYE which overtook
//! the 2xx (through a proxy) reaches the room instead of a 481.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::ids::{LegId, OfferId, RoomId};
use crate::room_handle::RoomHandle;

/// Where an in-dialog request goes ([`DialogTable::route`]).
pub enum Route {
    /// A leg of a room.
    Leg(RoomHandle, LegId),
    /// An INVITE a room sent that has no final answer yet.
    Offer(RoomHandle, OfferId),
}

/// Call-ID → (room, leg), and every live room.
#[derive(Default)]
pub struct DialogTable {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    by_call_id: HashMap<String, (RoomId, LegId)>,
    /// INVITEs rooms sent that have no final answer yet.
    offers: HashMap<String, (RoomId, OfferId)>,
    rooms: HashMap<RoomId, RoomEntry>,
    subscriptions: HashMap<String, SubOwner>,
}

/// A live room and the Call-IDs bound to it (so that its end removes them without scanning
/// every dialog of the server: that scan made each call's end dearer as rooms piled up).
struct RoomEntry {
    handle: RoomHandle,
    call_ids: Vec<String>,
    offer_call_ids: Vec<String>,
}

/// Who serves a subscription dialog (SUBSCRIBE refreshes are routed by its Call-ID).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubOwner {
    /// The directory event package.
    Directory,
    /// A room's state package.
    Room(RoomId),
}

impl DialogTable {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves the maps consistent (single inserts/removes).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sizes of the tables: (rooms, dialogs by Call-ID, subscriptions).
    pub fn sizes(&self) -> (usize, usize, usize) {
        let inner = self.lock();
        (
            inner.rooms.len(),
            inner.by_call_id.len(),
            inner.subscriptions.len(),
        )
    }

    /// A room starts.
    pub fn add_room(&self, room: RoomHandle) {
        let entry = RoomEntry {
            handle: room,
            call_ids: Vec::new(),
            offer_call_ids: Vec::new(),
        };
        self.lock().rooms.insert(entry.handle.id(), entry);
    }

    /// A room ended: forget it and all its dialogs.
    pub fn remove_room(&self, id: RoomId) {
        let mut inner = self.lock();
        if let Some(entry) = inner.rooms.remove(&id) {
            for call_id in entry.call_ids {
                if inner
                    .by_call_id
                    .get(&call_id)
                    .is_some_and(|(room, _)| *room == id)
                {
                    inner.by_call_id.remove(&call_id);
                }
            }
            for call_id in entry.offer_call_ids {
                if inner
                    .offers
                    .get(&call_id)
                    .is_some_and(|(room, _)| *room == id)
                {
                    inner.offers.remove(&call_id);
                }
            }
        }
        inner
            .subscriptions
            .retain(|_, owner| *owner != SubOwner::Room(id));
    }

    /// A leg's dialog (by Call-ID) belongs to `room`. False if that Call-ID is already in use.
    pub fn bind(&self, call_id: &str, room: RoomId, leg: LegId) -> bool {
        let mut inner = self.lock();
        if inner.by_call_id.contains_key(call_id) {
            return false;
        }
        let Some(entry) = inner.rooms.get_mut(&room) else {
            return false; // the room ended already
        };
        entry.call_ids.push(call_id.to_string());
        inner.by_call_id.insert(call_id.to_string(), (room, leg));
        true
    }

    /// A leg left.
    pub fn unbind(&self, call_id: &str) {
        let mut inner = self.lock();
        if let Some((room, _)) = inner.by_call_id.remove(call_id) {
            if let Some(entry) = inner.rooms.get_mut(&room) {
                entry.call_ids.retain(|c| c != call_id);
            }
        }
    }

    /// The room and leg owning this Call-ID.
    pub fn lookup(&self, call_id: &str) -> Option<(RoomHandle, LegId)> {
        let inner = self.lock();
        let (room, leg) = inner.by_call_id.get(call_id)?;
        inner.rooms.get(room).map(|e| (e.handle.clone(), *leg))
    }

    /// An INVITE of `room` (by its Call-ID) waits for its final answer.
    pub fn bind_offer(&self, call_id: &str, room: RoomId, offer: OfferId) {
        let mut inner = self.lock();
        let Some(entry) = inner.rooms.get_mut(&room) else {
            return;
        };
        entry.offer_call_ids.push(call_id.to_string());
        inner.offers.insert(call_id.to_string(), (room, offer));
    }

    /// That INVITE has its final answer (or was given up).
    pub fn unbind_offer(&self, call_id: &str) {
        let mut inner = self.lock();
        if let Some((room, _)) = inner.offers.remove(call_id) {
            if let Some(entry) = inner.rooms.get_mut(&room) {
                entry.offer_call_ids.retain(|c| c != call_id);
            }
        }
    }

    /// Where an in-dialog request with this Call-ID goes: the leg that owns it, else the INVITE
    /// of ours still waiting for its answer — read under one lock. Two separate lookups raced
    /// the join, which binds the leg and then unbinds the offer: a BYE could miss both (481).
    pub fn route(&self, call_id: &str) -> Option<Route> {
        let inner = self.lock();
        if let Some((room, leg)) = inner.by_call_id.get(call_id) {
            if let Some(e) = inner.rooms.get(room) {
                return Some(Route::Leg(e.handle.clone(), *leg));
            }
        }
        let (room, offer) = inner.offers.get(call_id)?;
        inner
            .rooms
            .get(room)
            .map(|e| Route::Offer(e.handle.clone(), *offer))
    }

    /// A live room by id.
    pub fn room(&self, id: RoomId) -> Option<RoomHandle> {
        self.lock().rooms.get(&id).map(|e| e.handle.clone())
    }

    /// A subscription dialog (by Call-ID) is served by `owner`.
    pub fn bind_subscription(&self, call_id: &str, owner: SubOwner) {
        self.lock().subscriptions.insert(call_id.to_string(), owner);
    }

    /// A subscription ended.
    pub fn unbind_subscription(&self, call_id: &str) {
        self.lock().subscriptions.remove(call_id);
    }

    /// Who serves this subscription dialog.
    pub fn subscription(&self, call_id: &str) -> Option<SubOwner> {
        self.lock().subscriptions.get(call_id).copied()
    }

    /// Every live room.
    pub fn rooms(&self) -> Vec<RoomHandle> {
        self.lock()
            .rooms
            .values()
            .map(|e| e.handle.clone())
            .collect()
    }
}
