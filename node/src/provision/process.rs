//! A node running as a child process: waiting until it serves, the Raft
//! timings that suit nodes on one machine, and a submission that must
//! commit.

use std::path::Path;
use std::time::Duration;

use reciprocity_sdk::client::NodeClient;
use reciprocity_sdk::keys::Keypair;
use reciprocity_sdk::tx::TxBuilder;
use reciprocity_sdk::wire;

use super::{OrFail, fail};
use crate::error::Result;

/// Raft timings for nodes on one machine, as `RECIP_RAFT_*` variables (the
/// defaults suit clubs on the internet).
pub const LOOPBACK_RAFT: [(&str, &str); 3] = [
    ("RECIP_RAFT_HEARTBEAT_INTERVAL_MS", "100"),
    ("RECIP_RAFT_ELECTION_TIMEOUT_MIN_MS", "500"),
    ("RECIP_RAFT_ELECTION_TIMEOUT_MAX_MS", "1000"),
];

/// How long a node may take to serve a ledger of height 1 or more.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// How long a node's HTTP server may take to accept connections.
const LISTENING_WITHIN: Duration = Duration::from_secs(15);

/// Waits until the node at `endpoint` answers with a ledger of height 1 or
/// more; fails when `child` exits first (its log is `log`) or after
/// [`READY_WITHIN`].
pub async fn wait_ready(
    endpoint: &str,
    child: &mut tokio::process::Child,
    log: &Path,
) -> Result<NodeClient> {
    let step = Duration::from_millis(100);
    for _ in 0..READY_WITHIN.as_millis() / step.as_millis() {
        if let Some(status) = child.try_wait().or_fail(|| "watching the node process".into())? {
            return Err(fail(format!(
                "the node exited ({status}) before it was ready; see {}",
                log.display()
            )));
        }
        if let Ok(mut client) = NodeClient::connect(endpoint).await
            && let Ok(status) = client.status().await
            && status.height >= 1
        {
            return Ok(client);
        }
        tokio::time::sleep(step).await;
    }
    Err(fail(format!(
        "the node at {endpoint} was not ready within {} s; see {}",
        READY_WITHIN.as_secs(),
        log.display()
    )))
}

/// Waits until the node's HTTP server on `addr` accepts connections.
pub async fn wait_listening(addr: std::net::SocketAddr, log: &Path) -> Result<()> {
    let step = Duration::from_millis(50);
    for _ in 0..LISTENING_WITHIN.as_millis() / step.as_millis() {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(step).await;
    }
    Err(fail(format!(
        "the node's HTTP server on {addr} did not start within {} s; see {}",
        LISTENING_WITHIN.as_secs(),
        log.display()
    )))
}

/// Signs `body` with `key`, submits it and waits for its commit; fails
/// unless it is committed valid.
pub async fn submit_committed(
    client: &mut NodeClient,
    chain: &str,
    key: &Keypair,
    body: wire::tx_payload::Body,
) -> Result<reciprocity_sdk::TxId> {
    let tx = TxBuilder::now(chain).sign(key, body);
    let id = reciprocity_sdk::decode::tx_id(&tx);
    let response = client.submit(tx, true, 0).await.or_fail(|| "submitting".into())?;
    if response.outcome != wire::SubmitOutcome::Committed as i32 || response.code != 0 {
        return Err(fail(format!(
            "a setup transaction was refused: {} ({})",
            response.code_name, response.code
        )));
    }
    Ok(id)
}
