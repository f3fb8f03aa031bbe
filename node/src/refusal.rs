//! Why a node refuses a transaction before ordering: the verdict admission
//! gives, the APIs answer with, and peers exchange for forwarded
//! transactions. A leaf: it depends on nothing in the node.

use reciprocity_chaincode::ValidationCode;

/// Why a transaction was refused before ordering.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum Refusal {
    /// Larger than `tx_bytes_max`.
    #[error("transaction is {bytes} bytes, more than tx_bytes_max = {max}")]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A rule the chaincode would also apply.
    #[error("refused with {code}: {message}")]
    Invalid {
        /// The validation code.
        code: ValidationCode,
        /// Details.
        message: String,
    },
    /// The mempool is full.
    #[error("busy: the mempool holds mempool_txs_max = {max} transactions; retry later")]
    Busy {
        /// The limit.
        max: usize,
    },
    /// The network cannot commit now: no leader is known or reachable, or
    /// this node's side of a partition has no majority.
    #[error("unavailable: {reason}; retry later or submit through another node")]
    Unavailable {
        /// What is missing.
        reason: String,
    },
}

impl Refusal {
    /// The stable name the APIs answer with: the validation code's name, or
    /// `transaction_too_large`, `busy`, `unavailable`.
    pub fn code_name(&self) -> &'static str {
        match self {
            Refusal::TooLarge { .. } => "transaction_too_large",
            Refusal::Invalid { code, .. } => code.name(),
            Refusal::Busy { .. } => "busy",
            Refusal::Unavailable { .. } => "unavailable",
        }
    }

    /// What was wrong, in words (for `Invalid`, the code's description and
    /// the detail, see [`described`]).
    pub fn message(&self) -> String {
        match self {
            Refusal::Invalid { code, message } => described(*code, message),
            other => other.to_string(),
        }
    }

    /// Whether retrying later may succeed: the mempool was full or no
    /// leader could be reached.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Refusal::Busy { .. } | Refusal::Unavailable { .. })
    }
}

/// A refusal with `code` in words: its description, with `detail` in
/// parentheses when it adds something.
pub fn described(code: ValidationCode, detail: &str) -> String {
    if detail.is_empty() || detail == code.description() {
        code.description().to_owned()
    } else {
        format!("{} ({detail})", code.description())
    }
}
