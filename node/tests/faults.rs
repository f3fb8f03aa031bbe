//! Multi-node consensus glue in one process: real nodes (RocksDB ledger or
//! the store in memory that models crashes, Raft, admission, mempool,
//! forwarding, producer) wired through the fault-injecting in-process
//! router. Each test prints its router seed;
//! `RECIP_TEST_SEED=<seed>` repeats a run's random message loss.

use std::sync::Arc;
use std::time::Duration;

use reciprocity_chaincode::chain_position;
use reciprocity_node::config::NodeConfig;
use reciprocity_node::network::inprocess::Router;
use reciprocity_node::refusal::Refusal;
use reciprocity_node::service::node::NodeHandle;
use reciprocity_node::service::startup::{Storage, Wiring};
use reciprocity_node::service::submit::Submitted;
use reciprocity_node::storage::memory::MemoryStore;
use reciprocity_proto::v1 as pb;
use reciprocity_sdk::keys::Keypair;
use reciprocity_sdk::tx::{TxBuilder, body};

mod common;

struct Cluster {
    dir: tempfile::TempDir,
    router: Router,
    nodes: Vec<NodeHandle>,
    configs: Vec<NodeConfig>,
    /// Each node's store when the cluster runs in memory.
    memory: Vec<Arc<MemoryStore>>,
    chain_id: String,
}

