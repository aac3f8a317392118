//! Encapsulated requests (SPDM 1.2): the responder asks the requester questions inside the
//! requester's own request/response exchange. Session mutual authentication uses them to fetch
//! the requester's certificate chain (GET_DIGESTS, GET_CERTIFICATE) before FINISH.
//!
//! ```text
//! GET_ENCAPSULATED_REQUEST      (0xEA) P1=0 P2=0
//! ENCAPSULATED_REQUEST          (0x6A) P1=RequestID P2=0       | one SPDM request
//! DELIVER_ENCAPSULATED_RESPONSE (0xEB) P1=RequestID P2=0       | one SPDM response (or ERROR)
//! ENCAPSULATED_RESPONSE_ACK     (0x6B) P1=next RequestID (0 if none)
//!                                      P2=PayloadType (0 none, 1 request, 2 ReqSlotNumber)
//!                                      | AckRequestID(1) Reserved(3) | request or slot (1)
//! ```

use super::{Code, Encode, Version, hdr};
use crate::codec::{Reader, Writer};
use crate::error::{EncodeError, InvalidMessage};

#[allow(missing_docs)]
impl Code {
    pub const ENCAPSULATED_REQUEST: Self = Self(0x6A);
    pub const ENCAPSULATED_RESPONSE_ACK: Self = Self(0x6B);
    pub const GET_ENCAPSULATED_REQUEST: Self = Self(0xEA);
    pub const DELIVER_ENCAPSULATED_RESPONSE: Self = Self(0xEB);
}

/// `ENCAPSULATED_RESPONSE_ACK` PayloadType: nothing follows, the flow is over.
pub const PAYLOAD_NONE: u8 = 0;
/// `ENCAPSULATED_RESPONSE_ACK` PayloadType: the next encapsulated request follows.
pub const PAYLOAD_REQUEST: u8 = 1;
/// `ENCAPSULATED_RESPONSE_ACK` PayloadType: the flow is over and one byte names the
/// requester's slot for FINISH.
pub const PAYLOAD_SLOT_NUMBER: u8 = 2;

super::header_only!(
    /// GET_ENCAPSULATED_REQUEST: the requester asks for the responder's pending request.
    GetEncapsulatedRequest,
    Code::GET_ENCAPSULATED_REQUEST
);

/// A header followed by one whole SPDM message (ENCAPSULATED_REQUEST and
/// DELIVER_ENCAPSULATED_RESPONSE).
fn parse_wrapped(bytes: &[u8], code: Code) -> Result<(super::Header, &[u8]), InvalidMessage> {
    let mut r = Reader::new(bytes);
    let h = super::Header::read_expect(&mut r, code)?;
    let inner = r.rest();
    // The wrapped message must at least carry its own header.
    super::Header::peek(inner)?;
    Ok((h, inner))
}

/// ENCAPSULATED_REQUEST: the responder's request for the requester.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EncapsulatedRequest<'a> {
    /// SPDMVersion.
    pub version: Version,
    /// RequestID (Param1), echoed by DELIVER_ENCAPSULATED_RESPONSE.
    pub request_id: u8,
    /// The encapsulated SPDM request (header included).
    pub request: &'a [u8],
}

impl<'a> EncapsulatedRequest<'a> {
    /// Parses the message.
    ///
    /// # Errors
    /// [`InvalidMessage`] on a wrong code or a wrapped message shorter than a header.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, InvalidMessage> {
        let (h, request) = parse_wrapped(bytes, Code::ENCAPSULATED_REQUEST)?;
        Ok(Self {
            version: h.version,
            request_id: h.param1,
            request,
        })
    }
}

impl Encode for EncapsulatedRequest<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        hdr(self.version, Code::ENCAPSULATED_REQUEST, self.request_id, 0).emit(w)?;
        w.put(self.request)
    }
}

/// DELIVER_ENCAPSULATED_RESPONSE: the requester's answer to an encapsulated request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeliverEncapsulatedResponse<'a> {
    /// SPDMVersion.
    pub version: Version,
    /// RequestID of the request answered (Param1).
    pub request_id: u8,
    /// The encapsulated SPDM response (header included).
    pub response: &'a [u8],
}

impl<'a> DeliverEncapsulatedResponse<'a> {
    /// Parses the message.
    ///
    /// # Errors
    /// [`InvalidMessage`] on a wrong code or a wrapped message shorter than a header.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, InvalidMessage> {
        let (h, response) = parse_wrapped(bytes, Code::DELIVER_ENCAPSULATED_RESPONSE)?;
        Ok(Self {
            version: h.version,
            request_id: h.param1,
            response,
        })
    }
}

