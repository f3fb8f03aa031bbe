//! The network inside one process, for tests: a router that hands each
//! request straight to the target node's [`PeerService`], with fault
//! injection — isolated nodes, one-way link loss, a delay on every message
//! and random loss drawn from a seeded generator, so a failing run can be
//! repeated from its seed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{PeerRequest, PeerResponse, PeerService, TransportError};

struct RouterState {
    nodes: BTreeMap<u64, Arc<dyn PeerService>>,
    isolated: BTreeSet<u64>,
    dropped_links: BTreeSet<(u64, u64)>,
    delay_ms: u64,
    /// Chance in parts per million that a message is lost.
    loss_ppm: u32,
    /// splitmix64 state, from the seed.
    rng: u64,
}

/// Routes requests between the nodes of one process.
#[derive(Clone)]
pub struct Router {
    state: Arc<Mutex<RouterState>>,
}

impl Default for Router {
    fn default() -> Self {
        Router::with_seed(0)
    }
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.lock().expect("router lock");
        f.debug_struct("Router").field("nodes", &state.nodes.keys().collect::<Vec<_>>()).finish()
    }
}

impl Router {
    /// A router whose random loss (if enabled) follows `seed`.
    pub fn with_seed(seed: u64) -> Router {
        Router {
            state: Arc::new(Mutex::new(RouterState {
                nodes: BTreeMap::new(),
                isolated: BTreeSet::new(),
                dropped_links: BTreeSet::new(),
                delay_ms: 0,
                loss_ppm: 0,
                rng: seed,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RouterState> {
        self.state.lock().expect("router lock")
    }

    /// Adds (or replaces) a node.
    pub fn register(&self, id: u64, service: Arc<dyn PeerService>) {
        self.lock().nodes.insert(id, service);
    }

    /// Removes a node (as if its process stopped).
    pub fn unregister(&self, id: u64) {
        self.lock().nodes.remove(&id);
    }

    /// Cuts a node off from every other node, both ways.
    pub fn isolate(&self, id: u64) {
        self.lock().isolated.insert(id);
    }

    /// Drops every message from `from` to `to` (one way).
    pub fn drop_link(&self, from: u64, to: u64) {
        self.lock().dropped_links.insert((from, to));
    }

    /// Delays every message by `delay_ms`.
    pub fn set_delay_ms(&self, delay_ms: u64) {
        self.lock().delay_ms = delay_ms;
    }

    /// Loses each message with probability `loss_ppm` / 1,000,000.
    pub fn set_loss_ppm(&self, loss_ppm: u32) {
        self.lock().loss_ppm = loss_ppm.min(1_000_000);
    }

    /// Restores every link and removes delay and loss.
    pub fn heal(&self) {
        let mut state = self.lock();
        state.isolated.clear();
        state.dropped_links.clear();
        state.delay_ms = 0;
        state.loss_ppm = 0;
    }

    /// The transport handle of node `from`.
    pub fn client(&self, from: u64) -> RouterClient {
        RouterClient { router: self.clone(), from }
    }

    /// Whether a message from `from` to `target` gets through now, and after which delay.
    fn route(&self, from: u64, target: u64) -> Result<(Arc<dyn PeerService>, u64), String> {
        let mut state = self.lock();
        if state.isolated.contains(&from) || state.isolated.contains(&target) {
            return Err("isolated".into());
        }
        if state.dropped_links.contains(&(from, target)) {
            return Err("link dropped".into());
        }
        if state.loss_ppm > 0 {
            let draw = splitmix64(&mut state.rng) % 1_000_000;
            if draw < u64::from(state.loss_ppm) {
                return Err("message lost".into());
            }
        }
        let service = state.nodes.get(&target).cloned().ok_or("no such node running")?;
        Ok((service, state.delay_ms))
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One node's handle on the router.
#[derive(Debug, Clone)]
pub struct RouterClient {
    router: Router,
    from: u64,
}

impl RouterClient {
    /// Sends `request` to node `target`; the answer crosses the same link back.
    pub async fn call(
        &self,
        target: u64,
        request: PeerRequest,
        timeout: Duration,
    ) -> Result<PeerResponse, TransportError> {
        let peer = target.to_string();
        let (service, delay_ms) = self
            .router
            .route(self.from, target)
            .map_err(|reason| TransportError::Unreachable { peer: peer.clone(), reason })?;
        let exchange = async {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            let response = service.serve(request).await;
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            response
        };
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let response = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| TransportError::Timeout { peer: peer.clone(), timeout_ms })?;
        // The answer is lost if the link went down meanwhile.
        self.router
            .route(target, self.from)
            .map_err(|reason| TransportError::Failed { peer, reason })?;
        Ok(response)
    }
}
