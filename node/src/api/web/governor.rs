//! The governor's pages: open and closed proposals, opening one, a
//! proposal's page with the club's vote (cast or changed) and the live
//! tally — turnout against the quorum, yes against the threshold, time
//! left, and the outcome once decided — refreshed by htmx every two
//! seconds while voting is open. Writes go through the REST handlers' own
//! `governance::create_as` and `vote_as`.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use reciprocity_chaincode::{Proposal, ProposalAction, ProposalStatus, TxId, query};
use serde::Deserialize;

use super::assets::{self, AssetNames};
use super::page::{Chrome, Signed, api_error_page, club_facts, local_date_time, render};
use crate::api::rest::ApiState;
use crate::api::rest::governance::{
    ActionInput, ClubInput, NodeInput, ProposalRequest, create_as, vote_as,
};
use crate::api::rest::require::Governor;
use crate::clock::now_ms;

/// Closed proposals listed at most.
const CLOSED_SHOWN_MAX: u32 = 50;
/// Open proposals listed at most.
const OPEN_SHOWN_MAX: usize = 200;

/// A proposal in a list.
#[derive(Debug, Clone)]
pub struct ProposalLine {
    /// Id (link target).
    pub id: String,
    /// What it does, in words.
    pub what: String,
    /// Proposing club.
    pub proposer: String,
    /// `open`, `passed` or `rejected`.
    pub status: String,
    /// End of voting, local time.
    pub ends: String,
    /// Yes / no / abstain.
    pub count: String,
}

#[derive(Template)]
#[template(path = "proposals.html")]
struct ProposalsPage {
    assets: &'static AssetNames,
    chrome: Chrome,
    open: Vec<ProposalLine>,
    closed: Vec<ProposalLine>,
}

/// What an action does, in words.
fn action_words(action: &ProposalAction) -> String {
    match action {
        ProposalAction::AdmitClub(spec) => {
            format!("Admit the club {} ({})", spec.name, spec.club_id)
        }
        ProposalAction::SuspendClub(club) => format!("Suspend the club {club}"),
        ProposalAction::ReinstateClub(club) => format!("Reinstate the club {club}"),
        ProposalAction::RemoveClub(club) => format!("Remove the club {club} for good"),
        ProposalAction::ChangePolicy(_) => "Change the governance policy".to_owned(),
        ProposalAction::Resolution(text) => {
            let short: String = text.chars().take(120).collect();
            if short.len() < text.len() {
                format!("Resolution: {short}…")
            } else {
                format!("Resolution: {short}")
            }
        }
    }
}

fn status_name(status: ProposalStatus) -> &'static str {
    match status {
        ProposalStatus::Open => "open",
        ProposalStatus::Passed => "passed",
        ProposalStatus::Rejected => "rejected",
    }
}

fn local(at_ms: u64, offset: i32) -> String {
    let (date, time) = local_date_time(at_ms, offset);
    format!("{date} {time}")
}

fn line_of(proposal: &Proposal, offset: i32) -> ProposalLine {
    let tally = proposal.tally();
    ProposalLine {
        id: proposal.proposal_id.to_hex(),
        what: action_words(&proposal.action),
        proposer: proposal.proposer_club.to_string(),
        status: status_name(proposal.status).to_owned(),
        ends: local(proposal.ends_at_ms, offset),
        count: format!("{} yes, {} no, {} abstain", tally.yes, tally.no, tally.abstain),
    }
}

