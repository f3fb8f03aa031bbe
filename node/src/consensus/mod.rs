//! Consensus glue: openraft's type configuration, the RocksDB log store and
//! state machine (storage v2). The Raft network lives in [`crate::network`].
//!
//! One Raft entry is one block candidate. Raft *commits* the entry; the
//! state machine *applies* it by verifying signatures and running the
//! chaincode, and stores block, results, state and its own bookkeeping in one
//! batch, not synced: the Raft log it derives from is synced, so a crash loses
//! at most applied blocks that are re-applied from the log.

// openraft's trait signatures fix `StorageError` (224 bytes) as the error type.
#![allow(clippy::result_large_err)]

pub mod log_store;
pub mod members;
pub mod snapshot_bytes;
pub mod state_machine;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a Raft entry carries: an encoded `BlockCandidate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRequest {
    /// Encoded `reciprocity.v1.BlockCandidate`.
    #[serde(with = "serde_bytes")]
    pub candidate: Vec<u8>,
}

impl std::fmt::Display for BlockRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlockRequest({} bytes)", self.candidate.len())
    }
}

/// What applying an entry produced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockResponse {
    /// Height of the block the entry became (None for blank and membership entries).
    pub height: Option<u64>,
    /// Validation code of each transaction, in block order.
    pub codes: Vec<u32>,
}

/// A Raft member: which club's node, and where to reach it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerNode {
    /// The club that runs the node.
    pub club_id: String,
    /// The node's public key, hex.
    pub node_key: String,
    /// Where peers dial it.
    pub address: String,
}

impl std::fmt::Display for PeerNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.club_id, self.address)
    }
}

openraft::declare_raft_types!(
    /// Reciprocity's Raft types.
    pub TypeConfig:
        D = BlockRequest,
        R = BlockResponse,
        NodeId = u64,
        Node = PeerNode,
        SnapshotData = snapshot_bytes::SnapshotBytes,
);

/// A Raft node id derived from the node key: the first 8 bytes of
/// SHA-256("reciprocity/node-id/v1" || key), so every node derives the same id.
pub fn node_id(node_key: &[u8; 32]) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(b"reciprocity/node-id/v1");
    hasher.update(node_key);
    let digest = hasher.finalize();
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// A node id as people, the CLI and the APIs write it: 16 hex digits.
pub fn node_id_hex(id: u64) -> String {
    format!("{id:016x}")
}

/// openraft's storage error for this configuration.
pub type StorageError = openraft::StorageError<u64>;
/// openraft's log id for this configuration.
pub type LogId = openraft::LogId<u64>;
/// openraft's entry for this configuration.
pub type Entry = openraft::Entry<TypeConfig>;
/// The Raft handle.
pub type Raft = openraft::Raft<TypeConfig>;
