//! FSED's FS/FE binding rule, in one place for [`Ecu::receive_frame`](crate::Ecu::receive_frame)
//! and the capture analyser ([`capture::analyse`](crate::capture::analyse)).
//!
//! FSED's FS and FE carry no tag. Their only content, the CSI-2 frame number, is bound by the
//! frame header, so they are authentic once that header is (the frame's first tag record
//! verified, or every block SV-5 where the policy allows it). Until then a [`SyncBinder`] keeps
//! them, each with whatever its user keeps per packet:
//!
//! - an FS waits for a frame header that names its number;
//! - a frame header takes the waiting FS of its number; the receiver forgets the other FS
//!   numbers it remembered, so those FS are abandoned;
//! - an FE is bound when it arrives, to the frame in progress, and only if that frame's header
//!   bound its number;
//! - what is bound to a frame is handed back when that frame authenticates, never otherwise.
//!
//! The binder is fed only what the FSED receiver accepted. The two users differ on what a new
//! frame header does with what earlier headers left behind: see [`Carry`].

/// What a new frame header does with what was bound to an earlier header, and with an FE that
/// no header bound. The two users of [`SyncBinder`] differ here; each keeps its own behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Carry {
    /// [`Ecu::receive_frame`](crate::Ecu::receive_frame) (one binder per call, released at the
    /// end of the call for the frame that started in it): what an earlier header bound stays
    /// bound to that header's frame counter, and an FE that no header bound waits, as an FS
    /// does, for a header naming its number.
    ///
    /// So an FS or FE bound by a header that is then replaced by another header of the same
    /// frame counter (a forged header ahead of the genuine one) is handed back with the
    /// genuine frame, and an FE left over from the frame of an earlier call is taken by the
    /// next header of its number (that frame is then released with two FEs).
    Keep,
    /// The capture analyser (one binder for the whole capture): a new header abandons
    /// everything pending except the waiting FS of its number.
    Abandon,
}

/// FSED FS and FE packets (and anything else a user binds to a frame) waiting for their frame
/// to authenticate; `T` is what the user keeps per packet. See the [module docs](self).
pub(crate) struct SyncBinder<T> {
    carry: Carry,
    /// In arrival order.
    pending: Vec<Pending<T>>,
    /// The frame header accepted last: its frame counter and the frame number it binds.
    header: Option<(u32, u16)>,
    /// The frame counter of the frame authenticated last.
    authenticated: Option<u32>,
}

struct Pending<T> {
    item: T,
    /// The frame number a header must name to take it, while no header bound it.
    number: Option<u16>,
    /// The frame counter of the header that bound it.
    frame: Option<u32>,
}

impl<T> SyncBinder<T> {
    /// An empty binder.
    pub(crate) fn new(carry: Carry) -> Self {
        SyncBinder {
            carry,
            pending: Vec::new(),
            header: None,
            authenticated: None,
        }
    }

    /// An accepted FS with frame number `number`: waits for a frame header naming it.
    pub(crate) fn frame_start(&mut self, number: u16, item: T) {
        self.pending.push(Pending {
            item,
            number: Some(number),
            frame: None,
        });
    }

    /// An accepted FE with frame number `number`: bound to the frame in progress if its header
    /// bound `number`. When that frame already authenticated, `item` comes straight back with
    /// its frame counter; otherwise it is kept.
    #[must_use]
    pub(crate) fn frame_end(&mut self, number: u16, item: T) -> Option<(u32, T)> {
        let frame = self.header.filter(|&(_, n)| n == number).map(|(fc, _)| fc);
        if let Some(fc) = frame
            && self.authenticated == Some(fc)
        {
            return Some((fc, item));
        }
        let number = match self.carry {
            Carry::Keep => Some(number),
            Carry::Abandon => None,
        };
        self.pending.push(Pending {
            item,
            number,
            frame,
        });
        None
    }

    /// An accepted frame header of frame `fc` binding frame number `number` (`None`: none
    /// could be read, it binds nothing). It takes the waiting FS of `number`; returns what is
    /// abandoned, each with the frame counter it was bound to (`None`: it never was).
    #[must_use]
    pub(crate) fn frame_header(&mut self, fc: u32, number: Option<u16>) -> Vec<(T, Option<u32>)> {
        let mut abandoned = Vec::new();
        let mut kept = Vec::with_capacity(self.pending.len());
        for mut p in self.pending.drain(..) {
            if p.frame.is_some() && self.carry == Carry::Keep {
                kept.push(p);
            } else if p.frame.is_none() && p.number.is_some() && p.number == number {
                p.frame = Some(fc);
                kept.push(p);
            } else {
                abandoned.push((p.item, p.frame));
            }
        }
        self.pending = kept;
        self.header = number.map(|n| (fc, n));
        abandoned
    }

    /// Keeps `item` bound to frame `fc` (the analyser's frame header row itself).
    pub(crate) fn hold_for(&mut self, fc: u32, item: T) {
        self.pending.push(Pending {
            item,
            number: None,
            frame: Some(fc),
        });
    }

    /// Frame `fc` authenticated: returns what is bound to it, in arrival order.
    #[must_use]
    pub(crate) fn authenticate(&mut self, fc: u32) -> Vec<T> {
        self.authenticated = Some(fc);
        let (mine, rest) = core::mem::take(&mut self.pending)
            .into_iter()
            .partition::<Vec<_>, _>(|p| p.frame == Some(fc));
        self.pending = rest;
        mine.into_iter().map(|p| p.item).collect()
    }

