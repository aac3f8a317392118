//! Frame-counter continuity and per-frame message counters.

use crate::error::FusaError;

/// Checks that 32-bit frame counters arrive one after the other.
///
/// Counters compare with serial-number arithmetic (RFC 1982 style), so `u32::MAX` followed by
/// `0` is continuous: a counter `d = got - last (mod 2^32)` ahead is
///
/// ```text
/// d == 0              duplicate          FusaError::FrameDuplicate, state unchanged
/// d == 1              in order           Ok, state advances
/// 2 <= d <= 2^31      d - 1 frames lost  FusaError::FrameLoss, state resyncs to got
/// d >  2^31           behind (reorder)   FusaError::FrameReorder, state unchanged
/// ```
///
/// The first counter observed sets the base. After a loss the monitor resyncs to the counter
/// received, so one loss is reported once. A reordered or duplicated frame leaves the state
/// where it was, so a late frame does not disturb the frames after it; call
/// [`reset`](Self::reset) when the sender restarts its counter.
///
/// # Unauthenticated counters
///
/// [`observe`](Self::observe) takes counters that were authenticated (a verified frame
/// start); [`observe_unauthenticated`](Self::observe_unauthenticated) takes the counters of
/// frames nothing can authenticate (every block SV-5), which anybody can send. Until the first
/// authenticated counter, unauthenticated ones are judged as in the table (a stream with no
/// authenticated frame has nothing else to go by); the first authenticated counter then sets
/// the base without a finding. From then on `last` moves only with authenticated counters:
///
/// - an unauthenticated counter at or behind `last` is reported at once as a duplicate or
///   reorder (state unchanged);
/// - one ahead of `last` is remembered (how many, and the furthest). One not ahead of the
///   furthest remembered is a duplicate or reorder among unauthenticated frames, either of
///   which may be injected: its finding waits for the next authenticated counter (a reorder
///   still counts as a frame received, a repeat of the furthest counter does not);
/// - the next authenticated counter is judged against `last`: the frames between are lost
///   unless the remembered ones account for them (the loss names `last + 1` and how many of
///   the counters up to the authenticated one were not seen), and a waiting duplicate or
///   reorder is reported then (a loss first). When a remembered counter is at or beyond the
///   authenticated one, the remembered frames were not all the sender's (its counters only
///   increase): no loss and no waiting finding is reported for that gap.
///
/// So an injected counter never changes how an authenticated frame is judged, beyond hiding a
/// loss or disorder that unauthenticated frames could hide anyway.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameContinuity {
    last: Option<u32>,
    /// Whether `last` is an authenticated counter.
    anchored: bool,
    /// The furthest unauthenticated counter ahead of an anchored `last`, and how many.
    ahead: Option<(u32, u32)>,
    /// The first duplicate or reorder among those, reported at the next authenticated counter.
    disorder: Option<FusaError>,
}

impl FrameContinuity {
    /// A monitor with no base.
    pub const fn new() -> Self {
        FrameContinuity {
            last: None,
            anchored: false,
            ahead: None,
            disorder: None,
        }
    }

    /// The last frame counter accepted (in order or after a loss); once an authenticated
    /// counter was observed, the last authenticated one.
    pub const fn last(&self) -> Option<u32> {
        self.last
    }

    /// Forgets the base.
    pub fn reset(&mut self) {
        *self = FrameContinuity::new();
    }

    /// Observes the authenticated counter of a new frame.
    ///
    /// # Errors
    /// [`FusaError::FrameLoss`], [`FusaError::FrameDuplicate`] or [`FusaError::FrameReorder`]
    /// as in the table in the type docs.
    pub fn observe(&mut self, fc: u32) -> Result<(), FusaError> {
        let last = match self.last {
            Some(last) if self.anchored => last,
            _ => {
                *self = FrameContinuity {
                    last: Some(fc),
                    anchored: true,
                    ahead: None,
                    disorder: None,
                };
                return Ok(());
            }
        };
        let d = fc.wrapping_sub(last);
        let (lost, disorder) = match d {
            0 => return Err(FusaError::FrameDuplicate(fc)),
            1..=0x8000_0000 => match self.ahead {
                // The unauthenticated frames all came before this one: they account for part
                // of the gap, and their disorder is reported now.
                Some((furthest, n)) if furthest.wrapping_sub(last) < d => {
                    ((d - 1).saturating_sub(n), self.disorder)
                }
                // One of them claimed this counter or a later one: not the sender's.
                Some(_) => (0, None),
                None => (d - 1, None),
            },
            _ => return Err(FusaError::FrameReorder { last, got: fc }),
        };
        self.last = Some(fc);
        self.ahead = None;
        self.disorder = None;
        if lost == 0 {
            return disorder.map_or(Ok(()), Err);
        }
        // The lost frames are among the counters from `last + 1` to `fc - 1`.
        Err(FusaError::FrameLoss {
            expected: last.wrapping_add(1),
            got: fc,
            lost,
        })
    }

