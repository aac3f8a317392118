//! The DMTF spdm-emu socket framing (feature `std`): how `spdm_requester_emu` /
//! `spdm_responder_emu`, the `spdm-requester` / `spdm-responder` examples and the `cse
//! provision` factory tool exchange transport messages over TCP.
//!
//! A frame is `command u32 BE ‖ transport type u32 BE ‖ size u32 BE ‖ payload`. The state
//! machines of this crate stay sans-IO: this module only frames byte buffers on any
//! [`Read`] / [`Write`] stream.

use std::format;
use std::io::{self, Read, Write};
use std::string::String;
use std::vec::Vec;

/// spdm-emu `SOCKET_SPDM_COMMAND_NORMAL`: one transport message follows.
pub const CMD_NORMAL: u32 = 0x0001;
/// spdm-emu `SOCKET_SPDM_COMMAND_CONTINUE`: echoed, then the connection closes.
pub const CMD_CONTINUE: u32 = 0xFFFD;
/// spdm-emu `SOCKET_SPDM_COMMAND_SHUTDOWN`: echoed with size 0, then the responder exits.
pub const CMD_SHUTDOWN: u32 = 0xFFFE;
/// spdm-emu `SOCKET_SPDM_COMMAND_UNKNOWN`: the answer to any other command.
pub const CMD_UNKNOWN: u32 = 0xFFFF;
/// spdm-emu `SOCKET_SPDM_COMMAND_TEST`: the hello exchanged first.
pub const CMD_TEST: u32 = 0xDEAD;
/// spdm-emu `SOCKET_TRANSPORT_TYPE_MCTP`.
pub const TRANSPORT_MCTP: u32 = 1;
/// The requester's hello (NUL included, 14 bytes).
pub const CLIENT_HELLO: &[u8] = b"Client Hello!\0";
/// The responder's hello (NUL included, 14 bytes).
pub const SERVER_HELLO: &[u8] = b"Server Hello!\0";
/// Largest payload accepted in one frame.
pub const MAX_FRAME: usize = 0x1_0000;

/// Human name of a socket command.
pub fn command_name(cmd: u32) -> String {
    match cmd {
        CMD_NORMAL => "NORMAL".into(),
        CMD_CONTINUE => "CONTINUE".into(),
        CMD_SHUTDOWN => "SHUTDOWN".into(),
        CMD_UNKNOWN => "UNKNOWN".into(),
        CMD_TEST => "TEST".into(),
        other => format!("command 0x{other:04x}"),
    }
}

/// Writes one frame: `command u32 BE | transport u32 BE | size u32 BE | payload`.
///
/// # Errors
/// The stream's error; [`io::ErrorKind::InvalidInput`] for a payload above 4 GiB.
pub fn write_frame<W: Write>(
    s: &mut W,
    cmd: u32,
    transport: u32,
    payload: &[u8],
) -> io::Result<()> {
    let size = u32::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    let mut f = Vec::with_capacity(12 + payload.len());
    f.extend_from_slice(&cmd.to_be_bytes());
    f.extend_from_slice(&transport.to_be_bytes());
    f.extend_from_slice(&size.to_be_bytes());
    f.extend_from_slice(payload);
    s.write_all(&f)?;
    s.flush()
}

/// Reads one frame; `None` on a clean end of stream before a frame starts.
///
/// # Errors
/// The stream's error; [`io::ErrorKind::UnexpectedEof`] for a frame cut short;
/// [`io::ErrorKind::InvalidData`] for a size above [`MAX_FRAME`].
pub fn read_frame<R: Read>(s: &mut R) -> io::Result<Option<(u32, u32, Vec<u8>)>> {
    let mut hdr = [0u8; 12];
    let mut got = 0;
    while got < hdr.len() {
        let n = s.read(&mut hdr[got..])?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        got += n;
    }
    let word = |i: usize| u32::from_be_bytes([hdr[i], hdr[i + 1], hdr[i + 2], hdr[i + 3]]);
    let (cmd, transport, size) = (word(0), word(4), word(8) as usize);
    if size > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {size} bytes"),
        ));
    }
    let mut payload = std::vec![0u8; size];
    s.read_exact(&mut payload)?;
    Ok(Some((cmd, transport, payload)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_cut_frames_are_errors() {
        let mut buf = Vec::new();
        write_frame(
            &mut buf,
            CMD_NORMAL,
            TRANSPORT_MCTP,
            b"\x05\x10\x84\x00\x00",
        )
        .unwrap();
        write_frame(&mut buf, CMD_SHUTDOWN, TRANSPORT_MCTP, &[]).unwrap();
        assert_eq!(&buf[..12], &[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 5]);
        let mut r = &buf[..];
        let (c, t, p) = read_frame(&mut r).unwrap().unwrap();
        assert_eq!(
            (c, t, &p[..]),
            (CMD_NORMAL, TRANSPORT_MCTP, &b"\x05\x10\x84\x00\x00"[..])
        );
        let (c, _, p) = read_frame(&mut r).unwrap().unwrap();
        assert_eq!((c, p.len()), (CMD_SHUTDOWN, 0));
        assert!(read_frame(&mut r).unwrap().is_none());
        let mut cut = &buf[..7];
        assert_eq!(
            read_frame(&mut cut).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        let mut cut = &buf[..14];
        assert!(read_frame(&mut cut).is_err());
        let mut big = Vec::new();
        big.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1]);
        assert_eq!(
            read_frame(&mut &big[..]).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        assert_eq!(command_name(0x1234), "command 0x1234");
    }
}
