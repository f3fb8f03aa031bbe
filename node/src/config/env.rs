//! The environment layer of the node's configuration: which `RECIP_*`
//! variable overrides which field (the rule is in the [module
//! docs](super)), the variables as a figment provider, and figment's errors
//! as [`ConfigError`]s that name the field and the variable.

use super::{ConfigError, field};

/// The top-level fields of `node.toml` that are not sections.
pub(super) const TOP_LEVEL_FIELDS: [&str; 10] = [
    "club",
    "data_dir",
    "node_key_file",
    "genesis_file",
    "genesis_tx_file",
    "grpc_listen",
    "http_listen",
    "p2p_listen",
    "bootstrap_peers",
    "index_url",
];

/// The sections of `node.toml`.
const SECTIONS: [&str; 6] = ["limits", "raft", "p2p", "index", "api", "web"];

/// The prefix of every variable that overrides a field.
pub(super) const ENV_PREFIX: &str = "RECIP_";

/// The field (dotted path) an environment variable names by the rule, if
/// any: `RECIP_<FIELD>` for a top-level field, `RECIP_<SECTION>_<FIELD>`
/// for a field of a section (whether the section has that field or not).
pub(super) fn field_of_variable(name: &str) -> Option<String> {
    let rest = name.strip_prefix(ENV_PREFIX)?.to_ascii_lowercase();
    if TOP_LEVEL_FIELDS.contains(&rest.as_str()) {
        return Some(rest);
    }
    SECTIONS.iter().find_map(|section| {
        let field = rest.strip_prefix(section)?.strip_prefix('_')?;
        (!field.is_empty()).then(|| format!("{section}.{field}"))
    })
}

/// The variable that overrides the field at `path` (`raft.heartbeat_interval_ms`;
/// positions in a list, `bootstrap_peers.0`, name the list's variable).
pub(super) fn variable_of_field(path: &str) -> String {
    let parts: Vec<&str> =
        path.split('.').filter(|part| !part.chars().all(|c| c.is_ascii_digit())).collect();
    format!("{ENV_PREFIX}{}", parts.join("_").to_ascii_uppercase())
}

/// Whether a field's value is text (a string, path or address), taken from
/// the variable as written rather than parsed as a number or a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    Text,
    Value,
}

/// Every field a variable can override, with its kind: the top-level
/// fields and each section's fields as its defaults serialize.
fn known_fields() -> std::collections::BTreeMap<String, FieldKind> {
    use super::sections::{
        ApiSettings, IndexSettings, Limits, P2pSettings, RaftSettings, WebSettings,
    };
    let mut known = std::collections::BTreeMap::new();
    for name in TOP_LEVEL_FIELDS {
        let kind = if name == "bootstrap_peers" { FieldKind::Value } else { FieldKind::Text };
        known.insert(name.to_owned(), kind);
    }
    let sections = [
        ("limits", toml::Table::try_from(Limits::default())),
        ("raft", toml::Table::try_from(RaftSettings::default())),
        ("p2p", toml::Table::try_from(P2pSettings::default())),
        ("index", toml::Table::try_from(IndexSettings::default())),
        ("api", toml::Table::try_from(ApiSettings::default())),
        ("web", toml::Table::try_from(WebSettings::default())),
    ];
    for (section, table) in sections {
        let table = table.expect("a section's defaults serialize to a table");
        for (name, value) in table {
            let kind = if value.is_str() { FieldKind::Text } else { FieldKind::Value };
            known.insert(format!("{section}.{name}"), kind);
        }
    }
    known
}

/// The environment layer: the `RECIP_*` variables that name fields, as a
/// figment provider. Text fields take the variable as written; the others
/// are parsed as figment parses environment values (numbers, booleans,
/// `[a, b]` lists).
pub(super) struct EnvOverrides {
    /// (field path, kind, value), in the order given.
    fields: Vec<(String, FieldKind, String)>,
}

