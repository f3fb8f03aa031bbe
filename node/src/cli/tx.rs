//! `recip tx`: build, sign (with a key file) and submit any transaction kind.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use reciprocity_sdk::client::NodeClient;
use reciprocity_sdk::dates::parse_day;
use reciprocity_sdk::keys::Keypair;
use reciprocity_sdk::tx::{TxBuilder, body};
use reciprocity_sdk::wire;
use reciprocity_sdk::{MemberId, PublicKey, TxId};
use wire::create_proposal::Action;

use super::{ENDPOINT_DEFAULT, say};

#[derive(Debug, Args)]
pub(crate) struct TxArgs {
    /// The node's gRPC endpoint.
    #[arg(long, env = "RECIP_ENDPOINT", default_value = ENDPOINT_DEFAULT, global = true)]
    endpoint: String,
    /// The signing key file.
    #[arg(long, env = "RECIP_KEY", global = true)]
    key: Option<PathBuf>,
    /// Return once admitted instead of waiting for the commit.
    #[arg(long, global = true)]
    no_wait: bool,
    /// Print the outcome as JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    kind: TxKind,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    Registrar,
    FrontDesk,
    Governor,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StatusArg {
    Active,
    Suspended,
    Expired,
    Resigned,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SettlementArg {
    OnSite,
    BilledToHomeClub,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ChoiceArg {
    Yes,
    No,
    Abstain,
}

/// Agreement terms as flags.
#[derive(Debug, Args)]
struct TermsArgs {
    /// Tiers covered, comma separated.
    #[arg(long, value_delimiter = ',', required = true)]
    tiers: Vec<String>,
    /// Visit-days per member per month.
    #[arg(long)]
    per_month: u32,
    /// Visit-days per member per year.
    #[arg(long)]
    per_year: u32,
    /// Guests per visit.
    #[arg(long, default_value_t = 0)]
    guests: u32,
    /// Fee per visit in minor units (cents).
    #[arg(long, default_value_t = 0)]
    fee_minor: u64,
    /// ISO 4217 currency.
    #[arg(long, default_value = "EUR")]
    currency: String,
    /// How the fee is settled.
    #[arg(long, value_enum, default_value = "on-site")]
    settlement: SettlementArg,
    /// First day (YYYY-MM-DD).
    #[arg(long)]
    from: String,
    /// Last day (YYYY-MM-DD); none means no end.
    #[arg(long)]
    until: Option<String>,
    /// Blackout range FIRST..LAST (YYYY-MM-DD..YYYY-MM-DD); repeatable.
    #[arg(long)]
    blackout: Vec<String>,
    /// Days of notice for termination.
    #[arg(long, default_value_t = 30)]
    notice_days: u32,
    /// Visitors need a letter of introduction.
    #[arg(long)]
    introduction_required: bool,
}

impl TermsArgs {
    fn to_wire(&self) -> anyhow::Result<wire::AgreementTerms> {
        let mut blackouts = Vec::new();
        for range in &self.blackout {
            let (first, last) = range
                .split_once("..")
                .with_context(|| format!("--blackout {range:?} is not FIRST..LAST"))?;
            blackouts
                .push(wire::DayRange { first_day: parse_day(first)?, last_day: parse_day(last)? });
        }
        let terms = wire::AgreementTerms {
            tiers_covered: self.tiers.clone(),
            visit_days_per_month_max: self.per_month,
            visit_days_per_year_max: self.per_year,
            guests_per_visit_max: self.guests,
            visit_fee_minor: self.fee_minor,
            fee_currency: self.currency.clone(),
            fee_settlement: match self.settlement {
                SettlementArg::OnSite => wire::FeeSettlement::OnSite,
                SettlementArg::BilledToHomeClub => wire::FeeSettlement::BilledToHomeClub,
            } as i32,
            valid_from_day: parse_day(&self.from)?,
            valid_until_day: self.until.as_deref().map(parse_day).transpose()?.unwrap_or(0),
            blackouts,
            notice_days: self.notice_days,
            introduction_required: self.introduction_required,
        };
        reciprocity_sdk::terms::check(&reciprocity_sdk::terms::encode(&terms)).map_err(
            |problem| anyhow::anyhow!("these terms would be refused (InvalidTerms): {problem}"),
        )?;
        Ok(terms)
    }
}

#[derive(Debug, Subcommand)]
enum ProposalKind {
    /// Admit a club described in a TOML file (a `[[clubs]]` entry of a network config).
    AdmitClub {
        /// File with one club: id, name, club_key, utc_offset_minutes, [[nodes]].
        spec: PathBuf,
    },
    /// Suspend an active club.
    SuspendClub {
        /// The club id.
        club: String,
    },
    /// Reinstate a suspended club.
    ReinstateClub {
        /// The club id.
        club: String,
    },
    /// Remove a club.
    RemoveClub {
        /// The club id.
        club: String,
    },
    /// Replace the policy with the `[policy]` of a TOML file.
    ChangePolicy {
        /// A TOML file with a `[policy]` table (as in a network config).
        policy: PathBuf,
    },
    /// A non-binding resolution.
    Resolution {
        /// The resolution's text (at most 2000 characters).
        text: String,
    },
}

#[derive(Debug, Subcommand)]
enum TxKind {
    /// Enroll an identity of your club (the signer's club).
    EnrollIdentity {
        /// The identity's public key (64 hex digits; `recip keys show`).
        #[arg(long)]
        public_key: String,
        /// Its roles, comma separated.
        #[arg(long, value_enum, value_delimiter = ',', required = true)]
        roles: Vec<RoleArg>,
    },
    /// Revoke an identity of your club.
    RevokeIdentity {
        /// The identity's public key (64 hex digits).
        #[arg(long)]
        public_key: String,
    },
    /// Enroll your club's card-issuing key (the current one is retired:
    /// its cards stay valid until their valid-until); the key signs its
    /// proof of possession, so its file is needed.
    EnrollCardKey {
        /// The card key's file (`recip keys new`).
        #[arg(long)]
        card_key_file: std::path::PathBuf,
        /// Your club's id (the proof names it).
        #[arg(long)]
        club: String,
    },
    /// Revoke one of your club's card keys (compromised: its cards are refused).
    RevokeCardKey {
        /// The card key's public key (64 hex digits).
        #[arg(long)]
        public_key: String,
    },
    /// Record a new card for a member of your club (older cards stop admitting).
    IssueCard {
        /// The member id (32 hex digits).
        #[arg(long)]
        member_id: String,
        /// The club's current card key id (16 hex digits; the REST API's
        /// `GET /v1/card-keys`).
        #[arg(long)]
        card_key_id: String,
    },
    /// Register a member of your club (a random member id when none is given).
    RegisterMember {
        /// The member id (32 hex digits); random when absent.
        #[arg(long)]
        member_id: Option<String>,
        /// Membership tier (1-32 of a-z, 0-9, '-', '_'), as agreements name tiers.
        #[arg(long)]
        tier: String,
        /// Last day of validity (YYYY-MM-DD).
        #[arg(long)]
        valid_until: String,
    },
    /// Change a member's status, tier or validity.
    UpdateMember {
        /// The member id (32 hex digits).
        #[arg(long)]
        member_id: String,
        /// New standing.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// New tier.
        #[arg(long)]
        tier: Option<String>,
        /// New last day of validity (YYYY-MM-DD).
        #[arg(long)]
        valid_until: Option<String>,
    },
    /// Offer terms to another club.
    ProposeAgreement {
        /// The other club's id.
        #[arg(long = "with")]
        counterparty: String,
        #[command(flatten)]
        terms: TermsArgs,
    },
    /// Offer amended terms.
    AmendAgreement {
        /// The other club's id.
        #[arg(long = "with")]
        counterparty: String,
        #[command(flatten)]
        terms: TermsArgs,
    },
    /// Accept the other club's pending offer by its terms hash.
    AcceptAgreement {
        /// The club that made the offer.
        #[arg(long = "with")]
        counterparty: String,
        /// The hash of the exact terms accepted (64 hex digits, from the offer).
        #[arg(long)]
        terms_hash: String,
    },
    /// Suspend the agreement (your side).
    SuspendAgreement {
        /// The other club's id.
        #[arg(long = "with")]
        counterparty: String,
    },
    /// Lift your side's suspension.
    ResumeAgreement {
        /// The other club's id.
        #[arg(long = "with")]
        counterparty: String,
    },
    /// Terminate with the notice of the terms in effect.
    TerminateAgreement {
        /// The other club's id.
        #[arg(long = "with")]
        counterparty: String,
    },
    /// Introduce one of your members to a host club.
    IssueIntroduction {
        /// The member id (32 hex digits).
        #[arg(long)]
        member_id: String,
        /// The club the member is introduced to.
        #[arg(long)]
        host: String,
        /// First day covered (YYYY-MM-DD).
        #[arg(long)]
        from: String,
        /// Last day covered (YYYY-MM-DD; at most 366 days after --from).
        #[arg(long)]
        until: String,
    },
    /// Record a visit at your club: the host is the signing key's club
    /// (sign with your front desk's key; the visitor belongs to another club).
    RecordVisit {
        /// The visitor's member id (32 hex digits, from the member's card).
        #[arg(long)]
        member_id: String,
        /// Guests the visitor brings.
        #[arg(long, default_value_t = 0)]
        guests: u32,
    },
    /// Void a visit your club recorded (within 24 hours).
    VoidVisit {
        /// The visit id (64 hex digits: the recording transaction's id).
        #[arg(long)]
        visit_id: String,
    },
    /// Open a governance vote.
    Propose {
        /// Voting period in hours.
        #[arg(long, default_value_t = 72)]
        voting_period_hours: u64,
        #[command(subcommand)]
        action: ProposalKind,
    },
    /// Cast (or replace) your club's vote.
    Vote {
        /// The proposal id (64 hex digits).
        #[arg(long)]
        proposal: String,
        /// Your club's vote.
        #[arg(long, value_enum)]
        choice: ChoiceArg,
    },
}

fn public_key(text: &str) -> anyhow::Result<PublicKey> {
    PublicKey::from_hex(text).with_context(|| format!("{text:?} is not a 32-byte hex public key"))
}

fn member(text: &str) -> anyhow::Result<MemberId> {
    MemberId::from_hex(text).with_context(|| format!("{text:?} is not a 16-byte hex member id"))
}

fn tx_id(text: &str) -> anyhow::Result<TxId> {
    TxId::from_hex(text).with_context(|| format!("{text:?} is not a 32-byte hex id"))
}

fn body_of(
    kind: TxKind,
    chain_id: &str,
) -> anyhow::Result<(wire::tx_payload::Body, Option<String>)> {
    Ok(match kind {
        TxKind::EnrollIdentity { public_key: key, roles } => {
            let roles: Vec<wire::Role> = roles
                .into_iter()
                .map(|r| match r {
                    RoleArg::Admin => wire::Role::Admin,
                    RoleArg::Registrar => wire::Role::Registrar,
                    RoleArg::FrontDesk => wire::Role::FrontDesk,
                    RoleArg::Governor => wire::Role::Governor,
                })
                .collect();
            (body::enroll_identity(&public_key(&key)?, &roles), None)
        }
        TxKind::RevokeIdentity { public_key: key } => {
            (body::revoke_identity(&public_key(&key)?), None)
        }
        TxKind::EnrollCardKey { card_key_file, club } => {
            let card_key = Keypair::read_file(&card_key_file)?;
            let club = reciprocity_chaincode::ClubId::parse(&club)
                .with_context(|| format!("{club:?} is not a club id"))?;
            (body::enroll_card_key(&card_key, chain_id, &club), None)
        }
        TxKind::RevokeCardKey { public_key: key } => {
            (body::revoke_card_key(&public_key(&key)?), None)
        }
        TxKind::IssueCard { member_id, card_key_id } => {
            let key_id = reciprocity_chaincode::CardKeyId::from_hex(&card_key_id)
                .with_context(|| format!("{card_key_id:?} is not an 8-byte hex card key id"))?;
            (body::issue_card(&member(&member_id)?, &key_id), None)
        }
        TxKind::RegisterMember { member_id, tier, valid_until } => {
            let id = match member_id {
                Some(text) => member(&text)?,
                None => reciprocity_sdk::random_member_id()?,
            };
            (
                body::register_member(&id, &tier, parse_day(&valid_until)?),
                Some(format!("member_id {id}")),
            )
        }
        TxKind::UpdateMember { member_id, status, tier, valid_until } => {
            let status = status.map(|s| match s {
                StatusArg::Active => wire::MemberStatus::Active,
                StatusArg::Suspended => wire::MemberStatus::Suspended,
                StatusArg::Expired => wire::MemberStatus::Expired,
                StatusArg::Resigned => wire::MemberStatus::Resigned,
            });
            let until = valid_until.as_deref().map(parse_day).transpose()?;
            (body::update_member(&member(&member_id)?, status, tier.as_deref(), until), None)
        }
        TxKind::ProposeAgreement { counterparty, terms } => {
            let terms = terms.to_wire()?;
            let hash = reciprocity_sdk::terms::hash(&reciprocity_sdk::terms::encode(&terms));
            (
                body::propose_agreement(&counterparty, &terms),
                Some(format!("terms_hash {}", hex::encode(hash))),
            )
        }
        TxKind::AmendAgreement { counterparty, terms } => {
            let terms = terms.to_wire()?;
            let hash = reciprocity_sdk::terms::hash(&reciprocity_sdk::terms::encode(&terms));
            (
                body::amend_agreement(&counterparty, &terms),
                Some(format!("terms_hash {}", hex::encode(hash))),
            )
        }
        TxKind::AcceptAgreement { counterparty, terms_hash } => {
            let hash: [u8; 32] = hex::decode(&terms_hash)
                .ok()
                .and_then(|b| b.try_into().ok())
                .with_context(|| format!("{terms_hash:?} is not a 32-byte hex hash"))?;
            (body::accept_agreement(&counterparty, hash), None)
        }
        TxKind::SuspendAgreement { counterparty } => (body::suspend_agreement(&counterparty), None),
        TxKind::ResumeAgreement { counterparty } => (body::resume_agreement(&counterparty), None),
        TxKind::TerminateAgreement { counterparty } => {
            (body::terminate_agreement(&counterparty), None)
        }
        TxKind::IssueIntroduction { member_id, host, from, until } => (
            body::issue_introduction(
                &member(&member_id)?,
                &host,
                parse_day(&from)?,
                parse_day(&until)?,
            ),
            None,
        ),
        TxKind::RecordVisit { member_id, guests } => {
            (body::record_visit(&member(&member_id)?, guests), None)
        }
        TxKind::VoidVisit { visit_id } => (body::void_visit(&tx_id(&visit_id)?), None),
        TxKind::Propose { voting_period_hours, action } => {
            let action = match action {
                ProposalKind::AdmitClub { spec } => {
                    let text = std::fs::read_to_string(&spec)
                        .with_context(|| format!("reading {}", spec.display()))?;
                    let club: reciprocity_network_config::ClubConfig = toml::from_str(&text)
                        .with_context(|| format!("{} is not a club spec", spec.display()))?;
                    let probe = reciprocity_network_config::NetworkConfig {
                        chain_id: "probe".into(),
                        genesis_time_ms: 1,
                        policy: Default::default(),
                        clubs: vec![club],
                    };
                    probe.validate()?;
                    Action::AdmitClub(probe.to_genesis().clubs.remove(0))
                }
                ProposalKind::SuspendClub { club } => Action::SuspendClub(club),
                ProposalKind::ReinstateClub { club } => Action::ReinstateClub(club),
                ProposalKind::RemoveClub { club } => Action::RemoveClub(club),
                ProposalKind::ChangePolicy { policy } => {
                    #[derive(serde::Deserialize)]
                    struct PolicyFile {
                        policy: reciprocity_network_config::PolicyConfig,
                    }
                    let text = std::fs::read_to_string(&policy)
                        .with_context(|| format!("reading {}", policy.display()))?;
                    let file: PolicyFile = toml::from_str(&text)
                        .with_context(|| format!("{} has no valid [policy]", policy.display()))?;
                    Action::ChangePolicy(file.policy.to_wire())
                }
                ProposalKind::Resolution { text } => Action::Resolution(text),
            };
            (body::create_proposal(voting_period_hours.saturating_mul(3_600_000), action), None)
        }
        TxKind::Vote { proposal, choice } => {
            let choice = match choice {
                ChoiceArg::Yes => wire::VoteChoice::Yes,
                ChoiceArg::No => wire::VoteChoice::No,
                ChoiceArg::Abstain => wire::VoteChoice::Abstain,
            };
            (body::cast_vote(&tx_id(&proposal)?, choice), None)
        }
    })
}

pub(crate) async fn run(args: TxArgs) -> anyhow::Result<()> {
    let key_path = args.key.context("--key (or RECIP_KEY) is required to sign")?;
    let key = Keypair::read_file(&key_path)?;
    let mut client = NodeClient::connect(&args.endpoint).await?;
    let chain_id = client.status().await?.chain_id;
    let (body, note) = body_of(args.kind, &chain_id)?;
    let tx = TxBuilder::now(chain_id).sign(&key, body);
    let response = client.submit(tx, !args.no_wait, 0).await?;
    let outcome =
        wire::SubmitOutcome::try_from(response.outcome).unwrap_or(wire::SubmitOutcome::Unspecified);
    if args.json {
        say(serde_json::json!({
            "tx_id": hex::encode(&response.tx_id),
            "outcome": outcome.as_str_name(),
            "height": response.height,
            "position": response.position,
            "code": response.code,
            "code_name": response.code_name,
            "note": note,
        }));
    } else {
        say(format_args!("tx {} {}", hex::encode(&response.tx_id), outcome.as_str_name()));
        if outcome == wire::SubmitOutcome::Committed {
            say(format_args!(
                "  block {} position {}: {} ({})",
                response.height, response.position, response.code_name, response.code
            ));
        }
        if let Some(note) = note {
            say(format_args!("  {note}"));
        }
    }
    if outcome == wire::SubmitOutcome::Committed && response.code != 0 {
        anyhow::bail!("the transaction was refused by the chaincode: {}", response.code_name);
    }
    Ok(())
}
