//! The state hash: a running SHA-256 over each block's sorted write set.
//!
//! `hash(h) = SHA-256("reciprocity/state/v1" || hash(h-1) || h || writes)`,
//! where `writes` lists every key the block put or deleted, in ascending key
//! order, each as `len(key) || key || 1 || len(value) || value` for a put and
//! `len(key) || key || 0` for a delete (lengths as 8-byte big-endian). Chain
//! position keys (`meta/…`) are excluded. Two nodes that applied the same
//! blocks hold the same hash; any divergence in any block changes every later
//! hash. The order in which a block's transactions touched unrelated keys does
//! not matter: only the final write set does.

use sha2::{Digest, Sha256};

use crate::keys;
use crate::store::WriteSet;

/// Domain tag of the state hash.
pub const STATE_HASH_DOMAIN: &[u8] = b"reciprocity/state/v1";

/// The state hash before any block.
pub const STATE_HASH_EMPTY: [u8; 32] = [0; 32];

fn update_len(hasher: &mut Sha256, len: usize) {
    hasher.update((len as u64).to_be_bytes());
}

/// The state hash after a block at `height` with `writes`, following `previous`.
pub fn next_state_hash(previous: &[u8; 32], height: u64, writes: &WriteSet) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(STATE_HASH_DOMAIN);
    hasher.update(previous);
    hasher.update(height.to_be_bytes());
    for (key, value) in writes {
        if key.starts_with(keys::META_PREFIX) {
            continue;
        }
        update_len(&mut hasher, key.len());
        hasher.update(key);
        match value {
            Some(value) => {
                hasher.update([1]);
                update_len(&mut hasher, value.len());
                hasher.update(value);
            }
            None => hasher.update([0]),
        }
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_previous_height_and_every_write() {
        let mut writes = WriteSet::new();
        writes.insert(b"a".to_vec(), Some(b"1".to_vec()));
        let base = next_state_hash(&STATE_HASH_EMPTY, 1, &writes);
        assert_ne!(base, next_state_hash(&[1; 32], 1, &writes));
        assert_ne!(base, next_state_hash(&STATE_HASH_EMPTY, 2, &writes));
        let mut deleted = WriteSet::new();
        deleted.insert(b"a".to_vec(), None);
        assert_ne!(base, next_state_hash(&STATE_HASH_EMPTY, 1, &deleted));
        let mut with_meta = writes.clone();
        with_meta.insert(b"meta/height".to_vec(), Some(b"9".to_vec()));
        assert_eq!(base, next_state_hash(&STATE_HASH_EMPTY, 1, &with_meta));
    }
}
