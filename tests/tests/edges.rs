//! Edge cases and boundaries: exact time limits, things that happen within
//! one block, keys with torsion, amendments that start early, hostile values.

use reciprocity_chaincode::{
    BlockContext, ChaincodeError, ClubId, ProposalStatus, TIMESTAMP_MS_MAX, ValidationCode as Code,
    apply_block, query,
};
use reciprocity_proto::v1 as wire;
use reciprocity_sdk::tx::{TxBuilder, body};
use reciprocity_tests::{CHAIN_ID, DAY_MS, HOUR_MS, Net, TestClub, key};
use wire::VoteChoice::Yes;
use wire::create_proposal::Action;

fn net3() -> Net {
    Net::new(&[("harbour", 0), ("alpine", 60), ("union", -300)])
}

fn id(text: &str) -> ClubId {
    ClubId::parse(text).unwrap()
}

/// A key whose point has a torsion component: a valid key plus a point of order 2.
fn mixed_order_key() -> Vec<u8> {
    use curve25519_dalek::edwards::CompressedEdwardsY;
    let valid = key("torsion-base").public_key().0;
    let point = CompressedEdwardsY(valid).decompress().unwrap();
    let order_two = CompressedEdwardsY({
        let mut y = [0u8; 32];
        // y = -1 (p - 1), the point (0, -1) of order 2.
        y[0] = 0xec;
        y[1..31].fill(0xff);
        y[31] = 0x7f;
        y
    })
    .decompress()
    .unwrap();
    assert!(order_two.is_small_order());
    (point + order_two).compress().0.to_vec()
}

#[test]
fn a_key_with_a_torsion_component_cannot_be_enrolled() {
    let mut net = net3();
    let admin = net.club("harbour").admin;
    let raw = wire::tx_payload::Body::EnrollIdentity(wire::EnrollIdentity {
        public_key: mixed_order_key(),
        roles: vec![wire::Role::Registrar as i32],
    });
    assert_eq!(net.run(&admin, raw), Code::WeakKey);
}

#[test]
fn a_utc_offset_of_i32_min_is_an_invalid_club_not_a_crash() {
    let mut net = net3();
    let mut spec = TestClub::new("zeta", 0).spec();
    spec.utc_offset_minutes = i32::MIN;
    let governor = net.club("harbour").governor;
    assert_eq!(
        net.run(&governor, body::create_proposal(HOUR_MS, Action::AdmitClub(spec))),
        Code::InvalidClub
    );
}

#[test]
fn an_admitted_club_cannot_reuse_any_key_of_the_network_or_its_own() {
    let mut net = net3();
    let governor = net.club("harbour").governor;
    let harbour = net.club("harbour");
    let cases = [
        ("club key = another club's node key", Code::IdentityExists, {
            let mut s = TestClub::new("zeta", 0).spec();
            s.club_key = harbour.node_key.public_key().0.to_vec();
            s
        }),
        ("node key = an enrolled identity", Code::NodeKeyInUse, {
            let mut s = TestClub::new("zeta", 0).spec();
            s.nodes[0].node_key = harbour.registrar.public_key().0.to_vec();
            s
        }),
        ("club key = its own node key", Code::InvalidClub, {
            let mut s = TestClub::new("zeta", 0).spec();
            s.nodes[0].node_key = s.club_key.clone();
            s
        }),
    ];
    for (name, expected, spec) in cases {
        let got = net.run(&governor, body::create_proposal(HOUR_MS, Action::AdmitClub(spec)));
        assert_eq!(got, expected, "{name}");
    }
    // And an identity cannot be a node key.
    let admin = net.club("alpine").admin;
    assert_eq!(
        net.run(
            &admin,
            body::enroll_identity(&harbour.node_key.public_key(), &[wire::Role::Admin])
        ),
        Code::NodeKeyInUse
    );
}

#[test]
fn an_amendment_starting_before_the_current_terms_replaces_them_at_once() {
    let mut net = net3();
    let mut terms = net.terms(&["full"], 1, 12);
    terms.valid_from_day = net.today() - 1;
    net.agree("harbour", "alpine", &terms);
    let member = net.register_member("harbour", "full");
    let mut amended = terms.clone();
    amended.valid_from_day = net.today() - 30;
    amended.visit_days_per_month_max = 5;
    let (h, a) = (net.club("harbour").admin, net.club("alpine").admin);
    net.ok(&h, body::amend_agreement("alpine", &amended));
    let hash = reciprocity_sdk::terms::hash(&reciprocity_sdk::terms::encode(&amended));
    net.ok(&a, body::accept_agreement("harbour", hash));
    let agreement = query::agreement(&net.store, &id("harbour"), &id("alpine")).unwrap().unwrap();
    assert_eq!(agreement.versions.len(), 1);
    assert_eq!(agreement.versions[0].version, 2);
    assert_eq!(net.visit_check("alpine", &member, 0).allowance.unwrap().month_days_max, 5);
}

