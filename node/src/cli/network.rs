//! `recip network init`: keys, genesis and one node config per club.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use prost::Message;
use reciprocity_network_config::{
    ClubConfig, NetworkConfig, NodeConfig as GenesisNode, PolicyConfig,
};
use reciprocity_sdk::keys::Keypair;
use reciprocity_sdk::tx::sign_payload;

use super::say;

/// Club ids `network init` hands out, in order.
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

#[derive(Debug, Subcommand)]
pub(crate) enum NetworkCommand {
    /// Create keys, genesis and node configs for a new network.
    Init {
        /// Number of founding clubs (1-64).
        #[arg(long, default_value_t = 3)]
        clubs: usize,
        /// Directory to create (must not hold a network yet).
        #[arg(long)]
        out: PathBuf,
        /// Chain id.
        #[arg(long, default_value = "reciprocity-devnet")]
        chain_id: String,
        /// First gRPC port; club i listens on base + i.
        #[arg(long, default_value_t = 7200)]
        grpc_port_base: u16,
        /// First peer-to-peer port; club i listens on base + i.
        #[arg(long, default_value_t = 7100)]
        p2p_port_base: u16,
    },
}

pub(crate) fn run(command: NetworkCommand) -> anyhow::Result<()> {
    match command {
        NetworkCommand::Init { clubs, out, chain_id, grpc_port_base, p2p_port_base } => {
            let created = init(&InitSpec {
                clubs,
                out: &out,
                chain_id: &chain_id,
                grpc_port_base,
                p2p_port_base,
            })?;
            say(format_args!(
                "created network {chain_id:?} with {} clubs in {}",
                created.len(),
                out.display()
            ));
            for (club, config) in created {
                say(format_args!("  {club}: {}", config.display()));
            }
            Ok(())
        }
    }
}

/// What to create.
pub(crate) struct InitSpec<'a> {
    pub(crate) clubs: usize,
    pub(crate) out: &'a Path,
    pub(crate) chain_id: &'a str,
    pub(crate) grpc_port_base: u16,
    pub(crate) p2p_port_base: u16,
}

fn club_identity(index: usize) -> (String, String, i32) {
    match CLUB_NAMES.get(index) {
        Some((id, name, offset)) => ((*id).to_owned(), (*name).to_owned(), *offset),
        None => (format!("club-{index}"), format!("Club {index}"), 0),
    }
}

/// Creates the network; returns each club's node config path.
pub(crate) fn init(spec: &InitSpec<'_>) -> anyhow::Result<Vec<(String, PathBuf)>> {
    anyhow::ensure!((1..=64).contains(&spec.clubs), "--clubs must be 1..=64, got {}", spec.clubs);
    let genesis_path = spec.out.join("genesis.toml");
    anyhow::ensure!(
        !genesis_path.exists(),
        "{} already exists: this directory holds a network",
        genesis_path.display()
    );
    std::fs::create_dir_all(spec.out)?;
    let mut clubs = Vec::new();
    let mut club_keys = Vec::new();
    for index in 0..spec.clubs {
        let (id, name, offset) = club_identity(index);
        let dir = spec.out.join(&id);
        std::fs::create_dir_all(&dir)?;
        let club_key = Keypair::generate()?;
        let node_key = Keypair::generate()?;
        club_key.write_file(&dir.join("club.key"))?;
        node_key.write_file(&dir.join("node.key"))?;
        let p2p_port = u32::from(spec.p2p_port_base) + u32::try_from(index)?;
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
        genesis_time_ms: reciprocity_node::service::node::now_ms(),
        policy: PolicyConfig::default(),
        clubs,
    };
    network.validate()?;
    std::fs::write(&genesis_path, network.to_toml())?;
    // Genesis is signed by the first founding club's key.
    let genesis_tx = sign_payload(&club_keys[0], &network.genesis_payload());
    std::fs::write(spec.out.join("genesis.tx"), genesis_tx.encode_to_vec())?;
    let mut created = Vec::new();
    for (index, club) in network.clubs.iter().enumerate() {
        let grpc_port = u32::from(spec.grpc_port_base) + u32::try_from(index)?;
        let config = format!(
            "# Node of {name}.\nclub = \"{id}\"\ndata_dir = \"data\"\nnode_key_file = \"node.key\"\ngenesis_file = \"../genesis.toml\"\ngenesis_tx_file = \"../genesis.tx\"\ngrpc_listen = \"127.0.0.1:{grpc_port}\"\n\n[limits]\n\n[raft]\n",
            name = club.name,
            id = club.id,
        );
        let path = spec.out.join(&club.id).join("node.toml");
        std::fs::write(&path, config)?;
        created.push((club.id.clone(), path));
    }
    Ok(created)
}
