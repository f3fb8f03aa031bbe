//! The sections of `node.toml`, each with its defaults: `[limits]` (bounds
//! on every queue and batch), `[raft]`, `[p2p]`, `[index]` and `[api]`.

use std::path::PathBuf;

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
    /// Directory of the club's card-issuing keys (`*.key`, relative to the
    /// config file): the current one signs member cards; retired ones are
    /// kept so that cards they signed can be printed again.
    pub card_keys_dir: PathBuf,
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
            card_keys_dir: PathBuf::from("card-keys"),
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

/// The staff web app (`/`, on `http_listen` beside `/v1`; needs `index_url`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSettings {
    /// Longest a sign-in lasts: a shift at the door.
    pub session_shift_ms: u64,
    /// A sign-in unused this long ends before its shift does.
    pub session_idle_ms: u64,
    /// Most sign-ins live at once; one beyond it is answered "busy".
    pub sessions_max: usize,
    /// Mark the app's cookies `Secure`: set it when the app is served over
    /// TLS (a proxy terminating HTTPS in front of `http_listen`).
    pub secure_cookie: bool,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            session_shift_ms: 12 * 60 * 60 * 1000,
            session_idle_ms: 60 * 60 * 1000,
            sessions_max: 1_000,
            secure_cookie: false,
        }
    }
}
