//! The running node: ledger, Raft, mempool, the block producer, commit
//! waiters, forwarding to the leader and the membership that follows the
//! ledger, behind one cloneable handle used by the APIs.
//!
//! Any node accepts a submission: it admits it against its own state, then
//! queues it in its mempool when it leads, or forwards it to the leader. The
//! submitter waits on the node it called, which resolves the wait when the
//! block holding the transaction is applied there. A node that stops leading
//! hands what is left in its mempool to the new leader.
//!
//! The leader keeps the Raft membership equal to the nodes of the clubs
//! active on the ledger: a newly admitted club's node joins as a learner and
//! becomes a voter once caught up; a suspended or removed club's node leaves
//! the voters. Every node keeps its transport's allowlist equal to the same
//! set, so a club that loses its standing is cut off at once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use openraft::ServerState;
use prost::Message;
use reciprocity_chaincode::{PublicKey, TxId, ValidationCode, chain_position};
use reciprocity_network_config::NetworkConfig;
use reciprocity_proto::v1 as pb;
use reciprocity_sdk::keys::Keypair;
use tokio::sync::{broadcast, oneshot};
use tracing::Instrument;

use super::admission::{self, AdmissionContext, Refusal};
use super::mempool::{Mempool, PendingTx, QueueRefusal};
use crate::config::NodeConfig;
use crate::consensus::log_store::LogStore;
use crate::consensus::state_machine::StateMachine;
use crate::consensus::{BlockRequest, PeerNode, Raft, node_id};
use crate::error::{NodeError, Result};
use crate::ledger::{AppliedBlock, Ledger, TxLocation};
use crate::network::inprocess::Router;
use crate::network::p2p::{self, P2pHandle};
use crate::network::raft::{Backoff, PeerNetwork};
use crate::network::{PeerRequest, PeerResponse, PeerService, Transport, protocol};

/// The wall clock in Unix ms (the leader's block stamp, admission's "now",
/// the front-desk check's "now" and the creation time of transactions the
/// REST API signs).
///
/// `RECIP_TEST_CLOCK_OFFSET_MS` (read once per process) moves this clock
/// forward: a test hook for calendar rules (monthly caps) with real
/// processes. Every node of a network must run with the same offset; never
/// set it in production.
pub fn now_ms() -> u64 {
    static OFFSET_MS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let offset_ms = *OFFSET_MS.get_or_init(|| {
        std::env::var("RECIP_TEST_CLOCK_OFFSET_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0)
    });
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
        .saturating_add(offset_ms)
}

/// How a submission ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// In a block: where, and with which code.
    Committed(TxLocation),
    /// Admitted; the caller did not wait.
    Accepted,
    /// Admitted, not committed within the deadline (it may still be).
    TimedOut,
}

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

/// How a node reaches its peers.
#[derive(Debug, Clone)]
pub enum Wiring {
    /// libp2p on `p2p_listen` (production).
    P2p,
    /// The in-process router (tests).
    InProcess(Router),
}

type Waiters = Mutex<BTreeMap<TxId, Vec<oneshot::Sender<TxLocation>>>>;

struct Inner {
    config: NodeConfig,
    network: NetworkConfig,
    ledger: Arc<Ledger>,
    raft: Raft,
    mempool: Mempool,
    waiters: Waiters,
    applied: broadcast::Sender<Arc<AppliedBlock>>,
    node_id: u64,
    genesis_tx: pb::SignedTx,
    transport: Transport,
    /// Tasks to stop on shutdown.
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
    /// The snapshot being received: its id and the end of what arrived.
    snapshot_receiving: Mutex<Option<(String, u64)>>,
    /// Prometheus metrics.
    metrics: super::metrics::NodeMetrics,
    /// How far the index got (when the node has an index).
    index_progress: Arc<crate::index::IndexProgress>,
    /// Submissions for the leader, batched by the forwarder task.
    forwards: tokio::sync::mpsc::Sender<Forwarding>,
    /// Admission's batched signature checks.
    verifier: super::verifier::Verifier,
    /// Transactions admitted through this node whose block it has not
    /// applied yet, with their expiry (Unix ms): at most
    /// `limits.mempool_txs_max` (a full set only means "not settled").
    unresolved: Mutex<BTreeMap<TxId, u64>>,
}

/// A leader's verdict on one forwarded transaction, or why it could not be asked.
type ForwardVerdict = std::result::Result<std::result::Result<(), Refusal>, String>;

/// One admitted transaction waiting to be forwarded to the leader.
struct Forwarding {
    leader: u64,
    node: PeerNode,
    tx: Vec<u8>,
    verdict: oneshot::Sender<ForwardVerdict>,
}

