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
//! The node names the peers it keeps a connection to (the other Raft
//! voters, [`P2pHandle::keep_connected`]): they are dialed at once and
//! redialed with exponential backoff (`backoff_min_ms` doubling up to
//! `backoff_max_ms`) whenever the connection drops, so a failover never
//! starts with a dial. Ping runs on every connection, which keeps it from
//! idling out. [`P2pHandle::link`] says how each kept peer's connection is
//! going.
//!
//! One task owns the `Swarm`; the rest of the node talks to it through a
//! bounded command channel ([`P2pHandle`]). Inbound requests are served on
//! their own tasks, so a slow snapshot install never stalls heartbeats.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
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
    /// First wait before redialing a kept peer after a failed dial.
    pub backoff_min_ms: u64,
    /// Longest wait between redials of a kept peer.
    pub backoff_max_ms: u64,
}

/// How the connection to a peer is going, as [`P2pHandle::link`] tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// A connection is open.
    Connected,
    /// Kept, not connected, a dial under way (or about to start).
    Dialing,
    /// Kept, the last dials failed; the next one is due in `retry_in_ms`.
    Unreachable {
        /// Dials that failed in a row.
        failed_dials: u32,
        /// What the last failure said.
        last_error: String,
        /// When the next dial is due.
        retry_in_ms: u64,
    },
    /// Not connected and not kept: this node dials it only to send a request.
    NotKept,
}

impl std::fmt::Display for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Link::Connected => write!(f, "connected"),
            Link::Dialing => write!(f, "dialing"),
            Link::Unreachable { failed_dials, last_error, retry_in_ms } => write!(
                f,
                "unreachable ({failed_dials} failed dial{}, retry in {retry_in_ms} ms): {last_error}",
                if *failed_dials == 1 { "" } else { "s" }
            ),
            Link::NotKept => write!(f, "not kept"),
        }
    }
}

/// A kept peer's redial bookkeeping (owned by the swarm task).
#[derive(Debug, Clone)]
struct Kept {
    address: Multiaddr,
    failed_dials: u32,
    last_error: Option<String>,
    next_dial: tokio::time::Instant,
    dialing: bool,
    /// When the current connection opened (None while disconnected).
    connected_since: Option<tokio::time::Instant>,
}

impl Kept {
    /// Counts a failure to reach the peer and schedules the next dial:
    /// `backoff_min` doubled per failure, at most `backoff_max`.
    fn failed(&mut self, error: String, backoff_min: Duration, backoff_max: Duration) -> Duration {
        self.dialing = false;
        self.failed_dials = self.failed_dials.saturating_add(1);
        self.last_error = Some(error);
        let doublings = self.failed_dials.saturating_sub(1).min(16);
        let wait = backoff_min.saturating_mul(1 << doublings).min(backoff_max);
        self.next_dial = tokio::time::Instant::now() + wait;
        wait
    }
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
    Keep(BTreeMap<PeerId, Multiaddr>),
}

/// What the handle can read of the swarm task's links without asking it.
#[derive(Debug, Default)]
struct Links {
    connected: BTreeSet<PeerId>,
    kept: BTreeMap<PeerId, Kept>,
}

/// The node's handle on the transport: cheap to clone.
#[derive(Clone)]
pub struct P2pHandle {
    commands: mpsc::Sender<Command>,
    local_peer: PeerId,
    links: Arc<Mutex<Links>>,
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
    links: Arc<Mutex<Links>>,
    backoff_min: Duration,
    backoff_max: Duration,
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
    let links = Arc::new(Mutex::new(Links::default()));
    Ok((
        P2pHandle { commands: commands_tx, local_peer, links: Arc::clone(&links) },
        P2pRunner {
            swarm,
            commands,
            links,
            backoff_min: Duration::from_millis(settings.backoff_min_ms.max(1)),
            backoff_max: Duration::from_millis(
                settings.backoff_max_ms.max(settings.backoff_min_ms),
            ),
        },
    ))
}

impl P2pHandle {
    /// This node's `PeerId`.
    pub fn local_peer(&self) -> PeerId {
        self.local_peer
    }

    /// Peers with an open connection now.
    pub fn connected_peers(&self) -> BTreeSet<PeerId> {
        self.links.lock().expect("links lock").connected.clone()
    }

    /// How the connection to `peer` is going.
    pub fn link(&self, peer: &PeerId) -> Link {
        let links = self.links.lock().expect("links lock");
        if links.connected.contains(peer) {
            return Link::Connected;
        }
        match links.kept.get(peer) {
            None => Link::NotKept,
            Some(kept) => match &kept.last_error {
                Some(error) if !kept.dialing => Link::Unreachable {
                    failed_dials: kept.failed_dials,
                    last_error: error.clone(),
                    retry_in_ms: u64::try_from(
                        kept.next_dial
                            .saturating_duration_since(tokio::time::Instant::now())
                            .as_millis(),
                    )
                    .unwrap_or(u64::MAX),
                },
                _ => Link::Dialing,
            },
        }
    }

