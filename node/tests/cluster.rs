//! Raft over the RocksDB store, in process (bare Raft, no node service): a
//! single node commits blocks; a node that joins after the log was purged
//! catches up by snapshot and reaches the same state hash; a partitioned
//! leader commits nothing; a tampered snapshot is refused.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use reciprocity_node::consensus::log_store::LogStore;
use reciprocity_node::consensus::state_machine::StateMachine;
use reciprocity_node::consensus::{BlockRequest, PeerNode, Raft};
use reciprocity_node::ledger::Ledger;
use reciprocity_node::network::Transport;
use reciprocity_node::network::inprocess::Router;
use reciprocity_node::network::raft::{Backoff, PeerNetwork};
use reciprocity_proto::v1 as pb;
use reciprocity_tests::{CHAIN_ID, Net};
use tempfile::TempDir;

struct TestNode {
    raft: Raft,
    ledger: Arc<Ledger>,
    _dir: TempDir,
}

fn config() -> Arc<openraft::Config> {
    let config = openraft::Config {
        cluster_name: "test".into(),
        heartbeat_interval: 50,
        election_timeout_min: 150,
        election_timeout_max: 300,
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(20),
        max_in_snapshot_log_to_keep: 0,
        purge_batch_size: 1,
        install_snapshot_timeout: 2_000,
        ..Default::default()
    };
    Arc::new(config.validate().expect("valid raft config"))
}

async fn start(router: &Router, id: u64) -> TestNode {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(Ledger::open(dir.path(), CHAIN_ID).unwrap());
    let (applied, _) = tokio::sync::broadcast::channel(64);
    let sm = StateMachine::new(Arc::clone(&ledger), applied).unwrap();
    let network = PeerNetwork::new(
        id,
        Transport::new(router.client(id)),
        Backoff { min_ms: 50, max_ms: 500 },
        4 * 1024 * 1024,
    );
    let raft =
        Raft::new(id, config(), network, LogStore::new(Arc::clone(&ledger)), sm).await.unwrap();
    router.register(id, Arc::new(raft.clone()));
    TestNode { raft, ledger, _dir: dir }
}

fn peer(id: u64) -> PeerNode {
    PeerNode {
        club_id: format!("club{id}"),
        node_key: String::new(),
        address: format!("inproc://{id}"),
    }
}

fn request(ctx_time: u64, txs: &[pb::SignedTx]) -> BlockRequest {
    BlockRequest {
        candidate: pb::BlockCandidate { timestamp_ms: ctx_time, txs: txs.to_vec() }.encode_to_vec(),
    }
}

