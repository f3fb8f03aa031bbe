//! Listings the REST API serves from the projection: visits, agreements
//! and their history, introductions, proposals and votes. Each is scoped to
//! a club by its caller and bounded by `limit`.

use serde::Serialize;

use super::store::{IndexStore, with_pool};
use super::{IndexError, Result};

#[allow(clippy::needless_pass_by_value)] // used as `map_err(db)`
fn db(error: sqlx::Error) -> IndexError {
    IndexError::Database(error.to_string())
}

/// A visit as projected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct VisitRow {
    /// The recording transaction's id.
    pub visit_id: String,
    /// Where.
    pub host_club: String,
    /// The visitor's home club.
    pub home_club: String,
    /// Who (member id).
    pub member_id: String,
    /// The host's local day (days since 1970-01-01).
    pub local_day: i64,
    /// Guests brought.
    pub guests: i64,
    /// Fee in minor units.
    pub fee_minor: i64,
    /// Block height of the visit.
    pub height: i64,
    /// Whether it was voided.
    pub voided: bool,
}

/// Which of a club's visits a listing holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VisitSide {
    /// Visits the club hosted.
    #[default]
    Host,
    /// Visits its members made elsewhere.
    Home,
    /// Both.
    Either,
}

/// Filters of a visit listing.
#[derive(Debug, Clone, Default)]
pub struct VisitQuery {
    /// Only this member.
    pub member_id: Option<String>,
    /// The club whose visits are listed.
    pub club: String,
    /// As host, as home club, or both.
    pub side: VisitSide,
    /// From this local day (inclusive).
    pub from_day: Option<i64>,
    /// Up to this local day (inclusive).
    pub to_day: Option<i64>,
    /// Include voided visits.
    pub include_voided: bool,
    /// Rows to return.
    pub limit: u32,
    /// Rows to skip.
    pub offset: u32,
}

/// An agreement as projected (clubs in ascending order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AgreementRow {
    /// First club (ascending order).
    pub club_a: String,
    /// Second club.
    pub club_b: String,
    /// The latest accepted version.
    pub current_version: Option<i64>,
    /// Its terms hash (hex).
    pub current_terms_hash: Option<String>,
    /// The pending offer's terms hash (hex).
    pub pending_terms_hash: Option<String>,
    /// The club that made the pending offer.
    pub pending_by: Option<String>,
    /// Whether `club_a` suspends it.
    pub suspended_by_a: bool,
    /// Whether `club_b` suspends it.
    pub suspended_by_b: bool,
    /// When a termination takes effect (Unix ms).
    pub terminates_at_ms: Option<i64>,
    /// Height of the last change.
    pub updated_height: i64,
}

/// One agreement event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AgreementEventRow {
    /// Block height.
    pub height: i64,
    /// Position in the block.
    pub position: i64,
    /// The event, e.g. `agreement.proposed`.
    pub event: String,
    /// The club that acted.
    pub by_club: String,
    /// Terms hash involved (hex), if any.
    pub terms_hash: Option<String>,
}

/// An introduction as projected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct IntroductionRow {
    /// Height of the issuing transaction.
    pub height: i64,
    /// Its position in the block.
    pub position: i64,
    /// The member.
    pub member_id: String,
    /// The host club.
    pub host_club: String,
    /// The issuing club.
    pub home_club: String,
    /// First day covered.
    pub valid_from_day: i64,
    /// Last day covered.
    pub valid_until_day: i64,
}

/// A proposal as projected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ProposalRow {
    /// The creating transaction's id.
    pub proposal_id: String,
    /// The proposing club.
    pub proposer_club: String,
    /// The action's kind, e.g. `resolution`.
    pub action: String,
    /// End of voting (Unix ms).
    pub ends_at_ms: i64,
    /// Electorate size.
    pub electorate: i64,
    /// `open`, `passed` or `rejected`.
    pub status: String,
    /// Why a passed proposal could not be executed.
    pub execution_error: Option<String>,
    /// Yes votes.
    pub yes: i64,
    /// No votes.
    pub no: i64,
    /// Abstentions.
    pub abstain: i64,
    /// Height of creation.
    pub created_height: i64,
    /// Height of closing.
    pub closed_height: Option<i64>,
}

