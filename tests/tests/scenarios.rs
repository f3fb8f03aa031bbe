//! Scenarios in plain words: what clubs, front desks, registrars and governors
//! see when they use the ledger.

use reciprocity_chaincode::{
    ClubId, ClubStatus, ProposalStatus, TxId, ValidationCode as Code, query,
};
use reciprocity_proto::v1 as wire;
use reciprocity_sdk::tx::body;
use reciprocity_tests::{DAY_MS, HOUR_MS, Net, TestClub};
use wire::VoteChoice::{Abstain, No, Yes};
use wire::create_proposal::Action;

fn three_clubs() -> Net {
    Net::new(&[("harbour", 0), ("alpine", 60), ("union", -300)])
}

fn id(text: &str) -> ClubId {
    ClubId::parse(text).unwrap()
}

fn propose(net: &mut Net, by: &str, action: Action) -> TxId {
    let governor = net.club(by).governor;
    net.ok(&governor, body::create_proposal(2 * DAY_MS, action))
}

fn vote(net: &mut Net, by: &str, proposal: &TxId, choice: wire::VoteChoice) -> Code {
    let governor = net.club(by).governor;
    net.run(&governor, body::cast_vote(proposal, choice))
}

fn status(net: &Net, proposal: &TxId) -> ProposalStatus {
    query::proposal(&net.store, proposal).unwrap().unwrap().status
}

#[test]
fn four_visit_days_a_month_then_refused_on_the_fifth_and_allowed_again_next_month() {
    let mut net = three_clubs();
    let terms = net.terms(&["full"], 4, 48);
    net.agree("harbour", "alpine", &terms);
    let member = net.register_member("harbour", "full");
    let desk = net.club("alpine").front_desk;
    net.set_time(20_458 + 5, 12); // 2026-01-10
    for _ in 0..4 {
        assert_eq!(net.run(&desk, body::record_visit(&member, 0)), Code::Ok);
        net.advance_ms(DAY_MS);
    }
    assert_eq!(net.run(&desk, body::record_visit(&member, 0)), Code::MonthlyQuotaExceeded);
    let check = net.visit_check("alpine", &member, 0);
    assert_eq!(check.code, Code::MonthlyQuotaExceeded);
    assert_eq!(check.allowance.unwrap().month_days_remaining(), 0);
    assert_eq!(check.allowance.unwrap().year_days_remaining(), 44);
    net.set_time(20_454 + 31 + 2, 12); // 2026-02-03
    assert_eq!(net.run(&desk, body::record_visit(&member, 0)), Code::Ok);
}

#[test]
fn several_check_ins_on_one_day_are_one_visit_day() {
    let mut net = three_clubs();
    let terms = net.terms(&["full"], 1, 1);
    net.agree("harbour", "alpine", &terms);
    let member = net.register_member("harbour", "full");
    let desk = net.club("alpine").front_desk;
    for _ in 0..3 {
        assert_eq!(net.run(&desk, body::record_visit(&member, 0)), Code::Ok);
        net.advance_ms(HOUR_MS);
    }
    let allowance = net.visit_check("alpine", &member, 0).allowance.unwrap();
    assert_eq!((allowance.month_days_used, allowance.year_days_used), (1, 1));
    assert!(allowance.today_already_counted);
    net.advance_ms(DAY_MS);
    assert_eq!(net.run(&desk, body::record_visit(&member, 0)), Code::MonthlyQuotaExceeded);
}

#[test]
fn visit_days_are_counted_in_the_host_clubs_utc_offset() {
    let mut net = three_clubs();
    let terms = net.terms(&["full"], 1, 12);
    net.agree("harbour", "alpine", &terms); // alpine is UTC+1
    let member = net.register_member("harbour", "full");
    let desk = net.club("alpine").front_desk;
    // 2026-01-31 22:30 UTC is 23:30 in alpine: still January there.
    net.set_time(20_454 + 30, 22);
    net.advance_ms(30 * 60_000);
    assert_eq!(net.run(&desk, body::record_visit(&member, 0)), Code::Ok);
    // 23:30 UTC is already 2026-02-01 in alpine: a new month there.
    net.advance_ms(HOUR_MS);
    assert_eq!(net.visit_check("alpine", &member, 0).local_day, 20_454 + 31);
    assert_eq!(net.run(&desk, body::record_visit(&member, 0)), Code::Ok);
}

