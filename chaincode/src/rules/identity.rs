//! Identities: a club's admin enrolls and revokes its own club's keys.

use super::{RuleResult, TxCtx, authorize};
use crate::ValidationCode;
use crate::event::Event;
use crate::keys;
use crate::model::{Identity, PublicKey, Role, Roles};
use crate::state::{load, save};
use crate::store::{Overlay, StateRead};

pub(crate) fn enroll(
    overlay: &mut Overlay<'_>,
    cx: &TxCtx<'_>,
    key: PublicKey,
    roles: Roles,
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    let (_, club) = authorize(overlay, &cx.signer, Role::Admin)?;
    if overlay.get(&keys::identity(&key))?.is_some() {
        return Err(ValidationCode::IdentityExists.into());
    }
    if overlay.get(&keys::node_key(&key))?.is_some() {
        return Err(ValidationCode::NodeKeyInUse.into());
    }
    // A card key signs cards only, never a transaction.
    if overlay.get(&keys::card_key(&crate::CardKeyId::of(&key)))?.is_some() {
        return Err(ValidationCode::CardKeyExists.into());
    }
    let club_id = club.spec.club_id;
    let identity = Identity {
        public_key: key,
        club_id: club_id.clone(),
        roles,
        enrolled_height: cx.block.height,
        revoked_height: None,
    };
    save(overlay, keys::identity(&key), &identity);
    overlay.put(keys::club_identity(&club_id, &key), Vec::new());
    let role_names: Vec<&str> = roles.iter().map(Role::name).collect();
    events.push(
        Event::new("identity.enrolled")
            .with("club_id", &club_id)
            .with("public_key", key)
            .with("roles", role_names.join(",")),
    );
    Ok(())
}

pub(crate) fn revoke(
    overlay: &mut Overlay<'_>,
    cx: &TxCtx<'_>,
    key: PublicKey,
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    let (_, club) = authorize(overlay, &cx.signer, Role::Admin)?;
    let mut identity: Identity =
        load(overlay, &keys::identity(&key))?.ok_or(ValidationCode::UnknownIdentity)?;
    if identity.club_id != club.spec.club_id {
        return Err(ValidationCode::NotOwnClub.into());
    }
    if key == club.spec.club_key {
        return Err(ValidationCode::CannotRevokeClubKey.into());
    }
    if !identity.is_active() {
        return Err(ValidationCode::IdentityRevoked.into());
    }
    identity.revoked_height = Some(cx.block.height);
    save(overlay, keys::identity(&key), &identity);
    events.push(
        Event::new("identity.revoked").with("club_id", &identity.club_id).with("public_key", key),
    );
    Ok(())
}
