//! Agreement terms: build, encode, hash, validate.
//!
//! Terms travel encoded inside a proposal; the accepting club signs
//! [`hash`] of exactly those bytes, so both sides agree on the same bytes
//! without anyone re-encoding them.

use prost::Message;
use reciprocity_chaincode::Terms;
use reciprocity_proto::v1 as wire;

use crate::ValidationCode;

/// Encodes terms (the bytes a proposal carries).
pub fn encode(terms: &wire::AgreementTerms) -> Vec<u8> {
    terms.encode_to_vec()
}

/// The hash the accepting club signs: SHA-256("reciprocity/terms/v1" || bytes).
pub fn hash(terms_bytes: &[u8]) -> [u8; 32] {
    reciprocity_chaincode::terms_hash(terms_bytes)
}

/// Checks encoded terms with the chaincode's rules, before submitting them.
pub fn validate(terms_bytes: &[u8]) -> Result<Terms, ValidationCode> {
    reciprocity_chaincode::decode::terms(terms_bytes)
}

/// Like [`validate`], naming the field in error and why (what the ledger
/// answers with `InvalidTerms`).
pub fn check(terms_bytes: &[u8]) -> Result<Terms, reciprocity_chaincode::decode::TermsProblem> {
    reciprocity_chaincode::decode::terms_checked(terms_bytes)
}

/// Terms with common defaults: no guests, no fee (settled on site, in
/// `currency`), no end date, no blackouts, 30 days' notice, no introduction.
pub fn basic(
    tiers: &[&str],
    visit_days_per_month_max: u32,
    visit_days_per_year_max: u32,
    valid_from_day: u32,
    currency: &str,
) -> wire::AgreementTerms {
    wire::AgreementTerms {
        tiers_covered: tiers.iter().map(|t| (*t).to_owned()).collect(),
        visit_days_per_month_max,
        visit_days_per_year_max,
        guests_per_visit_max: 0,
        visit_fee_minor: 0,
        fee_currency: currency.to_owned(),
        fee_settlement: wire::FeeSettlement::OnSite as i32,
        valid_from_day,
        valid_until_day: 0,
        blackouts: Vec::new(),
        notice_days: 30,
        introduction_required: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_terms_are_valid_and_hash_is_over_the_exact_bytes() {
        let terms = basic(&["full"], 4, 48, 20_000, "EUR");
        let bytes = encode(&terms);
        assert!(validate(&bytes).is_ok());
        let mut other = terms.clone();
        other.visit_days_per_month_max = 5;
        assert_ne!(hash(&bytes), hash(&encode(&other)));
        let mut bad = terms;
        bad.visit_days_per_year_max = 2; // fewer per year than per month
        assert_eq!(validate(&encode(&bad)), Err(ValidationCode::InvalidTerms));
    }
}
