//! The Raft state machine: applies committed entries to the ledger, builds
//! and installs snapshots.
//!
//! A normal entry is a block candidate: the ledger verifies and applies it and
//! writes the block, its results, the state changes and this state machine's
//! bookkeeping (last applied log id, membership) in one batch. Blank
//! and membership entries only update the bookkeeping. These writes are not
//! synced: the Raft log they derive from is (see `apply`).
//!
//! A snapshot is the whole ledger — world state, every block, the
//! transaction index and the bookkeeping — read from one view of the store,
//! so a node that installs it holds the full chain, verified on install.

use std::sync::{Arc, Mutex};

use openraft::storage::{RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::{EntryPayload, RaftSnapshotBuilder, StorageIOError, StoredMembership};
use prost::Message;
use reciprocity_proto::v1 as pb;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::snapshot_bytes::SnapshotBytes;
use super::{BlockResponse, Entry, LogId, PeerNode, StorageError, TypeConfig};
use crate::ledger::{AppliedBlock, Ledger, RaftPosition};
use crate::storage::{Batch, Durability, Family};

const LAST_APPLIED: &[u8] = b"sm/last_applied";
const MEMBERSHIP: &[u8] = b"sm/membership";

/// Families a snapshot carries, in this order (the record's `cf` byte indexes it).
const SNAPSHOT_FAMILIES: [Family; 5] =
    [Family::State, Family::Headers, Family::Bodies, Family::TxIndex, Family::Meta];

/// Membership as stored.
pub type Membership = StoredMembership<u64, PeerNode>;

#[derive(Serialize, Deserialize)]
struct SnapshotContents {
    records: Vec<(u8, Vec<u8>, Vec<u8>)>,
}

#[derive(Clone)]
struct StoredSnapshot {
    meta: SnapshotMeta<u64, PeerNode>,
    /// Its file, read by every replication stream that sends it.
    data: SnapshotBytes,
    /// The file's name (removed when a newer snapshot replaces it).
    path: std::path::PathBuf,
}

/// Makes `new` the current snapshot unless the current one is newer (a
/// build that started before an install finished); the file of whichever
/// loses is removed (open readers keep reading it).
fn replace_current(current: &Mutex<Option<StoredSnapshot>>, new: StoredSnapshot) {
    let mut current = current.lock().expect("snapshot lock");
    let newer_kept = current.as_ref().is_some_and(|c| c.meta.last_log_id > new.meta.last_log_id);
    let loser = if newer_kept { Some(new) } else { current.replace(new) };
    if let Some(loser) = loser {
        let _ = std::fs::remove_file(&loser.path);
    }
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("postcard encodes into a Vec")
}

/// The state machine; applied blocks are announced on a broadcast channel.
pub struct StateMachine {
    ledger: Arc<Ledger>,
    membership: Membership,
    applied: broadcast::Sender<Arc<AppliedBlock>>,
    current: Arc<Mutex<Option<StoredSnapshot>>>,
    snapshots_built: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for StateMachine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateMachine").field("membership", &self.membership).finish()
    }
}

fn read_meta<T: for<'de> Deserialize<'de>>(
    ledger: &Ledger,
    key: &[u8],
) -> Result<Option<T>, StorageError> {
    let bytes = ledger.meta(key).map_err(|e| StorageIOError::read_state_machine(&e))?;
    bytes
        .map(|b| {
            postcard::from_bytes(&b).map_err(|e| StorageIOError::read_state_machine(&e).into())
        })
        .transpose()
}

impl StateMachine {
    /// The state machine over `ledger`; `applied` receives every applied block.
    pub fn new(
        ledger: Arc<Ledger>,
        applied: broadcast::Sender<Arc<AppliedBlock>>,
    ) -> Result<StateMachine, StorageError> {
        let membership = read_meta(&ledger, MEMBERSHIP)?.unwrap_or_default();
        // Snapshot files are never reused across runs (openraft builds a new
        // one when it needs one): clear what an earlier run left, including
        // files a crash left half written.
        let _ = std::fs::remove_dir_all(ledger.snapshot_dir());
        Ok(StateMachine {
            ledger,
            membership,
            applied,
            current: Arc::new(Mutex::new(None)),
            snapshots_built: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        })
    }

