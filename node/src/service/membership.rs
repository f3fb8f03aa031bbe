//! Raft membership that follows the ledger: on the leader, keeps the voters
//! equal to the nodes of the clubs active on the ledger. A newly admitted
//! club's node joins as a learner and becomes a voter once caught up; a
//! suspended or removed club's node leaves.
//!
//! Owns nothing. Calls the ledger (through [`crate::consensus::members`])
//! and Raft's membership API. Bounds: one check per block that changes the
//! clubs and per `raft.membership_check_ms`; a learner is promoted within
//! `raft.learner_lag_entries_max` entries of the log's end.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::node::NodeHandle;
use crate::consensus::PeerNode;
use crate::consensus::members::{active_members, founding_members};
use crate::ledger::watch::next_club_check;

impl NodeHandle {
    /// On the leader: keeps the Raft membership equal to the nodes of the
    /// clubs active on the ledger. New nodes join as learners and become
    /// voters once caught up; nodes of clubs no longer active leave. Runs
    /// after every block that changes the clubs and every
    /// `membership_check_ms`, so a change cut
    /// short by a leader change (even a joint configuration left by a crash)
    /// is finished by the next leader.
    pub(super) async fn follow_membership(self) {
        let inner = &self.inner;
        let mut blocks = self.subscribe();
        let period = Duration::from_millis(inner.config.raft.membership_check_ms);
        let founders = founding_members(&inner.network);
        loop {
            if !next_club_check(&mut blocks, period).await {
                return;
            }
            if !self.is_leader() || inner.ledger.height().unwrap_or(0) == 0 {
                continue;
            }
            // A new leader may have committed blocks it has not applied yet:
            // read the clubs only once everything committed is applied.
            if let Err(error) = inner.raft.ensure_linearizable().await {
                tracing::debug!(%error, "not reconciling membership: leadership not confirmed");
                continue;
            }
            match active_members(&inner.ledger, &founders) {
                Ok(desired) => self.reconcile_membership(&desired).await,
                Err(error) => tracing::error!(%error, "cannot read the active clubs' nodes"),
            }
        }
    }

    async fn reconcile_membership(&self, desired: &BTreeMap<u64, PeerNode>) {
        let raft = &self.inner.raft;
        let metrics = raft.metrics().borrow().clone();
        let membership = metrics.membership_config.membership().clone();
        let voters: BTreeSet<u64> = membership.voter_ids().collect();
        let known: BTreeMap<u64, PeerNode> =
            membership.nodes().map(|(id, n)| (*id, n.clone())).collect();
        let joint = membership.get_joint_config().len() > 1;
        if desired.is_empty() {
            tracing::error!("no club is active on the ledger: leaving the membership as it is");
            return;
        }
        for (id, node) in desired {
            if !known.contains_key(id) {
                tracing::info!(node = id, club = %node.club_id, address = %node.address, "adding an admitted club's node as a learner");
                if let Err(error) = raft.add_learner(*id, node.clone(), false).await {
                    tracing::warn!(%error, node = id, "could not add the learner; will retry");
                    return;
                }
            }
        }
        let last_log = metrics.last_log_index.unwrap_or(0);
        let lag_max = self.inner.config.raft.learner_lag_entries_max;
        let caught_up = |id: &u64| {
            metrics
                .replication
                .as_ref()
                .and_then(|r| r.get(id).cloned().flatten())
                .is_some_and(|matched| matched.index + lag_max >= last_log)
        };
        let target: BTreeSet<u64> = desired
            .keys()
            .filter(|id| voters.contains(id) || **id == self.inner.node_id || caught_up(id))
            .copied()
            .collect();
        let stale: BTreeSet<u64> = known
            .keys()
            .filter(|id| !desired.contains_key(id) && !voters.contains(id))
            .copied()
            .collect();
        if target.is_empty() {
            return;
        }
        if target != voters || joint {
            tracing::info!(voters = ?voters, target = ?target, joint, "changing the Raft voters to follow the ledger");
            match raft.change_membership(target.clone(), false).await {
                Ok(_) => tracing::info!(voters = ?target, "Raft voters now follow the ledger"),
                Err(error) => tracing::warn!(%error, "membership change not done; will retry"),
            }
        } else if !stale.is_empty() {
            tracing::info!(nodes = ?stale, "removing learners of clubs no longer active");
            if let Err(error) =
                raft.change_membership(openraft::ChangeMembers::RemoveNodes(stale), false).await
            {
                tracing::warn!(%error, "learner removal not done; will retry");
            }
        }
    }
}
