//! The chaincode's [`StateStore`] over RocksDB: reads from the `state`
//! column family, writes collected into a `WriteBatch` that the ledger commits
//! together with the block.

use std::collections::BTreeMap;

use reciprocity_chaincode::{ChaincodeError, StateRead, StateStore};
use rocksdb::{ColumnFamily, DB, Direction, IteratorMode, WriteBatch};

fn store_error(e: &rocksdb::Error) -> ChaincodeError {
    ChaincodeError::Store(e.to_string())
}

fn scan_cf(
    db: &DB,
    cf: &ColumnFamily,
    prefix: &[u8],
    start_after: Option<&[u8]>,
    limit: usize,
) -> reciprocity_chaincode::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let from = scan_start(prefix, start_after);
    collect_scan(
        db.iterator_cf(cf, IteratorMode::From(from, Direction::Forward)),
        prefix,
        start_after,
        limit,
    )
}

/// Where a scan of `prefix` after `start_after` starts reading.
fn scan_start<'k>(prefix: &'k [u8], start_after: Option<&'k [u8]>) -> &'k [u8] {
    match start_after {
        Some(after) if after >= prefix => after,
        _ => prefix,
    }
}

/// Up to `limit` entries of `items` under `prefix`, after `start_after`.
fn collect_scan(
    items: impl Iterator<Item = Result<(Box<[u8]>, Box<[u8]>), rocksdb::Error>>,
    prefix: &[u8],
    start_after: Option<&[u8]>,
    limit: usize,
) -> reciprocity_chaincode::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    for item in items {
        if out.len() >= limit {
            break;
        }
        let (key, value) = item.map_err(|e| store_error(&e))?;
        if !key.starts_with(prefix) {
            break;
        }
        if start_after.is_some_and(|after| key.as_ref() <= after) {
            continue;
        }
        out.push((key.to_vec(), value.to_vec()));
    }
    Ok(out)
}

/// Read-only view of the world state.
pub struct StateReader<'d> {
    db: &'d DB,
    cf: &'d ColumnFamily,
}

impl<'d> StateReader<'d> {
    pub(crate) fn new(db: &'d DB, cf: &'d ColumnFamily) -> Self {
        StateReader { db, cf }
    }
}

impl StateRead for StateReader<'_> {
    fn get(&self, key: &[u8]) -> reciprocity_chaincode::Result<Option<Vec<u8>>> {
        self.db.get_cf(self.cf, key).map_err(|e| store_error(&e))
    }

    fn scan(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> reciprocity_chaincode::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        scan_cf(self.db, self.cf, prefix, start_after, limit)
    }
}

/// Read-only view of the world state at one moment: every read sees the
/// same applied block, whatever blocks are applied meanwhile (a RocksDB
/// snapshot). For work that reads many keys and must not see two heights
/// at once, such as a dry run of the chaincode.
pub struct StateSnapshot<'d> {
    snapshot: rocksdb::Snapshot<'d>,
    cf: &'d ColumnFamily,
}

impl<'d> StateSnapshot<'d> {
    pub(crate) fn new(db: &'d DB, cf: &'d ColumnFamily) -> Self {
        StateSnapshot { snapshot: db.snapshot(), cf }
    }
}

impl StateRead for StateSnapshot<'_> {
    fn get(&self, key: &[u8]) -> reciprocity_chaincode::Result<Option<Vec<u8>>> {
        self.snapshot.get_cf(self.cf, key).map_err(|e| store_error(&e))
    }

    fn scan(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> reciprocity_chaincode::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let from = scan_start(prefix, start_after);
        let items =
            self.snapshot.iterator_cf(self.cf, IteratorMode::From(from, Direction::Forward));
        collect_scan(items, prefix, start_after, limit)
    }
}

/// World state for applying one block: committed reads, buffered writes.
pub struct BatchState<'d> {
    committed: StateReader<'d>,
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<'d> BatchState<'d> {
    /// A view over the committed state with no pending writes.
    pub fn new(db: &'d DB, cf: &'d ColumnFamily) -> Self {
        BatchState { committed: StateReader::new(db, cf), pending: BTreeMap::new() }
    }

    /// The pending writes as a `WriteBatch` on the state column family.
    pub fn into_batch(self) -> WriteBatch {
        let mut batch = WriteBatch::default();
        for (key, value) in &self.pending {
            match value {
                Some(value) => batch.put_cf(self.committed.cf, key, value),
                None => batch.delete_cf(self.committed.cf, key),
            }
        }
        batch
    }
}

impl StateRead for BatchState<'_> {
    fn get(&self, key: &[u8]) -> reciprocity_chaincode::Result<Option<Vec<u8>>> {
        match self.pending.get(key) {
            Some(pending) => Ok(pending.clone()),
            None => self.committed.get(key),
        }
    }

    fn scan(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> reciprocity_chaincode::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        // `apply_block` reads through its own overlay and writes only at the
        // end, so pending writes never need merging into a scan.
        assert!(self.pending.is_empty(), "BatchState: scan after writes");
        self.committed.scan(prefix, start_after, limit)
    }
}

impl StateStore for BatchState<'_> {
    fn put(&mut self, key: &[u8], value: &[u8]) -> reciprocity_chaincode::Result<()> {
        self.pending.insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> reciprocity_chaincode::Result<()> {
        self.pending.insert(key.to_vec(), None);
        Ok(())
    }
}