#[test]
fn club_b_front_desk_cannot_record_a_visit_at_club_a() {
    let mut net = three_clubs();
    let terms = net.terms(&["full"], 4, 48);
    net.agree("harbour", "alpine", &terms);
    let member = net.register_member("harbour", "full");
    // The host is always the signer's club: union's desk can only record at
    // union, which has no agreement with harbour.
    let union_desk = net.club("union").front_desk;
    assert_eq!(net.run(&union_desk, body::record_visit(&member, 0)), Code::NoAgreement);
    let allowance = net.visit_check("alpine", &member, 0).allowance.unwrap();
    assert_eq!(allowance.month_days_used, 0);
    // Nor can union void alpine's visit.
    let alpine_desk = net.club("alpine").front_desk;
    let visit = net.ok(&alpine_desk, body::record_visit(&member, 0));
    assert_eq!(net.run(&union_desk, body::void_visit(&visit)), Code::NotHostClub);
}

#[test]
fn voiding_a_visit_gives_the_visit_day_back() {
    let mut net = three_clubs();
    let terms = net.terms(&["full"], 1, 12);
    net.agree("harbour", "alpine", &terms);
    let member = net.register_member("harbour", "full");
    let desk = net.club("alpine").front_desk;
    let first = net.ok(&desk, body::record_visit(&member, 0));
    let second = net.ok(&desk, body::record_visit(&member, 0));
    net.ok(&desk, body::void_visit(&first));
    // Still one check-in today: the day stays counted.
    assert!(net.visit_check("alpine", &member, 0).allowance.unwrap().today_already_counted);
    net.ok(&desk, body::void_visit(&second));
    let allowance = net.visit_check("alpine", &member, 0).allowance.unwrap();
    assert_eq!(allowance.month_days_used, 0);
    assert!(!allowance.today_already_counted);
    let visit = query::visit(&net.store, &first).unwrap().unwrap();
    assert!(visit.voided.is_some());
    net.advance_ms(DAY_MS);
    assert_eq!(net.run(&desk, body::record_visit(&member, 0)), Code::Ok);
}

#[test]
fn admitting_club_d_passes_with_two_of_three_yes_and_d_can_then_enrol_identities() {
    let mut net = three_clubs();
    let delta = TestClub::new("delta", 120);
    net.clubs.push(delta.clone());
    let proposal = propose(&mut net, "harbour", Action::AdmitClub(delta.spec()));
    // D cannot act before it is admitted.
    assert_eq!(
        net.run(
            &delta.club_key,
            body::enroll_identity(&delta.admin.public_key(), &[wire::Role::Admin])
        ),
        Code::UnknownSigner
    );
    assert_eq!(vote(&mut net, "harbour", &proposal, Yes), Code::Ok);
    assert_eq!(status(&net, &proposal), ProposalStatus::Open);
    assert_eq!(vote(&mut net, "alpine", &proposal, Yes), Code::Ok);
    // 2 of 3 yes: the third vote cannot change the outcome, so it closed and executed.
    assert_eq!(status(&net, &proposal), ProposalStatus::Passed);
    let club = query::club(&net.store, &id("delta")).unwrap().unwrap();
    assert_eq!(club.status, ClubStatus::Active);
    assert!(query::active_nodes(&net.store).unwrap().iter().any(|(c, _)| c == &id("delta")));
    net.enroll_staff(&delta);
    assert_eq!(vote(&mut net, "union", &proposal, No), Code::ProposalClosed);
}

#[test]
fn a_proposal_without_quorum_is_rejected_at_its_end_time() {
    let mut net = three_clubs();
    let proposal = propose(&mut net, "harbour", Action::Resolution("Open the bar at noon".into()));
    assert_eq!(vote(&mut net, "harbour", &proposal, Yes), Code::Ok);
    net.advance_ms(2 * DAY_MS);
    let outcome = net.block(vec![]);
    let closed = outcome.block_events.iter().find(|e| e.kind == "proposal.closed").unwrap();
    assert_eq!(closed.attr("outcome"), Some("rejected"));
    assert_eq!(closed.attr("reason"), Some("EndTimeReached"));
    assert_eq!(status(&net, &proposal), ProposalStatus::Rejected);
}

