//! `recip devnet`: a local network on this machine with sample data.
//!
//! Creates the network on first use (`DIR/genesis.toml`), starts every
//! club's node as a child process on loopback (they find each other over
//! libp2p and elect a leader), seeds sample data once through the first node
//! (members with profiles, an agreement, visits, a proposal), gives every
//! club a keystore of role keys (enrolled on-chain) and staff logins for the
//! REST API (one per role, passwords generated once and kept in
//! `DIR/<club>/staff.json`), prints each node's endpoints, logins and the
//! leader, writes `DIR/devnet.json`, and stops the nodes on Ctrl-C.
//! Nodes run with short Raft timings suited to loopback (`RECIP_RAFT_*`
//! variables in the environment override them).
//! Data persists across runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use reciprocity_node::config::NodeConfig;
use reciprocity_sdk::client::NodeClient;
use reciprocity_sdk::keys::Keypair;
use reciprocity_sdk::tx::body;
use reciprocity_sdk::wire;

use super::say;
use reciprocity_node::provision::club::{
    StaffLogin, enroll_keystore, prepare_club, without_password, write_private,
};
use reciprocity_node::provision::network::{InitSpec, init};
use reciprocity_node::provision::process::{
    LOOPBACK_RAFT, submit_committed as submit, wait_listening, wait_ready,
};

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
    /// Keep each club's SQL index (and its staff, profiles and audit log) in
    /// PostgreSQL instead of SQLite: a server URL such as
    /// postgres://postgres@127.0.0.1:5432; each club gets database
    /// <name>_<club> (name from the URL's path, recip_devnet by default),
    /// created if missing.
    #[arg(long)]
    index_url: Option<String>,
}

/// The index URL of `club`'s node on the PostgreSQL server of `server_url`:
/// its database is `<name>_<club>` (`<name>` from the URL's path,
/// `recip_devnet` when it has none), created when missing.
async fn club_postgres_url(server_url: &str, club: &str) -> anyhow::Result<String> {
    let shown = without_password(server_url);
    let (scheme, rest) = server_url
        .split_once("://")
        .filter(|(scheme, _)| matches!(*scheme, "postgres" | "postgresql"))
        .with_context(|| format!("--index-url {shown} is not a postgres://… URL"))?;
    let (authority, path_and_query) = rest.split_once('/').unwrap_or((rest, ""));
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, format!("?{query}")),
        None => (path_and_query, String::new()),
    };
    // The database is the devnet's to choose, and secrets belong in the
    // user info, where they are hidden when shown.
    for (key, _) in query.trim_start_matches('?').split('&').filter_map(|kv| kv.split_once('=')) {
        anyhow::ensure!(
            !matches!(key, "dbname" | "host" | "hostaddr" | "password" | "user"),
            "--index-url {shown}: write the {key} in the URL itself, not as ?{key}="
        );
    }
    let name = if path.is_empty() { "recip_devnet" } else { path };
    let database = format!("{name}_{}", club.replace('-', "_"));
    let server = format!("{scheme}://{authority}/postgres{query}");
    reciprocity_node::index::IndexStore::create_postgres_database(&server, &database)
        .await
        .with_context(|| format!("creating database {database} for {club}'s index"))?;
    Ok(format!("{scheme}://{authority}/{database}{query}"))
}

/// Writes `url` as the `index_url` of the node config at `path`, so that
/// later runs, `recip staff add` and `recip index rebuild` use the same
/// database (the file is readable by its owner only: the URL may hold a
/// password).
fn remember_index_url(path: &Path, url: &str) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let line = format!("index_url = {}", toml::Value::String(url.to_owned()));
    let mut found = false;
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("index_url") && !found {
                found = true;
                line.clone()
            } else {
                l.to_owned()
            }
        })
        .collect();
    anyhow::ensure!(found, "{} has no index_url line to replace", path.display());
    Ok(write_private(path, &(lines.join("\n") + "\n"))?)
}

struct Running {
    club: String,
    logins: Vec<StaffLogin>,
    endpoint: String,
    p2p: String,
    http: Option<String>,
    /// Where its index and records live (a password in the URL hidden).
    index: Option<String>,
    child: tokio::process::Child,
}

/// The network's chain id and each club's node config path.
fn network_of(dir: &Path) -> anyhow::Result<(String, Vec<(String, PathBuf)>)> {
    let network = reciprocity_network_config::NetworkConfig::load(&dir.join("genesis.toml"))?;
    let clubs =
        network.clubs.iter().map(|c| (c.id.clone(), dir.join(&c.id).join("node.toml"))).collect();
    Ok((network.chain_id, clubs))
}

