//! Merkle roots and inclusion proofs over SHA-256, RFC 6962 style: a leaf
//! hashes as `H(0x00 || data)`, an inner node as `H(0x01 || left || right)`;
//! the tree splits at the largest power of two below the leaf count, so an odd
//! leaf is never duplicated. The root of no leaves is `H()`.
//!
//! Blocks commit to their transaction ids and results with these roots; a
//! proof lets an auditor check that a transaction is in a block from the
//! header alone.

use sha2::{Digest, Sha256};

/// A 32-byte digest.
pub type Digest32 = [u8; 32];

/// The hash of one leaf.
pub fn leaf_hash(data: &[u8]) -> Digest32 {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

fn node_hash(left: &Digest32, right: &Digest32) -> Digest32 {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Largest power of two strictly below `n` (n >= 2).
fn split(n: usize) -> usize {
    debug_assert!(n >= 2);
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn root_of(leaves: &[Digest32]) -> Digest32 {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// The leaf of a transaction in a block's `tx_root`: its id, then its
/// signer and signature with 4-byte big-endian lengths, so the root commits
/// to the whole envelope (the payload through its id).
pub fn tx_leaf(tx_id: &[u8; 32], signer: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut leaf = Vec::with_capacity(32 + 8 + signer.len() + signature.len());
    leaf.extend_from_slice(tx_id);
    for part in [signer, signature] {
        let len = u32::try_from(part.len()).expect("envelope parts are bounded by tx_bytes_max");
        leaf.extend_from_slice(&len.to_be_bytes());
        leaf.extend_from_slice(part);
    }
    leaf
}

/// The root over `items` in order.
pub fn root<T: AsRef<[u8]>>(items: &[T]) -> Digest32 {
    let leaves: Vec<Digest32> = items.iter().map(|i| leaf_hash(i.as_ref())).collect();
    root_of(&leaves)
}

/// The sibling hashes from leaf `index` up to the root, or `None` when out of range.
pub fn proof<T: AsRef<[u8]>>(items: &[T], index: usize) -> Option<Vec<Digest32>> {
    if index >= items.len() {
        return None;
    }
    let leaves: Vec<Digest32> = items.iter().map(|i| leaf_hash(i.as_ref())).collect();
    let mut path = Vec::new();
    let (mut lo, mut hi, mut at) = (0, leaves.len(), index);
    let mut frames = Vec::new();
    while hi - lo > 1 {
        let k = split(hi - lo);
        if at < k {
            frames.push(root_of(&leaves[lo + k..hi]));
            hi = lo + k;
        } else {
            frames.push(root_of(&leaves[lo..lo + k]));
            lo += k;
            at -= k;
        }
    }
    while let Some(sibling) = frames.pop() {
        path.push(sibling);
    }
    Some(path)
}

/// Whether `data` at `index` of `count` leaves, with `proof`, hashes to `root`.
pub fn verify(
    root: &Digest32,
    data: &[u8],
    index: usize,
    count: usize,
    proof: &[Digest32],
) -> bool {
    fn fold(hash: Digest32, index: usize, count: usize, proof: &[Digest32]) -> Option<Digest32> {
        if count == 1 {
            return proof.is_empty().then_some(hash);
        }
        let k = split(count);
        let (sibling, rest) = proof.split_last()?;
        if index < k {
            let left = fold(hash, index, k, rest)?;
            Some(node_hash(&left, sibling))
        } else {
            let right = fold(hash, index - k, count - k, rest)?;
            Some(node_hash(sibling, &right))
        }
    }
    index < count && fold(leaf_hash(data), index, count, proof).as_ref() == Some(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_leaf_of_every_size_proves_against_the_root_and_nothing_else_does() {
        for n in 1..=17usize {
            let items: Vec<Vec<u8>> = (0..n).map(|i| vec![u8::try_from(i).unwrap(); 3]).collect();
            let r = root(&items);
            for i in 0..n {
                let p = proof(&items, i).unwrap();
                assert!(verify(&r, &items[i], i, n, &p), "n={n} i={i}");
                assert!(!verify(&r, b"other", i, n, &p), "n={n} i={i}");
                if n > 1 {
                    assert!(!verify(&r, &items[i], (i + 1) % n, n, &p), "n={n} i={i}");
                }
            }
            assert!(proof(&items, n).is_none());
        }
    }

    #[test]
    fn a_tx_leaf_commits_to_id_signer_and_signature_without_ambiguity() {
        let id = [1u8; 32];
        let base = tx_leaf(&id, &[2; 32], &[3; 64]);
        assert_ne!(base, tx_leaf(&id, &[2; 32], &[4; 64]));
        assert_ne!(base, tx_leaf(&id, &[9; 32], &[3; 64]));
        // Moving a byte between signer and signature changes the leaf.
        assert_ne!(tx_leaf(&id, &[2; 33], &[3; 63]), tx_leaf(&id, &[2; 32], &[3; 64]));
    }

    #[test]
    fn roots_depend_on_order_and_distinguish_leaves_from_nodes() {
        assert_ne!(root(&[b"a", b"b"]), root(&[b"b", b"a"]));
        let two = root(&[b"a", b"b"]);
        let mut joined = leaf_hash(b"a").to_vec();
        joined.extend_from_slice(&leaf_hash(b"b"));
        assert_ne!(two, root(&[joined]));
        assert_eq!(root::<&[u8]>(&[]), <[u8; 32]>::from(Sha256::digest([])));
    }
}
