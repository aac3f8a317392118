//! Sensor-side firmware image on QEMU `mps2-an386` (Cortex-M4F): runs the operations of
//! `scenario.rs` for the pieces selected by cargo features, and prints over semihosting
//!
//! ```text
//! stack <entry> <bytes>    worst stack of one call of an entry point, measured by painting
//! result <name> <fnv64>    digest of an output, compared with the host's by .ci/firmware
//! ok | FAILED <what>       the run's verdict (also the QEMU exit code)
//! ```
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use panic_semihosting as _;

#[cfg(any(feature = "ccise", feature = "spdm"))]
#[rustfmt::skip] // Written by examples/firmware-host, compared byte for byte by .ci/firmware.
mod recorded;
mod scenario;

use scenario::Probe;

/// The pattern painted below the stack pointer before a call.
const PAINT: u32 = 0xC5AC_CE55;
/// How far below the stack pointer the painting reaches (the deepest measurable call).
const PAINT_DEPTH: usize = 64 * 1024;

/// Calls `f` through a frame of its own, so everything it uses lies below the painted mark.
#[inline(never)]
fn run<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// The stack pointer of the caller (a leaf: it has no frame of its own). Being a call, it
/// also makes the caller set up its frame first.
#[inline(never)]
fn stack_pointer() -> usize {
    cortex_m::register::msp::read() as usize & !3
}

/// Paints `[bottom, top)` (a leaf without a frame).
#[inline(never)]
fn paint(bottom: usize, top: usize) {
    let mut a = bottom;
    while a < top {
        // SAFETY: the caller passes free, word-aligned stack below its stack pointer (nothing
        // lives below the stack pointer; the 4 MiB RAM has room).
        unsafe { core::ptr::write_volatile(a as *mut u32, PAINT) };
        a += 4;
    }
}

/// The number of bytes below `sp` that are no longer painted (a leaf without a frame).
#[inline(never)]
fn used_below(sp: usize) -> usize {
    let mut a = sp - PAINT_DEPTH;
    // SAFETY: as in `paint`; reads only.
    while a < sp && unsafe { core::ptr::read_volatile(a as *const u32) } == PAINT {
        a += 4;
    }
    sp - a
}

/// Paints [`PAINT_DEPTH`] bytes below the stack pointer, calls `f`, and returns its result
/// with the number of bytes below the stack pointer that the call changed.
///
/// Generic (the result is written straight into the caller's frame, above the painted
/// stack), so there is one copy per entry point: it only calls the shared non-generic code
/// (`stack_pointer`, `paint`, `run`, `used_below`), which keeps the per-entry-point harness
/// code that a piece's flash figure includes to a few instructions.
#[inline(never)]
fn measure<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let sp = stack_pointer();
    // A margin below the stack pointer for `paint` itself.
    paint(sp - PAINT_DEPTH, sp - 64);
    let r = run(core::hint::black_box(f));
    (r, used_below(sp))
}

/// Prints a `stack` line (one copy for every entry point).
#[inline(never)]
fn report_stack(entry: &'static str, used: usize) {
    hprintln!("stack {} {}", entry, used);
}

struct Firmware {
    failed: bool,
}

impl Probe for Firmware {
    fn call<R>(&mut self, entry: &'static str, f: impl FnOnce() -> R) -> R {
        let (r, used) = measure(f);
        report_stack(entry, used);
        r
    }

    fn result(&mut self, name: &'static str, bytes: &[u8]) {
        hprintln!(
            "result {} {} {:016x}",
            name,
            bytes.len(),
            scenario::fnv64(bytes)
        );
    }

    fn fail(&mut self, what: &'static str) {
        hprintln!("FAILED {}", what);
        self.failed = true;
    }
}

#[entry]
fn main() -> ! {
    let mut fw = Firmware { failed: false };
    // The baseline: the measurement and printing code every image has.
    let base = fw.call("baseline", || scenario::fnv64(b"baseline"));
    fw.result("baseline", &base.to_be_bytes());

    #[cfg(feature = "ccise")]
    {
        let mut response = [0u8; 64];
        let _ = scenario::ccise_target::run(
            &mut fw,
            recorded::CCISE_WRITE,
            recorded::CCISE_READ_REQUEST,
            &mut response,
        );
    }

    #[cfg(any(feature = "sep", feature = "fsed"))]
    let mut pkt = [0u8; scenario::fixture::LINE_LEN + 6];

    #[cfg(feature = "sep")]
    {
        let mut out = [0u8; cse_sep::tx::max_protected_len(scenario::fixture::LINE_LEN + 6)];
        scenario::sep_tx::run(&mut fw, &mut pkt, &mut out);
    }

    #[cfg(feature = "fsed")]
    {
        let mut out = [0u8; cse_fsed::tx::MAX_INSERTED_LEN];
        scenario::fsed_tx::run(&mut fw, &mut pkt, &mut out);
    }

    #[cfg(feature = "spdm")]
    {
        let mut msg = [0u8; 2048];
        let mut out = [0u8; 2048];
        scenario::spdm_rsp::run(
            &mut fw,
            recorded::SPDM_CHAIN,
            &recorded::SPDM_LEAF_SCALAR,
            recorded::SPDM_REQUESTER_SPKI,
            recorded::SPDM_REQUESTS,
            &mut msg,
            &mut out,
        );
    }

    if fw.failed {
        hprintln!("FAILED");
        debug::exit(debug::EXIT_FAILURE);
    } else {
        hprintln!("ok");
        debug::exit(debug::EXIT_SUCCESS);
    }
    loop {
        cortex_m::asm::nop();
    }
}
