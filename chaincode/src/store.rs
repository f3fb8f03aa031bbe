//! The key-value interface the chaincode reads and writes, an in-memory
//! implementation, and the write overlay used while applying a block.
//!
//! The ledger backs [`StateStore`] with RocksDB; tests use [`MemStore`]. Keys
//! and values are opaque bytes; iteration is in ascending byte order of keys.

use std::collections::BTreeMap;

use crate::error::Result;

/// Ordered read access to the world state.
pub trait StateRead {
    /// The value under `key`, if any.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Up to `limit` entries whose key starts with `prefix` and is strictly
    /// greater than `start_after` (when given), in ascending key order.
    fn scan(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;
}

/// Read and write access to the world state.
pub trait StateStore: StateRead {
    /// Sets `key` to `value`.
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()>;
    /// Removes `key` (no-op when absent).
    fn delete(&mut self, key: &[u8]) -> Result<()>;
}

/// A [`StateStore`] over a `BTreeMap`, for tests and tools.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemStore {
    entries: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// All entries in key order (for comparing stores byte for byte).
    pub fn entries(&self) -> &BTreeMap<Vec<u8>, Vec<u8>> {
        &self.entries
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl StateRead for MemStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.entries.get(key).cloned())
    }

    fn scan(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(range_from(&self.entries, prefix, start_after)
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

impl StateStore for MemStore {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.entries.insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> Result<()> {
        self.entries.remove(key);
        Ok(())
    }
}

/// Entries of `map` with `prefix`, after `start_after`, in order.
fn range_from<'m, V>(
    map: &'m BTreeMap<Vec<u8>, V>,
    prefix: &'m [u8],
    start_after: Option<&[u8]>,
) -> impl Iterator<Item = (&'m Vec<u8>, &'m V)> + 'm {
    use std::ops::Bound;
    let lower = match start_after {
        Some(after) if after >= prefix => Bound::Excluded(after.to_vec()),
        _ => Bound::Included(prefix.to_vec()),
    };
    map.range((lower, Bound::Unbounded)).take_while(move |(k, _)| k.starts_with(prefix))
}

/// Pending writes: `Some(value)` is a put, `None` a delete.
/// A block's writes: key to new value (`None`: deleted), in key order.
pub type WriteSet = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Layers uncommitted writes over a base store: a block layer, and above it a
/// transaction layer that is either folded into the block or thrown away, so
/// that an invalid transaction changes nothing.
pub(crate) struct Overlay<'s> {
    base: &'s dyn StateRead,
    block: WriteSet,
    tx: WriteSet,
}

impl<'s> Overlay<'s> {
    pub(crate) fn new(base: &'s dyn StateRead) -> Self {
        Self { base, block: WriteSet::new(), tx: WriteSet::new() }
    }

    pub(crate) fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.tx.insert(key, Some(value));
    }

    pub(crate) fn delete(&mut self, key: Vec<u8>) {
        self.tx.insert(key, None);
    }

    /// Folds the transaction layer into the block layer.
    pub(crate) fn commit_tx(&mut self) {
        let tx = std::mem::take(&mut self.tx);
        self.block.extend(tx);
    }

    /// Throws the transaction layer away.
    pub(crate) fn rollback_tx(&mut self) {
        self.tx.clear();
    }

    /// The block's writes; the transaction layer must be empty.
    pub(crate) fn into_writes(self) -> WriteSet {
        assert!(self.tx.is_empty(), "overlay: uncommitted transaction writes at block end");
        self.block
    }
}

impl StateRead for Overlay<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(v) = self.tx.get(key) {
            return Ok(v.clone());
        }
        if let Some(v) = self.block.get(key) {
            return Ok(v.clone());
        }
        self.base.get(key)
    }

    fn scan(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        // Merge the layers: upper layers win. Deletes in the upper layers may
        // hide base entries, so ask the base for that many more.
        let mut upper: BTreeMap<&Vec<u8>, &Option<Vec<u8>>> = BTreeMap::new();
        for (k, v) in range_from(&self.block, prefix, start_after) {
            upper.insert(k, v);
        }
        for (k, v) in range_from(&self.tx, prefix, start_after) {
            upper.insert(k, v);
        }
        let hidden = upper.len();
        let base = self.base.scan(prefix, start_after, limit.saturating_add(hidden))?;
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = base.into_iter().collect();
        for (k, v) in upper {
            match v {
                Some(value) => merged.insert(k.clone(), value.clone()),
                None => merged.remove(k.as_slice()),
            };
        }
        Ok(merged.into_iter().take(limit).collect())
    }
}

