//! The libp2p transport: TCP + noise + yamux, request-response (CBOR) for
//! [`PeerRequest`]s, identify and ping.
//!
//! The node key from `network init` is the libp2p identity, so a peer's
//! `PeerId` is bound to a node key the ledger lists. Connections, inbound
//! and outbound, are accepted only for peers on the allowlist, which the
//! node keeps equal to the active clubs' node keys after every block;
//! taking a peer off the list closes its connections at once. Refusals are
//! logged.
//!
//! One task owns the `Swarm`; the rest of the node talks to it through a
//! bounded command channel ([`P2pHandle`]). Inbound requests are served on
//! their own tasks, so a slow snapshot install never stalls heartbeats.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::{DialError, ListenError, NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, SwarmBuilder, allow_block_list, identify, identity,
    noise, ping, tcp, yamux,
};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::{PeerRequest, PeerResponse, PeerService, TransportError};
use crate::consensus::PeerNode;

/// Settings of the libp2p transport.
#[derive(Debug, Clone)]
pub struct P2pSettings {
    /// Where to listen.
    pub listen: Multiaddr,
    /// The network's chain id (part of the protocol name, so two networks never talk).
    pub chain_id: String,
    /// Largest request accepted (Raft appends, snapshot chunks).
    pub request_bytes_max: u64,
    /// Largest response accepted.
    pub response_bytes_max: u64,
    /// libp2p's own deadline for any request.
    pub request_timeout_ms: u64,
    /// Connections without traffic close after this long.
    pub idle_connection_timeout_ms: u64,
    /// Commands (outbound requests, allowlist updates) waiting for the swarm task.
    pub commands_queued_max: usize,
    /// Inbound requests served at once per connection.
    pub inbound_streams_max: usize,
}

/// Why the transport could not start.
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    /// The node key is not a usable ed25519 key.
    #[error("node key is not a valid libp2p identity: {0}")]
    Key(String),
    /// Listening or building the swarm failed.
    #[error("cannot start the peer-to-peer transport on {listen}: {reason}")]
    Start {
        /// The listen address.
        listen: String,
        /// What failed.
        reason: String,
    },
}

/// The `PeerId` of a node key given as 64 hex digits.
pub fn peer_id_of(node_key_hex: &str) -> Option<PeerId> {
    let bytes = hex::decode(node_key_hex).ok()?;
    let key = identity::ed25519::PublicKey::try_from_bytes(&bytes).ok()?;
    Some(identity::PublicKey::from(key).to_peer_id())
}

type Codec = request_response::cbor::codec::Codec<PeerRequest, PeerResponse>;

#[derive(NetworkBehaviour)]
struct Behaviour {
    allowlist: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    rpc: request_response::Behaviour<Codec>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
}

type Reply = oneshot::Sender<Result<PeerResponse, TransportError>>;

enum Command {
    Call { peer: PeerId, address: Option<Multiaddr>, request: Box<PeerRequest>, reply: Reply },
    Allow(BTreeSet<PeerId>),
}

/// The node's handle on the transport: cheap to clone.
#[derive(Clone)]
pub struct P2pHandle {
    commands: mpsc::Sender<Command>,
    local_peer: PeerId,
    connected: Arc<Mutex<BTreeSet<PeerId>>>,
}

impl std::fmt::Debug for P2pHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("P2pHandle").field("local_peer", &self.local_peer).finish()
    }
}

/// The transport before its swarm task runs (it needs the node's service).
pub struct P2pRunner {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    connected: Arc<Mutex<BTreeSet<PeerId>>>,
}

impl std::fmt::Debug for P2pRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("P2pRunner").finish()
    }
}

