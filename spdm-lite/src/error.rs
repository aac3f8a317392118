//! Error types.
//!
//! Parse errors ([`InvalidMessage`]) and encode errors ([`EncodeError`]) are small and `Copy`.
//! Authentication failures (a record that does not decrypt, a signature or verify-data value
//! that does not check) are opaque: [`Error::Authentication`] says nothing about which check
//! failed.

/// Why received bytes are not a well-formed SPDM message or record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidMessage {
    /// The input ended before the message did.
    #[error("message truncated")]
    Truncated,
    /// Bytes follow the end of the message.
    #[error("trailing bytes after the message")]
    TrailingData,
    /// A length field disagrees with the message or with the negotiated sizes.
    #[error("inconsistent length field")]
    BadLength,
    /// The request/response code is not the one this parser handles.
    #[error("unexpected request/response code {0:#04x}")]
    UnexpectedCode(u8),
    /// A field holds a value the format does not allow (a reserved code, a zero count, ...).
    #[error("invalid field value")]
    InvalidField,
    /// The record or message belongs to another transport message type.
    #[error("unexpected transport message type {0:#04x}")]
    UnexpectedMessageType(u8),
}

/// Why a message could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The output buffer is too small.
    #[error("output buffer too small")]
    BufferTooSmall,
    /// A variable-length field is longer than its length field can express.
    #[error("field too long for its length field")]
    FieldTooLong,
    /// A fixed-size field (hash, signature, public key) has the wrong length for the algorithm.
    #[error("field length does not match the negotiated algorithm")]
    WrongFieldLength,
}

/// A failure of the cryptographic provider other than an authentication failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A key, public point or secret has the wrong size or is not a valid value.
    #[error("invalid key material")]
    InvalidKey,
    /// The provider does not implement the requested algorithm.
    #[error("algorithm not supported by the crypto provider")]
    Unsupported,
    /// The random-number source failed.
    #[error("random number source failed")]
    Rng,
    /// An HKDF output was requested with an impossible length.
    #[error("invalid key-derivation output length")]
    InvalidLength,
}

/// The crate-level error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Received bytes are malformed.
    #[error("malformed message: {0}")]
    Message(#[from] InvalidMessage),
    /// A message or record could not be written.
    #[error("encode: {0}")]
    Encode(#[from] EncodeError),
    /// The crypto provider failed.
    #[error("crypto provider: {0}")]
    Crypto(#[from] CryptoError),
    /// Authentication failed (record tag, signature, or verify data). Deliberately opaque.
    #[error("authentication failed")]
    Authentication,
    /// The record belongs to another session.
    #[error("record for an unknown session id")]
    UnknownSession,
    /// The 64-bit sequence number of a direction is exhausted; the session must end or rekey.
    #[error("sequence number exhausted")]
    SequenceExhausted,
    /// The record's sequence number is not the expected one (replayed, reordered or lost).
    #[error("unexpected record sequence number")]
    BadSequence,
    /// A message arrived that the protocol does not allow in the current state (or an API
    /// call came out of order).
    #[error("unexpected message for the current state")]
    UnexpectedMessage,
    /// The peer answered with an SPDM ERROR (its error code).
    #[error("peer sent SPDM ERROR {0:#04x}")]
    PeerError(u8),
    /// No common version or algorithm set, the peer chose something not offered, or the
    /// configuration is inconsistent.
    #[error("negotiation failed")]
    Negotiation,
    /// The peer's certificate chain was refused.
    #[error("certificate chain refused: {0}")]
    Certificate(#[from] crate::cert::CertError),
    /// An earlier failure left the state machine unusable; start again with GET_VERSION.
    #[error("state machine unusable after an earlier failure")]
    Poisoned,
}
