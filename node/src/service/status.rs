//! The node's view of itself and of the network, for `GetStatus`, the
//! health endpoints, `recip status` and the metrics gauges.
//!
//! Owns nothing; reads Raft's metrics, the ledger, the transport's links and
//! the index's progress.

use std::collections::BTreeSet;

use openraft::ServerState;
use reciprocity_chaincode::chain_position;

use super::metrics::Gauges;
use super::node::NodeHandle;
use crate::error::Result;
use crate::network::p2p::{self, P2pHandle};

/// A snapshot of the node's state for `GetStatus`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    /// Raft node id.
    pub node_id: u64,
    /// The node's club.
    pub club: String,
    /// Raft role.
    pub role: String,
    /// Current term.
    pub term: u64,
    /// Current leader's node id, if known.
    pub leader: Option<u64>,
    /// Ledger height.
    pub height: u64,
    /// State hash, hex.
    pub state_hash: String,
    /// Time of the last block.
    pub last_block_time_ms: u64,
    /// Chain id.
    pub chain_id: String,
    /// Transactions waiting.
    pub mempool_txs: usize,
    /// The Raft membership: voters first, then learners.
    pub members: Vec<MemberStatus>,
    /// The leader's club, when known.
    pub leader_club: Option<String>,
    /// Whether this node's club is active on its ledger.
    pub club_active: bool,
    /// Peers with an open connection.
    pub connected_peers: usize,
    /// For a leader: ms since a majority last acknowledged it.
    pub millis_since_quorum_ack: Option<u64>,
    /// Blocks applied but not yet in the SQL index (None: no index).
    pub index_lag_blocks: Option<u64>,
    /// A block the index cannot project, if any.
    pub index_stuck_height: Option<u64>,
}

/// One member of the Raft membership.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MemberStatus {
    /// Raft node id.
    pub node_id: u64,
    /// Its club.
    pub club: String,
    /// Where peers dial it.
    pub address: String,
    /// `voter` or `learner`.
    pub role: String,
    /// Whether this node has a connection to it (true for itself).
    pub connected: bool,
    /// The connection in words: `self`, `connected`, `dialing`,
    /// `unreachable (…): <last error>`, or `not kept` (see [`p2p::Link`]).
    pub link: String,
}

impl Status {
    /// The values the metrics gauges export.
    pub fn gauges(&self) -> Gauges {
        Gauges {
            height: self.height,
            mempool_txs: self.mempool_txs as u64,
            raft_term: self.term,
            is_leader: self.role == "leader",
            connected_peers: self.connected_peers as u64,
            index_lag_blocks: self.index_lag_blocks,
            index_stuck_height: self.index_stuck_height,
        }
    }
}

impl NodeHandle {
    /// The node's view of itself and of the network.
    pub fn status(&self) -> Result<Status> {
        let metrics = self.inner.raft.metrics().borrow().clone();
        let state = self.inner.ledger.state();
        let position = chain_position(&state)?;
        let club_active = reciprocity_chaincode::ClubId::parse(&self.inner.config.club)
            .map(|club| reciprocity_chaincode::query::club(&state, &club))
            .transpose()?
            .flatten()
            .is_some_and(|c| c.status == reciprocity_chaincode::ClubStatus::Active);
        let p2p = self.inner.transport.p2p();
        let connected = p2p.map(P2pHandle::connected_peers);
        let membership = metrics.membership_config.membership();
        let voters: BTreeSet<u64> = membership.voter_ids().collect();
        let mut members: Vec<MemberStatus> = membership
            .nodes()
            .map(|(id, node)| MemberStatus {
                node_id: *id,
                club: node.club_id.clone(),
                address: node.address.clone(),
                role: if voters.contains(id) { "voter" } else { "learner" }.to_owned(),
                connected: *id == self.inner.node_id
                    || connected.as_ref().is_none_or(|c| {
                        p2p::peer_id_of(&node.node_key).is_some_and(|p| c.contains(&p))
                    }),
                link: if *id == self.inner.node_id {
                    "self".to_owned()
                } else {
                    match (p2p, p2p::peer_id_of(&node.node_key)) {
                        (Some(p2p), Some(peer)) => p2p.link(&peer).to_string(),
                        (Some(_), None) => "node key is not an ed25519 key".to_owned(),
                        (None, _) => "in process".to_owned(),
                    }
                },
            })
            .collect();
        members.sort_by(|a, b| b.role.cmp(&a.role).then(a.club.cmp(&b.club)));
        let leader_club =
            metrics.current_leader.and_then(|l| membership.get_node(&l)).map(|n| n.club_id.clone());
        Ok(Status {
            node_id: self.inner.node_id,
            club: self.inner.config.club.clone(),
            role: role_name(metrics.state, &voters, self.inner.node_id),
            term: metrics.current_term,
            leader: metrics.current_leader,
            height: position.height,
            state_hash: hex::encode(position.state_hash),
            last_block_time_ms: position.time_ms,
            chain_id: self.inner.network.chain_id.clone(),
            mempool_txs: self.inner.mempool.len(),
            members,
            leader_club,
            club_active,
            connected_peers: connected.map_or(0, |c| c.len()),
            millis_since_quorum_ack: metrics.millis_since_quorum_ack,
            index_lag_blocks: self.inner.config.index_url.as_ref().map(|_| {
                let projected = self
                    .inner
                    .index_progress
                    .projected_height
                    .load(std::sync::atomic::Ordering::Relaxed);
                position.height.saturating_sub(projected)
            }),
            index_stuck_height: self.inner.config.index_url.as_ref().and_then(|_| {
                let stuck = self
                    .inner
                    .index_progress
                    .stuck_height
                    .load(std::sync::atomic::Ordering::Relaxed);
                (stuck > 0).then_some(stuck)
            }),
        })
    }
}

fn role_name(state: ServerState, voters: &BTreeSet<u64>, me: u64) -> String {
    match state {
        ServerState::Learner => "learner",
        ServerState::Follower if !voters.contains(&me) => "learner",
        ServerState::Follower => "follower",
        ServerState::Candidate => "candidate",
        ServerState::Leader => "leader",
        ServerState::Shutdown => "shutdown",
    }
    .to_owned()
}
