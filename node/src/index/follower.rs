//! Keeps the index up to the ledger: reads committed blocks after the
//! checkpoint, projects them in batches (one SQL transaction each), and
//! retries with backoff while the database is unavailable.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::broadcast;

use super::projection::project;
use super::store::ProjectedBlock;
use super::{IndexError, IndexProgress, IndexStore, Result};
use crate::ledger::{AppliedBlock, Ledger, block::block_hash};

/// How the follower batches and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowerSettings {
    /// Most blocks per SQL transaction.
    pub batch_blocks_max: u64,
    /// First wait after a failure; doubles up to `backoff_max_ms`.
    pub backoff_min_ms: u64,
    /// Longest wait between retries.
    pub backoff_max_ms: u64,
}

/// Reads blocks `from..=to` (at most `batch_blocks_max`) and their statements.
fn read_batch(ledger: &Ledger, from: u64, to: u64) -> Result<Vec<ProjectedBlock>> {
    let mut batch = Vec::new();
    for height in from..=to {
        let ledger_error = |e: crate::NodeError| IndexError::Ledger(e.to_string());
        let block = ledger
            .block(height)
            .map_err(ledger_error)?
            .ok_or_else(|| IndexError::Ledger(format!("block {height} is missing")))?;
        let header_bytes = ledger
            .header_bytes(height)
            .map_err(ledger_error)?
            .ok_or_else(|| IndexError::Ledger(format!("header {height} is missing")))?;
        let state_hash =
            block.header.as_ref().map(|h| hex::encode(&h.state_hash)).unwrap_or_default();
        batch.push(ProjectedBlock {
            height,
            tx_count: block.txs.len() as u64,
            state_hash,
            statements: project(&block, &block_hash(&header_bytes))?,
        });
    }
    Ok(batch)
}

/// Projects every block after the checkpoint up to the ledger's height;
/// returns the new checkpoint. `progress` hears each batch's last height and
/// how many transactions it held.
pub async fn catch_up(
    ledger: &Arc<Ledger>,
    store: &IndexStore,
    batch_blocks_max: u64,
    mut progress: impl FnMut(u64, u64),
) -> Result<u64> {
    let mut at = store.checkpoint().await?;
    loop {
        let height = ledger.height().map_err(|e| IndexError::Ledger(e.to_string()))?;
        if at >= height {
            return Ok(at);
        }
        let to = height.min(at + batch_blocks_max.max(1));
        let reader = Arc::clone(ledger);
        let from = at + 1;
        let batch = tokio::task::spawn_blocking(move || read_batch(&reader, from, to))
            .await
            .map_err(|e| IndexError::Ledger(e.to_string()))??;
        let txs = batch.iter().map(|b| b.tx_count).sum();
        at = store.project(&batch).await?;
        progress(at, txs);
    }
}

/// Connects to `url` (retrying with backoff: the node runs without its
/// index meanwhile), then follows the ledger; see [`follow`].
pub async fn connect_and_follow(
    url: String,
    ledger: Arc<Ledger>,
    applied: broadcast::Receiver<Arc<AppliedBlock>>,
    settings: FollowerSettings,
    progress: Arc<IndexProgress>,
) {
    let mut backoff_ms = settings.backoff_min_ms;
    let store = loop {
        match IndexStore::connect(&url).await {
            Ok(store) => break store,
            Err(error) => {
                tracing::warn!(%error, retry_in_ms = backoff_ms, "index database unavailable; ordering goes on");
                tokio::time::sleep(Duration::from_millis(backoff_ms)).await;
                backoff_ms = (backoff_ms * 2).min(settings.backoff_max_ms);
            }
        }
    };
    tracing::info!("index connected");
    let _ = progress.connected.set(store.clone());
    follow(ledger, store, applied, settings, progress).await;
}

/// Checks that the index was projected from this ledger: its checkpoint is
/// not above the ledger's height and its state hash is the ledger's at that
/// height.
pub async fn same_chain(ledger: &Ledger, store: &IndexStore) -> Result<()> {
    let Some((height, hash)) = store.checkpoint_with_hash().await? else { return Ok(()) };
    let header = ledger.header(height).map_err(|e| IndexError::Ledger(e.to_string()))?;
    match header {
        None => Err(IndexError::Projection(format!(
            "the index is at height {height}, above the ledger's {}",
            ledger.height().unwrap_or(0)
        ))),
        Some(header) if hex::encode(&header.state_hash) != hash => Err(IndexError::Projection(
            format!("the index's state hash at height {height} is not the ledger's: another chain"),
        )),
        Some(_) => Ok(()),
    }
}

/// Runs until the applied-block feed closes: catches up after every block
/// (and every second), backing off while the database fails. After a
/// failure it goes one block at a time, so a block the database refuses
/// (which every node would refuse alike) stops the index just before it:
/// that height is reported as stuck (status, `/readyz`, metrics) and retried
/// at the longest backoff, while ordering goes on.
pub async fn follow(
    ledger: Arc<Ledger>,
    store: IndexStore,
    mut applied: broadcast::Receiver<Arc<AppliedBlock>>,
    settings: FollowerSettings,
    progress: Arc<IndexProgress>,
) {
    if let Ok(at) = store.checkpoint().await {
        progress.projected_height.store(at, Ordering::Relaxed);
    }
    if let Err(problem) = same_chain(&ledger, &store).await {
        tracing::error!(%problem, "not following: rebuild the index (recip index rebuild)");
        progress
            .stuck_height
            .store(store.checkpoint().await.unwrap_or(0).max(1), Ordering::Relaxed);
        return;
    }
    let mut backoff_ms = settings.backoff_min_ms;
    let mut batch = settings.batch_blocks_max;
    loop {
        let projected = &progress.projected_height;
        let result =
            catch_up(&ledger, &store, batch, |at, _| projected.store(at, Ordering::Relaxed)).await;
        match result {
            Ok(at) => {
                backoff_ms = settings.backoff_min_ms;
                batch = settings.batch_blocks_max;
                projected.store(at, Ordering::Relaxed);
                if progress.stuck_height.swap(0, Ordering::Relaxed) != 0 {
                    tracing::info!(height = at, "index moving again");
                }
                tokio::select! {
                    received = applied.recv() => {
                        if matches!(received, Err(broadcast::error::RecvError::Closed)) {
                            return;
                        }
                    }
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
            Err(error) if error.is_permanent() && batch == 1 => {
                let stuck = projected.load(Ordering::Relaxed) + 1;
                if progress.stuck_height.swap(stuck, Ordering::Relaxed) != stuck {
                    tracing::error!(%error, height = stuck, "the index cannot project this block; ordering goes on");
                }
                tokio::time::sleep(Duration::from_millis(settings.backoff_max_ms)).await;
            }
            Err(error) if error.is_permanent() => {
                // Find the block: one at a time from the checkpoint.
                tracing::warn!(%error, "index batch refused; retrying block by block");
                batch = 1;
            }
            Err(error) => {
                tracing::warn!(%error, retry_in_ms = backoff_ms, "index projection failed; ordering goes on");
                tokio::time::sleep(Duration::from_millis(backoff_ms)).await;
                backoff_ms = (backoff_ms * 2).min(settings.backoff_max_ms);
            }
        }
    }
}
