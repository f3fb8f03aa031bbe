//! `recip-bench cluster`: submit-to-commit on a real N-node cluster.
//!
//! Creates a fresh network of `--nodes` clubs in a scratch directory, starts
//! one `recip node` process per club on loopback (libp2p between them, Raft
//! with fsync on every node, the same binary and code path as production),
//! and seeds it through the first node: role keys for every club (front
//! desk, registrar, governor), an agreement between every pair of clubs,
//! `--members-per-club` members per club and one open proposal per club.
//!
//! Then it signs the whole corpus *before* the timed part (front desks sign
//! on their own devices): a mix of visits (70%: a member of one club checked
//! in at another), member updates (20%: a registrar extends a membership)
//! and votes (10%: a governor votes on its club's open proposal, changing
//! its vote each time). Every transaction of the corpus is valid, so
//! `refused` counts what the network refused wrongly or could not commit.
//!
//! `--clients` closed-loop clients, spread over all nodes, each submit one
//! transaction and wait until the node they called has applied the block
//! holding it, then take the next. After `--duration` seconds the command
//! checks that every node reached the same state hash at the same height,
//! stops the nodes and prints one JSON line.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use reciprocity_node::config::NodeConfig;
use reciprocity_sdk::client::NodeClient;
use reciprocity_sdk::keys::Keypair;
use reciprocity_sdk::tx::{TxBuilder, body};
use reciprocity_sdk::{MemberId, wire};

use reciprocity_node::provision::network::{InitSpec, init};
use reciprocity_node::provision::process::wait_ready;

use crate::recip::Recip;
use crate::say;
use reciprocity_bench::latency::Latencies;

/// The shape of a cluster benchmark.
#[derive(Debug, Clone, Args)]
pub(crate) struct ClusterArgs {
    /// Node processes (one club each).
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Concurrent closed-loop clients, spread over the nodes.
    #[arg(long, default_value_t = 256)]
    clients: usize,
    /// Seconds to measure.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Members registered per club before the run (visited and updated by the corpus).
    #[arg(long, default_value_t = 5_000)]
    members_per_club: u64,
    /// Transactions to sign before the run (default: enough for 30,000/s).
    #[arg(long)]
    corpus: Option<usize>,
    /// Each node's SQL index: `sqlite` (as `recip devnet` runs) or `none`.
    #[arg(long, default_value = "sqlite", value_parser = ["sqlite", "none"])]
    index: String,
    /// Scratch directory for the network (default: a new one under the
    /// system's temp dir, removed afterwards).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// First port: gRPC on base + i, peer-to-peer on base + 32 + i, HTTP on base + 64 + i.
    #[arg(long, default_value_t = 7600)]
    port_base: u16,
}

/// A club of the benchmark network and its signing keys.
struct Club {
    id: String,
    club_key: Keypair,
    front_desk: Keypair,
    registrar: Keypair,
    governor: Keypair,
    members: Vec<MemberId>,
    proposal: Option<reciprocity_sdk::TxId>,
}

/// The node processes (killed when dropped).
struct Cluster {
    children: Vec<tokio::process::Child>,
    endpoints: Vec<String>,
}

impl Cluster {
    /// Resident memory of each node process, MiB.
    fn rss_mib(&self) -> Vec<f64> {
        self.children.iter().filter_map(crate::recip::rss_mib).collect()
    }

    /// Stops every node (SIGTERM to all, then SIGKILL to those still
    /// running after 10 s).
    async fn stop(mut self) {
        futures::future::join_all(self.children.iter_mut().map(crate::recip::stop)).await;
    }
}

async fn start_cluster(
    recip: &Recip,
    dir: &Path,
    args: &ClusterArgs,
) -> anyhow::Result<(Cluster, String)> {
    let clubs = init(&InitSpec {
        clubs: args.nodes,
        out: dir,
        chain_id: "reciprocity-bench",
        grpc_port_base: args.port_base,
        p2p_port_base: args.port_base + 32,
        http_port_base: args.port_base + 64,
    })?;
    let mut starting = Vec::new();
    for (_, config_path) in &clubs {
        let config = NodeConfig::load(config_path)?;
        let log = config_path.with_file_name("node.log");
        let mut command = recip.node(config_path, &log, "warn")?;
        if args.index == "none" {
            command.env("RECIP_INDEX_URL", "");
        }
        let child = recip.spawn(&mut command)?;
        starting.push((format!("http://{}", config.grpc_listen), child, log));
    }
    let mut cluster = Cluster { children: Vec::new(), endpoints: Vec::new() };
    let mut chain = String::new();
    for (endpoint, mut child, log) in starting {
        let mut client = wait_ready(&endpoint, &mut child, &log).await?;
        chain = client.status().await?.chain_id;
        cluster.children.push(child);
        cluster.endpoints.push(endpoint);
    }
    Ok((cluster, chain))
}