/// Builds the swarm and starts listening; returns the handle and the runner
/// to spawn once the node can serve requests.
pub fn start(
    node_key_seed: [u8; 32],
    settings: &P2pSettings,
    allowed: BTreeSet<PeerId>,
) -> Result<(P2pHandle, P2pRunner), P2pError> {
    let mut seed = node_key_seed;
    let keypair = identity::Keypair::ed25519_from_bytes(&mut seed)
        .map_err(|e| P2pError::Key(e.to_string()))?;
    let local_peer = keypair.public().to_peer_id();
    let start_error =
        |reason: String| P2pError::Start { listen: settings.listen.to_string(), reason };
    let protocol =
        StreamProtocol::try_from_owned(format!("/reciprocity/{}/peer/1", settings.chain_id))
            .map_err(|e| start_error(e.to_string()))?;
    let codec = Codec::default()
        .set_request_size_maximum(settings.request_bytes_max)
        .set_response_size_maximum(settings.response_bytes_max);
    let rpc_config = request_response::Config::default()
        .with_request_timeout(Duration::from_millis(settings.request_timeout_ms))
        .with_max_concurrent_streams(settings.inbound_streams_max);
    let mut swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| start_error(e.to_string()))?
        .with_behaviour(|key| Behaviour {
            allowlist: allow_block_list::Behaviour::default(),
            rpc: request_response::Behaviour::with_codec(
                codec,
                [(protocol, ProtocolSupport::Full)],
                rpc_config,
            ),
            identify: identify::Behaviour::new(identify::Config::new(
                "/reciprocity/1".into(),
                key.public(),
            )),
            ping: ping::Behaviour::new(ping::Config::new()),
        })
        .map_err(|e| start_error(e.to_string()))?
        .with_swarm_config(|c| {
            c.with_idle_connection_timeout(Duration::from_millis(
                settings.idle_connection_timeout_ms,
            ))
        })
        .build();
    for peer in allowed {
        swarm.behaviour_mut().allowlist.allow_peer(peer);
    }
    swarm.listen_on(settings.listen.clone()).map_err(|e| start_error(e.to_string()))?;
    let (commands_tx, commands) = mpsc::channel(settings.commands_queued_max);
    let connected = Arc::new(Mutex::new(BTreeSet::new()));
    Ok((
        P2pHandle { commands: commands_tx, local_peer, connected: Arc::clone(&connected) },
        P2pRunner { swarm, commands, connected },
    ))
}

impl P2pHandle {
    /// This node's `PeerId`.
    pub fn local_peer(&self) -> PeerId {
        self.local_peer
    }

    /// Peers with an open connection now.
    pub fn connected_peers(&self) -> BTreeSet<PeerId> {
        self.connected.lock().expect("connected lock").clone()
    }

    /// Replaces the allowlist; peers no longer on it are disconnected.
    pub async fn set_allowed(&self, peers: BTreeSet<PeerId>) {
        // A closed channel means the node is stopping; nothing to update.
        let _ = self.commands.send(Command::Allow(peers)).await;
    }

    /// Sends `request` to `target` and waits for the answer up to `timeout`.
    pub async fn call(
        &self,
        target: &PeerNode,
        request: PeerRequest,
        timeout: Duration,
    ) -> Result<PeerResponse, TransportError> {
        let shown = target.to_string();
        let peer = peer_id_of(&target.node_key).ok_or_else(|| TransportError::Unreachable {
            peer: shown.clone(),
            reason: format!("node key {:?} is not an ed25519 key", target.node_key),
        })?;
        let address = target.address.parse::<Multiaddr>().ok();
        let (reply, answer) = oneshot::channel();
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let exchange = async {
            self.commands
                .send(Command::Call { peer, address, request: Box::new(request), reply })
                .await
                .map_err(|_| TransportError::Unreachable {
                    peer: shown.clone(),
                    reason: "the transport is stopped".into(),
                })?;
            answer.await.map_err(|_| TransportError::Failed {
                peer: shown.clone(),
                reason: "the transport dropped the request".into(),
            })?
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| TransportError::Timeout { peer: shown.clone(), timeout_ms })?
    }
}

impl P2pRunner {
    /// Runs the swarm until every handle is dropped, serving inbound requests with `service`.
    pub fn spawn(self, service: Arc<dyn PeerService>) -> tokio::task::JoinHandle<()> {
        let span = tracing::info_span!("p2p", peer = %self.swarm.local_peer_id());
        tokio::spawn(self.run(service).instrument(span))
    }

