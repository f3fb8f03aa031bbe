//! `recip index rebuild`: empty a node's SQL index and project every block
//! again from its ledger, with a progress bar and the rate in transactions
//! per second.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use reciprocity_node::config::NodeConfig;
use reciprocity_node::index::IndexStore;
use reciprocity_node::index::follower::catch_up;
use reciprocity_node::ledger::Ledger;

use super::say;

#[derive(Debug, Subcommand)]
pub(crate) enum IndexCommand {
    /// Drop the index's rows and replay every block from the ledger (stop
    /// the node first: this opens its ledger).
    Rebuild {
        /// The node's config file.
        #[arg(long)]
        config: PathBuf,
        /// Blocks per SQL transaction (default: the config's index.batch_blocks_max).
        #[arg(long)]
        batch_blocks: Option<u64>,
    },
}

pub(crate) async fn run(command: IndexCommand) -> anyhow::Result<()> {
    let IndexCommand::Rebuild { config, batch_blocks } = command;
    let config = NodeConfig::load(&config)?;
    let url = config.index_url.clone().context("the node config has no index_url")?;
    let network = reciprocity_network_config::NetworkConfig::load(&config.genesis_file)?;
    let ledger =
        Arc::new(Ledger::open(&config.data_dir, &network.chain_id).with_context(|| {
            format!(
                "opening the ledger in {} (is the node still running? stop it first)",
                config.data_dir.display()
            )
        })?);
    let store = IndexStore::connect(&url).await?;
    store.clear().await?;
    let height = ledger.height()?;
    let progress = ProgressBar::new(height);
    progress.set_style(ProgressStyle::with_template(
        "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} blocks {msg}",
    )?);
    let started = Instant::now();
    let mut txs_total = 0u64;
    let batch = batch_blocks.unwrap_or(config.index.batch_blocks_max);
    let at = catch_up(&ledger, &store, batch, |at, txs| {
        txs_total += txs;
        progress.set_position(at);
        let seconds = started.elapsed().as_secs_f64().max(1e-6);
        progress.set_message(format!("{:.0} tx/s", txs_total as f64 / seconds));
    })
    .await?;
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    say(serde_json::json!({
        "index": "rebuild",
        "blocks": at,
        "txs": txs_total,
        "seconds": (seconds * 100.0).round() / 100.0,
        "txs_per_s": (txs_total as f64 / seconds.max(1e-6)).round(),
    }));
    Ok(())
}
