//! Who should be in the Raft membership: the founding nodes of the network
//! config, and the nodes of the clubs active on the ledger. Read by the
//! membership follower (on the leader) and by the peer allowlist (on every
//! node).

use std::collections::BTreeMap;

use reciprocity_chaincode::{PublicKey, chain_position};
use reciprocity_network_config::NetworkConfig;

use super::{PeerNode, node_id};
use crate::error::Result;
use crate::ledger::Ledger;

/// The founding nodes, as Raft members.
pub fn founding_members(network: &NetworkConfig) -> BTreeMap<u64, PeerNode> {
    network
        .clubs
        .iter()
        .flat_map(|club| {
            club.nodes.iter().filter_map(move |node| {
                let key = PublicKey::from_hex(&node.node_key)?;
                Some((
                    node_id(&key.0),
                    PeerNode {
                        club_id: club.id.clone(),
                        node_key: key.to_hex(),
                        address: node.address.clone(),
                    },
                ))
            })
        })
        .collect()
}

/// The nodes of the clubs active on the ledger, as Raft members; the
/// founders while the ledger is empty.
pub fn active_members(
    ledger: &Ledger,
    founders: &BTreeMap<u64, PeerNode>,
) -> Result<BTreeMap<u64, PeerNode>> {
    let state = ledger.state();
    if chain_position(&state)?.height == 0 {
        return Ok(founders.clone());
    }
    Ok(reciprocity_chaincode::query::active_nodes(&state)?
        .into_iter()
        .map(|(club, node)| {
            (
                node_id(&node.node_key.0),
                PeerNode {
                    club_id: club.to_string(),
                    node_key: node.node_key.to_hex(),
                    address: node.address,
                },
            )
        })
        .collect())
}