/// The proposals (`GET /proposals`): open ones from the ledger, recently
/// closed ones from the index.
pub async fn proposals(signed: Signed<Governor>, State(state): State<ApiState>) -> Response {
    let (_, offset) = club_facts(&state);
    let open: Vec<ProposalLine> = {
        let view = state.node().ledger().state();
        match query::open_proposals(&view, OPEN_SHOWN_MAX) {
            Ok(list) => list.iter().map(|p| line_of(p, offset)).collect(),
            Err(error) => return api_error_page(&state, &signed.session, &error.into()),
        }
    };
    let rows = match state.store() {
        Ok(store) => store.proposals(Some(false), CLOSED_SHOWN_MAX, 0).await.unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let closed = {
        let view = state.node().ledger().state();
        rows.iter()
            .filter_map(|row| TxId::from_hex(&row.proposal_id))
            .filter_map(|id| query::proposal(&view, &id).ok().flatten())
            .map(|p| line_of(&p, offset))
            .collect()
    };
    let page = ProposalsPage {
        assets: assets::names(),
        chrome: Chrome::of(&state, &signed.session, "/proposals"),
        open,
        closed,
    };
    render(StatusCode::OK, &page)
}

/// The form to open a proposal, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProposalForm {
    /// `resolution`, `suspend_club`, `reinstate_club`, `remove_club`, `admit_club`.
    #[serde(default)]
    pub kind: String,
    /// The resolution's text.
    #[serde(default)]
    pub text: String,
    /// The club suspended, reinstated or removed.
    #[serde(default)]
    pub club_id: String,
    /// A new club's id.
    #[serde(default)]
    pub new_club_id: String,
    /// A new club's name.
    #[serde(default)]
    pub new_club_name: String,
    /// A new club's key (64 hex digits).
    #[serde(default)]
    pub new_club_key: String,
    /// A new club's node key (64 hex digits).
    #[serde(default)]
    pub new_node_key: String,
    /// A new club's node address.
    #[serde(default)]
    pub new_node_address: String,
    /// A new club's UTC offset, minutes.
    #[serde(default)]
    pub new_utc_offset_minutes: String,
    /// Voting period, days.
    #[serde(default)]
    pub days: String,
}

#[derive(Template)]
#[template(path = "proposal_new.html")]
struct NewProposalPage {
    assets: &'static AssetNames,
    chrome: Chrome,
    form: ProposalForm,
    clubs: Vec<String>,
    period_days_min: String,
    period_days_max: String,
    problem: Option<String>,
}

const DAY_MS: u64 = 86_400_000;

/// A policy period in words: `30 days`, or `1 min` below a day.
fn period_text(ms: u64) -> String {
    if ms.is_multiple_of(DAY_MS) {
        crate::words::count_of(usize::try_from(ms / DAY_MS).unwrap_or(usize::MAX), "day", "days")
    } else {
        duration_words(ms)
    }
}

fn new_proposal_page(
    state: &ApiState,
    signed: &Signed<Governor>,
    status: StatusCode,
    form: ProposalForm,
    problem: Option<String>,
) -> Response {
    let view = state.node().ledger().state();
    let clubs = query::clubs(&view)
        .unwrap_or_default()
        .iter()
        .map(|c| c.spec.club_id.to_string())
        .collect();
    let policy = query::policy(&view).ok().flatten();
    let page = NewProposalPage {
        assets: assets::names(),
        chrome: Chrome::of(state, &signed.session, "/proposals"),
        form,
        clubs,
        period_days_min: policy
            .as_ref()
            .map_or_else(String::new, |p| period_text(p.voting_period_ms_min)),
        period_days_max: policy
            .as_ref()
            .map_or_else(String::new, |p| period_text(p.voting_period_ms_max)),
        problem,
    };
    render(status, &page)
}

/// The form to open a proposal (`GET /proposals/new`).
pub async fn new_proposal(signed: Signed<Governor>, State(state): State<ApiState>) -> Response {
    let form = ProposalForm {
        kind: "resolution".to_owned(),
        days: "7".to_owned(),
        new_utc_offset_minutes: "0".to_owned(),
        ..ProposalForm::default()
    };
    new_proposal_page(&state, &signed, StatusCode::OK, form, None)
}