    /// Everything still pending, which nothing authenticates any more (the end of a capture).
    #[must_use]
    pub(crate) fn abandon_all(&mut self) -> Vec<T> {
        self.pending.drain(..).map(|p| p.item).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: [Carry; 2] = [Carry::Keep, Carry::Abandon];

    #[test]
    fn the_header_takes_the_fs_of_its_number_and_forgets_the_others() {
        for carry in BOTH {
            let mut b = SyncBinder::new(carry);
            b.frame_start(7, "fs 7");
            b.frame_start(1, "fs 1");
            b.frame_start(9, "fs 9");
            let gone = b.frame_header(5, Some(1));
            assert_eq!(gone, [("fs 7", None), ("fs 9", None)], "{carry:?}");
            assert_eq!(b.authenticate(5), ["fs 1"], "{carry:?}");
            assert!(b.abandon_all().is_empty(), "{carry:?}");
        }
    }

    #[test]
    fn several_fs_of_the_header_number_are_all_taken() {
        for carry in BOTH {
            let mut b = SyncBinder::new(carry);
            b.frame_start(1, "first");
            b.frame_start(1, "second");
            assert!(b.frame_header(5, Some(1)).is_empty(), "{carry:?}");
            assert_eq!(b.authenticate(5), ["first", "second"], "{carry:?}");
        }
    }

    #[test]
    fn an_fs_after_the_header_waits_for_the_next_header() {
        for carry in BOTH {
            let mut b = SyncBinder::new(carry);
            b.frame_start(1, "fs 1");
            assert!(b.frame_header(5, Some(1)).is_empty());
            b.frame_start(2, "fs 2");
            assert_eq!(b.authenticate(5), ["fs 1"], "{carry:?}");
            assert!(b.frame_header(6, Some(2)).is_empty(), "{carry:?}");
            assert_eq!(b.authenticate(6), ["fs 2"], "{carry:?}");
        }
    }

    #[test]
    fn an_fe_is_bound_only_to_the_frame_in_progress() {
        for carry in BOTH {
            let mut b = SyncBinder::new(carry);
            b.frame_start(1, "fs");
            assert!(b.frame_header(5, Some(1)).is_empty());
            // Another number than the header's: bound to nothing.
            assert_eq!(b.frame_end(2, "fe 2"), None);
            assert_eq!(b.frame_end(1, "fe 1"), None);
            assert_eq!(b.authenticate(5), ["fs", "fe 1"], "{carry:?}");
            // Once its frame authenticated, an FE of the header's number comes straight back.
            assert_eq!(b.frame_end(1, "fe late"), Some((5, "fe late")));
            assert_eq!(b.frame_end(2, "fe 2 late"), None);
            assert!(b.authenticate(5).is_empty(), "{carry:?}");
            assert_eq!(b.abandon_all(), ["fe 2", "fe 2 late"], "{carry:?}");
        }
    }

    #[test]
    fn an_fe_that_no_header_bound_waits_only_under_keep() {
        for carry in BOTH {
            let mut b = SyncBinder::new(carry);
            assert_eq!(b.frame_end(1, "fe"), None);
            b.frame_start(1, "fs");
            let gone = b.frame_header(5, Some(1));
            let bound = b.authenticate(5);
            match carry {
                Carry::Keep => {
                    assert!(gone.is_empty());
                    assert_eq!(bound, ["fe", "fs"]);
                }
                Carry::Abandon => {
                    assert_eq!(gone, [("fe", None)]);
                    assert_eq!(bound, ["fs"]);
                }
            }
        }
    }

    #[test]
    fn a_header_that_binds_no_number_binds_nothing() {
        for carry in BOTH {
            let mut b = SyncBinder::new(carry);
            b.frame_start(1, "fs");
            assert_eq!(b.frame_header(5, None), [("fs", None)], "{carry:?}");
            assert_eq!(b.frame_end(1, "fe"), None);
            assert!(b.authenticate(5).is_empty(), "{carry:?}");
        }
    }

    #[test]
    fn nothing_comes_back_for_a_frame_that_never_authenticates() {
        for carry in BOTH {
            let mut b = SyncBinder::new(carry);
            b.frame_start(1, "fs");
            assert!(b.frame_header(5, Some(1)).is_empty());
            b.hold_for(5, "header");
            assert_eq!(b.frame_end(1, "fe"), None);
            assert!(b.authenticate(4).is_empty(), "{carry:?}");
            assert!(b.authenticate(6).is_empty(), "{carry:?}");
            assert_eq!(b.abandon_all(), ["fs", "header", "fe"], "{carry:?}");
            assert!(b.authenticate(5).is_empty(), "{carry:?}");
        }
    }

    #[test]
    fn a_new_header_keeps_or_abandons_what_an_earlier_header_bound() {
        for carry in BOTH {
            // A header of frame 5 binding number 1, replaced by another header of frame 5
            // binding number 2 (the one the frame's tag authenticates).
            let mut b = SyncBinder::new(carry);
            b.frame_start(1, "fs 1");
            assert!(b.frame_header(5, Some(1)).is_empty());
            b.hold_for(5, "header 1");
            assert_eq!(b.frame_end(1, "fe 1"), None);
            b.frame_start(2, "fs 2");
            let gone = b.frame_header(5, Some(2));
            let bound = b.authenticate(5);
            match carry {
                Carry::Keep => {
                    assert!(gone.is_empty());
                    assert_eq!(bound, ["fs 1", "header 1", "fe 1", "fs 2"]);
                }
                Carry::Abandon => {
                    let want = [("fs 1", Some(5)), ("header 1", Some(5)), ("fe 1", Some(5))];
                    assert_eq!(gone, want);
                    assert_eq!(bound, ["fs 2"]);
                }
            }
        }
    }
}
