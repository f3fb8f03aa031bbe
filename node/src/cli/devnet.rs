//! `recip devnet`: a local network on this machine with sample data.
//!
//! Creates the network on first use (`DIR/genesis.toml`), starts every
//! club's node as a child process on loopback (they find each other over
//! libp2p and elect a leader), seeds sample data once through the first node
//! (members, an agreement, visits, a proposal), prints each node's endpoints
//! and the leader, writes `DIR/devnet.json`, and stops the nodes on Ctrl-C.
//! Nodes run with short Raft timings suited to loopback (`RECIP_RAFT_*`
//! variables in the environment override them).
//! Data persists across runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use reciprocity_node::config::NodeConfig;
use reciprocity_sdk::client::NodeClient;
use reciprocity_sdk::keys::Keypair;
use reciprocity_sdk::tx::{TxBuilder, body};
use reciprocity_sdk::wire;

use super::network::{InitSpec, init};
use super::say;

#[derive(Debug, Args)]
pub(crate) struct DevnetArgs {
    /// Number of founding clubs when creating the network.
    #[arg(long, default_value_t = 3)]
    clubs: usize,
    /// Where the network lives.
    #[arg(long, default_value = "devnet")]
    dir: PathBuf,
    /// Start, seed, print and exit, leaving the nodes running (for scripts).
    #[arg(long)]
    detach: bool,
    /// First gRPC port when creating the network; club i listens on base + i.
    #[arg(long, default_value_t = 7200)]
    grpc_port_base: u16,
    /// First peer-to-peer port when creating the network; club i listens on base + i.
    #[arg(long, default_value_t = 7100)]
    p2p_port_base: u16,
    /// First HTTP port when creating the network; club i listens on base + i.
    #[arg(long, default_value_t = 7000)]
    http_port_base: u16,
}

/// Raft timings for nodes on one machine (the defaults suit clubs on the internet).
pub(crate) const LOOPBACK_RAFT: [(&str, &str); 3] = [
    ("RECIP_RAFT_HEARTBEAT_INTERVAL_MS", "100"),
    ("RECIP_RAFT_ELECTION_TIMEOUT_MIN_MS", "500"),
    ("RECIP_RAFT_ELECTION_TIMEOUT_MAX_MS", "1000"),
];

struct Running {
    club: String,
    endpoint: String,
    p2p: String,
    http: Option<String>,
    child: tokio::process::Child,
}

/// The network's chain id and each club's node config path.
fn network_of(dir: &Path) -> anyhow::Result<(String, Vec<(String, PathBuf)>)> {
    let network = reciprocity_network_config::NetworkConfig::load(&dir.join("genesis.toml"))?;
    let clubs =
        network.clubs.iter().map(|c| (c.id.clone(), dir.join(&c.id).join("node.toml"))).collect();
    Ok((network.chain_id, clubs))
}

