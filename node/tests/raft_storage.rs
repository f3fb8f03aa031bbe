//! openraft's storage conformance suite against the log store and state
//! machine, over each store: RocksDB, and the store in memory that the
//! simulator uses (the seam must not change what openraft sees).

use std::sync::Arc;

use openraft::testing::{StoreBuilder, Suite};
use reciprocity_node::consensus::log_store::LogStore;
use reciprocity_node::consensus::state_machine::StateMachine;
use reciprocity_node::consensus::{StorageError, TypeConfig};
use reciprocity_node::ledger::{Ledger, SNAPSHOT_DIR};
use reciprocity_node::storage::memory::MemoryStore;
use tempfile::TempDir;

fn stores(ledger: Ledger) -> (LogStore, StateMachine) {
    let ledger = Arc::new(ledger);
    let (applied, _) = tokio::sync::broadcast::channel(16);
    let state_machine =
        StateMachine::new(Arc::clone(&ledger), applied).expect("state machine opens");
    (LogStore::new(ledger), state_machine)
}

struct RocksBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for RocksBuilder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let ledger = Ledger::open(dir.path(), "suite-chain").expect("ledger opens");
        let (log, state_machine) = stores(ledger);
        Ok((dir, log, state_machine))
    }
}

/// The store in memory; snapshot files still go to a directory.
struct MemoryBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for MemoryBuilder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let snapshots = dir.path().join(SNAPSHOT_DIR);
        let ledger = Ledger::with_store(Arc::new(MemoryStore::new()), "suite-chain", snapshots)
            .expect("ledger opens");
        let (log, state_machine) = stores(ledger);
        Ok((dir, log, state_machine))
    }
}

#[test]
fn the_rocksdb_store_passes_openraft_storage_conformance_suite() {
    Suite::test_all(RocksBuilder).expect("conformance suite");
}

#[test]
fn the_memory_store_passes_openraft_storage_conformance_suite() {
    Suite::test_all(MemoryBuilder).expect("conformance suite");
}
