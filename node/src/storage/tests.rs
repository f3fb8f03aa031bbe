//! The two stores keep one contract: random writes and reads give the same
//! answers from RocksDB and from memory, and the memory store's crashes keep
//! exactly what the contract promises.

use proptest::prelude::*;

use super::memory::MemoryStore;
use super::rocks::RocksStore;
use super::{Batch, Durability, Family, KeyValue, KvRead, KvStore};

/// Few families and short keys from a small alphabet, so that writes,
/// deletes, ranges and reads collide often.
fn family() -> impl Strategy<Value = Family> {
    prop::sample::select(vec![Family::State, Family::Meta, Family::RaftLog])
}

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(vec![0u8, 1, 2, 0xff]), 0..4)
}

#[derive(Debug, Clone)]
enum Step {
    Put(Family, Vec<u8>, Vec<u8>),
    Delete(Family, Vec<u8>),
    DeleteRange(Family, Vec<u8>, Vec<u8>),
    Clear(Family),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (family(), key(), prop::collection::vec(any::<u8>(), 0..3))
            .prop_map(|(f, k, v)| Step::Put(f, k, v)),
        2 => (family(), key()).prop_map(|(f, k)| Step::Delete(f, k)),
        // Reversed and empty ranges too: they must remove nothing in both.
        1 => (family(), key(), key()).prop_map(|(f, from, to)| Step::DeleteRange(f, from, to)),
        1 => family().prop_map(Step::Clear),
    ]
}

fn batch(steps: &[Step]) -> Batch {
    let mut batch = Batch::new();
    for step in steps {
        match step.clone() {
            Step::Put(f, k, v) => batch.put(f, k, v),
            Step::Delete(f, k) => batch.delete(f, k),
            Step::DeleteRange(f, from, to) => batch.delete_range(f, from, to),
            Step::Clear(f) => batch.clear(f),
        }
    }
    batch
}

/// Everything a reader can ask of `read`, for comparison.
fn contents(read: &dyn KvRead) -> Vec<(Family, Vec<KeyValue>, Option<KeyValue>)> {
    Family::ALL
        .iter()
        .map(|family| {
            let all: Vec<KeyValue> = read.iter_from(*family, &[]).map(Result::unwrap).collect();
            (*family, all, read.last(*family).unwrap())
        })
        .collect()
}

fn probes(read: &dyn KvRead, keys: &[Vec<u8>]) -> Vec<(Option<Vec<u8>>, Vec<KeyValue>)> {
    keys.iter()
        .flat_map(|key| {
            Family::ALL.iter().map(move |family| {
                let value = read.get(*family, key).unwrap();
                let from: Vec<KeyValue> =
                    read.iter_from(*family, key).map(Result::unwrap).collect();
                (value, from)
            })
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn rocksdb_and_memory_answer_every_read_alike_after_the_same_batches(
        batches in prop::collection::vec(prop::collection::vec(step(), 0..6), 1..12),
        probe_keys in prop::collection::vec(key(), 1..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let rocks = RocksStore::open(dir.path()).unwrap();
        let memory = MemoryStore::new();
        for (n, steps) in batches.iter().enumerate() {
            let durability = if n % 3 == 0 { Durability::Synced } else { Durability::Unsynced };
            // A view taken before the write keeps reading the moment before it.
            let (rocks_view, memory_view) = (rocks.view(), memory.view());
            let before = contents(&*memory_view);
            rocks.write(batch(steps), durability).unwrap();
            memory.write(batch(steps), durability).unwrap();
            prop_assert_eq!(contents(&*rocks_view), before.clone());
            prop_assert_eq!(contents(&*memory_view), before);
            prop_assert_eq!(contents(&rocks), contents(&memory));
        }
        prop_assert_eq!(probes(&rocks, &probe_keys), probes(&memory, &probe_keys));
    }

    #[test]
    fn a_memory_crash_keeps_the_synced_writes_and_a_prefix_of_the_rest(
        batches in prop::collection::vec((prop::collection::vec(step(), 1..4), any::<bool>()), 1..10),
        kept in 0usize..12,
    ) {
        let memory = MemoryStore::new();
        // The reference: the contents after each write, and the last synced one.
        let mut after_each = vec![contents(&memory)];
        let mut last_synced = 0;
        for (n, (steps, synced)) in batches.iter().enumerate() {
            let durability = if *synced { Durability::Synced } else { Durability::Unsynced };
            memory.write(batch(steps), durability).unwrap();
            after_each.push(contents(&memory));
            if *synced {
                last_synced = n + 1;
            }
        }
        prop_assert_eq!(memory.unsynced_writes(), batches.len() - last_synced);
        let survivor = (last_synced + kept).min(batches.len());
        let crashed = memory.crash(kept);
        prop_assert_eq!(contents(&crashed), after_each[survivor].clone());
        prop_assert_eq!(crashed.unsynced_writes(), 0);
        // The crashed store's contents are durable: a second crash keeps them.
        prop_assert_eq!(contents(&crashed.crash(0)), after_each[survivor].clone());
    }
}

#[test]
fn sync_makes_every_earlier_write_survive_a_crash() {
    let memory = MemoryStore::new();
    let mut first = Batch::new();
    first.put(Family::State, b"a".to_vec(), b"1".to_vec());
    memory.write(first, Durability::Unsynced).unwrap();
    assert_eq!(memory.crash(0).get(Family::State, b"a").unwrap(), None, "unsynced is lost");
    memory.sync().unwrap();
    assert_eq!(memory.unsynced_writes(), 0);
    assert_eq!(memory.crash(0).get(Family::State, b"a").unwrap(), Some(b"1".to_vec()));
}

#[test]
fn clearing_a_family_removes_keys_of_any_length_in_rocksdb() {
    let dir = tempfile::tempdir().unwrap();
    let rocks = RocksStore::open(dir.path()).unwrap();
    let mut batch = Batch::new();
    batch.put(Family::Headers, vec![0xff; 300], b"long".to_vec());
    batch.put(Family::Headers, Vec::new(), b"empty".to_vec());
    batch.put(Family::Bodies, b"kept".to_vec(), b"other family".to_vec());
    rocks.write(batch, Durability::Synced).unwrap();
    let mut clear = Batch::new();
    clear.clear(Family::Headers);
    rocks.write(clear, Durability::Synced).unwrap();
    assert_eq!(rocks.iter_from(Family::Headers, &[]).count(), 0);
    assert_eq!(rocks.last(Family::Bodies).unwrap().map(|(k, _)| k), Some(b"kept".to_vec()));
}

#[test]
fn reopened_rocksdb_keeps_synced_writes_in_every_family() {
    let dir = tempfile::tempdir().unwrap();
    {
        let rocks = RocksStore::open(dir.path()).unwrap();
        let mut batch = Batch::new();
        for family in Family::ALL {
            batch.put(family, family.name().as_bytes().to_vec(), vec![family.index() as u8]);
        }
        rocks.write(batch, Durability::Synced).unwrap();
    }
    let rocks = RocksStore::open(dir.path()).unwrap();
    for family in Family::ALL {
        let value = rocks.get(family, family.name().as_bytes()).unwrap();
        assert_eq!(value, Some(vec![family.index() as u8]), "{}", family.name());
    }
}
