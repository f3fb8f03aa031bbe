//! Ledger records as the APIs write them: statuses and roles in lower
//! case, dates `YYYY-MM-DD`, keys and ids in hex, node ids as 16 hex
//! digits. The REST API answers with these, and the gRPC `Query` returns
//! them as its JSON, so `recip query` prints what `curl` shows.
//!
//! Pure conversions from the chaincode's domain types; no I/O.

use reciprocity_chaincode::{
    CardKey, Club, ClubStatus, FeeSettlement, Identity, Introduction, Member, MemberCard,
    MemberStatus, Visit,
};
use reciprocity_sdk::dates;
use serde::Serialize;

/// The API's name of a club status.
pub fn club_status_name(status: ClubStatus) -> &'static str {
    match status {
        ClubStatus::Active => "active",
        ClubStatus::Suspended => "suspended",
        ClubStatus::Removed => "removed",
    }
}

/// The API's name of a member status.
pub fn member_status_name(status: MemberStatus) -> &'static str {
    match status {
        MemberStatus::Active => "active",
        MemberStatus::Suspended => "suspended",
        MemberStatus::Expired => "expired",
        MemberStatus::Resigned => "resigned",
    }
}

/// The API's name of a fee settlement.
pub fn settlement_name(settlement: FeeSettlement) -> &'static str {
    match settlement {
        FeeSettlement::OnSite => "on_site",
        FeeSettlement::BilledToHomeClub => "billed_to_home_club",
    }
}

/// How a fee is settled, in words (`paid on site`), from its API name.
pub fn settlement_words(settlement_name: &str) -> &'static str {
    match settlement_name {
        "on_site" => "paid on site",
        "billed_to_home_club" => "billed to the home club",
        _ => "settled as the terms say",
    }
}

/// Digits after the decimal point of an ISO 4217 currency's minor unit.
pub fn minor_digits(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// An amount as people type it (`25.00`, `25`, `3000` for JPY) in minor
/// units of `currency`; `None` when it is not such an amount.
pub fn parse_money(text: &str, currency: &str) -> Option<u64> {
    let digits = minor_digits(currency) as usize;
    let (units, fraction) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    if units.is_empty()
        || !units.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > digits
    {
        return None;
    }
    let scale = 10u64.pow(u32::try_from(digits).ok()?);
    let fraction_value: u64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse::<u64>().ok()? * 10u64.pow(u32::try_from(digits - fraction.len()).ok()?)
    };
    units.parse::<u64>().ok()?.checked_mul(scale)?.checked_add(fraction_value)
}

/// An amount in minor units as people type it back: `25.00`, `3000`.
pub fn money_input(minor: u64, currency: &str) -> String {
    money_text(minor, currency).split_once(' ').map_or_else(String::new, |(_, n)| n.to_owned())
}

/// An amount in minor units as people read it: `EUR 25.00`, `JPY 3000`.
pub fn money_text(minor: u64, currency: &str) -> String {
    let digits = minor_digits(currency);
    if digits == 0 {
        return format!("{currency} {minor}");
    }
    let unit = 10u64.pow(digits);
    format!("{currency} {}.{:0width$}", minor / unit, minor % unit, width = digits as usize)
}

/// A club of the network.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClubView {
    /// Id.
    pub club_id: String,
    /// Name.
    pub name: String,
    /// `active`, `suspended` or `removed`.
    pub status: String,
    /// Club key (hex).
    pub club_key: String,
    /// Offset of local time from UTC, minutes.
    pub utc_offset_minutes: i32,
    /// Height of admission.
    pub admitted_height: u64,
    /// The club's nodes.
    pub nodes: Vec<NodeView>,
}

/// A node of a club, as its club's spec lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NodeView {
    /// Node key (64 hex digits): the node's peer identity.
    pub node_key: String,
    /// Where peers dial it (a multiaddr).
    pub address: String,
}

impl ClubView {
    /// The view of `club`.
    pub fn of(club: Club) -> ClubView {
        ClubView {
            club_id: club.spec.club_id.to_string(),
            name: club.spec.name,
            status: club_status_name(club.status).to_owned(),
            club_key: club.spec.club_key.to_hex(),
            utc_offset_minutes: club.spec.utc_offset_minutes,
            admitted_height: club.admitted_height,
            nodes: club
                .spec
                .nodes
                .iter()
                .map(|n| NodeView { node_key: n.node_key.to_hex(), address: n.address.clone() })
                .collect(),
        }
    }
}

/// An identity enrolled by a club.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IdentityView {
    /// Public key (64 hex digits).
    pub public_key: String,
    /// The club it acts for.
    pub club_id: String,
    /// Its roles: `admin`, `registrar`, `front_desk`, `governor`.
    pub roles: Vec<String>,
    /// `active` or `revoked`.
    pub status: String,
    /// Height of enrolment.
    pub enrolled_height: u64,
    /// Height of revocation, if revoked.
    pub revoked_height: Option<u64>,
}

