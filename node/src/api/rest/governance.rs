//! Governance: proposals (admit, suspend, reinstate or remove a club,
//! change the policy, a resolution) and the club's vote. The live tally and
//! electorate come from the node's state; listings from the index.

use axum::extract::State;
use axum::http::StatusCode;
use reciprocity_chaincode::{ProposalAction, ProposalStatus, Role, TxId, VoteChoice};
use reciprocity_proto::v1 as pb;
use reciprocity_sdk::tx::body;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult, ErrorBody, quote};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::require::{AnyRole, Governor, Require};
use super::{ApiState, TxReceipt};
use crate::index::read::ProposalRow;

/// A node of a club to admit.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeInput {
    /// The node's key (64 hex digits).
    pub node_key: String,
    /// Where peers dial it (a multiaddr).
    pub address: String,
}

/// A club to admit.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClubInput {
    /// Club id.
    pub club_id: String,
    /// Display name.
    pub name: String,
    /// The club key (64 hex digits).
    pub club_key: String,
    /// Its nodes.
    pub nodes: Vec<NodeInput>,
    /// Offset of local time from UTC, minutes.
    #[serde(default)]
    pub utc_offset_minutes: i32,
}

/// Governance policy values.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    /// Minimum turnout, basis points.
    pub quorum_bp: u32,
    /// Yes share needed, basis points.
    pub threshold_bp: u32,
    /// Yes share needed to remove a club, basis points.
    pub removal_threshold_bp: u32,
    /// Shortest voting period, ms.
    pub voting_period_ms_min: u64,
    /// Longest voting period, ms.
    pub voting_period_ms_max: u64,
    /// Longest transaction validity window, ms.
    pub tx_validity_ms_max: u64,
    /// Allowed clock skew, ms.
    pub clock_skew_ms_max: u64,
}

/// What a proposal would do.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ActionInput {
    /// Admit a club.
    AdmitClub {
        /// The club.
        club: ClubInput,
    },
    /// Suspend a club.
    SuspendClub {
        /// The club.
        club_id: String,
    },
    /// Reinstate a suspended club.
    ReinstateClub {
        /// The club.
        club_id: String,
    },
    /// Remove a club.
    RemoveClub {
        /// The club.
        club_id: String,
    },
    /// Replace the policy.
    ChangePolicy {
        /// The new policy.
        policy: PolicyInput,
    },
    /// A non-binding resolution.
    Resolution {
        /// Its text.
        text: String,
    },
}

/// A proposal to open.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalRequest {
    /// What passes if it passes.
    pub action: ActionInput,
    /// Voting period in ms (within the policy's bounds).
    pub voting_period_ms: u64,
}

/// A proposal opened.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProposalOpened {
    /// The proposal id (the creating transaction's id).
    pub proposal_id: String,
    /// The transaction.
    pub transaction: TxReceipt,
}

fn key_bytes(field: &str, text: &str) -> ApiResult<Vec<u8>> {
    reciprocity_chaincode::PublicKey::from_hex(text).map(|k| k.0.to_vec()).ok_or_else(|| {
        ApiError::bad_request(format!("{field} {} is not 64 hex digits", quote(text)))
    })
}

fn policy_wire(p: &PolicyInput) -> pb::Policy {
    pb::Policy {
        quorum_bp: p.quorum_bp,
        threshold_bp: p.threshold_bp,
        removal_threshold_bp: p.removal_threshold_bp,
        voting_period_ms_min: p.voting_period_ms_min,
        voting_period_ms_max: p.voting_period_ms_max,
        tx_validity_ms_max: p.tx_validity_ms_max,
        clock_skew_ms_max: p.clock_skew_ms_max,
    }
}

