//! Property tests: random sequences of transactions against a simple
//! reference model. The model is written independently of the chaincode (no
//! shared rule code); after every step the chaincode's validation code and
//! the observable state must match the model.

use std::collections::BTreeMap;

use proptest::prelude::*;
use reciprocity_chaincode::calendar;
use reciprocity_chaincode::{
    ClubId, MemberId, ProposalStatus, TxId, ValidationCode as Code, query,
};
use reciprocity_proto::v1 as wire;
use reciprocity_sdk::tx::body;
use reciprocity_tests::{DAY_MS, HOUR_MS, Net, test_policy};

// ---------------------------------------------------------------------------
// Visits, voids and member standing
// ---------------------------------------------------------------------------

const CLUBS: [(&str, i32); 3] = [("aa", 0), ("bb", 60), ("cc", -300)];

#[derive(Debug, Clone, Copy)]
struct ModelTerms {
    tiers: &'static [&'static str],
    per_month: u32,
    per_year: u32,
    guests: u32,
}

/// aa–bb and bb–cc have agreements; aa–cc has none.
fn model_terms(a: usize, b: usize) -> Option<ModelTerms> {
    match (a.min(b), a.max(b)) {
        (0, 1) => Some(ModelTerms { tiers: &["full"], per_month: 2, per_year: 5, guests: 1 }),
        (1, 2) => {
            Some(ModelTerms { tiers: &["full", "junior"], per_month: 3, per_year: 4, guests: 0 })
        }
        _ => None,
    }
}

/// Members: (home club index, tier).
const MEMBERS: [(usize, &str); 5] =
    [(0, "full"), (0, "junior"), (1, "full"), (2, "junior"), (2, "full")];

#[derive(Debug, Clone)]
enum Op {
    Visit { desk: usize, member: usize, guests: u32 },
    Void { desk: usize, visit: usize },
    Advance { hours: u64 },
    SetActive { registrar: usize, member: usize, active: bool },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..3usize, 0..5usize, 0..3u32).prop_map(|(desk, member, guests)| Op::Visit { desk, member, guests }),
        2 => (0..3usize, 0..64usize).prop_map(|(desk, visit)| Op::Void { desk, visit }),
        3 => (1..80u64).prop_map(|hours| Op::Advance { hours }),
        1 => (0..3usize, 0..5usize, any::<bool>()).prop_map(|(registrar, member, active)| Op::SetActive { registrar, member, active }),
    ]
}

#[derive(Debug, Clone)]
struct ModelVisit {
    id: TxId,
    host: usize,
    member: usize,
    day: u32,
    at_ms: u64,
    voided: bool,
}

#[derive(Debug, Default)]
struct Model {
    active: [bool; 5],
    /// (host, member, local day) -> check-ins
    check_ins: BTreeMap<(usize, usize, u32), u32>,
    visits: Vec<ModelVisit>,
}

fn local_day(now_ms: u64, club: usize) -> u32 {
    let offset_ms = i64::from(CLUBS[club].1) * 60_000;
    u32::try_from((i64::try_from(now_ms).unwrap() + offset_ms) / i64::try_from(DAY_MS).unwrap())
        .unwrap()
}

impl Model {
    /// Distinct visit-days of `member` at `host` in the month and year of `day`.
    fn days_used(&self, host: usize, member: usize, day: u32) -> (u32, u32) {
        let (month, year) = (calendar::month_key(day), calendar::year_of(day));
        let mut used = (0, 0);
        for (&(h, m, d), &n) in &self.check_ins {
            if h == host && m == member && n > 0 {
                used.0 += u32::from(calendar::month_key(d) == month);
                used.1 += u32::from(calendar::year_of(d) == year);
            }
        }
        used
    }

    fn expect_visit(&self, now_ms: u64, host: usize, member: usize, guests: u32) -> Code {
        let (home, tier) = MEMBERS[member];
        if home == host {
            return Code::VisitingOwnClub;
        }
        let Some(terms) = model_terms(host, home) else { return Code::NoAgreement };
        if !self.active[member] {
            return Code::MemberNotActive;
        }
        if !terms.tiers.contains(&tier) {
            return Code::TierNotCovered;
        }
        if guests > terms.guests {
            return Code::TooManyGuests;
        }
        let day = local_day(now_ms, host);
        if self.check_ins.get(&(host, member, day)).copied().unwrap_or(0) > 0 {
            return Code::Ok;
        }
        let (month_used, year_used) = self.days_used(host, member, day);
        if month_used >= terms.per_month {
            return Code::MonthlyQuotaExceeded;
        }
        if year_used >= terms.per_year {
            return Code::YearlyQuotaExceeded;
        }
        Code::Ok
    }
}

fn member_id(index: usize) -> MemberId {
    MemberId([u8::try_from(index).unwrap() + 1; 16])
}

