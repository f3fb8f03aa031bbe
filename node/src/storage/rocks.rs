//! [`KvStore`] over RocksDB: one database, a column family per [`Family`],
//! one write-ahead log for all of them (so batches are atomic across
//! families and a crash keeps a prefix of them), tuned for the ledger's
//! point reads.

use std::path::Path;

use rocksdb::{ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteOptions};

use super::{Batch, BatchOp, Durability, Entries, Family, KeyValue, KvRead, KvStore};
use crate::error::{NodeError, Result};

/// Memtable size of the state and tx-index families.
const MEMTABLE_BYTES: usize = 8 * 1024 * 1024;

/// The block cache shared by the state and tx-index families.
const BLOCK_CACHE_BYTES: usize = 64 * 1024 * 1024;

fn storage_error(e: rocksdb::Error) -> NodeError {
    NodeError::Storage(e.into_string())
}

/// The RocksDB database of one node.
pub struct RocksStore {
    db: DB,
}

impl std::fmt::Debug for RocksStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksStore").field("path", &self.db.path()).finish()
    }
}

impl RocksStore {
    /// Opens (or creates) the database at `path` with every family.
    pub fn open(path: &Path) -> Result<RocksStore> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_compression_type(rocksdb::DBCompressionType::Lz4);
        // What the ledger's crash argument needs (RocksDB's default, set so
        // it stays): recovery replays the log up to its first damaged
        // record, so a crash keeps a prefix of the writes, never a later
        // batch without an earlier one.
        options.set_wal_recovery_mode(rocksdb::DBRecoveryMode::PointInTime);
        // Point reads dominate (the chaincode reads a dozen keys per
        // transaction, many of them absent: counters, used ids): bloom
        // filters in memtables and tables, a hash index in data blocks, one
        // block cache shared by the families.
        let cache = rocksdb::Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let families = Family::ALL.iter().map(|family| {
            let mut options = Options::default();
            if matches!(family, Family::State | Family::TxIndex) {
                let mut table = rocksdb::BlockBasedOptions::default();
                table.set_block_cache(&cache);
                table.set_bloom_filter(10.0, false);
                table.set_data_block_index_type(rocksdb::DataBlockIndexType::BinaryAndHash);
                table.set_data_block_hash_ratio(0.75);
                options.set_block_based_table_factory(&table);
                options.set_memtable_prefix_bloom_ratio(0.02);
                options.set_memtable_whole_key_filtering(true);
                // Small memtables: keys here are random (ids, counters), and
                // a skiplist of a 64 MiB memtable costs a cache miss per level
                // on every read and insert; flushed tables answer reads
                // through bloom filters and the block cache.
                options.set_write_buffer_size(MEMTABLE_BYTES);
            }
            ColumnFamilyDescriptor::new(family.name(), options)
        });
        let db = DB::open_cf_descriptors(&options, path, families).map_err(storage_error)?;
        Ok(RocksStore { db })
    }

    fn cf(&self, family: Family) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(family.name())
            .unwrap_or_else(|| panic!("column family {} is created on open", family.name()))
    }
}

/// RocksDB's items as owned entries (`Box<[u8]>` into `Vec<u8>` copies nothing).
fn entries<'a>(
    items: impl Iterator<Item = std::result::Result<(Box<[u8]>, Box<[u8]>), rocksdb::Error>> + 'a,
) -> Entries<'a> {
    Box::new(items.map(|item| {
        item.map(|(key, value)| (key.into_vec(), value.into_vec())).map_err(storage_error)
    }))
}

fn first<'a>(mut items: Entries<'a>) -> Result<Option<KeyValue>> {
    items.next().transpose()
}

impl KvRead for RocksStore {
    fn get(&self, family: Family, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.db.get_cf(self.cf(family), key).map_err(storage_error)
    }

    fn iter_from(&self, family: Family, from: &[u8]) -> Entries<'_> {
        entries(self.db.iterator_cf(self.cf(family), IteratorMode::From(from, Direction::Forward)))
    }

    fn last(&self, family: Family) -> Result<Option<KeyValue>> {
        first(entries(self.db.iterator_cf(self.cf(family), IteratorMode::End)))
    }
}

impl KvStore for RocksStore {
    fn write(&self, batch: Batch, durability: Durability) -> Result<()> {
        let mut rocks = rocksdb::WriteBatch::default();
        // The greatest key each family is given earlier in this batch, which
        // a later `Clear` must remove too (the database does not hold it yet).
        let mut put_max: [Option<&[u8]>; Family::ALL.len()] = Default::default();
        for op in batch.ops() {
            match op {
                BatchOp::Put { family, key, value } => {
                    let max = &mut put_max[family.index()];
                    if max.is_none_or(|max| key.as_slice() > max) {
                        *max = Some(key);
                    }
                    rocks.put_cf(self.cf(*family), key, value);
                }
                BatchOp::Delete { family, key } => rocks.delete_cf(self.cf(*family), key),
                BatchOp::DeleteRange { family, from, to } => {
                    rocks.delete_range_cf(self.cf(*family), from, to);
                }
                BatchOp::Clear { family } => {
                    // Every key up to the greatest one, then that one (a
                    // range's end is excluded).
                    let stored = self.last(*family)?.map(|(key, _)| key);
                    let last = match (stored, put_max[family.index()]) {
                        (Some(stored), Some(put)) => Some(stored.max(put.to_vec())),
                        (stored, put) => stored.or(put.map(<[u8]>::to_vec)),
                    };
                    if let Some(last) = last {
                        rocks.delete_range_cf(self.cf(*family), &[][..], last.as_slice());
                        rocks.delete_cf(self.cf(*family), &last);
                    }
                }
            }
        }
        let mut options = WriteOptions::default();
        options.set_sync(durability == Durability::Synced);
        self.db.write_opt(rocks, &options).map_err(storage_error)
    }

    fn sync(&self) -> Result<()> {
        self.db.flush_wal(true).map_err(storage_error)
    }

    fn location(&self) -> String {
        self.db.path().display().to_string()
    }

    fn view(&self) -> Box<dyn KvRead + Send + Sync + '_> {
        Box::new(RocksView { store: self, snapshot: self.db.snapshot() })
    }
}

/// One moment of a [`RocksStore`] (a RocksDB snapshot).
struct RocksView<'d> {
    store: &'d RocksStore,
    snapshot: rocksdb::Snapshot<'d>,
}

impl KvRead for RocksView<'_> {
    fn get(&self, family: Family, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.snapshot.get_cf(self.store.cf(family), key).map_err(storage_error)
    }

    fn iter_from(&self, family: Family, from: &[u8]) -> Entries<'_> {
        entries(
            self.snapshot
                .iterator_cf(self.store.cf(family), IteratorMode::From(from, Direction::Forward)),
        )
    }

    fn last(&self, family: Family) -> Result<Option<KeyValue>> {
        first(entries(self.snapshot.iterator_cf(self.store.cf(family), IteratorMode::End)))
    }
}