impl Encode for DeliverEncapsulatedResponse<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        hdr(
            self.version,
            Code::DELIVER_ENCAPSULATED_RESPONSE,
            self.request_id,
            0,
        )
        .emit(w)?;
        w.put(self.response)
    }
}

/// ENCAPSULATED_RESPONSE_ACK (SPDM 1.2 layout, with AckRequestID).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EncapsulatedResponseAck<'a> {
    /// SPDMVersion.
    pub version: Version,
    /// RequestID of the next encapsulated request (Param1), 0 if none.
    pub next_request_id: u8,
    /// PayloadType (Param2): [`PAYLOAD_NONE`], [`PAYLOAD_REQUEST`] or
    /// [`PAYLOAD_SLOT_NUMBER`]; other values are kept for the state machine to refuse.
    pub payload_type: u8,
    /// RequestID of the DELIVER_ENCAPSULATED_RESPONSE acknowledged.
    pub ack_request_id: u8,
    /// The next request ([`PAYLOAD_REQUEST`]), one slot byte ([`PAYLOAD_SLOT_NUMBER`]) or
    /// nothing.
    pub payload: &'a [u8],
}

impl<'a> EncapsulatedResponseAck<'a> {
    /// Parses the message and checks the payload against its type (a request with a header,
    /// exactly one slot byte, or nothing).
    ///
    /// # Errors
    /// [`InvalidMessage`] on a wrong code, truncation or a payload that does not match.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, Code::ENCAPSULATED_RESPONSE_ACK)?;
        let ack_request_id = r.u8()?;
        r.take(3)?;
        let payload = r.rest();
        match h.param2 {
            PAYLOAD_NONE if !payload.is_empty() => return Err(InvalidMessage::TrailingData),
            PAYLOAD_REQUEST => {
                super::Header::peek(payload)?;
            }
            PAYLOAD_SLOT_NUMBER if payload.len() != 1 => return Err(InvalidMessage::BadLength),
            _ => {}
        }
        Ok(Self {
            version: h.version,
            next_request_id: h.param1,
            payload_type: h.param2,
            ack_request_id,
            payload,
        })
    }
}

impl Encode for EncapsulatedResponseAck<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        hdr(
            self.version,
            Code::ENCAPSULATED_RESPONSE_ACK,
            self.next_request_id,
            self.payload_type,
        )
        .emit(w)?;
        w.u8(self.ack_request_id)?;
        w.put(&[0; 3])?;
        w.put(self.payload)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trips_and_refusals() {
        let get_digests = [0x12, 0x81, 0, 0];
        let mut buf = [0u8; 32];
        let n = EncapsulatedRequest {
            version: Version::V12,
            request_id: 1,
            request: &get_digests,
        }
        .encode(&mut buf)
        .unwrap();
        assert_eq!(&buf[..n], &[0x12, 0x6A, 1, 0, 0x12, 0x81, 0, 0]);
        let p = EncapsulatedRequest::parse(&buf[..n]).unwrap();
        assert_eq!((p.request_id, p.request), (1, &get_digests[..]));
        // A wrapped message shorter than a header.
        assert!(EncapsulatedRequest::parse(&buf[..n - 1]).is_err());
        assert!(DeliverEncapsulatedResponse::parse(&buf[..n]).is_err());

        let n = EncapsulatedResponseAck {
            version: Version::V12,
            next_request_id: 2,
            payload_type: PAYLOAD_REQUEST,
            ack_request_id: 1,
            payload: &get_digests,
        }
        .encode(&mut buf)
        .unwrap();
        assert_eq!(&buf[..8], &[0x12, 0x6B, 2, 1, 1, 0, 0, 0]);
        let a = EncapsulatedResponseAck::parse(&buf[..n]).unwrap();
        assert_eq!((a.next_request_id, a.ack_request_id), (2, 1));
        assert_eq!(a.payload, &get_digests[..]);
        // PayloadType none with trailing bytes, slot number of two bytes.
        buf[3] = PAYLOAD_NONE;
        assert!(EncapsulatedResponseAck::parse(&buf[..n]).is_err());
        buf[3] = PAYLOAD_SLOT_NUMBER;
        assert!(EncapsulatedResponseAck::parse(&buf[..10]).is_err());
        assert_eq!(
            EncapsulatedResponseAck::parse(&buf[..9]).unwrap().payload,
            &[0x12]
        );
        assert!(
            GetEncapsulatedRequest::parse(&[0x12, 0xEA, 0, 0]).is_ok()
                && GetEncapsulatedRequest::parse(&[0x12, 0xEA, 0, 0, 0]).is_err()
        );
    }
}
