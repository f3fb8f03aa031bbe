//! `recip query` and `recip status`.

use anyhow::Context;
use clap::{Args, Subcommand};
use reciprocity_node::words::count_of;
use reciprocity_sdk::client::NodeClient;
use reciprocity_sdk::wire;
use serde_json::Value;
use wire::query_request::Query;

use super::{ENDPOINT_DEFAULT, say};

#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// The node's gRPC endpoint.
    #[arg(long, env = "RECIP_ENDPOINT", default_value = ENDPOINT_DEFAULT, global = true)]
    endpoint: String,
    /// Print the answer as JSON (as the REST API writes it) instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, Subcommand)]
enum What {
    /// One club.
    Club {
        /// The club id, e.g. `harbour`.
        id: String,
    },
    /// Every club.
    Clubs,
    /// An enrolled identity.
    Identity {
        /// Its public key (64 hex digits).
        public_key: String,
    },
    /// A member's record on the ledger (no personal data).
    Member {
        /// The member id (32 hex digits).
        member_id: String,
    },
    /// The agreement between two clubs.
    Agreement {
        /// One club.
        club_a: String,
        /// The other club.
        club_b: String,
    },
    /// Front-desk eligibility check, with the remaining allowance.
    Check {
        /// The club visited.
        #[arg(long)]
        host: String,
        /// The visitor's member id (32 hex digits).
        #[arg(long)]
        member_id: String,
        /// Guests the visitor brings.
        #[arg(long, default_value_t = 0)]
        guests: u32,
    },
    /// A proposal with its tally.
    Proposal {
        /// The proposal id (64 hex digits).
        id: String,
    },
    /// Open proposals.
    Proposals,
    /// A visit.
    Visit {
        /// The visit id (64 hex digits).
        id: String,
    },
    /// The letter of introduction of a member to a host.
    Introduction {
        /// The club the member is introduced to.
        #[arg(long)]
        host: String,
        /// The member id (32 hex digits).
        #[arg(long)]
        member_id: String,
    },
}

fn bytes(text: &str, len: usize, what: &str) -> anyhow::Result<Vec<u8>> {
    let decoded = hex::decode(text).ok().filter(|b| b.len() == len);
    decoded.with_context(|| format!("{text:?} is not a {what} ({} hex digits)", len * 2))
}

pub(crate) async fn run(args: QueryArgs) -> anyhow::Result<()> {
    let query = match &args.what {
        What::Club { id } => Query::Club(id.clone()),
        What::Clubs => Query::Clubs(true),
        What::Identity { public_key } => Query::Identity(bytes(public_key, 32, "public key")?),
        What::Member { member_id } => Query::Member(bytes(member_id, 16, "member id")?),
        What::Agreement { club_a, club_b } => {
            Query::Agreement(wire::ClubPair { club_a: club_a.clone(), club_b: club_b.clone() })
        }
        What::Check { host, member_id, guests } => Query::VisitCheck(wire::VisitCheckQuery {
            host_club: host.clone(),
            member_id: bytes(member_id, 16, "member id")?,
            guests: *guests,
            at_ms: 0,
        }),
        What::Proposal { id } => Query::Proposal(bytes(id, 32, "proposal id")?),
        What::Proposals => Query::OpenProposals(true),
        What::Visit { id } => Query::Visit(bytes(id, 32, "visit id")?),
        What::Introduction { host, member_id } => Query::Introduction(wire::IntroductionQuery {
            host_club: host.clone(),
            member_id: bytes(member_id, 16, "member id")?,
        }),
    };
    let mut client = NodeClient::connect(&args.endpoint).await?;
    let response = client.query(query).await?;
    anyhow::ensure!(response.found, "not found (state at height {})", response.height);
    let value: Value = serde_json::from_str(&response.json)?;
    if args.json {
        say(serde_json::to_string_pretty(&value)?);
    } else {
        say(render(&args.what, &value).trim_end());
    }
    Ok(())
}

/// The answer for people.
fn render(what: &What, value: &Value) -> String {
    match what {
        What::Check { .. } => render_check(value),
        What::Clubs => table(
            value,
            &[
                ("club_id", "club"),
                ("status", "status"),
                ("utc_offset_minutes", "utc offset (min)"),
                ("name", "name"),
            ],
        ),
        What::Proposals => {
            let mut rows = value.clone();
            for row in rows.as_array_mut().into_iter().flatten() {
                if let Some(ms) = row["ends_at_ms"].as_u64() {
                    row["ends"] = Value::String(time_in_words(ms));
                }
            }
            let columns = [
                ("proposal_id", "proposal"),
                ("status", "status"),
                ("proposer_club", "by"),
                ("ends", "voting ends"),
            ];
            table(&rows, &columns)
        }
        _ => fields(value, 0),
    }
}

