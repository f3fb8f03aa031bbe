//! The seeded network of `recip-bench check` and `recip-bench search`: one
//! node whose club shares the network with many others.
//!
//! The first run seeds `DIR` (kept for later runs): a one-club network whose
//! node runs as a child process, `--clubs - 1` more clubs admitted by votes
//! (their nodes never run: they stay Raft learners that cannot be reached),
//! `--agreements` agreements (the node's club with every other club, then
//! other pairs), `--profiles` members of the node's club imported through
//! `POST /v1/members/import` (profiles off-chain), and the rest of
//! `--members` registered by the other clubs over gRPC. Every phase shows a
//! progress bar and its rate; `DIR/seed.json` records what was seeded.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use reciprocity_node::config::NodeConfig;
use reciprocity_node::provision::club::{enroll_keystore, prepare_club, staff_login};
use reciprocity_node::provision::network::{InitSpec, init};
use reciprocity_node::provision::process::{wait_listening, wait_ready};
use reciprocity_sdk::client::NodeClient;
use reciprocity_sdk::keys::Keypair;
use reciprocity_sdk::tx::{TxBuilder, body};
use reciprocity_sdk::wire;
use serde::{Deserialize, Serialize};

use crate::progress::{bar, submit_all};
use crate::recip::Recip;
use crate::say;

/// Where and how big the seeded network is.
#[derive(Debug, Clone, Args)]
pub(crate) struct SeedArgs {
    /// Directory of the seeded network (reused when already seeded).
    #[arg(long, default_value = "bench-net")]
    dir: PathBuf,
    /// Members in all (when seeding).
    #[arg(long, default_value_t = 1_000_000)]
    members: u64,
    /// Clubs in all (when seeding).
    #[arg(long, default_value_t = 200)]
    clubs: u32,
    /// Agreements (when seeding).
    #[arg(long, default_value_t = 10_000)]
    agreements: u32,
    /// Members of the node's own club, imported with profiles (when seeding).
    #[arg(long, default_value_t = 100_000)]
    profiles: u64,
    /// First port: gRPC on it, peer-to-peer on +10, HTTP on +20.
    #[arg(long, default_value_t = 7400)]
    port_base: u16,
    /// Submissions in flight while seeding.
    #[arg(long, default_value_t = 256)]
    seed_in_flight: usize,
}

/// What the seeding left behind (`DIR/seed.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Seeded {
    pub(crate) clubs: u32,
    pub(crate) agreements: u32,
    pub(crate) members: u64,
    pub(crate) profiles: u64,
    /// Members of other clubs, for the checks.
    pub(crate) visitors_sample: Vec<String>,
    /// How long each phase took and its rate.
    pub(crate) phases: Vec<serde_json::Value>,
}

pub(crate) const FIRST_NAMES: [&str; 20] = [
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Ava", "Elijah", "Sophia", "Lucas",
    "Isabella", "Mateo", "Mia", "Levi", "Harper", "Ezra", "Evelyn", "Asher", "Luna", "James",
];
pub(crate) const LAST_NAMES: [&str; 25] = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
];

/// A running bench node (killed when dropped).
pub(crate) struct BenchNode {
    child: tokio::process::Child,
    config: NodeConfig,
    pub(crate) club_dir: PathBuf,
}

impl BenchNode {
    /// The base URL of its REST API.
    pub(crate) fn http(&self) -> String {
        format!("http://{}", self.config.http_listen.expect("bench node has http_listen"))
    }

    fn grpc(&self) -> String {
        format!("http://{}", self.config.grpc_listen)
    }

    /// Stops the node (SIGTERM, then SIGKILL after 10 s).
    pub(crate) async fn stop(mut self) {
        crate::recip::stop(&mut self.child).await;
    }

    /// Resident memory of the node process, MiB.
    pub(crate) fn rss_mib(&self) -> Option<f64> {
        crate::recip::rss_mib(&self.child)
    }
}

async fn start_node(recip: &Recip, dir: &Path, port_base: u16) -> anyhow::Result<BenchNode> {
    let net = dir.join("net");
    if !net.join("genesis.toml").exists() {
        init(&InitSpec {
            clubs: 1,
            out: &net,
            chain_id: "reciprocity-bench",
            grpc_port_base: port_base,
            p2p_port_base: port_base + 10,
            http_port_base: port_base + 20,
        })?;
    }
    let network = reciprocity_network_config::NetworkConfig::load(&net.join("genesis.toml"))?;
    let club = network.clubs[0].id.clone();
    let club_dir = net.join(&club);
    let config_path = club_dir.join("node.toml");
    let config = NodeConfig::load(&config_path)?;
    prepare_club(&club_dir, &config).await?;
    let log = club_dir.join("node.log");
    // The admitted clubs' nodes never run: openraft's retries towards them
    // would fill the log (unless the caller chose a filter).
    let mut command = recip.node(&config_path, &log, "info,openraft=off,libp2p=warn")?;
    // The benchmark measures the node, not the per-caller budgets.
    for role in ["ADMIN", "REGISTRAR", "FRONT_DESK", "GOVERNOR"] {
        command.env(format!("RECIP_API_{role}_REQUESTS_PER_S"), "100000000");
    }
    let mut child = recip.spawn(&mut command)?;
    let mut client =
        wait_ready(&format!("http://{}", config.grpc_listen), &mut child, &log).await?;
    if let Some(addr) = config.http_listen {
        wait_listening(addr, &log).await?;
    }
    enroll_keystore(&mut client, &network.chain_id, &club_dir, &config).await?;
    Ok(BenchNode { child, config, club_dir })
}

