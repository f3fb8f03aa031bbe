//! Start-up: opens the ledger, checks the node's key and genesis against the
//! network config, starts the transport (libp2p, or the in-process router
//! for tests) and Raft, initializes the membership of a founding node, and
//! spawns the node's jobs (and the index follower when there is an index).
//!
//! Owns nothing after start; calls every job's module once, to spawn it.
//! Bounds: `limits.stream_blocks_buffered_max` applied blocks buffered for
//! subscribers, `limits.mempool_txs_max` submissions queued for the
//! forwarder; the rest are each job's.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prost::Message;
use reciprocity_chaincode::PublicKey;
use reciprocity_network_config::NetworkConfig;
use reciprocity_proto::v1 as pb;
use reciprocity_sdk::keys::Keypair;
use tokio::sync::broadcast;
use tracing::Instrument;

use super::mempool::Mempool;
use super::node::{Inner, NodeHandle};
use super::snapshot_chunks::SnapshotChunks;
use crate::config::NodeConfig;
use crate::consensus::log_store::LogStore;
use crate::consensus::members::founding_members;
use crate::consensus::state_machine::StateMachine;
use crate::consensus::{Raft, node_id};
use crate::error::{NodeError, Result};
use crate::ledger::Ledger;
use crate::network::allowlist::{self, AllowlistFollower, allowed_peers, trust_roots};
use crate::network::inprocess::Router;
use crate::network::p2p;
use crate::network::raft::{Backoff, PeerNetwork};
use crate::network::{PeerFabric, PeerService, Transport};
use crate::storage::KvStore;

/// How a node reaches its peers.
#[derive(Debug, Clone)]
pub enum Wiring {
    /// libp2p on `p2p_listen` (production).
    P2p,
    /// The in-process router (tests).
    InProcess(Router),
    /// Any network a node can join (a simulator's).
    Fabric(Arc<dyn PeerFabric>),
}

/// Where a node keeps its ledger and Raft log.
#[derive(Debug, Clone)]
pub enum Storage {
    /// RocksDB in `data_dir` (production).
    RocksDb,
    /// A store the caller made (a test's or a simulator's, such as
    /// [`crate::storage::memory::MemoryStore`]); Raft snapshot files still
    /// go under `data_dir`.
    Given(Arc<dyn KvStore>),
}

fn startup(message: impl Into<String>) -> NodeError {
    NodeError::Startup(message.into())
}

impl NodeHandle {
    /// Opens the ledger and starts Raft, the libp2p transport and the
    /// node's tasks. A founding node (one listed in the network config)
    /// initializes the Raft membership from all founding nodes; a node of a
    /// club admitted later waits for the leader to add it.
    pub async fn start(config: NodeConfig) -> Result<NodeHandle> {
        NodeHandle::start_wired(config, Wiring::P2p).await
    }

    /// [`NodeHandle::start`] with a chosen transport.
    pub async fn start_wired(config: NodeConfig, wiring: Wiring) -> Result<NodeHandle> {
        NodeHandle::start_with(config, wiring, Storage::RocksDb).await
    }

