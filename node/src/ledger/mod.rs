//! The ledger: blocks, the transaction index, the chaincode's world state,
//! metadata and (for consensus) the Raft log, in the families of one
//! [`KvStore`] (RocksDB in production, see [`crate::storage`]).
//!
//! Applying a committed block candidate writes the block header and body, the
//! transaction index entries, every state change and the chain position in
//! **one [`Batch`]**: after a crash the ledger holds the whole block or
//! none of it. The Raft state machine's batches are not synced (the Raft log
//! they derive from is, and the store keeps writes in order, so a crash
//! keeps a prefix of the applied blocks, re-applied from the log on start);
//! a ledger used without Raft syncs each block
//! ([`Ledger::apply_candidate`]). On open the stored chain is verified (hash links, heights,
//! state hash) and a corrupt one is refused with a message that says what is
//! wrong.

pub mod block;
mod state;
pub mod watch;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use prost::Message;
use reciprocity_chaincode::{
    BlockContext, BlockTx, EnvelopeRef, TxId, ValidationCode, apply_block, chain_position,
    verify_envelopes,
};
use reciprocity_proto::v1 as pb;
use serde::{Deserialize, Serialize};

pub use block::{GENESIS_PREV_HASH, RaftPosition, block_hash};
pub use state::{BatchState, StateReader, StateSnapshot};

use crate::error::{NodeError, Result};
use crate::storage::rocks::RocksStore;
use crate::storage::{Batch, Durability, Family, KvStore};

const META_CHAIN_ID: &[u8] = b"chain_id";

/// The directory, inside a node's `data_dir`, of its Raft snapshot files.
pub const SNAPSHOT_DIR: &str = "raft-snapshots";

/// Where a transaction landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxLocation {
    /// Block height.
    pub height: u64,
    /// Position in the block.
    pub position: u32,
    /// Validation code number.
    pub code: u32,
}

/// A block as applied: what waiters and streams need.
#[derive(Debug, Clone)]
pub struct AppliedBlock {
    /// The block with header, transactions, results and events.
    pub block: pb::Block,
    /// Hash of the header.
    pub hash: [u8; 32],
}

/// Summary of a verified chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainSummary {
    /// Height of the last block (0 when empty).
    pub height: u64,
    /// Hash of the last header.
    pub last_hash: [u8; 32],
    /// State hash after the last block.
    pub state_hash: [u8; 32],
    /// Time of the last block.
    pub last_time_ms: u64,
}

/// The ledger of one node, over its store.
pub struct Ledger {
    store: Arc<dyn KvStore>,
    chain_id: String,
    snapshot_dir: PathBuf,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("store", &self.store)
            .field("chain_id", &self.chain_id)
            .finish()
    }
}

fn height_key(height: u64) -> [u8; 8] {
    height.to_be_bytes()
}

impl Ledger {
    /// Opens (or creates) the RocksDB ledger at `path` for `chain_id`, and
    /// verifies the stored chain.
    pub fn open(path: &Path, chain_id: &str) -> Result<Ledger> {
        let store = RocksStore::open(path)?;
        Ledger::with_store(Arc::new(store), chain_id, path.join(SNAPSHOT_DIR))
    }

    /// The ledger for `chain_id` in `store` (which may be empty), and
    /// verifies the stored chain; the state machine keeps its Raft snapshot
    /// files in `snapshot_dir`.
    pub fn with_store(
        store: Arc<dyn KvStore>,
        chain_id: &str,
        snapshot_dir: PathBuf,
    ) -> Result<Ledger> {
        match store.get(Family::Meta, META_CHAIN_ID)? {
            Some(found) if found != chain_id.as_bytes() => {
                return Err(NodeError::WrongChain {
                    path: store.location(),
                    found: String::from_utf8_lossy(&found).into_owned(),
                    expected: chain_id.to_owned(),
                });
            }
            Some(_) => {}
            None => {
                let mut batch = Batch::new();
                batch.put(Family::Meta, META_CHAIN_ID, chain_id.as_bytes());
                store.write(batch, Durability::Synced)?;
            }
        }
        let ledger = Ledger { store, chain_id: chain_id.to_owned(), snapshot_dir };
        ledger.verify_chain()?;
        Ok(ledger)
    }