fn club_key_path(dir: &Path, index: u32) -> PathBuf {
    dir.join("clubs").join(format!("club-{index:03}.key"))
}

fn club_id(index: u32) -> String {
    format!("bench-{index:03}")
}

async fn seed(node: &BenchNode, args: &SeedArgs) -> anyhow::Result<Seeded> {
    let dir = &args.dir;
    let net = dir.join("net");
    let network = reciprocity_network_config::NetworkConfig::load(&net.join("genesis.toml"))?;
    let chain = network.chain_id.clone();
    let home = network.clubs[0].id.clone();
    let home_key = Keypair::read_file(&node.club_dir.join("club.key"))?;
    let client = NodeClient::connect(&node.grpc()).await?;
    let mut phases = Vec::new();
    anyhow::ensure!(args.clubs >= 2, "--clubs must be at least 2");
    anyhow::ensure!(args.profiles < args.members, "--profiles must be below --members");
    let pairs_max = u64::from(args.clubs) * u64::from(args.clubs - 1) / 2;
    anyhow::ensure!(
        u64::from(args.agreements) <= pairs_max,
        "--agreements exceeds the {pairs_max} pairs of {} clubs",
        args.clubs
    );

    // Clubs, each admitted by a majority of the clubs already in.
    std::fs::create_dir_all(dir.join("clubs"))?;
    let mut ids = vec![home.clone()];
    let mut keys = vec![home_key.clone()];
    let progress = bar(u64::from(args.clubs - 1), "clubs admitted");
    let started = Instant::now();
    for index in 1..args.clubs {
        let key_path = club_key_path(dir, index);
        let key = if key_path.exists() {
            Keypair::read_file(&key_path)?
        } else {
            let key = Keypair::generate()?;
            key.write_file(&key_path)?;
            key
        };
        let node_key = Keypair::generate()?;
        let spec = wire::ClubSpec {
            club_id: club_id(index),
            name: format!("Bench Club {index}"),
            club_key: key.public_key().0.to_vec(),
            // Never started: a learner that cannot be reached.
            nodes: vec![wire::NodeSpec {
                node_key: node_key.public_key().0.to_vec(),
                address: "/ip4/127.0.0.1/tcp/1".to_owned(),
            }],
            utc_offset_minutes: 0,
        };
        let mut create = client.clone();
        let proposal = TxBuilder::now(&chain).sign(
            &home_key,
            body::create_proposal(60_000, wire::create_proposal::Action::AdmitClub(spec)),
        );
        let proposal_id = reciprocity_sdk::decode::tx_id(&proposal);
        let response = create.submit(proposal, true, 60_000).await?;
        anyhow::ensure!(response.code == 0, "admission proposal refused: {}", response.code_name);
        let needed = ids.len() / 2 + 1;
        let votes = keys.iter().take(needed).map(|voter| {
            let tx = TxBuilder::now(&chain)
                .sign(voter, body::cast_vote(&proposal_id, wire::VoteChoice::Yes));
            let mut client = client.clone();
            async move { client.submit(tx, true, 60_000).await }
        });
        for response in futures::future::join_all(votes).await {
            let response = response?;
            anyhow::ensure!(response.code == 0, "vote refused: {}", response.code_name);
        }
        ids.push(club_id(index));
        keys.push(key);
        progress.inc(1);
    }
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    say(format_args!("clubs: {} admitted by votes in {seconds:.1} s", args.clubs - 1));
    phases.push(
        serde_json::json!({"phase": "clubs admitted", "count": args.clubs - 1, "seconds": seconds}),
    );

    // Agreements: the node's club with every other, then other pairs.
    let today = reciprocity_sdk::dates::day_of_ms(reciprocity_node::clock::now_ms());
    let terms = reciprocity_sdk::terms::basic(&["full"], 4, 48, today.saturating_sub(1), "EUR");
    let hash = reciprocity_sdk::terms::hash(&reciprocity_sdk::terms::encode(&terms));
    let n = args.clubs as usize;
    let pairs: Vec<(usize, usize)> = (0..n)
        .flat_map(|a| ((a + 1)..n).map(move |b| (a, b)))
        .take(args.agreements as usize)
        .collect();
    let pair_count = pairs.len() as u64;
    phases.push(
        submit_all(&client, pair_count, args.seed_in_flight, "agreements proposed", |i| {
            let (a, b) = pairs[i as usize];
            TxBuilder::now(&chain).sign(&keys[a], body::propose_agreement(&ids[b], &terms))
        })
        .await?,
    );
    phases.push(
        submit_all(&client, pair_count, args.seed_in_flight, "agreements accepted", |i| {
            let (a, b) = pairs[i as usize];
            TxBuilder::now(&chain).sign(&keys[b], body::accept_agreement(&ids[a], hash))
        })
        .await?,
    );

    // The node's own members, with profiles, through the REST import.
    phases.push(import_profiles(node, args.profiles).await?);

    // Everyone else's members, registered by their clubs.
    let others = args.members - args.profiles;
    let sample_every = (others / 20_000).max(1);
    let sample = std::sync::Mutex::new(Vec::new());
    let valid_until = today + 3 * 365;
    phases.push(
        submit_all(&client, others, args.seed_in_flight, "members registered", |i| {
            let club = 1 + (i % u64::from(args.clubs - 1)) as usize;
            let member = reciprocity_sdk::random_member_id().expect("random member id");
            if i % sample_every == 0 {
                sample.lock().expect("sample lock").push(member.to_hex());
            }
            TxBuilder::now(&chain)
                .sign(&keys[club], body::register_member(&member, "full", valid_until))
        })
        .await?,
    );
    let seeded = Seeded {
        clubs: args.clubs,
        agreements: args.agreements,
        members: args.members,
        profiles: args.profiles,
        visitors_sample: sample.into_inner().expect("sample lock"),
        phases,
    };
    std::fs::write(dir.join("seed.json"), serde_json::to_string(&seeded)?)?;
    Ok(seeded)
}