fn seed() -> u64 {
    let seed = std::env::var("RECIP_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(reciprocity_node::clock::now_ms);
    eprintln!("router seed: {seed} (RECIP_TEST_SEED={seed} repeats this run)");
    seed
}

const CLUBS: [&str; 3] = ["harbour", "alpine", "union"];

impl Cluster {
    /// Three nodes on RocksDB.
    async fn start() -> Cluster {
        Cluster::start_on(false).await
    }

    /// Three nodes on RocksDB, or each on a store in memory.
    async fn start_on(in_memory: bool) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let out = common::recip()
            .args(["network", "init", "--clubs", "3", "--chain-id", "faults", "--out"])
            .arg(dir.path().join("net"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let router = Router::with_seed(seed());
        let mut nodes = Vec::new();
        let mut configs = Vec::new();
        let mut memory = Vec::new();
        for club in CLUBS {
            let mut config =
                NodeConfig::load(&dir.path().join("net").join(club).join("node.toml")).unwrap();
            config.raft.heartbeat_interval_ms = 50;
            config.raft.election_timeout_min_ms = 300;
            config.raft.election_timeout_max_ms = 600;
            config.p2p.forward_timeout_ms = 2_000;
            let storage = if in_memory {
                let store = Arc::new(MemoryStore::new());
                memory.push(Arc::clone(&store));
                Storage::Given(store)
            } else {
                Storage::RocksDb
            };
            let wiring = Wiring::InProcess(router.clone());
            let node = NodeHandle::start_with(config.clone(), wiring, storage).await.unwrap();
            nodes.push(node);
            configs.push(config);
        }
        let cluster = Cluster { dir, router, nodes, configs, memory, chain_id: "faults".into() };
        cluster.wait_height(1, &[0, 1, 2]).await;
        cluster
    }

    fn club_key(&self, club: &str) -> Keypair {
        Keypair::read_file(&self.dir.path().join("net").join(club).join("club.key")).unwrap()
    }

    /// A fresh member registration signed by `club`.
    fn registration(&self, club: &str) -> pb::SignedTx {
        let member = reciprocity_sdk::random_member_id().unwrap();
        TxBuilder::now(&self.chain_id)
            .sign(&self.club_key(club), body::register_member(&member, "full", 40_000))
    }

    async fn wait_leader(&self, among: &[usize]) -> usize {
        for _ in 0..400 {
            if let Some(i) = among.iter().copied().find(|i| {
                let status = self.nodes[*i].status().unwrap();
                status.role == "leader" && status.millis_since_quorum_ack.is_some()
            }) {
                return i;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no leader among nodes {among:?}");
    }

    async fn wait_height(&self, height: u64, among: &[usize]) {
        for _ in 0..800 {
            if among.iter().all(|i| self.nodes[*i].ledger().height().unwrap() >= height) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let heights: Vec<u64> = self.nodes.iter().map(|n| n.ledger().height().unwrap()).collect();
        panic!("nodes {among:?} did not reach height {height}: {heights:?}");
    }

    /// Waits until every node has the same height and state hash; returns the height.
    async fn converge(&self) -> u64 {
        for _ in 0..800 {
            let positions: Vec<_> =
                self.nodes.iter().map(|n| chain_position(&n.ledger().state()).unwrap()).collect();
            if positions.windows(2).all(|w| w[0] == w[1]) {
                for node in &self.nodes {
                    let summary = node.ledger().verify_chain().unwrap();
                    assert_eq!(summary.state_hash, positions[0].state_hash);
                }
                return positions[0].height;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("nodes did not converge");
    }

    /// Stops node `i` as a crash would (of the cluster in memory): it comes
    /// back on what its store kept — the synced writes and the first
    /// `unsynced_kept` of the rest. Returns the height the node came back at.
    async fn crash_and_restart(&mut self, i: usize, unsynced_kept: usize) -> u64 {
        self.nodes[i].shutdown().await;
        let kept = Arc::new(self.memory[i].crash(unsynced_kept));
        self.memory[i] = Arc::clone(&kept);
        let wiring = Wiring::InProcess(self.router.clone());
        let node = NodeHandle::start_with(self.configs[i].clone(), wiring, Storage::Given(kept))
            .await
            .unwrap();
        let height = node.ledger().height().unwrap();
        self.nodes[i] = node;
        height
    }

    async fn stop(self) {
        for node in &self.nodes {
            node.shutdown().await;
        }
    }
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_forwards_a_submission_and_its_submitter_gets_the_commit_result() {
    let cluster = Cluster::start().await;
    let leader = cluster.wait_leader(&[0, 1, 2]).await;
    let follower = (leader + 1) % 3;
    let tx = cluster.registration(CLUBS[follower]);
    let (id, outcome) = cluster.nodes[follower].submit(tx, true, WAIT).await.unwrap();
    let Submitted::Committed(location) = outcome else { panic!("not committed: {outcome:?}") };
    assert_eq!(location.code, 0);
    // The leader holds it at the same place.
    cluster.wait_height(location.height, &[leader]).await;
    assert_eq!(cluster.nodes[leader].ledger().tx_location(&id).unwrap(), Some(location));
    cluster.converge().await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_minority_side_refuses_submissions_while_the_majority_commits_and_healing_gives_one_history()
 {
    let cluster = Cluster::start().await;
    let leader = cluster.wait_leader(&[0, 1, 2]).await;
    let height = cluster.converge().await;
    let node_ids: Vec<u64> = cluster.nodes.iter().map(|n| n.node_id()).collect();

    // Cut the leader off. Once no majority has acknowledged it for an
    // election timeout, it refuses submissions instead of holding them.
    cluster.router.isolate(node_ids[leader]);
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let refused =
        cluster.nodes[leader].submit(cluster.registration(CLUBS[leader]), true, WAIT).await;
    assert!(
        matches!(refused, Err(Refusal::Unavailable { .. })),
        "the minority side must say it cannot commit: {refused:?}"
    );

    // The majority elects a new leader and commits, through either node.
    let rest: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    let new_leader = cluster.wait_leader(&rest).await;
    let mut committed = Vec::new();
    for i in &rest {
        let (id, outcome) =
            cluster.nodes[*i].submit(cluster.registration(CLUBS[*i]), true, WAIT).await.unwrap();
        assert!(matches!(outcome, Submitted::Committed(l) if l.code == 0), "{outcome:?}");
        committed.push(id);
    }
    assert_ne!(new_leader, leader);
    assert_eq!(
        cluster.nodes[leader].ledger().height().unwrap(),
        height,
        "the minority applied nothing"
    );

    // Heal: one history, holding what the majority committed.
    cluster.router.heal();
    let healed = cluster.converge().await;
    assert!(healed > height);
    for id in &committed {
        assert!(cluster.nodes[leader].ledger().tx_location(id).unwrap().is_some());
    }
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_message_loss_and_delay_every_acknowledged_transaction_commits_once() {
    let cluster = Cluster::start().await;
    cluster.wait_leader(&[0, 1, 2]).await;
    cluster.router.set_delay_ms(3);
    cluster.router.set_loss_ppm(30_000); // 3% of messages, both ways
    let mut acknowledged = Vec::new();
    let mut unavailable = 0;
    for round in 0..60 {
        let at = round % 3;
        let tx = cluster.registration(CLUBS[at]);
        match cluster.nodes[at].submit(tx, true, WAIT).await {
            Ok((id, Submitted::Committed(location))) => acknowledged.push((id, location)),
            Ok((_, other)) => panic!("a waited submission ended as {other:?}"),
            // Lost forwards: the submitter is told, and nothing is acknowledged.
            Err(Refusal::Unavailable { .. }) => unavailable += 1,
            Err(other) => panic!("unexpected refusal: {other:?}"),
        }
    }
    cluster.router.heal();
    cluster.converge().await;
    assert!(
        acknowledged.len() >= 30,
        "{} acknowledged, {unavailable} unavailable",
        acknowledged.len()
    );
    for node in &cluster.nodes {
        for (id, location) in &acknowledged {
            assert_eq!(node.ledger().tx_location(id).unwrap().as_ref(), Some(location));
        }
    }
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_waiting_on_a_deposed_leader_are_handed_to_the_new_one() {
    let cluster = Cluster::start().await;
    let leader = cluster.wait_leader(&[0, 1, 2]).await;
    let ids: Vec<u64> = cluster.nodes.iter().map(|n| n.node_id()).collect();
    // The leader's outbound links drop: it still accepts a submission (a
    // majority acknowledged it a moment ago) but cannot commit it. The others
    // elect a new leader, whose heartbeats depose the old one; once the links
    // heal, the deposed leader hands the waiting transaction over and it commits.
    for other in (0..3).filter(|i| *i != leader) {
        cluster.router.drop_link(ids[leader], ids[other]);
    }
    let tx = cluster.registration(CLUBS[leader]);
    let id = reciprocity_sdk::decode::tx_id(&tx);
    let submitter = {
        let node = cluster.nodes[leader].clone();
        tokio::spawn(async move { node.submit(tx, true, Duration::from_secs(30)).await })
    };
    // It is queued on the cut-off leader (not refused, not committed).
    for _ in 0..100 {
        if cluster.nodes[leader].is_pending(&id) || submitter.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(!submitter.is_finished(), "{:?}", submitter.await.unwrap());
    let rest: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    cluster.wait_leader(&rest).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    cluster.router.heal();
    // Its submitter, still waiting on the deposed leader, is told of the commit.
    let result = submitter.await.unwrap();
    let Ok((_, Submitted::Committed(location))) = result else {
        panic!("the waiting transaction was not committed: {result:?}")
    };
    assert_eq!(location.code, 0);
    cluster.converge().await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_chunks_past_the_bound_or_out_of_order_are_declined_without_allocating() {
    use openraft::raft::InstallSnapshotRequest;
    use reciprocity_node::network::{PeerRequest, PeerResponse, PeerService};
    let cluster = Cluster::start().await;
    let node = &cluster.nodes[0];
    let chunk = |id: &str, offset: u64, data: Vec<u8>| {
        PeerRequest::InstallSnapshot(InstallSnapshotRequest {
            vote: openraft::Vote::new_committed(1, 1),
            meta: openraft::SnapshotMeta {
                last_log_id: None,
                last_membership: openraft::StoredMembership::default(),
                snapshot_id: id.to_owned(),
            },
            offset,
            data,
            done: false,
        })
    };
    let declined = |response: PeerResponse| match response {
        PeerResponse::Declined(reason) => reason,
        other => panic!("served: {other:?}"),
    };
    // Far past snapshot_bytes_max: refused before any buffer grows.
    let reason = declined(node.serve(chunk("s1", 1 << 50, vec![1; 8])).await);
    assert!(reason.contains("snapshot_bytes_max"), "{reason}");
    // A chunk whose start never came.
    let reason = declined(node.serve(chunk("s2", 4_096, vec![1; 8])).await);
    assert!(reason.contains("without its start"), "{reason}");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_loses_its_unsynced_writes_in_a_crash_reapplies_them_from_its_log() {
    let mut cluster = Cluster::start_on(true).await;
    let leader = cluster.wait_leader(&[0, 1, 2]).await;
    let follower = (leader + 1) % 3;
    let mut acknowledged = Vec::new();
    for round in 0..6 {
        // The last one through the follower: acknowledged once applied there.
        let at = [leader, follower][round % 2];
        let (id, outcome) =
            cluster.nodes[at].submit(cluster.registration(CLUBS[at]), true, WAIT).await.unwrap();
        let Submitted::Committed(location) = outcome else { panic!("{outcome:?}") };
        acknowledged.push((id, location));
    }
    let height = acknowledged.last().expect("six acknowledged").1.height;
    // The follower applied that block unsynced after the synced append of
    // its entry (and nothing synced came since: no entry, no election in
    // these microseconds). A crash that keeps no unsynced write takes its
    // ledger back below it; its Raft log, synced, is whole.
    let back_at = cluster.crash_and_restart(follower, 0).await;
    assert!(back_at < height, "the crash lost no applied block: back at {back_at} of {height}");
    // It re-applies them from its log, and the cluster goes on committing.
    let (id, outcome) = cluster.nodes[leader]
        .submit(cluster.registration(CLUBS[leader]), true, WAIT)
        .await
        .unwrap();
    let Submitted::Committed(location) = outcome else { panic!("{outcome:?}") };
    acknowledged.push((id, location));
    // A crash of the leader that keeps part of its unsynced writes, too.
    let kept = cluster.memory[leader].unsynced_writes() / 2;
    cluster.crash_and_restart(leader, kept).await;
    let converged = cluster.converge().await;
    assert!(converged > height);
    for node in &cluster.nodes {
        for (id, location) in &acknowledged {
            assert_eq!(node.ledger().tx_location(id).unwrap().as_ref(), Some(location));
        }
    }
    cluster.stop().await;
}