async fn wait_for_height(ledger: &Ledger, height: u64) {
    for _ in 0..200 {
        if ledger.height().unwrap() >= height {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("ledger did not reach height {height}, stuck at {}", ledger.height().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_node_cluster_commits_and_applies_blocks() {
    let router = Router::default();
    let node = start(&router, 1).await;
    node.raft.initialize(BTreeMap::from([(1, peer(1))])).await.unwrap();
    let net = Net::new(&[("harbour", 0), ("alpine", 60)]);
    for (ctx, txs) in &net.blocks {
        let response = node.raft.client_write(request(ctx.timestamp_ms, txs)).await.unwrap();
        assert_eq!(response.data.height, Some(ctx.height));
        assert!(response.data.codes.iter().all(|c| *c == 0), "{:?}", response.data.codes);
    }
    assert_eq!(node.ledger.verify_chain().unwrap().state_hash, net.state_hash());
    node.raft.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_joining_after_the_log_was_purged_catches_up_by_snapshot() {
    let router = Router::default();
    let first = start(&router, 1).await;
    first.raft.initialize(BTreeMap::from([(1, peer(1))])).await.unwrap();
    let mut net = Net::new(&[("harbour", 0), ("alpine", 60)]);
    let terms = net.terms(&["full"], 30, 300);
    net.agree("harbour", "alpine", &terms);
    for _ in 0..40 {
        net.register_member("harbour", "full");
    }
    for (ctx, txs) in &net.blocks {
        first.raft.client_write(request(ctx.timestamp_ms, txs)).await.unwrap();
    }
    // The snapshot policy (every 20 entries, keep none) purges the early log.
    let mut purged = false;
    for _ in 0..200 {
        if first.raft.metrics().borrow().purged.is_some() {
            purged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(purged, "the log was purged after a snapshot: {:?}", first.raft.metrics().borrow());

    let second = start(&router, 2).await;
    first.raft.add_learner(2, peer(2), true).await.unwrap();
    wait_for_height(&second.ledger, net.height).await;
    let a = first.ledger.verify_chain().unwrap();
    let b = second.ledger.verify_chain().unwrap();
    assert_eq!(a, b, "same chain and state hash on both nodes");
    assert_eq!(b.state_hash, net.state_hash());
    assert!(second.ledger.block(1).unwrap().is_some(), "the snapshot carried the whole chain");

    // New blocks flow to the learner by log after the snapshot.
    let member = reciprocity_chaincode::MemberId([42; 16]);
    let registrar = net.club("harbour").registrar;
    let tx =
        net.tx(&registrar, reciprocity_sdk::tx::body::register_member(&member, "full", 30_000));
    first.raft.client_write(request(net.now_ms, &[tx])).await.unwrap();
    wait_for_height(&second.ledger, net.height + 1).await;
    assert_eq!(first.ledger.verify_chain().unwrap(), second.ledger.verify_chain().unwrap());
    first.raft.shutdown().await.unwrap();
    second.raft.shutdown().await.unwrap();
}

async fn leader_of(nodes: &[&TestNode], exclude: Option<u64>) -> u64 {
    for _ in 0..400 {
        for node in nodes {
            let metrics = node.raft.metrics().borrow().clone();
            if let Some(leader) = metrics.current_leader
                && Some(leader) != exclude
                && metrics.state == openraft::ServerState::Leader
            {
                return leader;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no leader elected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_leader_commits_nothing_the_majority_goes_on_and_healing_gives_one_history() {
    let router = Router::default();
    let nodes = [start(&router, 1).await, start(&router, 2).await, start(&router, 3).await];
    nodes[0]
        .raft
        .initialize(BTreeMap::from([(1, peer(1)), (2, peer(2)), (3, peer(3))]))
        .await
        .unwrap();
    let all: Vec<&TestNode> = nodes.iter().collect();
    let mut net = Net::new(&[("harbour", 0), ("alpine", 60)]);
    let leader = leader_of(&all, None).await;
    let by_id = |id: u64| &nodes[usize::try_from(id - 1).unwrap()];
    for (ctx, txs) in &net.blocks {
        by_id(leader).raft.client_write(request(ctx.timestamp_ms, txs)).await.unwrap();
    }
    let height = net.height;

    // Cut the leader off: it cannot commit; the other two elect a new leader and go on.
    router.isolate(leader);
    let member = net.register_member("harbour", "full"); // advances the harness chain
    let stranded =
        by_id(leader).raft.client_write(request(net.now_ms, &net.blocks.last().unwrap().1));
    let stranded = tokio::time::timeout(Duration::from_millis(1_500), stranded).await;
    assert!(!matches!(stranded, Ok(Ok(_))), "the isolated leader committed a block");
    let rest: Vec<&TestNode> =
        nodes.iter().filter(|n| n.raft.metrics().borrow().id != leader).collect();
    let new_leader = leader_of(&rest, Some(leader)).await;
    let (ctx, txs) = net.blocks.last().unwrap().clone();
    by_id(new_leader).raft.client_write(request(ctx.timestamp_ms, &txs)).await.unwrap();
    assert_eq!(by_id(leader).ledger.height().unwrap(), height, "minority applied nothing");

    // Heal: one history everywhere, including the member registered by the majority.
    router.heal();
    for node in &nodes {
        wait_for_height(&node.ledger, height + 1).await;
    }
    let summaries: Vec<_> = nodes.iter().map(|n| n.ledger.verify_chain().unwrap()).collect();
    assert!(summaries.windows(2).all(|w| w[0] == w[1]), "{summaries:?}");
    assert_eq!(summaries[0].state_hash, net.state_hash());
    let found =
        reciprocity_chaincode::query::member(&by_id(leader).ledger.state(), &member).unwrap();
    assert!(found.is_some());
    for node in &nodes {
        node.raft.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_snapshot_is_refused_and_the_local_chain_stays_intact() {
    use openraft::RaftSnapshotBuilder;
    use openraft::storage::RaftStateMachine;
    let mut net = Net::new(&[("harbour", 0), ("alpine", 60)]);
    for _ in 0..5 {
        net.register_member("harbour", "full");
    }
    let fill =
        |ledger: &Ledger, blocks: &[(reciprocity_chaincode::BlockContext, Vec<pb::SignedTx>)]| {
            for (i, (ctx, txs)) in blocks.iter().enumerate() {
                let candidate =
                    pb::BlockCandidate { timestamp_ms: ctx.timestamp_ms, txs: txs.clone() };
                let raft = reciprocity_node::ledger::RaftPosition { term: 1, index: i as u64 + 1 };
                ledger.apply_candidate(&candidate, raft, &[]).unwrap();
            }
        };
    let source_dir = tempfile::tempdir().unwrap();
    let source = Arc::new(Ledger::open(source_dir.path(), CHAIN_ID).unwrap());
    fill(&source, &net.blocks);
    let (applied, _) = tokio::sync::broadcast::channel(4);
    let mut source_sm = StateMachine::new(Arc::clone(&source), applied.clone()).unwrap();
    let snapshot = source_sm.get_snapshot_builder().await.build_snapshot().await.unwrap();

    let target_dir = tempfile::tempdir().unwrap();
    let target = Arc::new(Ledger::open(target_dir.path(), CHAIN_ID).unwrap());
    fill(&target, &net.blocks[..3]);
    let before = target.verify_chain().unwrap();
    let mut target_sm = StateMachine::new(Arc::clone(&target), applied).unwrap();

    // Change one byte of a stored transaction inside the snapshot.
    let mut data = snapshot.snapshot.into_vec().unwrap();
    let needle = &net.blocks[4].1[0].signature[..8];
    let at =
        data.windows(8).position(|w| w == needle).expect("signature bytes are in the snapshot");
    data[at] ^= 1;
    let result = target_sm
        .install_snapshot(
            &snapshot.meta,
            Box::new(reciprocity_node::consensus::snapshot_bytes::SnapshotBytes::shared(
                std::sync::Arc::new(data),
            )),
        )
        .await;
    assert!(result.is_err(), "a tampered snapshot must be refused");
    assert_eq!(target.verify_chain().unwrap(), before, "the local chain is untouched");

    // The genuine snapshot installs and gives the source's chain.
    let genuine = source_sm.get_snapshot_builder().await.build_snapshot().await.unwrap();
    target_sm.install_snapshot(&genuine.meta, genuine.snapshot).await.unwrap();
    assert_eq!(target.verify_chain().unwrap(), source.verify_chain().unwrap());
}