/// A bearer token of the seeded club's staff login of `role`.
pub(crate) async fn login(
    http: &reqwest::Client,
    base: &str,
    club_dir: &Path,
    role: &str,
) -> anyhow::Result<String> {
    let login = staff_login(club_dir, role)?;
    for _ in 0..100 {
        let response = http
            .post(format!("{base}/v1/auth/login"))
            .json(&serde_json::json!({"username": login.username, "password": login.password}))
            .send()
            .await?;
        if response.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let body: serde_json::Value = response.json().await?;
        return body["token"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("login refused: {body}"));
    }
    anyhow::bail!("the node's REST API stayed unavailable")
}

async fn import_profiles(node: &BenchNode, count: u64) -> anyhow::Result<serde_json::Value> {
    let http = reqwest::Client::new();
    let base = node.http();
    let token = login(&http, &base, &node.club_dir, "registrar").await?;
    let chunk_rows = u64::try_from(node.config.api.import_rows_max).unwrap_or(u64::MAX).min(50_000);
    let progress = bar(count, "profiles imported");
    let started = Instant::now();
    let mut done = 0u64;
    while done < count {
        let rows = chunk_rows.min(count - done);
        let mut csv =
            String::from("member_number,full_name,tier,valid_until,email,date_of_birth\n");
        for i in done..done + rows {
            let first = FIRST_NAMES[(i % 20) as usize];
            let last = LAST_NAMES[((i / 20) % 25) as usize];
            csv.push_str(&format!(
                "M{i:07},{first} {last},full,2030-12-31,{}.{}{i}@members.example,19{:02}-0{}-1{}\n",
                first.to_lowercase(),
                last.to_lowercase(),
                50 + i % 50,
                1 + i % 9,
                i % 10
            ));
        }
        let response = http
            .post(format!("{base}/v1/members/import"))
            .bearer_auth(&token)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await?;
        let status = response.status();
        let job: serde_json::Value = response.json().await?;
        anyhow::ensure!(
            status == reqwest::StatusCode::ACCEPTED,
            "import refused ({status}): {job}"
        );
        let job_id = job["job_id"].as_str().context("import job id")?.to_owned();
        loop {
            let progress_now: serde_json::Value = http
                .get(format!("{base}/v1/members/imports/{job_id}"))
                .bearer_auth(&token)
                .send()
                .await?
                .json()
                .await?;
            let committed = progress_now["rows_committed"].as_u64().unwrap_or(0);
            progress.set_position(done + committed);
            if progress_now["status"] == "done" {
                anyhow::ensure!(
                    progress_now["rows_failed"] == 0,
                    "import rows failed: {progress_now}"
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        done += rows;
    }
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    say(format_args!(
        "profiles: {count} imported over REST in {seconds:.1} s ({:.0}/s)",
        count as f64 / seconds
    ));
    Ok(
        serde_json::json!({"phase": "profiles imported", "count": count, "seconds": seconds, "per_s": count as f64 / seconds}),
    )
}

/// Starts the node of `args.dir`, seeding the network on first use, and
/// waits until its index has caught up.
pub(crate) async fn seeded_node(
    recip: &Recip,
    args: &SeedArgs,
) -> anyhow::Result<(BenchNode, Seeded)> {
    std::fs::create_dir_all(&args.dir)?;
    let node = start_node(recip, &args.dir, args.port_base).await?;
    let seeded = match std::fs::read_to_string(args.dir.join("seed.json")) {
        Ok(text) => serde_json::from_str(&text)?,
        Err(_) => seed(&node, args).await?,
    };
    // Let the index catch up before measuring anything that reads it.
    let mut client = NodeClient::connect(&node.grpc()).await?;
    for _ in 0..1_200 {
        if client.status().await?.index_lag_blocks == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok((node, seeded))
}