/// The proposal a form describes, or what is wrong with it.
fn request_of(form: &ProposalForm) -> Result<ProposalRequest, String> {
    let days: f64 = form
        .days
        .trim()
        .parse()
        .ok()
        .filter(|d: &f64| d.is_finite() && *d > 0.0 && *d <= 3660.0)
        .ok_or_else(|| format!("the voting period {:?} is not a number of days", form.days))?;
    let voting_period_ms = (days * DAY_MS as f64).round() as u64;
    let club = || {
        let id = form.club_id.trim();
        if id.is_empty() { Err("choose the club".to_owned()) } else { Ok(id.to_owned()) }
    };
    let action = match form.kind.as_str() {
        "resolution" => {
            let text = form.text.trim();
            if text.is_empty() {
                return Err("write the resolution's text".to_owned());
            }
            ActionInput::Resolution { text: text.to_owned() }
        }
        "suspend_club" => ActionInput::SuspendClub { club_id: club()? },
        "reinstate_club" => ActionInput::ReinstateClub { club_id: club()? },
        "remove_club" => ActionInput::RemoveClub { club_id: club()? },
        "admit_club" => ActionInput::AdmitClub {
            club: ClubInput {
                club_id: form.new_club_id.trim().to_owned(),
                name: form.new_club_name.trim().to_owned(),
                club_key: form.new_club_key.trim().to_ascii_lowercase(),
                nodes: vec![NodeInput {
                    node_key: form.new_node_key.trim().to_ascii_lowercase(),
                    address: form.new_node_address.trim().to_owned(),
                }],
                utc_offset_minutes: form.new_utc_offset_minutes.trim().parse().map_err(|_| {
                    format!(
                        "the UTC offset {:?} is not a number of minutes",
                        form.new_utc_offset_minutes
                    )
                })?,
            },
        },
        other => return Err(format!("{other:?} is not a kind of proposal")),
    };
    Ok(ProposalRequest { action, voting_period_ms })
}

/// Opens a proposal (`POST /proposals`), then shows it.
pub async fn create(
    signed: Signed<Governor>,
    State(state): State<ApiState>,
    Form(form): Form<ProposalForm>,
) -> Response {
    let request = match request_of(&form) {
        Ok(request) => request,
        Err(problem) => {
            let problem = Some(format!("The proposal was not opened: {problem}."));
            return new_proposal_page(&state, &signed, StatusCode::BAD_REQUEST, form, problem);
        }
    };
    match create_as(&state, signed.caller(), &request).await {
        // Not committed yet: the proposal is not on the ledger to show.
        Ok((StatusCode::ACCEPTED, _)) => Redirect::to("/proposals").into_response(),
        Ok((_, opened)) => {
            Redirect::to(&format!("/proposals/{}?opened=1", opened.proposal_id)).into_response()
        }
        Err(error) => {
            let problem = Some(format!("The proposal was not opened. {}", error.message));
            let status =
                if error.status.is_server_error() { error.status } else { StatusCode::BAD_REQUEST };
            new_proposal_page(&state, &signed, status, form, problem)
        }
    }
}

/// A club's vote, in the list.
#[derive(Debug, Clone)]
pub struct VoteLine {
    /// The club.
    pub club: String,
    /// Its vote, or `not yet`.
    pub choice: String,
}

/// The live tally, as the page shows it.
#[derive(Debug, Clone)]
pub struct TallyText {
    /// The proposal id.
    pub id: String,
    /// Whether voting is open.
    pub open: bool,
    /// `open`, `passed` or `rejected`.
    pub status: String,
    /// The outcome in words.
    pub outcome: String,
    /// Votes cast.
    pub turnout: u32,
    /// Clubs that may vote.
    pub electorate: u32,
    /// Votes needed for the quorum, in words (`2 votes`).
    pub quorum_votes: String,
    /// Quorum, percent text.
    pub quorum_percent: String,
    /// Yes votes.
    pub yes: u32,
    /// No votes.
    pub no: u32,
    /// Abstentions.
    pub abstain: u32,
    /// Yes + no.
    pub decisive: u32,
    /// Threshold, percent text.
    pub threshold_percent: String,
    /// Yes share of yes + no, percent text.
    pub yes_percent: String,
    /// Time left, in words.
    pub time_left: String,
    /// End of voting, local time.
    pub ends: String,
    /// Each club's vote.
    pub votes: Vec<VoteLine>,
}

fn percent_of_bp(bp: u32) -> String {
    if bp.is_multiple_of(100) {
        format!("{}%", bp / 100)
    } else {
        format!("{:.2}%", f64::from(bp) / 100.0)
    }
}

