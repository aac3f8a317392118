//! Holding unverified packets as [`Bytes`] handles (feature `bytes`).
//!
//! [`PacketHold`] follows the release rule of this module's parent for the caller: an original
//! packet released as [`Unverified`](super::Unverified) is kept as a [`Bytes`] handle to the
//! caller's buffer (no copy), and handed back only when a [`ScopeProof`] covers it; packets of
//! a scope that fails are dropped, never handed back. Integrity-only (SV-2..SV-4) packets come
//! back as the very handles that went in; SV-1 packets are decrypted in place when the handle
//! is the only one to its buffer, and into a new buffer otherwise.

use alloc::vec::Vec;

use bytes::{Bytes, BytesMut};
use cse_core::rx::ReceiverId;

use super::{DecryptTicket, Delivery, Event, PacketInfo, Receiver, ScopeId, ScopeProof};
use crate::error::FsedError;

/// An original packet held until its scope verifies.
#[derive(Debug)]
struct Held {
    bytes: Bytes,
    info: PacketInfo,
    scope: ScopeId,
    receiver: ReceiverId,
    encrypted: bool,
    ticket: DecryptTicket,
}

/// An original packet whose scope verified: authentic, and plaintext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedPacket {
    /// The original packet (for an integrity-only block, the handle that was received).
    pub bytes: Bytes,
    /// What the receiver knows about it (authenticated with it).
    pub info: PacketInfo,
    /// The scope whose tag verified it.
    pub scope: ScopeId,
}

/// What [`PacketHold::receive`] did with a packet.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HoldOutcome {
    /// An original packet of an open scope: held, not released.
    Held,
    /// A tag record verified: the held packets it covers, in arrival order.
    Released(Vec<VerifiedPacket>),
    /// An original packet of an SV-5 block (CRC-checked only, never authenticated).
    Unprotected(Bytes, PacketInfo),
    /// FS or FE (authentic once the frame's first scope verified; see [`super::SyncPacket`]).
    Sync(Bytes),
    /// An FSED frame header was taken in.
    FrameHeader {
        /// The frame counter it announced.
        frame_counter: u32,
    },
}

/// Unverified packets held as [`Bytes`] handles until their scope verifies.
///
/// Feed every received packet to [`PacketHold::receive`] and drain the receiver's events with
/// [`PacketHold::poll_events`] (or pass each event to [`PacketHold::handle_event`]), so that
/// the packets of failed scopes and abandoned frames are dropped. Memory is bounded by what
/// the receiver keeps open: scopes end at the latest with their frame.
#[derive(Debug, Default)]
pub struct PacketHold {
    held: Vec<Held>,
}

impl PacketHold {
    /// An empty hold.
    pub fn new() -> Self {
        Self::default()
    }

    /// Packets held now.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Receives `packet` through `rx`: an unverified original packet is held (a handle into
    /// `packet`'s buffer, not a copy); a verified tag record releases the packets it covers.
    ///
    /// # Errors
    /// What [`Receiver::receive`] returns (nothing is held then); for SV-1 packets, what
    /// [`Receiver::decrypt`] returns (the released packets of that scope are dropped).
    pub fn receive(
        &mut self,
        rx: &mut Receiver,
        packet: &Bytes,
        now: u64,
    ) -> Result<HoldOutcome, FsedError> {
        let outcome = match rx.receive(packet, now)? {
            Delivery::Unverified(u) => {
                self.held.push(Held {
                    bytes: packet.slice_ref(u.unverified_packet()),
                    info: u.info,
                    scope: u.scope,
                    receiver: u.receiver,
                    encrypted: u.encrypted,
                    ticket: u.decrypt_ticket(),
                });
                HoldOutcome::Held
            }
            Delivery::Unprotected(u) => {
                HoldOutcome::Unprotected(packet.slice_ref(u.unauthenticated_packet()), u.info)
            }
            Delivery::Sync(s) => HoldOutcome::Sync(packet.slice_ref(s.packet())),
            Delivery::FrameHeader { frame_counter } => HoldOutcome::FrameHeader { frame_counter },
            Delivery::ScopeVerified(proof) => HoldOutcome::Released(self.release(rx, &proof)?),
        };
        Ok(outcome)
    }

    /// Hands back the held packets `proof` covers.
    fn release(
        &mut self,
        rx: &Receiver,
        proof: &ScopeProof,
    ) -> Result<Vec<VerifiedPacket>, FsedError> {
        let covers = |h: &Held| {
            h.receiver == proof.receiver
                && h.scope == proof.scope
                && proof.indices().contains(&h.info.message_index)
        };
        let (mine, rest): (Vec<Held>, Vec<Held>) = self.held.drain(..).partition(covers);
        self.held = rest;
        let mut out = Vec::with_capacity(mine.len());
        for h in mine {
            let bytes = if h.encrypted {
                // Unique handle: decrypt in place; shared: into a copy.
                let mut buf = h
                    .bytes
                    .try_into_mut()
                    .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
                rx.decrypt(proof, &h.ticket, &mut buf)?;
                buf.freeze()
            } else {
                h.bytes
            };
            out.push(VerifiedPacket {
                bytes,
                info: h.info,
                scope: h.scope,
            });
        }
        Ok(out)
    }

    /// Applies a receiver event: a failed scope drops its held packets, an abandoned or
    /// completed frame drops what is still held of it. Returns how many were dropped.
    pub fn handle_event(&mut self, event: &Event) -> usize {
        let before = self.held.len();
        match event {
            Event::ScopeFailed(f) => self.held.retain(|h| h.scope != f.scope),
            Event::FrameAbandoned { frame_counter }
            | Event::FrameComplete { frame_counter, .. } => {
                self.held.retain(|h| h.info.frame_counter != *frame_counter);
            }
            _ => {}
        }
        before - self.held.len()
    }

    /// Drains `rx`'s events, applying each ([`PacketHold::handle_event`]), and returns them.
    pub fn poll_events(&mut self, rx: &mut Receiver, now: u64) -> Vec<Event> {
        let mut v = Vec::new();
        while let Some(e) = rx.poll_event(now) {
            self.handle_event(&e);
            v.push(e);
        }
        v
    }

    /// Drops every held packet.
    pub fn clear(&mut self) {
        self.held.clear();
    }
}