/// Keys read per page by [`leading_keys_while`].
const LEADING_KEYS_PAGE: usize = 16;

/// The leading keys under `prefix`, in order, while `take` holds for them
/// and at most `max`: the same keys as `scan(prefix, None, max)` followed
/// by `take_while`, but read a page at a time, so that a queue whose head
/// is not due (used transaction ids not yet expired, proposals still open)
/// costs one small read per block instead of `max` entries.
pub(crate) fn leading_keys_while(
    view: &dyn StateRead,
    prefix: &[u8],
    max: usize,
    take: impl Fn(&[u8]) -> bool,
) -> Result<Vec<Vec<u8>>> {
    let mut taken: Vec<Vec<u8>> = Vec::new();
    while taken.len() < max {
        let want = LEADING_KEYS_PAGE.min(max - taken.len());
        let page = view.scan(prefix, taken.last().map(Vec::as_slice), want)?;
        let complete = page.len() == want;
        for (key, _) in page {
            if !take(&key) {
                return Ok(taken);
            }
            taken.push(key);
        }
        if !complete {
            break;
        }
    }
    Ok(taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(entries: &[(&str, &str)]) -> MemStore {
        let mut s = MemStore::new();
        for (k, v) in entries {
            s.put(k.as_bytes(), v.as_bytes()).unwrap();
        }
        s
    }

    fn keys(entries: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<String> {
        entries.into_iter().map(|(k, _)| String::from_utf8(k).unwrap()).collect()
    }

    #[test]
    fn leading_keys_are_read_in_pages_and_match_a_single_scan() {
        let entries: Vec<(String, String)> =
            (0..50).map(|i| (format!("q/{i:03}"), String::new())).collect();
        let refs: Vec<(&str, &str)> =
            entries.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let s = store(&refs);
        for (max, below) in [(4096, 37), (20, 37), (40, 100), (3, 0), (0, 10)] {
            let take = |key: &[u8]| key < format!("q/{below:03}").as_bytes();
            let expected: Vec<Vec<u8>> = s
                .scan(b"q/", None, max)
                .unwrap()
                .into_iter()
                .map(|(k, _)| k)
                .take_while(|k| take(k))
                .collect();
            assert_eq!(
                leading_keys_while(&s, b"q/", max, take).unwrap(),
                expected,
                "{max} {below}"
            );
        }
    }

    #[test]
    fn scan_respects_prefix_start_after_and_limit() {
        let s = store(&[("a/1", "x"), ("a/2", "x"), ("a/3", "x"), ("b/1", "x")]);
        assert_eq!(keys(s.scan(b"a/", None, 10).unwrap()), ["a/1", "a/2", "a/3"]);
        assert_eq!(keys(s.scan(b"a/", Some(b"a/1"), 10).unwrap()), ["a/2", "a/3"]);
        assert_eq!(keys(s.scan(b"a/", None, 2).unwrap()), ["a/1", "a/2"]);
        assert_eq!(keys(s.scan(b"c/", None, 10).unwrap()), Vec::<String>::new());
    }

    #[test]
    fn overlay_scan_merges_puts_and_hides_deletes_within_the_limit() {
        let s = store(&[("a/1", "x"), ("a/2", "x"), ("a/3", "x"), ("a/4", "x")]);
        let mut o = Overlay::new(&s);
        o.delete(b"a/1".to_vec());
        o.commit_tx();
        o.delete(b"a/2".to_vec());
        o.put(b"a/25".to_vec(), b"y".to_vec());
        assert_eq!(keys(o.scan(b"a/", None, 2).unwrap()), ["a/25", "a/3"]);
        o.rollback_tx();
        assert_eq!(keys(o.scan(b"a/", None, 10).unwrap()), ["a/2", "a/3", "a/4"]);
        assert_eq!(o.get(b"a/1").unwrap(), None);
        assert_eq!(o.get(b"a/2").unwrap(), Some(b"x".to_vec()));
    }
}
