//! Snapshot-chunk policing: bounds what a snapshot transfer from a peer may
//! make this node hold before openraft sees it.
//!
//! Owns the position of the one snapshot being received. Calls nothing;
//! [`super::peers`] asks it about every `InstallSnapshot` chunk. Bounds: one
//! snapshot at a time, at most `raft.snapshot_bytes_max` bytes in all.

use std::sync::Mutex;

use crate::consensus::TypeConfig;

/// One `InstallSnapshot` request as openraft sends it.
pub type SnapshotChunk = openraft::raft::InstallSnapshotRequest<TypeConfig>;

/// Checks that the chunks of one snapshot arrive in order (a chunk may be
/// sent again) and that the whole stays within `snapshot_bytes_max`.
#[derive(Debug)]
pub struct SnapshotChunks {
    snapshot_bytes_max: u64,
    /// The snapshot being received: its id and the end of what arrived.
    receiving: Mutex<Option<(String, u64)>>,
}

impl SnapshotChunks {
    /// A policy that lets a snapshot grow to `snapshot_bytes_max` bytes.
    pub fn new(snapshot_bytes_max: u64) -> SnapshotChunks {
        SnapshotChunks { snapshot_bytes_max, receiving: Mutex::new(None) }
    }

    /// Admits `chunk`, or says why it is refused.
    pub fn check(&self, chunk: &SnapshotChunk) -> std::result::Result<(), String> {
        self.check_parts(&chunk.meta.snapshot_id, chunk.offset, chunk.data.len(), chunk.done)
    }

    fn check_parts(
        &self,
        id: &str,
        offset: u64,
        len: usize,
        done: bool,
    ) -> std::result::Result<(), String> {
        let max = self.snapshot_bytes_max;
        let end = offset.saturating_add(len as u64);
        if end > max {
            return Err(format!(
                "snapshot chunk at offset {offset} goes past snapshot_bytes_max = {max}"
            ));
        }
        let mut receiving = self.receiving.lock().expect("snapshot lock");
        let next = match receiving.as_ref() {
            _ if offset == 0 => 0,
            Some((current, next)) if current == id => *next,
            _ => return Err(format!("snapshot {id}: chunk at offset {offset} without its start")),
        };
        if offset > next {
            return Err(format!(
                "snapshot {id}: chunk at offset {offset} leaves a gap after {next}"
            ));
        }
        *receiving = if done { None } else { Some((id.to_owned(), next.max(end))) };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::SnapshotChunks;

    #[test]
    fn chunks_in_order_and_resent_chunks_are_admitted() {
        let chunks = SnapshotChunks::new(100);
        assert_eq!(chunks.check_parts("s1", 0, 40, false), Ok(()));
        assert_eq!(chunks.check_parts("s1", 0, 40, false), Ok(()), "the first chunk again");
        assert_eq!(chunks.check_parts("s1", 40, 40, false), Ok(()));
        assert_eq!(chunks.check_parts("s1", 40, 40, false), Ok(()), "a chunk sent again");
        assert_eq!(chunks.check_parts("s1", 80, 20, true), Ok(()));
    }

    #[test]
    fn a_chunk_past_the_bound_or_after_a_gap_or_without_its_start_is_refused() {
        let chunks = SnapshotChunks::new(100);
        let past = chunks.check_parts("s1", 90, 20, false).unwrap_err();
        assert!(past.contains("snapshot_bytes_max = 100"), "{past}");
        let orphan = chunks.check_parts("s1", 10, 10, false).unwrap_err();
        assert!(orphan.contains("without its start"), "{orphan}");
        chunks.check_parts("s1", 0, 10, false).unwrap();
        let gap = chunks.check_parts("s1", 30, 10, false).unwrap_err();
        assert!(gap.contains("leaves a gap after 10"), "{gap}");
        let other = chunks.check_parts("s2", 10, 10, false).unwrap_err();
        assert!(other.contains("snapshot s2"), "{other}");
    }

    #[test]
    fn a_finished_snapshot_leaves_nothing_to_continue() {
        let chunks = SnapshotChunks::new(100);
        chunks.check_parts("s1", 0, 10, true).unwrap();
        assert!(chunks.check_parts("s1", 10, 10, false).is_err());
    }
}