/// Submits `txs` through `client`, 256 at a time, each waited for; fails
/// on the first that is not committed with code 0.
async fn commit_all(
    client: &NodeClient,
    txs: Vec<wire::SignedTx>,
    what: &str,
) -> anyhow::Result<()> {
    let count = txs.len() as u64;
    crate::progress::submit_all(client, count, 256, what, |i| txs[i as usize].clone()).await?;
    Ok(())
}

/// Seeds role keys, agreements, members and proposals through the first node.
async fn seed(
    dir: &Path,
    client: &NodeClient,
    chain: &str,
    members_per_club: u64,
) -> anyhow::Result<Vec<Club>> {
    let network = reciprocity_network_config::NetworkConfig::load(&dir.join("genesis.toml"))?;
    let mut clubs = Vec::new();
    for club in &network.clubs {
        clubs.push(Club {
            id: club.id.clone(),
            club_key: Keypair::read_file(&dir.join(&club.id).join("club.key"))?,
            front_desk: Keypair::generate()?,
            registrar: Keypair::generate()?,
            governor: Keypair::generate()?,
            members: (0..members_per_club)
                .map(|_| reciprocity_sdk::random_member_id())
                .collect::<Result<_, _>>()?,
            proposal: None,
        });
    }
    let builder = TxBuilder::now(chain);
    let enrolments = clubs
        .iter()
        .flat_map(|c| {
            [
                (&c.front_desk, wire::Role::FrontDesk),
                (&c.registrar, wire::Role::Registrar),
                (&c.governor, wire::Role::Governor),
            ]
            .map(|(key, role)| {
                builder.sign(&c.club_key, body::enroll_identity(&key.public_key(), &[role]))
            })
        })
        .collect();
    commit_all(client, enrolments, "role keys enrolled").await?;

    // Generous terms: the corpus checks a member in at most a few times a day.
    let today = reciprocity_sdk::dates::day_of_ms(reciprocity_node::clock::now_ms());
    let terms = reciprocity_sdk::terms::basic(&["full"], 31, 366, today.saturating_sub(1), "EUR");
    let hash = reciprocity_sdk::terms::hash(&reciprocity_sdk::terms::encode(&terms));
    let pairs: Vec<(usize, usize)> =
        (0..clubs.len()).flat_map(|a| ((a + 1)..clubs.len()).map(move |b| (a, b))).collect();
    let proposals = pairs
        .iter()
        .map(|(a, b)| {
            builder.sign(&clubs[*a].club_key, body::propose_agreement(&clubs[*b].id, &terms))
        })
        .collect();
    commit_all(client, proposals, "agreements proposed").await?;
    let acceptances = pairs
        .iter()
        .map(|(a, b)| {
            builder.sign(&clubs[*b].club_key, body::accept_agreement(&clubs[*a].id, hash))
        })
        .collect();
    commit_all(client, acceptances, "agreements accepted").await?;

    let registrations = clubs
        .iter()
        .flat_map(|c| {
            c.members.iter().map(|member| {
                builder.sign(&c.registrar, body::register_member(member, "full", today + 365))
            })
        })
        .collect();
    commit_all(client, registrations, "members registered").await?;

    // One open proposal per club, on which its governor keeps changing its vote.
    if clubs.len() >= 3 {
        let mut txs = Vec::new();
        for (i, club) in clubs.iter_mut().enumerate() {
            let tx = builder.sign(
                &club.governor,
                body::create_proposal(
                    7 * 86_400_000,
                    wire::create_proposal::Action::Resolution(format!("Benchmark resolution {i}")),
                ),
            );
            club.proposal = Some(reciprocity_sdk::decode::tx_id(&tx));
            txs.push(tx);
        }
        commit_all(client, txs, "proposals created").await?;
    }
    Ok(clubs)
}

/// What the corpus holds.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
struct Mix {
    visits: usize,
    member_updates: usize,
    votes: usize,
}

/// Transaction `i` of the corpus: a fixed pattern over ten positions,
/// seven visits, two member updates and one vote (visits need two clubs and
/// votes three; with fewer clubs those positions are member updates). Each
/// kind is numbered on its own (`k`), so that visits cycle through hosts,
/// home clubs and members, updates of one member get strictly increasing
/// dates (never an empty update), and each club's governor alternates its
/// vote.
enum Planned {
    Visit { host: usize, home: usize, member: usize },
    Update { club: usize, member: usize, round: u64 },
    Vote { club: usize, choice: wire::VoteChoice },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Visit,
    Update,
    Vote,
}

fn kind_at(clubs: usize, slot: usize) -> Kind {
    if slot < 7 && clubs >= 2 {
        Kind::Visit
    } else if slot == 9 && clubs >= 3 {
        Kind::Vote
    } else {
        Kind::Update
    }
}