    async fn run(mut self, service: Arc<dyn PeerService>) {
        let mut pending: HashMap<OutboundRequestId, Reply> = HashMap::new();
        let mut allowed: BTreeSet<PeerId> =
            self.swarm.behaviour().allowlist.allowed_peers().iter().copied().collect();
        let (responses_tx, mut responses) =
            mpsc::unbounded_channel::<(ResponseChannel<PeerResponse>, PeerResponse)>();
        loop {
            tokio::select! {
                command = self.commands.recv() => match command {
                    None => return,
                    Some(Command::Call { peer, address, request, reply }) => {
                        if !allowed.contains(&peer) {
                            let _ = reply.send(Err(TransportError::Unreachable {
                                peer: peer.to_string(),
                                reason: "not on the allowlist (not an active club's node)".into(),
                            }));
                            continue;
                        }
                        let rpc = &mut self.swarm.behaviour_mut().rpc;
                        let id = match address {
                            Some(address) => rpc.send_request_with_addresses(&peer, *request, vec![address]),
                            None => rpc.send_request(&peer, *request),
                        };
                        pending.insert(id, reply);
                    }
                    Some(Command::Allow(peers)) => {
                        let behaviour = &mut self.swarm.behaviour_mut().allowlist;
                        for gone in allowed.difference(&peers) {
                            tracing::warn!(peer = %gone, "peer is no longer an active club's node: disconnecting");
                            behaviour.disallow_peer(*gone);
                        }
                        for new in peers.difference(&allowed) {
                            tracing::info!(peer = %new, "peer allowed");
                            behaviour.allow_peer(*new);
                        }
                        allowed = peers;
                    }
                },
                Some((channel, response)) = responses.recv() => {
                    // The requester may have gone (timeout, disconnect); it retries.
                    let _ = self.swarm.behaviour_mut().rpc.send_response(channel, response);
                }
                event = self.swarm.select_next_some() => {
                    self.on_event(event, &mut pending, &service, &responses_tx);
                }
            }
        }
    }

    fn on_event(
        &mut self,
        event: SwarmEvent<BehaviourEvent>,
        pending: &mut HashMap<OutboundRequestId, Reply>,
        service: &Arc<dyn PeerService>,
        responses: &mpsc::UnboundedSender<(ResponseChannel<PeerResponse>, PeerResponse)>,
    ) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Rpc(event)) => match event {
                request_response::Event::Message { peer, message, .. } => match message {
                    request_response::Message::Request { request, channel, .. } => {
                        let service = Arc::clone(service);
                        let responses = responses.clone();
                        let kind = request.kind();
                        tokio::spawn(
                            async move {
                                let response = service.serve(request).await;
                                let _ = responses.send((channel, response));
                            }
                            .instrument(tracing::trace_span!("serve", %peer, kind)),
                        );
                    }
                    request_response::Message::Response { request_id, response } => {
                        if let Some(reply) = pending.remove(&request_id) {
                            let _ = reply.send(Ok(response));
                        }
                    }
                },
                request_response::Event::OutboundFailure { peer, request_id, error, .. } => {
                    if let Some(reply) = pending.remove(&request_id) {
                        let failure = match error {
                            request_response::OutboundFailure::DialFailure
                            | request_response::OutboundFailure::ConnectionClosed => {
                                TransportError::Unreachable {
                                    peer: peer.to_string(),
                                    reason: error.to_string(),
                                }
                            }
                            other => TransportError::Failed {
                                peer: peer.to_string(),
                                reason: other.to_string(),
                            },
                        };
                        let _ = reply.send(Err(failure));
                    }
                }
                request_response::Event::InboundFailure { peer, error, .. } => {
                    tracing::debug!(%peer, %error, "inbound request failed");
                }
                request_response::Event::ResponseSent { .. } => {}
            },
            SwarmEvent::Behaviour(BehaviourEvent::Identify(_) | BehaviourEvent::Ping(_)) => {}
            SwarmEvent::Behaviour(BehaviourEvent::Allowlist(never)) => match never {},
            SwarmEvent::ConnectionEstablished { peer_id, endpoint, .. } => {
                tracing::debug!(peer = %peer_id, address = %endpoint.get_remote_address(), "connected");
                self.connected.lock().expect("connected lock").insert(peer_id);
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                tracing::debug!(peer = %peer_id, "disconnected");
                self.connected.lock().expect("connected lock").remove(&peer_id);
            }
            SwarmEvent::IncomingConnectionError { peer_id, send_back_addr, error, .. } => {
                match error {
                    ListenError::Denied { cause } => tracing::warn!(
                        peer = ?peer_id, from = %send_back_addr, %cause,
                        "refused a connection: not an active club's node"
                    ),
                    other => {
                        tracing::debug!(from = %send_back_addr, error = %other, "inbound connection failed")
                    }
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => match error {
                DialError::Denied { cause } => {
                    tracing::warn!(peer = ?peer_id, %cause, "refused to dial: not an active club's node")
                }
                other => tracing::debug!(peer = ?peer_id, error = %other, "dial failed"),
            },
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening for peers");
            }
            _ => {}
        }
    }
}

/// The allowlist for a set of Raft nodes (skipping keys that are not ed25519).
pub fn allowlist_of<'a>(nodes: impl IntoIterator<Item = &'a PeerNode>) -> BTreeSet<PeerId> {
    nodes.into_iter().filter_map(|n| peer_id_of(&n.node_key)).collect()
}
