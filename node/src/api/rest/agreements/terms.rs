//! Agreement terms as the API takes them (dates as `YYYY-MM-DD`, names for
//! enums) and their conversion to the chaincode's terms, each problem
//! naming its field; the club id of a counterparty.

use reciprocity_chaincode::{ClubId, Terms};
use reciprocity_proto::v1 as pb;
use reciprocity_sdk::dates;
use serde::{Deserialize, Serialize};

use crate::api::rest::error::{ApiError, ApiResult, quote};
use crate::api::views::settlement_name;

/// A blackout: no reciprocal visits from `from` to `to` (inclusive).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Blackout {
    /// First date, `YYYY-MM-DD`.
    pub from: String,
    /// Last date, `YYYY-MM-DD`.
    pub to: String,
}

/// Agreement terms as people write them (dates, names).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TermsInput {
    /// Member tiers admitted.
    pub tiers_covered: Vec<String>,
    /// Visit-days per member at one host per calendar month.
    pub visit_days_per_month_max: u32,
    /// Visit-days per member at one host per calendar year.
    pub visit_days_per_year_max: u32,
    /// Guests per visit.
    #[serde(default)]
    pub guests_per_visit_max: u32,
    /// Fee per visit, minor units.
    #[serde(default)]
    pub visit_fee_minor: u64,
    /// ISO 4217 currency, e.g. `EUR`.
    pub fee_currency: String,
    /// `on_site` (default) or `billed_to_home_club`.
    #[serde(default)]
    pub fee_settlement: Option<String>,
    /// First date of validity, `YYYY-MM-DD`.
    pub valid_from: String,
    /// Last date of validity, `YYYY-MM-DD`; none for open-ended terms.
    #[serde(default)]
    pub valid_until: Option<String>,
    /// Blackout ranges (host's calendar).
    #[serde(default)]
    pub blackouts: Vec<Blackout>,
    /// Days of notice for termination.
    #[serde(default)]
    pub notice_days: u32,
    /// Whether a letter of introduction is needed.
    #[serde(default)]
    pub introduction_required: bool,
}

/// A terms field as this API names it (dates are `valid_from`/`valid_until`).
fn terms_field_name(field: reciprocity_chaincode::decode::TermsField) -> String {
    use reciprocity_chaincode::decode::TermsField as F;
    match field {
        F::ValidFrom => "valid_from".to_owned(),
        F::ValidUntil => "valid_until".to_owned(),
        other => other.wire_name(),
    }
}

pub(super) fn date(field: &str, text: &str) -> ApiResult<u32> {
    dates::parse_day(text).map_err(|_| {
        ApiError::bad_request(format!("{field} {} is not a date YYYY-MM-DD", quote(text)))
    })
}

impl TermsInput {
    pub(super) fn to_wire(&self) -> ApiResult<pb::AgreementTerms> {
        let settlement = match self.fee_settlement.as_deref() {
            None | Some("on_site") => pb::FeeSettlement::OnSite,
            Some("billed_to_home_club") => pb::FeeSettlement::BilledToHomeClub,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "fee_settlement {} is not on_site or billed_to_home_club",
                    quote(other)
                )));
            }
        };
        let blackouts = self
            .blackouts
            .iter()
            .map(|b| {
                Ok(pb::DayRange {
                    first_day: date("blackouts.from", &b.from)?,
                    last_day: date("blackouts.to", &b.to)?,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let terms = pb::AgreementTerms {
            tiers_covered: self.tiers_covered.clone(),
            visit_days_per_month_max: self.visit_days_per_month_max,
            visit_days_per_year_max: self.visit_days_per_year_max,
            guests_per_visit_max: self.guests_per_visit_max,
            visit_fee_minor: self.visit_fee_minor,
            fee_currency: self.fee_currency.clone(),
            fee_settlement: settlement as i32,
            valid_from_day: date("valid_from", &self.valid_from)?,
            valid_until_day: self
                .valid_until
                .as_deref()
                .map(|d| date("valid_until", d))
                .transpose()?
                .unwrap_or(0),
            blackouts,
            notice_days: self.notice_days,
            introduction_required: self.introduction_required,
        };
        // The chaincode's own check, so that bad terms never reach the ledger.
        reciprocity_sdk::terms::check(&reciprocity_sdk::terms::encode(&terms)).map_err(|p| {
            ApiError::refused(
                reciprocity_chaincode::ValidationCode::InvalidTerms,
                &format!("{} {}", terms_field_name(p.field), p.reason),
            )
        })?;
        Ok(terms)
    }

    pub(crate) fn of(terms: &Terms) -> TermsInput {
        TermsInput {
            tiers_covered: terms.tiers_covered.clone(),
            visit_days_per_month_max: terms.visit_days_per_month_max,
            visit_days_per_year_max: terms.visit_days_per_year_max,
            guests_per_visit_max: terms.guests_per_visit_max,
            visit_fee_minor: terms.visit_fee_minor,
            fee_currency: terms.fee_currency.clone(),
            fee_settlement: Some(settlement_name(terms.fee_settlement).to_owned()),
            valid_from: dates::format_day(terms.valid_from_day),
            valid_until: terms.valid_until_day.map(dates::format_day),
            blackouts: terms
                .blackouts
                .iter()
                .map(|b| Blackout {
                    from: dates::format_day(b.first_day),
                    to: dates::format_day(b.last_day),
                })
                .collect(),
            notice_days: terms.notice_days,
            introduction_required: terms.introduction_required,
        }
    }
}

pub(crate) fn counterparty(text: &str) -> ApiResult<ClubId> {
    ClubId::parse(text)
        .ok_or_else(|| ApiError::bad_request(format!("{} is not a club id", quote(text))))
}
