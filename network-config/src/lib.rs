//! The network configuration of Reciprocity: the genesis every node starts
//! from — chain id, genesis time, governance policy, and the founding clubs
//! with their club keys, node keys, addresses and UTC offsets.
//!
//! [`NetworkConfig::from_toml_str`] / [`NetworkConfig::load`] parse TOML and
//! validate every field; all problems are reported at once, each naming its
//! field (`clubs[1].nodes[0].node_key: ...`). A valid config converts to the
//! genesis transaction body with [`NetworkConfig::to_genesis`].
//!
//! ```
//! let text = include_str!("../examples/three-clubs.toml");
//! let config = reciprocity_network_config::NetworkConfig::from_toml_str(text).unwrap();
//! assert_eq!(config.clubs.len(), 3);
//! ```

use std::collections::BTreeSet;
use std::path::Path;

use reciprocity_chaincode::{ClubId, ValidationCode, decode};
use reciprocity_proto::v1 as wire;
use serde::{Deserialize, Serialize};

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field, e.g. `clubs[0].club_key`.
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// Why a network configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read network config {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The text is not TOML of the expected shape.
    #[error("network config is not valid TOML of the expected shape: {0}")]
    Parse(String),
    /// Fields have invalid values.
    #[error("network config has {} invalid field(s):\n  {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Invalid(Vec<FieldError>),
}

/// Result alias of this crate.
pub type Result<T, E = ConfigError> = std::result::Result<T, E>;

/// Governance policy (see the `Policy` wire message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Minimum turnout, basis points (1..=10000).
    pub quorum_bp: u32,
    /// Yes must exceed this share of yes + no, basis points (0..10000).
    pub threshold_bp: u32,
    /// Same for removing a club (threshold_bp..10000).
    pub removal_threshold_bp: u32,
    /// Shortest voting period.
    pub voting_period_ms_min: u64,
    /// Longest voting period.
    pub voting_period_ms_max: u64,
    /// Longest validity window of a transaction.
    pub tx_validity_ms_max: u64,
    /// How far a transaction's creation time may lead the block time.
    pub clock_skew_ms_max: u64,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            quorum_bp: 5_000,
            threshold_bp: 5_000,
            removal_threshold_bp: 6_667,
            voting_period_ms_min: 60_000,
            voting_period_ms_max: 30 * 86_400_000,
            tx_validity_ms_max: 86_400_000,
            clock_skew_ms_max: 60_000,
        }
    }
}

impl PolicyConfig {
    /// The wire form.
    pub fn to_wire(&self) -> wire::Policy {
        wire::Policy {
            quorum_bp: self.quorum_bp,
            threshold_bp: self.threshold_bp,
            removal_threshold_bp: self.removal_threshold_bp,
            voting_period_ms_min: self.voting_period_ms_min,
            voting_period_ms_max: self.voting_period_ms_max,
            tx_validity_ms_max: self.tx_validity_ms_max,
            clock_skew_ms_max: self.clock_skew_ms_max,
        }
    }
}

/// One node of a club.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The node's Ed25519 public key (its libp2p identity), 64 hex characters.
    pub node_key: String,
    /// Where peers dial it, a multiaddr such as `/ip4/127.0.0.1/tcp/7101`.
    pub address: String,
}

/// A founding club.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClubConfig {
    /// Club id: 1-32 chars of a-z, 0-9, '-', starting with a letter.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The club key (Ed25519 public key), 64 hex characters.
    pub club_key: String,
    /// Offset of the clubhouse's local time from UTC, minutes (-840..=840).
    pub utc_offset_minutes: i32,
    /// The club's nodes (at least one).
    pub nodes: Vec<NodeConfig>,
}

/// The whole network configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// The chain id every transaction names: 1-64 chars of a-z, 0-9, '-', '_', '.'.
    pub chain_id: String,
    /// Timestamp of the genesis block (Unix ms).
    pub genesis_time_ms: u64,
    /// Governance policy.
    pub policy: PolicyConfig,
    /// Founding clubs.
    pub clubs: Vec<ClubConfig>,
}

/// Longest chain id.
pub const CHAIN_ID_CHARS_MAX: usize = 64;

fn key_problem(text: &str) -> Option<String> {
    let bytes = match hex::decode(text) {
        Ok(bytes) => bytes,
        Err(_) => return Some(format!("{text:?} is not hex")),
    };
    if bytes.len() != 32 {
        return Some(format!("expected 32 bytes (64 hex characters), got {} bytes", bytes.len()));
    }
    match decode::public_key(&bytes) {
        Err(ValidationCode::WeakKey) => Some("a weak (small-order) Ed25519 key".into()),
        Err(_) => Some("not a valid Ed25519 public key".into()),
        Ok(_) => None,
    }
}