/// A JSON value as indented `name: value` lines.
fn fields(value: &Value, depth: usize) -> String {
    let indent = "  ".repeat(depth);
    let mut out = String::new();
    match value {
        Value::Object(map) => {
            for (name, item) in map {
                match item {
                    Value::Null => {}
                    Value::Object(_) => {
                        out.push_str(&format!("{indent}{name}:\n{}", fields(item, depth + 1)));
                    }
                    Value::Array(items) if items.iter().any(|i| i.is_object()) => {
                        out.push_str(&format!("{indent}{name}:\n"));
                        for item in items {
                            // `- first: value`, the other fields under it.
                            let nested = fields(item, depth + 2);
                            let marked = nested.replacen(
                                &format!("{indent}    "),
                                &format!("{indent}  - "),
                                1,
                            );
                            out.push_str(&marked);
                        }
                    }
                    Value::Number(ms) if name == "at_ms" || name.ends_with("_at_ms") => out
                        .push_str(&format!(
                            "{indent}{name}: {}\n",
                            ms.as_u64().map_or_else(|| ms.to_string(), time_in_words)
                        )),
                    other => out.push_str(&format!("{indent}{name}: {}\n", scalar(other))),
                }
            }
        }
        other => out.push_str(&format!("{indent}{}\n", scalar(other))),
    }
    out
}

/// A Unix time in ms as `2026-12-03 14:05:09 UTC`.
fn time_in_words(ms: u64) -> String {
    let day = u32::try_from(ms / 86_400_000).unwrap_or(u32::MAX);
    let seconds = (ms % 86_400_000) / 1_000;
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        reciprocity_sdk::dates::format_day(day),
        seconds / 3_600,
        seconds / 60 % 60,
        seconds % 60
    )
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) if items.is_empty() => "(none)".to_owned(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(", "),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

/// A JSON array of objects as a table of `columns` (field, heading).
fn table(value: &Value, columns: &[(&str, &str)]) -> String {
    let rows: Vec<Vec<String>> = value
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| columns.iter().map(|(field, _)| scalar(&item[*field])).collect())
                .collect()
        })
        .unwrap_or_default();
    if rows.is_empty() {
        return "(none)".to_owned();
    }
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, (_, heading))| {
            rows.iter().map(|r| r[i].len()).chain([heading.len()]).max().unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = line(columns.iter().map(|(_, h)| *h).collect()) + "\n";
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// A front-desk check: the verdict first, the allowance where it applies.
fn render_check(value: &Value) -> String {
    let mut out = if value["eligible"] == Value::Bool(true) {
        "eligible: the visit can be recorded\n".to_owned()
    } else {
        format!("refused: {} — {}\n", scalar(&value["code"]), scalar(&value["reason"]))
    };
    if let Some(home) = value["home_club"].as_str() {
        out.push_str(&format!("home club: {home}\n"));
    }
    out.push_str(&format!("date at the host: {}\n", scalar(&value["local_date"])));
    let allowance = &value["allowance"];
    if allowance.is_object() {
        out.push_str(&format!(
            "allowance: {} of {} visit-days left this month, {} of {} this year{}\n",
            allowance["month_days_remaining"],
            allowance["month_days_max"],
            allowance["year_days_remaining"],
            allowance["year_days_max"],
            if allowance["today_already_counted"] == Value::Bool(true) {
                " (today already counts: another check-in is free)"
            } else {
                ""
            }
        ));
    }
    let terms = &value["terms"];
    if terms.is_object() {
        out.push_str(&format!(
            "terms: up to {}; fee {} minor units of {}, {}\n",
            count_of(terms["guests_max"].as_u64().unwrap_or(0) as usize, "guest", "guests"),
            terms["fee_minor"],
            scalar(&terms["fee_currency"]),
            scalar(&terms["fee_settlement"]).replace('_', " ")
        ));
    }
    out.push_str(&format!("ledger height: {}\n", value["height"]));
    out
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
                "link": m.link,
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
            say(format_args!(
                "SQL index {} behind",
                count_of(status.index_lag_blocks as usize, "block", "blocks")
            ));
        }
        say(format_args!(
            "raft members ({} connected):",
            count_of(status.connected_peers as usize, "peer", "peers")
        ));
        for m in &status.members {
            say(format_args!(
                "  {:<8} {:<12} {}  {}  {}",
                m.role, m.club, m.node_id, m.address, m.link
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_check_shows_the_reason_and_no_allowance() {
        let answer = serde_json::json!({
            "eligible": false, "code": "MemberNotActive", "code_number": 48,
            "reason": "The member's status at home is not active.", "home_club": "harbour",
            "local_date": "2026-12-03", "allowance": null, "terms": null, "height": 9
        });
        let text = render_check(&answer);
        assert!(text.starts_with("refused: MemberNotActive"), "{text}");
        assert!(!text.contains("visit-days"), "{text}");
    }

    #[test]
    fn records_print_as_named_lines_and_lists_as_tables() {
        let member =
            serde_json::json!({"member_id": "ab", "status": "active", "valid_until": "2027-12-31"});
        let text = fields(&member, 0);
        assert!(
            text.contains("status: active\n") && text.contains("valid_until: 2027-12-31"),
            "{text}"
        );
        let proposal = serde_json::json!({"ends_at_ms": 1_796_924_795_409_u64, "votes": [{"club": "alpine", "choice": "yes"}]});
        let text = fields(&proposal, 0);
        assert!(text.contains("ends_at_ms: 2026-12-10 "), "{text}");
        assert!(text.contains("votes:\n  - choice: yes\n    club: alpine\n"), "{text}");
        let clubs = serde_json::json!([{"club_id": "harbour", "status": "active", "utc_offset_minutes": 0, "name": "Harbour"}]);
        let text = table(&clubs, &[("club_id", "club"), ("status", "status")]);
        assert_eq!(text, "club     status\nharbour  active\n");
    }
}
