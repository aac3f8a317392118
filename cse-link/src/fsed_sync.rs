//! FSED's FS/FE binding rule, in one place for [`Ecu::receive_frame`](crate::Ecu::receive_frame)
//! and the capture analyser ([`capture::analyse`](crate::capture::analyse)).
//!
//! FSED's FS and FE carry no tag. Their only content, the CSI-2 frame number, is bound by the
//! frame header, so they are authentic once that header is (the frame's first tag record
//! verified, or every block SV-5 where the policy allows it). Until then a [`SyncBinder`] keeps
//! them, each with whatever its user keeps per packet:
//!
//! - an FS waits for a frame header that names its number;
//! - a frame header takes one waiting FS of its number (the first); the receiver forgets the
//!   other FS numbers it remembered, so the other waiting FS are abandoned, and so is
//!   everything an earlier header bound whose frame did not authenticate before this header
//!   came: a header carries no tag, and only the one whose frame authenticates binds;
//! - an FE is bound when it arrives, to the frame in progress, and only if that frame's header
//!   bound its number; otherwise it is abandoned at the next header;
//! - what is bound to a frame is handed back when that frame authenticates (an FE arriving
//!   after that comes straight back), never otherwise.
//!
//! The binder is fed only what the FSED receiver accepted.

/// FSED FS and FE packets (and anything else a user binds to a frame) waiting for their frame
/// to authenticate; `T` is what the user keeps per packet. See the [module docs](self).
pub(crate) struct SyncBinder<T> {
    /// In arrival order.
    pending: Vec<Pending<T>>,
    /// The frame header accepted last: its frame counter and the frame number it binds.
    header: Option<(u32, u16)>,
    /// The frame counter of the frame authenticated last.
    authenticated: Option<u32>,
}

struct Pending<T> {
    item: T,
    /// The frame number a header must name to take it (an FS no header took yet).
    number: Option<u16>,
    /// The frame counter of the header that bound it.
    frame: Option<u32>,
}

