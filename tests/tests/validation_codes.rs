//! One case per validation code: each code is reachable, and each case pins
//! the rule that produces it. The table is checked for coverage: adding a code
//! without a case fails here.

use std::collections::BTreeSet;

use reciprocity_chaincode::{MemberId, TxId, ValidationCode as Code};
use reciprocity_proto::v1 as wire;
use reciprocity_sdk::terms;
use reciprocity_sdk::tx::{TxBuilder, body, sign_payload, sign_payload_bytes};
use reciprocity_tests::{CHAIN_ID, DAY_MS, HOUR_MS, Net, TestClub, key, test_policy};
use wire::create_proposal::Action;
use wire::tx_payload::Body;

/// The standard world: harbour (UTC), alpine (UTC+1), union (UTC-5); an
/// agreement harbour–alpine for tier "full", 4 days a month, 48 a year, no guests.
struct Fixture {
    net: Net,
    h_full: MemberId,
    h_junior: MemberId,
}

fn fixture() -> Fixture {
    let mut net = Net::new(&[("harbour", 0), ("alpine", 60), ("union", -300)]);
    let terms = net.terms(&["full"], 4, 48);
    net.agree("harbour", "alpine", &terms);
    let h_full = net.register_member("harbour", "full");
    let h_junior = net.register_member("harbour", "junior");
    Fixture { net, h_full, h_junior }
}

