//! The running node: ledger, Raft, mempool, the block producer and commit
//! waiters, behind one cloneable handle used by the APIs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
use crate::consensus::network::Router;
use crate::consensus::state_machine::StateMachine;
use crate::consensus::{BlockRequest, PeerNode, Raft, node_id};
use crate::error::{NodeError, Result};
use crate::ledger::{AppliedBlock, Ledger, TxLocation};

/// The wall clock in Unix ms (the leader's block stamp and admission's "now").
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
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
    /// Opens the ledger, starts Raft and the node's tasks. A fresh node
    /// initializes a single-node Raft cluster of itself and commits the
    /// genesis block (the multi-node network arrives with the network issue).
    pub async fn start(config: NodeConfig) -> Result<NodeHandle> {
        let network =
            NetworkConfig::load(&config.genesis_file).map_err(|e| startup(e.to_string()))?;
        let key = Keypair::read_file(&config.node_key_file).map_err(|e| startup(e.to_string()))?;
        let node_key: PublicKey = key.public_key();
        let club = network.clubs.iter().find(|c| c.id == config.club).ok_or_else(|| {
            startup(format!(
                "club {:?} is not in the network config {}",
                config.club,
                config.genesis_file.display()
            ))
        })?;
        if !club.nodes.iter().any(|n| n.node_key.eq_ignore_ascii_case(&node_key.to_hex())) {
            return Err(startup(format!(
                "node key {} ({}) is not a node of club {:?} in the network config",
                node_key,
                config.node_key_file.display(),
                config.club
            )));
        }
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
        let router = Router::default();
        let raft = Raft::new(
            id,
            raft_config,
            router.client(id),
            LogStore::new(Arc::clone(&ledger)),
            state_machine,
        )
        .await
        .map_err(|e| startup(format!("raft: {e}")))?;
        router.register(id, raft.clone());
        let me = PeerNode {
            club_id: config.club.clone(),
            node_key: node_key.to_hex(),
            address: format!("grpc://{}", config.grpc_listen),
        };
        if !raft.is_initialized().await.map_err(|e| startup(format!("raft: {e}")))? {
            raft.initialize(BTreeMap::from([(id, me)]))
                .await
                .map_err(|e| startup(format!("raft initialize: {e}")))?;
        }
        let mempool = Mempool::new(config.limits.mempool_txs_max);
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
            }),
        };
        tokio::spawn(handle.clone().resolve_waiters().instrument(tracing::info_span!("waiters")));
        tokio::spawn(
            handle.clone().produce_blocks().instrument(tracing::info_span!("producer", node = id)),
        );
        Ok(handle)
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
        let inner = &self.inner;
        let ctx = AdmissionContext {
            chain_id: &inner.network.chain_id,
            now_ms: now_ms(),
            tx_bytes_max: inner.config.limits.tx_bytes_max,
        };
        let state = inner.ledger.state();
        let tx_id = admission::admit(
            &tx,
            &state,
            |id| {
                // Ids used on the ledger are checked by `admit` against the
                // chaincode's record; here only what waits in the mempool.
                inner.mempool.contains(id)
            },
            &ctx,
        )?;
        tracing::Span::current().record("tx_id", tracing::field::display(tx_id));
        // The waiter is registered before the transaction can reach a block.
        let receiver = wait.then(|| {
            let (sender, receiver) = oneshot::channel();
            inner.waiters.lock().expect("waiters lock").entry(tx_id).or_default().push(sender);
            receiver
        });
        let bytes = tx.encoded_len();
        if let Err(refusal) = inner.mempool.push(PendingTx { tx_id, tx, bytes }) {
            drop(receiver);
            self.drop_closed_waiters(&tx_id);
            return Err(match refusal {
                QueueRefusal::Full => Refusal::Busy { max: inner.config.limits.mempool_txs_max },
                QueueRefusal::Duplicate => Refusal::Invalid {
                    code: ValidationCode::DuplicateTx,
                    message: format!("transaction {tx_id} is already waiting"),
                },
            });
        }
        let Some(receiver) = receiver else {
            return Ok((tx_id, Submitted::Accepted));
        };
        match tokio::time::timeout(timeout, receiver).await {
            Ok(Ok(location)) => Ok((tx_id, Submitted::Committed(location))),
            _ => {
                // The receiver is gone: forget this waiter (others for the same id stay).
                self.drop_closed_waiters(&tx_id);
                Ok((tx_id, Submitted::TimedOut))
            }
        }
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

    /// The node's view of itself.
    pub fn status(&self) -> Result<Status> {
        let metrics = self.inner.raft.metrics().borrow().clone();
        let position = chain_position(&self.inner.ledger.state())?;
        Ok(Status {
            node_id: self.inner.node_id,
            club: self.inner.config.club.clone(),
            role: format!("{:?}", metrics.state).to_lowercase(),
            term: metrics.current_term,
            leader: metrics.current_leader,
            height: position.height,
            state_hash: hex::encode(position.state_hash),
            last_block_time_ms: position.time_ms,
            chain_id: self.inner.network.chain_id.clone(),
            mempool_txs: self.inner.mempool.len(),
        })
    }

    fn is_leader(&self) -> bool {
        self.inner.raft.metrics().borrow().current_leader == Some(self.inner.node_id)
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
            if limits.block_wait_ms > 0 && inner.mempool.len() < limits.block_txs_max {
                tokio::time::sleep(Duration::from_millis(limits.block_wait_ms)).await;
            }
            let batch = inner.mempool.take_batch(limits.block_txs_max, limits.block_bytes_max);
            if batch.is_empty() {
                continue;
            }
            let last_time_ms =
                chain_position(&inner.ledger.state()).map(|p| p.time_ms).unwrap_or(0);
            let candidate = pb::BlockCandidate {
                timestamp_ms: now_ms().max(last_time_ms),
                txs: batch.iter().map(|p| p.tx.clone()).collect(),
            };
            let span = tracing::info_span!("propose_block", txs = batch.len());
            let result = inner
                .raft
                .client_write(BlockRequest { candidate: candidate.encode_to_vec() })
                .instrument(span)
                .await;
            if let Err(error) = result {
                tracing::warn!(%error, txs = batch.len(), "block not committed; requeueing its transactions");
                inner.mempool.requeue_front(batch);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
