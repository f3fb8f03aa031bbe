//! What the ledger tells the chaincode about a block: the one input besides
//! the transactions and the state. The rules read the block's time and
//! height from here, never from a clock.

/// What the ledger tells the chaincode about the block being applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockContext {
    /// The network's chain id.
    pub chain_id: String,
    /// Height of this block: the previous height + 1 (the first block is 1).
    pub height: u64,
    /// The leader's timestamp; never earlier than the previous block's.
    pub timestamp_ms: u64,
}
