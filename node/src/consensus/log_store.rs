//! The Raft log in the ledger's store (`raft_log` and `raft_meta` families).
//!
//! Contract kept here (openraft storage v2): appended entries are readable
//! when `append` returns and the flush callback fires only after a synced
//! write; the vote is synced before `save_vote` returns.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use super::{Entry, LogId, StorageError, TypeConfig};
use crate::ledger::Ledger;
use crate::storage::{Batch, Durability, Family};
use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{RaftLogReader, StorageIOError, Vote};

const VOTE: &[u8] = b"vote";
const COMMITTED: &[u8] = b"committed";
const LAST_PURGED: &[u8] = b"last_purged";

fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

/// The log store; cheap to clone (shares the ledger).
#[derive(Debug, Clone)]
pub struct LogStore {
    ledger: Arc<Ledger>,
    /// Replication reads stop once this many bytes of entries are read
    /// (always at least one entry).
    replicate_bytes_max: u64,
}

impl LogStore {
    /// A log store in the ledger's store; no cap on replication reads.
    pub fn new(ledger: Arc<Ledger>) -> LogStore {
        LogStore { ledger, replicate_bytes_max: u64::MAX }
    }

    /// Caps what one replication read returns at `bytes_max` of stored
    /// entries (at least one entry), so an append fits the transport and
    /// its heartbeat-long deadline.
    pub fn with_replicate_bytes_max(mut self, bytes_max: u64) -> LogStore {
        self.replicate_bytes_max = bytes_max;
        self
    }

    fn get_meta<T: serde::de::DeserializeOwned>(
        &self,
        key: &[u8],
    ) -> Result<Option<T>, StorageError> {
        let bytes =
            self.ledger.store().get(Family::RaftMeta, key).map_err(|e| StorageIOError::read(&e))?;
        bytes
            .map(|b| postcard::from_bytes(&b).map_err(|e| StorageIOError::read(&e).into()))
            .transpose()
    }

    fn put_meta<T: serde::Serialize>(
        &self,
        key: &[u8],
        value: &T,
        durability: Durability,
    ) -> Result<(), StorageError> {
        let bytes = postcard::to_allocvec(value).map_err(|e| StorageIOError::write(&e))?;
        let mut batch = Batch::new();
        batch.put(Family::RaftMeta, key, bytes);
        self.ledger.store().write(batch, durability).map_err(|e| StorageIOError::write(&e).into())
    }

    fn last_entry_log_id(&self) -> Result<Option<LogId>, StorageError> {
        let last =
            self.ledger.store().last(Family::RaftLog).map_err(|e| StorageIOError::read_logs(&e))?;
        last.map(|(_, value)| decode_entry(&value).map(|entry| entry.log_id)).transpose()
    }
}

fn index_of_key(key: &[u8]) -> Result<u64, StorageError> {
    let bytes: [u8; 8] = key.try_into().map_err(|_| {
        StorageIOError::read_logs(&std::io::Error::other("raft log key is not 8 bytes"))
    })?;
    Ok(u64::from_be_bytes(bytes))
}

fn decode_entry(bytes: &[u8]) -> Result<Entry, StorageError> {
    postcard::from_bytes(bytes).map_err(|e| StorageIOError::read_logs(&e).into())
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let start = match range.start_bound() {
            Bound::Included(i) => *i,
            Bound::Excluded(i) => *i + 1,
            Bound::Unbounded => 0,
        };
        let mut entries = Vec::new();
        for item in self.ledger.store().iter_from(Family::RaftLog, &index_key(start)) {
            let (key, value) = item.map_err(|e| StorageIOError::read_logs(&e))?;
            let index = index_of_key(&key)?;
            if !range.contains(&index) {
                break;
            }
            entries.push(decode_entry(&value)?);
        }
        Ok(entries)
    }

    async fn limited_get_log_entries(
        &mut self,
        start: u64,
        end: u64,
    ) -> Result<Vec<Entry>, StorageError> {
        let mut entries = Vec::new();
        let mut bytes = 0u64;
        for item in self.ledger.store().iter_from(Family::RaftLog, &index_key(start)) {
            let (key, value) = item.map_err(|e| StorageIOError::read_logs(&e))?;
            let index = index_of_key(&key)?;
            bytes = bytes.saturating_add(value.len() as u64);
            if index >= end || (!entries.is_empty() && bytes > self.replicate_bytes_max) {
                break;
            }
            entries.push(decode_entry(&value)?);
        }
        Ok(entries)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged_log_id: Option<LogId> =
            self.get_meta::<Option<LogId>>(LAST_PURGED)?.flatten();
        let last_log_id = self.last_entry_log_id()?.or(last_purged_log_id);
        Ok(LogState { last_purged_log_id, last_log_id })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> Result<(), StorageError> {
        self.put_meta(VOTE, vote, Durability::Synced)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<u64>>, StorageError> {
        self.get_meta(VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        // Not required for safety: a lost value only means re-applying from the
        // state machine's own last-applied id.
        self.put_meta(COMMITTED, &committed, Durability::Unsynced)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.get_meta::<Option<LogId>>(COMMITTED)?.flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut batch = Batch::new();
        for entry in entries {
            let bytes =
                postcard::to_allocvec(&entry).map_err(|e| StorageIOError::write_logs(&e))?;
            batch.put(Family::RaftLog, index_key(entry.log_id.index), bytes);
        }
        let result = self.ledger.store().write(batch, Durability::Synced);
        // Durable (synced) before openraft is told so.
        match result {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(std::io::Error::other(e.to_string())));
                Err(StorageIOError::write_logs(&e).into())
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let mut batch = Batch::new();
        batch.delete_range(Family::RaftLog, index_key(log_id.index), index_key(u64::MAX));
        batch.delete(Family::RaftLog, index_key(u64::MAX));
        self.ledger
            .store()
            .write(batch, Durability::Synced)
            .map_err(|e| StorageIOError::write_logs(&e).into())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        // Record the purge point first: a crash between the two leaves extra
        // entries, never a gap.
        self.put_meta(LAST_PURGED, &Some(log_id), Durability::Synced)?;
        let mut batch = Batch::new();
        batch.delete_range(Family::RaftLog, index_key(0), index_key(log_id.index + 1));
        self.ledger
            .store()
            .write(batch, Durability::Synced)
            .map_err(|e| StorageIOError::write_logs(&e).into())
    }
}
