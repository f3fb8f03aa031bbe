//! Building blocks from applied candidates: header fields, Merkle roots, the
//! block hash. The hash of a block is SHA-256 of its encoded header bytes as
//! stored; headers are stored as bytes and never re-encoded.

use prost::Message;
use reciprocity_chaincode::{BlockOutcome, merkle};
use reciprocity_proto::v1 as pb;
use sha2::{Digest, Sha256};

/// Hash of the "previous block" of the first block.
pub const GENESIS_PREV_HASH: [u8; 32] = [0; 32];

/// SHA-256 of encoded header bytes.
pub fn block_hash(header_bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(header_bytes).into()
}

/// The encoded results of a block, in order (the leaves of `results_root`).
pub fn encoded_results(results: &[pb::TxResult]) -> Vec<Vec<u8>> {
    results.iter().map(Message::encode_to_vec).collect()
}

/// The leaves of `tx_root`: each envelope's id, signer and signature.
pub fn tx_leaves(txs: &[pb::SignedTx]) -> Vec<Vec<u8>> {
    txs.iter()
        .map(|t| {
            merkle::tx_leaf(&reciprocity_chaincode::tx_id(&t.payload).0, &t.signer, &t.signature)
        })
        .collect()
}

/// Where a block comes from in the Raft log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RaftPosition {
    /// Term of the entry.
    pub term: u64,
    /// Index of the entry.
    pub index: u64,
}

/// What a header is built from.
#[derive(Debug)]
pub struct HeaderInput<'a> {
    /// Network chain id.
    pub chain_id: &'a str,
    /// Height of the block.
    pub height: u64,
    /// Hash of the previous header.
    pub prev_block_hash: [u8; 32],
    /// Block time actually applied.
    pub timestamp_ms: u64,
    /// The block's transactions.
    pub txs: &'a [pb::SignedTx],
    /// Their results.
    pub results: &'a [pb::TxResult],
    /// The chaincode's outcome.
    pub outcome: &'a BlockOutcome,
    /// The Raft entry that carried it.
    pub raft: RaftPosition,
}

/// Builds the header of a block from what applying it produced.
pub fn header(input: &HeaderInput<'_>) -> pb::BlockHeader {
    let leaves = tx_leaves(input.txs);
    pb::BlockHeader {
        chain_id: input.chain_id.to_owned(),
        height: input.height,
        prev_block_hash: input.prev_block_hash.to_vec(),
        timestamp_ms: input.timestamp_ms,
        tx_root: merkle::root(&leaves).to_vec(),
        results_root: merkle::root(&encoded_results(input.results)).to_vec(),
        state_hash: input.outcome.state_hash.to_vec(),
        raft_term: input.raft.term,
        raft_index: input.raft.index,
        tx_count: u32::try_from(input.txs.len()).expect("block_txs_max fits u32"),
    }
}
