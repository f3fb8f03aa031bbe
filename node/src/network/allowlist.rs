//! The peer allowlist: every node keeps its transport's allowlist equal to
//! the nodes of the clubs active on its ledger (plus the current Raft
//! members), so a club that loses its standing is cut off at once; a voter
//! also keeps a connection to every other voter, so an election never waits
//! for a dial.
//!
//! Owns the last allowlist and kept set it gave the transport. Calls the
//! ledger (through [`crate::consensus::members`]), Raft's metrics and the
//! libp2p handle. Bounds: one check per block that changes the clubs and per
//! `raft.heartbeat_interval_ms` (a snapshot install replaces the state
//! without announcing blocks; membership entries are not blocks).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use super::p2p::{self, P2pHandle};
use crate::config::NodeConfig;
use crate::consensus::members::active_members;
use crate::consensus::{PeerNode, Raft};
use crate::error::Result;
use crate::ledger::watch::next_club_check;
use crate::ledger::{AppliedBlock, Ledger};

/// Whom a node trusts before its ledger knows its own club.
#[derive(Debug, Clone)]
pub enum TrustRoots {
    /// The founding nodes (a founding club's node, or no bootstrap peers given).
    Founders(BTreeMap<u64, PeerNode>),
    /// A joining node's `bootstrap_peers`, until the network makes it a voter.
    Bootstrap {
        /// The founding nodes, trusted once this node is a voter.
        founders: BTreeMap<u64, PeerNode>,
        /// The peers the joining node was given.
        peers: BTreeSet<libp2p::PeerId>,
    },
}

/// Whom `config`'s node trusts before its ledger knows its club: its
/// `bootstrap_peers` when it has some, else the founders.
pub fn trust_roots(config: &NodeConfig, founders: &BTreeMap<u64, PeerNode>) -> TrustRoots {
    let peers: BTreeSet<libp2p::PeerId> =
        config.bootstrap_peers.iter().filter_map(|key| p2p::peer_id_of(key)).collect();
    if peers.is_empty() {
        TrustRoots::Founders(founders.clone())
    } else {
        TrustRoots::Bootstrap { founders: founders.clone(), peers }
    }
}

/// The peers this node may talk to, itself excluded: the nodes of the clubs
/// active on its ledger (its trust roots before that), plus the current Raft
/// members — a node leaving the voters stays reachable until the membership
/// change that drops it is in the log, so the change can still commit.
pub fn allowed_peers(
    ledger: &Ledger,
    roots: &TrustRoots,
    raft_members: &[(u64, PeerNode)],
    me_is_voter: bool,
    me: u64,
) -> Result<BTreeSet<libp2p::PeerId>> {
    let mut allowed = match roots {
        // Until the network made it a voter (it is caught up by then), a
        // joining node's applied state may be far behind: trust the peers
        // it was given.
        TrustRoots::Bootstrap { peers, .. } if !me_is_voter => peers.clone(),
        TrustRoots::Bootstrap { founders, .. } | TrustRoots::Founders(founders) => {
            let members = active_members(ledger, founders)?;
            p2p::allowlist_of(members.iter().filter(|(id, _)| **id != me).map(|(_, n)| n))
        }
    };
    allowed
        .extend(p2p::allowlist_of(raft_members.iter().filter(|(id, _)| *id != me).map(|(_, n)| n)));
    Ok(allowed)
}

/// What [`follow`] needs of the node.
pub struct AllowlistFollower {
    /// This node's Raft id.
    pub node_id: u64,
    /// The ledger whose clubs the allowlist follows.
    pub ledger: Arc<Ledger>,
    /// Raft, for the current membership.
    pub raft: Raft,
    /// Whom the node trusts before its ledger knows its own club.
    pub roots: TrustRoots,
    /// The transport to configure.
    pub p2p: P2pHandle,
    /// How often to look even when no block changed the clubs.
    pub check_period: Duration,
}

/// Keeps the transport's allowlist and kept connections following the
/// ledger and the Raft membership until `blocks` closes.
pub async fn follow(
    follower: AllowlistFollower,
    mut blocks: broadcast::Receiver<Arc<AppliedBlock>>,
) {
    let AllowlistFollower { node_id, ledger, raft, roots, p2p, check_period } = follower;
    let mut current: Option<BTreeSet<libp2p::PeerId>> = None;
    let mut kept: Option<BTreeMap<libp2p::PeerId, libp2p::Multiaddr>> = None;
    loop {
        let (members, me_is_voter, voters) = {
            let metrics = raft.metrics().borrow().clone();
            let membership = metrics.membership_config.membership();
            let members: Vec<(u64, PeerNode)> =
                membership.nodes().map(|(id, node)| (*id, node.clone())).collect();
            let voters: BTreeSet<u64> = membership.voter_ids().collect();
            (members, voters.contains(&node_id), voters)
        };
        // Every voter keeps a connection to every other voter, so that an
        // election or a failover never waits for a dial. Learners keep none:
        // the leader reaches them, and a voter need not hold a connection
        // from each of them.
        let keep: BTreeMap<libp2p::PeerId, libp2p::Multiaddr> = members
            .iter()
            .filter(|(id, _)| me_is_voter && *id != node_id && voters.contains(id))
            .filter_map(|(_, node)| {
                Some((p2p::peer_id_of(&node.node_key)?, node.address.parse().ok()?))
            })
            .collect();
        if kept.as_ref() != Some(&keep) {
            p2p.keep_connected(keep.clone()).await;
            kept = Some(keep);
        }
        match allowed_peers(&ledger, &roots, &members, me_is_voter, node_id) {
            Ok(allowed) if current.as_ref() != Some(&allowed) => {
                if current.is_some() {
                    tracing::info!(peers = allowed.len(), "allowlist follows the ledger");
                }
                p2p.set_allowed(allowed.clone()).await;
                current = Some(allowed);
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "cannot read the active clubs' nodes"),
        }
        if !next_club_check(&mut blocks, check_period).await {
            return;
        }
    }
}
