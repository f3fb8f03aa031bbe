//! Wire types of Reciprocity, generated from the `.proto` files in `proto/`.
//!
//! - [`v1::SignedTx`] is the envelope that travels and is stored: the exact
//!   payload bytes, the signer's Ed25519 key and the signature over
//!   `"reciprocity/tx/v1" || payload`.
//! - [`v1::TxPayload`] is the signed content: chain id, nonce, creation and
//!   expiry time, and one body (`v1::tx_payload::Body`).
//! - [`v1::Block`], [`v1::BlockHeader`] and [`v1::TxResult`] are what the ledger
//!   stores and serves.
//!
//! - With the `grpc` feature, `v1::node_server` and `v1::node_client` are the
//!   tonic server and client of the node API (`proto/reciprocity/v1/node.proto`).
//!
//! The code is generated at build time by protox + tonic-prost-build: no
//! `protoc` is needed. This crate holds wire types only; the rules live in
//! `reciprocity-chaincode`.
//!
//! ```
//! use prost::Message;
//! use reciprocity_proto::v1::{SignedTx, TxPayload};
//!
//! let payload = TxPayload { chain_id: "demo".into(), nonce: 7, ..Default::default() };
//! let envelope = SignedTx { payload: payload.encode_to_vec(), ..Default::default() };
//! let decoded = TxPayload::decode(envelope.payload.as_slice()).unwrap();
//! assert_eq!(decoded.nonce, 7);
//! ```

/// Version 1 of the wire format (protobuf package `reciprocity.v1`).
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/reciprocity.v1.rs"));
}

pub use prost;

/// The encoded `FileDescriptorSet` of every `.proto` file (for gRPC reflection).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/reciprocity_descriptor.bin"));