impl IndexStore {
    /// Visits matching `query`, newest first.
    pub async fn visits(&self, query: &VisitQuery) -> Result<Vec<VisitRow>> {
        let sql = "SELECT visit_id, host_club, home_club, member_id, local_day, guests, fee_minor, height, voided FROM visits \
                   WHERE ($1 IS NULL OR member_id = $1) AND (host_club = $2 OR home_club = $3) \
                   AND ($4 IS NULL OR local_day >= $4) AND ($5 IS NULL OR local_day <= $5) AND ($6 OR NOT voided) \
                   ORDER BY height DESC, visit_id LIMIT $7 OFFSET $8";
        let (host, home) = match query.side {
            VisitSide::Host => (Some(query.club.clone()), None),
            VisitSide::Home => (None, Some(query.club.clone())),
            VisitSide::Either => (Some(query.club.clone()), Some(query.club.clone())),
        };
        with_pool!(self, pool => sqlx::query_as(sql)
            .bind(query.member_id.clone())
            .bind(host)
            .bind(home)
            .bind(query.from_day)
            .bind(query.to_day)
            .bind(query.include_voided)
            .bind(i64::from(query.limit))
            .bind(i64::from(query.offset))
            .fetch_all(pool)
            .await)
        .map_err(db)
    }

    /// Agreements `club` is party to, by counterparty.
    pub async fn agreements_of(
        &self,
        club: &str,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<AgreementRow>> {
        let sql = "SELECT club_a, club_b, current_version, current_terms_hash, pending_terms_hash, pending_by, \
                   suspended_by_a, suspended_by_b, terminates_at_ms, updated_height FROM agreements \
                   WHERE club_a = $1 OR club_b = $1 ORDER BY club_a, club_b LIMIT $2 OFFSET $3";
        with_pool!(self, pool => sqlx::query_as(sql)
            .bind(club)
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all(pool)
            .await)
        .map_err(db)
    }

    /// Every event of the agreement between `a` and `b`, in chain order.
    pub async fn agreement_history(&self, a: &str, b: &str) -> Result<Vec<AgreementEventRow>> {
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        let sql = "SELECT height, position, event, by_club, terms_hash FROM agreement_history \
                   WHERE club_a = $1 AND club_b = $2 ORDER BY height, position, event";
        with_pool!(self, pool => sqlx::query_as(sql).bind(a).bind(b).fetch_all(pool).await)
            .map_err(db)
    }

    /// Introductions issued by or to `club`, newest first.
    pub async fn introductions_of(
        &self,
        club: &str,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<IntroductionRow>> {
        let sql = "SELECT height, position, member_id, host_club, home_club, valid_from_day, valid_until_day \
                   FROM introductions WHERE home_club = $1 OR host_club = $1 \
                   ORDER BY height DESC, position DESC LIMIT $2 OFFSET $3";
        with_pool!(self, pool => sqlx::query_as(sql)
            .bind(club)
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all(pool)
            .await)
        .map_err(db)
    }

    /// Proposals, open (`open = true`) or closed, newest first.
    pub async fn proposals(
        &self,
        open: Option<bool>,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<ProposalRow>> {
        let sql = "SELECT proposal_id, proposer_club, action, ends_at_ms, electorate, status, execution_error, \
                   yes, no, abstain, created_height, closed_height FROM proposals \
                   WHERE ($1 IS NULL OR (status = 'open') = $1) ORDER BY created_height DESC, proposal_id LIMIT $2 OFFSET $3";
        with_pool!(self, pool => sqlx::query_as(sql)
            .bind(open)
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all(pool)
            .await)
        .map_err(db)
    }
}
