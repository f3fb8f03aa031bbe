//! Member cards end to end on the chaincode: the rules that enroll, rotate
//! and revoke a club's card key and record each card, and the door's verdict
//! (`reciprocity_sdk::card::judge`) on credentials signed with those keys,
//! read from the resulting ledger as any node would.

use reciprocity_chaincode::{CardKeyId, ClubId, MemberId, ValidationCode as Code, query};
use reciprocity_sdk::card::{self, CardRefusal, SignedCard};
use reciprocity_sdk::keys::Keypair;
use reciprocity_sdk::tx::body;
use reciprocity_sdk::wire;
use reciprocity_tests::{CHAIN_ID, Net, key};

fn net() -> Net {
    Net::new(&[("harbour", 0), ("alpine", 60)])
}

fn harbour_id() -> ClubId {
    ClubId::parse("harbour").unwrap()
}

/// Enrolls `card_key` as harbour's card key.
fn enroll(net: &mut Net, card_key: &Keypair) {
    let admin = net.club("harbour").admin;
    net.ok(&admin, body::enroll_card_key(card_key, CHAIN_ID, &harbour_id()));
}

/// Issues a card to `member` under `card_key` and returns its credential,
/// signed as the home node signs it: from the ledger's record.
fn issue(net: &mut Net, member: &MemberId, card_key: &Keypair) -> String {
    let registrar = net.club("harbour").registrar;
    net.ok(&registrar, body::issue_card(member, &CardKeyId::of(&card_key.public_key())));
    let record = query::member_card(&net.store, member).unwrap().expect("card recorded");
    card::sign(&record.claims(), card_key)
}

/// The door's verdict on `text` at any node holding this ledger.
fn door(net: &Net, text: &str) -> Result<(), CardRefusal> {
    let card = SignedCard::decode(text)?;
    let key = query::card_key(&net.store, &card.key_id).unwrap();
    let recorded = query::member_card(&net.store, &card.claims.member_id).unwrap();
    card::judge(&card, key.as_ref(), recorded.as_ref(), net.today())
}

#[test]
fn a_printed_card_admits_until_a_newer_card_of_the_member_is_printed() {
    let mut net = net();
    let cards = key("harbour-cards-1");
    enroll(&mut net, &cards);
    let member = net.register_member("harbour", "full");
    let first = issue(&mut net, &member, &cards);
    assert_eq!(door(&net, &first), Ok(()));
    assert_eq!(SignedCard::decode(&first).unwrap().claims.serial, 1);
    let second = issue(&mut net, &member, &cards);
    assert_eq!(SignedCard::decode(&second).unwrap().claims.serial, 2);
    assert_eq!(door(&net, &second), Ok(()));
    assert_eq!(door(&net, &first), Err(CardRefusal::Replaced { serial: 1, current: 2 }));
}

#[test]
fn rotating_the_card_key_keeps_old_cards_valid_and_revoking_it_does_not() {
    let mut net = net();
    let (old_key, new_key) = (key("harbour-cards-2026"), key("harbour-cards-2027"));
    enroll(&mut net, &old_key);
    let member = net.register_member("harbour", "full");
    let old_card = issue(&mut net, &member, &old_key);
    enroll(&mut net, &new_key);
    let old_id = CardKeyId::of(&old_key.public_key());
    let retired = query::card_key(&net.store, &old_id).unwrap().unwrap();
    assert!(retired.retired_height.is_some() && retired.revoked_height.is_none());
    assert_eq!(door(&net, &old_card), Ok(()), "a retired key's cards stay valid");
    // The retired key signs no new card: the ledger names the current key.
    let registrar = net.club("harbour").registrar;
    assert_eq!(net.run(&registrar, body::issue_card(&member, &old_id)), Code::CardKeyNotCurrent);
    let admin = net.club("harbour").admin;
    net.ok(&admin, body::revoke_card_key(&old_key.public_key()));
    assert_eq!(
        door(&net, &old_card),
        Err(CardRefusal::KeyRevoked {
            club: reciprocity_chaincode::ClubId::parse("harbour").unwrap()
        })
    );
    let new_card = issue(&mut net, &member, &new_key);
    assert_eq!(door(&net, &new_card), Ok(()));
    // Revoking the current key leaves the club without one.
    net.ok(&admin, body::revoke_card_key(&new_key.public_key()));
    assert!(query::current_card_key(&net.store, &harbour_id()).unwrap().is_none());
    let new_id = CardKeyId::of(&new_key.public_key());
    assert_eq!(net.run(&registrar, body::issue_card(&member, &new_id)), Code::NoCardKey);
}

#[test]
fn a_card_past_its_valid_until_is_refused_even_after_the_member_renews() {
    let mut net = net();
    let cards = key("harbour-cards");
    enroll(&mut net, &cards);
    let member = net.register_member("harbour", "full");
    let text = issue(&mut net, &member, &cards);
    let valid_until = SignedCard::decode(&text).unwrap().claims.valid_until_day;
    let registrar = net.club("harbour").registrar;
    net.ok(&registrar, body::update_member(&member, None, None, Some(valid_until + 365)));
    assert_eq!(door(&net, &text), Ok(()), "a renewal does not replace the card");
    net.set_time(valid_until + 1, 12);
    assert_eq!(door(&net, &text), Err(CardRefusal::Expired { valid_until_day: valid_until }));
}

