//! The operator's page (the club's admins): the node's status — height,
//! Raft role and leader, the membership with each peer's link, the
//! index's lag, the last blocks, the version — refreshed by htmx every two
//! seconds, with links to `/metrics`, `/openapi.json` and the probes.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::assets::{self, AssetNames};
use super::page::{Chrome, Signed, api_error_page, club_facts, local_date_time, render};
use crate::api::rest::ApiState;
use crate::api::rest::require::Admin;

/// Blocks listed.
const LAST_BLOCKS: u64 = 10;

/// A peer in the membership.
#[derive(Debug, Clone)]
pub struct PeerLine {
    /// Node id (16 hex digits).
    pub node_id: String,
    /// Its club.
    pub club: String,
    /// `voter` or `learner`.
    pub role: String,
    /// Where peers dial it.
    pub address: String,
    /// The link in words.
    pub link: String,
    /// Whether it is connected (or this node).
    pub up: bool,
    /// Whether it leads.
    pub leader: bool,
}

/// A recent block.
#[derive(Debug, Clone)]
pub struct BlockLine {
    /// Height.
    pub height: u64,
    /// Local time.
    pub time: String,
    /// Transactions.
    pub txs: u32,
    /// State hash, shortened.
    pub state_hash: String,
}

/// The node's status, as the page shows it.
#[derive(Debug, Clone)]
pub struct NodeText {
    /// This node's id.
    pub node_id: String,
    /// Raft role.
    pub role: String,
    /// Term.
    pub term: u64,
    /// The leader, in words.
    pub leader: String,
    /// Ledger height.
    pub height: u64,
    /// Chain id.
    pub chain_id: String,
    /// State hash (hex).
    pub state_hash: String,
    /// Last block time, local.
    pub last_block: String,
    /// Mempool.
    pub mempool_txs: usize,
    /// Connected peers.
    pub connected_peers: usize,
    /// Index lag in words.
    pub index: String,
    /// Whether the index is behind or stuck.
    pub index_behind: bool,
    /// Whether the club is active on the ledger.
    pub club_active: bool,
    /// The membership.
    pub peers: Vec<PeerLine>,
    /// The last blocks, newest first.
    pub blocks: Vec<BlockLine>,
    /// `recip` version.
    pub version: &'static str,
    /// When this was read, local.
    pub read_at: String,
}

#[derive(Template)]
#[template(path = "node.html")]
struct NodePage {
    assets: &'static AssetNames,
    chrome: Chrome,
    node: NodeText,
}

#[derive(Template)]
#[template(path = "node_status.html")]
struct NodeFragment {
    node: NodeText,
}

fn node_text(state: &ApiState) -> crate::Result<NodeText> {
    let (_, offset) = club_facts(state);
    let local = |at_ms: u64| {
        let (date, time) = local_date_time(at_ms, offset);
        format!("{date} {time}")
    };
    let status = state.node().status()?;
    let ledger = state.node().ledger();
    let mut blocks = Vec::new();
    let lowest = status.height.saturating_sub(LAST_BLOCKS - 1).max(1);
    for height in (lowest..=status.height).rev() {
        if let Some(header) = ledger.header(height)? {
            blocks.push(BlockLine {
                height,
                time: local(header.timestamp_ms),
                txs: header.tx_count,
                state_hash: hex::encode(&header.state_hash[..header.state_hash.len().min(8)]),
            });
        }
    }
    let leader_id = status.leader;
    let peers = status
        .members
        .iter()
        .map(|m| PeerLine {
            node_id: format!("{:016x}", m.node_id),
            club: m.club.clone(),
            role: m.role.clone(),
            address: m.address.clone(),
            link: m.link.clone(),
            up: m.connected,
            leader: leader_id == Some(m.node_id),
        })
        .collect();
    let (index, index_behind) = match (status.index_lag_blocks, status.index_stuck_height) {
        (None, _) => ("no SQL index on this node".to_owned(), false),
        (Some(_), Some(stuck)) => (format!("stuck at block {stuck}: see the node's log"), true),
        (Some(0), None) => ("up to date".to_owned(), false),
        (Some(lag), None) => {
            (format!("{} behind", crate::words::count_of(lag as usize, "block", "blocks")), true)
        }
    };
    Ok(NodeText {
        node_id: format!("{:016x}", status.node_id),
        role: status.role.clone(),
        term: status.term,
        leader: match (&status.leader, &status.leader_club) {
            (Some(id), Some(club)) => format!("{id:016x} ({club})"),
            (Some(id), None) => format!("{id:016x}"),
            _ => "none known (an election may be under way)".to_owned(),
        },
        height: status.height,
        chain_id: status.chain_id.clone(),
        state_hash: status.state_hash.clone(),
        last_block: if status.last_block_time_ms == 0 {
            "—".to_owned()
        } else {
            local(status.last_block_time_ms)
        },
        mempool_txs: status.mempool_txs,
        connected_peers: status.connected_peers,
        index,
        index_behind,
        club_active: status.club_active,
        peers,
        blocks,
        version: env!("CARGO_PKG_VERSION"),
        read_at: local(crate::clock::now_ms()),
    })
}

/// The node's page (`GET /node`).
pub async fn page(signed: Signed<Admin>, State(state): State<ApiState>) -> Response {
    match node_text(&state) {
        Ok(node) => {
            let chrome = Chrome::of(&state, &signed.session, "/node");
            render(StatusCode::OK, &NodePage { assets: assets::names(), chrome, node })
        }
        Err(error) => api_error_page(&state, &signed.session, &error.into()),
    }
}

/// The status fragment htmx polls (`GET /node/status`).
pub async fn status(signed: Signed<Admin>, State(state): State<ApiState>) -> Response {
    match node_text(&state) {
        Ok(node) => render(StatusCode::OK, &NodeFragment { node }),
        Err(error) => api_error_page(&state, &signed.session, &error.into()),
    }
}