fn action_wire(action: &ActionInput) -> ApiResult<pb::create_proposal::Action> {
    use pb::create_proposal::Action;
    Ok(match action {
        ActionInput::AdmitClub { club } => Action::AdmitClub(pb::ClubSpec {
            club_id: club.club_id.clone(),
            name: club.name.clone(),
            club_key: key_bytes("club.club_key", &club.club_key)?,
            nodes: club
                .nodes
                .iter()
                .map(|n| {
                    Ok(pb::NodeSpec {
                        node_key: key_bytes("node_key", &n.node_key)?,
                        address: n.address.clone(),
                    })
                })
                .collect::<ApiResult<_>>()?,
            utc_offset_minutes: club.utc_offset_minutes,
        }),
        ActionInput::SuspendClub { club_id } => Action::SuspendClub(club_id.clone()),
        ActionInput::ReinstateClub { club_id } => Action::ReinstateClub(club_id.clone()),
        ActionInput::RemoveClub { club_id } => Action::RemoveClub(club_id.clone()),
        ActionInput::ChangePolicy { policy } => Action::ChangePolicy(policy_wire(policy)),
        ActionInput::Resolution { text } => Action::Resolution(text.clone()),
    })
}

/// Opens a vote.
#[utoipa::path(post, path = "/v1/proposals", tag = "governance", security(("bearer" = ["governor"])),
    request_body = ProposalRequest,
    responses(
        (status = 201, description = "Opened", body = ProposalOpened),
        (status = 403, description = "Not a governor", body = ErrorBody),
        (status = 409, description = "Refused", body = ErrorBody),
        (status = 422, description = "Invalid proposal or period", body = ErrorBody)))]
pub async fn create_proposal(
    caller: Require<Governor>,
    State(state): State<ApiState>,
    ApiJson(request): ApiJson<ProposalRequest>,
) -> ApiResult<(StatusCode, axum::Json<ProposalOpened>)> {
    let (status, opened) = create_as(&state, &caller, &request).await?;
    Ok((status, axum::Json(opened)))
}

/// Opens a vote for `caller`'s club. Shared by REST and the web app.
pub(crate) async fn create_as(
    state: &ApiState,
    caller: &super::auth::Caller,
    request: &ProposalRequest,
) -> ApiResult<(StatusCode, ProposalOpened)> {
    let action = action_wire(&request.action)?;
    let (status, receipt) = state
        .act(
            caller,
            Role::Governor,
            "proposal.create",
            None,
            body::create_proposal(request.voting_period_ms, action),
        )
        .await?;
    Ok((status, ProposalOpened { proposal_id: receipt.tx_id.clone(), transaction: receipt }))
}

/// Proposal listing filter.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProposalFilter {
    /// `open` or `closed`; both when absent.
    pub status: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u32>,
}

/// A page of proposals.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProposalPage {
    /// Proposals, newest first (as indexed).
    pub proposals: Vec<ProposalRow>,
    /// Offset of the next page, when there may be one.
    pub next_offset: Option<u32>,
}

/// Lists proposals, open or closed.
#[utoipa::path(get, path = "/v1/proposals", tag = "governance", security(("bearer" = [])),
    params(ProposalFilter),
    responses(
        (status = 200, description = "A page of proposals", body = ProposalPage),
        (status = 400, description = "Bad filter", body = ErrorBody)))]
pub async fn list_proposals(
    _caller: Require<AnyRole>,
    State(state): State<ApiState>,
    ApiQuery(filter): ApiQuery<ProposalFilter>,
) -> ApiResult<axum::Json<ProposalPage>> {
    let open = match filter.status.as_deref() {
        None => None,
        Some("open") => Some(true),
        Some("closed") => Some(false),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "status {} is not open or closed",
                quote(other)
            )));
        }
    };
    let limit = state.page_size(filter.limit)?;
    let offset = filter.offset.unwrap_or(0);
    let proposals = state.store()?.proposals(open, limit, offset).await?;
    let next_offset = super::next_offset(offset, limit, proposals.len());
    Ok(axum::Json(ProposalPage { proposals, next_offset }))
}

/// One club's vote.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VoteView {
    /// The club.
    pub club: String,
    /// `yes`, `no` or `abstain`.
    pub choice: String,
}