fn plan(clubs: &[Club], i: usize) -> Planned {
    let n = clubs.len();
    let members = clubs[0].members.len();
    let (round, slot) = (i / 10, i % 10);
    let kind = kind_at(n, slot);
    let per_round = (0..10).filter(|s| kind_at(n, *s) == kind).count();
    let rank = (0..slot).filter(|s| kind_at(n, *s) == kind).count();
    let k = round * per_round + rank;
    match kind {
        Kind::Visit => {
            let host = k % n;
            let home = (host + 1 + (k / n) % (n - 1)) % n;
            Planned::Visit { host, home, member: (k / n) % members }
        }
        Kind::Vote => {
            let choice = if (k / n).is_multiple_of(2) {
                wire::VoteChoice::Yes
            } else {
                wire::VoteChoice::No
            };
            Planned::Vote { club: k % n, choice }
        }
        Kind::Update => Planned::Update {
            club: k % n,
            member: (k / n) % members,
            round: (k / (n * members)) as u64,
        },
    }
}

/// Signs the corpus on every core; returns it and its mix.
fn sign_corpus(
    clubs: &[Club],
    chain: &str,
    count: usize,
    validity_ms: u64,
) -> (Vec<wire::SignedTx>, Mix) {
    let today = reciprocity_sdk::dates::day_of_ms(reciprocity_node::clock::now_ms());
    let builder = TxBuilder::now(chain).validity_ms(validity_ms);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let bar = crate::progress::bar(count as u64, "transactions signed");
    let chunk = count.div_ceil(threads).max(1);
    let mut corpus: Vec<wire::SignedTx> = Vec::with_capacity(count);
    let mut mix = Mix::default();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..count)
            .step_by(chunk)
            .map(|start| {
                let builder = &builder;
                let bar = &bar;
                scope.spawn(move || {
                    let mut signed = Vec::with_capacity(chunk);
                    let mut mix = Mix::default();
                    for i in start..(start + chunk).min(count) {
                        let tx = match plan(clubs, i) {
                            Planned::Visit { host, home, member } => {
                                mix.visits += 1;
                                builder.sign(
                                    &clubs[host].front_desk,
                                    body::record_visit(&clubs[home].members[member], 0),
                                )
                            }
                            Planned::Update { club, member, round } => {
                                mix.member_updates += 1;
                                let until = today + 400 + u32::try_from(round).unwrap_or(0);
                                builder.sign(
                                    &clubs[club].registrar,
                                    body::update_member(
                                        &clubs[club].members[member],
                                        None,
                                        None,
                                        Some(until),
                                    ),
                                )
                            }
                            Planned::Vote { club, choice } => {
                                mix.votes += 1;
                                let proposal =
                                    clubs[club].proposal.expect("three clubs have proposals");
                                builder
                                    .sign(&clubs[club].governor, body::cast_vote(&proposal, choice))
                            }
                        };
                        signed.push(tx);
                        if signed.len() % 1024 == 0 {
                            bar.inc(1024);
                        }
                    }
                    (signed, mix)
                })
            })
            .collect();
        for worker in workers {
            let (signed, part) = worker.join().expect("signing thread");
            corpus.extend(signed);
            mix.visits += part.visits;
            mix.member_updates += part.member_updates;
            mix.votes += part.votes;
        }
    });
    bar.finish_and_clear();
    (corpus, mix)
}

/// What one closed-loop client saw.
#[derive(Default)]
struct ClientTally {
    latencies: Latencies,
    refused: u64,
    in_blocks: u64,
    refusals: std::collections::BTreeMap<String, u64>,
}