#[test]
fn a_later_vote_replaces_the_earlier_one_while_the_vote_is_open() {
    let mut net = Net::new(&[("a", 0), ("b", 0), ("c", 0), ("d", 0), ("e", 0)]);
    let proposal = propose(&mut net, "a", Action::Resolution("Adopt a common guest policy".into()));
    assert_eq!(vote(&mut net, "a", &proposal, Yes), Code::Ok);
    assert_eq!(vote(&mut net, "a", &proposal, No), Code::Ok);
    let tally = query::proposal(&net.store, &proposal).unwrap().unwrap().tally();
    assert_eq!((tally.yes, tally.no, tally.abstain, tally.electorate), (0, 1, 0, 5));
    assert_eq!(vote(&mut net, "b", &proposal, Abstain), Code::Ok);
    assert_eq!(vote(&mut net, "c", &proposal, Yes), Code::Ok);
    assert_eq!(vote(&mut net, "d", &proposal, Yes), Code::Ok);
    // yes 2, no 1, abstain 1: e voting no would make a tie, so still open.
    assert_eq!(status(&net, &proposal), ProposalStatus::Open);
    assert_eq!(vote(&mut net, "e", &proposal, Yes), Code::Ok);
    assert_eq!(status(&net, &proposal), ProposalStatus::Passed);
}

#[test]
fn removing_a_club_needs_the_larger_removal_threshold() {
    let mut net = Net::new(&[("a", 0), ("b", 0), ("c", 0), ("d", 0)]);
    let proposal = propose(&mut net, "a", Action::RemoveClub("d".into()));
    // Electorate a, b, c (d does not vote on its own removal): 2 of 3 yes is
    // 66.66%, not more than the 66.67% removal threshold.
    assert_eq!(vote(&mut net, "a", &proposal, Yes), Code::Ok);
    assert_eq!(vote(&mut net, "b", &proposal, Yes), Code::Ok);
    assert_eq!(vote(&mut net, "c", &proposal, No), Code::Ok);
    assert_eq!(status(&net, &proposal), ProposalStatus::Rejected);
    assert_eq!(query::club(&net.store, &id("d")).unwrap().unwrap().status, ClubStatus::Active);
    let again = propose(&mut net, "b", Action::RemoveClub("d".into()));
    for club in ["a", "b", "c"] {
        assert_eq!(vote(&mut net, club, &again, Yes), Code::Ok);
    }
    assert_eq!(status(&net, &again), ProposalStatus::Passed);
    assert_eq!(query::club(&net.store, &id("d")).unwrap().unwrap().status, ClubStatus::Removed);
    assert!(!query::active_nodes(&net.store).unwrap().iter().any(|(c, _)| c == &id("d")));
    let d_registrar = net.club("d").registrar;
    assert_eq!(
        net.run(
            &d_registrar,
            body::register_member(&reciprocity_chaincode::MemberId([1; 16]), "full", 30_000)
        ),
        Code::SignerClubNotActive
    );
}

#[test]
fn a_suspended_club_cannot_act_and_its_members_cannot_visit_until_reinstated() {
    let mut net = three_clubs();
    let terms = net.terms(&["full"], 4, 48);
    net.agree("harbour", "alpine", &terms);
    let member = net.register_member("alpine", "full");
    let suspend = propose(&mut net, "harbour", Action::SuspendClub("alpine".into()));
    vote(&mut net, "harbour", &suspend, Yes);
    vote(&mut net, "union", &suspend, Yes);
    assert_eq!(
        query::club(&net.store, &id("alpine")).unwrap().unwrap().status,
        ClubStatus::Suspended
    );
    let harbour_desk = net.club("harbour").front_desk;
    assert_eq!(net.run(&harbour_desk, body::record_visit(&member, 0)), Code::ClubNotActive);
    let alpine_gov = net.club("alpine").governor;
    assert_eq!(
        net.run(&alpine_gov, body::create_proposal(DAY_MS, Action::ReinstateClub("alpine".into()))),
        Code::SignerClubNotActive
    );
    let reinstate = propose(&mut net, "union", Action::ReinstateClub("alpine".into()));
    vote(&mut net, "union", &reinstate, Yes);
    vote(&mut net, "harbour", &reinstate, Yes);
    assert_eq!(net.run(&harbour_desk, body::record_visit(&member, 0)), Code::Ok);
}

