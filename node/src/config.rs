//! The node's configuration file (`node.toml`) with environment overrides.
//!
//! Every field is validated and errors name the field. Relative paths are
//! relative to the config file's directory. Environment variables
//! `RECIP_<FIELD>` (upper case; `RECIP_LIMITS_<FIELD>` and `RECIP_RAFT_<FIELD>`
//! for the sections) override the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Bounds on every queue and batch, with units last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Most transactions in one block.
    pub block_txs_max: usize,
    /// Most bytes of signed transactions in one block.
    pub block_bytes_max: usize,
    /// How long the leader waits to fill a block once one transaction is
    /// pending, when other blocks are in flight (alone, a block goes at once).
    pub block_wait_ms: u64,
    /// Blocks the leader has proposed and not yet seen applied; the next
    /// block is cut while earlier ones replicate and apply (pipelining).
    pub blocks_in_flight_max: usize,
    /// Most transactions waiting in the mempool; more get "busy, retry later".
    pub mempool_txs_max: usize,
    /// Most signatures admission checks as one batch (submissions arriving
    /// together are checked together).
    pub admission_batch_txs_max: usize,
    /// Largest encoded signed transaction.
    pub tx_bytes_max: usize,
    /// How long a submission waits for its commit by default.
    pub submit_timeout_ms: u64,
    /// Longest wait a client may ask for.
    pub submit_timeout_ms_max: u64,
    /// Blocks buffered per block stream before a slow reader is cut off.
    pub stream_blocks_buffered_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            block_txs_max: 2_000,
            block_bytes_max: 1024 * 1024,
            block_wait_ms: 2,
            blocks_in_flight_max: 4,
            mempool_txs_max: 50_000,
            admission_batch_txs_max: 512,
            tx_bytes_max: 16 * 1024,
            submit_timeout_ms: 10_000,
            submit_timeout_ms_max: 60_000,
            stream_blocks_buffered_max: 1_024,
        }
    }
}

/// Raft timing and snapshot policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaftSettings {
    /// Leader heartbeat interval.
    pub heartbeat_interval_ms: u64,
    /// Shortest election timeout.
    pub election_timeout_min_ms: u64,
    /// Longest election timeout.
    pub election_timeout_max_ms: u64,
    /// Build a snapshot after this many entries since the last one.
    pub snapshot_logs_since_last: u64,
    /// Entries kept in the log after a snapshot (for lagging followers).
    pub logs_kept_after_snapshot: u64,
    /// Timeout of one snapshot chunk.
    pub install_snapshot_timeout_ms: u64,
    /// Largest snapshot chunk sent in one request.
    pub snapshot_chunk_bytes_max: u64,
    /// Most log entries (blocks) in one append request.
    pub append_entries_max: u64,
    /// Most bytes of blocks in one append request (a single larger block
    /// still goes alone). openraft gives an append `heartbeat_interval_ms`
    /// to complete, so this must cross the slowest link within it.
    pub append_bytes_max: u64,
    /// Largest snapshot a node accepts from a peer (it is held in memory).
    pub snapshot_bytes_max: u64,
    /// How often the leader compares the Raft membership with the clubs active on the ledger.
    pub membership_check_ms: u64,
    /// A learner within this many entries of the leader's log is promoted to voter.
    pub learner_lag_entries_max: u64,
}

impl Default for RaftSettings {
    fn default() -> Self {
        RaftSettings {
            heartbeat_interval_ms: 500,
            election_timeout_min_ms: 2_500,
            election_timeout_max_ms: 5_000,
            snapshot_logs_since_last: 10_000,
            logs_kept_after_snapshot: 1_000,
            install_snapshot_timeout_ms: 10_000,
            snapshot_chunk_bytes_max: 1024 * 1024,
            append_entries_max: 16,
            append_bytes_max: 1024 * 1024,
            snapshot_bytes_max: 1024 * 1024 * 1024,
            membership_check_ms: 1_000,
            learner_lag_entries_max: 64,
        }
    }
}