fn visits_world() -> Net {
    let mut net = Net::new(&CLUBS);
    for (a, (club_a, _)) in CLUBS.iter().enumerate() {
        for (b, (club_b, _)) in CLUBS.iter().enumerate().skip(a + 1) {
            if let Some(t) = model_terms(a, b) {
                let mut terms = net.terms(t.tiers, t.per_month, t.per_year);
                terms.guests_per_visit_max = t.guests;
                net.agree(club_a, club_b, &terms);
            }
        }
    }
    for (i, (home, tier)) in MEMBERS.iter().enumerate() {
        let registrar = net.club(CLUBS[*home].0).registrar;
        let until = net.today() + 3_000;
        net.ok(&registrar, body::register_member(&member_id(i), tier, until));
    }
    net
}

fn club_id(index: usize) -> ClubId {
    ClubId::parse(CLUBS[index].0).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn visits_voids_and_standing_match_the_reference_model(ops in prop::collection::vec(op(), 1..60)) {
        let mut net = visits_world();
        let mut model = Model { active: [true; 5], ..Model::default() };
        for op in ops {
            match op {
                Op::Visit { desk, member, guests } => {
                    let expected = model.expect_visit(net.now_ms, desk, member, guests);
                    let key = net.club(CLUBS[desk].0).front_desk;
                    let outcome = net.submit(&key, body::record_visit(&member_id(member), guests));
                    prop_assert_eq!(outcome.code, expected, "{:?}", op);
                    if expected == Code::Ok {
                        let day = local_day(net.now_ms, desk);
                        *model.check_ins.entry((desk, member, day)).or_default() += 1;
                        model.visits.push(ModelVisit { id: outcome.tx_id, host: desk, member, day, at_ms: net.now_ms, voided: false });
                    }
                }
                Op::Void { desk, visit } => {
                    if model.visits.is_empty() {
                        continue;
                    }
                    let index = visit % model.visits.len();
                    let v = model.visits[index].clone();
                    let expected = if v.host != desk {
                        Code::NotHostClub
                    } else if v.voided {
                        Code::VisitAlreadyVoided
                    } else if net.now_ms > v.at_ms + DAY_MS {
                        Code::VoidWindowPassed
                    } else {
                        Code::Ok
                    };
                    let key = net.club(CLUBS[desk].0).front_desk;
                    prop_assert_eq!(net.run(&key, body::void_visit(&v.id)), expected, "{:?}", op);
                    if expected == Code::Ok {
                        model.visits[index].voided = true;
                        *model.check_ins.get_mut(&(v.host, v.member, v.day)).unwrap() -= 1;
                    }
                }
                Op::Advance { hours } => net.advance_ms(hours * HOUR_MS),
                Op::SetActive { registrar, member, active } => {
                    let expected = if MEMBERS[member].0 != registrar {
                        Code::NotHomeClub
                    } else if model.active[member] == active {
                        Code::EmptyUpdate
                    } else {
                        Code::Ok
                    };
                    let status = if active { wire::MemberStatus::Active } else { wire::MemberStatus::Suspended };
                    let key = net.club(CLUBS[registrar].0).registrar;
                    prop_assert_eq!(net.run(&key, body::update_member(&member_id(member), Some(status), None, None)), expected);
                    if expected == Code::Ok {
                        model.active[member] = active;
                    }
                }
            }
            // Observable state matches the model, and quotas are never exceeded.
            for (m, (home, _)) in MEMBERS.iter().enumerate() {
                let stored = query::member(&net.store, &member_id(m)).unwrap().unwrap();
                prop_assert_eq!(stored.home_club, club_id(*home));
                prop_assert_eq!(stored.status == reciprocity_chaincode::MemberStatus::Active, model.active[m]);
                for host in 0..3 {
                    let Some(terms) = model_terms(host, *home).filter(|_| host != *home) else { continue };
                    let check = query::check_visit(&net.store, net.now_ms, &club_id(host), &member_id(m), 0).unwrap();
                    let allowance = check.allowance.expect("terms in effect");
                    let (month_used, year_used) = model.days_used(host, m, check.local_day);
                    prop_assert_eq!((allowance.month_days_used, allowance.year_days_used), (month_used, year_used));
                    prop_assert!(allowance.month_days_used <= terms.per_month);
                    prop_assert!(allowance.year_days_used <= terms.per_year);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Governance
// ---------------------------------------------------------------------------

const VOTERS: [(&str, i32); 5] = [("v0", 0), ("v1", 0), ("v2", 0), ("v3", 0), ("v4", 0)];

/// The model's own pass rule, in exact rational arithmetic.
fn model_passes(
    yes: u64,
    no: u64,
    abstain: u64,
    electorate: u64,
    quorum_bp: u64,
    threshold_bp: u64,
) -> bool {
    let turnout = yes + no + abstain;
    // turnout / electorate >= quorum_bp / 10000  and  yes / (yes + no) > threshold_bp / 10000
    turnout * 10_000 >= quorum_bp * electorate
        && yes + no > 0
        && yes * 10_000 > threshold_bp * (yes + no)
}

/// The outcome if it can no longer change, found by trying every choice
/// (yes, no, abstain, no vote) of every club that has not voted.
fn model_decided(
    votes: &BTreeMap<usize, u8>,
    electorate: u64,
    quorum_bp: u64,
    threshold_bp: u64,
) -> Option<bool> {
    let missing = VOTERS.len() - votes.len();
    let mut outcomes = [false; 2];
    for assignment in 0..4usize.pow(u32::try_from(missing).unwrap()) {
        let mut counts = [0u64; 3];
        for choice in votes.values() {
            counts[usize::from(*choice)] += 1;
        }
        let mut rest = assignment;
        for _ in 0..missing {
            if rest % 4 < 3 {
                counts[rest % 4] += 1;
            }
            rest /= 4;
        }
        outcomes[usize::from(model_passes(
            counts[0],
            counts[1],
            counts[2],
            electorate,
            quorum_bp,
            threshold_bp,
        ))] = true;
    }
    match outcomes {
        [true, false] => Some(false),
        [false, true] => Some(true),
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn governance_outcomes_match_a_direct_tally(
        quorum_bp in 1..=10_000u32,
        threshold_bp in 0..10_000u32,
        votes in prop::collection::vec((0..5usize, 0..3u8), 0..14),
    ) {
        let policy = wire::Policy { quorum_bp, threshold_bp, removal_threshold_bp: threshold_bp, ..test_policy() };
        let mut net = Net::with_policy(&VOTERS, policy);
        let proposer = net.club("v0").governor;
        let proposal = net.ok(&proposer, body::create_proposal(DAY_MS, wire::create_proposal::Action::Resolution("Motion".into())));
        let (q, t, n) = (u64::from(quorum_bp), u64::from(threshold_bp), VOTERS.len() as u64);
        let mut cast: BTreeMap<usize, u8> = BTreeMap::new();
        let mut closed: Option<bool> = None;
        for (voter, choice) in votes {
            let wire_choice = [wire::VoteChoice::Yes, wire::VoteChoice::No, wire::VoteChoice::Abstain][usize::from(choice)];
            let key = net.club(VOTERS[voter].0).governor;
            let code = net.run(&key, body::cast_vote(&proposal, wire_choice));
            if closed.is_some() {
                prop_assert_eq!(code, Code::ProposalClosed);
                continue;
            }
            prop_assert_eq!(code, Code::Ok);
            cast.insert(voter, choice);
            closed = model_decided(&cast, n, q, t);
            let stored = query::proposal(&net.store, &proposal).unwrap().unwrap();
            // One vote per club.
            let tally = stored.tally();
            prop_assert_eq!(u64::from(tally.yes + tally.no + tally.abstain), cast.len() as u64);
            let expected_status = match closed {
                None => ProposalStatus::Open,
                Some(true) => ProposalStatus::Passed,
                Some(false) => ProposalStatus::Rejected,
            };
            prop_assert_eq!(stored.status, expected_status);
        }
        // At the end time, an open vote closes on the direct tally.
        net.advance_ms(DAY_MS);
        net.block(vec![]);
        let stored = query::proposal(&net.store, &proposal).unwrap().unwrap();
        let count = |c: u8| cast.values().filter(|v| **v == c).count() as u64;
        let direct = closed.unwrap_or_else(|| model_passes(count(0), count(1), count(2), n, q, t));
        prop_assert_eq!(stored.status == ProposalStatus::Passed, direct);
        prop_assert!(stored.status != ProposalStatus::Open);
    }
}

// ---------------------------------------------------------------------------
// Ownership: no club changes another club's members or agreements
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn no_club_changes_another_clubs_members_or_agreements(
        actions in prop::collection::vec((0..3usize, 0..6u8, 0..5usize), 1..30)
    ) {
        let mut net = visits_world();
        for (actor, kind, target) in actions {
            let club = net.club(CLUBS[actor].0);
            let other = CLUBS[(actor + 1 + target % 2) % 3].0;
            let member = member_id(target);
            let foreign_member = MEMBERS[target].0 != actor;
            let before_agreements: Vec<_> = (0..3)
                .flat_map(|a| (0..3).map(move |b| (a, b)))
                .filter(|(a, b)| a < b && *a != actor && *b != actor)
                .map(|(a, b)| query::agreement(&net.store, &club_id(a), &club_id(b)).unwrap())
                .collect();
            let before_member = query::member(&net.store, &member).unwrap();
            let body = match kind {
                0 => body::update_member(&member, Some(wire::MemberStatus::Resigned), None, None),
                1 => body::update_member(&member, None, Some("gold"), None),
                2 => body::suspend_agreement(other),
                3 => body::terminate_agreement(other),
                4 => body::issue_introduction(&member, other, net.today(), net.today()),
                _ => body::resume_agreement(other),
            };
            // Every key of the acting club tries.
            for signer in [&club.club_key, &club.admin, &club.registrar] {
                net.run(signer, body.clone());
            }
            if foreign_member && kind <= 1 {
                prop_assert_eq!(query::member(&net.store, &member).unwrap(), before_member);
            }
            let after_agreements: Vec<_> = (0..3)
                .flat_map(|a| (0..3).map(move |b| (a, b)))
                .filter(|(a, b)| a < b && *a != actor && *b != actor)
                .map(|(a, b)| query::agreement(&net.store, &club_id(a), &club_id(b)).unwrap())
                .collect();
            prop_assert_eq!(before_agreements, after_agreements);
        }
    }
}