/// The running node.
#[derive(Clone)]
pub struct NodeHandle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle")
            .field("node_id", &self.inner.node_id)
            .field("club", &self.inner.config.club)
            .finish()
    }
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
        let ledger = Arc::new(Ledger::open(&config.data_dir, &network.chain_id)?);
        let (applied, _) = broadcast::channel(config.limits.stream_blocks_buffered_max);
        let state_machine = StateMachine::new(Arc::clone(&ledger), applied.clone())
            .map_err(|e| startup(e.to_string()))?;
        let id = node_id(&node_key.0);
        let raft_config =
            Arc::new(config.raft_config(&network.chain_id).map_err(|e| startup(e.to_string()))?);

        let founders = founding_members(&network);
        let router = match &wiring {
            Wiring::InProcess(router) => Some(router.clone()),
            Wiring::P2p => None,
        };
        let (transport, p2p_runner) = match wiring {
            Wiring::InProcess(router) => (Transport::InProcess(router.client(id)), None),
            Wiring::P2p => {
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
                (Transport::P2p(handle), Some(runner))
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
                snapshot_receiving: Mutex::new(None),
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
        } else if let Some(router) = router {
            router.register(id, service);
        }
        let raft = &handle.inner.raft;
        if founding && !raft.is_initialized().await.map_err(|e| startup(format!("raft: {e}")))? {
            raft.initialize(founders.clone())
                .await
                .map_err(|e| startup(format!("raft initialize: {e}")))?;
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
        if let Transport::P2p(p2p) = &handle.inner.transport {
            let roots = trust_roots(&handle.inner.config, &founders);
            handle.spawn("allowlist", handle.clone().follow_allowlist(p2p.clone(), roots));
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

    /// Stops Raft and the node's tasks (the ledger closes when the last handle drops).
    pub async fn shutdown(&self) {
        if let Err(error) = self.inner.raft.shutdown().await {
            tracing::warn!(%error, "raft did not shut down cleanly");
        }
        for task in self.inner.tasks.lock().expect("tasks lock").drain(..) {
            task.abort();
        }
    }

    /// This node's Raft id.
    pub fn node_id(&self) -> u64 {
        self.inner.node_id
    }

    /// The ledger.
    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.inner.ledger
    }

    /// The Raft handle.
    pub fn raft(&self) -> &Raft {
        &self.inner.raft
    }

    /// The configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.inner.config
    }

    /// The network configuration.
    pub fn network(&self) -> &NetworkConfig {
        &self.inner.network
    }

    /// The node's metrics (the HTTP layer records request latencies in them).
    pub fn metrics(&self) -> &super::metrics::NodeMetrics {
        &self.inner.metrics
    }

    /// The Prometheus text exposition of this node's metrics.
    pub fn render_metrics(&self) -> Result<String> {
        Ok(self.inner.metrics.render(&self.status()?))
    }

    /// The index database, once connected (none without `index_url`).
    pub fn index_store(&self) -> Option<crate::index::IndexStore> {
        self.inner.index_progress.connected.get().cloned()
    }

    /// Applied blocks as they come.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<AppliedBlock>> {
        self.inner.applied.subscribe()
    }

    /// Whether `id` waits in the mempool.
    pub fn is_pending(&self, id: &TxId) -> bool {
        self.inner.mempool.contains(id)
    }

    /// Admits a transaction and, when `wait` is set, waits for its commit up
    /// to `timeout`.
    #[tracing::instrument(level = "debug", skip(self, tx), fields(tx_id))]
    pub async fn submit(
        &self,
        tx: pb::SignedTx,
        wait: bool,
        timeout: Duration,
    ) -> Result<(TxId, Submitted), Refusal> {
        let started = std::time::Instant::now();
        let result = self.submit_counted(tx, wait, timeout).await;
        let metrics = &self.inner.metrics;
        match &result {
            Ok((_, Submitted::Committed(_))) => {
                metrics.submission("committed");
                metrics.submit_commit_seconds.observe(started.elapsed().as_secs_f64());
            }
            Ok((_, Submitted::Accepted)) => metrics.submission("accepted"),
            Ok((_, Submitted::TimedOut)) => metrics.submission("timed_out"),
            Err(Refusal::Busy { .. }) => metrics.submission("busy"),
            Err(Refusal::Unavailable { .. }) => metrics.submission("unavailable"),
            Err(_) => metrics.submission("refused"),
        }
        result
    }

    async fn submit_counted(
        &self,
        tx: pb::SignedTx,
        wait: bool,
        timeout: Duration,
    ) -> Result<(TxId, Submitted), Refusal> {
        let inner = &self.inner;
        // The signature is checked below, batched with concurrent submissions.
        let ctx = self.admission_context(false);
        let tx_id = {
            let state = inner.ledger.state();
            admission::admit(
                &tx,
                &state,
                |id| {
                    // Ids used on the ledger are checked by `admit` against the
                    // chaincode's record; here only what waits in the mempool.
                    inner.mempool.contains(id)
                },
                &ctx,
            )?
        };
        let (tx, signature_valid) = inner.verifier.verify(tx).await;
        if !signature_valid {
            return Err(admission::bad_signature());
        }
        tracing::Span::current().record("tx_id", tracing::field::display(tx_id));
        // The waiter is registered before the transaction can reach a block.
        let receiver = wait.then(|| {
            let (sender, receiver) = oneshot::channel();
            inner.waiters.lock().expect("waiters lock").entry(tx_id).or_default().push(sender);
            receiver
        });
        // Tracked before it can reach a block, like the waiter.
        let expires_at_ms =
            pb::TxPayload::decode(tx.payload.as_slice()).map_or(u64::MAX, |p| p.expires_at_ms);
        self.track_unresolved(tx_id, expires_at_ms);
        if let Err(refusal) = self.enqueue(tx_id, tx).await {
            drop(receiver);
            self.drop_closed_waiters(&tx_id);
            self.inner.unresolved.lock().expect("unresolved lock").remove(&tx_id);
            return Err(refusal);
        }
        let Some(receiver) = receiver else {
            return Ok((tx_id, Submitted::Accepted));
        };
        // Committed and applied here before the waiter could see the block
        // (a forward retried after its answer was lost).
        if let Ok(Some(location)) = inner.ledger.tx_location(&tx_id) {
            drop(receiver);
            self.drop_closed_waiters(&tx_id);
            return Ok((tx_id, Submitted::Committed(location)));
        }
        match tokio::time::timeout(timeout, receiver).await {
            Ok(Ok(location)) => Ok((tx_id, Submitted::Committed(location))),
            _ => {
                // The receiver is gone: forget this waiter (others for the same id stay).
                self.drop_closed_waiters(&tx_id);
                Ok((tx_id, Submitted::TimedOut))
            }
        }
    }

    /// Remembers a transaction admitted here until its block is applied
    /// here (or it expires).
    fn track_unresolved(&self, tx_id: TxId, expires_at_ms: u64) {
        let mut unresolved = self.inner.unresolved.lock().expect("unresolved lock");
        if unresolved.len() < self.inner.config.limits.mempool_txs_max {
            unresolved.insert(tx_id, expires_at_ms);
        }
    }

    /// Whether this node has nothing in flight: everything in its Raft log
    /// is applied, its mempool is empty, and every transaction admitted
    /// through it is applied here or expired. Only then does its state
    /// foresee how the ledger will judge the next transaction (other nodes'
    /// submissions aside).
    pub fn is_settled(&self) -> bool {
        let caught_up = {
            let metrics = self.inner.raft.metrics();
            let metrics = metrics.borrow();
            metrics.last_log_index.unwrap_or(0)
                <= metrics.last_applied.as_ref().map_or(0, |log_id| log_id.index)
        };
        if !caught_up || !self.inner.mempool.is_empty() {
            return false;
        }
        let now = now_ms();
        let mut unresolved = self.inner.unresolved.lock().expect("unresolved lock");
        unresolved.retain(|_, expires_at_ms| *expires_at_ms >= now);
        unresolved.is_empty()
    }

    /// Removes the waiters of `id` whose submitter stopped waiting.
    fn drop_closed_waiters(&self, id: &TxId) {
        let mut waiters = self.inner.waiters.lock().expect("waiters lock");
        if let Some(list) = waiters.get_mut(id) {
            list.retain(|sender| !sender.is_closed());
            if list.is_empty() {
                waiters.remove(id);
            }
        }
    }

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
        let p2p = match &self.inner.transport {
            Transport::P2p(p2p) => Some(p2p),
            Transport::InProcess(_) => None,
        };
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

    fn is_leader(&self) -> bool {
        self.inner.raft.metrics().borrow().current_leader == Some(self.inner.node_id)
    }

    /// The current leader (other than this node) and how to reach it.
    fn leader(&self) -> Leader {
        // Read in place: this runs on every submission.
        let receiver = self.inner.raft.metrics();
        let metrics = receiver.borrow();
        match metrics.current_leader {
            Some(id) if id == self.inner.node_id => {
                let window_ms = self.inner.config.raft.election_timeout_max_ms;
                match metrics.millis_since_quorum_ack {
                    Some(ms) if ms > window_ms => Leader::Cut { ms },
                    _ => Leader::Me,
                }
            }
            Some(id) => match metrics.membership_config.membership().get_node(&id) {
                Some(node) => Leader::Other(id, node.clone()),
                None => Leader::Unknown,
            },
            None => Leader::Unknown,
        }
    }

    /// What admission checks against, now (`check_signature`: false where
    /// the caller checks signatures in batches, see
    /// [`AdmissionContext::check_signature`]).
    fn admission_context(&self, check_signature: bool) -> AdmissionContext<'_> {
        AdmissionContext {
            chain_id: &self.inner.network.chain_id,
            now_ms: now_ms(),
            tx_bytes_max: self.inner.config.limits.tx_bytes_max,
            check_signature,
        }
    }

    /// Puts an admitted transaction in this node's mempool.
    fn queue_locally(&self, tx_id: TxId, tx: pb::SignedTx) -> Result<(), Refusal> {
        let bytes = tx.encoded_len();
        self.inner.mempool.push(PendingTx { tx_id, tx, bytes }).map_err(|refusal| match refusal {
            QueueRefusal::Full => Refusal::Busy { max: self.inner.config.limits.mempool_txs_max },
            QueueRefusal::Duplicate => Refusal::Invalid {
                code: ValidationCode::DuplicateTx,
                message: format!("transaction {tx_id} is already waiting"),
            },
        })
    }

    /// Queues an admitted transaction: in the mempool when this node leads,
    /// else on the leader's, through the transport.
    async fn enqueue(&self, tx_id: TxId, tx: pb::SignedTx) -> Result<(), Refusal> {
        let inner = &self.inner;
        let deadline = tokio::time::Instant::now()
            + Duration::from_millis(inner.config.p2p.forward_timeout_ms);
        let mut tx = Some(tx);
        loop {
            let last_problem = match self.leader() {
                Leader::Me => return self.queue_locally(tx_id, tx.take().expect("queued once")),
                Leader::Cut { ms } => format!(
                    "this node leads but no majority has acknowledged it for {ms} ms (a minority partition)"
                ),
                Leader::Unknown => {
                    "no leader is known (an election is under way, or this node is cut off)"
                        .to_owned()
                }
                Leader::Other(leader, node) => {
                    let bytes = tx.as_ref().expect("not queued yet").encode_to_vec();
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    let forwarded =
                        tokio::time::timeout(left, self.forward_batched(leader, node, bytes))
                            .await
                            .unwrap_or_else(
                                |_| Err("the leader did not answer in time".to_owned()),
                            );
                    match forwarded {
                        Ok(verdict) => {
                            return match verdict {
                                // Already waiting on the leader or already committed
                                // (a retry after a lost answer): the submitter's wait
                                // resolves from this node's ledger either way.
                                Err(Refusal::Invalid {
                                    code: ValidationCode::DuplicateTx, ..
                                }) => Ok(()),
                                verdict => verdict,
                            };
                        }
                        Err(problem) => problem,
                    }
                }
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(Refusal::Unavailable { reason: last_problem });
            }
            tokio::time::sleep(Duration::from_millis(inner.config.raft.heartbeat_interval_ms))
                .await;
        }
    }

    /// Forwards one admitted transaction through the forwarder task, which
    /// sends it with whatever else waits for the same leader.
    async fn forward_batched(&self, leader: u64, node: PeerNode, tx: Vec<u8>) -> ForwardVerdict {
        let (verdict, answer) = oneshot::channel();
        let forwarding = Forwarding { leader, node, tx, verdict };
        if self.inner.forwards.send(forwarding).await.is_err() {
            return Err("this node is shutting down".to_owned());
        }
        answer.await.unwrap_or_else(|_| Err("the forwarder stopped".to_owned()))
    }

    /// The forwarder: sends queued submissions to the leader in batches (what
    /// queued while `forwards_in_flight_max` requests were out, up to a
    /// block's bounds, one leader per request) and hands each submitter its
    /// verdict.
    async fn forward_batches(self, mut queued: tokio::sync::mpsc::Receiver<Forwarding>) {
        let limits = self.inner.config.limits.clone();
        let in_flight =
            Arc::new(tokio::sync::Semaphore::new(self.inner.config.p2p.forwards_in_flight_max));
        let mut carried: Option<Forwarding> = None;
        loop {
            let first = match carried.take() {
                Some(first) => first,
                None => match queued.recv().await {
                    Some(first) => first,
                    None => return,
                },
            };
            let permit = Arc::clone(&in_flight)
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let mut bytes = first.tx.len();
            let mut batch = vec![first];
            while batch.len() < limits.block_txs_max {
                let Ok(next) = queued.try_recv() else { break };
                if next.leader != batch[0].leader || bytes + next.tx.len() > limits.block_bytes_max
                {
                    carried = Some(next);
                    break;
                }
                bytes += next.tx.len();
                batch.push(next);
            }
            let node = self.clone();
            let span = tracing::debug_span!("forward", txs = batch.len());
            tokio::spawn(
                async move {
                    let _permit = permit;
                    let (leader, peer) = (batch[0].leader, batch[0].node.clone());
                    let mut verdicts = Vec::with_capacity(batch.len());
                    let mut txs = Vec::with_capacity(batch.len());
                    for forwarding in batch {
                        txs.push(forwarding.tx);
                        verdicts.push(forwarding.verdict);
                    }
                    let sent = txs.len();
                    match node.forward(leader, &peer, txs).await {
                        Ok(answers) if answers.len() == sent => {
                            for (verdict, answer) in verdicts.into_iter().zip(answers) {
                                let _ = verdict.send(Ok(answer));
                            }
                        }
                        Ok(_) => {
                            for verdict in verdicts {
                                let _ = verdict.send(Err(
                                    "the leader answered for a different number of transactions"
                                        .to_owned(),
                                ));
                            }
                        }
                        Err(problem) => {
                            for verdict in verdicts {
                                let _ = verdict.send(Err(problem.clone()));
                            }
                        }
                    }
                }
                .instrument(span),
            );
        }
    }

    /// Sends admitted transactions to the leader's mempool; per transaction
    /// verdicts, or why the leader could not be asked.
    async fn forward(
        &self,
        leader: u64,
        node: &PeerNode,
        txs: Vec<Vec<u8>>,
    ) -> std::result::Result<Vec<std::result::Result<(), Refusal>>, String> {
        let request =
            PeerRequest::Forward { txs: txs.into_iter().map(serde_bytes::ByteBuf::from).collect() };
        let timeout = Duration::from_millis(self.inner.config.p2p.forward_timeout_ms);
        match self.inner.transport.call(leader, node, request, timeout).await {
            Ok(PeerResponse::Forwarded(verdicts)) => Ok(verdicts),
            Ok(PeerResponse::Declined(reason)) => Err(format!("the leader declined: {reason}")),
            Ok(_) => Err("the leader answered with something else".to_owned()),
            Err(error) => Err(error.to_string()),
        }
    }

    /// On the leader: admits forwarded transactions into the mempool (at
    /// most `block_txs_max` per request; signature checks off the async
    /// workers).
    async fn accept_forwarded(&self, txs: Vec<serde_bytes::ByteBuf>) -> PeerResponse {
        // More than a block's worth: the rest are "busy" and come again.
        let txs_max = self.inner.config.limits.block_txs_max;
        let mut txs = txs;
        let overflow = txs.len().saturating_sub(txs_max);
        txs.truncate(txs_max);
        let node = self.clone();
        match tokio::task::spawn_blocking(move || node.admit_forwarded(txs)).await {
            Ok(PeerResponse::Forwarded(mut verdicts)) => {
                let max = self.inner.config.limits.mempool_txs_max;
                verdicts.extend((0..overflow).map(|_| Err(Refusal::Busy { max })));
                PeerResponse::Forwarded(verdicts)
            }
            Ok(response) => response,
            Err(error) => PeerResponse::Declined(format!("admission failed: {error}")),
        }
    }

    fn admit_forwarded(&self, txs: Vec<serde_bytes::ByteBuf>) -> PeerResponse {
        match self.leader() {
            Leader::Me => {}
            Leader::Cut { ms } => {
                return PeerResponse::Declined(format!(
                    "no majority has acknowledged this leader for {ms} ms"
                ));
            }
            Leader::Other(..) | Leader::Unknown => {
                return PeerResponse::Declined("this node is not the leader".to_owned());
            }
        }
        let inner = &self.inner;
        let tx_bytes_max = inner.config.limits.tx_bytes_max;
        let decoded: Vec<std::result::Result<pb::SignedTx, Refusal>> = txs
            .into_iter()
            .map(|bytes| {
                if bytes.len() > tx_bytes_max {
                    return Err(Refusal::TooLarge { bytes: bytes.len(), max: tx_bytes_max });
                }
                pb::SignedTx::decode(bytes.as_slice()).map_err(|e| Refusal::Invalid {
                    code: ValidationCode::MalformedPayload,
                    message: format!("forwarded transaction does not decode: {e}"),
                })
            })
            .collect();
        // The forwarding peer checked the signatures; checked again here, as
        // one batch, so that a faulty peer cannot queue a forged copy of a
        // payload ahead of its honest one.
        let mut signatures_valid =
            super::verifier::signatures_valid(decoded.iter().flatten()).into_iter();
        let ctx = self.admission_context(false);
        let state = inner.ledger.state();
        let verdicts = decoded
            .into_iter()
            .map(|decoded| {
                let tx = decoded?;
                if !signatures_valid.next().expect("one verdict per decoded transaction") {
                    return Err(admission::bad_signature());
                }
                let tx_id = admission::admit(&tx, &state, |id| inner.mempool.contains(id), &ctx)?;
                self.queue_locally(tx_id, tx)
            })
            .collect();
        PeerResponse::Forwarded(verdicts)
    }

    /// Resolves commit waiters from applied blocks.
    async fn resolve_waiters(self) {
        let mut blocks = self.subscribe();
        loop {
            match blocks.recv().await {
                Ok(block) => {
                    let header = block.block.header.as_ref().expect("applied block has a header");
                    let mut ids = Vec::with_capacity(block.block.txs.len());
                    let mut waiters = self.inner.waiters.lock().expect("waiters lock");
                    for (position, (tx, result)) in
                        block.block.txs.iter().zip(&block.block.results).enumerate()
                    {
                        let id = reciprocity_chaincode::tx_id(&tx.payload);
                        ids.push(id);
                        if result.code == ValidationCode::DuplicateTx.number() {
                            continue;
                        }
                        let location = TxLocation {
                            height: header.height,
                            position: u32::try_from(position).expect("block fits u32"),
                            code: result.code,
                        };
                        for waiter in waiters.remove(&id).unwrap_or_default() {
                            let _ = waiter.send(location);
                        }
                    }
                    drop(waiters);
                    {
                        let mut unresolved = self.inner.unresolved.lock().expect("unresolved lock");
                        if !unresolved.is_empty() {
                            for id in &ids {
                                unresolved.remove(id);
                            }
                        }
                    }
                    self.inner.metrics.blocks_applied.inc();
                    self.inner.metrics.txs_applied.inc_by(ids.len() as u64);
                    self.inner.mempool.forget(ids);
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "waiter task lagged; resolving from the ledger");
                    let waiting: Vec<TxId> =
                        self.inner.waiters.lock().expect("waiters lock").keys().copied().collect();
                    let mut found = Vec::new();
                    for id in waiting {
                        if let Ok(Some(location)) = self.inner.ledger.tx_location(&id) {
                            found.push((id, location));
                        }
                    }
                    let mut waiters = self.inner.waiters.lock().expect("waiters lock");
                    for (id, location) in &found {
                        for waiter in waiters.remove(id).unwrap_or_default() {
                            let _ = waiter.send(*location);
                        }
                    }
                    drop(waiters);
                    let ledger = Arc::clone(&self.inner.ledger);
                    self.inner
                        .mempool
                        .forget_where(|id| ledger.tx_location(id).ok().flatten().is_some());
                    self.inner
                        .unresolved
                        .lock()
                        .expect("unresolved lock")
                        .retain(|id, _| ledger.tx_location(id).ok().flatten().is_none());
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// On the leader: commits the genesis block if the chain is empty, then
    /// cuts block candidates from the mempool and proposes them through Raft.
    async fn produce_blocks(self) {
        let inner = &self.inner;
        let limits = inner.config.limits.clone();
        let in_flight = Arc::new(tokio::sync::Semaphore::new(limits.blocks_in_flight_max));
        loop {
            if !self.is_leader() {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            if inner.ledger.height().unwrap_or(0) == 0 {
                // A restarted or new leader may not have applied what is
                // committed yet: catch up first, then look again.
                if inner.raft.ensure_linearizable().await.is_err()
                    || inner.ledger.height().unwrap_or(0) > 0
                {
                    continue;
                }
                let candidate = pb::BlockCandidate {
                    timestamp_ms: inner.network.genesis_time_ms,
                    txs: vec![inner.genesis_tx.clone()],
                };
                match inner
                    .raft
                    .client_write(BlockRequest { candidate: candidate.encode_to_vec() })
                    .await
                {
                    Ok(response) => {
                        tracing::info!(height = ?response.data.height, codes = ?response.data.codes, "genesis block committed")
                    }
                    Err(error) => {
                        tracing::warn!(%error, "genesis block not committed; retrying");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
                continue;
            }
            inner.mempool.wait_ready().await;
            // Pipelining: up to `blocks_in_flight_max` blocks replicate and
            // apply while the next is cut. The mempool keeps a block's ids
            // until it is applied, so no transaction enters two blocks.
            let permit = Arc::clone(&in_flight)
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            // With nothing else in flight a block goes at once (latency);
            // behind other blocks it waits `block_wait_ms` to fill (fewer,
            // larger blocks under load).
            let others_in_flight = in_flight.available_permits() + 1 < limits.blocks_in_flight_max;
            if others_in_flight
                && limits.block_wait_ms > 0
                && inner.mempool.len() < limits.block_txs_max
            {
                tokio::time::sleep(Duration::from_millis(limits.block_wait_ms)).await;
            }
            if !self.is_leader() {
                continue;
            }
            let batch = inner.mempool.take_batch(limits.block_txs_max, limits.block_bytes_max);
            if batch.is_empty() {
                continue;
            }
            // The ledger clamps a block's time to its predecessor's, so a
            // block cut before the previous one applied stays in order.
            let last_time_ms =
                chain_position(&inner.ledger.state()).map(|p| p.time_ms).unwrap_or(0);
            let candidate = pb::BlockCandidate {
                timestamp_ms: now_ms().max(last_time_ms),
                txs: batch.iter().map(|p| p.tx.clone()).collect(),
            };
            let node = self.clone();
            let span = tracing::info_span!("propose_block", txs = batch.len());
            tokio::spawn(
                async move {
                    let _permit = permit;
                    let result = node
                        .inner
                        .raft
                        .client_write(BlockRequest { candidate: candidate.encode_to_vec() })
                        .await;
                    if let Err(error) = result {
                        tracing::warn!(%error, txs = batch.len(), "block not committed; requeueing its transactions");
                        node.inner.mempool.requeue_front(batch);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                .instrument(span),
            );
        }
    }
}

/// Who leads, from this node's point of view.
enum Leader {
    /// This node, acknowledged by a majority recently.
    Me,
    /// This node, but no majority has acknowledged it for `ms` (a minority partition).
    Cut {
        /// Time since the last acknowledgement by a majority.
        ms: u64,
    },
    /// Another node.
    Other(u64, PeerNode),
    /// Nobody known.
    Unknown,
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

/// The founding nodes, as Raft members.
fn founding_members(network: &NetworkConfig) -> BTreeMap<u64, PeerNode> {
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
fn active_members(
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

/// Whom a node trusts before its ledger knows its own club.
#[derive(Debug, Clone)]
enum TrustRoots {
    /// The founding nodes (a founding club's node, or no bootstrap peers given).
    Founders(BTreeMap<u64, PeerNode>),
    /// A joining node's `bootstrap_peers`, until the network makes it a voter.
    Bootstrap { founders: BTreeMap<u64, PeerNode>, peers: BTreeSet<libp2p::PeerId> },
}

fn trust_roots(config: &NodeConfig, founders: &BTreeMap<u64, PeerNode>) -> TrustRoots {
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
fn allowed_peers(
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

impl PeerService for NodeHandle {
    fn serve(&self, request: PeerRequest) -> BoxFuture<'static, PeerResponse> {
        let node = self.clone();
        Box::pin(async move {
            match request {
                PeerRequest::Forward { txs } => node.accept_forwarded(txs).await,
                PeerRequest::InstallSnapshot(rpc) => match node.check_snapshot_chunk(&rpc) {
                    Ok(()) => {
                        protocol::serve_raft(&node.inner.raft, PeerRequest::InstallSnapshot(rpc))
                            .await
                    }
                    Err(problem) => {
                        tracing::warn!(%problem, "refused a snapshot chunk");
                        PeerResponse::Declined(problem)
                    }
                },
                raft_rpc => protocol::serve_raft(&node.inner.raft, raft_rpc).await,
            }
        })
    }
}

impl NodeHandle {
    /// Bounds what a snapshot transfer may make this node hold: chunks of
    /// one snapshot arrive in order (a chunk may be sent again), and the
    /// whole stays within `snapshot_bytes_max`.
    fn check_snapshot_chunk(
        &self,
        rpc: &openraft::raft::InstallSnapshotRequest<crate::consensus::TypeConfig>,
    ) -> std::result::Result<(), String> {
        let max = self.inner.config.raft.snapshot_bytes_max;
        let end = rpc.offset.saturating_add(rpc.data.len() as u64);
        if end > max {
            return Err(format!(
                "snapshot chunk at offset {} goes past snapshot_bytes_max = {max}",
                rpc.offset
            ));
        }
        let id = &rpc.meta.snapshot_id;
        let mut receiving = self.inner.snapshot_receiving.lock().expect("snapshot lock");
        let next = match receiving.as_ref() {
            _ if rpc.offset == 0 => 0,
            Some((current, next)) if current == id => *next,
            _ => {
                return Err(format!(
                    "snapshot {id}: chunk at offset {} without its start",
                    rpc.offset
                ));
            }
        };
        if rpc.offset > next {
            return Err(format!(
                "snapshot {id}: chunk at offset {} leaves a gap after {next}",
                rpc.offset
            ));
        }
        *receiving = if rpc.done { None } else { Some((id.clone(), next.max(end))) };
        Ok(())
    }

    /// While not leading: hands what waits in the mempool (queued while this
    /// node led) to the new leader.
    async fn hand_off_mempool(self) {
        let inner = &self.inner;
        let pause = Duration::from_millis(inner.config.raft.heartbeat_interval_ms);
        loop {
            tokio::time::sleep(pause).await;
            if inner.mempool.is_empty() {
                continue;
            }
            let Leader::Other(leader, node) = self.leader() else { continue };
            let batch = inner
                .mempool
                .take_batch(inner.config.limits.block_txs_max, inner.config.limits.block_bytes_max);
            let txs = batch.iter().map(|p| p.tx.encode_to_vec()).collect();
            match self.forward(leader, &node, txs).await {
                Ok(verdicts) if verdicts.len() != batch.len() => {
                    tracing::warn!(
                        sent = batch.len(),
                        answered = verdicts.len(),
                        "the leader answered for a different number of transactions; will retry"
                    );
                    inner.mempool.requeue_front(batch);
                }
                Ok(verdicts) => {
                    for (pending, verdict) in batch.iter().zip(&verdicts) {
                        if let Err(refusal) = verdict
                            && !matches!(refusal, Refusal::Busy { .. })
                        {
                            tracing::warn!(tx_id = %pending.tx_id, %refusal, "the leader refused a handed-over transaction");
                        }
                    }
                    let refused = verdicts.iter().filter(|v| v.is_err()).count();
                    tracing::info!(
                        txs = batch.len(),
                        refused,
                        leader,
                        "handed waiting transactions to the new leader"
                    );
                    let retry: Vec<PendingTx> = batch
                        .into_iter()
                        .zip(verdicts)
                        .filter(|(_, v)| matches!(v, Err(Refusal::Busy { .. })))
                        .map(|(p, _)| p)
                        .collect();
                    inner.mempool.requeue_front(retry);
                }
                Err(problem) => {
                    tracing::warn!(%problem, txs = batch.len(), "could not hand waiting transactions to the leader; will retry");
                    inner.mempool.requeue_front(batch);
                }
            }
        }
    }

    /// On the leader: keeps the Raft membership equal to the nodes of the
    /// clubs active on the ledger. New nodes join as learners and become
    /// voters once caught up; nodes of clubs no longer active leave. Runs
    /// after every block that changes the clubs and every
    /// `membership_check_ms`, so a change cut
    /// short by a leader change (even a joint configuration left by a crash)
    /// is finished by the next leader.
    async fn follow_membership(self) {
        let inner = &self.inner;
        let mut blocks = self.subscribe();
        let period = Duration::from_millis(inner.config.raft.membership_check_ms);
        let founders = founding_members(&inner.network);
        loop {
            if !next_check(&mut blocks, period).await {
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

    /// Keeps the transport's allowlist equal to the active clubs' nodes
    /// (plus the current Raft members), checked after every block that
    /// changes the clubs and every heartbeat interval (a snapshot install replaces the state without
    /// announcing blocks; membership entries are not blocks).
    async fn follow_allowlist(self, p2p: P2pHandle, roots: TrustRoots) {
        let inner = &self.inner;
        let mut blocks = self.subscribe();
        let period = Duration::from_millis(inner.config.raft.heartbeat_interval_ms);
        let mut current: Option<BTreeSet<libp2p::PeerId>> = None;
        let mut kept: Option<BTreeMap<libp2p::PeerId, libp2p::Multiaddr>> = None;
        loop {
            let (members, me_is_voter, voters) = {
                let metrics = inner.raft.metrics().borrow().clone();
                let membership = metrics.membership_config.membership();
                let members: Vec<(u64, PeerNode)> =
                    membership.nodes().map(|(id, node)| (*id, node.clone())).collect();
                let voters: BTreeSet<u64> = membership.voter_ids().collect();
                (members, voters.contains(&inner.node_id), voters)
            };
            // Every voter keeps a connection to every other voter, so that
            // an election or a failover never waits for a dial. Learners
            // keep none: the leader reaches them, and a voter need not hold
            // a connection from each of them.
            let keep: BTreeMap<libp2p::PeerId, libp2p::Multiaddr> = members
                .iter()
                .filter(|(id, _)| me_is_voter && *id != inner.node_id && voters.contains(id))
                .filter_map(|(_, node)| {
                    Some((p2p::peer_id_of(&node.node_key)?, node.address.parse().ok()?))
                })
                .collect();
            if kept.as_ref() != Some(&keep) {
                p2p.keep_connected(keep.clone()).await;
                kept = Some(keep);
            }
            match allowed_peers(&inner.ledger, &roots, &members, me_is_voter, inner.node_id) {
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
            if !next_check(&mut blocks, period).await {
                return;
            }
        }
    }
}

/// Whether an applied block may have changed which clubs (and so which
/// nodes) are active: its genesis or a club admitted, suspended,
/// reinstated or removed.
fn changes_clubs(block: &AppliedBlock) -> bool {
    let is_club_event =
        |e: &pb::Event| e.kind.starts_with("club.") || e.kind.starts_with("genesis.");
    block.block.results.iter().flat_map(|r| &r.events).any(is_club_event)
        || block.block.block_events.iter().any(is_club_event)
}

/// Waits until the next membership or allowlist check is due: `period` has
/// passed, or a block that changes the clubs was applied (other blocks do
/// not wake the check: under load they come hundreds per second). False
/// once the node is stopping.
async fn next_check(blocks: &mut broadcast::Receiver<Arc<AppliedBlock>>, period: Duration) -> bool {
    let due = tokio::time::sleep(period);
    tokio::pin!(due);
    loop {
        tokio::select! {
            _ = &mut due => return true,
            received = blocks.recv() => match received {
                Ok(block) if changes_clubs(&block) => return true,
                Ok(_) => {}
                // Missed blocks may have changed the clubs.
                Err(broadcast::error::RecvError::Lagged(_)) => return true,
                Err(broadcast::error::RecvError::Closed) => return false,
            },
        }
    }
}
