//! The world-state key layout. Every key is built here, so the layout can be
//! read in one place:
//!
//! | key | value |
//! | --- | --- |
//! | `meta/height`, `meta/time_ms`, `meta/state_hash` | chain position (not hashed) |
//! | `gen/genesis`, `gen/policy` | genesis marker, current policy |
//! | `club/{club}` | [`crate::Club`] |
//! | `nodekey/{key}` | club id owning a node key |
//! | `ident/{key}` | [`crate::Identity`] |
//! | `clubident/{club}/{key}` | index: a club's identities |
//! | `member/{member}` | [`crate::Member`] |
//! | `agr/{club-lo}/{club-hi}` | [`crate::Agreement`] |
//! | `clubagr/{club}/{other}` | index: a club's agreements |
//! | `cardkey/{key_id}` | [`crate::CardKey`] |
//! | `clubcardkey/{club}` | the club's current card key id (8 bytes) |
//! | `clubcardkeys/{club}/{key_id}` | index: a club's card keys |
//! | `card/{member}` | [`crate::MemberCard`], the member's last card |
//! | `intro/{host}/{member}` | [`crate::Introduction`] |
//! | `visit/{visit}` | [`crate::Visit`] |
//! | `vday/{host}/{member}/{day}` | check-ins that day (u32) |
//! | `vmonth/{host}/{member}/{yyyymm}` | visit-days that month (u32) |
//! | `vyear/{host}/{member}/{yyyy}` | visit-days that year (u32) |
//! | `prop/{proposal}` | [`crate::Proposal`] |
//! | `propopen/{ends_at_ms:020}/{proposal}` | index: open proposals by end time |
//! | `tx/{tx}` | expiry of a used transaction id (u64) |
//! | `txexp/{expires_at_ms:020}/{tx}` | index: used ids by expiry, for pruning |
//!
//! Binary ids are lowercase hex; numbers are zero-padded decimal so that byte
//! order is numeric order.

use crate::model::{CardKeyId, ClubId, MemberId, PublicKey, TxId};

/// Prefix of keys that describe the chain position and are not part of the state hash.
pub(crate) const META_PREFIX: &[u8] = b"meta/";
pub(crate) const META_HEIGHT: &[u8] = b"meta/height";
pub(crate) const META_TIME_MS: &[u8] = b"meta/time_ms";
pub(crate) const META_STATE_HASH: &[u8] = b"meta/state_hash";
pub(crate) const GENESIS: &[u8] = b"gen/genesis";
pub(crate) const POLICY: &[u8] = b"gen/policy";
pub(crate) const CLUB_PREFIX: &[u8] = b"club/";
pub(crate) const PROPOSAL_OPEN_PREFIX: &[u8] = b"propopen/";
pub(crate) const TX_EXPIRY_PREFIX: &[u8] = b"txexp/";

pub(crate) fn club(club: &ClubId) -> Vec<u8> {
    format!("club/{club}").into_bytes()
}

pub(crate) fn node_key(key: &PublicKey) -> Vec<u8> {
    format!("nodekey/{key}").into_bytes()
}

pub(crate) fn identity(key: &PublicKey) -> Vec<u8> {
    format!("ident/{key}").into_bytes()
}

pub(crate) fn club_identity(club: &ClubId, key: &PublicKey) -> Vec<u8> {
    format!("clubident/{club}/{key}").into_bytes()
}

pub(crate) fn club_identity_prefix(club: &ClubId) -> Vec<u8> {
    format!("clubident/{club}/").into_bytes()
}

pub(crate) fn member(member: &MemberId) -> Vec<u8> {
    format!("member/{member}").into_bytes()
}

pub(crate) fn card_key(id: &CardKeyId) -> Vec<u8> {
    format!("cardkey/{id}").into_bytes()
}

pub(crate) fn club_card_key(club: &ClubId) -> Vec<u8> {
    format!("clubcardkey/{club}").into_bytes()
}