#[test]
fn only_the_home_registrar_issues_and_only_to_an_active_member() {
    let mut net = net();
    let cards = key("harbour-cards");
    enroll(&mut net, &cards);
    let id = CardKeyId::of(&cards.public_key());
    let member = net.register_member("harbour", "full");
    let (alpine, harbour) = (net.club("alpine"), net.club("harbour"));
    assert_eq!(net.run(&alpine.registrar, body::issue_card(&member, &id)), Code::NotHomeClub);
    assert_eq!(net.run(&harbour.front_desk, body::issue_card(&member, &id)), Code::MissingRole);
    assert_eq!(
        net.run(&harbour.registrar, body::issue_card(&MemberId([7; 16]), &id)),
        Code::UnknownMember
    );
    let suspended = Some(wire::MemberStatus::Suspended);
    net.ok(&harbour.registrar, body::update_member(&member, suspended, None, None));
    assert_eq!(net.run(&harbour.registrar, body::issue_card(&member, &id)), Code::MemberNotActive);
    // Another club's key cannot be revoked, nor enrolled by a registrar.
    assert_eq!(
        net.run(&alpine.admin, body::revoke_card_key(&cards.public_key())),
        Code::NotOwnClub
    );
    let other = key("alpine-cards");
    let alpine_id = ClubId::parse("alpine").unwrap();
    assert_eq!(
        net.run(&alpine.registrar, body::enroll_card_key(&other, CHAIN_ID, &alpine_id)),
        Code::MissingRole
    );
}

#[test]
fn a_key_has_one_job_card_key_staff_identity_or_node_key() {
    let mut net = net();
    let harbour = net.club("harbour");
    let cards = key("harbour-cards");
    enroll(&mut net, &cards);
    assert_eq!(
        net.run(&harbour.admin, body::enroll_identity(&cards.public_key(), &[wire::Role::Admin])),
        Code::CardKeyExists
    );
    assert_eq!(
        net.run(&harbour.admin, body::enroll_card_key(&harbour.registrar, CHAIN_ID, &harbour_id())),
        Code::IdentityExists
    );
    assert_eq!(
        net.run(&harbour.admin, body::enroll_card_key(&harbour.node_key, CHAIN_ID, &harbour_id())),
        Code::NodeKeyInUse
    );
    // A card key cannot sign transactions: it is no identity.
    assert_eq!(
        net.run(&cards, body::register_member(&MemberId([1; 16]), "full", 30_000)),
        Code::UnknownSigner
    );
}

#[test]
fn a_card_signed_by_a_key_the_ledger_does_not_know_is_refused() {
    let mut net = net();
    let cards = key("harbour-cards");
    enroll(&mut net, &cards);
    let member = net.register_member("harbour", "full");
    let genuine = issue(&mut net, &member, &cards);
    let record = query::member_card(&net.store, &member).unwrap().unwrap();
    // A forger signs the genuine claims with its own key.
    let forged = card::sign(&record.claims(), &key("forger"));
    let genuine_card = SignedCard::decode(&genuine).unwrap();
    let forged_card = SignedCard::decode(&forged).unwrap();
    assert_ne!(forged_card.key_id, genuine_card.key_id);
    assert_eq!(door(&net, &forged), Err(CardRefusal::UnknownKey));
    assert!(forged_card.verify_signature(&cards.public_key()).is_err());
}

#[test]
fn nobody_enrolls_a_key_it_does_not_hold_nor_replays_another_clubs_proof() {
    let mut net = net();
    let (alpine, harbour_club) = (net.club("alpine"), net.club("harbour"));
    // A key named in an admission proposal is public; without its private
    // half no club can enroll it as a card key to block the admission.
    let public_only = key("a candidate club's key");
    let mut forged = body::enroll_card_key(&key("the forger's own key"), CHAIN_ID, &harbour_id());
    if let wire::tx_payload::Body::EnrollCardKey(e) = &mut forged {
        e.public_key = public_only.public_key().0.to_vec();
    }
    assert_eq!(net.run(&harbour_club.admin, forged), Code::CardKeyProofInvalid);
    // Harbour's genuine proof, replayed by alpine, is for harbour only.
    let cards = key("harbour-cards");
    let proof = body::enroll_card_key(&cards, CHAIN_ID, &harbour_id());
    assert_eq!(net.run(&alpine.admin, proof.clone()), Code::CardKeyProofInvalid);
    // And for this chain only.
    let other_chain = body::enroll_card_key(&cards, "another-chain", &harbour_id());
    assert_eq!(net.run(&harbour_club.admin, other_chain), Code::CardKeyProofInvalid);
    assert_eq!(net.run(&harbour_club.admin, proof), Code::Ok);
    assert_eq!(query::card_keys_of(&net.store, &harbour_id()).unwrap().len(), 1);
    assert!(query::card_keys_of(&net.store, &ClubId::parse("alpine").unwrap()).unwrap().is_empty());
}
