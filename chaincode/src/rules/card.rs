//! Member cards: a club's admin enrolls (rotates) and revokes the club's
//! card-issuing key; the home club's registrar records each card it prints.
//!
//! A club has at most one current card key. Enrolling a new one retires the
//! old: the cards it signed stay valid until their own valid-until, but it
//! can sign no new card, because a card is valid only when the ledger's
//! record of the member's last card names the key that signed it. Revoking
//! a key (compromised) makes every card it signed invalid.

use super::{RuleResult, TxCtx, authorize};
use crate::ValidationCode;
use crate::event::Event;
use crate::keys;
use crate::model::{
    CardKey, CardKeyId, ClubId, Member, MemberCard, MemberId, MemberStatus, PublicKey, Role,
    card_key_possession_message,
};
use crate::state::{load, save};
use crate::store::{Overlay, StateRead};

/// The club's current card key id, if it has one.
pub(crate) fn current_key_id(
    view: &dyn StateRead,
    club: &ClubId,
) -> crate::Result<Option<CardKeyId>> {
    let Some(bytes) = view.get(&keys::club_card_key(club))? else { return Ok(None) };
    let id = CardKeyId::from_slice(&bytes).ok_or_else(|| crate::ChaincodeError::CorruptState {
        key: String::from_utf8_lossy(&keys::club_card_key(club)).into_owned(),
        reason: format!("a card key id is 8 bytes, not {}", bytes.len()),
    })?;
    Ok(Some(id))
}

/// Whether `signature` proves that `club` holds `key` on this chain.
fn possession_proven(chain_id: &str, club: &ClubId, key: &PublicKey, signature: &[u8; 64]) -> bool {
    let Ok(verifying) = ed25519_dalek::VerifyingKey::from_bytes(key.as_bytes()) else {
        return false;
    };
    let message = card_key_possession_message(chain_id, club, key);
    verifying.verify_strict(&message, &ed25519_dalek::Signature::from_bytes(signature)).is_ok()
}

pub(crate) fn enroll_key(
    overlay: &mut Overlay<'_>,
    cx: &TxCtx<'_>,
    key: PublicKey,
    possession_signature: &[u8; 64],
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    let (_, club) = authorize(overlay, &cx.signer, Role::Admin)?;
    if !possession_proven(&cx.block.chain_id, &club.spec.club_id, &key, possession_signature) {
        return Err(ValidationCode::CardKeyProofInvalid.into());
    }
    let key_id = CardKeyId::of(&key);
    if overlay.get(&keys::card_key(&key_id))?.is_some() {
        return Err(ValidationCode::CardKeyExists.into());
    }
    // One key, one purpose: a card key signs no transaction, and a staff or
    // node key signs no card.
    if overlay.get(&keys::identity(&key))?.is_some() {
        return Err(ValidationCode::IdentityExists.into());
    }
    if overlay.get(&keys::node_key(&key))?.is_some() {
        return Err(ValidationCode::NodeKeyInUse.into());
    }
    let club_id = club.spec.club_id;
    let retired = current_key_id(overlay, &club_id)?;
    if let Some(old_id) = retired {
        let mut old: CardKey = load(overlay, &keys::card_key(&old_id))?.ok_or_else(|| {
            crate::ChaincodeError::CorruptState {
                key: String::from_utf8_lossy(&keys::card_key(&old_id)).into_owned(),
                reason: "the club's current card key is missing".to_owned(),
            }
        })?;
        if !old.is_current() {
            return Err(crate::ChaincodeError::CorruptState {
                key: String::from_utf8_lossy(&keys::club_card_key(&club_id)).into_owned(),
                reason: format!("the club's current card key {old_id} is retired or revoked"),
            }
            .into());
        }
        old.retired_height = Some(cx.block.height);
        save(overlay, keys::card_key(&old_id), &old);
    }
    let card_key = CardKey {
        key_id,
        public_key: key,
        club_id: club_id.clone(),
        enrolled_height: cx.block.height,
        retired_height: None,
        revoked_height: None,
    };
    save(overlay, keys::card_key(&key_id), &card_key);
    overlay.put(keys::club_card_key(&club_id), key_id.0.to_vec());
    overlay.put(keys::club_card_key_index(&club_id, &key_id), Vec::new());
    let mut event = Event::new("card_key.enrolled")
        .with("club_id", &club_id)
        .with("key_id", key_id)
        .with("public_key", key);
    if let Some(old_id) = retired {
        event = event.with("retired_key_id", old_id);
    }
    events.push(event);
    Ok(())
}

pub(crate) fn revoke_key(
    overlay: &mut Overlay<'_>,
    cx: &TxCtx<'_>,
    key: PublicKey,
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    let (_, club) = authorize(overlay, &cx.signer, Role::Admin)?;
    let key_id = CardKeyId::of(&key);
    let mut card_key: CardKey =
        load(overlay, &keys::card_key(&key_id))?.ok_or(ValidationCode::UnknownCardKey)?;
    if card_key.club_id != club.spec.club_id {
        return Err(ValidationCode::NotOwnClub.into());
    }
    if card_key.revoked_height.is_some() {
        return Err(ValidationCode::CardKeyRevoked.into());
    }
    if current_key_id(overlay, &card_key.club_id)? == Some(key_id) {
        overlay.delete(keys::club_card_key(&card_key.club_id));
    }
    card_key.revoked_height = Some(cx.block.height);
    save(overlay, keys::card_key(&key_id), &card_key);
    events.push(
        Event::new("card_key.revoked")
            .with("club_id", &card_key.club_id)
            .with("key_id", key_id)
            .with("public_key", key),
    );
    Ok(())
}

pub(crate) fn issue(
    overlay: &mut Overlay<'_>,
    cx: &TxCtx<'_>,
    member_id: MemberId,
    card_key_id: CardKeyId,
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    let (_, club) = authorize(overlay, &cx.signer, Role::Registrar)?;
    let club_id = club.spec.club_id;
    let member: Member =
        load(overlay, &keys::member(&member_id))?.ok_or(ValidationCode::UnknownMember)?;
    if member.home_club != club_id {
        return Err(ValidationCode::NotHomeClub.into());
    }
    if member.status != MemberStatus::Active {
        return Err(ValidationCode::MemberNotActive.into());
    }
    match current_key_id(overlay, &club_id)? {
        None => return Err(ValidationCode::NoCardKey.into()),
        Some(current) if current != card_key_id => {
            return Err(ValidationCode::CardKeyNotCurrent.into());
        }
        Some(_) => {}
    }
    let previous: Option<MemberCard> = load(overlay, &keys::member_card(&member_id))?;
    let serial = match previous {
        None => 1,
        Some(card) => {
            card.serial.checked_add(1).ok_or_else(|| crate::ChaincodeError::CorruptState {
                key: String::from_utf8_lossy(&keys::member_card(&member_id)).into_owned(),
                reason: "card serial overflow".to_owned(),
            })?
        }
    };
    let card = MemberCard {
        member_id,
        home_club: club_id.clone(),
        serial,
        card_key_id,
        tier: member.tier,
        valid_until_day: member.valid_until_day,
        issued_at_ms: cx.block.timestamp_ms,
        issued_height: cx.block.height,
    };
    events.push(
        Event::new("card.issued")
            .with("member_id", member_id)
            .with("home_club", &club_id)
            .with("serial", serial)
            .with("key_id", card_key_id),
    );
    save(overlay, keys::member_card(&member_id), &card);
    Ok(())
}