async fn wait_ready(
    endpoint: &str,
    child: &mut tokio::process::Child,
    log: &Path,
) -> anyhow::Result<NodeClient> {
    for _ in 0..600 {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("the node exited ({status}) before it was ready; see {}", log.display());
        }
        if let Ok(mut client) = NodeClient::connect(endpoint).await
            && let Ok(status) = client.status().await
            && status.height >= 1
        {
            return Ok(client);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the node at {endpoint} was not ready within 60 s; see {}", log.display())
}

async fn submit(
    client: &mut NodeClient,
    chain: &str,
    key: &Keypair,
    body: wire::tx_payload::Body,
) -> anyhow::Result<reciprocity_sdk::TxId> {
    let tx = TxBuilder::now(chain).sign(key, body);
    let id = reciprocity_sdk::decode::tx_id(&tx);
    let response = client.submit(tx, true, 0).await?;
    anyhow::ensure!(
        response.outcome == wire::SubmitOutcome::Committed as i32 && response.code == 0,
        "seeding transaction refused: {} ({})",
        response.code_name,
        response.code
    );
    Ok(id)
}

/// Seeds sample data through the first club's node: staff, members, an agreement, visits, a proposal.
async fn seed(dir: &Path, client: &mut NodeClient) -> anyhow::Result<()> {
    let network = reciprocity_network_config::NetworkConfig::load(&dir.join("genesis.toml"))?;
    let chain = network.chain_id.clone();
    let keys: Vec<(String, Keypair)> = network
        .clubs
        .iter()
        .map(|c| Ok((c.id.clone(), Keypair::read_file(&dir.join(&c.id).join("club.key"))?)))
        .collect::<anyhow::Result<_>>()?;
    let today = reciprocity_sdk::dates::day_of_ms(reciprocity_node::service::node::now_ms());
    let mut members = Vec::new();
    for (club, key) in &keys {
        for (i, tier) in ["full", "full", "junior"].iter().enumerate() {
            let member = reciprocity_sdk::random_member_id()?;
            submit(
                client,
                &chain,
                key,
                body::register_member(&member, tier, today + 365 + i as u32),
            )
            .await?;
            members.push((club.clone(), member));
        }
    }
    if keys.len() >= 2 {
        let (a, a_key) = &keys[0];
        let (b, b_key) = &keys[1];
        let mut terms =
            reciprocity_sdk::terms::basic(&["full"], 4, 48, today.saturating_sub(1), "EUR");
        terms.guests_per_visit_max = 1;
        terms.visit_fee_minor = 2_500;
        submit(client, &chain, a_key, body::propose_agreement(b, &terms)).await?;
        let hash = reciprocity_sdk::terms::hash(&reciprocity_sdk::terms::encode(&terms));
        submit(client, &chain, b_key, body::accept_agreement(a, hash)).await?;
        // Members of the first club visit the second.
        for (club, member) in members.iter().filter(|(c, _)| c == a).take(2) {
            let _ = club;
            submit(client, &chain, b_key, body::record_visit(member, 0)).await?;
        }
        submit(
            client,
            &chain,
            a_key,
            body::create_proposal(
                7 * 86_400_000,
                wire::create_proposal::Action::Resolution(
                    "Adopt a common dress code for reciprocal visits".into(),
                ),
            ),
        )
        .await?;
    }
    std::fs::write(dir.join("seeded"), "sample data seeded\n")?;
    say(format_args!(
        "seeded sample data: {} members, an agreement, visits and a proposal",
        members.len()
    ));
    Ok(())
}

pub(crate) async fn run(args: DevnetArgs) -> anyhow::Result<()> {
    let dir = args.dir;
    if !dir.join("genesis.toml").exists() {
        init(&InitSpec {
            clubs: args.clubs,
            out: &dir,
            chain_id: "reciprocity-devnet",
            grpc_port_base: args.grpc_port_base,
            p2p_port_base: args.p2p_port_base,
            http_port_base: args.http_port_base,
        })?;
        say(format_args!("created a {}-club network in {}", args.clubs, dir.display()));
    }
    let exe = std::env::current_exe().context("locating the recip binary")?;
    let (chain_id, clubs) = network_of(&dir)?;
    // Start every node first: none is ready before a majority runs.
    let mut starting = Vec::new();
    for (club, config_path) in clubs {
        let config = NodeConfig::load(&config_path)?;
        let log = config_path.with_file_name("node.log");
        let log_file = std::fs::OpenOptions::new().create(true).append(true).open(&log)?;
        let mut command = tokio::process::Command::new(&exe);
        command.arg("node").arg("--config").arg(&config_path);
        // Loopback: short Raft timings unless the environment sets them.
        for (name, value) in LOOPBACK_RAFT {
            if std::env::var_os(name).is_none() {
                command.env(name, value);
            }
        }
        let child = command
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(!args.detach)
            .spawn()
            .context("starting a node process")?;
        let endpoint = format!("http://{}", config.grpc_listen);
        let http = config.http_listen.map(|a| format!("http://{a}"));
        starting.push((club, endpoint, child, log, config.p2p_listen, http));
    }
    let mut running = Vec::new();
    let mut first_client = None;
    for (club, endpoint, mut child, log, p2p, http) in starting {
        let client = wait_ready(&endpoint, &mut child, &log).await?;
        first_client.get_or_insert(client);
        running.push(Running { club, endpoint, p2p, http, child });
    }
    let mut client = first_client.context("the network has no clubs")?;
    if !dir.join("seeded").exists() {
        seed(&dir, &mut client).await?;
    }
    let status = client.status().await?;
    let leader = status.leader_club.clone();
    let listing = serde_json::json!({
        "chain_id": chain_id,
        "leader": leader,
        "nodes": running.iter().map(|r| serde_json::json!({
            "club": r.club,
            "grpc": r.endpoint,
            "p2p": r.p2p,
            "http": r.http,
            "pid": r.child.id(),
        })).collect::<Vec<_>>(),
    });
    std::fs::write(dir.join("devnet.json"), serde_json::to_string_pretty(&listing)?)?;
    say(format_args!("devnet is running ({} nodes, leader: {leader}):", running.len()));
    for r in &running {
        say(format_args!(
            "  {:<10} gRPC {}   HTTP {}   peers {}   (recip status --endpoint {})",
            r.club,
            r.endpoint,
            r.http.as_deref().unwrap_or("-"),
            r.p2p,
            r.endpoint
        ));
    }
    say(format_args!("  listing: {}", dir.join("devnet.json").display()));
    if args.detach {
        return Ok(());
    }
    say("press Ctrl-C to stop");
    super::node::shutdown_signal().await;
    say("stopping nodes");
    for r in &running {
        if let Some(pid) = r.child.id() {
            let _ = std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
        }
    }
    for mut r in running {
        let _ = tokio::time::timeout(Duration::from_secs(10), r.child.wait()).await;
        let _ = r.child.kill().await;
    }
    Ok(())
}