#[test]
fn an_amendment_takes_effect_from_its_start_date() {
    let mut net = three_clubs();
    let terms = net.terms(&["full"], 1, 12);
    net.agree("harbour", "alpine", &terms);
    let member = net.register_member("harbour", "full");
    let desk = net.club("alpine").front_desk;
    let mut amended = terms.clone();
    amended.visit_days_per_month_max = 3;
    amended.valid_from_day = net.today() + 2;
    let (h_admin, a_admin) = (net.club("harbour").admin, net.club("alpine").admin);
    net.ok(&h_admin, body::amend_agreement("alpine", &amended));
    let hash = reciprocity_sdk::terms::hash(&reciprocity_sdk::terms::encode(&amended));
    net.ok(&a_admin, body::accept_agreement("harbour", hash));
    assert_eq!(net.run(&desk, body::record_visit(&member, 0)), Code::Ok);
    net.advance_ms(DAY_MS);
    assert_eq!(net.run(&desk, body::record_visit(&member, 0)), Code::MonthlyQuotaExceeded);
    net.advance_ms(DAY_MS);
    assert_eq!(net.run(&desk, body::record_visit(&member, 0)), Code::Ok);
    let agreement = query::agreement(&net.store, &id("alpine"), &id("harbour")).unwrap().unwrap();
    assert_eq!(agreement.version_on(net.today()).unwrap().version, 2);
}

#[test]
fn termination_takes_effect_after_the_notice_period() {
    let mut net = three_clubs();
    let terms = net.terms(&["full"], 31, 366); // 30 days' notice
    net.agree("harbour", "alpine", &terms);
    let member = net.register_member("harbour", "full");
    let desk = net.club("alpine").front_desk;
    let admin = net.club("harbour").admin;
    net.ok(&admin, body::terminate_agreement("alpine"));
    net.advance_ms(29 * DAY_MS);
    assert_eq!(net.run(&desk, body::record_visit(&member, 0)), Code::Ok);
    net.advance_ms(DAY_MS);
    assert_eq!(net.run(&desk, body::record_visit(&member, 0)), Code::AgreementTerminated);
    // After termination the clubs may start a new agreement.
    let fresh = net.terms(&["full"], 2, 10);
    net.agree("alpine", "harbour", &fresh);
    assert_eq!(net.run(&desk, body::record_visit(&member, 0)), Code::Ok);
}

#[test]
fn an_agreement_suspended_by_both_sides_needs_both_to_resume() {
    let mut net = three_clubs();
    let terms = net.terms(&["full"], 4, 48);
    net.agree("harbour", "alpine", &terms);
    let member = net.register_member("harbour", "full");
    let desk = net.club("alpine").front_desk;
    let (h, a) = (net.club("harbour").admin, net.club("alpine").admin);
    net.ok(&h, body::suspend_agreement("alpine"));
    net.ok(&a, body::suspend_agreement("harbour"));
    net.ok(&h, body::resume_agreement("alpine"));
    assert_eq!(net.run(&desk, body::record_visit(&member, 0)), Code::AgreementSuspended);
    net.ok(&a, body::resume_agreement("harbour"));
    assert_eq!(net.run(&desk, body::record_visit(&member, 0)), Code::Ok);
}

#[test]
fn a_letter_of_introduction_of_the_current_date_admits_the_member_that_day_only() {
    let mut net = three_clubs();
    let mut terms = net.terms(&["full"], 4, 48);
    terms.introduction_required = true;
    net.agree("harbour", "alpine", &terms);
    let member = net.register_member("harbour", "full");
    let (registrar, desk) = (net.club("harbour").registrar, net.club("alpine").front_desk);
    let today = net.visit_check("alpine", &member, 0).local_day;
    let before = net.visit_check("alpine", &member, 0);
    assert_eq!(before.code, Code::IntroductionRequired);
    let need = |required, present| Some(query::IntroductionNeed { required, present });
    assert_eq!(before.introduction, need(true, false), "the check says no letter covers today");
    net.ok(&registrar, body::issue_introduction(&member, "alpine", today, today));
    assert_eq!(net.visit_check("alpine", &member, 0).introduction, need(true, true));
    assert_eq!(net.run(&desk, body::record_visit(&member, 0)), Code::Ok);
    net.advance_ms(DAY_MS);
    assert_eq!(net.run(&desk, body::record_visit(&member, 0)), Code::IntroductionRequired);
}