    /// Observes the counter of a frame nothing authenticated (see the type docs).
    ///
    /// # Errors
    /// Before any authenticated counter, as [`observe`](Self::observe); after one,
    /// [`FusaError::FrameDuplicate`] or [`FusaError::FrameReorder`] for a counter at or behind
    /// the last authenticated one (state unchanged; see the type docs).
    pub fn observe_unauthenticated(&mut self, fc: u32) -> Result<(), FusaError> {
        let Some(last) = self.last.filter(|_| self.anchored) else {
            return self.observe_unanchored(fc);
        };
        let d = fc.wrapping_sub(last);
        match d {
            0 => Err(FusaError::FrameDuplicate(fc)),
            1..=0x8000_0000 => match self.ahead {
                None => {
                    self.ahead = Some((fc, 1));
                    Ok(())
                }
                Some((furthest, n)) => {
                    let df = furthest.wrapping_sub(last);
                    if d > df {
                        self.ahead = Some((fc, n.saturating_add(1)));
                        Ok(())
                    } else {
                        // Behind another unauthenticated counter (or the same one again): a
                        // finding about unauthenticated frames, which either may have
                        // injected, so it waits for the next authenticated counter to show
                        // the remembered ones possible. A frame behind is still a frame
                        // received between; the same counter again counts once.
                        let e = if d == df {
                            FusaError::FrameDuplicate(fc)
                        } else {
                            self.ahead = Some((furthest, n.saturating_add(1)));
                            FusaError::FrameReorder {
                                last: furthest,
                                got: fc,
                            }
                        };
                        self.disorder.get_or_insert(e);
                        Ok(())
                    }
                }
            },
            _ => Err(FusaError::FrameReorder { last, got: fc }),
        }
    }

    /// The table of the type docs, for a monitor no authenticated counter anchored.
    fn observe_unanchored(&mut self, fc: u32) -> Result<(), FusaError> {
        let Some(last) = self.last else {
            self.last = Some(fc);
            return Ok(());
        };
        let d = fc.wrapping_sub(last);
        match d {
            0 => Err(FusaError::FrameDuplicate(fc)),
            1 => {
                self.last = Some(fc);
                Ok(())
            }
            2..=0x8000_0000 => {
                self.last = Some(fc);
                Err(FusaError::FrameLoss {
                    expected: last.wrapping_add(1),
                    got: fc,
                    lost: d - 1,
                })
            }
            _ => Err(FusaError::FrameReorder { last, got: fc }),
        }
    }
}

/// Checks that the message indices of one frame run 0, 1, 2, ...
///
/// ```text
/// got == expected   Ok, expected = got + 1
/// got >  expected   FusaError::MessageLoss { lost: got - expected }, resync: expected = got + 1
/// got <  expected   FusaError::MessageOutOfOrder, state unchanged
/// ```
///
/// Call [`start_frame`](Self::start_frame) at each frame start.
///
/// # Unauthenticated indices
///
/// [`observe`](Self::observe) takes indices that were authenticated (a packet whose own tag
/// verified, a close record); [`observe_unauthenticated`](Self::observe_unauthenticated) the
/// indices of packets not authenticated when they arrive (SV-5 packets, members of a scope
/// still open), which a keyless injector can send with any index. While no authenticated
/// index was observed in the frame (a frame whose blocks are all SV-5), unauthenticated indices
/// are judged as in the table. From the first authenticated one on, `expected` moves only with
/// authenticated indices:
///
/// - an unauthenticated index below `expected` is reported out of order at once (state
///   unchanged);
/// - one at or above it is remembered (how many, and the furthest). One not above the
///   furthest remembered is out of order among unauthenticated messages, either of which may
///   be injected: its finding waits for the next authenticated index (it still counts as a
///   message received, unless it repeats the furthest index);
/// - the next authenticated index is judged against `expected`: the messages between are lost
///   unless the remembered ones account for them (the loss names `expected` and how many of the
///   indices up to the authenticated one were not seen), and a waiting out-of-order finding is
///   reported then (a loss first). When a remembered index is at or beyond the authenticated
///   one, the remembered messages were not all the sender's (its indices only increase): no
///   loss and no waiting finding is reported for that gap.
///
/// So an injected index never changes how an authenticated message is judged, nor the
/// findings at all when the next authenticated index shows it impossible; it can only hide a
/// loss or disorder that unauthenticated messages could hide anyway.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessageCounter {
    /// The next index expected; `u32::MAX + 1` after index `u32::MAX`.
    expected: u64,
    /// Whether an authenticated index was observed in this frame.
    anchored: bool,
    /// One past the furthest unauthenticated index remembered (at least `expected`).
    furthest: u64,
    /// How many unauthenticated indices were remembered since the last authenticated one.
    remembered: u64,
    /// Messages reported lost in this frame.
    lost: u64,
    /// The first unauthenticated index not above the furthest one since the last
    /// authenticated index (`expected`, `got`), reported at the next authenticated index.
    disorder: Option<(u32, u32)>,
}