    /// The store (for the consensus storage, which keeps the Raft log in
    /// the same one).
    pub fn store(&self) -> &dyn KvStore {
        &*self.store
    }

    /// Where the state machine keeps its Raft snapshot files (for a RocksDB
    /// ledger, [`SNAPSHOT_DIR`] inside its directory, which RocksDB ignores).
    pub fn snapshot_dir(&self) -> &Path {
        &self.snapshot_dir
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// Read access to the world state (for queries). Each read sees the
    /// latest applied block; see [`Ledger::snapshot`] for reads that must
    /// all see the same one.
    pub fn state(&self) -> StateReader<'_> {
        StateReader::new(&*self.store)
    }

    /// The world state as it is now, unchanged by blocks applied while the
    /// view is held.
    pub fn snapshot(&self) -> StateSnapshot<'_> {
        StateSnapshot::new(self.store.view())
    }

    /// Height of the last applied block (0 when none).
    pub fn height(&self) -> Result<u64> {
        Ok(chain_position(&self.state())?.height)
    }

    /// The encoded header at `height`.
    pub fn header_bytes(&self, height: u64) -> Result<Option<Vec<u8>>> {
        self.store.get(Family::Headers, &height_key(height))
    }

    /// The header at `height`.
    pub fn header(&self, height: u64) -> Result<Option<pb::BlockHeader>> {
        self.header_bytes(height)?
            .map(|bytes| {
                pb::BlockHeader::decode(bytes.as_slice()).map_err(|e| NodeError::CorruptRecord {
                    what: format!("header {height}"),
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    /// The whole block at `height`.
    pub fn block(&self, height: u64) -> Result<Option<pb::Block>> {
        let Some(header) = self.header(height)? else { return Ok(None) };
        let body = self.store.get(Family::Bodies, &height_key(height))?.ok_or_else(|| {
            NodeError::CorruptChain(format!("block {height} has a header but no body"))
        })?;
        let mut block = pb::Block::decode(body.as_slice()).map_err(|e| {
            NodeError::CorruptRecord { what: format!("block body {height}"), reason: e.to_string() }
        })?;
        block.header = Some(header);
        Ok(Some(block))
    }

    /// Where a transaction landed, if it is in a block.
    pub fn tx_location(&self, id: &TxId) -> Result<Option<TxLocation>> {
        self.store
            .get(Family::TxIndex, &id.0)?
            .map(|bytes| {
                postcard::from_bytes(&bytes).map_err(|e| NodeError::CorruptRecord {
                    what: format!("tx index entry {id}"),
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    /// Verifies, applies and durably stores a committed block candidate, with
    /// `extra_meta` (consensus bookkeeping) written in the same batch.
    ///
    /// The block time is the candidate's, raised to the previous block's if
    /// it is earlier (and capped at the chaincode's latest time), so block
    /// time never goes back whatever a leader stamps.
    #[tracing::instrument(level = "debug", skip_all, fields(raft_index = raft.index, txs = candidate.txs.len()))]
    pub fn apply_candidate(
        &self,
        candidate: &pb::BlockCandidate,
        raft: RaftPosition,
        extra_meta: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<AppliedBlock> {
        self.apply_candidate_with(candidate, raft, extra_meta, Durability::Synced)
    }

    /// [`Ledger::apply_candidate`], with the block's write as durable as
    /// `durability` says. The Raft state machine does not sync: its blocks
    /// are durable in the Raft log first, and RocksDB's log is written in
    /// order, so a crash keeps a prefix of the applied blocks (never a
    /// block in the middle, never state ahead of the log), and the node
    /// re-applies the rest from its log.
    pub fn apply_candidate_with(
        &self,
        candidate: &pb::BlockCandidate,
        raft: RaftPosition,
        extra_meta: &[(Vec<u8>, Vec<u8>)],
        durability: Durability,
    ) -> Result<AppliedBlock> {
        let position = chain_position(&self.state())?;
        let height = position.height + 1;
        // Clamped into the chaincode's range so that no leader clock can make
        // a committed entry unappliable (which would halt every node).
        let timestamp_ms = candidate
            .timestamp_ms
            .min(reciprocity_chaincode::TIMESTAMP_MS_MAX)
            .max(position.time_ms);
        let prev_block_hash = match position.height {
            0 => GENESIS_PREV_HASH,
            h => block_hash(&self.header_bytes(h)?.ok_or_else(|| {
                NodeError::CorruptChain(format!("state is at height {h} but its header is missing"))
            })?),
        };
        let envelopes: Vec<EnvelopeRef<'_>> =
            candidate.txs.iter().map(EnvelopeRef::from_signed).collect();
        let verified: Vec<BlockTx> = verify_envelopes(&envelopes);
        let ctx = BlockContext { chain_id: self.chain_id.clone(), height, timestamp_ms };
        let mut state = BatchState::new(&*self.store);
        let outcome = apply_block(&mut state, &ctx, &verified)?;
        assert_eq!(outcome.results.len(), candidate.txs.len(), "one result per transaction");

        let results: Vec<pb::TxResult> = outcome.results.iter().map(|r| r.to_proto()).collect();
        let header = block::header(&block::HeaderInput {
            chain_id: &self.chain_id,
            height,
            prev_block_hash,
            timestamp_ms,
            txs: &candidate.txs,
            results: &results,
            outcome: &outcome,
            raft,
        });
        let header_bytes = header.encode_to_vec();
        let body = pb::Block {
            header: None,
            txs: candidate.txs.clone(),
            results,
            block_events: outcome.block_events.iter().map(|e| e.to_proto()).collect(),
        };

        let mut batch = Batch::new();
        state.write_into(&mut batch);
        batch.put(Family::Headers, height_key(height), header_bytes.as_slice());
        batch.put(Family::Bodies, height_key(height), body.encode_to_vec());
        // The index points at a transaction's latest inclusion that was not
        // refused as a duplicate: the one that consumed its id if any (later
        // copies are duplicates), else the latest refusal by envelope rules
        // (expired, not yet valid...), which do not consume the id.
        let mut latest: BTreeMap<[u8; 32], TxLocation> = BTreeMap::new();
        for (position, result) in outcome.results.iter().enumerate() {
            if result.code == ValidationCode::DuplicateTx {
                continue;
            }
            let location = TxLocation {
                height,
                position: u32::try_from(position).expect("block_txs_max fits u32"),
                code: result.code.number(),
            };
            latest.insert(result.tx_id.0, location);
        }
        for (id, location) in &latest {
            batch.put(Family::TxIndex, id, postcard::to_allocvec(location).expect("encodes"));
        }
        for (key, value) in extra_meta {
            batch.put(Family::Meta, key.as_slice(), value.as_slice());
        }
        self.store.write(batch, durability)?;
        let hash = block_hash(&header_bytes);
        let mut block = body;
        block.header = Some(header);
        Ok(AppliedBlock { block, hash })
    }

    /// Reads a metadata value.
    pub fn meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.store.get(Family::Meta, key)
    }

    /// Walks the stored chain: heights contiguous from 1, each header linked
    /// to its predecessor's hash, bodies present with one result per
    /// transaction and roots matching, and the last header's state hash equal
    /// to the chaincode's.
    pub fn verify_chain(&self) -> Result<ChainSummary> {
        let position = chain_position(&self.state())?;
        let blocks = self.store.iter_from(Family::Headers, &[]).map(|item| {
            let (key, header) = item?;
            let body = self.store.get(Family::Bodies, &key)?;
            Ok((key, header, body))
        });
        verify_blocks(&self.chain_id, &position, blocks)
    }
}

/// One stored block as raw column-family values: height key, header bytes, body bytes.
pub type RawBlock = (Vec<u8>, Vec<u8>, Option<Vec<u8>>);

/// Verifies a sequence of stored blocks in height order against the state's
/// chain position: heights contiguous from 1, hash links, chain id, time,
/// one result per transaction, Merkle roots, and the last state hash. Used on
/// open and, before anything is replaced, on a received snapshot.
pub fn verify_blocks(
    chain_id: &str,
    position: &reciprocity_chaincode::ChainPosition,
    blocks: impl Iterator<Item = Result<RawBlock>>,
) -> Result<ChainSummary> {
    let corrupt = |text: String| Err(NodeError::CorruptChain(text));
    let mut prev_hash = GENESIS_PREV_HASH;
    let mut last_time_ms = 0;
    let mut state_hash = reciprocity_chaincode::STATE_HASH_EMPTY;
    let mut height = 0;
    for (n, item) in blocks.enumerate() {
        let (key, header_bytes, body) = item?;
        let expected = n as u64 + 1;
        height = u64::from_be_bytes(key.as_slice().try_into().map_err(|_| {
            NodeError::CorruptChain(format!("header key {} is not a height", hex::encode(&key)))
        })?);
        if height != expected {
            return corrupt(format!("block {expected} is missing (found {height} next)"));
        }
        let header = pb::BlockHeader::decode(header_bytes.as_slice()).map_err(|e| {
            NodeError::CorruptRecord { what: format!("header {height}"), reason: e.to_string() }
        })?;
        let body = body.ok_or_else(|| {
            NodeError::CorruptChain(format!("block {height} has a header but no body"))
        })?;
        let block = pb::Block::decode(body.as_slice()).map_err(|e| NodeError::CorruptRecord {
            what: format!("block body {height}"),
            reason: e.to_string(),
        })?;
        if header.prev_block_hash != prev_hash {
            return corrupt(format!("block {height} does not link to block {}'s hash", height - 1));
        }
        if header.height != height || header.chain_id != chain_id {
            return corrupt(format!(
                "block {height} header names height {} of chain {:?}",
                header.height, header.chain_id
            ));
        }
        if header.timestamp_ms < last_time_ms {
            return corrupt(format!("block {height} is stamped before block {}", height - 1));
        }
        if block.txs.len() != block.results.len() || header.tx_count as usize != block.txs.len() {
            return corrupt(format!(
                "block {height} has {} transactions and {} results",
                block.txs.len(),
                block.results.len()
            ));
        }
        if header.tx_root != reciprocity_chaincode::merkle::root(&block::tx_leaves(&block.txs)) {
            return corrupt(format!(
                "block {height}: transactions do not match the header's tx_root"
            ));
        }
        if header.results_root
            != reciprocity_chaincode::merkle::root(&block::encoded_results(&block.results))
        {
            return corrupt(format!(
                "block {height}: results do not match the header's results_root"
            ));
        }
        prev_hash = block_hash(&header_bytes);
        last_time_ms = header.timestamp_ms;
        state_hash = header.state_hash.as_slice().try_into().map_err(|_| {
            NodeError::CorruptChain(format!("block {height}: state hash is not 32 bytes"))
        })?;
    }
    if height != position.height {
        return corrupt(format!(
            "blocks end at height {height} but the state is at height {}",
            position.height
        ));
    }
    if state_hash != position.state_hash {
        return corrupt(format!("the state hash at height {height} differs from the last block's"));
    }
    Ok(ChainSummary { height, last_hash: prev_hash, state_hash, last_time_ms })
}