impl NetworkConfig {
    /// Reads and validates a TOML file.
    pub fn load(path: &Path) -> Result<NetworkConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Io { path: path.display().to_string(), source })?;
        NetworkConfig::from_toml_str(&text)
    }

    /// Parses and validates TOML text.
    pub fn from_toml_str(text: &str) -> Result<NetworkConfig> {
        let config: NetworkConfig =
            toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// The config as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("network config always serializes")
    }

    /// Checks every field; reports all problems, each naming its field.
    pub fn validate(&self) -> Result<()> {
        let mut errors = Vec::new();
        let mut problem =
            |field: String, text: String| errors.push(FieldError { field, problem: text });
        let chain_ok = !self.chain_id.is_empty()
            && self.chain_id.len() <= CHAIN_ID_CHARS_MAX
            && self.chain_id.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
            });
        if !chain_ok {
            problem(
                "chain_id".into(),
                format!("{:?} must be 1-64 chars of a-z, 0-9, '-', '_', '.'", self.chain_id),
            );
        }
        if self.genesis_time_ms == 0 {
            problem("genesis_time_ms".into(), "must be a Unix time in ms, not 0".into());
        }
        self.validate_policy(&mut problem);
        if self.clubs.is_empty() {
            problem("clubs".into(), "at least one founding club is needed".into());
        }
        let mut ids = BTreeSet::new();
        let mut keys = BTreeSet::new();
        for (i, club) in self.clubs.iter().enumerate() {
            let at = |field: &str| format!("clubs[{i}].{field}");
            if ClubId::parse(&club.id).is_none() {
                problem(
                    at("id"),
                    format!(
                        "{:?} must be 1-32 chars of a-z, 0-9, '-', starting with a letter",
                        club.id
                    ),
                );
            } else if !ids.insert(club.id.clone()) {
                problem(at("id"), format!("{:?} is used by another club", club.id));
            }
            let name_chars = club.name.chars().count();
            if name_chars == 0
                || name_chars > 100
                || club.name.trim() != club.name
                || club.name.chars().any(char::is_control)
            {
                problem(at("name"), "must be 1-100 characters without leading/trailing spaces or control characters".into());
            }
            if let Some(p) = key_problem(&club.club_key) {
                problem(at("club_key"), p);
            } else if !keys.insert(club.club_key.to_lowercase()) {
                problem(at("club_key"), "is used elsewhere in this config".into());
            }
            if !(-840..=840).contains(&club.utc_offset_minutes) {
                problem(
                    at("utc_offset_minutes"),
                    format!("{} is outside -840..=840", club.utc_offset_minutes),
                );
            }
            if club.nodes.is_empty() || club.nodes.len() > 16 {
                problem(at("nodes"), format!("needs 1-16 nodes, has {}", club.nodes.len()));
            }
            for (j, node) in club.nodes.iter().enumerate() {
                let at = |field: &str| format!("clubs[{i}].nodes[{j}].{field}");
                if let Some(p) = key_problem(&node.node_key) {
                    problem(at("node_key"), p);
                } else if !keys.insert(node.node_key.to_lowercase()) {
                    problem(at("node_key"), "is used elsewhere in this config".into());
                }
                let address_ok = node.address.starts_with('/')
                    && node.address.len() <= 256
                    && !node.address.chars().any(|c| c.is_whitespace() || c.is_control());
                if !address_ok {
                    problem(
                        at("address"),
                        format!(
                            "{:?} must be a multiaddr like /ip4/10.0.0.5/tcp/7100",
                            node.address
                        ),
                    );
                }
            }
        }
        if !errors.is_empty() {
            return Err(ConfigError::Invalid(errors));
        }
        // Belt and braces: the chaincode must accept the genesis body too.
        let body = wire::tx_payload::Body::Genesis(self.to_genesis());
        if let wire::tx_payload::Body::Genesis(g) = &body {
            for (i, spec) in g.clubs.iter().enumerate() {
                if let Err(code) = decode::club_spec(spec) {
                    return Err(ConfigError::Invalid(vec![FieldError {
                        field: format!("clubs[{i}]"),
                        problem: format!("rejected by the chaincode: {code}"),
                    }]));
                }
            }
        }
        Ok(())
    }

    fn validate_policy(&self, problem: &mut impl FnMut(String, String)) {
        use decode::limits;
        let p = &self.policy;
        let field = |name: &str| format!("policy.{name}");
        if !(1..=10_000).contains(&p.quorum_bp) {
            problem(field("quorum_bp"), format!("{} is outside 1..=10000", p.quorum_bp));
        }
        if p.threshold_bp >= 10_000 {
            problem(field("threshold_bp"), format!("{} must be below 10000", p.threshold_bp));
        }
        if p.removal_threshold_bp < p.threshold_bp || p.removal_threshold_bp >= 10_000 {
            problem(
                field("removal_threshold_bp"),
                format!(
                    "{} must be in threshold_bp..10000 ({}..10000)",
                    p.removal_threshold_bp, p.threshold_bp
                ),
            );
        }
        if p.voting_period_ms_min == 0 || p.voting_period_ms_min > p.voting_period_ms_max {
            problem(
                field("voting_period_ms_min"),
                "must be at least 1 and at most voting_period_ms_max".into(),
            );
        }
        if p.voting_period_ms_max > limits::POLICY_VOTING_PERIOD_MS_MAX {
            problem(
                field("voting_period_ms_max"),
                format!("must be at most {}", limits::POLICY_VOTING_PERIOD_MS_MAX),
            );
        }
        if !(limits::POLICY_TX_VALIDITY_MS_MIN..=limits::POLICY_TX_VALIDITY_MS_MAX)
            .contains(&p.tx_validity_ms_max)
        {
            problem(
                field("tx_validity_ms_max"),
                format!(
                    "{} is outside {}..={}",
                    p.tx_validity_ms_max,
                    limits::POLICY_TX_VALIDITY_MS_MIN,
                    limits::POLICY_TX_VALIDITY_MS_MAX
                ),
            );
        }
        if p.clock_skew_ms_max > limits::POLICY_CLOCK_SKEW_MS_MAX {
            problem(
                field("clock_skew_ms_max"),
                format!("must be at most {}", limits::POLICY_CLOCK_SKEW_MS_MAX),
            );
        }
    }

    /// The genesis transaction body. Call on a validated config.
    pub fn to_genesis(&self) -> wire::Genesis {
        let key = |text: &str| hex::decode(text).unwrap_or_default();
        wire::Genesis {
            clubs: self
                .clubs
                .iter()
                .map(|c| wire::ClubSpec {
                    club_id: c.id.clone(),
                    name: c.name.clone(),
                    club_key: key(&c.club_key),
                    nodes: c
                        .nodes
                        .iter()
                        .map(|n| wire::NodeSpec {
                            node_key: key(&n.node_key),
                            address: n.address.clone(),
                        })
                        .collect(),
                    utc_offset_minutes: c.utc_offset_minutes,
                })
                .collect(),
            policy: Some(self.policy.to_wire()),
        }
    }

    /// The genesis payload: nonce 0, created and expiring at the genesis time,
    /// so every node derives the same bytes; one founding club key signs it.
    pub fn genesis_payload(&self) -> wire::TxPayload {
        wire::TxPayload {
            chain_id: self.chain_id.clone(),
            nonce: 0,
            created_at_ms: self.genesis_time_ms,
            expires_at_ms: self.genesis_time_ms,
            body: Some(wire::tx_payload::Body::Genesis(self.to_genesis())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../examples/three-clubs.toml");

    fn errors_of(text: &str) -> Vec<FieldError> {
        match NetworkConfig::from_toml_str(text) {
            Err(ConfigError::Invalid(errors)) => errors,
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn example_network_is_valid_and_round_trips_through_toml() {
        let config = NetworkConfig::from_toml_str(EXAMPLE).unwrap();
        assert_eq!(config.clubs.len(), 3);
        let again = NetworkConfig::from_toml_str(&config.to_toml()).unwrap();
        assert_eq!(again, config);
    }

    #[test]
    fn every_bad_field_is_named() {
        let text = EXAMPLE
            .replacen("quorum_bp = 5000", "quorum_bp = 0", 1)
            .replacen("id = \"harbour\"", "id = \"Harbour Club\"", 1)
            .replacen("utc_offset_minutes = -300", "utc_offset_minutes = -900", 1);
        let fields: Vec<String> = errors_of(&text).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["policy.quorum_bp", "clubs[0].id", "clubs[2].utc_offset_minutes"]);
    }

    #[test]
    fn bad_and_duplicate_keys_are_named() {
        let config = NetworkConfig::from_toml_str(EXAMPLE).unwrap();
        let mut broken = config.clone();
        broken.clubs[1].club_key = "abcd".into();
        broken.clubs[2].nodes[0].node_key = config.clubs[0].club_key.clone();
        let errors = match broken.validate() {
            Err(ConfigError::Invalid(errors)) => errors,
            other => panic!("{other:?}"),
        };
        assert_eq!(errors[0].field, "clubs[1].club_key");
        assert!(errors[0].problem.contains("32 bytes"), "{}", errors[0].problem);
        assert_eq!(errors[1].field, "clubs[2].nodes[0].node_key");
        assert!(errors[1].problem.contains("used elsewhere"));
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_parse_errors_naming_the_key() {
        let err =
            NetworkConfig::from_toml_str(&format!("{EXAMPLE}\nfounded = 1900\n")).unwrap_err();
        assert!(err.to_string().contains("founded"), "{err}");
        let err = NetworkConfig::from_toml_str(&EXAMPLE.replacen(
            "quorum_bp = 5000",
            "quorum_bp = \"half\"",
            1,
        ))
        .unwrap_err();
        assert!(err.to_string().contains("quorum_bp"), "{err}");
    }

    #[test]
    fn genesis_payload_is_the_same_bytes_every_time() {
        use reciprocity_proto::prost::Message;
        let config = NetworkConfig::from_toml_str(EXAMPLE).unwrap();
        assert_eq!(
            config.genesis_payload().encode_to_vec(),
            config.genesis_payload().encode_to_vec()
        );
        assert_eq!(config.genesis_payload().expires_at_ms, config.genesis_time_ms);
    }
}