impl EnvOverrides {
    /// The layer of `vars`, and the variables that look like a section's
    /// field by the rule but name none (a typo, or another program's
    /// variable such as a Kubernetes service's `RECIP_API_SERVICE_HOST`):
    /// those are left out, for the caller to warn about.
    pub(super) fn new(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> (EnvOverrides, Vec<String>) {
        let known = known_fields();
        let mut fields = Vec::new();
        let mut ignored = Vec::new();
        for (name, value) in vars {
            let Some(path) = field_of_variable(&name) else { continue };
            match known.get(&path) {
                Some(kind) => fields.push((path, *kind, value)),
                None => ignored.push(name),
            }
        }
        (EnvOverrides { fields }, ignored)
    }
}

impl figment::Provider for EnvOverrides {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named("environment variable")
            .interpolater(|_, path| variable_of_field(&path.join(".")))
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        let mut dict = figment::value::Dict::new();
        for (path, kind, value) in &self.fields {
            let value: figment::value::Value = match kind {
                FieldKind::Text => figment::value::Value::from(value.clone()),
                FieldKind::Value => value.parse().expect("parsing a value is infallible"),
            };
            let nested = figment::util::nest(path, value)
                .into_dict()
                .expect("a non-empty path nests into a dictionary");
            dict = merge_dicts(dict, nested);
        }
        Ok(figment::Profile::Default.collect(dict))
    }
}

/// `a` with `b`'s entries added (nested dictionaries merged, `b` winning).
fn merge_dicts(mut a: figment::value::Dict, b: figment::value::Dict) -> figment::value::Dict {
    for (key, value) in b {
        let merged = match (a.remove(&key), value) {
            (
                Some(figment::value::Value::Dict(_, inner_a)),
                figment::value::Value::Dict(tag, inner_b),
            ) => figment::value::Value::Dict(tag, merge_dicts(inner_a, inner_b)),
            (_, value) => value,
        };
        a.insert(key, merged);
    }
    a
}

