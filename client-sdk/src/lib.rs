//! Client SDK of Reciprocity: everything a club's tools need to act on the
//! ledger without a node's internals.
//!
//! - [`keys`]: Ed25519 key generation and key files (PKCS#8 PEM, written with
//!   mode 0600; files readable by group or others are refused).
//! - [`tx`]: a [`tx::TxBuilder`] for the common fields and one constructor per
//!   transaction kind in [`tx::body`]; signing into a `SignedTx`.
//! - [`terms`]: encoding agreement terms and their hash (what the accepting
//!   club signs).
//! - [`decode`]: decoding envelopes and payloads, transaction ids, local
//!   signature checks, validation-code names.
//! - [`card`]: member-card credentials (COSE_Sign1 in Base45, the text of a
//!   card's QR code): signing, decoding, and the door's verdict.
//! - [`auth`]: the key-login challenge a node's REST API asks to be signed.
//! - [`dates`]: calendar dates to and from the day numbers the wire uses.
//! - `client` (feature `grpc`): the gRPC client of a node.
//!
//! ```
//! use reciprocity_sdk::{keys::Keypair, tx::{TxBuilder, body}, dates::day};
//!
//! let registrar = Keypair::from_seed([7; 32]);
//! let member = reciprocity_sdk::random_member_id().unwrap();
//! let tx = TxBuilder::new("demo-chain", 1_700_000_000_000)
//!     .sign(&registrar, body::register_member(&member, "full", day(2027, 12, 31).unwrap()));
//! let decoded = reciprocity_sdk::decode::payload(&tx).unwrap();
//! assert_eq!(decoded.chain_id, "demo-chain");
//! ```

pub mod auth;
pub mod card;
#[cfg(feature = "grpc")]
pub mod client;
pub mod dates;
pub mod decode;
pub mod keys;
pub mod terms;
pub mod tx;

pub use reciprocity_chaincode::{ClubId, MemberId, PublicKey, TxId, ValidationCode};
pub use reciprocity_proto::v1 as wire;

/// What can go wrong in the SDK.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// Reading or writing a key file failed.
    #[error("key file {path}: {source}")]
    KeyFileIo {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key file is readable by group or others.
    #[error(
        "key file {path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`"
    )]
    KeyFileTooOpen {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file does not hold a PKCS#8 Ed25519 private key.
    #[error("key file {path} is not a PKCS#8 PEM Ed25519 private key: {reason}")]
    KeyFileFormat {
        /// The file.
        path: String,
        /// What the decoder said.
        reason: String,
    },
    /// The operating system's random source failed.
    #[error("random source failed: {0}")]
    Random(String),
    /// Bytes that should be a protobuf message are not.
    #[error("not a valid {what}: {reason}")]
    Decode {
        /// What was expected.
        what: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// Talking to a node failed (connection or refusal); the message says why.
    #[error("node at {endpoint}: {message}")]
    Node {
        /// The node's endpoint.
        endpoint: String,
        /// What went wrong, as the node said it.
        message: String,
    },
    /// A value is out of range.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Which value.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

/// Result alias of the SDK.
pub type Result<T, E = SdkError> = std::result::Result<T, E>;

/// Fills `N` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| SdkError::Random(e.to_string()))?;
    Ok(bytes)
}

/// A fresh random member id (16 bytes, no personal data).
pub fn random_member_id() -> Result<MemberId> {
    random_bytes::<16>().map(MemberId)
}