#[test]
fn a_counter_offer_replaces_the_pending_offer_and_only_exact_terms_can_be_accepted() {
    let mut net = three_clubs();
    let first = net.terms(&["full"], 4, 48);
    let counter = net.terms(&["full"], 2, 24);
    let (h, a) = (net.club("harbour").admin, net.club("alpine").admin);
    net.ok(&h, body::propose_agreement("alpine", &first));
    net.ok(&a, body::propose_agreement("harbour", &counter));
    let first_hash = reciprocity_sdk::terms::hash(&reciprocity_sdk::terms::encode(&first));
    assert_eq!(
        net.run(&a, body::accept_agreement("harbour", first_hash)),
        Code::CannotAcceptOwnOffer
    );
    assert_eq!(net.run(&h, body::accept_agreement("alpine", first_hash)), Code::TermsHashMismatch);
    let counter_hash = reciprocity_sdk::terms::hash(&reciprocity_sdk::terms::encode(&counter));
    assert_eq!(net.run(&h, body::accept_agreement("alpine", counter_hash)), Code::Ok);
    let agreement = query::agreement(&net.store, &id("harbour"), &id("alpine")).unwrap().unwrap();
    assert_eq!(agreement.versions[0].terms.visit_days_per_month_max, 2);
}

#[test]
fn a_policy_change_applies_to_proposals_created_after_it() {
    let mut net = three_clubs();
    let stricter = wire::Policy { quorum_bp: 10_000, ..reciprocity_tests::test_policy() };
    let change = propose(&mut net, "harbour", Action::ChangePolicy(stricter));
    let open_before = propose(&mut net, "harbour", Action::Resolution("Before".into()));
    vote(&mut net, "harbour", &change, Yes);
    vote(&mut net, "alpine", &change, Yes);
    assert_eq!(query::policy(&net.store).unwrap().unwrap().quorum_bp, 10_000);
    let after = propose(&mut net, "harbour", Action::Resolution("After".into()));
    for p in [&open_before, &after] {
        vote(&mut net, "harbour", p, Yes);
        vote(&mut net, "alpine", p, Yes);
    }
    // The earlier proposal keeps its 50% quorum and passes; the later one needs all three.
    assert_eq!(status(&net, &open_before), ProposalStatus::Passed);
    assert_eq!(status(&net, &after), ProposalStatus::Open);
    vote(&mut net, "union", &after, Yes);
    assert_eq!(status(&net, &after), ProposalStatus::Passed);
}

#[test]
fn a_passed_proposal_that_can_no_longer_be_executed_records_why() {
    let mut net = three_clubs();
    let delta = TestClub::new("delta", 0);
    let first = propose(&mut net, "harbour", Action::AdmitClub(delta.spec()));
    let second = propose(&mut net, "alpine", Action::AdmitClub(delta.spec()));
    for p in [&first, &second] {
        vote(&mut net, "harbour", p, Yes);
        vote(&mut net, "alpine", p, Yes);
    }
    let second = query::proposal(&net.store, &second).unwrap().unwrap();
    assert_eq!(second.status, ProposalStatus::Passed);
    assert_eq!(second.execution_failure, Some(Code::ClubExists));
}

#[test]
fn the_eligibility_check_writes_nothing() {
    let mut net = three_clubs();
    let terms = net.terms(&["full"], 4, 48);
    net.agree("harbour", "alpine", &terms);
    let member = net.register_member("harbour", "full");
    let before = net.store.clone();
    let check = net.visit_check("alpine", &member, 0);
    assert_eq!(check.code, Code::Ok);
    assert_eq!(check.home_club, Some(id("harbour")));
    assert_eq!(check.allowance.unwrap().month_days_remaining(), 4);
    assert_eq!(net.store, before);
}

#[test]
fn a_revoked_front_desk_key_can_no_longer_record_visits() {
    let mut net = three_clubs();
    let terms = net.terms(&["full"], 4, 48);
    net.agree("harbour", "alpine", &terms);
    let member = net.register_member("harbour", "full");
    let alpine = net.club("alpine");
    net.ok(&alpine.admin, body::revoke_identity(&alpine.front_desk.public_key()));
    assert_eq!(net.run(&alpine.front_desk, body::record_visit(&member, 0)), Code::IdentityRevoked);
    // The club key holds every role and still can.
    assert_eq!(net.run(&alpine.club_key, body::record_visit(&member, 0)), Code::Ok);
}