    /// Replaces the set of peers this node keeps a connection to (dialed
    /// now and redialed with backoff whenever the connection drops).
    pub async fn keep_connected(&self, peers: BTreeMap<PeerId, Multiaddr>) {
        // A closed channel means the node is stopping; nothing to update.
        let _ = self.commands.send(Command::Keep(peers)).await;
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
        let mut redial = tokio::time::interval(self.backoff_min);
        redial.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = redial.tick() => self.dial_kept(&allowed),
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
                    Some(Command::Keep(peers)) => {
                        self.keep(peers);
                        self.dial_kept(&allowed);
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

    /// Makes `peers` the kept set: new ones are due for a dial now, the
    /// bookkeeping of those still kept stays.
    fn keep(&mut self, peers: BTreeMap<PeerId, Multiaddr>) {
        let mut links = self.links.lock().expect("links lock");
        let now = tokio::time::Instant::now();
        let old = std::mem::take(&mut links.kept);
        for (peer, address) in peers {
            let kept = match old.get(&peer) {
                Some(kept) if kept.address == address => kept.clone(),
                _ => Kept {
                    address,
                    failed_dials: 0,
                    last_error: None,
                    next_dial: now,
                    dialing: false,
                    connected_since: None,
                },
            };
            links.kept.insert(peer, kept);
        }
    }

    /// Dials every kept peer that is allowed, not connected, not being
    /// dialed, and whose backoff has run out.
    fn dial_kept(&mut self, allowed: &BTreeSet<PeerId>) {
        let now = tokio::time::Instant::now();
        let due: Vec<(PeerId, Multiaddr)> = {
            let mut links = self.links.lock().expect("links lock");
            let Links { connected, kept } = &mut *links;
            kept.iter_mut()
                .filter(|(peer, k)| {
                    !k.dialing
                        && k.next_dial <= now
                        && !connected.contains(*peer)
                        && allowed.contains(*peer)
                })
                .map(|(peer, k)| {
                    k.dialing = true;
                    (*peer, k.address.clone())
                })
                .collect()
        };
        for (peer, address) in due {
            let options = DialOpts::peer_id(peer)
                .addresses(vec![address])
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            match self.swarm.dial(options) {
                Ok(()) => {}
                // A dial for a request is under way; its outcome settles the link.
                Err(DialError::DialPeerConditionFalse(_)) => {}
                Err(error) => self.dial_failed(&peer, &error.to_string()),
            }
        }
    }

    /// Records a failed dial of a kept peer and schedules the next one.
    fn dial_failed(&self, peer: &PeerId, error: &str) {
        let mut links = self.links.lock().expect("links lock");
        if let Some(kept) = links.kept.get_mut(peer) {
            let wait = kept.failed(error.to_owned(), self.backoff_min, self.backoff_max);
            tracing::debug!(%peer, failed_dials = kept.failed_dials, retry_in_ms = wait.as_millis(), error, "kept peer unreachable");
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
                let mut links = self.links.lock().expect("links lock");
                links.connected.insert(peer_id);
                if let Some(kept) = links.kept.get_mut(&peer_id) {
                    // Failures are forgotten once the connection has lasted
                    // (see `ConnectionClosed`).
                    kept.dialing = false;
                    kept.connected_since = Some(tokio::time::Instant::now());
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, cause, .. } => {
                tracing::debug!(peer = %peer_id, ?cause, "disconnected");
                let mut links = self.links.lock().expect("links lock");
                links.connected.remove(&peer_id);
                // A connection that lasted is redialed at the next tick, its
                // backoff afresh; one closed soon after it opened (a peer
                // that does not allow this node, or keeps crashing) counts as
                // a failed dial, so that it is not redialed in a loop.
                if let Some(kept) = links.kept.get_mut(&peer_id) {
                    let lasted = kept.connected_since.take().map(|since| since.elapsed());
                    if lasted.is_some_and(|lasted| lasted >= self.backoff_max) {
                        kept.failed_dials = 0;
                        kept.last_error = None;
                        kept.next_dial = tokio::time::Instant::now();
                    } else {
                        let lasted_ms = lasted.map_or(0, |d| d.as_millis());
                        let error = match &cause {
                            Some(cause) => {
                                format!("connection closed after {lasted_ms} ms: {cause}")
                            }
                            None => format!("connection closed after {lasted_ms} ms"),
                        };
                        kept.failed(error, self.backoff_min, self.backoff_max);
                    }
                }
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
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                if let Some(peer) = peer_id {
                    self.dial_failed(&peer, &error.to_string());
                }
                match error {
                    DialError::Denied { cause } => {
                        tracing::warn!(peer = ?peer_id, %cause, "refused to dial: not an active club's node")
                    }
                    other => tracing::debug!(peer = ?peer_id, error = %other, "dial failed"),
                }
            }
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