/// A figment error as a [`ConfigError`] naming the field (and the variable
/// when the value came from the environment).
pub(super) fn figment_error(path: &str, error: figment::Error) -> ConfigError {
    let error = error.into_iter().next().expect("a figment error holds at least one");
    let mut field_path = error.path.join(".");
    // figment puts an unknown key on the path already, but not always.
    if let figment::error::Kind::UnknownField(name, _) = &error.kind
        && error.path.last() != Some(name)
    {
        field_path =
            if field_path.is_empty() { name.clone() } else { format!("{field_path}.{name}") };
    }
    let from_env = error.metadata.as_ref().is_some_and(|m| m.name == "environment variable");
    let problem = if from_env {
        format!("{} (from {})", error.kind, variable_of_field(&field_path))
    } else {
        error.kind.to_string()
    };
    if field_path.is_empty() {
        ConfigError::Parse { path: path.to_owned(), message: problem }
    } else {
        field(&field_path, problem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NodeConfig;
    use crate::config::tests::{BASE, write};

    /// `vars` as the environment of a load.
    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    /// Every leaf field of `table`, as dotted paths.
    fn leaf_paths(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
        for (key, value) in table {
            let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            match value {
                toml::Value::Table(inner) => leaf_paths(inner, &path, out),
                _ => out.push(path),
            }
        }
    }

    #[test]
    fn every_field_has_a_variable_and_the_variable_names_that_field() {
        let dir = tempfile::tempdir().unwrap();
        let text = BASE.replace(
            "p2p_listen",
            "http_listen = \"127.0.0.1:7001\"\nindex_url = \"sqlite://index.db\"\nbootstrap_peers = []\np2p_listen",
        );
        let config = NodeConfig::load_with_env(&write(dir.path(), &text), env(&[])).unwrap();
        let table = toml::Table::try_from(&config).unwrap();
        let mut paths = Vec::new();
        leaf_paths(&table, "", &mut paths);
        assert!(paths.len() > 50, "{paths:?}");
        let known = known_fields();
        for path in paths {
            assert!(known.contains_key(&path), "{path} has no variable");
            let variable = variable_of_field(&path);
            assert_eq!(field_of_variable(&variable), Some(path.clone()), "{variable}");
        }
        // Variables of other tools are not fields.
        for other in ["RECIP_LOG", "RECIP_CONFIG", "RECIP_TEST_CLOCK_OFFSET_MS", "PATH"] {
            assert_eq!(field_of_variable(other), None, "{other}");
        }
    }

    #[test]
    fn variables_override_the_file_in_every_section_and_empty_ones_turn_parts_off() {
        let dir = tempfile::tempdir().unwrap();
        let text = BASE.replace(
            "p2p_listen",
            "http_listen = \"127.0.0.1:7001\"\nindex_url = \"sqlite://index.db\"\np2p_listen",
        );
        let path = write(dir.path(), &format!("{text}\n[raft]\nheartbeat_interval_ms = 250\n"));
        let key = "ab".repeat(32);
        let peers = format!("[{key}]");
        let vars = env(&[
            ("RECIP_RAFT_HEARTBEAT_INTERVAL_MS", "100"),
            ("RECIP_LIMITS_SUBMIT_TIMEOUT_MS_MAX", "90000"),
            ("RECIP_P2P_BACKOFF_MAX_MS", "7000"),
            ("RECIP_API_FRONT_DESK_REQUESTS_PER_S", "5"),
            ("RECIP_INDEX_BACKOFF_MAX_MS", "1234"),
            ("RECIP_GRPC_LISTEN", "127.0.0.1:9999"),
            ("RECIP_BOOTSTRAP_PEERS", &peers),
            ("RECIP_HTTP_LISTEN", ""),
            ("RECIP_INDEX_URL", ""),
            ("RECIP_LOG", "debug"),
        ]);
        let config = NodeConfig::load_with_env(&path, vars).unwrap();
        assert_eq!(config.raft.heartbeat_interval_ms, 100, "the variable wins over the file");
        assert_eq!(config.limits.submit_timeout_ms_max, 90_000);
        assert_eq!(config.p2p.backoff_max_ms, 7_000);
        assert_eq!(config.api.front_desk_requests_per_s, 5);
        assert_eq!(config.index.backoff_max_ms, 1_234);
        assert_eq!(config.grpc_listen.port(), 9999);
        assert_eq!(config.bootstrap_peers, [key]);
        assert_eq!((config.http_listen, config.index_url), (None, None));
        // Without the variables the file's values hold.
        let config = NodeConfig::load_with_env(&path, env(&[])).unwrap();
        assert_eq!(config.raft.heartbeat_interval_ms, 250);
        assert!(config.http_listen.is_some() && config.index_url.is_some());
    }

    #[test]
    fn a_bad_variable_is_refused_naming_its_field_and_variable_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), BASE);
        let err = NodeConfig::load_with_env(&path, env(&[("RECIP_LIMITS_BLOCK_TXS_MAX", "many")]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("node config: limits.block_txs_max: "), "{err}");
        assert!(err.ends_with("(from RECIP_LIMITS_BLOCK_TXS_MAX)"), "{err}");
        let err = NodeConfig::load_with_env(&path, env(&[("RECIP_GRPC_LISTEN", "nowhere")]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("node config: grpc_listen: "), "{err}");
        assert!(err.ends_with("(from RECIP_GRPC_LISTEN)"), "{err}");
        // An element of a list names the list's variable.
        let err = NodeConfig::load_with_env(&path, env(&[("RECIP_BOOTSTRAP_PEERS", "[1]")]))
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("(from RECIP_BOOTSTRAP_PEERS)"), "{err}");
        // Validation still names the field of a value that came from a variable.
        let err = NodeConfig::load_with_env(&path, env(&[("RECIP_LIMITS_BLOCK_TXS_MAX", "0")]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("node config: limits.block_txs_max: "), "{err}");
        // An unknown field of the file is named once.
        let err =
            NodeConfig::load_with_env(&write(dir.path(), &format!("{BASE}\nfoo = 1\n")), env(&[]))
                .unwrap_err()
                .to_string();
        assert!(err.starts_with("node config: foo: ") && !err.contains("foo.foo"), "{err}");
    }

    #[test]
    fn a_variable_that_names_no_field_of_its_section_is_set_aside_not_fatal() {
        let vars = env(&[
            ("RECIP_RAFT_HEARTBEAT_INTERVL_MS", "100"),
            ("RECIP_API_SERVICE_HOST", "10.0.0.7"),
            ("RECIP_LOG", "debug"),
            ("RECIP_RAFT_HEARTBEAT_INTERVAL_MS", "120"),
        ]);
        let (layer, ignored) = EnvOverrides::new(vars.clone());
        assert_eq!(ignored, ["RECIP_RAFT_HEARTBEAT_INTERVL_MS", "RECIP_API_SERVICE_HOST"]);
        assert_eq!(layer.fields.len(), 1);
        let dir = tempfile::tempdir().unwrap();
        let config = NodeConfig::load_with_env(&write(dir.path(), BASE), vars).unwrap();
        assert_eq!(config.raft.heartbeat_interval_ms, 120);
    }

    #[test]
    fn text_fields_take_the_variable_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let vars = env(&[("RECIP_DATA_DIR", "2024"), ("RECIP_API_KEYSTORE_DIR", "1.5")]);
        let config = NodeConfig::load_with_env(&write(dir.path(), BASE), vars).unwrap();
        assert_eq!(config.data_dir, dir.path().join("2024"));
        assert_eq!(config.api.keystore_dir, dir.path().join("1.5"));
    }
}
