//! Two key slots addressed by a 2-bit key id (documented on [`KeySlots`]).

use crate::error::SecurityError;
use crate::model::KeyId;

/// Why [`KeySlots::install`] refused a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeySlotError {
    /// The key id names the active key; installing would overwrite it.
    #[error("key id {} is active and cannot be overwritten", .0.get())]
    ActiveKeyId(KeyId),
}

#[derive(Debug)]
struct Slot<K> {
    id: KeyId,
    key: K,
}

/// Two key slots addressed by a 2-bit [`KeyId`], for make-before-break rollover.
///
/// The rollover of one stream, as both ends run it:
///
/// 1. `install(next_id, key)` puts the next generation into the idle slot (never over the
///    active key);
/// 2. at a frame boundary the transmitter starts using `next_id` and calls `activate(next_id)`;
///    the receiver activates when it sees the new key id in a frame header;
/// 3. the previous key stays in its slot, so packets of frames still in flight verify;
/// 4. `retire()` drops it.
///
/// Generic over the key type, so engines can store expanded key schedules. A key leaves a slot
/// only by being dropped, so its own `Drop` (for [`SecretKey`](crate::keys::SecretKey):
/// `ZeroizeOnDrop`) wipes it.
#[derive(Debug)]
pub struct KeySlots<K> {
    slots: [Option<Slot<K>>; 2],
    active: Option<usize>,
}

impl<K> Default for KeySlots<K> {
    fn default() -> Self {
        KeySlots::new()
    }
}

impl<K> KeySlots<K> {
    /// Two empty slots, none active.
    pub const fn new() -> Self {
        KeySlots {
            slots: [None, None],
            active: None,
        }
    }

    fn find(&self, id: KeyId) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.id == id))
    }

    /// The slot `install` writes: the one that is not active; with no active key, the slot
    /// already holding `id`, else an empty one, else slot 0.
    fn idle_index(&self, id: KeyId) -> usize {
        match self.active {
            Some(a) => 1 - (a & 1),
            None => self
                .find(id)
                .or_else(|| self.slots.iter().position(Option::is_none))
                .unwrap_or(0),
        }
    }

    /// Installs `key` under `id` in the idle slot, dropping whatever that slot held (a retired
    /// generation, or an earlier install that was never activated).
    ///
    /// # Errors
    /// [`KeySlotError::ActiveKeyId`] when `id` is the active key's id; the new key is dropped
    /// and the slots are unchanged.
    pub fn install(&mut self, id: KeyId, key: K) -> Result<(), KeySlotError> {
        if self.active_id() == Some(id) {
            return Err(KeySlotError::ActiveKeyId(id));
        }
        let idx = self.idle_index(id);
        if let Some(slot) = self.slots.get_mut(idx) {
            *slot = Some(Slot { id, key });
        }
        Ok(())
    }

    /// Makes `id` the active key (at a frame boundary). The previously active key stays
    /// installed, for receivers, until [`retire`](Self::retire). Activating the active key is a
    /// no-op.
    ///
    /// # Errors
    /// [`SecurityError::UnknownKeyId`] when no key is installed under `id`.
    pub fn activate(&mut self, id: KeyId) -> Result<(), SecurityError> {
        let idx = self.find(id).ok_or(SecurityError::UnknownKeyId(id))?;
        self.active = Some(idx);
        Ok(())
    }

    /// Drops the key in the idle slot (the previous generation, or an unactivated install) and
    /// returns its id. With no active key nothing is retired.
    pub fn retire(&mut self) -> Option<KeyId> {
        let a = self.active?;
        let idle = self.slots.get_mut(1 - (a & 1))?;
        idle.take().map(|s| s.id)
    }

    /// The key installed under `id`, active or not.
    ///
    /// # Errors
    /// [`SecurityError::UnknownKeyId`] when no key is installed under `id`.
    pub fn get(&self, id: KeyId) -> Result<&K, SecurityError> {
        self.slots
            .iter()
            .flatten()
            .find(|s| s.id == id)
            .map(|s| &s.key)
            .ok_or(SecurityError::UnknownKeyId(id))
    }

    /// The key installed under `id`, active or not, writable (for example to count its usage).
    ///
    /// # Errors
    /// [`SecurityError::UnknownKeyId`] when no key is installed under `id`.
    pub fn get_mut(&mut self, id: KeyId) -> Result<&mut K, SecurityError> {
        self.slots
            .iter_mut()
            .flatten()
            .find(|s| s.id == id)
            .map(|s| &mut s.key)
            .ok_or(SecurityError::UnknownKeyId(id))
    }

    /// The active key and its id.
    pub fn active(&self) -> Option<(KeyId, &K)> {
        let slot = self.slots.get(self.active?)?.as_ref()?;
        Some((slot.id, &slot.key))
    }

    /// The active key's id.
    pub fn active_id(&self) -> Option<KeyId> {
        self.active().map(|(id, _)| id)
    }

    /// The id the next key generation gets: the one after the active key's id (ids cycle
    /// 0, 1, 2, 3), so it is never the active id and differs from the generation before it
    /// too; 0 with no active key.
    ///
    /// Two installs of further generations before any activation get the same id, and the
    /// second replaces the first in the idle slot: a peer that follows the same rule from the
    /// same active key (the one of the last frame) picks the same id, however many rekeys
    /// happened between two frames.
    pub fn next_id(&self) -> KeyId {
        match self.active_id() {
            // `(id + 1) % 4` is at most 3: always a valid key id.
            Some(id) => KeyId::new((id.get() + 1) % 4).unwrap_or_default(),
            None => KeyId::default(),
        }
    }

    /// Drops every key (each wiped by its own `Drop`) and leaves no key active: the end of the
    /// session the keys belong to.
    pub fn clear(&mut self) {
        self.slots = [None, None];
        self.active = None;
    }

    /// Whether no key is installed.
    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
    }
}
