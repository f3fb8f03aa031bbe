//! A new network: each founding club's keys, the genesis (signed by the
//! first club), and one node config per club on loopback ports.

use std::path::{Path, PathBuf};

use prost::Message;
use reciprocity_network_config::{
    ClubConfig, NetworkConfig, NodeConfig as GenesisNode, PolicyConfig,
};
use reciprocity_sdk::keys::Keypair;
use reciprocity_sdk::tx::sign_payload;

use super::{OrFail, fail};
use crate::error::Result;

/// Club ids a new network hands out, in order (then `club-<i>`).
const CLUB_NAMES: [(&str, &str, i32); 8] = [
    ("harbour", "Harbour Yacht Club", 0),
    ("alpine", "Alpine Rowing Club", 60),
    ("union", "Union University Club", -300),
    ("lakeside", "Lakeside Golf Club", 60),
    ("summit", "Summit City Club", 120),
    ("meadow", "Meadow Lawn Tennis Club", 0),
    ("pacific", "Pacific Athletic Club", -480),
    ("orient", "Orient Club", 540),
];

/// Founding clubs a network may have.
pub const FOUNDING_CLUBS_MAX: usize = 64;

/// What to create.
#[derive(Debug, Clone)]
pub struct InitSpec<'a> {
    /// Founding clubs, 1..=[`FOUNDING_CLUBS_MAX`].
    pub clubs: usize,
    /// The directory to create (must not hold a network yet).
    pub out: &'a Path,
    /// The chain id.
    pub chain_id: &'a str,
    /// Club i's gRPC port is this + i.
    pub grpc_port_base: u16,
    /// Club i's peer-to-peer port is this + i.
    pub p2p_port_base: u16,
    /// Club i's HTTP port is this + i.
    pub http_port_base: u16,
}

fn club_identity(index: usize) -> (String, String, i32) {
    match CLUB_NAMES.get(index) {
        Some((id, name, offset)) => ((*id).to_owned(), (*name).to_owned(), *offset),
        None => (format!("club-{index}"), format!("Club {index}"), 0),
    }
}

/// `base + index` as a port, or an error naming the flag.
fn port(base: u16, index: usize, what: &str) -> Result<u16> {
    u16::try_from(usize::from(base) + index)
        .map_err(|_| fail(format!("{what} {base} + {index} is past the last port")))
}