impl<T> SyncBinder<T> {
    /// An empty binder.
    pub(crate) fn new() -> Self {
        SyncBinder {
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
    /// its frame counter; otherwise it is kept (and abandoned at the next header unless its
    /// frame authenticates first).
    #[must_use]
    pub(crate) fn frame_end(&mut self, number: u16, item: T) -> Option<(u32, T)> {
        let frame = self.header.filter(|&(_, n)| n == number).map(|(fc, _)| fc);
        if let Some(fc) = frame
            && self.authenticated == Some(fc)
        {
            return Some((fc, item));
        }
        self.pending.push(Pending {
            item,
            number: None,
            frame,
        });
        None
    }

    /// An accepted frame header of frame `fc` binding frame number `number` (`None`: none
    /// could be read, it binds nothing). It takes the first waiting FS of `number`; returns
    /// everything else, abandoned, each with the frame counter it was bound to (`None`: it
    /// never was).
    #[must_use]
    pub(crate) fn frame_header(&mut self, fc: u32, number: Option<u16>) -> Vec<(T, Option<u32>)> {
        let mut abandoned = Vec::new();
        let mut kept = Vec::with_capacity(1);
        for mut p in self.pending.drain(..) {
            if kept.is_empty() && p.frame.is_none() && p.number.is_some() && p.number == number {
                p.frame = Some(fc);
                p.number = None;
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

    #[test]
    fn the_header_takes_the_fs_of_its_number_and_forgets_the_others() {
        let mut b = SyncBinder::new();
        b.frame_start(7, "fs 7");
        b.frame_start(1, "fs 1");
        b.frame_start(9, "fs 9");
        let gone = b.frame_header(5, Some(1));
        assert_eq!(gone, [("fs 7", None), ("fs 9", None)]);
        assert_eq!(b.authenticate(5), ["fs 1"]);
        assert!(b.abandon_all().is_empty());
    }

    #[test]
    fn a_header_takes_one_fs_of_its_number() {
        let mut b = SyncBinder::new();
        b.frame_start(1, "first");
        b.frame_start(1, "second");
        assert_eq!(b.frame_header(5, Some(1)), [("second", None)]);
        assert_eq!(b.authenticate(5), ["first"]);
    }

    #[test]
    fn an_fs_after_the_header_waits_for_the_next_header() {
        let mut b = SyncBinder::new();
        b.frame_start(1, "fs 1");
        assert!(b.frame_header(5, Some(1)).is_empty());
        b.frame_start(2, "fs 2");
        assert_eq!(b.authenticate(5), ["fs 1"]);
        assert!(b.frame_header(6, Some(2)).is_empty());
        assert_eq!(b.authenticate(6), ["fs 2"]);
    }

    #[test]
    fn an_fe_is_bound_only_to_the_frame_in_progress() {
        let mut b = SyncBinder::new();
        b.frame_start(1, "fs");
        assert!(b.frame_header(5, Some(1)).is_empty());
        // Another number than the header's: bound to nothing.
        assert_eq!(b.frame_end(2, "fe 2"), None);
        assert_eq!(b.frame_end(1, "fe 1"), None);
        assert_eq!(b.authenticate(5), ["fs", "fe 1"]);
        // Once its frame authenticated, an FE of the header's number comes straight back.
        assert_eq!(b.frame_end(1, "fe late"), Some((5, "fe late")));
        assert_eq!(b.frame_end(2, "fe 2 late"), None);
        assert!(b.authenticate(5).is_empty());
        assert_eq!(b.abandon_all(), ["fe 2", "fe 2 late"]);
    }

    #[test]
    fn an_fe_that_no_header_bound_is_abandoned_at_the_next_header() {
        let mut b = SyncBinder::new();
        assert_eq!(b.frame_end(1, "fe"), None);
        b.frame_start(1, "fs");
        assert_eq!(b.frame_header(5, Some(1)), [("fe", None)]);
        assert_eq!(b.authenticate(5), ["fs"]);
    }

    #[test]
    fn a_header_that_binds_no_number_binds_nothing() {
        let mut b = SyncBinder::new();
        b.frame_start(1, "fs");
        assert_eq!(b.frame_header(5, None), [("fs", None)]);
        assert_eq!(b.frame_end(1, "fe"), None);
        assert!(b.authenticate(5).is_empty());
    }

    #[test]
    fn nothing_comes_back_for_a_frame_that_never_authenticates() {
        let mut b = SyncBinder::new();
        b.frame_start(1, "fs");
        assert!(b.frame_header(5, Some(1)).is_empty());
        b.hold_for(5, "header");
        assert_eq!(b.frame_end(1, "fe"), None);
        assert!(b.authenticate(4).is_empty());
        assert!(b.authenticate(6).is_empty());
        assert_eq!(b.abandon_all(), ["fs", "header", "fe"]);
        assert!(b.authenticate(5).is_empty());
    }

    #[test]
    fn a_new_header_abandons_what_an_earlier_header_of_the_same_frame_bound() {
        // A header of frame 5 binding number 1 (forged: headers carry no tag), replaced by
        // another header of frame 5 binding number 2 (the one the frame's tag authenticates).
        let mut b = SyncBinder::new();
        b.frame_start(1, "fs 1");
        assert!(b.frame_header(5, Some(1)).is_empty());
        b.hold_for(5, "header 1");
        assert_eq!(b.frame_end(1, "fe 1"), None);
        b.frame_start(2, "fs 2");
        let gone = b.frame_header(5, Some(2));
        let want = [("fs 1", Some(5)), ("header 1", Some(5)), ("fe 1", Some(5))];
        assert_eq!(gone, want);
        assert_eq!(b.authenticate(5), ["fs 2"]);
    }

    #[test]
    fn what_a_frame_released_stays_released_after_the_next_header() {
        let mut b = SyncBinder::new();
        b.frame_start(1, "fs 1");
        assert!(b.frame_header(5, Some(1)).is_empty());
        assert_eq!(b.authenticate(5), ["fs 1"]);
        b.frame_start(2, "fs 2");
        assert!(b.frame_header(6, Some(2)).is_empty());
        // An FE of the finished frame's number: no longer the frame in progress.
        assert_eq!(b.frame_end(1, "fe 1"), None);
        assert_eq!(b.authenticate(6), ["fs 2"]);
        assert_eq!(b.abandon_all(), ["fe 1"]);
    }
}