impl IdentityView {
    /// The view of `identity`.
    pub fn of(identity: &Identity) -> IdentityView {
        IdentityView {
            public_key: identity.public_key.to_hex(),
            club_id: identity.club_id.to_string(),
            roles: identity.roles.iter().map(|r| r.name().to_owned()).collect(),
            status: if identity.is_active() { "active" } else { "revoked" }.to_owned(),
            enrolled_height: identity.enrolled_height,
            revoked_height: identity.revoked_height,
        }
    }
}

/// A club's card-issuing key as the ledger holds it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CardKeyView {
    /// Key id (16 hex digits), what a card names.
    pub key_id: String,
    /// Public key (64 hex digits).
    pub public_key: String,
    /// The club whose cards it signs.
    pub club_id: String,
    /// `current` (signs new cards), `retired` (its cards stay valid until
    /// their valid-until) or `revoked` (its cards are refused).
    pub status: String,
    /// Height of enrolment.
    pub enrolled_height: u64,
    /// Height at which a newer key replaced it.
    pub retired_height: Option<u64>,
    /// Height of revocation.
    pub revoked_height: Option<u64>,
}

impl CardKeyView {
    /// The view of `key`.
    pub fn of(key: &CardKey) -> CardKeyView {
        let status = if key.revoked_height.is_some() {
            "revoked"
        } else if key.retired_height.is_some() {
            "retired"
        } else {
            "current"
        };
        CardKeyView {
            key_id: key.key_id.to_hex(),
            public_key: key.public_key.to_hex(),
            club_id: key.club_id.to_string(),
            status: status.to_owned(),
            enrolled_height: key.enrolled_height,
            retired_height: key.retired_height,
            revoked_height: key.revoked_height,
        }
    }

    /// The record back (`None` when a field does not parse).
    pub fn to_record(&self) -> Option<CardKey> {
        Some(CardKey {
            key_id: reciprocity_chaincode::CardKeyId::from_hex(&self.key_id)?,
            public_key: reciprocity_chaincode::PublicKey::from_hex(&self.public_key)?,
            club_id: reciprocity_chaincode::ClubId::parse(&self.club_id)?,
            enrolled_height: self.enrolled_height,
            retired_height: self.retired_height,
            revoked_height: self.revoked_height,
        })
    }
}

/// The card last issued to a member, as the ledger records it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct MemberCardView {
    /// Member id (32 hex digits).
    pub member_id: String,
    /// Home club.
    pub home_club: String,
    /// The card's serial (1 for the first card).
    pub serial: u32,
    /// Id of the card key that signs it (16 hex digits).
    pub card_key_id: String,
    /// Tier when issued.
    pub tier: String,
    /// The card's valid-until, `YYYY-MM-DD`.
    pub valid_until: String,
    /// Block time of issue (Unix ms).
    pub issued_at_ms: u64,
    /// Height of issue.
    pub issued_height: u64,
}

impl MemberCardView {
    /// The view of `card`.
    pub fn of(card: &MemberCard) -> MemberCardView {
        MemberCardView {
            member_id: card.member_id.to_hex(),
            home_club: card.home_club.to_string(),
            serial: card.serial,
            card_key_id: card.card_key_id.to_hex(),
            tier: card.tier.clone(),
            valid_until: dates::format_day(card.valid_until_day),
            issued_at_ms: card.issued_at_ms,
            issued_height: card.issued_height,
        }
    }

    /// The record back (`None` when a field does not parse).
    pub fn to_record(&self) -> Option<MemberCard> {
        Some(MemberCard {
            member_id: reciprocity_chaincode::MemberId::from_hex(&self.member_id)?,
            home_club: reciprocity_chaincode::ClubId::parse(&self.home_club)?,
            serial: self.serial,
            card_key_id: reciprocity_chaincode::CardKeyId::from_hex(&self.card_key_id)?,
            tier: self.tier.clone(),
            valid_until_day: dates::parse_day(&self.valid_until).ok()?,
            issued_at_ms: self.issued_at_ms,
            issued_height: self.issued_height,
        })
    }
}

/// A member's record on the ledger (no personal data: that stays in the
/// home club's profiles).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberRecordView {
    /// Member id (32 hex digits).
    pub member_id: String,
    /// Home club.
    pub home_club: String,
    /// Tier.
    pub tier: String,
    /// `active`, `suspended`, `expired` or `resigned`.
    pub status: String,
    /// Last day of validity, `YYYY-MM-DD`.
    pub valid_until: String,
    /// Height of registration.
    pub registered_height: u64,
    /// Height of the last change.
    pub updated_height: u64,
}

impl MemberRecordView {
    /// The view of `member`.
    pub fn of(member: &Member) -> MemberRecordView {
        MemberRecordView {
            member_id: member.member_id.to_hex(),
            home_club: member.home_club.to_string(),
            tier: member.tier.clone(),
            status: member_status_name(member.status).to_owned(),
            valid_until: dates::format_day(member.valid_until_day),
            registered_height: member.registered_height,
            updated_height: member.updated_height,
        }
    }
}