/// Seeds sample data through the first club's node: staff, members, an agreement, visits, a proposal.
async fn seed(
    dir: &Path,
    client: &mut NodeClient,
    index_urls: &BTreeMap<String, Option<String>>,
) -> anyhow::Result<()> {
    const NAMES: [&str; 3] = ["Ada Lovelace", "Grace Hopper", "Alan Turing"];
    let network = reciprocity_network_config::NetworkConfig::load(&dir.join("genesis.toml"))?;
    let chain = network.chain_id.clone();
    let keys: Vec<(String, Keypair)> = network
        .clubs
        .iter()
        .map(|c| Ok((c.id.clone(), Keypair::read_file(&dir.join(&c.id).join("club.key"))?)))
        .collect::<anyhow::Result<_>>()?;
    let today = reciprocity_sdk::dates::day_of_ms(reciprocity_node::clock::now_ms());
    let mut members = Vec::new();
    for (club, key) in &keys {
        // Profiles live in the club's own index database, never on the ledger.
        let store = match index_urls.get(club.as_str()).cloned().flatten() {
            Some(url) => Some(reciprocity_node::records::Records::new(
                reciprocity_node::index::IndexStore::connect(&url).await?,
            )),
            None => None,
        };
        for (i, tier) in ["full", "full", "junior"].iter().enumerate() {
            let member = reciprocity_sdk::random_member_id()?;
            if let Some(store) = &store {
                let now = i64::try_from(reciprocity_node::clock::now_ms()).unwrap_or(0);
                store
                    .profiles_insert(
                        &[reciprocity_node::records::profiles::MemberProfile {
                            member_id: member.to_hex(),
                            home_club: club.clone(),
                            member_number: format!("{}-{:04}", club.to_uppercase(), i + 1),
                            full_name: format!("{} ({club})", NAMES[i]),
                            email: Some(format!("member{}@{club}.example", i + 1)),
                            phone: None,
                            date_of_birth: None,
                            notes: None,
                            created_at_ms: now,
                            updated_at_ms: now,
                        }],
                        None,
                    )
                    .await?;
            }
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
        let mut config = NodeConfig::load(&config_path)?;
        let index_url = match &args.index_url {
            Some(server) => Some(club_postgres_url(server, &club).await?),
            None => None,
        };
        if let Some(url) = &index_url {
            config.index_url = Some(url.clone());
            remember_index_url(&config_path, url)?;
        }
        let logins = prepare_club(&dir.join(&club), &config).await?;
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
        if let Some(url) = &index_url {
            command.env("RECIP_INDEX_URL", url);
        }
        let child = command
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(!args.detach)
            .spawn()
            .context("starting a node process")?;
        let endpoint = format!("http://{}", config.grpc_listen);
        let http = config.http_listen.map(|a| format!("http://{a}"));
        starting.push((
            club,
            endpoint,
            child,
            log,
            config.p2p_listen.clone(),
            http,
            logins,
            config,
        ));
    }
    let mut running = Vec::new();
    let mut first_client = None;
    let mut configs = Vec::new();
    let mut index_urls = BTreeMap::new();
    for (club, endpoint, mut child, log, p2p, http, logins, config) in starting {
        let client = wait_ready(&endpoint, &mut child, &log).await?;
        if let Some(addr) = config.http_listen {
            wait_listening(addr, &log).await?;
        }
        first_client.get_or_insert(client);
        index_urls.insert(club.clone(), config.index_url.clone());
        let index = config.index_url.as_deref().map(without_password);
        configs.push((club.clone(), config));
        running.push(Running { club, logins, endpoint, p2p, http, index, child });
    }
    let mut client = first_client.context("the network has no clubs")?;
    for (club, config) in &configs {
        enroll_keystore(&mut client, &chain_id, &dir.join(club), config).await?;
    }
    if !dir.join("seeded").exists() {
        seed(&dir, &mut client, &index_urls).await?;
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
            "index": r.index,
            "openapi": r.http.as_ref().map(|h| format!("{h}/openapi.json")),
            "web": r.http.as_ref().map(|h| format!("{h}/")),
            "staff": r.logins,
            "pid": r.child.id(),
        })).collect::<Vec<_>>(),
    });
    // It lists the staff passwords: readable by its owner only.
    write_private(&dir.join("devnet.json"), &serde_json::to_string_pretty(&listing)?)?;
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
        if let Some(http) = &r.http {
            say(format_args!("  {:<10} web app {http}/", ""));
        }
        if let Some(index) = &r.index {
            say(format_args!("  {:<10} index {index}", ""));
        }
    }
    say(
        "staff logins (sign in to the web app, or POST <HTTP>/v1/auth/login with {\"username\", \"password\"}):",
    );
    for r in &running {
        let logins: Vec<String> =
            r.logins.iter().map(|l| format!("{}/{}", l.username, l.password)).collect();
        say(format_args!("  {:<10} {}", r.club, logins.join("  ")));
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
