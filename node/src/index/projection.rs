//! From a committed block to the SQL statements that project it: pure, no
//! database. Every statement is an upsert or insert keyed so that
//! projecting the same block twice inside one transaction is impossible
//! (the checkpoint forbids it) and replaying from scratch gives the same
//! tables.

use reciprocity_proto::v1 as pb;

use super::{IndexError, Result};

/// The roles of a club key, as `identity.enrolled` names roles.
const CLUB_KEY_ROLES: &str = "admin,registrar,front_desk,governor";

/// A value bound to a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A 64-bit integer.
    Int(i64),
    /// Text.
    Text(String),
    /// A boolean.
    Bool(bool),
    /// SQL NULL (of text type).
    Null,
}

/// One statement with its arguments (`$1`, `$2`... in order of appearance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The SQL text, valid for both backends.
    pub sql: &'static str,
    /// Its arguments.
    pub args: Vec<Value>,
}

fn int(value: u64) -> Result<Value> {
    i64::try_from(value)
        .map(Value::Int)
        .map_err(|_| IndexError::Projection(format!("{value} does not fit a BIGINT")))
}

fn text(value: impl Into<String>) -> Value {
    Value::Text(value.into())
}

struct Attrs<'a> {
    event: &'a pb::Event,
}

impl Attrs<'_> {
    fn get(&self, key: &str) -> Result<&str> {
        self.event.attrs.iter().find(|a| a.key == key).map(|a| a.value.as_str()).ok_or_else(|| {
            IndexError::Projection(format!("event {} has no {key:?}", self.event.kind))
        })
    }

    fn opt(&self, key: &str) -> Option<&str> {
        self.event.attrs.iter().find(|a| a.key == key).map(|a| a.value.as_str())
    }

    fn num(&self, key: &str) -> Result<Value> {
        let raw = self.get(key)?;
        raw.parse::<u64>()
            .map_err(|_| {
                IndexError::Projection(format!(
                    "event {}: {key} = {raw:?} is not a number",
                    self.event.kind
                ))
            })
            .and_then(int)
    }
}

/// The name of a payload's body, e.g. `record_visit`.
pub fn tx_kind(tx: &pb::SignedTx) -> String {
    use pb::tx_payload::Body;
    use prost::Message;
    let Ok(payload) = pb::TxPayload::decode(tx.payload.as_slice()) else {
        return "undecodable".to_owned();
    };
    match payload.body {
        Some(Body::Genesis(_)) => "genesis",
        Some(Body::EnrollIdentity(_)) => "enroll_identity",
        Some(Body::RevokeIdentity(_)) => "revoke_identity",
        Some(Body::RegisterMember(_)) => "register_member",
        Some(Body::UpdateMember(_)) => "update_member",
        Some(Body::ProposeAgreement(_)) => "propose_agreement",
        Some(Body::AmendAgreement(_)) => "amend_agreement",
        Some(Body::AcceptAgreement(_)) => "accept_agreement",
        Some(Body::SuspendAgreement(_)) => "suspend_agreement",
        Some(Body::ResumeAgreement(_)) => "resume_agreement",
        Some(Body::TerminateAgreement(_)) => "terminate_agreement",
        Some(Body::IssueIntroduction(_)) => "issue_introduction",
        Some(Body::RecordVisit(_)) => "record_visit",
        Some(Body::VoidVisit(_)) => "void_visit",
        Some(Body::CreateProposal(_)) => "create_proposal",
        Some(Body::CastVote(_)) => "cast_vote",
        Some(Body::EnrollCardKey(_)) => "enroll_card_key",
        Some(Body::RevokeCardKey(_)) => "revoke_card_key",
        Some(Body::IssueCard(_)) => "issue_card",
        None => "empty",
    }
    .to_owned()
}

/// The statements that project `block`, whose header hashes to `block_hash`.
pub fn project(block: &pb::Block, block_hash: &[u8; 32]) -> Result<Vec<Statement>> {
    let header = block
        .header
        .as_ref()
        .ok_or_else(|| IndexError::Projection("block without a header".into()))?;
    let height = int(header.height)?;
    let mut out = vec![Statement {
        sql: "INSERT INTO blocks (height, block_hash, time_ms, tx_count, state_hash) VALUES ($1, $2, $3, $4, $5)",
        args: vec![
            height.clone(),
            text(hex::encode(block_hash)),
            int(header.timestamp_ms)?,
            int(block.txs.len() as u64)?,
            text(hex::encode(&header.state_hash)),
        ],
    }];
    for (position, (tx, result)) in block.txs.iter().zip(&block.results).enumerate() {
        let position = int(position as u64)?;
        out.push(Statement {
            sql: "INSERT INTO transactions (height, position, tx_id, signer, kind, code, code_name) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args: vec![
                height.clone(),
                position.clone(),
                text(hex::encode(&result.tx_id)),
                text(hex::encode(&tx.signer)),
                text(tx_kind(tx)),
                int(u64::from(result.code))?,
                text(result.code_name.clone()),
            ],
        });
        for event in &result.events {
            project_event(event, &height, &position, &mut out)?;
        }
    }
    // Block events (e.g. a vote closing at its end time) sit after the
    // transactions, numbered on from the last position.
    for (i, event) in block.block_events.iter().enumerate() {
        let position = int(block.txs.len() as u64 + i as u64)?;
        project_event(event, &height, &position, &mut out)?;
    }
    Ok(out)
}

