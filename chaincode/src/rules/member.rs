//! Members and letters of introduction: only the home club's registrar acts.

use super::{RuleResult, TxCtx, authorize, known_club};
use crate::ValidationCode;
use crate::event::Event;
use crate::keys;
use crate::model::{ClubId, Introduction, Member, MemberId, MemberStatus, Role};
use crate::state::{load, save};
use crate::store::{Overlay, StateRead};

pub(crate) fn register(
    overlay: &mut Overlay<'_>,
    cx: &TxCtx<'_>,
    member_id: MemberId,
    tier: String,
    valid_until_day: u32,
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    let (_, club) = authorize(overlay, &cx.signer, Role::Registrar)?;
    if overlay.get(&keys::member(&member_id))?.is_some() {
        return Err(ValidationCode::MemberExists.into());
    }
    let member = Member {
        member_id,
        home_club: club.spec.club_id,
        tier,
        status: MemberStatus::Active,
        valid_until_day,
        registered_height: cx.block.height,
        updated_height: cx.block.height,
    };
    events.push(
        Event::new("member.registered")
            .with("member_id", member_id)
            .with("home_club", &member.home_club)
            .with("tier", &member.tier)
            .with("valid_until_day", valid_until_day),
    );
    save(overlay, keys::member(&member_id), &member);
    Ok(())
}

/// The member, if it belongs to the signer's club.
fn own_member(view: &dyn StateRead, club: &ClubId, member_id: &MemberId) -> RuleResult<Member> {
    let member: Member =
        load(view, &keys::member(member_id))?.ok_or(ValidationCode::UnknownMember)?;
    if &member.home_club != club {
        return Err(ValidationCode::NotHomeClub.into());
    }
    Ok(member)
}

pub(crate) fn update(
    overlay: &mut Overlay<'_>,
    cx: &TxCtx<'_>,
    member_id: MemberId,
    status: Option<MemberStatus>,
    tier: Option<String>,
    valid_until_day: Option<u32>,
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    let (_, club) = authorize(overlay, &cx.signer, Role::Registrar)?;
    let mut member = own_member(overlay, &club.spec.club_id, &member_id)?;
    let before = member.clone();
    if let Some(status) = status {
        member.status = status;
    }
    if let Some(tier) = tier {
        member.tier = tier;
    }
    if let Some(day) = valid_until_day {
        member.valid_until_day = day;
    }
    if member == before {
        return Err(ValidationCode::EmptyUpdate.into());
    }
    member.updated_height = cx.block.height;
    events.push(
        Event::new("member.updated")
            .with("member_id", member_id)
            .with("home_club", &member.home_club)
            .with("status", format!("{:?}", member.status))
            .with("tier", &member.tier)
            .with("valid_until_day", member.valid_until_day),
    );
    save(overlay, keys::member(&member_id), &member);
    Ok(())
}

pub(crate) fn introduce(
    overlay: &mut Overlay<'_>,
    cx: &TxCtx<'_>,
    member_id: MemberId,
    host: &ClubId,
    from_day: u32,
    until_day: u32,
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    let (_, club) = authorize(overlay, &cx.signer, Role::Registrar)?;
    let home = club.spec.club_id;
    own_member(overlay, &home, &member_id)?;
    known_club(overlay, host)?;
    if host == &home {
        return Err(ValidationCode::InvalidIntroduction.into());
    }
    let introduction = Introduction {
        member_id,
        home_club: home,
        host_club: host.clone(),
        valid_from_day: from_day,
        valid_until_day: until_day,
        issued_by_tx: cx.tx_id,
    };
    events.push(
        Event::new("introduction.issued")
            .with("member_id", member_id)
            .with("home_club", &introduction.home_club)
            .with("host_club", host)
            .with("valid_from_day", from_day)
            .with("valid_until_day", until_day),
    );
    save(overlay, keys::introduction(host, &member_id), &introduction);
    Ok(())
}