/// The live count.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TallyView {
    /// Yes votes.
    pub yes: u32,
    /// No votes.
    pub no: u32,
    /// Abstentions.
    pub abstain: u32,
    /// Clubs yet to vote.
    pub not_voted: u32,
    /// Electorate size.
    pub electorate: u32,
}

/// A proposal as the ledger has it now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProposalView {
    /// Id.
    pub proposal_id: String,
    /// Proposing club.
    pub proposer_club: String,
    /// What it does.
    pub action: ActionInput,
    /// `open`, `passed` or `rejected`.
    pub status: String,
    /// Creation (block time, Unix ms).
    pub created_at_ms: u64,
    /// End of voting (Unix ms).
    pub ends_at_ms: u64,
    /// Clubs that may vote.
    pub electorate: Vec<String>,
    /// Votes cast.
    pub votes: Vec<VoteView>,
    /// The live count.
    pub tally: TallyView,
    /// Quorum in force, basis points.
    pub quorum_bp: u32,
    /// Threshold in force, basis points.
    pub threshold_bp: u32,
    /// The caller's club's vote, if cast.
    pub own_vote: Option<String>,
    /// Why a passed proposal could not be executed.
    pub execution_failure: Option<String>,
}

fn choice_name(choice: VoteChoice) -> &'static str {
    match choice {
        VoteChoice::Yes => "yes",
        VoteChoice::No => "no",
        VoteChoice::Abstain => "abstain",
    }
}

fn action_view(action: &ProposalAction) -> ActionInput {
    match action {
        ProposalAction::AdmitClub(spec) => ActionInput::AdmitClub {
            club: ClubInput {
                club_id: spec.club_id.to_string(),
                name: spec.name.clone(),
                club_key: spec.club_key.to_hex(),
                nodes: spec
                    .nodes
                    .iter()
                    .map(|n| NodeInput {
                        node_key: n.node_key.to_hex(),
                        address: n.address.clone(),
                    })
                    .collect(),
                utc_offset_minutes: spec.utc_offset_minutes,
            },
        },
        ProposalAction::SuspendClub(c) => ActionInput::SuspendClub { club_id: c.to_string() },
        ProposalAction::ReinstateClub(c) => ActionInput::ReinstateClub { club_id: c.to_string() },
        ProposalAction::RemoveClub(c) => ActionInput::RemoveClub { club_id: c.to_string() },
        ProposalAction::ChangePolicy(p) => ActionInput::ChangePolicy {
            policy: PolicyInput {
                quorum_bp: p.quorum_bp,
                threshold_bp: p.threshold_bp,
                removal_threshold_bp: p.removal_threshold_bp,
                voting_period_ms_min: p.voting_period_ms_min,
                voting_period_ms_max: p.voting_period_ms_max,
                tx_validity_ms_max: p.tx_validity_ms_max,
                clock_skew_ms_max: p.clock_skew_ms_max,
            },
        },
        ProposalAction::Resolution(text) => ActionInput::Resolution { text: text.clone() },
    }
}

fn parse_proposal_id(text: &str) -> ApiResult<TxId> {
    TxId::from_hex(text).ok_or_else(|| {
        ApiError::bad_request(format!("proposal id {} is not 64 hex digits", quote(text)))
    })
}

/// A proposal with its live tally, electorate and the caller's club's vote.
#[utoipa::path(get, path = "/v1/proposals/{proposal_id}", tag = "governance", security(("bearer" = [])),
    params(("proposal_id" = String, Path, description = "Proposal id, 64 hex digits")),
    responses(
        (status = 200, description = "The proposal", body = ProposalView),
        (status = 404, description = "No such proposal", body = ErrorBody)))]
pub async fn get_proposal(
    caller: Require<AnyRole>,
    State(state): State<ApiState>,
    ApiPath(proposal_id): ApiPath<String>,
) -> ApiResult<axum::Json<ProposalView>> {
    let id = parse_proposal_id(&proposal_id)?;
    let proposal = {
        let view = state.node().ledger().state();
        reciprocity_chaincode::query::proposal(&view, &id)?
    }
    .ok_or_else(|| ApiError::not_found(format!("no proposal {proposal_id}")))?;
    Ok(axum::Json(proposal_view(&proposal, Some(&caller.club))))
}

