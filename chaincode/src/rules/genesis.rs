//! Genesis: the founding clubs and the policy, once, signed by a founding club key.

use std::collections::BTreeSet;

use super::{RuleResult, TxCtx};
use crate::ValidationCode;
use crate::event::Event;
use crate::keys;
use crate::model::{Club, ClubSpec, ClubStatus, Identity, Policy, Roles};
use crate::state::save;
use crate::store::{Overlay, StateRead};

pub(crate) fn apply(
    overlay: &mut Overlay<'_>,
    cx: &TxCtx<'_>,
    clubs: Vec<ClubSpec>,
    policy: &Policy,
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    let invalid = ValidationCode::InvalidGenesis;
    let mut ids = BTreeSet::new();
    let mut keys_seen = BTreeSet::new();
    for spec in &clubs {
        if !ids.insert(spec.club_id.clone()) || !keys_seen.insert(spec.club_key) {
            return Err(invalid.into());
        }
        for node in &spec.nodes {
            if !keys_seen.insert(node.node_key) {
                return Err(invalid.into());
            }
        }
    }
    if !clubs.iter().any(|spec| spec.club_key == cx.signer) {
        return Err(invalid.into());
    }
    save(overlay, keys::POLICY.to_vec(), policy);
    overlay.put(keys::GENESIS.to_vec(), cx.block.chain_id.clone().into_bytes());
    events.push(
        Event::new("genesis.applied")
            .with("chain_id", &cx.block.chain_id)
            .with("clubs", clubs.len()),
    );
    for spec in clubs {
        admit(overlay, cx.block.height, spec, events)?;
    }
    Ok(())
}

/// Checks that a club can be admitted: id, club key and node keys are all new.
pub(crate) fn check_admissible(view: &dyn StateRead, spec: &ClubSpec) -> RuleResult<()> {
    if view.get(&keys::club(&spec.club_id))?.is_some() {
        return Err(ValidationCode::ClubExists.into());
    }
    // A key has one job in the network: identity (club key), node key or
    // card key.
    let is_card_key =
        |key: &crate::PublicKey| view.get(&keys::card_key(&crate::CardKeyId::of(key)));
    if view.get(&keys::identity(&spec.club_key))?.is_some()
        || view.get(&keys::node_key(&spec.club_key))?.is_some()
        || is_card_key(&spec.club_key)?.is_some()
    {
        return Err(ValidationCode::IdentityExists.into());
    }
    for node in &spec.nodes {
        if view.get(&keys::node_key(&node.node_key))?.is_some()
            || view.get(&keys::identity(&node.node_key))?.is_some()
            || is_card_key(&node.node_key)?.is_some()
        {
            return Err(ValidationCode::NodeKeyInUse.into());
        }
    }
    Ok(())
}

/// Writes a new active club, its club key as an identity with every role, and its node keys.
pub(crate) fn admit(
    overlay: &mut Overlay<'_>,
    height: u64,
    spec: ClubSpec,
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    check_admissible(overlay, &spec)?;
    let identity = Identity {
        public_key: spec.club_key,
        club_id: spec.club_id.clone(),
        roles: Roles::all(),
        enrolled_height: height,
        revoked_height: None,
    };
    save(overlay, keys::identity(&spec.club_key), &identity);
    overlay.put(keys::club_identity(&spec.club_id, &spec.club_key), Vec::new());
    let mut event =
        Event::new("club.admitted").with("club_id", &spec.club_id).with("club_key", spec.club_key);
    for node in &spec.nodes {
        save(overlay, keys::node_key(&node.node_key), &spec.club_id);
        event = event.with("node_key", node.node_key).with("node_address", &node.address);
    }
    events.push(event);
    let club = Club { spec, status: ClubStatus::Active, admitted_height: height };
    save(overlay, keys::club(&club.spec.club_id), &club);
    Ok(())
}