impl MessageCounter {
    /// A counter expecting index 0.
    pub const fn new() -> Self {
        MessageCounter {
            expected: 0,
            anchored: false,
            furthest: 0,
            remembered: 0,
            lost: 0,
            disorder: None,
        }
    }

    /// Resets to index 0 for a new frame.
    pub fn start_frame(&mut self) {
        *self = MessageCounter::new();
    }

    /// The number of messages accounted for in this frame (received in order or reported
    /// lost), unauthenticated ones remembered after an authenticated one included.
    pub const fn count(&self) -> u64 {
        if self.furthest > self.expected {
            self.furthest
        } else {
            self.expected
        }
    }

    /// The messages of this frame accounted as received: [`count`](Self::count) less those
    /// reported lost. Unauthenticated indices a later authenticated one showed to be
    /// impossible do not add to it.
    pub const fn received(&self) -> u64 {
        self.count().saturating_sub(self.lost)
    }

    /// The messages reported lost in this frame.
    pub const fn lost(&self) -> u64 {
        self.lost
    }

    /// Observes the authenticated index of the next message.
    ///
    /// # Errors
    /// [`FusaError::MessageLoss`] or [`FusaError::MessageOutOfOrder`] as in the type docs (also
    /// for a disorder among the unauthenticated messages before it).
    pub fn observe(&mut self, index: u32) -> Result<(), FusaError> {
        let got = u64::from(index);
        if got < self.expected {
            return Err(self.out_of_order(index));
        }
        let (lost, disorder) = if self.furthest > got {
            (0, None)
        } else {
            (
                (got - self.expected).saturating_sub(self.remembered),
                self.disorder,
            )
        };
        // The lost messages are among the indices from `expected` to `got - 1` (all of them
        // when no unauthenticated message came between).
        let first = u32::try_from(self.expected).unwrap_or(u32::MAX);
        self.anchored = true;
        self.expected = got + 1;
        self.furthest = got + 1;
        self.remembered = 0;
        self.disorder = None;
        if lost == 0 {
            return match disorder {
                Some((expected, got)) => Err(FusaError::MessageOutOfOrder { expected, got }),
                None => Ok(()),
            };
        }
        self.lost = self.lost.saturating_add(lost);
        Err(FusaError::MessageLoss {
            expected: first,
            got: index,
            lost: u32::try_from(lost).unwrap_or(u32::MAX),
        })
    }

    /// Observes the index of a message not authenticated when it arrives (see the type docs).
    ///
    /// # Errors
    /// Before any authenticated index in the frame, as [`observe`](Self::observe); after one,
    /// [`FusaError::MessageOutOfOrder`] for an index below the next authenticated one expected
    /// (state unchanged; see the type docs).
    pub fn observe_unauthenticated(&mut self, index: u32) -> Result<(), FusaError> {
        if !self.anchored {
            let r = self.observe(index);
            self.anchored = false;
            return r;
        }
        let got = u64::from(index);
        if got < self.expected {
            return Err(self.out_of_order(index));
        }
        if got >= self.furthest {
            self.furthest = got + 1;
            self.remembered += 1;
            return Ok(());
        }
        // Behind another unauthenticated index (or the same one again): a finding about
        // unauthenticated messages, which either may have injected, so it waits for the next
        // authenticated index to show the remembered ones possible. An index behind is still a
        // message received between; the furthest one again counts once.
        if got + 1 < self.furthest {
            self.remembered += 1;
        }
        let expected = u32::try_from(self.furthest).unwrap_or(u32::MAX);
        self.disorder.get_or_insert((expected, index));
        Ok(())
    }

    fn out_of_order(&self, got: u32) -> FusaError {
        FusaError::MessageOutOfOrder {
            expected: u32::try_from(self.expected).unwrap_or(u32::MAX),
            got,
        }
    }
}
