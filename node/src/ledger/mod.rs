//! The ledger: RocksDB column families for blocks, the transaction index, the
//! chaincode's world state, metadata and (for consensus) the Raft log.
//!
//! Applying a committed block candidate writes the block header and body, the
//! transaction index entries, every state change and the chain position in
//! **one `WriteBatch`**: after a crash the ledger holds the whole block or
//! none of it. The Raft state machine's batches are not synced (the Raft log
//! they derive from is, and RocksDB writes its own log in order, so a crash
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

use prost::Message;
use reciprocity_chaincode::{
    BlockContext, BlockTx, EnvelopeRef, TxId, ValidationCode, apply_block, chain_position,
    verify_envelopes,
};
use reciprocity_proto::v1 as pb;
use rocksdb::{ColumnFamilyDescriptor, DB, Options, WriteBatch, WriteOptions};
use serde::{Deserialize, Serialize};

pub use block::{GENESIS_PREV_HASH, RaftPosition, block_hash};
pub use state::{BatchState, StateReader, StateSnapshot};

use crate::error::{NodeError, Result};

/// Column family of the chaincode's world state.
pub const CF_STATE: &str = "state";
/// Column family of encoded block headers by height (8-byte big-endian).
pub const CF_HEADERS: &str = "headers";
/// Column family of encoded block bodies (transactions, results, events) by height.
pub const CF_BODIES: &str = "bodies";
/// Column family of transaction locations by transaction id.
pub const CF_TX_INDEX: &str = "tx_index";
/// Column family of ledger metadata (chain id, consensus bookkeeping).
pub const CF_META: &str = "meta";
/// Column family of the Raft log by index (8-byte big-endian).
pub const CF_RAFT_LOG: &str = "raft_log";
/// Column family of Raft vote, committed and purged markers.
pub const CF_RAFT_META: &str = "raft_meta";

const COLUMN_FAMILIES: [&str; 7] =
    [CF_STATE, CF_HEADERS, CF_BODIES, CF_TX_INDEX, CF_META, CF_RAFT_LOG, CF_RAFT_META];

const META_CHAIN_ID: &[u8] = b"chain_id";

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

/// The RocksDB-backed ledger of one node.
pub struct Ledger {
    db: DB,
    chain_id: String,
    path: PathBuf,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("path", &self.path)
            .field("chain_id", &self.chain_id)
            .finish()
    }
}

/// Memtable size of the state and tx-index families.
const MEMTABLE_BYTES: usize = 8 * 1024 * 1024;

/// The block cache shared by the state and tx-index families.
const BLOCK_CACHE_BYTES: usize = 64 * 1024 * 1024;

fn height_key(height: u64) -> [u8; 8] {
    height.to_be_bytes()
}

