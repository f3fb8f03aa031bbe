//! `recip query` and `recip status`.

use anyhow::Context;
use clap::{Args, Subcommand};
use reciprocity_sdk::client::NodeClient;
use reciprocity_sdk::wire;
use wire::query_request::Query;

use super::{ENDPOINT_DEFAULT, say};

#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// The node's gRPC endpoint.
    #[arg(long, env = "RECIP_ENDPOINT", default_value = ENDPOINT_DEFAULT, global = true)]
    endpoint: String,
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, Subcommand)]
enum What {
    /// One club.
    Club { id: String },
    /// Every club.
    Clubs,
    /// An identity by public key (hex).
    Identity { public_key: String },
    /// A member by id (hex).
    Member { member_id: String },
    /// The agreement between two clubs.
    Agreement { club_a: String, club_b: String },
    /// Front-desk eligibility check, with the remaining allowance.
    Check {
        #[arg(long)]
        host: String,
        #[arg(long)]
        member_id: String,
        #[arg(long, default_value_t = 0)]
        guests: u32,
    },
    /// A proposal with its tally.
    Proposal { id: String },
    /// Open proposals.
    Proposals,
    /// A visit by id.
    Visit { id: String },
    /// The letter of introduction of a member to a host.
    Introduction {
        #[arg(long)]
        host: String,
        #[arg(long)]
        member_id: String,
    },
}

fn bytes(text: &str, len: usize, what: &str) -> anyhow::Result<Vec<u8>> {
    let decoded = hex::decode(text).ok().filter(|b| b.len() == len);
    decoded.with_context(|| format!("{text:?} is not a {len}-byte hex {what}"))
}

pub(crate) async fn run(args: QueryArgs) -> anyhow::Result<()> {
    let query = match args.what {
        What::Club { id } => Query::Club(id),
        What::Clubs => Query::Clubs(true),
        What::Identity { public_key } => Query::Identity(bytes(&public_key, 32, "public key")?),
        What::Member { member_id } => Query::Member(bytes(&member_id, 16, "member id")?),
        What::Agreement { club_a, club_b } => Query::Agreement(wire::ClubPair { club_a, club_b }),
        What::Check { host, member_id, guests } => Query::VisitCheck(wire::VisitCheckQuery {
            host_club: host,
            member_id: bytes(&member_id, 16, "member id")?,
            guests,
            at_ms: 0,
        }),
        What::Proposal { id } => Query::Proposal(bytes(&id, 32, "proposal id")?),
        What::Proposals => Query::OpenProposals(true),
        What::Visit { id } => Query::Visit(bytes(&id, 32, "visit id")?),
        What::Introduction { host, member_id } => Query::Introduction(wire::IntroductionQuery {
            host_club: host,
            member_id: bytes(&member_id, 16, "member id")?,
        }),
    };
    let mut client = NodeClient::connect(&args.endpoint).await?;
    let response = client.query(query).await?;
    anyhow::ensure!(response.found, "not found (state at height {})", response.height);
    let value: serde_json::Value = serde_json::from_str(&response.json)?;
    say(serde_json::to_string_pretty(&value)?);
    Ok(())
}

pub(crate) async fn status(endpoint: &str, json: bool) -> anyhow::Result<()> {
    let mut client = NodeClient::connect(endpoint).await?;
    let status = client.status().await?;
    if json {
        say(serde_json::json!({
            "node_id": status.node_id,
            "club": status.club,
            "role": status.role,
            "leader": status.leader,
            "term": status.term,
            "height": status.height,
            "state_hash": hex::encode(&status.state_hash),
            "last_block_time_ms": status.last_block_time_ms,
            "chain_id": status.chain_id,
            "mempool_txs": status.mempool_txs,
            "leader_club": status.leader_club,
            "club_active": status.club_active,
            "connected_peers": status.connected_peers,
            "index_lag_blocks": status.index_enabled.then_some(status.index_lag_blocks),
            "members": status.members.iter().map(|m| serde_json::json!({
                "node_id": m.node_id,
                "club": m.club,
                "address": m.address,
                "role": m.role,
                "connected": m.connected,
            })).collect::<Vec<_>>(),
        }));
    } else {
        let leader = if status.leader_club.is_empty() {
            "none known".to_owned()
        } else {
            format!("{} ({})", status.leader, status.leader_club)
        };
        say(format_args!(
            "node {} of club {} ({}, term {}, leader {leader})",
            status.node_id, status.club, status.role, status.term
        ));
        if !status.club_active {
            say("this club is not active on the ledger: the network does not accept this node");
        }
        say(format_args!(
            "chain {} at height {}, state hash {}",
            status.chain_id,
            status.height,
            hex::encode(&status.state_hash)
        ));
        if status.index_enabled {
            say(format_args!("SQL index {} block(s) behind", status.index_lag_blocks));
        }
        say(format_args!("raft members ({} peers connected):", status.connected_peers));
        for m in &status.members {
            say(format_args!(
                "  {:<8} {:<12} {}  {}{}",
                m.role,
                m.club,
                m.node_id,
                m.address,
                if m.connected { "" } else { "  (not connected)" }
            ));
        }
    }
    Ok(())
}
