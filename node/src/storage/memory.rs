//! [`KvStore`] in memory, for tests and the simulator: it models what a
//! crash keeps. Every write is visible to reads at once; a write is durable
//! only once it is synced (by a [`Durability::Synced`] write, which makes
//! every earlier write durable too, as one write-ahead log does, or by
//! [`KvStore::sync`]). [`MemoryStore::crash`] gives the store a restarted
//! process would find: the durable writes, and the first `n` of the writes
//! that were not yet synced (any prefix may have reached the disk).
//!
//! Views and iterators share the tables they read (copy on write, one table
//! per family), so they see one moment and cost nothing until a write
//! changes a family they hold: that write copies the family's table once.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Batch, BatchOp, Durability, Entries, Family, KeyValue, KvRead, KvStore};
use crate::error::Result;

type Table = BTreeMap<Vec<u8>, Vec<u8>>;

/// One table per family, each shared until written.
#[derive(Clone, Default)]
struct Tables([Arc<Table>; Family::ALL.len()]);

impl Tables {
    fn table(&self, family: Family) -> &Table {
        &self.0[family.index()]
    }

    fn entries(&self) -> usize {
        self.0.iter().map(|table| table.len()).sum()
    }

    fn apply(&mut self, batch: &Batch) {
        for op in batch.ops() {
            match op {
                BatchOp::Put { family, key, value } => {
                    Arc::make_mut(&mut self.0[family.index()]).insert(key.clone(), value.clone());
                }
                BatchOp::Delete { family, key } => {
                    if self.0[family.index()].contains_key(key) {
                        Arc::make_mut(&mut self.0[family.index()]).remove(key);
                    }
                }
                BatchOp::DeleteRange { family, from, to } => {
                    assert!(from < to, "Batch::delete_range adds no empty or reversed range");
                    let table = Arc::make_mut(&mut self.0[family.index()]);
                    let mut removed = table.split_off(from.as_slice());
                    let mut kept = removed.split_off(to.as_slice());
                    table.append(&mut kept);
                }
                BatchOp::Clear { family } => self.0[family.index()] = Arc::default(),
            }
        }
    }

    fn last(&self, family: Family) -> Option<KeyValue> {
        self.table(family).last_key_value().map(|(k, v)| (k.clone(), v.clone()))
    }
}

#[derive(Default)]
struct Inner {
    /// What reads see: every write so far.
    live: Tables,
    /// What a crash keeps for certain: every synced write.
    durable: Tables,
    /// Writes since the last sync, in order.
    unsynced: Vec<Batch>,
}

/// A store in memory that knows which of its writes a crash would keep.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Sizes, not contents (which are the whole ledger).
        let inner = self.lock();
        f.debug_struct("MemoryStore")
            .field("entries", &inner.live.entries())
            .field("unsynced_writes", &inner.unsynced.len())
            .finish()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the tables as they were
        // (they change only by `apply`, which does not panic part way).
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many writes a crash now could lose.
    pub fn unsynced_writes(&self) -> usize {
        self.lock().unsynced.len()
    }

    /// The store a process restarted after a crash now would find: every
    /// synced write, then the first `unsynced_kept` of the writes made
    /// since (all of them if there are fewer). This store is unchanged.
    pub fn crash(&self, unsynced_kept: usize) -> MemoryStore {
        let inner = self.lock();
        let mut tables = inner.durable.clone();
        for batch in inner.unsynced.iter().take(unsynced_kept) {
            tables.apply(batch);
        }
        MemoryStore {
            inner: Mutex::new(Inner {
                live: tables.clone(),
                durable: tables,
                unsynced: Vec::new(),
            }),
        }
    }

    /// The live table of `family`, shared.
    fn table(&self, family: Family) -> Arc<Table> {
        Arc::clone(&self.lock().live.0[family.index()])
    }
}

/// Entries of one shared table, from a key on. Each step looks up the next
/// key (the iterator owns no borrow of the table).
struct TableEntries {
    table: Arc<Table>,
    next: Option<Bound<Vec<u8>>>,
}

impl Iterator for TableEntries {
    type Item = Result<KeyValue>;

    fn next(&mut self) -> Option<Self::Item> {
        let from = self.next.take()?;
        let (key, value) = self.table.range((from, Bound::Unbounded)).next()?;
        self.next = Some(Bound::Excluded(key.clone()));
        Some(Ok((key.clone(), value.clone())))
    }
}

fn entries_from(table: Arc<Table>, from: &[u8]) -> Entries<'static> {
    Box::new(TableEntries { table, next: Some(Bound::Included(from.to_vec())) })
}

impl KvRead for MemoryStore {
    fn get(&self, family: Family, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.lock().live.table(family).get(key).cloned())
    }

    fn iter_from(&self, family: Family, from: &[u8]) -> Entries<'_> {
        entries_from(self.table(family), from)
    }

    fn last(&self, family: Family) -> Result<Option<KeyValue>> {
        Ok(self.lock().live.last(family))
    }
}

impl KvStore for MemoryStore {
    fn write(&self, batch: Batch, durability: Durability) -> Result<()> {
        let mut inner = self.lock();
        inner.live.apply(&batch);
        match durability {
            Durability::Unsynced => inner.unsynced.push(batch),
            Durability::Synced => {
                let Inner { durable, unsynced, .. } = &mut *inner;
                for earlier in unsynced.drain(..) {
                    durable.apply(&earlier);
                }
                durable.apply(&batch);
            }
        }
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        let mut inner = self.lock();
        let Inner { durable, unsynced, .. } = &mut *inner;
        for earlier in unsynced.drain(..) {
            durable.apply(&earlier);
        }
        Ok(())
    }

    fn location(&self) -> String {
        "memory".to_owned()
    }

    fn view(&self) -> Box<dyn KvRead + Send + Sync + '_> {
        Box::new(MemoryView { tables: self.lock().live.clone() })
    }
}

/// One moment of a [`MemoryStore`].
struct MemoryView {
    tables: Tables,
}

impl KvRead for MemoryView {
    fn get(&self, family: Family, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.tables.table(family).get(key).cloned())
    }

    fn iter_from(&self, family: Family, from: &[u8]) -> Entries<'_> {
        entries_from(Arc::clone(&self.tables.0[family.index()]), from)
    }

    fn last(&self, family: Family) -> Result<Option<KeyValue>> {
        Ok(self.tables.last(family))
    }
}
