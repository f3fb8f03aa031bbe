//! The key-value seam under the ledger and the Raft storage: column
//! families, atomic write batches with a durability each, ordered reads and
//! consistent views.
//!
//! Owns nothing of the chain: [`crate::ledger`] and [`crate::consensus`]
//! say what the keys mean; this module only says how bytes are kept. Two
//! implementations:
//!
//! - [`rocks::RocksStore`], RocksDB (production): one database, one
//!   column family per [`Family`], one write-ahead log for all of them.
//! - [`memory::MemoryStore`], in memory (tests and the simulator): it keeps
//!   apart what was synced and what was only written, and
//!   [`memory::MemoryStore::crash`] gives the store a restarted process
//!   would find — the synced writes and any prefix of the unsynced ones.
//!
//! The contract both keep, and that the ledger's crash argument rests on:
//!
//! - a [`Batch`] is atomic: after a crash it is wholly there or wholly not;
//! - writes are ordered: a crash keeps a prefix of the batches written (in
//!   the order written), never a later one without an earlier one;
//! - a [`Durability::Synced`] write is durable when `write` returns, and so
//!   is every batch written before it; [`KvStore::sync`] makes everything
//!   written so far durable;
//! - reads see every batch written so far (synced or not);
//!   [`KvStore::view`] reads one moment whatever is written afterwards.
//!
//! Calls nothing of the node (`rocks` calls RocksDB). Bounds: none of its
//! own; batches are as large as the block, Raft append or snapshot install
//! that makes them (each bounded in config).

pub mod memory;
pub mod rocks;

use crate::error::Result;

/// The column families. Their names are on disk: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// The chaincode's world state.
    State,
    /// Encoded block headers by height (8-byte big-endian).
    Headers,
    /// Encoded block bodies (transactions, results, events) by height.
    Bodies,
    /// Transaction locations by transaction id.
    TxIndex,
    /// Ledger metadata (chain id, the state machine's bookkeeping).
    Meta,
    /// The Raft log by index (8-byte big-endian).
    RaftLog,
    /// Raft vote, committed and purged markers.
    RaftMeta,
}

impl Family {
    /// Every family, in a fixed order.
    pub const ALL: [Family; 7] = [
        Family::State,
        Family::Headers,
        Family::Bodies,
        Family::TxIndex,
        Family::Meta,
        Family::RaftLog,
        Family::RaftMeta,
    ];

    /// The family's name on disk.
    pub const fn name(self) -> &'static str {
        match self {
            Family::State => "state",
            Family::Headers => "headers",
            Family::Bodies => "bodies",
            Family::TxIndex => "tx_index",
            Family::Meta => "meta",
            Family::RaftLog => "raft_log",
            Family::RaftMeta => "raft_meta",
        }
    }

    /// Position in [`Family::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// Whether a write must be on disk when it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Durable when the write returns (with every write before it).
    Synced,
    /// In order with the other writes, lost by a crash until a later sync.
    Unsynced,
}

/// One change in a [`Batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOp {
    /// Sets `key` to `value`.
    Put {
        /// Family of the key.
        family: Family,
        /// The key.
        key: Vec<u8>,
        /// Its new value.
        value: Vec<u8>,
    },
    /// Removes `key`.
    Delete {
        /// Family of the key.
        family: Family,
        /// The key.
        key: Vec<u8>,
    },
    /// Removes the keys from `from` (included) to `to` (excluded);
    /// `from < to` (an empty or reversed range is never added).
    DeleteRange {
        /// Family of the keys.
        family: Family,
        /// First key removed.
        from: Vec<u8>,
        /// First key kept.
        to: Vec<u8>,
    },
    /// Removes every key of the family. The batch's writer must be the
    /// family's only writer while it writes (RocksDB finds the family's last
    /// key before writing); the state machine is, for the families it clears.
    Clear {
        /// The family emptied.
        family: Family,
    },
}

/// Changes written together, atomically, in the order they were added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    ops: Vec<BatchOp>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Sets `key` of `family` to `value`.
    pub fn put(&mut self, family: Family, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(BatchOp::Put { family, key: key.into(), value: value.into() });
    }

    /// Removes `key` of `family`.
    pub fn delete(&mut self, family: Family, key: impl Into<Vec<u8>>) {
        self.ops.push(BatchOp::Delete { family, key: key.into() });
    }

    /// Removes the keys of `family` from `from` (included) to `to`
    /// (excluded); an empty or reversed range removes nothing (and is not
    /// added: RocksDB refuses a reversed one part way through a batch).
    pub fn delete_range(
        &mut self,
        family: Family,
        from: impl Into<Vec<u8>>,
        to: impl Into<Vec<u8>>,
    ) {
        let (from, to) = (from.into(), to.into());
        if from < to {
            self.ops.push(BatchOp::DeleteRange { family, from, to });
        }
    }

    /// Removes every key of `family`.
    pub fn clear(&mut self, family: Family) {
        self.ops.push(BatchOp::Clear { family });
    }

    /// The changes, in order.
    pub fn ops(&self) -> &[BatchOp] {
        &self.ops
    }

    /// Whether the batch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// A key and its value.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// Entries in key order, each read or the error that stopped the reading.
pub type Entries<'a> = Box<dyn Iterator<Item = Result<KeyValue>> + 'a>;

/// Reads of a store, or of one moment of it.
pub trait KvRead {
    /// The value of `key` in `family`.
    fn get(&self, family: Family, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// The entries of `family` from `from` (included) on, in key order.
    fn iter_from(&self, family: Family, from: &[u8]) -> Entries<'_>;

    /// The entry of `family` with the greatest key.
    fn last(&self, family: Family) -> Result<Option<KeyValue>>;
}

/// A store the ledger and the Raft storage keep their bytes in.
pub trait KvStore: KvRead + Send + Sync + std::fmt::Debug {
    /// Writes `batch` atomically, durable when `durability` says so.
    fn write(&self, batch: Batch, durability: Durability) -> Result<()>;

    /// Makes every write so far durable.
    fn sync(&self) -> Result<()>;

    /// The store as it is now, unchanged by later writes while it is held.
    fn view(&self) -> Box<dyn KvRead + Send + Sync + '_>;

    /// Where the store is, for messages (a directory, or "memory").
    fn location(&self) -> String;
}

#[cfg(test)]
mod tests;
