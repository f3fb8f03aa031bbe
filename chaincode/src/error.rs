//! The chaincode's error type: failures that are not rule violations.
//!
//! A rule violation is a [`crate::ValidationCode`] and is part of the normal
//! output. A [`ChaincodeError`] means the block could not be applied at all:
//! the store failed, stored state does not decode, or the caller broke an
//! invariant (a height gap, time going backwards). The caller must not persist
//! anything from such a block and should stop rather than guess.

/// Why a block could not be applied or a query answered.
#[derive(Debug, thiserror::Error)]
pub enum ChaincodeError {
    /// The state store failed to read or write.
    #[error("state store failed: {0}")]
    Store(String),
    /// A stored record does not decode: the state is corrupt.
    #[error("stored record under key {key} does not decode: {reason}")]
    CorruptState {
        /// The key, printable.
        key: String,
        /// What the decoder said.
        reason: String,
    },
    /// The block context breaks an invariant (height gap, time going backwards).
    #[error("invalid block context: {0}")]
    InvalidBlockContext(String),
}

/// Result alias of the chaincode crate.
pub type Result<T, E = ChaincodeError> = std::result::Result<T, E>;
