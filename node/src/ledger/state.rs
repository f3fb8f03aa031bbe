//! The chaincode's [`StateStore`] over the ledger's store: reads from the
//! `state` family, writes collected into a [`Batch`] that the ledger commits
//! together with the block.

use std::collections::BTreeMap;

use reciprocity_chaincode::{ChaincodeError, StateRead, StateStore};

use crate::storage::{Batch, Entries, Family, KvRead};

fn store_error(e: &crate::NodeError) -> ChaincodeError {
    ChaincodeError::Store(e.to_string())
}

/// Up to `limit` entries of `read`'s state under `prefix`, after `start_after`.
fn scan(
    read: &dyn KvRead,
    prefix: &[u8],
    start_after: Option<&[u8]>,
    limit: usize,
) -> reciprocity_chaincode::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let from = match start_after {
        Some(after) if after >= prefix => after,
        _ => prefix,
    };
    collect_scan(read.iter_from(Family::State, from), prefix, start_after, limit)
}

fn collect_scan(
    items: Entries<'_>,
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
        if start_after.is_some_and(|after| key.as_slice() <= after) {
            continue;
        }
        out.push((key, value));
    }
    Ok(out)
}

/// Read-only view of the world state.
pub struct StateReader<'d> {
    read: &'d (dyn KvRead + Sync),
}

impl<'d> StateReader<'d> {
    pub(crate) fn new(read: &'d (dyn KvRead + Sync)) -> Self {
        StateReader { read }
    }
}

impl StateRead for StateReader<'_> {
    fn get(&self, key: &[u8]) -> reciprocity_chaincode::Result<Option<Vec<u8>>> {
        self.read.get(Family::State, key).map_err(|e| store_error(&e))
    }

    fn scan(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> reciprocity_chaincode::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        scan(self.read, prefix, start_after, limit)
    }
}

/// Read-only view of the world state at one moment: every read sees the
/// same applied block, whatever blocks are applied meanwhile (a view of the
/// store). For work that reads many keys and must not see two heights at
/// once, such as a dry run of the chaincode.
pub struct StateSnapshot<'d> {
    view: Box<dyn KvRead + Send + Sync + 'd>,
}

impl<'d> StateSnapshot<'d> {
    pub(crate) fn new(view: Box<dyn KvRead + Send + Sync + 'd>) -> Self {
        StateSnapshot { view }
    }
}

impl StateRead for StateSnapshot<'_> {
    fn get(&self, key: &[u8]) -> reciprocity_chaincode::Result<Option<Vec<u8>>> {
        self.view.get(Family::State, key).map_err(|e| store_error(&e))
    }

    fn scan(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> reciprocity_chaincode::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        scan(&*self.view, prefix, start_after, limit)
    }
}

/// World state for applying one block: committed reads, buffered writes.
pub struct BatchState<'d> {
    committed: StateReader<'d>,
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<'d> BatchState<'d> {
    /// A view over the committed state with no pending writes.
    pub fn new(read: &'d (dyn KvRead + Sync)) -> Self {
        BatchState { committed: StateReader::new(read), pending: BTreeMap::new() }
    }

    /// The pending writes, added to `batch` on the state family.
    pub fn write_into(self, batch: &mut Batch) {
        for (key, value) in self.pending {
            match value {
                Some(value) => batch.put(Family::State, key, value),
                None => batch.delete(Family::State, key),
            }
        }
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