fn duration_words(ms: u64) -> String {
    let minutes = ms / 60_000;
    let (days, hours, mins) = (minutes / 1440, (minutes % 1440) / 60, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("{mins} min"),
        (0, _) => format!("{hours} h {mins} min"),
        _ => format!("{days} d {hours} h"),
    }
}

fn tally_of(proposal: &Proposal, offset: i32, now: u64) -> TallyText {
    let tally = proposal.tally();
    let turnout = tally.yes + tally.no + tally.abstain;
    let quorum_votes =
        (u64::from(proposal.quorum_bp) * u64::from(tally.electorate)).div_ceil(10_000);
    let decisive = tally.yes + tally.no;
    let open = proposal.status == ProposalStatus::Open;
    let early = reciprocity_chaincode::decided(tally, proposal.quorum_bp, proposal.threshold_bp);
    let outcome = match proposal.status {
        ProposalStatus::Passed => match proposal.execution_failure {
            Some(code) => format!("Passed, but could not be carried out: {}", code.description()),
            None => "Passed and carried out".to_owned(),
        },
        ProposalStatus::Rejected => "Rejected".to_owned(),
        ProposalStatus::Open => match early {
            Some(true) => "Decided: it will pass".to_owned(),
            Some(false) => "Decided: it will not pass".to_owned(),
            None => "Not decided yet".to_owned(),
        },
    };
    let votes = proposal
        .electorate
        .iter()
        .map(|club| VoteLine {
            club: club.to_string(),
            choice: proposal
                .votes
                .iter()
                .find(|(voter, _)| voter == club)
                .map_or("not yet", |(_, choice)| match choice {
                    reciprocity_chaincode::VoteChoice::Yes => "yes",
                    reciprocity_chaincode::VoteChoice::No => "no",
                    reciprocity_chaincode::VoteChoice::Abstain => "abstain",
                })
                .to_owned(),
        })
        .collect();
    TallyText {
        id: proposal.proposal_id.to_hex(),
        open,
        status: status_name(proposal.status).to_owned(),
        outcome,
        turnout,
        electorate: tally.electorate,
        quorum_votes: crate::words::count_of(
            usize::try_from(quorum_votes).unwrap_or(usize::MAX),
            "vote",
            "votes",
        ),
        quorum_percent: percent_of_bp(proposal.quorum_bp),
        yes: tally.yes,
        no: tally.no,
        abstain: tally.abstain,
        decisive,
        threshold_percent: percent_of_bp(proposal.threshold_bp),
        yes_percent: (tally.yes * 100)
            .checked_div(decisive)
            .map_or_else(|| "—".to_owned(), |percent| format!("{percent}%")),
        time_left: if open && proposal.ends_at_ms > now {
            duration_words(proposal.ends_at_ms - now)
        } else {
            "voting closed".to_owned()
        },
        ends: local(proposal.ends_at_ms, offset),
        votes,
    }
}

#[derive(Template)]
#[template(path = "proposal.html")]
struct ProposalPage {
    assets: &'static AssetNames,
    chrome: Chrome,
    what: String,
    text: Option<String>,
    proposer: String,
    created: String,
    own_vote: Option<String>,
    may_vote: bool,
    tally: TallyText,
    notice: Option<String>,
    problem: Option<String>,
}

#[derive(Template)]
#[template(path = "tally.html")]
struct TallyFragment {
    tally: TallyText,
}

/// `GET /proposals/{id}` query: what just happened.
#[derive(Debug, Default, Deserialize)]
pub struct ProposalNotice {
    /// Just opened.
    pub opened: Option<String>,
    /// A vote just cast.
    pub voted: Option<String>,
}

fn load(state: &ApiState, id_text: &str) -> Result<Proposal, crate::api::rest::error::ApiError> {
    let not_found = || {
        crate::api::rest::error::ApiError::not_found(format!(
            "No proposal {}.",
            crate::words::quote(id_text)
        ))
    };
    let id = TxId::from_hex(&id_text.to_ascii_lowercase()).ok_or_else(not_found)?;
    let view = state.node().ledger().state();
    query::proposal(&view, &id)?.ok_or_else(not_found)
}

