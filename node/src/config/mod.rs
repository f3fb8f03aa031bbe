//! The node's configuration file (`node.toml`) with environment overrides.
//!
//! Every field is validated and errors name the field. Relative paths are
//! relative to the config file's directory. Every field can be overridden
//! by an environment variable (figment merges the two layers):
//!
//! - a top-level field by `RECIP_<FIELD>` (`RECIP_GRPC_LISTEN`,
//!   `RECIP_INDEX_URL`);
//! - a field of a section by `RECIP_<SECTION>_<FIELD>`
//!   (`RECIP_RAFT_HEARTBEAT_INTERVAL_MS`, `RECIP_API_FRONT_DESK_REQUESTS_PER_S`).
//!
//! Names are the TOML names in upper case; a top-level field's exact name
//! wins over a section prefix (`RECIP_INDEX_URL` is `index_url`, not
//! `[index] url`). A text field (a string, path or address) takes the value
//! as written; numbers, booleans and lists are written as in TOML
//! (`RECIP_BOOTSTRAP_PEERS=[ab12…, cd34…]`). An empty `http_listen` or
//! `index_url` (in the file or a variable) turns that part off. Other
//! `RECIP_*` variables (`RECIP_LOG`, `RECIP_CONFIG`, the test clock) are
//! not fields and are left alone; one that looks like a section's field by
//! its name but names none (a typo, or a Kubernetes service's
//! `RECIP_API_SERVICE_HOST`) is ignored with a warning naming it.

//!
//! The sections' fields and defaults are in [`sections`]; the environment
//! layer and its naming rule in `env`.

mod env;
pub mod sections;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use sections::{ApiSettings, IndexSettings, Limits, P2pSettings, RaftSettings, WebSettings};

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
    #[serde(default, deserialize_with = "empty_is_none")]
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
    #[serde(default, deserialize_with = "empty_is_none")]
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
    /// Staff web app settings.
    #[serde(default)]
    pub web: WebSettings,
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

/// An optional field whose empty value means none (so that an empty
/// environment variable can turn off what the file turns on).
fn empty_is_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let text: Option<String> = Option::deserialize(deserializer)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

impl NodeConfig {
    /// Loads, applies the process's `RECIP_*` variables, resolves paths
    /// and validates.
    pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        let mut vars = Vec::new();
        for (name, value) in std::env::vars_os() {
            // Only variables that name a field matter; others (and other
            // programs' non-UTF-8 ones) are not read.
            let Some(name) = name.to_str().filter(|n| env::field_of_variable(n).is_some()) else {
                continue;
            };
            let value = value
                .into_string()
                .map_err(|_| field(name, "the variable's value is not UTF-8"))?;
            vars.push((name.to_owned(), value));
        }
        Self::load_with_env(path, vars)
    }

    /// [`NodeConfig::load`] with the environment `vars` given (tests pass
    /// their own; the process's are not read).
    pub fn load_with_env(
        path: &Path,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<NodeConfig, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Io { path: shown.clone(), source })?;
        let file: toml::Table = toml::from_str(&text)
            .map_err(|e| ConfigError::Parse { path: shown.clone(), message: e.to_string() })?;
        let (overrides, ignored) = env::EnvOverrides::new(vars);
        for name in ignored {
            tracing::warn!(
                variable = %name,
                "{name} looks like a node.toml field by its name but names none; it is ignored"
            );
        }
        let mut config: NodeConfig = figment::Figment::new()
            .merge(figment::providers::Serialized::defaults(file))
            .merge(overrides)
            .extract()
            .map_err(|e| env::figment_error(&shown, e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [
            &mut config.data_dir,
            &mut config.node_key_file,
            &mut config.genesis_file,
            &mut config.genesis_tx_file,
            &mut config.api.keystore_dir,
            &mut config.api.card_keys_dir,
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
        let w = &self.web;
        if !(60_000..=7 * 24 * 3_600_000).contains(&w.session_shift_ms) {
            return Err(field(
                "web.session_shift_ms",
                "must be from 60000 (a minute) to 604800000 (a week)",
            ));
        }
        if w.session_idle_ms < 60_000 || w.session_idle_ms > w.session_shift_ms {
            return Err(field(
                "web.session_idle_ms",
                "must be at least 60000 (a minute) and at most web.session_shift_ms",
            ));
        }
        if !(1..=1_000_000).contains(&w.sessions_max) {
            return Err(field("web.sessions_max", "must be 1..=1000000"));
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

    pub(super) fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("node.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    pub(super) const BASE: &str = r#"
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
        let config = NodeConfig::load_with_env(&write(dir.path(), BASE), []).unwrap();
        assert_eq!(config.data_dir, dir.path().join("data"));
        assert_eq!(config.limits, Limits::default());
    }

    #[test]
    fn bad_fields_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{BASE}\n[limits]\nblock_txs_max = 0\n");
        let err = NodeConfig::load_with_env(&write(dir.path(), &text), []).unwrap_err().to_string();
        assert!(err.contains("limits.block_txs_max"), "{err}");
        let err = NodeConfig::load_with_env(&write(dir.path(), &format!("{BASE}\nfoo = 1\n")), [])
            .unwrap_err()
            .to_string();
        assert!(err.contains("foo"), "{err}");
        let err = NodeConfig::load_with_env(&write(dir.path(), &BASE.replace("7201\"", "x\"")), [])
            .unwrap_err()
            .to_string();
        assert!(err.contains("grpc_listen"), "{err}");
        let err =
            NodeConfig::load_with_env(&write(dir.path(), &BASE.replace("/tcp/7101", "/tcp/x")), [])
                .unwrap_err()
                .to_string();
        assert!(err.contains("p2p_listen"), "{err}");
    }

    #[test]
    fn a_block_larger_than_one_append_and_bad_bootstrap_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{BASE}\n[limits]\nblock_bytes_max = 2097152\n");
        let err = NodeConfig::load_with_env(&write(dir.path(), &text), []).unwrap_err().to_string();
        assert!(err.contains("limits.block_bytes_max"), "{err}");
        let text = BASE.replace("p2p_listen", "bootstrap_peers = [\"00ff\"]\np2p_listen");
        let err = NodeConfig::load_with_env(&write(dir.path(), &text), []).unwrap_err().to_string();
        assert!(err.contains("bootstrap_peers"), "{err}");
    }

    #[test]
    fn a_request_timeout_shorter_than_a_write_can_take_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let text =
            format!("{BASE}\n[api]\ncommit_timeout_ms = 10000\nrequest_timeout_ms = 12000\n");
        let err = NodeConfig::load_with_env(&write(dir.path(), &text), []).unwrap_err().to_string();
        assert!(
            err.contains("api.request_timeout_ms") && err.contains("forward_timeout_ms"),
            "{err}"
        );
        let text = format!("{BASE}\n[api]\nrequests_in_flight_max = 0\n");
        let err = NodeConfig::load_with_env(&write(dir.path(), &text), []).unwrap_err().to_string();
        assert!(err.contains("api.requests_in_flight_max"), "{err}");
    }

    #[test]
    fn peer_requests_fit_the_largest_append_and_a_cbor_encoded_snapshot_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let config = NodeConfig::load_with_env(&write(dir.path(), BASE), []).unwrap();
        let max = config.peer_request_bytes_max();
        assert!(max >= config.raft.append_bytes_max + 64 * 1024);
        assert!(max >= 2 * config.raft.snapshot_chunk_bytes_max);
    }
}