#[test]
fn an_amendment_cannot_be_accepted_once_termination_is_under_notice() {
    let mut net = net3();
    let terms = net.terms(&["full"], 1, 12);
    net.agree("harbour", "alpine", &terms);
    let (h, a) = (net.club("harbour").admin, net.club("alpine").admin);
    let mut amended = terms.clone();
    amended.visit_days_per_month_max = 2;
    net.ok(&h, body::amend_agreement("alpine", &amended));
    net.ok(&a, body::terminate_agreement("harbour")); // also drops the pending offer
    let hash = reciprocity_sdk::terms::hash(&reciprocity_sdk::terms::encode(&amended));
    assert_eq!(net.run(&a, body::accept_agreement("harbour", hash)), Code::NoPendingOffer);
    assert_eq!(net.run(&h, body::amend_agreement("alpine", &amended)), Code::AgreementTerminating);
}

#[test]
fn a_termination_with_zero_notice_days_ends_the_agreement_at_once() {
    let mut net = net3();
    let mut terms = net.terms(&["full"], 1, 12);
    terms.notice_days = 0;
    net.agree("harbour", "alpine", &terms);
    let member = net.register_member("harbour", "full");
    let admin = net.club("alpine").admin;
    net.ok(&admin, body::terminate_agreement("harbour"));
    assert_eq!(net.visit_check("alpine", &member, 0).code, Code::AgreementTerminated);
}

#[test]
fn the_electorate_is_fixed_when_the_proposal_is_created() {
    let mut net = net3();
    let delta = TestClub::new("delta", 0);
    net.clubs.push(delta.clone());
    let resolution = net.ok(
        &net.club("harbour").governor,
        body::create_proposal(DAY_MS, Action::Resolution("Before delta".into())),
    );
    let admit = net.ok(
        &net.club("harbour").governor,
        body::create_proposal(DAY_MS, Action::AdmitClub(delta.spec())),
    );
    net.ok(&net.club("harbour").governor, body::cast_vote(&admit, Yes));
    net.ok(&net.club("alpine").governor, body::cast_vote(&admit, Yes));
    net.enroll_staff(&delta);
    assert_eq!(net.run(&delta.governor, body::cast_vote(&resolution, Yes)), Code::NotInElectorate);
}

#[test]
fn a_suspension_passed_in_a_block_binds_the_later_transactions_of_that_block() {
    let mut net = net3();
    let proposal = net.ok(
        &net.club("union").governor,
        body::create_proposal(DAY_MS, Action::SuspendClub("alpine".into())),
    );
    net.ok(&net.club("union").governor, body::cast_vote(&proposal, Yes));
    let deciding_vote = net.tx(&net.club("harbour").governor, body::cast_vote(&proposal, Yes));
    let member = reciprocity_chaincode::MemberId([7; 16]);
    let late =
        net.tx(&net.club("alpine").registrar, body::register_member(&member, "full", 30_000));
    let early = net.tx(
        &net.club("alpine").registrar,
        body::register_member(&reciprocity_chaincode::MemberId([8; 16]), "full", 30_000),
    );
    let outcome = net.block(vec![early, deciding_vote, late]);
    let codes: Vec<Code> = outcome.results.iter().map(|r| r.code).collect();
    assert_eq!(codes, [Code::Ok, Code::Ok, Code::SignerClubNotActive]);
}

#[test]
fn a_duplicate_within_one_block_is_refused() {
    let mut net = net3();
    let member = reciprocity_chaincode::MemberId([7; 16]);
    let tx = net.tx(&net.club("harbour").registrar, body::register_member(&member, "full", 30_000));
    let outcome = net.block(vec![tx.clone(), tx]);
    assert_eq!(outcome.results[0].code, Code::Ok);
    assert_eq!(outcome.results[1].code, Code::DuplicateTx);
}

#[test]
fn a_replay_after_the_id_was_pruned_is_refused_as_expired() {
    let mut net = net3();
    let member = reciprocity_chaincode::MemberId([7; 16]);
    let tx = TxBuilder::new(CHAIN_ID, net.now_ms)
        .validity_ms(HOUR_MS)
        .sign(&net.club("harbour").registrar, body::register_member(&member, "full", 30_000));
    assert_eq!(net.block(vec![tx.clone()]).results[0].code, Code::Ok);
    net.advance_ms(2 * HOUR_MS);
    net.block(vec![]); // prunes the id
    assert!(!query::tx_used(&net.store, &reciprocity_chaincode::tx_id(&tx.payload)).unwrap());
    assert_eq!(net.block(vec![tx]).results[0].code, Code::Expired);
}