/// `recip-bench cluster`.
pub(crate) async fn run(recip: &Recip, args: ClusterArgs) -> anyhow::Result<()> {
    anyhow::ensure!((1..=16).contains(&args.nodes), "--nodes must be 1..=16");
    anyhow::ensure!((1..=4096).contains(&args.clients), "--clients must be 1..=4096");
    anyhow::ensure!((1..=72_000).contains(&args.duration), "--duration must be 1..=72000 seconds");
    anyhow::ensure!(args.members_per_club >= 1, "--members-per-club must be at least 1");
    let (dir, scratch) = match &args.dir {
        Some(dir) => {
            anyhow::ensure!(
                !dir.join("genesis.toml").exists(),
                "{} already holds a network: give an empty or new directory",
                dir.display()
            );
            (dir.clone(), false)
        }
        None => {
            let dir = std::env::temp_dir().join(format!("recip-bench-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            (dir, true)
        }
    };
    let result = run_in(recip, &dir, &args).await;
    match result {
        Ok(()) if scratch => {
            let _ = std::fs::remove_dir_all(&dir);
            Ok(())
        }
        Ok(()) => Ok(()),
        // Keep the nodes' logs for whoever reads the error.
        Err(error) => Err(error.context(format!("the network is kept in {}", dir.display()))),
    }
}

async fn run_in(recip: &Recip, dir: &Path, args: &ClusterArgs) -> anyhow::Result<()> {
    let (cluster, chain) = start_cluster(recip, dir, args).await?;
    let mut clients = Vec::new();
    for endpoint in &cluster.endpoints {
        clients.push(NodeClient::connect(endpoint).await?);
    }
    let clubs = seed(dir, &clients[0], &chain, args.members_per_club).await?;
    let count = args.corpus.unwrap_or(30_000 * args.duration as usize).max(args.clients);
    // Valid for the whole run (the policy allows up to a day).
    let validity_ms = (3_600 + args.duration) * 1_000;
    let (corpus, mix) = sign_corpus(&clubs, &chain, count, validity_ms);
    let corpus = Arc::new(corpus);
    let height_before = clients[0].status().await?.height;

    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let bar = crate::progress::seconds_until(deadline, args.duration);
    let started = Instant::now();
    let workers: Vec<_> = (0..args.clients)
        .map(|worker| {
            let mut client = clients[worker % clients.len()].clone();
            let corpus = Arc::clone(&corpus);
            let next = Arc::clone(&next);
            tokio::spawn(async move {
                let mut tally = ClientTally::default();
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(tx) = corpus.get(i) else { break };
                    let sent = Instant::now();
                    match client.submit(tx.clone(), true, 30_000).await {
                        Ok(r) if r.outcome == wire::SubmitOutcome::Committed as i32 => {
                            tally.in_blocks += 1;
                            if r.code == 0 {
                                tally.latencies.record(sent.elapsed());
                            } else {
                                tally.refused += 1;
                                *tally.refusals.entry(r.code_name).or_default() += 1;
                            }
                        }
                        Ok(r) => {
                            tally.refused += 1;
                            *tally.refusals.entry(format!("outcome {}", r.outcome)).or_default() +=
                                1;
                        }
                        Err(error) => {
                            tally.refused += 1;
                            *tally.refusals.entry(error.to_string()).or_default() += 1;
                        }
                    }
                }
                tally
            })
        })
        .collect();
    let mut total = ClientTally::default();
    for worker in workers {
        let tally = worker.await?;
        total.latencies.merge(&tally.latencies);
        total.refused += tally.refused;
        total.in_blocks += tally.in_blocks;
        for (why, n) in tally.refusals {
            *total.refusals.entry(why).or_default() += n;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let used = next.load(Ordering::Relaxed).min(corpus.len());
    anyhow::ensure!(
        used < corpus.len() || elapsed >= args.duration as f64,
        "the corpus of {} transactions ran out after {elapsed:.1} s: give a larger --corpus",
        corpus.len()
    );

    // Every node must reach the same state at the same height.
    let (height, agree) = converged(&clients).await?;
    let blocks = height.saturating_sub(height_before).max(1);
    let rss = cluster.rss_mib();
    cluster.stop().await;
    let latencies = total.latencies;
    let committed = latencies.count();
    let round2 = |x: f64| (x * 100.0).round() / 100.0;
    say(serde_json::json!({
        "bench": "cluster",
        "recip": recip.shown(),
        "nodes": args.nodes,
        "clients": args.clients,
        "index": args.index,
        "duration_s": round2(elapsed),
        "committed": committed,
        "committed_per_s": (committed as f64 / elapsed).round(),
        "refused": total.refused,
        "refusals": total.refusals,
        "p50_ms": latencies.quantile_ms(0.50),
        "p90_ms": latencies.quantile_ms(0.90),
        "p99_ms": latencies.quantile_ms(0.99),
        "blocks": blocks,
        "block_txs_avg": round2(total.in_blocks as f64 / blocks as f64),
        "corpus": {"signed": corpus.len(), "mix": mix},
        "state_hashes_agree": agree,
        "height": height,
        "node_rss_mib": rss,
    }));
    anyhow::ensure!(agree, "the nodes did not reach the same state hash at height {height}");
    Ok(())
}

/// Waits until every node is at the same height (up to 30 s); that height
/// and whether their state hashes agree there.
async fn converged(clients: &[NodeClient]) -> anyhow::Result<(u64, bool)> {
    let started = Instant::now();
    loop {
        let mut seen = Vec::new();
        for client in clients {
            let status = client.clone().status().await?;
            seen.push((status.height, status.state_hash));
        }
        let height = seen[0].0;
        if seen.iter().all(|(h, _)| *h == height) {
            return Ok((height, seen.iter().all(|(_, hash)| *hash == seen[0].1)));
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "the nodes did not reach one height within 30 s: {:?}",
            seen.iter().map(|(h, _)| h).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