/// The peer-to-peer transport: timeouts, backoff and queue bounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct P2pSettings {
    /// Deadline of any request to a peer (Raft RPCs carry their own, shorter ones).
    pub request_timeout_ms: u64,
    /// How long a follower waits for the leader to queue forwarded transactions.
    pub forward_timeout_ms: u64,
    /// Forward requests to the leader in flight at once; submissions that
    /// arrive meanwhile go together in the next request (at most a block's
    /// worth).
    pub forwards_in_flight_max: usize,
    /// A connection without traffic closes after this long.
    pub idle_connection_timeout_ms: u64,
    /// First wait before retrying an unreachable peer (Raft RPCs, and redials
    /// of the other voters this node keeps connected); doubles up to `backoff_max_ms`.
    pub backoff_min_ms: u64,
    /// Longest wait between retries of an unreachable peer.
    pub backoff_max_ms: u64,
    /// Requests and allowlist updates queued for the transport task.
    pub commands_queued_max: usize,
    /// Inbound requests served at once per connection.
    pub inbound_streams_max: usize,
}

impl Default for P2pSettings {
    fn default() -> Self {
        P2pSettings {
            request_timeout_ms: 30_000,
            forward_timeout_ms: 5_000,
            forwards_in_flight_max: 4,
            idle_connection_timeout_ms: 60_000,
            backoff_min_ms: 100,
            backoff_max_ms: 5_000,
            commands_queued_max: 4_096,
            inbound_streams_max: 256,
        }
    }
}

/// The off-chain index follower.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IndexSettings {
    /// Most blocks projected in one SQL transaction.
    pub batch_blocks_max: u64,
    /// First wait after a database failure; doubles up to `backoff_max_ms`.
    pub backoff_min_ms: u64,
    /// Longest wait between retries.
    pub backoff_max_ms: u64,
    /// `/readyz` fails while the index is more than this many blocks behind.
    pub ready_lag_blocks_max: u64,
}

impl Default for IndexSettings {
    fn default() -> Self {
        IndexSettings {
            batch_blocks_max: 256,
            backoff_min_ms: 100,
            backoff_max_ms: 10_000,
            ready_lag_blocks_max: 1_000,
        }
    }
}

/// The staff REST API (`/v1`, on `http_listen`; needs `index_url`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSettings {
    /// Directory of the club's identity keys the API signs with (`*.key`,
    /// relative to the config file). Staff act on-chain through them.
    pub keystore_dir: PathBuf,
    /// Lifetime of a bearer token.
    pub token_ttl_ms: u64,
    /// Most live tokens; a login beyond it is answered "busy".
    pub sessions_max: usize,
    /// Lifetime of a key-login challenge.
    pub challenge_ttl_ms: u64,
    /// Most outstanding challenges.
    pub challenges_max: usize,
    /// Largest JSON request body.
    pub body_bytes_max: usize,
    /// Largest CSV import body.
    pub import_bytes_max: usize,
    /// Most rows in one CSV import.
    pub import_rows_max: usize,
    /// Registrations of one import in flight at once.
    pub import_in_flight_max: usize,
    /// Import jobs remembered for their progress (oldest finished go first).
    pub imports_kept_max: usize,
    /// How long a write waits for its commit before answering 202 (pending).
    pub commit_timeout_ms: u64,
    /// Largest page of a listing.
    pub page_size_max: u32,
    /// Requests per second per admin caller (bursts of twice as many).
    pub admin_requests_per_s: u32,
    /// Requests per second per registrar caller.
    pub registrar_requests_per_s: u32,
    /// Requests per second per front-desk caller.
    pub front_desk_requests_per_s: u32,
    /// Requests per second per governor caller.
    pub governor_requests_per_s: u32,
    /// Login attempts per minute per username or key.
    pub logins_per_minute: u32,
    /// How often profiles whose registration never committed are looked for.
    pub orphan_sweep_ms: u64,
    /// Longest a `/v1` request may take, waiting for a turn included, before
    /// it is answered 503 `request_timeout` (the handler still runs to its
    /// end); more than `commit_timeout_ms` + `p2p.forward_timeout_ms`. The
    /// CSV import is exempt (its body and rows may take longer).
    pub request_timeout_ms: u64,
    /// `/v1` requests served at once; more wait for a turn. The probes and
    /// `/metrics` are not counted, nor is a handler still finishing after
    /// its request was answered `request_timeout`.
    pub requests_in_flight_max: usize,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            keystore_dir: PathBuf::from("keystore"),
            token_ttl_ms: 15 * 60 * 1000,
            sessions_max: 10_000,
            challenge_ttl_ms: 60_000,
            challenges_max: 10_000,
            body_bytes_max: 64 * 1024,
            import_bytes_max: 16 * 1024 * 1024,
            import_rows_max: 100_000,
            import_in_flight_max: 128,
            imports_kept_max: 64,
            commit_timeout_ms: 10_000,
            page_size_max: 500,
            admin_requests_per_s: 20,
            registrar_requests_per_s: 200,
            front_desk_requests_per_s: 1_000,
            governor_requests_per_s: 20,
            logins_per_minute: 10,
            orphan_sweep_ms: 60_000,
            request_timeout_ms: 30_000,
            requests_in_flight_max: 512,
        }
    }
}