fn proposal_page(
    state: &ApiState,
    signed: &Signed<Governor>,
    proposal: &Proposal,
    status: StatusCode,
    notice: Option<String>,
    problem: Option<String>,
) -> Response {
    let (_, offset) = club_facts(state);
    let own = &signed.caller().club;
    let page = ProposalPage {
        assets: assets::names(),
        chrome: Chrome::of(state, &signed.session, "/proposals"),
        what: action_words(&proposal.action),
        text: match &proposal.action {
            ProposalAction::Resolution(text) => Some(text.clone()),
            _ => None,
        },
        proposer: proposal.proposer_club.to_string(),
        created: local(proposal.created_at_ms, offset),
        own_vote: proposal.votes.iter().find(|(club, _)| club == own).map(|(_, choice)| {
            match choice {
                reciprocity_chaincode::VoteChoice::Yes => "yes",
                reciprocity_chaincode::VoteChoice::No => "no",
                reciprocity_chaincode::VoteChoice::Abstain => "abstain",
            }
            .to_owned()
        }),
        may_vote: proposal.status == ProposalStatus::Open && proposal.electorate.contains(own),
        tally: tally_of(proposal, offset, now_ms()),
        notice,
        problem,
    };
    render(status, &page)
}

/// A proposal's page (`GET /proposals/{id}`).
pub async fn proposal(
    signed: Signed<Governor>,
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Query(done): Query<ProposalNotice>,
) -> Response {
    match load(&state, &id) {
        Ok(proposal) => {
            let notice = if done.opened.is_some() {
                Some("Proposal opened: the clubs can vote now.".to_owned())
            } else {
                done.voted.and_then(|choice| match choice.as_str() {
                    "yes" | "no" | "abstain" => {
                        Some(format!("Your club's vote is recorded: {choice}."))
                    }
                    "pending" => Some(
                        "Your club's vote was submitted and is not committed yet: reload in a moment."
                            .to_owned(),
                    ),
                    _ => None,
                })
            };
            proposal_page(&state, &signed, &proposal, StatusCode::OK, notice, None)
        }
        Err(error) => api_error_page(&state, &signed.session, &error),
    }
}

/// The tally fragment htmx polls (`GET /proposals/{id}/tally`).
pub async fn tally(
    signed: Signed<Governor>,
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Response {
    match load(&state, &id) {
        Ok(proposal) => {
            let (_, offset) = club_facts(&state);
            render(StatusCode::OK, &TallyFragment { tally: tally_of(&proposal, offset, now_ms()) })
        }
        Err(error) => api_error_page(&state, &signed.session, &error),
    }
}

/// The vote form's field.
#[derive(Debug, Deserialize)]
pub struct VoteForm {
    /// `yes`, `no` or `abstain`.
    #[serde(default)]
    pub choice: String,
}

/// Casts or changes the club's vote (`POST /proposals/{id}/vote`).
pub async fn vote(
    signed: Signed<Governor>,
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Form(form): Form<VoteForm>,
) -> Response {
    let proposal = match load(&state, &id) {
        Ok(proposal) => proposal,
        Err(error) => return api_error_page(&state, &signed.session, &error),
    };
    match vote_as(&state, signed.caller(), &proposal.proposal_id, &form.choice).await {
        Ok((StatusCode::ACCEPTED, _)) => {
            Redirect::to(&format!("/proposals/{}?voted=pending", proposal.proposal_id.to_hex()))
                .into_response()
        }
        Ok(_) => Redirect::to(&format!(
            "/proposals/{}?voted={}",
            proposal.proposal_id.to_hex(),
            form_urlencoded::byte_serialize(form.choice.as_bytes()).collect::<String>()
        ))
        .into_response(),
        Err(error) => {
            let fresh = load(&state, &id).unwrap_or(proposal);
            let problem = Some(format!("The vote was not recorded. {}", error.message));
            let status =
                if error.status.is_server_error() { error.status } else { StatusCode::CONFLICT };
            proposal_page(&state, &signed, &fresh, status, None, problem)
        }
    }
}