    /// [`NodeHandle::start`] with a chosen transport and store.
    pub async fn start_with(
        config: NodeConfig,
        wiring: Wiring,
        storage: Storage,
    ) -> Result<NodeHandle> {
        let network =
            NetworkConfig::load(&config.genesis_file).map_err(|e| startup(e.to_string()))?;
        let key = Keypair::read_file(&config.node_key_file).map_err(|e| startup(e.to_string()))?;
        let node_key: PublicKey = key.public_key();
        let founding = match network.clubs.iter().find(|c| c.id == config.club) {
            Some(club) => {
                if !club.nodes.iter().any(|n| n.node_key.eq_ignore_ascii_case(&node_key.to_hex())) {
                    return Err(startup(format!(
                        "node key {} ({}) is not a node of club {:?} in the network config",
                        node_key,
                        config.node_key_file.display(),
                        config.club
                    )));
                }
                if !config.bootstrap_peers.is_empty() {
                    return Err(startup(format!(
                        "bootstrap_peers is for clubs admitted after genesis; {:?} is a founding club",
                        config.club
                    )));
                }
                true
            }
            None => {
                tracing::info!(
                    club = %config.club,
                    "not a founding club: waiting for the network to add this node after the club's admission"
                );
                false
            }
        };
        let genesis_bytes = std::fs::read(&config.genesis_tx_file).map_err(|e| {
            startup(format!(
                "cannot read genesis transaction {}: {e}",
                config.genesis_tx_file.display()
            ))
        })?;
        let genesis_tx = pb::SignedTx::decode(genesis_bytes.as_slice()).map_err(|e| {
            startup(format!(
                "{} is not a signed transaction: {e}",
                config.genesis_tx_file.display()
            ))
        })?;
        let genesis_payload = pb::TxPayload::decode(genesis_tx.payload.as_slice())
            .map_err(|e| startup(format!("genesis transaction payload does not decode: {e}")))?;
        if genesis_payload != network.genesis_payload() {
            return Err(startup("the genesis transaction does not match the network config"));
        }

        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            startup(format!("cannot create data_dir {}: {e}", config.data_dir.display()))
        })?;
        let ledger = Arc::new(match storage {
            Storage::RocksDb => Ledger::open(&config.data_dir, &network.chain_id)?,
            Storage::Given(store) => Ledger::with_store(
                store,
                &network.chain_id,
                config.data_dir.join(crate::ledger::SNAPSHOT_DIR),
            )?,
        });
        let (applied, _) = broadcast::channel(config.limits.stream_blocks_buffered_max);
        let state_machine = StateMachine::new(Arc::clone(&ledger), applied.clone())
            .map_err(|e| startup(e.to_string()))?;
        let id = node_id(&node_key.0);
        let raft_config =
            Arc::new(config.raft_config(&network.chain_id).map_err(|e| startup(e.to_string()))?);

        let founders = founding_members(&network);
        let fabric: Option<Arc<dyn PeerFabric>> = match &wiring {
            Wiring::InProcess(router) => Some(Arc::new(router.clone())),
            Wiring::Fabric(fabric) => Some(Arc::clone(fabric)),
            Wiring::P2p => None,
        };
        let (transport, p2p_runner) = match &fabric {
            Some(fabric) => (fabric.transport(id), None),
            None => {
                let settings = p2p::P2pSettings {
                    listen: config
                        .p2p_listen
                        .parse()
                        .map_err(|e| startup(format!("p2p_listen {:?}: {e}", config.p2p_listen)))?,
                    chain_id: network.chain_id.clone(),
                    request_bytes_max: config.peer_request_bytes_max(),
                    response_bytes_max: config.peer_request_bytes_max(),
                    request_timeout_ms: config.p2p.request_timeout_ms,
                    idle_connection_timeout_ms: config.p2p.idle_connection_timeout_ms,
                    commands_queued_max: config.p2p.commands_queued_max,
                    inbound_streams_max: config.p2p.inbound_streams_max,
                    backoff_min_ms: config.p2p.backoff_min_ms,
                    backoff_max_ms: config.p2p.backoff_max_ms,
                };
                let allowed =
                    allowed_peers(&ledger, &trust_roots(&config, &founders), &[], false, id)?;
                let (handle, runner) = p2p::start(key.secret_seed(), &settings, allowed)
                    .map_err(|e| startup(e.to_string()))?;
                (Transport::new(handle), Some(runner))
            }
        };
        let backoff =
            Backoff { min_ms: config.p2p.backoff_min_ms, max_ms: config.p2p.backoff_max_ms };
        let raft = Raft::new(
            id,
            raft_config,
            PeerNetwork::new(id, transport.clone(), backoff, config.raft.append_bytes_max),
            LogStore::new(Arc::clone(&ledger))
                .with_replicate_bytes_max(config.raft.append_bytes_max),
            state_machine,
        )
        .await
        .map_err(|e| startup(format!("raft: {e}")))?;
        let mempool = Mempool::new(config.limits.mempool_txs_max);
        let (forwards, forwards_queued) = tokio::sync::mpsc::channel(config.limits.mempool_txs_max);
        let (verifier, verifier_task) = super::verifier::Verifier::new(
            config.limits.admission_batch_txs_max,
            config.limits.mempool_txs_max,
        );
        let snapshot_chunks = SnapshotChunks::new(config.raft.snapshot_bytes_max);
        let handle = NodeHandle {
            inner: Arc::new(Inner {
                config,
                network,
                ledger,
                raft,
                mempool,
                waiters: Mutex::new(BTreeMap::new()),
                applied,
                node_id: id,
                genesis_tx,
                transport,
                tasks: Mutex::new(Vec::new()),
                snapshot_chunks,
                index_progress: Arc::default(),
                metrics: super::metrics::NodeMetrics::new(),
                forwards,
                verifier,
                unresolved: Mutex::new(BTreeMap::new()),
            }),
        };
        let service: Arc<dyn PeerService> = Arc::new(handle.clone());
        if let Some(runner) = p2p_runner {
            handle.track(&runner.spawn(service));
        } else if let Some(fabric) = fabric {
            fabric.serve(id, service);
        }
        let raft = &handle.inner.raft;
        if founding && !raft.is_initialized().await.map_err(|e| startup(format!("raft: {e}")))? {
            match raft.initialize(founders.clone()).await {
                Ok(()) => {}
                // Another founder initialized first and this node has
                // already voted for it (or received its log): the
                // membership comes through replication.
                Err(openraft::error::RaftError::APIError(
                    openraft::error::InitializeError::NotAllowed(not_allowed),
                )) => {
                    tracing::info!(%not_allowed, "the cluster was initialized by another founding node");
                }
                Err(error) => return Err(startup(format!("raft initialize: {error}"))),
            }
        }
        handle.spawn("waiters", handle.clone().resolve_waiters());
        handle.spawn("producer", handle.clone().produce_blocks());
        handle.spawn("forwarder", handle.clone().forward_batches(forwards_queued));
        handle.spawn("verifier", verifier_task);
        handle.spawn("handoff", handle.clone().hand_off_mempool());
        handle.spawn("membership", handle.clone().follow_membership());
        if let Some(url) = handle.inner.config.index_url.clone() {
            let index = &handle.inner.config.index;
            let settings = crate::index::follower::FollowerSettings {
                batch_blocks_max: index.batch_blocks_max,
                backoff_min_ms: index.backoff_min_ms,
                backoff_max_ms: index.backoff_max_ms,
            };
            handle.spawn(
                "index",
                crate::index::follower::connect_and_follow(
                    url,
                    Arc::clone(&handle.inner.ledger),
                    handle.subscribe(),
                    settings,
                    Arc::clone(&handle.inner.index_progress),
                ),
            );
        }
        if let Some(p2p) = handle.inner.transport.p2p() {
            let inner = &handle.inner;
            let follower = AllowlistFollower {
                node_id: inner.node_id,
                ledger: Arc::clone(&inner.ledger),
                raft: inner.raft.clone(),
                roots: trust_roots(&inner.config, &founders),
                p2p: p2p.clone(),
                check_period: Duration::from_millis(inner.config.raft.heartbeat_interval_ms),
            };
            handle.spawn("allowlist", allowlist::follow(follower, handle.subscribe()));
        }
        Ok(handle)
    }

    fn track(&self, task: &tokio::task::JoinHandle<()>) {
        self.inner.tasks.lock().expect("tasks lock").push(task.abort_handle());
    }

    fn spawn(
        &self,
        name: &'static str,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let span = tracing::info_span!("task", name, node = self.inner.node_id);
        self.track(&tokio::spawn(task.instrument(span)));
    }
}