/// The node configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The club running this node.
    pub club: String,
    /// Where the ledger lives.
    pub data_dir: PathBuf,
    /// The node's key file (PKCS#8 PEM, mode 0600).
    pub node_key_file: PathBuf,
    /// The network configuration (genesis).
    pub genesis_file: PathBuf,
    /// The signed genesis transaction (encoded `SignedTx`).
    pub genesis_tx_file: PathBuf,
    /// gRPC listen address.
    pub grpc_listen: SocketAddr,
    /// HTTP listen address: the staff REST API under `/v1` (with `index_url`),
    /// its OpenAPI document, `/healthz`, `/readyz` and `/metrics`; none when
    /// absent.
    #[serde(default)]
    pub http_listen: Option<SocketAddr>,
    /// Peer-to-peer listen address (a multiaddr, e.g. `/ip4/0.0.0.0/tcp/7100`).
    pub p2p_listen: String,
    /// For a node of a club admitted after genesis: the node keys (hex) of
    /// the clubs active when it joined. Until its own ledger shows its club
    /// active, it accepts these peers (plus the Raft members it learns)
    /// instead of the founders.
    #[serde(default)]
    pub bootstrap_peers: Vec<String>,
    /// The off-chain SQL index: `sqlite://PATH` (relative to this file's
    /// directory) or `postgres://…`; none when absent.
    #[serde(default)]
    pub index_url: Option<String>,
    /// Limits.
    #[serde(default)]
    pub limits: Limits,
    /// Raft settings.
    #[serde(default)]
    pub raft: RaftSettings,
    /// Peer-to-peer transport settings.
    #[serde(default)]
    pub p2p: P2pSettings,
    /// Index follower settings.
    #[serde(default)]
    pub index: IndexSettings,
    /// Staff REST API settings.
    #[serde(default)]
    pub api: ApiSettings,
}

/// A configuration problem, naming the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read node config {path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Not TOML of the expected shape.
    #[error("node config {path} is not valid: {message}")]
    Parse {
        /// File.
        path: String,
        /// What the parser said (names the key).
        message: String,
    },
    /// A field has a bad value.
    #[error("node config: {field}: {problem}")]
    Field {
        /// Field path.
        field: String,
        /// What is wrong.
        problem: String,
    },
}

fn field(field: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Field { field: field.to_owned(), problem: problem.into() }
}

fn env_override<T: std::str::FromStr>(name: &str, target: &mut T) -> Result<(), ConfigError>
where
    T::Err: std::fmt::Display,
{
    if let Ok(value) = std::env::var(name) {
        *target = value.parse().map_err(|e| field(name, format!("{value:?}: {e}")))?;
    }
    Ok(())
}