type Case = (&'static str, Code, fn(&mut Fixture) -> Code);

fn c(f: &Fixture, id: &str) -> TestClub {
    f.net.club(id)
}

/// Harbour offers `terms` to union and union accepts.
fn harbour_union(f: &mut Fixture, terms: &wire::AgreementTerms) {
    f.net.agree("harbour", "union", terms);
}

/// Union and harbour vote to suspend alpine; returns the proposal id.
fn suspend_alpine(f: &mut Fixture) -> TxId {
    let (union, harbour) = (c(f, "union"), c(f, "harbour"));
    let id = f
        .net
        .ok(&union.governor, body::create_proposal(HOUR_MS, Action::SuspendClub("alpine".into())));
    f.net.ok(&harbour.governor, body::cast_vote(&id, wire::VoteChoice::Yes));
    f.net.ok(&union.governor, body::cast_vote(&id, wire::VoteChoice::Yes));
    id
}

fn record_at_alpine(f: &mut Fixture, member: MemberId, guests: u32) -> Code {
    let desk = c(f, "alpine").front_desk;
    f.net.run(&desk, body::record_visit(&member, guests))
}

fn record_at_union(f: &mut Fixture) -> Code {
    let desk = c(f, "union").front_desk;
    let member = f.h_full;
    f.net.run(&desk, body::record_visit(&member, 0))
}

/// Enrolls `cards` as `club`'s card key, with its proof of possession.
fn enroll_cards(cards: &reciprocity_sdk::keys::Keypair, club: &str) -> Body {
    body::enroll_card_key(cards, CHAIN_ID, &reciprocity_chaincode::ClubId::parse(club).unwrap())
}

fn new_club_spec(id: &str) -> wire::ClubSpec {
    TestClub::new(id, 0).spec()
}

const CASES: &[Case] = &[
    ("a visit within the terms is recorded", Code::Ok, |f| record_at_alpine(f, f.h_full, 0)),
    ("payload bytes that are not protobuf", Code::MalformedPayload, |f| {
        let tx = sign_payload_bytes(&c(f, "harbour").registrar, vec![0xff, 0xff, 0xff]);
        f.net.block(vec![tx]).results[0].code
    }),
    ("a payload without a body", Code::MissingBody, |f| {
        let mut payload =
            TxBuilder::new(CHAIN_ID, f.net.now_ms).payload(body::record_visit(&f.h_full, 0));
        payload.body = None;
        let tx = sign_payload(&c(f, "alpine").front_desk, &payload);
        f.net.block(vec![tx]).results[0].code
    }),
    ("a payload for another chain", Code::WrongChain, |f| {
        let tx = TxBuilder::new("other-chain", f.net.now_ms)
            .sign(&c(f, "alpine").front_desk, body::record_visit(&f.h_full, 0));
        f.net.block(vec![tx]).results[0].code
    }),
    ("a payload past its expiry", Code::Expired, |f| {
        let tx = TxBuilder::new(CHAIN_ID, f.net.now_ms - 2 * HOUR_MS)
            .validity_ms(HOUR_MS)
            .sign(&c(f, "alpine").front_desk, body::record_visit(&f.h_full, 0));
        f.net.block(vec![tx]).results[0].code
    }),
    ("a payload created ten minutes in the future", Code::NotYetValid, |f| {
        let tx = TxBuilder::new(CHAIN_ID, f.net.now_ms + 10 * 60_000)
            .sign(&c(f, "alpine").front_desk, body::record_visit(&f.h_full, 0));
        f.net.block(vec![tx]).results[0].code
    }),
    ("a payload valid for two days under a one-day policy", Code::ValidityWindowTooLong, |f| {
        let tx = TxBuilder::new(CHAIN_ID, f.net.now_ms)
            .validity_ms(2 * DAY_MS)
            .sign(&c(f, "alpine").front_desk, body::record_visit(&f.h_full, 0));
        f.net.block(vec![tx]).results[0].code
    }),
    ("the same signed transaction twice", Code::DuplicateTx, |f| {
        let tx = f.net.tx(&c(f, "alpine").front_desk, body::record_visit(&f.h_full, 0));
        assert_eq!(f.net.block(vec![tx.clone()]).results[0].code, Code::Ok);
        f.net.block(vec![tx]).results[0].code
    }),
    ("a signature with one bit flipped", Code::BadSignature, |f| {
        let mut tx = f.net.tx(&c(f, "alpine").front_desk, body::record_visit(&f.h_full, 0));
        tx.signature[10] ^= 1;
        f.net.block(vec![tx]).results[0].code
    }),
    ("anything but genesis on an empty chain", Code::GenesisRequired, |f| {
        let mut empty = Net::empty(&[("harbour", 0)]);
        let club = empty.club("harbour");
        let _ = f;
        empty.run(
            &club.club_key,
            body::enroll_identity(&key("x").public_key(), &[wire::Role::Admin]),
        )
    }),
    ("a second genesis", Code::GenesisAlreadyApplied, |f| {
        let spec = new_club_spec("zeta");
        f.net.run(&c(f, "harbour").club_key, body::genesis(vec![spec], test_policy()))
    }),
    ("genesis signed by a key that is no founding club's", Code::InvalidGenesis, |f| {
        let mut empty = Net::empty(&[("harbour", 0)]);
        let spec = empty.club("harbour").spec();
        let _ = f;
        empty.run(&key("stranger"), body::genesis(vec![spec], test_policy()))
    }),
    ("a signer nobody enrolled", Code::UnknownSigner, |f| {
        f.net.run(&key("stranger"), body::register_member(&MemberId([9; 16]), "full", 30_000))
    }),
    ("a revoked registrar registers a member", Code::IdentityRevoked, |f| {
        let h = c(f, "harbour");
        f.net.ok(&h.admin, body::revoke_identity(&h.registrar.public_key()));
        f.net.run(&h.registrar, body::register_member(&MemberId([9; 16]), "full", 30_000))
    }),
    ("the registrar of a suspended club registers a member", Code::SignerClubNotActive, |f| {
        suspend_alpine(f);
        f.net.run(
            &c(f, "alpine").registrar,
            body::register_member(&MemberId([9; 16]), "full", 30_000),
        )
    }),
    ("a front desk registers a member", Code::MissingRole, |f| {
        f.net.run(
            &c(f, "harbour").front_desk,
            body::register_member(&MemberId([9; 16]), "full", 30_000),
        )
    }),
    ("harbour's admin revokes alpine's registrar", Code::NotOwnClub, |f| {
        let target = c(f, "alpine").registrar.public_key();
        f.net.run(&c(f, "harbour").admin, body::revoke_identity(&target))
    }),
    ("an offer to a club that does not exist", Code::UnknownClub, |f| {
        let terms = f.net.terms(&["full"], 4, 48);
        f.net.run(&c(f, "harbour").admin, body::propose_agreement("nowhere", &terms))
    }),
    ("an offer to a suspended club", Code::ClubNotActive, |f| {
        suspend_alpine(f);
        let terms = f.net.terms(&["full"], 4, 48);
        f.net.run(&c(f, "union").admin, body::propose_agreement("alpine", &terms))
    }),
    ("enrolling a key another club already enrolled", Code::IdentityExists, |f| {
        let taken = c(f, "alpine").registrar.public_key();
        f.net.run(&c(f, "harbour").admin, body::enroll_identity(&taken, &[wire::Role::Registrar]))
    }),
    ("revoking a key nobody enrolled", Code::UnknownIdentity, |f| {
        f.net.run(&c(f, "harbour").admin, body::revoke_identity(&key("stranger").public_key()))
    }),
    ("enrolling a 31-byte key", Code::InvalidPublicKey, |f| {
        let raw =
            Body::EnrollIdentity(wire::EnrollIdentity { public_key: vec![7; 31], roles: vec![1] });
        f.net.run(&c(f, "harbour").admin, raw)
    }),
    ("enrolling the small-order identity point", Code::WeakKey, |f| {
        let mut weak = vec![0u8; 32];
        weak[0] = 1;
        let raw = Body::EnrollIdentity(wire::EnrollIdentity { public_key: weak, roles: vec![1] });
        f.net.run(&c(f, "harbour").admin, raw)
    }),
    ("revoking the club key", Code::CannotRevokeClubKey, |f| {
        let club_key = c(f, "harbour").club_key.public_key();
        f.net.run(&c(f, "harbour").admin, body::revoke_identity(&club_key))
    }),
    ("enrolling with no role", Code::InvalidRoles, |f| {
        f.net.run(&c(f, "harbour").admin, body::enroll_identity(&key("new").public_key(), &[]))
    }),
    ("registering a member id twice", Code::MemberExists, |f| {
        let id = f.h_full;
        f.net.run(&c(f, "harbour").registrar, body::register_member(&id, "full", 30_000))
    }),
    ("updating a member nobody registered", Code::UnknownMember, |f| {
        f.net.run(
            &c(f, "harbour").registrar,
            body::update_member(
                &MemberId([3; 16]),
                Some(wire::MemberStatus::Suspended),
                None,
                None,
            ),
        )
    }),
    ("a 15-byte member id", Code::InvalidMemberId, |f| {
        let raw = Body::RegisterMember(wire::RegisterMember {
            member_id: vec![1; 15],
            tier: "full".into(),
            valid_until_day: 30_000,
        });
        f.net.run(&c(f, "harbour").registrar, raw)
    }),
    ("a tier with capitals and a space", Code::InvalidTier, |f| {
        f.net.run(
            &c(f, "harbour").registrar,
            body::register_member(&MemberId([4; 16]), "Full Member", 30_000),
        )
    }),
    ("a member status number that does not exist", Code::InvalidStatus, |f| {
        let raw = Body::UpdateMember(wire::UpdateMember {
            member_id: f.h_full.0.to_vec(),
            status: 99,
            tier: None,
            valid_until_day: None,
        });
        f.net.run(&c(f, "harbour").registrar, raw)
    }),
    ("a validity date of day 0", Code::InvalidDate, |f| {
        f.net.run(&c(f, "harbour").registrar, body::register_member(&MemberId([4; 16]), "full", 0))
    }),
    ("an update that names no change", Code::EmptyUpdate, |f| {
        let id = f.h_full;
        f.net.run(&c(f, "harbour").registrar, body::update_member(&id, None, None, None))
    }),
    ("alpine's registrar suspends a harbour member", Code::NotHomeClub, |f| {
        let id = f.h_full;
        f.net.run(
            &c(f, "alpine").registrar,
            body::update_member(&id, Some(wire::MemberStatus::Suspended), None, None),
        )
    }),
    ("terms granting fewer days a year than a month", Code::InvalidTerms, |f| {
        let mut terms = f.net.terms(&["full"], 4, 48);
        terms.visit_days_per_year_max = 3;
        f.net.run(&c(f, "harbour").admin, body::propose_agreement("union", &terms))
    }),
    ("a second agreement while one is in force", Code::AgreementExists, |f| {
        let terms = f.net.terms(&["full"], 2, 10);
        f.net.run(&c(f, "harbour").admin, body::propose_agreement("alpine", &terms))
    }),
    ("suspending an agreement that was never made", Code::NoAgreement, |f| {
        f.net.run(&c(f, "harbour").admin, body::suspend_agreement("union"))
    }),
    ("accepting when nothing was offered", Code::NoPendingOffer, |f| {
        f.net.run(&c(f, "harbour").admin, body::accept_agreement("union", [1; 32]))
    }),
    ("accepting with the hash of other terms", Code::TermsHashMismatch, |f| {
        let terms = f.net.terms(&["full"], 4, 48);
        f.net.ok(&c(f, "harbour").admin, body::propose_agreement("union", &terms));
        f.net.run(&c(f, "union").admin, body::accept_agreement("harbour", [1; 32]))
    }),
    ("accepting one's own offer", Code::CannotAcceptOwnOffer, |f| {
        let terms = f.net.terms(&["full"], 4, 48);
        f.net.ok(&c(f, "harbour").admin, body::propose_agreement("union", &terms));
        let hash = terms::hash(&terms::encode(&terms));
        f.net.run(&c(f, "harbour").admin, body::accept_agreement("union", hash))
    }),
    ("an agreement with oneself", Code::AgreementWithSelf, |f| {
        let terms = f.net.terms(&["full"], 4, 48);
        f.net.run(&c(f, "harbour").admin, body::propose_agreement("harbour", &terms))
    }),
    ("suspending twice from the same side", Code::AgreementAlreadySuspended, |f| {
        f.net.ok(&c(f, "harbour").admin, body::suspend_agreement("alpine"));
        f.net.run(&c(f, "harbour").admin, body::suspend_agreement("alpine"))
    }),
    ("resuming what this side did not suspend", Code::AgreementNotSuspended, |f| {
        f.net.ok(&c(f, "alpine").admin, body::suspend_agreement("harbour"));
        f.net.run(&c(f, "harbour").admin, body::resume_agreement("alpine"))
    }),
    ("terminating twice", Code::AgreementTerminating, |f| {
        f.net.ok(&c(f, "harbour").admin, body::terminate_agreement("alpine"));
        f.net.run(&c(f, "alpine").admin, body::terminate_agreement("harbour"))
    }),
    ("a visit after the notice period ran out", Code::AgreementTerminated, |f| {
        f.net.ok(&c(f, "harbour").admin, body::terminate_agreement("alpine"));
        f.net.advance_ms(31 * DAY_MS);
        record_at_alpine(f, f.h_full, 0)
    }),
    ("a visit before the terms start", Code::AgreementNotInEffect, |f| {
        let mut terms = f.net.terms(&["full"], 4, 48);
        terms.valid_from_day = f.net.today() + 10;
        harbour_union(f, &terms);
        record_at_union(f)
    }),
    ("a visit after the terms ended", Code::AgreementExpired, |f| {
        let mut terms = f.net.terms(&["full"], 4, 48);
        terms.valid_from_day = f.net.today() - 30;
        terms.valid_until_day = f.net.today() - 2;
        harbour_union(f, &terms);
        record_at_union(f)
    }),
    ("a visit while the host suspends the agreement", Code::AgreementSuspended, |f| {
        f.net.ok(&c(f, "alpine").admin, body::suspend_agreement("harbour"));
        record_at_alpine(f, f.h_full, 0)
    }),
    ("a visit on a blackout day", Code::Blackout, |f| {
        let mut terms = f.net.terms(&["full"], 4, 48);
        let today = f.net.today();
        terms.blackouts = vec![wire::DayRange { first_day: today - 1, last_day: today + 1 }];
        harbour_union(f, &terms);
        record_at_union(f)
    }),
    ("a visit by a suspended member", Code::MemberNotActive, |f| {
        let id = f.h_full;
        f.net.ok(
            &c(f, "harbour").registrar,
            body::update_member(&id, Some(wire::MemberStatus::Suspended), None, None),
        );
        record_at_alpine(f, id, 0)
    }),
    ("a visit after the membership lapsed", Code::MemberExpired, |f| {
        let id = f.h_full;
        let yesterday = f.net.today() - 1;
        f.net.ok(&c(f, "harbour").registrar, body::update_member(&id, None, None, Some(yesterday)));
        record_at_alpine(f, id, 0)
    }),
    ("a junior member where only full members are covered", Code::TierNotCovered, |f| {
        record_at_alpine(f, f.h_junior, 0)
    }),
    ("a visit without the required letter of introduction", Code::IntroductionRequired, |f| {
        let mut terms = f.net.terms(&["full"], 4, 48);
        terms.introduction_required = true;
        harbour_union(f, &terms);
        record_at_union(f)
    }),
    ("a second visit-day in a month allowing one", Code::MonthlyQuotaExceeded, |f| {
        let terms = f.net.terms(&["full"], 1, 12);
        harbour_union(f, &terms);
        assert_eq!(record_at_union(f), Code::Ok);
        f.net.advance_ms(DAY_MS);
        record_at_union(f)
    }),
    ("a second visit-day in a year allowing one", Code::YearlyQuotaExceeded, |f| {
        let terms = f.net.terms(&["full"], 1, 1);
        harbour_union(f, &terms);
        assert_eq!(record_at_union(f), Code::Ok);
        f.net.advance_ms(40 * DAY_MS);
        record_at_union(f)
    }),
    ("a guest where none are allowed", Code::TooManyGuests, |f| record_at_alpine(f, f.h_full, 1)),
    ("harbour's front desk records a harbour member", Code::VisitingOwnClub, |f| {
        let id = f.h_full;
        f.net.run(&c(f, "harbour").front_desk, body::record_visit(&id, 0))
    }),
    ("voiding a visit that does not exist", Code::UnknownVisit, |f| {
        f.net.run(&c(f, "alpine").front_desk, body::void_visit(&TxId([5; 32])))
    }),
    ("harbour voids alpine's visit", Code::NotHostClub, |f| {
        let id = f.h_full;
        let visit = f.net.ok(&c(f, "alpine").front_desk, body::record_visit(&id, 0));
        f.net.run(&c(f, "harbour").front_desk, body::void_visit(&visit))
    }),
    ("voiding a visit 25 hours later", Code::VoidWindowPassed, |f| {
        let id = f.h_full;
        let visit = f.net.ok(&c(f, "alpine").front_desk, body::record_visit(&id, 0));
        f.net.advance_ms(25 * HOUR_MS);
        f.net.run(&c(f, "alpine").front_desk, body::void_visit(&visit))
    }),
    ("voiding a visit twice", Code::VisitAlreadyVoided, |f| {
        let id = f.h_full;
        let visit = f.net.ok(&c(f, "alpine").front_desk, body::record_visit(&id, 0));
        f.net.ok(&c(f, "alpine").front_desk, body::void_visit(&visit));
        f.net.run(&c(f, "alpine").front_desk, body::void_visit(&visit))
    }),
    ("introducing a member to its own club", Code::InvalidIntroduction, |f| {
        let (id, today) = (f.h_full, f.net.today());
        f.net
            .run(&c(f, "harbour").registrar, body::issue_introduction(&id, "harbour", today, today))
    }),
    ("a resolution with no text", Code::InvalidProposal, |f| {
        f.net.run(
            &c(f, "harbour").governor,
            body::create_proposal(HOUR_MS, Action::Resolution(String::new())),
        )
    }),
    ("a one-second vote under a one-minute minimum", Code::VotingPeriodOutOfBounds, |f| {
        f.net.run(
            &c(f, "harbour").governor,
            body::create_proposal(1_000, Action::Resolution("Hello".into())),
        )
    }),
    ("voting on a proposal that does not exist", Code::UnknownProposal, |f| {
        f.net.run(&c(f, "harbour").governor, body::cast_vote(&TxId([8; 32]), wire::VoteChoice::Yes))
    }),
    ("voting after the outcome was decided", Code::ProposalClosed, |f| {
        let id = suspend_alpine(f);
        f.net.run(&c(f, "harbour").governor, body::cast_vote(&id, wire::VoteChoice::No))
    }),
    ("the subject of a suspension votes on it", Code::NotInElectorate, |f| {
        let id = f.net.ok(
            &c(f, "union").governor,
            body::create_proposal(HOUR_MS, Action::SuspendClub("alpine".into())),
        );
        f.net.run(&c(f, "alpine").governor, body::cast_vote(&id, wire::VoteChoice::No))
    }),
    ("a vote that is neither yes, no nor abstain", Code::InvalidVote, |f| {
        let id = f.net.ok(
            &c(f, "union").governor,
            body::create_proposal(HOUR_MS, Action::Resolution("Hello".into())),
        );
        let raw = Body::CastVote(wire::CastVote { proposal_id: id.0.to_vec(), choice: 0 });
        f.net.run(&c(f, "harbour").governor, raw)
    }),
    ("admitting a club id that exists", Code::ClubExists, |f| {
        let mut spec = new_club_spec("zeta");
        spec.club_id = "alpine".into();
        f.net
            .run(&c(f, "harbour").governor, body::create_proposal(HOUR_MS, Action::AdmitClub(spec)))
    }),
    ("a policy with zero quorum", Code::InvalidPolicy, |f| {
        let policy = wire::Policy { quorum_bp: 0, ..test_policy() };
        f.net.run(
            &c(f, "harbour").governor,
            body::create_proposal(HOUR_MS, Action::ChangePolicy(policy)),
        )
    }),
    ("reinstating a club that is active", Code::ClubStateConflict, |f| {
        f.net.run(
            &c(f, "harbour").governor,
            body::create_proposal(HOUR_MS, Action::ReinstateClub("alpine".into())),
        )
    }),
    ("admitting a club with another club's node key", Code::NodeKeyInUse, |f| {
        let mut spec = new_club_spec("zeta");
        spec.nodes[0].node_key = c(f, "harbour").node_key.public_key().0.to_vec();
        f.net
            .run(&c(f, "harbour").governor, body::create_proposal(HOUR_MS, Action::AdmitClub(spec)))
    }),
    ("admitting a club whose id has capitals and a space", Code::InvalidClub, |f| {
        let mut spec = new_club_spec("zeta");
        spec.club_id = "Zeta Club".into();
        f.net
            .run(&c(f, "harbour").governor, body::create_proposal(HOUR_MS, Action::AdmitClub(spec)))
    }),
    ("enrolling a card key twice", Code::CardKeyExists, |f| {
        let cards = key("harbour-cards");
        f.net.ok(&c(f, "harbour").admin, enroll_cards(&cards, "harbour"));
        f.net.run(&c(f, "harbour").admin, enroll_cards(&cards, "harbour"))
    }),
    ("revoking a card key nobody enrolled", Code::UnknownCardKey, |f| {
        f.net
            .run(&c(f, "harbour").admin, body::revoke_card_key(&key("nobody's cards").public_key()))
    }),
    ("revoking a card key twice", Code::CardKeyRevoked, |f| {
        let cards = key("harbour-cards");
        f.net.ok(&c(f, "harbour").admin, enroll_cards(&cards, "harbour"));
        f.net.ok(&c(f, "harbour").admin, body::revoke_card_key(&cards.public_key()));
        f.net.run(&c(f, "harbour").admin, body::revoke_card_key(&cards.public_key()))
    }),
    ("issuing a card before the club has a card key", Code::NoCardKey, |f| {
        let key_id = reciprocity_chaincode::CardKeyId::of(&key("harbour-cards").public_key());
        f.net.run(&c(f, "harbour").registrar, body::issue_card(&f.h_full, &key_id))
    }),
    ("issuing a card under a retired card key", Code::CardKeyNotCurrent, |f| {
        let (old, new) = (key("cards-2026"), key("cards-2027"));
        f.net.ok(&c(f, "harbour").admin, enroll_cards(&old, "harbour"));
        f.net.ok(&c(f, "harbour").admin, enroll_cards(&new, "harbour"));
        let old_id = reciprocity_chaincode::CardKeyId::of(&old.public_key());
        f.net.run(&c(f, "harbour").registrar, body::issue_card(&f.h_full, &old_id))
    }),
    (
        "enrolling a card key whose proof was made for another club",
        Code::CardKeyProofInvalid,
        |f| {
            // Alpine replays harbour's proof of a key it does not hold.
            f.net.run(&c(f, "alpine").admin, enroll_cards(&key("harbour-cards"), "harbour"))
        },
    ),
];

#[test]
fn every_validation_code_is_produced_by_its_rule() {
    let base = fixture();
    let mut failures = Vec::new();
    for (name, expected, case) in CASES {
        let mut f = Fixture { net: base.net.clone(), ..base };
        let got = case(&mut f);
        if got != *expected {
            failures.push(format!("{name}: expected {expected}, got {got}"));
        }
    }
    assert!(failures.is_empty(), "cases failed:\n{}", failures.join("\n"));
}

#[test]
fn the_table_covers_every_validation_code() {
    let covered: BTreeSet<Code> = CASES.iter().map(|(_, code, _)| *code).collect();
    let missing: Vec<&str> =
        Code::ALL.iter().filter(|c| !covered.contains(c)).map(|c| c.name()).collect();
    assert!(missing.is_empty(), "codes without a case: {missing:?}");
}

fn domain_entries(store: &reciprocity_chaincode::MemStore) -> Vec<(String, Vec<u8>)> {
    store
        .entries()
        .iter()
        .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), v.clone()))
        .filter(|(k, _)| {
            !(k.starts_with("meta/") || k.starts_with("tx/") || k.starts_with("txexp/"))
        })
        .collect()
}

#[test]
fn a_refused_transaction_changes_no_domain_state() {
    // For every failing case whose last block holds only the refused
    // transaction, domain state before and after that block is identical
    // (only the used-id bookkeeping may change).
    let base = fixture();
    for (name, expected, case) in CASES {
        if *expected == Code::Ok {
            continue;
        }
        let mut f = Fixture { net: base.net.clone(), ..base };
        f.net.keep_previous_state = true;
        case(&mut f);
        // Cases on a chain of their own (empty-chain rules) leave this one untouched.
        let Some(before) = f.net.previous_state.as_ref() else {
            continue;
        };
        assert_eq!(
            domain_entries(before),
            domain_entries(&f.net.store),
            "{name}: refused transaction changed state"
        );
    }
}