/// Creates the network; returns each club's id and node config path.
pub fn init(spec: &InitSpec<'_>) -> Result<Vec<(String, PathBuf)>> {
    if !(1..=FOUNDING_CLUBS_MAX).contains(&spec.clubs) {
        return Err(fail(format!("--clubs must be 1..={FOUNDING_CLUBS_MAX}, got {}", spec.clubs)));
    }
    let genesis_path = spec.out.join("genesis.toml");
    if genesis_path.exists() {
        return Err(fail(format!(
            "{} already exists: this directory holds a network",
            genesis_path.display()
        )));
    }
    // Every port is checked before anything is written.
    let last = spec.clubs - 1;
    port(spec.grpc_port_base, last, "--grpc-port-base")?;
    port(spec.p2p_port_base, last, "--p2p-port-base")?;
    port(spec.http_port_base, last, "--http-port-base")?;
    // What this call creates is removed again if it fails half-way, so
    // that a retry starts from what was there.
    let created_dirs: Vec<PathBuf> = std::iter::once(spec.out.to_path_buf())
        .chain((0..spec.clubs).map(|index| spec.out.join(club_identity(index).0)))
        .filter(|dir| !dir.exists())
        .collect();
    let genesis_tx_existed = spec.out.join("genesis.tx").exists();
    let result = write_network(spec, &genesis_path);
    if result.is_err() {
        let _ = std::fs::remove_file(&genesis_path);
        if !genesis_tx_existed {
            let _ = std::fs::remove_file(spec.out.join("genesis.tx"));
        }
        for dir in created_dirs.iter().rev() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    result
}

/// Writes the keys, the genesis and the node configs of `spec`.
fn write_network(spec: &InitSpec<'_>, genesis_path: &Path) -> Result<Vec<(String, PathBuf)>> {
    let writing = |path: &Path| format!("writing {}", path.display());
    std::fs::create_dir_all(spec.out).or_fail(|| writing(spec.out))?;
    let mut clubs = Vec::new();
    let mut club_keys = Vec::new();
    for index in 0..spec.clubs {
        let (id, name, offset) = club_identity(index);
        let dir = spec.out.join(&id);
        std::fs::create_dir_all(&dir).or_fail(|| writing(&dir))?;
        let club_key = Keypair::generate().or_fail(|| "generating a club key".into())?;
        let node_key = Keypair::generate().or_fail(|| "generating a node key".into())?;
        club_key.write_file(&dir.join("club.key")).or_fail(|| writing(&dir))?;
        node_key.write_file(&dir.join("node.key")).or_fail(|| writing(&dir))?;
        let p2p_port = port(spec.p2p_port_base, index, "--p2p-port-base")?;
        clubs.push(ClubConfig {
            id: id.clone(),
            name,
            club_key: club_key.public_key().to_hex(),
            utc_offset_minutes: offset,
            nodes: vec![GenesisNode {
                node_key: node_key.public_key().to_hex(),
                address: format!("/ip4/127.0.0.1/tcp/{p2p_port}"),
            }],
        });
        club_keys.push(club_key);
    }
    let network = NetworkConfig {
        chain_id: spec.chain_id.to_owned(),
        genesis_time_ms: crate::clock::now_ms(),
        policy: PolicyConfig::default(),
        clubs,
    };
    network.validate().or_fail(|| "the new network".into())?;
    std::fs::write(genesis_path, network.to_toml()).or_fail(|| writing(genesis_path))?;
    // Genesis is signed by the first founding club's key.
    let genesis_tx = sign_payload(&club_keys[0], &network.genesis_payload());
    let genesis_tx_path = spec.out.join("genesis.tx");
    std::fs::write(&genesis_tx_path, genesis_tx.encode_to_vec())
        .or_fail(|| writing(&genesis_tx_path))?;
    let mut created = Vec::new();
    for (index, club) in network.clubs.iter().enumerate() {
        let grpc_port = port(spec.grpc_port_base, index, "--grpc-port-base")?;
        let http_port = port(spec.http_port_base, index, "--http-port-base")?;
        let config = format!(
            "# Node of {name}.\nclub = \"{id}\"\ndata_dir = \"data\"\nnode_key_file = \"node.key\"\ngenesis_file = \"../genesis.toml\"\ngenesis_tx_file = \"../genesis.tx\"\ngrpc_listen = \"127.0.0.1:{grpc_port}\"\nhttp_listen = \"127.0.0.1:{http_port}\"\np2p_listen = \"{p2p_listen}\"\nindex_url = \"sqlite://index.db\"\n\n[limits]\n\n[raft]\n\n[p2p]\n",
            name = club.name,
            id = club.id,
            p2p_listen = club.nodes[0].address,
        );
        let path = spec.out.join(&club.id).join("node.toml");
        std::fs::write(&path, config).or_fail(|| writing(&path))?;
        created.push((club.id.clone(), path));
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(out: &Path, clubs: usize) -> InitSpec<'_> {
        InitSpec {
            clubs,
            out,
            chain_id: "reciprocity-test",
            grpc_port_base: 7200,
            p2p_port_base: 7100,
            http_port_base: 7000,
        }
    }

    #[test]
    fn a_new_network_has_a_valid_genesis_and_a_loadable_config_per_club() {
        let dir = tempfile::tempdir().expect("tempdir");
        let created = init(&spec(dir.path(), 3)).expect("init");
        let ids: Vec<&str> = created.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["harbour", "alpine", "union"]);
        let network = NetworkConfig::load(&dir.path().join("genesis.toml")).expect("genesis");
        assert_eq!(network.clubs.len(), 3);
        for (index, (_, path)) in created.iter().enumerate() {
            let config = crate::config::NodeConfig::load_with_env(path, []).expect("node config");
            assert_eq!(config.grpc_listen.port(), 7200 + index as u16);
        }
    }

    #[test]
    fn a_directory_that_holds_a_network_is_not_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        init(&spec(dir.path(), 1)).expect("first init");
        let before = std::fs::read(dir.path().join("genesis.toml")).expect("genesis");
        let error = init(&spec(dir.path(), 1)).expect_err("second init");
        assert!(error.to_string().contains("already exists"), "{error}");
        assert_eq!(std::fs::read(dir.path().join("genesis.toml")).expect("genesis"), before);
    }

    #[test]
    fn a_club_count_out_of_range_or_ports_past_the_end_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let error = init(&spec(dir.path(), 0)).expect_err("no clubs");
        assert!(error.to_string().contains("--clubs must be 1..=64"), "{error}");
        let mut high = spec(dir.path(), 3);
        high.grpc_port_base = u16::MAX - 1;
        let error = init(&high).expect_err("ports past the end");
        assert!(error.to_string().contains("--grpc-port-base"), "{error}");
        assert!(!dir.path().join("genesis.toml").exists(), "nothing is written");
    }
}