#[test]
fn a_vote_at_exactly_the_end_time_is_too_late() {
    let mut net = net3();
    let governor = net.club("harbour").governor;
    let proposal =
        net.ok(&governor, body::create_proposal(HOUR_MS, Action::Resolution("Noon".into())));
    net.advance_ms(HOUR_MS - 1);
    assert_eq!(net.run(&governor, body::cast_vote(&proposal, Yes)), Code::Ok);
    net.advance_ms(1);
    let alpine = net.club("alpine").governor;
    assert_eq!(net.run(&alpine, body::cast_vote(&proposal, Yes)), Code::ProposalClosed);
    let stored = query::proposal(&net.store, &proposal).unwrap().unwrap();
    assert_eq!(stored.status, ProposalStatus::Rejected); // 1 of 3 misses the 50% quorum
}

#[test]
fn a_visit_can_be_voided_at_exactly_24_hours_but_not_a_millisecond_later() {
    let mut net = net3();
    let terms = net.terms(&["full"], 4, 48);
    net.agree("harbour", "alpine", &terms);
    let member = net.register_member("harbour", "full");
    let desk = net.club("alpine").front_desk;
    let first = net.ok(&desk, body::record_visit(&member, 0));
    let second = net.ok(&desk, body::record_visit(&member, 0)); // same block time
    net.advance_ms(DAY_MS);
    assert_eq!(net.run(&desk, body::void_visit(&first)), Code::Ok);
    net.advance_ms(1);
    assert_eq!(net.run(&desk, body::void_visit(&second)), Code::VoidWindowPassed);
}

#[test]
fn the_yearly_allowance_starts_again_at_new_year_in_the_hosts_offset() {
    let mut net = Net::new(&[("harbour", 0), ("union", -300)]);
    let terms = net.terms(&["full"], 1, 1);
    net.agree("harbour", "union", &terms);
    let member = net.register_member("harbour", "full");
    let desk = net.club("union").front_desk;
    // 2026-12-31 20:00 in union (UTC-5) = 2027-01-01 01:00 UTC.
    net.set_time(20_819, 1);
    assert_eq!(net.run(&desk, body::record_visit(&member, 0)), Code::Ok);
    // 2027-01-01 06:00 UTC = 01:00 on New Year's Day in union: a new year there.
    net.advance_ms(5 * HOUR_MS);
    assert_eq!(net.run(&desk, body::record_visit(&member, 0)), Code::Ok);
}

#[test]
fn an_update_to_the_current_values_is_an_empty_update() {
    let mut net = net3();
    let member = net.register_member("harbour", "full");
    let registrar = net.club("harbour").registrar;
    assert_eq!(
        net.run(
            &registrar,
            body::update_member(&member, Some(wire::MemberStatus::Active), Some("full"), None)
        ),
        Code::EmptyUpdate
    );
}

#[test]
fn a_block_time_beyond_year_9999_is_refused_before_anything_is_written() {
    let net = net3();
    let mut store = net.store.clone();
    let ctx = BlockContext {
        chain_id: CHAIN_ID.into(),
        height: net.height + 1,
        timestamp_ms: TIMESTAMP_MS_MAX + 1,
    };
    assert!(matches!(
        apply_block(&mut store, &ctx, &[]),
        Err(ChaincodeError::InvalidBlockContext(_))
    ));
    assert_eq!(store, net.store);
    let ok = BlockContext { timestamp_ms: TIMESTAMP_MS_MAX, ..ctx };
    assert!(apply_block(&mut store, &ok, &[]).is_ok());
}

#[test]
fn blackout_and_introduction_ranges_include_both_end_days() {
    let mut net = net3();
    let today = net.today();
    let mut terms = net.terms(&["full"], 10, 100);
    terms.blackouts = vec![wire::DayRange { first_day: today + 1, last_day: today + 2 }];
    terms.introduction_required = true;
    net.agree("harbour", "union", &terms);
    let member = net.register_member("harbour", "full");
    let registrar = net.club("harbour").registrar;
    net.ok(&registrar, body::issue_introduction(&member, "union", today, today + 3));
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(net.visit_check("union", &member, 0).code);
        net.advance_ms(DAY_MS);
    }
    assert_eq!(
        codes,
        [Code::Ok, Code::Blackout, Code::Blackout, Code::Ok, Code::IntroductionRequired]
    );
}