impl Ledger {
    /// Opens (or creates) the ledger at `path` for `chain_id`, and verifies
    /// the stored chain.
    pub fn open(path: &Path, chain_id: &str) -> Result<Ledger> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_compression_type(rocksdb::DBCompressionType::Lz4);
        // Point reads dominate (the chaincode reads a dozen keys per
        // transaction, many of them absent: counters, used ids): bloom
        // filters in memtables and tables, a hash index in data blocks, one
        // block cache shared by the families.
        let cache = rocksdb::Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let families = COLUMN_FAMILIES.iter().map(|name| {
            let mut family = Options::default();
            if [CF_STATE, CF_TX_INDEX].contains(name) {
                let mut table = rocksdb::BlockBasedOptions::default();
                table.set_block_cache(&cache);
                table.set_bloom_filter(10.0, false);
                table.set_data_block_index_type(rocksdb::DataBlockIndexType::BinaryAndHash);
                table.set_data_block_hash_ratio(0.75);
                family.set_block_based_table_factory(&table);
                family.set_memtable_prefix_bloom_ratio(0.02);
                family.set_memtable_whole_key_filtering(true);
                // Small memtables: keys here are random (ids, counters), and
                // a skiplist of a 64 MiB memtable costs a cache miss per level
                // on every read and insert; flushed tables answer reads
                // through bloom filters and the block cache.
                family.set_write_buffer_size(MEMTABLE_BYTES);
            }
            ColumnFamilyDescriptor::new(*name, family)
        });
        let db = DB::open_cf_descriptors(&options, path, families)?;
        let ledger = Ledger { db, chain_id: chain_id.to_owned(), path: path.to_path_buf() };
        match ledger.db.get_cf(ledger.cf(CF_META), META_CHAIN_ID)? {
            Some(found) if found != chain_id.as_bytes() => {
                return Err(NodeError::WrongChain {
                    path: path.display().to_string(),
                    found: String::from_utf8_lossy(&found).into_owned(),
                    expected: chain_id.to_owned(),
                });
            }
            Some(_) => {}
            None => {
                let mut options = WriteOptions::default();
                options.set_sync(true);
                let mut batch = WriteBatch::default();
                batch.put_cf(ledger.cf(CF_META), META_CHAIN_ID, chain_id.as_bytes());
                ledger.db.write_opt(batch, &options)?;
            }
        }
        ledger.verify_chain()?;
        Ok(ledger)
    }

    /// The RocksDB handle of a column family.
    pub fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db.cf_handle(name).unwrap_or_else(|| panic!("column family {name} is created on open"))
    }

    /// The database (for the consensus storage in the same RocksDB).
    pub fn db(&self) -> &DB {
        &self.db
    }

    /// Where the state machine keeps its Raft snapshot files (inside the
    /// ledger's directory; RocksDB ignores it).
    pub fn snapshot_dir(&self) -> PathBuf {
        self.path.join("raft-snapshots")
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// Read access to the world state (for queries). Each read sees the
    /// latest applied block; see [`Ledger::snapshot`] for reads that must
    /// all see the same one.
    pub fn state(&self) -> StateReader<'_> {
        StateReader::new(&self.db, self.cf(CF_STATE))
    }

    /// The world state as it is now, unchanged by blocks applied while the
    /// view is held.
    pub fn snapshot(&self) -> StateSnapshot<'_> {
        StateSnapshot::new(&self.db, self.cf(CF_STATE))
    }

    /// Height of the last applied block (0 when none).
    pub fn height(&self) -> Result<u64> {
        Ok(chain_position(&self.state())?.height)
    }

    /// The encoded header at `height`.
    pub fn header_bytes(&self, height: u64) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get_cf(self.cf(CF_HEADERS), height_key(height))?)
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
        let body = self.db.get_cf(self.cf(CF_BODIES), height_key(height))?.ok_or_else(|| {
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
        self.db
            .get_cf(self.cf(CF_TX_INDEX), id.0)?
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
        self.apply_candidate_synced(candidate, raft, extra_meta, true)
    }

    /// [`Ledger::apply_candidate`], with the block's write synced to disk only
    /// when `sync` is set. The Raft state machine does not sync: its blocks
    /// are durable in the Raft log first, and RocksDB's log is written in
    /// order, so a crash keeps a prefix of the applied blocks (never a
    /// block in the middle, never state ahead of the log), and the node
    /// re-applies the rest from its log.
    pub fn apply_candidate_synced(
        &self,
        candidate: &pb::BlockCandidate,
        raft: RaftPosition,
        extra_meta: &[(Vec<u8>, Vec<u8>)],
        sync: bool,
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
        let mut state = BatchState::new(&self.db, self.cf(CF_STATE));
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

        let mut batch = state.into_batch();
        batch.put_cf(self.cf(CF_HEADERS), height_key(height), &header_bytes);
        batch.put_cf(self.cf(CF_BODIES), height_key(height), body.encode_to_vec());
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
            batch.put_cf(
                self.cf(CF_TX_INDEX),
                id,
                postcard::to_allocvec(location).expect("encodes"),
            );
        }
        for (key, value) in extra_meta {
            batch.put_cf(self.cf(CF_META), key, value);
        }
        let mut options = WriteOptions::default();
        options.set_sync(sync);
        self.db.write_opt(batch, &options)?;
        let hash = block_hash(&header_bytes);
        let mut block = body;
        block.header = Some(header);
        Ok(AppliedBlock { block, hash })
    }

    /// Reads a metadata value.
    pub fn meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get_cf(self.cf(CF_META), key)?)
    }

    /// Walks the stored chain: heights contiguous from 1, each header linked
    /// to its predecessor's hash, bodies present with one result per
    /// transaction and roots matching, and the last header's state hash equal
    /// to the chaincode's.
    pub fn verify_chain(&self) -> Result<ChainSummary> {
        let position = chain_position(&self.state())?;
        let blocks =
            self.db.iterator_cf(self.cf(CF_HEADERS), rocksdb::IteratorMode::Start).map(|item| {
                let (key, header) = item?;
                let body = self.db.get_cf(self.cf(CF_BODIES), &key)?;
                Ok((key.to_vec(), header.to_vec(), body))
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
