//! Watching applied blocks for changes to the clubs: what wakes the Raft
//! membership follower and the peer allowlist.

use std::sync::Arc;
use std::time::Duration;

use reciprocity_proto::v1 as pb;
use tokio::sync::broadcast;

use super::AppliedBlock;

/// Whether an applied block may have changed which clubs (and so which
/// nodes) are active: its genesis or a club admitted, suspended,
/// reinstated or removed.
pub fn changes_clubs(block: &AppliedBlock) -> bool {
    let is_club_event =
        |e: &pb::Event| e.kind.starts_with("club.") || e.kind.starts_with("genesis.");
    block.block.results.iter().flat_map(|r| &r.events).any(is_club_event)
        || block.block.block_events.iter().any(is_club_event)
}

/// Waits until the next membership or allowlist check is due: `period` has
/// passed, or a block that changes the clubs was applied (other blocks do
/// not wake the check: under load they come hundreds per second). False
/// once the node is stopping.
pub async fn next_club_check(
    blocks: &mut broadcast::Receiver<Arc<AppliedBlock>>,
    period: Duration,
) -> bool {
    let due = tokio::time::sleep(period);
    tokio::pin!(due);
    loop {
        tokio::select! {
            _ = &mut due => return true,
            received = blocks.recv() => match received {
                Ok(block) if changes_clubs(&block) => return true,
                Ok(_) => {}
                // Missed blocks may have changed the clubs.
                Err(broadcast::error::RecvError::Lagged(_)) => return true,
                Err(broadcast::error::RecvError::Closed) => return false,
            },
        }
    }
}