pub(crate) fn club_card_key_index(club: &ClubId, id: &CardKeyId) -> Vec<u8> {
    format!("clubcardkeys/{club}/{id}").into_bytes()
}

pub(crate) fn club_card_key_index_prefix(club: &ClubId) -> Vec<u8> {
    format!("clubcardkeys/{club}/").into_bytes()
}

pub(crate) fn member_card(member: &MemberId) -> Vec<u8> {
    format!("card/{member}").into_bytes()
}

/// The agreement key of a pair, whichever order the clubs come in.
pub(crate) fn agreement(a: &ClubId, b: &ClubId) -> Vec<u8> {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    format!("agr/{lo}/{hi}").into_bytes()
}

pub(crate) fn club_agreement(club: &ClubId, other: &ClubId) -> Vec<u8> {
    format!("clubagr/{club}/{other}").into_bytes()
}

pub(crate) fn club_agreement_prefix(club: &ClubId) -> Vec<u8> {
    format!("clubagr/{club}/").into_bytes()
}

pub(crate) fn introduction(host: &ClubId, member: &MemberId) -> Vec<u8> {
    format!("intro/{host}/{member}").into_bytes()
}

pub(crate) fn visit(visit: &TxId) -> Vec<u8> {
    format!("visit/{visit}").into_bytes()
}

pub(crate) fn visit_day(host: &ClubId, member: &MemberId, day: u32) -> Vec<u8> {
    format!("vday/{host}/{member}/{day:010}").into_bytes()
}

pub(crate) fn visit_month(host: &ClubId, member: &MemberId, month_key: u32) -> Vec<u8> {
    format!("vmonth/{host}/{member}/{month_key:06}").into_bytes()
}

pub(crate) fn visit_year(host: &ClubId, member: &MemberId, year: u32) -> Vec<u8> {
    format!("vyear/{host}/{member}/{year:04}").into_bytes()
}

pub(crate) fn proposal(id: &TxId) -> Vec<u8> {
    format!("prop/{id}").into_bytes()
}

pub(crate) fn proposal_open(ends_at_ms: u64, id: &TxId) -> Vec<u8> {
    format!("propopen/{ends_at_ms:020}/{id}").into_bytes()
}

pub(crate) fn tx_used(id: &TxId) -> Vec<u8> {
    format!("tx/{id}").into_bytes()
}

pub(crate) fn tx_expiry(expires_at_ms: u64, id: &TxId) -> Vec<u8> {
    format!("txexp/{expires_at_ms:020}/{id}").into_bytes()
}

/// The `u64` zero-padded number that follows `prefix` in `key`.
pub(crate) fn number_after(prefix: &[u8], key: &[u8]) -> Option<u64> {
    let rest = key.strip_prefix(prefix)?;
    let digits = rest.get(..20)?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The hex id that ends `key` (after the last '/').
pub(crate) fn trailing_tx_id(key: &[u8]) -> Option<TxId> {
    let slash = key.iter().rposition(|b| *b == b'/')?;
    TxId::from_hex(std::str::from_utf8(&key[slash + 1..]).ok()?)
}

/// The text that ends `key` (after the last '/').
pub(crate) fn trailing_text(key: &[u8]) -> Option<&str> {
    let slash = key.iter().rposition(|b| *b == b'/')?;
    std::str::from_utf8(&key[slash + 1..]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_key_is_the_same_for_both_orders() {
        let a = ClubId::parse("alpha").unwrap();
        let b = ClubId::parse("beta").unwrap();
        assert_eq!(agreement(&a, &b), agreement(&b, &a));
        assert_eq!(agreement(&a, &b), b"agr/alpha/beta");
    }

    #[test]
    fn padded_numbers_sort_numerically_and_parse_back() {
        let id = TxId([7; 32]);
        assert!(proposal_open(9, &id) < proposal_open(10, &id));
        assert_eq!(number_after(PROPOSAL_OPEN_PREFIX, &proposal_open(42, &id)), Some(42));
        assert_eq!(trailing_tx_id(&proposal_open(42, &id)), Some(id));
    }
}