impl NodeConfig {
    /// Loads, applies environment overrides, resolves paths and validates.
    pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Io { path: shown.clone(), source })?;
        let mut config: NodeConfig = toml::from_str(&text)
            .map_err(|e| ConfigError::Parse { path: shown, message: e.to_string() })?;
        config.apply_env()?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [
            &mut config.data_dir,
            &mut config.node_key_file,
            &mut config.genesis_file,
            &mut config.genesis_tx_file,
            &mut config.api.keystore_dir,
        ] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if let Some(url) = &config.index_url
            && let Some(path) = url.strip_prefix("sqlite://")
            && Path::new(path).is_relative()
        {
            config.index_url = Some(format!("sqlite://{}", base.join(path).display()));
        }
        config.validate()?;
        Ok(config)
    }

    fn apply_env(&mut self) -> Result<(), ConfigError> {
        env_override("RECIP_CLUB", &mut self.club)?;
        env_override("RECIP_DATA_DIR", &mut self.data_dir)?;
        env_override("RECIP_NODE_KEY_FILE", &mut self.node_key_file)?;
        env_override("RECIP_GENESIS_FILE", &mut self.genesis_file)?;
        env_override("RECIP_GENESIS_TX_FILE", &mut self.genesis_tx_file)?;
        env_override("RECIP_GRPC_LISTEN", &mut self.grpc_listen)?;
        env_override("RECIP_P2P_LISTEN", &mut self.p2p_listen)?;
        if let Ok(value) = std::env::var("RECIP_HTTP_LISTEN") {
            self.http_listen = if value.is_empty() {
                None
            } else {
                Some(
                    value
                        .parse()
                        .map_err(|e| field("RECIP_HTTP_LISTEN", format!("{value:?}: {e}")))?,
                )
            };
        }
        env_override("RECIP_INDEX_BACKOFF_MAX_MS", &mut self.index.backoff_max_ms)?;
        let a = &mut self.api;
        env_override("RECIP_API_KEYSTORE_DIR", &mut a.keystore_dir)?;
        env_override("RECIP_API_TOKEN_TTL_MS", &mut a.token_ttl_ms)?;
        env_override("RECIP_API_ADMIN_REQUESTS_PER_S", &mut a.admin_requests_per_s)?;
        env_override("RECIP_API_REGISTRAR_REQUESTS_PER_S", &mut a.registrar_requests_per_s)?;
        env_override("RECIP_API_FRONT_DESK_REQUESTS_PER_S", &mut a.front_desk_requests_per_s)?;
        env_override("RECIP_API_GOVERNOR_REQUESTS_PER_S", &mut a.governor_requests_per_s)?;
        env_override("RECIP_API_LOGINS_PER_MINUTE", &mut a.logins_per_minute)?;
        env_override("RECIP_API_ORPHAN_SWEEP_MS", &mut a.orphan_sweep_ms)?;
        if let Ok(url) = std::env::var("RECIP_INDEX_URL") {
            self.index_url = (!url.is_empty()).then_some(url);
        }
        let l = &mut self.limits;
        env_override("RECIP_LIMITS_BLOCK_TXS_MAX", &mut l.block_txs_max)?;
        env_override("RECIP_LIMITS_BLOCK_BYTES_MAX", &mut l.block_bytes_max)?;
        env_override("RECIP_LIMITS_BLOCK_WAIT_MS", &mut l.block_wait_ms)?;
        env_override("RECIP_LIMITS_BLOCKS_IN_FLIGHT_MAX", &mut l.blocks_in_flight_max)?;
        env_override("RECIP_LIMITS_MEMPOOL_TXS_MAX", &mut l.mempool_txs_max)?;
        env_override("RECIP_LIMITS_ADMISSION_BATCH_TXS_MAX", &mut l.admission_batch_txs_max)?;
        env_override("RECIP_LIMITS_TX_BYTES_MAX", &mut l.tx_bytes_max)?;
        env_override("RECIP_LIMITS_SUBMIT_TIMEOUT_MS", &mut l.submit_timeout_ms)?;
        let r = &mut self.raft;
        env_override("RECIP_RAFT_HEARTBEAT_INTERVAL_MS", &mut r.heartbeat_interval_ms)?;
        env_override("RECIP_RAFT_ELECTION_TIMEOUT_MIN_MS", &mut r.election_timeout_min_ms)?;
        env_override("RECIP_RAFT_ELECTION_TIMEOUT_MAX_MS", &mut r.election_timeout_max_ms)?;
        env_override("RECIP_RAFT_SNAPSHOT_LOGS_SINCE_LAST", &mut r.snapshot_logs_since_last)?;
        env_override("RECIP_RAFT_LOGS_KEPT_AFTER_SNAPSHOT", &mut r.logs_kept_after_snapshot)?;
        env_override("RECIP_RAFT_MEMBERSHIP_CHECK_MS", &mut r.membership_check_ms)?;
        let p = &mut self.p2p;
        env_override("RECIP_P2P_REQUEST_TIMEOUT_MS", &mut p.request_timeout_ms)?;
        env_override("RECIP_P2P_FORWARD_TIMEOUT_MS", &mut p.forward_timeout_ms)?;
        env_override("RECIP_P2P_FORWARDS_IN_FLIGHT_MAX", &mut p.forwards_in_flight_max)?;
        env_override("RECIP_P2P_IDLE_CONNECTION_TIMEOUT_MS", &mut p.idle_connection_timeout_ms)?;
        env_override("RECIP_P2P_BACKOFF_MIN_MS", &mut p.backoff_min_ms)?;
        env_override("RECIP_P2P_BACKOFF_MAX_MS", &mut p.backoff_max_ms)?;
        Ok(())
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if reciprocity_chaincode::ClubId::parse(&self.club).is_none() {
            return Err(field(
                "club",
                format!("{:?} is not a club id (a-z, 0-9, '-', starting with a letter)", self.club),
            ));
        }
        let l = &self.limits;
        if !(1..=100_000).contains(&l.block_txs_max) {
            return Err(field("limits.block_txs_max", "must be 1..=100000"));
        }
        if l.tx_bytes_max < 256 || l.tx_bytes_max > 1024 * 1024 {
            return Err(field("limits.tx_bytes_max", "must be 256..=1048576"));
        }
        if l.block_bytes_max < l.tx_bytes_max || l.block_bytes_max > 64 * 1024 * 1024 {
            return Err(field(
                "limits.block_bytes_max",
                "must be at least tx_bytes_max and at most 64 MiB",
            ));
        }
        if l.block_wait_ms > 10_000 {
            return Err(field("limits.block_wait_ms", "must be at most 10000"));
        }
        if !(1..=100_000).contains(&l.admission_batch_txs_max) {
            return Err(field("limits.admission_batch_txs_max", "must be 1..=100000"));
        }
        if !(1..=64).contains(&l.blocks_in_flight_max) {
            return Err(field("limits.blocks_in_flight_max", "must be 1..=64"));
        }
        if l.mempool_txs_max < l.block_txs_max {
            return Err(field("limits.mempool_txs_max", "must be at least block_txs_max"));
        }
        if l.submit_timeout_ms == 0 || l.submit_timeout_ms > l.submit_timeout_ms_max {
            return Err(field("limits.submit_timeout_ms", "must be 1..=submit_timeout_ms_max"));
        }
        if l.stream_blocks_buffered_max == 0 {
            return Err(field("limits.stream_blocks_buffered_max", "must be at least 1"));
        }
        let r = &self.raft;
        if r.heartbeat_interval_ms == 0 || r.heartbeat_interval_ms >= r.election_timeout_min_ms {
            return Err(field(
                "raft.heartbeat_interval_ms",
                "must be above 0 and below election_timeout_min_ms",
            ));
        }
        if r.election_timeout_min_ms >= r.election_timeout_max_ms {
            return Err(field(
                "raft.election_timeout_min_ms",
                "must be below election_timeout_max_ms",
            ));
        }
        if r.snapshot_logs_since_last == 0 {
            return Err(field("raft.snapshot_logs_since_last", "must be at least 1"));
        }
        if !(4 * 1024..=16 * 1024 * 1024).contains(&r.snapshot_chunk_bytes_max) {
            return Err(field("raft.snapshot_chunk_bytes_max", "must be 4096..=16777216"));
        }
        if !(1..=1_024).contains(&r.append_entries_max) {
            return Err(field("raft.append_entries_max", "must be 1..=1024"));
        }
        if r.append_bytes_max < 64 * 1024 {
            return Err(field("raft.append_bytes_max", "must be at least 65536"));
        }
        if (self.limits.block_bytes_max as u64) > r.append_bytes_max {
            return Err(field(
                "limits.block_bytes_max",
                "must be at most raft.append_bytes_max (a block travels in one append, within one heartbeat interval)",
            ));
        }
        if r.snapshot_bytes_max < r.snapshot_chunk_bytes_max {
            return Err(field(
                "raft.snapshot_bytes_max",
                "must be at least snapshot_chunk_bytes_max",
            ));
        }
        if r.membership_check_ms == 0 {
            return Err(field("raft.membership_check_ms", "must be at least 1"));
        }
        if self.p2p_listen.parse::<libp2p::Multiaddr>().is_err() {
            return Err(field(
                "p2p_listen",
                format!(
                    "{:?} is not a multiaddr (e.g. \"/ip4/0.0.0.0/tcp/7100\")",
                    self.p2p_listen
                ),
            ));
        }
        for key in &self.bootstrap_peers {
            if key.len() != 64 || hex::decode(key).is_err() {
                return Err(field(
                    "bootstrap_peers",
                    format!("{key:?} is not a 64-hex-digit node key"),
                ));
            }
        }
        if let Some(url) = &self.index_url
            && !(url.starts_with("sqlite://")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
        {
            return Err(field(
                "index_url",
                format!("{url:?} is neither sqlite://PATH nor postgres://…"),
            ));
        }
        let i = &self.index;
        if i.batch_blocks_max == 0 || i.backoff_min_ms == 0 || i.backoff_max_ms < i.backoff_min_ms {
            return Err(field(
                "index",
                "batch_blocks_max and backoff_min_ms must be at least 1, backoff_max_ms at least backoff_min_ms",
            ));
        }
        let a = &self.api;
        for (name, value) in [
            ("api.token_ttl_ms", a.token_ttl_ms),
            ("api.challenge_ttl_ms", a.challenge_ttl_ms),
            ("api.commit_timeout_ms", a.commit_timeout_ms),
            ("api.sessions_max", a.sessions_max as u64),
            ("api.challenges_max", a.challenges_max as u64),
            ("api.import_rows_max", a.import_rows_max as u64),
            ("api.import_in_flight_max", a.import_in_flight_max as u64),
            ("api.imports_kept_max", a.imports_kept_max as u64),
            ("api.page_size_max", u64::from(a.page_size_max)),
            ("api.admin_requests_per_s", u64::from(a.admin_requests_per_s)),
            ("api.registrar_requests_per_s", u64::from(a.registrar_requests_per_s)),
            ("api.front_desk_requests_per_s", u64::from(a.front_desk_requests_per_s)),
            ("api.governor_requests_per_s", u64::from(a.governor_requests_per_s)),
            ("api.logins_per_minute", u64::from(a.logins_per_minute)),
            ("api.orphan_sweep_ms", a.orphan_sweep_ms),
            ("api.requests_in_flight_max", a.requests_in_flight_max as u64),
        ] {
            if value == 0 {
                return Err(field(name, "must be at least 1"));
            }
        }
        if a.request_timeout_ms <= a.commit_timeout_ms.saturating_add(self.p2p.forward_timeout_ms) {
            return Err(field(
                "api.request_timeout_ms",
                "must be more than api.commit_timeout_ms + p2p.forward_timeout_ms (a write may wait that long to reach the leader and commit)",
            ));
        }
        if a.body_bytes_max < 1024 || a.import_bytes_max < a.body_bytes_max {
            return Err(field(
                "api.body_bytes_max",
                "must be at least 1024, and import_bytes_max at least body_bytes_max",
            ));
        }
        let p = &self.p2p;
        for (name, value) in [
            ("p2p.request_timeout_ms", p.request_timeout_ms),
            ("p2p.forward_timeout_ms", p.forward_timeout_ms),
            ("p2p.idle_connection_timeout_ms", p.idle_connection_timeout_ms),
            ("p2p.backoff_min_ms", p.backoff_min_ms),
        ] {
            if value == 0 {
                return Err(field(name, "must be at least 1"));
            }
        }
        if p.request_timeout_ms < r.install_snapshot_timeout_ms.max(p.forward_timeout_ms) {
            return Err(field(
                "p2p.request_timeout_ms",
                "must be at least raft.install_snapshot_timeout_ms and p2p.forward_timeout_ms",
            ));
        }
        if p.backoff_max_ms < p.backoff_min_ms {
            return Err(field("p2p.backoff_max_ms", "must be at least backoff_min_ms"));
        }
        if !(1..=64).contains(&p.forwards_in_flight_max) {
            return Err(field("p2p.forwards_in_flight_max", "must be 1..=64"));
        }
        if p.commands_queued_max == 0 || p.inbound_streams_max == 0 {
            return Err(field(
                "p2p",
                "commands_queued_max and inbound_streams_max must be at least 1",
            ));
        }
        Ok(())
    }

    /// openraft's configuration from these settings.
    pub fn raft_config(&self, cluster_name: &str) -> Result<openraft::Config, ConfigError> {
        let r = &self.raft;
        openraft::Config {
            cluster_name: cluster_name.to_owned(),
            heartbeat_interval: r.heartbeat_interval_ms,
            election_timeout_min: r.election_timeout_min_ms,
            election_timeout_max: r.election_timeout_max_ms,
            install_snapshot_timeout: r.install_snapshot_timeout_ms,
            snapshot_max_chunk_size: r.snapshot_chunk_bytes_max,
            max_payload_entries: r.append_entries_max,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(r.snapshot_logs_since_last),
            max_in_snapshot_log_to_keep: r.logs_kept_after_snapshot,
            ..Default::default()
        }
        .validate()
        .map_err(|e| field("raft", e.to_string()))
    }

    /// The largest peer request: a full append of the largest blocks, or a
    /// snapshot chunk (CBOR spends up to two bytes per snapshot byte), plus
    /// framing. Responses are small except forwarded-batch verdicts.
    pub fn peer_request_bytes_max(&self) -> u64 {
        let block = u64::try_from(self.limits.block_bytes_max).unwrap_or(u64::MAX);
        // Entries beyond the byte cap are refused before sending, except a
        // single block, which may be up to block_bytes_max; framing is a few
        // bytes per transaction.
        let framing =
            u64::try_from(self.limits.block_txs_max).unwrap_or(u64::MAX).saturating_mul(16);
        let append =
            self.raft.append_bytes_max.max(block).saturating_add(framing).saturating_add(64 * 1024);
        // Forwarded batches are at most one block's bytes, within `append`.
        append.max(2 * self.raft.snapshot_chunk_bytes_max).saturating_add(1024 * 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("node.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    const BASE: &str = r#"
club = "harbour"
data_dir = "data"
node_key_file = "node.key"
genesis_file = "../genesis.toml"
genesis_tx_file = "../genesis.tx"
grpc_listen = "127.0.0.1:7201"
p2p_listen = "/ip4/127.0.0.1/tcp/7101"
"#;

    #[test]
    fn relative_paths_resolve_against_the_config_directory_and_defaults_fill_in() {
        let dir = tempfile::tempdir().unwrap();
        let config = NodeConfig::load(&write(dir.path(), BASE)).unwrap();
        assert_eq!(config.data_dir, dir.path().join("data"));
        assert_eq!(config.limits, Limits::default());
    }

    #[test]
    fn bad_fields_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{BASE}\n[limits]\nblock_txs_max = 0\n");
        let err = NodeConfig::load(&write(dir.path(), &text)).unwrap_err().to_string();
        assert!(err.contains("limits.block_txs_max"), "{err}");
        let err = NodeConfig::load(&write(dir.path(), &format!("{BASE}\nfoo = 1\n")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("foo"), "{err}");
        let err = NodeConfig::load(&write(dir.path(), &BASE.replace("7201\"", "x\"")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("grpc_listen"), "{err}");
        let err = NodeConfig::load(&write(dir.path(), &BASE.replace("/tcp/7101", "/tcp/x")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("p2p_listen"), "{err}");
    }

    #[test]
    fn a_block_larger_than_one_append_and_bad_bootstrap_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{BASE}\n[limits]\nblock_bytes_max = 2097152\n");
        let err = NodeConfig::load(&write(dir.path(), &text)).unwrap_err().to_string();
        assert!(err.contains("limits.block_bytes_max"), "{err}");
        let text = BASE.replace("p2p_listen", "bootstrap_peers = [\"00ff\"]\np2p_listen");
        let err = NodeConfig::load(&write(dir.path(), &text)).unwrap_err().to_string();
        assert!(err.contains("bootstrap_peers"), "{err}");
    }

    #[test]
    fn a_request_timeout_shorter_than_a_write_can_take_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let text =
            format!("{BASE}\n[api]\ncommit_timeout_ms = 10000\nrequest_timeout_ms = 12000\n");
        let err = NodeConfig::load(&write(dir.path(), &text)).unwrap_err().to_string();
        assert!(
            err.contains("api.request_timeout_ms") && err.contains("forward_timeout_ms"),
            "{err}"
        );
        let text = format!("{BASE}\n[api]\nrequests_in_flight_max = 0\n");
        let err = NodeConfig::load(&write(dir.path(), &text)).unwrap_err().to_string();
        assert!(err.contains("api.requests_in_flight_max"), "{err}");
    }

    #[test]
    fn peer_requests_fit_the_largest_append_and_a_cbor_encoded_snapshot_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let config = NodeConfig::load(&write(dir.path(), BASE)).unwrap();
        let max = config.peer_request_bytes_max();
        assert!(max >= config.raft.append_bytes_max + 64 * 1024);
        assert!(max >= 2 * config.raft.snapshot_chunk_bytes_max);
    }
}
