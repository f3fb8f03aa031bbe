//! `recip network init`: keys, genesis and one node config per club.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use reciprocity_network_config::{ClubConfig, NetworkConfig, NodeConfig as GenesisNode};
use reciprocity_sdk::keys::Keypair;

use reciprocity_node::provision::network;

use super::say;

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
        /// First HTTP port; club i listens on base + i.
        #[arg(long, default_value_t = 7000)]
        http_port_base: u16,
    },
    /// Prepare a club that is to join an existing network: its keys, its
    /// node config and the club spec to propose with
    /// `recip tx propose admit-club <out>/club.toml`. Its node can start at
    /// once; the network adds it after the admission vote passes.
    NewClub {
        /// The network's directory (holding genesis.toml and genesis.tx).
        #[arg(long)]
        network: PathBuf,
        /// The new club's id (a-z, 0-9, '-', starting with a letter).
        #[arg(long)]
        id: String,
        /// The club's display name.
        #[arg(long)]
        name: String,
        /// The clubhouse's offset from UTC in minutes.
        #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
        utc_offset_minutes: i32,
        /// The node's gRPC listen address.
        #[arg(long)]
        grpc_listen: std::net::SocketAddr,
        /// The node's HTTP listen address (health, readiness, metrics).
        #[arg(long)]
        http_listen: Option<std::net::SocketAddr>,
        /// The node's peer-to-peer address (multiaddr): it listens there and
        /// peers dial it there.
        #[arg(long)]
        p2p_address: String,
        /// Where to write (default: NETWORK/ID).
        #[arg(long)]
        out: Option<PathBuf>,
        /// A running node of the network: its active clubs' node keys become
        /// the new node's `bootstrap_peers` (whom it trusts until its own
        /// ledger shows the club admitted). Without it, the new node trusts
        /// the founding nodes.
        #[arg(long)]
        from_endpoint: Option<String>,
    },
}

pub(crate) async fn run(command: NetworkCommand) -> anyhow::Result<()> {
    match command {
        NetworkCommand::Init {
            clubs,
            out,
            chain_id,
            grpc_port_base,
            p2p_port_base,
            http_port_base,
        } => {
            let created = network::init(&network::InitSpec {
                clubs,
                out: &out,
                chain_id: &chain_id,
                grpc_port_base,
                p2p_port_base,
                http_port_base,
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
        NetworkCommand::NewClub {
            network,
            id,
            name,
            utc_offset_minutes,
            grpc_listen,
            http_listen,
            p2p_address,
            out,
            from_endpoint,
        } => {
            let out = out.unwrap_or_else(|| network.join(&id));
            let bootstrap_peers = match from_endpoint {
                Some(endpoint) => active_node_keys(&endpoint).await?,
                None => Vec::new(),
            };
            let spec = new_club(&NewClubSpec {
                network: &network,
                id: &id,
                name: &name,
                utc_offset_minutes,
                grpc_listen,
                http_listen,
                p2p_address: &p2p_address,
                out: &out,
                bootstrap_peers: &bootstrap_peers,
            })?;
            say(format_args!("prepared club {id:?} in {}", out.display()));
            say(format_args!(
                "  propose its admission: recip tx --key <a member club's key> propose admit-club {}",
                spec.display()
            ));
            say(format_args!(
                "  start its node now:   recip node --config {}",
                out.join("node.toml").display()
            ));
            Ok(())
        }
    }
}

/// A club to prepare for joining.
pub(crate) struct NewClubSpec<'a> {
    pub(crate) network: &'a Path,
    pub(crate) id: &'a str,
    pub(crate) name: &'a str,
    pub(crate) utc_offset_minutes: i32,
    pub(crate) grpc_listen: std::net::SocketAddr,
    pub(crate) http_listen: Option<std::net::SocketAddr>,
    pub(crate) p2p_address: &'a str,
    pub(crate) out: &'a Path,
    pub(crate) bootstrap_peers: &'a [String],
}

/// The node keys of the clubs active now, as a running node reports them.
async fn active_node_keys(endpoint: &str) -> anyhow::Result<Vec<String>> {
    let mut client = reciprocity_sdk::client::NodeClient::connect(endpoint).await?;
    let answer = client.query(reciprocity_sdk::wire::query_request::Query::Clubs(true)).await?;
    let clubs: serde_json::Value = serde_json::from_str(&answer.json)?;
    let mut keys = Vec::new();
    for club in clubs.as_array().into_iter().flatten() {
        if club["status"] != "active" {
            continue;
        }
        for node in club["nodes"].as_array().into_iter().flatten() {
            let key = node["node_key"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("{endpoint} listed a node without a key"))?;
            keys.push(key.to_owned());
        }
    }
    anyhow::ensure!(!keys.is_empty(), "{endpoint} lists no active club's node");
    Ok(keys)
}

/// Writes keys, `node.toml` and `club.toml` for a joining club; returns the spec's path.
pub(crate) fn new_club(spec: &NewClubSpec<'_>) -> anyhow::Result<PathBuf> {
    let genesis = spec.network.join("genesis.toml");
    let network = NetworkConfig::load(&genesis)?;
    anyhow::ensure!(
        !network.clubs.iter().any(|c| c.id == spec.id),
        "club {:?} is already a founding club of this network",
        spec.id
    );
    anyhow::ensure!(
        !spec.out.join("node.toml").exists(),
        "{} already exists",
        spec.out.join("node.toml").display()
    );
    std::fs::create_dir_all(spec.out)?;
    let club_key = Keypair::generate()?;
    let node_key = Keypair::generate()?;
    let club = ClubConfig {
        id: spec.id.to_owned(),
        name: spec.name.to_owned(),
        club_key: club_key.public_key().to_hex(),
        utc_offset_minutes: spec.utc_offset_minutes,
        nodes: vec![GenesisNode {
            node_key: node_key.public_key().to_hex(),
            address: spec.p2p_address.to_owned(),
        }],
    };
    // Checked with the same rules as a founding club.
    NetworkConfig { clubs: vec![club.clone()], ..network }.validate()?;
    club_key.write_file(&spec.out.join("club.key"))?;
    node_key.write_file(&spec.out.join("node.key"))?;
    let spec_path = spec.out.join("club.toml");
    std::fs::write(&spec_path, toml::to_string(&club)?)?;
    let absolute = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
    let config = format!(
        "# Node of {name} (joins after its admission vote).\nclub = \"{id}\"\ndata_dir = \"data\"\nnode_key_file = \"node.key\"\ngenesis_file = {genesis}\ngenesis_tx_file = {genesis_tx}\ngrpc_listen = \"{grpc}\"\n{http}p2p_listen = \"{p2p}\"\nbootstrap_peers = {bootstrap}\nindex_url = \"sqlite://index.db\"\n\n[limits]\n\n[raft]\n\n[p2p]\n",
        name = spec.name,
        id = spec.id,
        genesis = toml::Value::String(absolute(genesis).display().to_string()),
        genesis_tx =
            toml::Value::String(absolute(spec.network.join("genesis.tx")).display().to_string()),
        grpc = spec.grpc_listen,
        http = spec.http_listen.map(|a| format!("http_listen = \"{a}\"\n")).unwrap_or_default(),
        p2p = spec.p2p_address,
        bootstrap = toml::Value::Array(
            spec.bootstrap_peers.iter().cloned().map(toml::Value::String).collect()
        ),
    );
    std::fs::write(spec.out.join("node.toml"), config)?;
    Ok(spec_path)
}
