//! openraft's storage conformance suite against the RocksDB log store and
//! state machine.

use std::sync::Arc;

use openraft::testing::{StoreBuilder, Suite};
use reciprocity_node::consensus::log_store::LogStore;
use reciprocity_node::consensus::state_machine::StateMachine;
use reciprocity_node::consensus::{StorageError, TypeConfig};
use reciprocity_node::ledger::Ledger;
use tempfile::TempDir;

struct RocksBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for RocksBuilder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let ledger = Arc::new(Ledger::open(dir.path(), "suite-chain").expect("ledger opens"));
        let (applied, _) = tokio::sync::broadcast::channel(16);
        let state_machine = StateMachine::new(Arc::clone(&ledger), applied)?;
        Ok((dir, LogStore::new(ledger), state_machine))
    }
}

#[test]
fn the_rocksdb_store_passes_openraft_storage_conformance_suite() {
    Suite::test_all(RocksBuilder).expect("conformance suite");
}