fn project_event(
    event: &pb::Event,
    height: &Value,
    position: &Value,
    out: &mut Vec<Statement>,
) -> Result<()> {
    let a = Attrs { event };
    let kind = event.kind.as_str();
    match kind {
        "club.admitted" => {
            out.push(Statement {
                sql: "INSERT INTO clubs (club_id, status, admitted_height, updated_height) VALUES ($1, 'Active', $2, $3)",
                args: vec![text(a.get("club_id")?), height.clone(), height.clone()],
            });
            // The club key is the club's first identity and holds every role.
            out.push(Statement {
                sql: "INSERT INTO identities (public_key, club_id, roles, revoked, updated_height) VALUES ($1, $2, $3, FALSE, $4)",
                args: vec![
                    text(a.get("club_key")?),
                    text(a.get("club_id")?),
                    text(CLUB_KEY_ROLES),
                    height.clone(),
                ],
            });
        }
        "club.suspended" | "club.reinstated" | "club.removed" => {
            let status = match kind {
                "club.suspended" => "Suspended",
                "club.reinstated" => "Active",
                _ => "Removed",
            };
            out.push(Statement {
                sql: "UPDATE clubs SET status = $1, updated_height = $2 WHERE club_id = $3",
                args: vec![text(status), height.clone(), text(a.get("club_id")?)],
            });
        }
        "identity.enrolled" => out.push(Statement {
            sql: "INSERT INTO identities (public_key, club_id, roles, revoked, updated_height) VALUES ($1, $2, $3, FALSE, $4) \
                  ON CONFLICT (public_key) DO UPDATE SET club_id = excluded.club_id, roles = excluded.roles, revoked = FALSE, updated_height = excluded.updated_height",
            args: vec![text(a.get("public_key")?), text(a.get("club_id")?), text(a.get("roles")?), height.clone()],
        }),
        "identity.revoked" => out.push(Statement {
            sql: "UPDATE identities SET revoked = TRUE, updated_height = $1 WHERE public_key = $2",
            args: vec![height.clone(), text(a.get("public_key")?)],
        }),
        "member.registered" => out.push(Statement {
            sql: "INSERT INTO members (member_id, home_club, tier, status, valid_until_day, registered_height, updated_height) VALUES ($1, $2, $3, 'Active', $4, $5, $6)",
            args: vec![
                text(a.get("member_id")?),
                text(a.get("home_club")?),
                text(a.get("tier")?),
                a.num("valid_until_day")?,
                height.clone(),
                height.clone(),
            ],
        }),
        "member.updated" => out.push(Statement {
            sql: "UPDATE members SET status = $1, tier = $2, valid_until_day = $3, updated_height = $4 WHERE member_id = $5",
            args: vec![
                text(a.get("status")?),
                text(a.get("tier")?),
                a.num("valid_until_day")?,
                height.clone(),
                text(a.get("member_id")?),
            ],
        }),
        "visit.recorded" => out.push(Statement {
            sql: "INSERT INTO visits (visit_id, host_club, home_club, member_id, local_day, guests, fee_minor, height, voided, voided_height) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE, NULL)",
            args: vec![
                text(a.get("visit_id")?),
                text(a.get("host_club")?),
                text(a.get("home_club")?),
                text(a.get("member_id")?),
                a.num("local_day")?,
                a.num("guests")?,
                a.num("fee_minor")?,
                height.clone(),
            ],
        }),
        "visit.voided" => out.push(Statement {
            sql: "UPDATE visits SET voided = TRUE, voided_height = $1 WHERE visit_id = $2",
            args: vec![height.clone(), text(a.get("visit_id")?)],
        }),
        "introduction.issued" => out.push(Statement {
            sql: "INSERT INTO introductions (height, position, member_id, host_club, home_club, valid_from_day, valid_until_day) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args: vec![
                height.clone(),
                position.clone(),
                text(a.get("member_id")?),
                text(a.get("host_club")?),
                text(a.get("home_club")?),
                a.num("valid_from_day")?,
                a.num("valid_until_day")?,
            ],
        }),
        "proposal.created" => out.push(Statement {
            sql: "INSERT INTO proposals (proposal_id, proposer_club, action, ends_at_ms, electorate, status, yes, no, abstain, created_height, closed_height) VALUES ($1, $2, $3, $4, $5, 'open', 0, 0, 0, $6, NULL)",
            args: vec![
                text(a.get("proposal_id")?),
                text(a.get("proposer_club")?),
                text(a.get("action")?),
                a.num("ends_at_ms")?,
                a.num("electorate")?,
                height.clone(),
            ],
        }),
        "vote.cast" => {
            out.push(Statement {
                sql: "INSERT INTO votes (proposal_id, club_id, choice, height) VALUES ($1, $2, $3, $4) \
                      ON CONFLICT (proposal_id, club_id) DO UPDATE SET choice = excluded.choice, height = excluded.height",
                args: vec![text(a.get("proposal_id")?), text(a.get("club_id")?), text(a.get("choice")?), height.clone()],
            });
            out.push(Statement {
                sql: "UPDATE proposals SET yes = $1, no = $2, abstain = $3 WHERE proposal_id = $4",
                args: vec![a.num("yes")?, a.num("no")?, a.num("abstain")?, text(a.get("proposal_id")?)],
            });
        }
        "proposal.closed" => out.push(Statement {
            sql: "UPDATE proposals SET status = $1, yes = $2, no = $3, abstain = $4, closed_height = $5 WHERE proposal_id = $6",
            args: vec![
                text(a.get("outcome")?),
                a.num("yes")?,
                a.num("no")?,
                a.num("abstain")?,
                height.clone(),
                text(a.get("proposal_id")?),
            ],
        }),
        _ if kind.starts_with("agreement.") => {
            let (club_a, club_b, by) = (a.get("club_a")?, a.get("club_b")?, a.get("by")?);
            let terms = a.opt("terms_hash").map_or(Value::Null, text);
            let event_name = kind.trim_start_matches("agreement.");
            out.push(Statement {
                sql: "INSERT INTO agreement_history (height, position, club_a, club_b, event, by_club, terms_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                args: vec![
                    height.clone(),
                    position.clone(),
                    text(club_a),
                    text(club_b),
                    text(event_name),
                    text(by),
                    terms.clone(),
                ],
            });
            let pair = || vec![text(club_a), text(club_b)];
            match event_name {
                "offered" | "amendment_offered" => out.push(Statement {
                    sql: "INSERT INTO agreements (pending_terms_hash, pending_by, updated_height, club_a, club_b, suspended_by_a, suspended_by_b) \
                          VALUES ($1, $2, $3, $4, $5, FALSE, FALSE) \
                          ON CONFLICT (club_a, club_b) DO UPDATE SET pending_terms_hash = excluded.pending_terms_hash, \
                          pending_by = excluded.pending_by, updated_height = excluded.updated_height",
                    args: [vec![terms, text(by), height.clone()], pair()].concat(),
                }),
                "accepted" | "amended" => {
                    out.push(Statement {
                        sql: "INSERT INTO agreement_versions (version, terms_hash, amendment, accepted_height, club_a, club_b) VALUES ($1, $2, $3, $4, $5, $6)",
                        args: [
                            vec![a.num("version")?, terms.clone(), Value::Bool(event_name == "amended"), height.clone()],
                            pair(),
                        ]
                        .concat(),
                    });
                    out.push(Statement {
                        sql: "UPDATE agreements SET current_version = $1, current_terms_hash = $2, pending_terms_hash = NULL, pending_by = NULL, updated_height = $3 WHERE club_a = $4 AND club_b = $5",
                        args: [vec![a.num("version")?, terms, height.clone()], pair()].concat(),
                    });
                }
                "suspended" | "resumed" => out.push(Statement {
                    sql: "UPDATE agreements SET \
                          suspended_by_a = CASE WHEN $1 = club_a THEN $2 ELSE suspended_by_a END, \
                          suspended_by_b = CASE WHEN $3 = club_b THEN $4 ELSE suspended_by_b END, \
                          updated_height = $5 WHERE club_a = $6 AND club_b = $7",
                    args: [
                        vec![
                            text(by),
                            Value::Bool(event_name == "suspended"),
                            text(by),
                            Value::Bool(event_name == "suspended"),
                            height.clone(),
                        ],
                        pair(),
                    ]
                    .concat(),
                }),
                "terminated" => out.push(Statement {
                    sql: "UPDATE agreements SET terminates_at_ms = $1, pending_terms_hash = NULL, pending_by = NULL, updated_height = $2 WHERE club_a = $3 AND club_b = $4",
                    args: [vec![a.num("effective_at_ms")?, height.clone()], pair()].concat(),
                }),
                other => return Err(IndexError::Projection(format!("unknown agreement event {other:?}"))),
            }
        }
        "proposal.execution_failed" => out.push(Statement {
            sql: "UPDATE proposals SET execution_error = $1 WHERE proposal_id = $2",
            args: vec![text(a.get("code")?), text(a.get("proposal_id")?)],
        }),
        // Events with nothing to index (genesis.applied, policy.changed,
        // resolution.adopted, proposal.execution_failed) are in the block.
        _ => {}
    }
    Ok(())
}