    fn bookkeeping(&self, last_applied: Option<LogId>) -> Vec<(Vec<u8>, Vec<u8>)> {
        vec![
            (LAST_APPLIED.to_vec(), encode(&last_applied)),
            (MEMBERSHIP.to_vec(), encode(&self.membership)),
        ]
    }

    fn write_bookkeeping(&self, last_applied: Option<LogId>) -> Result<(), StorageError> {
        let mut batch = Batch::new();
        for (key, value) in self.bookkeeping(last_applied) {
            batch.put(Family::Meta, key, value);
        }
        self.ledger
            .store()
            .write(batch, Durability::Unsynced)
            .map_err(|e| StorageIOError::write_state_machine(&e).into())
    }

    /// Applies one entry (not synced, see `apply`); a block entry gives
    /// the applied block.
    fn apply_one(
        &mut self,
        entry: Entry,
    ) -> Result<(BlockResponse, Option<Arc<AppliedBlock>>), StorageError> {
        let log_id = entry.log_id;
        match entry.payload {
            EntryPayload::Blank => {
                self.write_bookkeeping(Some(log_id))?;
                Ok((BlockResponse::default(), None))
            }
            EntryPayload::Membership(membership) => {
                self.membership = StoredMembership::new(Some(log_id), membership);
                self.write_bookkeeping(Some(log_id))?;
                Ok((BlockResponse::default(), None))
            }
            EntryPayload::Normal(request) => {
                // Every node decodes the same bytes; an undecodable candidate
                // (a faulty leader) becomes an empty block everywhere.
                let candidate = pb::BlockCandidate::decode(request.candidate.as_slice()).unwrap_or_else(|error| {
                    tracing::error!(%error, index = log_id.index, "committed block candidate does not decode; applying it as an empty block");
                    pb::BlockCandidate::default()
                });
                let raft = RaftPosition { term: log_id.leader_id.term, index: log_id.index };
                let applied = self
                    .ledger
                    .apply_candidate_with(
                        &candidate,
                        raft,
                        &self.bookkeeping(Some(log_id)),
                        Durability::Unsynced,
                    )
                    .map_err(|e| StorageIOError::apply(log_id, &e))?;
                let header = applied.block.header.as_ref().expect("applied block has a header");
                let response = BlockResponse {
                    height: Some(header.height),
                    codes: applied.block.results.iter().map(|r| r.code).collect(),
                };
                Ok((response, Some(Arc::new(applied))))
            }
        }
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, Membership), StorageError> {
        let last_applied: Option<LogId> =
            read_meta::<Option<LogId>>(&self.ledger, LAST_APPLIED)?.flatten();
        Ok((last_applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<BlockResponse>, StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        // Applied state is written without a sync of its own: what it
        // derives from is durable in the Raft log (synced on a majority
        // before the entry commits, and written to RocksDB's log before the
        // state, so a crash keeps a prefix in which the state never runs
        // ahead of the log); after a crash the node re-applies committed
        // entries from its log. Snapshots sync first (`build_snapshot`), so
        // the log is never purged past what is durable here.
        let mut responses = Vec::new();
        for entry in entries {
            let (response, block) = self.apply_one(entry)?;
            if let Some(block) = block {
                // Nobody listening is fine.
                let _ = self.applied.send(block);
            }
            responses.push(response);
        }
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder {
            ledger: Arc::clone(&self.ledger),
            current: Arc::clone(&self.current),
            built: Arc::clone(&self.snapshots_built),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<SnapshotBytes>, StorageError> {
        Ok(Box::default())
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, PeerNode>,
        snapshot: Box<SnapshotBytes>,
    ) -> Result<(), StorageError> {
        let signature = Some(meta.signature());
        let data = (*snapshot)
            .into_vec()
            .map_err(|e| StorageIOError::read_snapshot(signature.clone(), &e))?;
        let contents: SnapshotContents = postcard::from_bytes(&data)
            .map_err(|e| StorageIOError::read_snapshot(signature.clone(), &e))?;
        // Verify the received chain before touching the local one.
        verify_snapshot(&self.ledger, &contents)
            .map_err(|e| StorageIOError::read_snapshot(signature.clone(), &e))?;
        let mut batch = Batch::new();
        for family in SNAPSHOT_FAMILIES {
            batch.clear(family);
        }
        // Moved, not copied, into the batch: the received records are in
        // memory once (the file below is written from `data`).
        for (family, key, value) in contents.records {
            let family = SNAPSHOT_FAMILIES.get(usize::from(family)).ok_or_else(|| {
                StorageIOError::read_snapshot(
                    signature.clone(),
                    &std::io::Error::other("unknown column family in snapshot"),
                )
            })?;
            batch.put(*family, key, value);
        }
        self.membership = meta.last_membership.clone();
        for (key, value) in self.bookkeeping(meta.last_log_id) {
            batch.put(Family::Meta, key, value);
        }
        self.ledger
            .store()
            .write(batch, Durability::Synced)
            .map_err(|e| StorageIOError::write_snapshot(signature.clone(), &e))?;
        self.ledger
            .verify_chain()
            .map_err(|e| StorageIOError::read_snapshot(signature.clone(), &e))?;
        tracing::info!(snapshot = %meta.snapshot_id, last_log_id = ?meta.last_log_id, "installed snapshot");
        // Kept as a file, for learners this node may have to send it to.
        // Named locally: the sender's snapshot id is not a file name.
        let number = self.snapshots_built.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (path, stored) =
            store_snapshot_file(&self.ledger, &format!("received-{number}"), |out| {
                std::io::Write::write_all(out, &data)
            })
            .map_err(|e| StorageIOError::write_snapshot(signature.clone(), &e))?;
        replace_current(&self.current, StoredSnapshot { meta: meta.clone(), data: stored, path });
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let current = self.current.lock().expect("snapshot lock").clone();
        Ok(current.map(|s| Snapshot { meta: s.meta, snapshot: Box::new(s.data.reader()) }))
    }
}

/// Checks a received snapshot's chain (hash links, roots, heights, the state
/// hash of its world state) without writing anything.
fn verify_snapshot(ledger: &Ledger, contents: &SnapshotContents) -> Result<(), crate::NodeError> {
    let family = |name: Family| SNAPSHOT_FAMILIES.iter().position(|f| *f == name).map(|i| i as u8);
    let (state, headers, bodies) =
        (family(Family::State), family(Family::Headers), family(Family::Bodies));
    let mut position_store = reciprocity_chaincode::MemStore::new();
    let mut header_records = std::collections::BTreeMap::new();
    let mut body_records = std::collections::BTreeMap::new();
    for (cf, key, value) in &contents.records {
        let cf = Some(*cf);
        if cf == state && key.starts_with(b"meta/") {
            reciprocity_chaincode::StateStore::put(&mut position_store, key, value)?;
        } else if cf == headers {
            header_records.insert(key.clone(), value.clone());
        } else if cf == bodies {
            body_records.insert(key.clone(), value.clone());
        }
    }
    let position = reciprocity_chaincode::chain_position(&position_store)?;
    let blocks = header_records.into_iter().map(|(key, header)| {
        let body = body_records.get(&key).cloned();
        Ok((key, header, body))
    });
    crate::ledger::verify_blocks(ledger.chain_id(), &position, blocks).map(|_| ())
}

/// Writes a snapshot file with `write` (to a temporary name, synced,
/// opened for reading, renamed, and the rename synced with the folder);
/// its path and a reader.
fn store_snapshot_file(
    ledger: &Ledger,
    name: &str,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<(std::path::PathBuf, SnapshotBytes)> {
    let dir = ledger.snapshot_dir();
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{name}.snapshot"));
    let partial = dir.join(format!("{name}.partial"));
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&partial)?);
    write(&mut out)?;
    let file = out.into_inner().map_err(std::io::IntoInnerError::into_error)?;
    file.sync_all()?;
    let reader = SnapshotBytes::open(&partial)?;
    std::fs::rename(&partial, &path)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok((path, reader))
}

/// Builds snapshots from one view of the ledger's store.
pub struct SnapshotBuilder {
    ledger: Arc<Ledger>,
    current: Arc<Mutex<Option<StoredSnapshot>>>,
    built: Arc<std::sync::atomic::AtomicU64>,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let store = self.ledger.store();
        let view = store.view();
        // Applied state is written unsynced: make everything in this view
        // durable before the snapshot lets Raft purge the log entries it
        // came from.
        store.sync().map_err(|e| StorageIOError::write_state_machine(&e))?;
        let read_err = |e: &dyn std::error::Error| {
            StorageIOError::read_state_machine(&std::io::Error::other(e.to_string()))
        };
        let last_applied: Option<LogId> =
            match view.get(Family::Meta, LAST_APPLIED).map_err(|e| read_err(&e))? {
                Some(bytes) => postcard::from_bytes(&bytes).map_err(|e| read_err(&e))?,
                None => None,
            };
        let membership: Membership =
            match view.get(Family::Meta, MEMBERSHIP).map_err(|e| read_err(&e))? {
                Some(bytes) => postcard::from_bytes(&bytes).map_err(|e| read_err(&e))?,
                None => Membership::default(),
            };
        let number = self.built.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let snapshot_id = match last_applied {
            Some(id) => format!("{}-{}-{number}", id.leader_id.term, id.index),
            None => format!("0-0-{number}"),
        };
        // Streamed from the view into a file, record by record, in
        // exactly the bytes `postcard` gives `SnapshotContents` (the count
        // of records, then each record), so the whole ledger is never in
        // memory at once.
        let mut records = 0usize;
        for family in SNAPSHOT_FAMILIES {
            for item in view.iter_from(family, &[]) {
                item.map_err(|e| read_err(&e))?;
                records += 1;
            }
        }
        let (path, data) = store_snapshot_file(&self.ledger, &format!("built-{number}"), |out| {
            postcard::to_io(&records, &mut *out).map_err(std::io::Error::other)?;
            for (index, family) in SNAPSHOT_FAMILIES.iter().enumerate() {
                let number = u8::try_from(index).expect("few families");
                for item in view.iter_from(*family, &[]) {
                    let (key, value) = item.map_err(std::io::Error::other)?;
                    postcard::to_io(&(number, key.as_slice(), value.as_slice()), &mut *out)
                        .map_err(std::io::Error::other)?;
                }
            }
            Ok(())
        })
        .map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        let meta =
            SnapshotMeta { last_log_id: last_applied, last_membership: membership, snapshot_id };
        tracing::info!(snapshot = %meta.snapshot_id, bytes = data.len(), records, "built snapshot");
        let snapshot = data.reader();
        replace_current(&self.current, StoredSnapshot { meta: meta.clone(), data, path });
        Ok(Snapshot { meta, snapshot: Box::new(snapshot) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(dir: &std::path::Path, index: u64) -> StoredSnapshot {
        let path = dir.join(format!("{index}.snapshot"));
        std::fs::write(&path, index.to_be_bytes()).unwrap();
        let log_id = openraft::LogId::new(openraft::CommittedLeaderId::new(1, 0), index);
        StoredSnapshot {
            meta: SnapshotMeta {
                last_log_id: Some(log_id),
                last_membership: Membership::default(),
                snapshot_id: index.to_string(),
            },
            data: SnapshotBytes::open(&path).unwrap(),
            path,
        }
    }

    #[test]
    fn an_older_snapshot_never_replaces_a_newer_one_and_the_loser_file_goes() {
        let dir = tempfile::tempdir().unwrap();
        let current = Mutex::new(None);
        replace_current(&current, stored(dir.path(), 10));
        replace_current(&current, stored(dir.path(), 30));
        assert!(!dir.path().join("10.snapshot").exists(), "replaced file removed");
        // A build that took its view before the install of 30 finishes late.
        replace_current(&current, stored(dir.path(), 20));
        let kept = current.lock().unwrap().clone().unwrap();
        assert_eq!(kept.meta.snapshot_id, "30");
        assert!(dir.path().join("30.snapshot").exists());
        assert!(!dir.path().join("20.snapshot").exists(), "the older one is dropped");
    }
}