/// The view of `proposal`; `own_vote` is the vote of `club`, when given.
pub(crate) fn proposal_view(
    proposal: &reciprocity_chaincode::Proposal,
    club: Option<&reciprocity_chaincode::ClubId>,
) -> ProposalView {
    let tally = proposal.tally();
    ProposalView {
        proposal_id: proposal.proposal_id.to_hex(),
        proposer_club: proposal.proposer_club.to_string(),
        action: action_view(&proposal.action),
        status: match proposal.status {
            ProposalStatus::Open => "open",
            ProposalStatus::Passed => "passed",
            ProposalStatus::Rejected => "rejected",
        }
        .to_owned(),
        created_at_ms: proposal.created_at_ms,
        ends_at_ms: proposal.ends_at_ms,
        electorate: proposal.electorate.iter().map(ToString::to_string).collect(),
        votes: proposal
            .votes
            .iter()
            .map(|(club, choice)| VoteView {
                club: club.to_string(),
                choice: choice_name(*choice).to_owned(),
            })
            .collect(),
        tally: TallyView {
            yes: tally.yes,
            no: tally.no,
            abstain: tally.abstain,
            not_voted: tally.not_voted(),
            electorate: tally.electorate,
        },
        quorum_bp: proposal.quorum_bp,
        threshold_bp: proposal.threshold_bp,
        own_vote: club.and_then(|own| {
            proposal
                .votes
                .iter()
                .find(|(voter, _)| voter == own)
                .map(|(_, choice)| choice_name(*choice).to_owned())
        }),
        execution_failure: proposal.execution_failure.map(|c| c.name().to_owned()),
    }
}

/// The caller's club's vote.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteRequest {
    /// `yes`, `no` or `abstain`.
    pub choice: String,
}

/// Casts (or replaces) the caller's club's vote.
#[utoipa::path(post, path = "/v1/proposals/{proposal_id}/votes", tag = "governance", security(("bearer" = ["governor"])),
    params(("proposal_id" = String, Path, description = "Proposal id, 64 hex digits")),
    request_body = VoteRequest,
    responses(
        (status = 201, description = "Vote committed", body = TxReceipt),
        (status = 403, description = "Not a governor", body = ErrorBody),
        (status = 409, description = "Refused (closed, not in the electorate...)", body = ErrorBody)))]
pub async fn cast_vote(
    caller: Require<Governor>,
    State(state): State<ApiState>,
    ApiPath(proposal_id): ApiPath<String>,
    ApiJson(request): ApiJson<VoteRequest>,
) -> ApiResult<(StatusCode, axum::Json<TxReceipt>)> {
    let id = parse_proposal_id(&proposal_id)?;
    let (status, receipt) = vote_as(&state, &caller, &id, &request.choice).await?;
    Ok((status, axum::Json(receipt)))
}

/// Casts (or replaces) `caller`'s club's vote, `yes`, `no` or `abstain`.
/// Shared by REST and the web app.
pub(crate) async fn vote_as(
    state: &ApiState,
    caller: &super::auth::Caller,
    id: &TxId,
    choice: &str,
) -> ApiResult<(StatusCode, TxReceipt)> {
    let proposal_id = id.to_hex();
    let choice = match choice {
        "yes" => pb::VoteChoice::Yes,
        "no" => pb::VoteChoice::No,
        "abstain" => pb::VoteChoice::Abstain,
        other => {
            return Err(ApiError::bad_request(format!(
                "choice {} is not yes, no or abstain",
                quote(other)
            )));
        }
    };
    state
        .act(
            caller,
            Role::Governor,
            "proposal.vote",
            Some(&proposal_id),
            body::cast_vote(id, choice),
        )
        .await
}
