//! The node's error type.

use reciprocity_chaincode::ChaincodeError;

/// What can go wrong inside the node.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The ledger's store (RocksDB) failed; what it said.
    #[error("ledger storage failed: {0}")]
    Storage(String),
    /// The chaincode could not apply a block (store failure, corrupt state, broken invariant).
    #[error("chaincode: {0}")]
    Chaincode(#[from] ChaincodeError),
    /// The stored chain is inconsistent; the node refuses to run on it.
    #[error("the stored chain is corrupt: {0}")]
    CorruptChain(String),
    /// A stored record does not decode.
    #[error("stored {what} does not decode: {reason}")]
    CorruptRecord {
        /// Which record.
        what: String,
        /// What the decoder said.
        reason: String,
    },
    /// The node cannot start: a file, key or setting is wrong.
    #[error("cannot start the node: {0}")]
    Startup(String),
    /// Making a network or preparing a club on this machine failed.
    #[error("{0}")]
    Provision(String),
    /// An API server failed.
    #[error("API server: {0}")]
    Api(String),
    /// The ledger belongs to another chain.
    #[error("ledger at {path} belongs to chain {found:?}, config says {expected:?}")]
    WrongChain {
        /// Where the ledger is (its directory, or "memory").
        path: String,
        /// Chain id in the ledger.
        found: String,
        /// Chain id in the config.
        expected: String,
    },
}

/// Result alias of the node crate.
pub type Result<T, E = NodeError> = std::result::Result<T, E>;