/// A visit as the ledger recorded it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VisitRecordView {
    /// Visit id (the recording transaction's id, 64 hex digits).
    pub visit_id: String,
    /// The club visited.
    pub host_club: String,
    /// The visitor's home club.
    pub home_club: String,
    /// The visitor (member id).
    pub member_id: String,
    /// The date in the host's calendar, `YYYY-MM-DD`.
    pub date: String,
    /// Block time of the visit (Unix ms).
    pub at_ms: u64,
    /// Guests brought.
    pub guests: u32,
    /// Fee in minor units.
    pub fee_minor: u64,
    /// ISO 4217 currency of the fee.
    pub fee_currency: String,
    /// `on_site` or `billed_to_home_club`.
    pub fee_settlement: String,
    /// The agreement version applied.
    pub terms_version: u32,
    /// Whether it was voided.
    pub voided: bool,
    /// When it was voided (block time, Unix ms).
    pub voided_at_ms: Option<u64>,
}

impl VisitRecordView {
    /// The view of `visit`.
    pub fn of(visit: &Visit) -> VisitRecordView {
        VisitRecordView {
            visit_id: visit.visit_id.to_hex(),
            host_club: visit.host_club.to_string(),
            home_club: visit.home_club.to_string(),
            member_id: visit.member_id.to_hex(),
            date: dates::format_day(visit.local_day),
            at_ms: visit.at_ms,
            guests: visit.guests,
            fee_minor: visit.fee_minor,
            fee_currency: visit.fee_currency.clone(),
            fee_settlement: settlement_name(visit.fee_settlement).to_owned(),
            terms_version: visit.terms_version,
            voided: visit.voided.is_some(),
            voided_at_ms: visit.voided.as_ref().map(|v| v.at_ms),
        }
    }
}

/// A letter of introduction as the ledger holds it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IntroductionRecordView {
    /// The member (32 hex digits).
    pub member_id: String,
    /// The issuing (home) club.
    pub home_club: String,
    /// The club the member is introduced to.
    pub host_club: String,
    /// First date covered, `YYYY-MM-DD`.
    pub valid_from: String,
    /// Last date covered, `YYYY-MM-DD`.
    pub valid_until: String,
    /// The issuing transaction (64 hex digits).
    pub issued_by_tx: String,
}

impl IntroductionRecordView {
    /// The view of `introduction`.
    pub fn of(introduction: &Introduction) -> IntroductionRecordView {
        IntroductionRecordView {
            member_id: introduction.member_id.to_hex(),
            home_club: introduction.home_club.to_string(),
            host_club: introduction.host_club.to_string(),
            valid_from: dates::format_day(introduction.valid_from_day),
            valid_until: dates::format_day(introduction.valid_until_day),
            issued_by_tx: introduction.issued_by_tx.to_hex(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_amounts_follow_the_currencys_minor_digits() {
        assert_eq!(parse_money("25.00", "EUR"), Some(2500));
        assert_eq!(parse_money("25.5", "EUR"), Some(2550));
        assert_eq!(parse_money("25", "EUR"), Some(2500));
        assert_eq!(parse_money("3000", "JPY"), Some(3000));
        assert_eq!(parse_money("3000.5", "JPY"), None);
        assert_eq!(parse_money("25.000", "KWD"), Some(25_000));
        assert_eq!(parse_money("1.005", "EUR"), None);
        assert_eq!(parse_money("+5", "EUR"), None);
        assert_eq!(parse_money("", "EUR"), None);
        assert_eq!(money_input(2550, "EUR"), "25.50");
        assert_eq!(money_input(3000, "JPY"), "3000");
    }

    #[test]
    fn money_is_written_with_the_currencys_minor_digits() {
        assert_eq!(money_text(2_500, "EUR"), "EUR 25.00");
        assert_eq!(money_text(5, "USD"), "USD 0.05");
        assert_eq!(money_text(3_000, "JPY"), "JPY 3000");
        assert_eq!(money_text(1_234, "KWD"), "KWD 1.234");
    }

    #[test]
    fn a_member_record_reads_as_the_rest_api_writes_it() {
        let member = Member {
            member_id: reciprocity_chaincode::MemberId([7; 16]),
            home_club: reciprocity_chaincode::ClubId::parse("harbour").unwrap(),
            tier: "full".to_owned(),
            status: MemberStatus::Active,
            valid_until_day: dates::parse_day("2027-12-31").unwrap(),
            registered_height: 3,
            updated_height: 4,
        };
        let json = serde_json::to_value(MemberRecordView::of(&member)).unwrap();
        assert_eq!(json["status"], "active");
        assert_eq!(json["valid_until"], "2027-12-31");
        assert_eq!(json["member_id"], "07".repeat(16));
    }
}
