//! Member-card credentials: the signed text a card's QR code carries.
//!
//! A credential is `RC1:` followed by the Base45 encoding (RFC 9285) of a
//! tagged COSE_Sign1 structure (RFC 9052, CBOR tag 18) whose protected
//! header names the algorithm (EdDSA, -8) and the card key's 8-byte id, and
//! whose payload is a CBOR map of the card's claims with integer keys:
//!
//! | key | claim | CBOR type |
//! | ---: | --- | --- |
//! | 1 | member id | byte string, 16 bytes |
//! | 2 | home club id | text |
//! | 3 | tier | text |
//! | 4 | valid until (days since 1970-01-01) | unsigned |
//! | 5 | issued at (Unix ms, block time of the `IssueCard` transaction) | unsigned |
//! | 6 | card serial | unsigned |
//!
//! The payload must be the canonical encoding of exactly these six entries
//! in key order (shortest integer forms), so each card has one encoding. The
//! signature is Ed25519 over COSE's `Sig_structure` ("Signature1", the
//! protected header, empty external AAD, the payload). Base45 and QR
//! alphanumeric mode share one alphabet, so the text fits a small QR code
//! (about 200 characters: version 8 to 10 at error correction M). No name or
//! other personal data is in it. `docs/member-card.md` describes the format
//! for other implementations.
//!
//! [`judge`] is the door's rule: the key must be enrolled on the ledger for
//! the card's home club and not revoked, the signature must verify, the
//! card must be the member's last one recorded on the ledger, and not past
//! its own valid-until. The member's standing is then checked on the ledger
//! as for any visit.

use coset::cbor::value::Value;
use coset::iana;
use coset::{CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable};
use reciprocity_chaincode::{CardClaims, CardKey, CardKeyId, ClubId, MemberCard, MemberId};

use crate::keys::Keypair;
use crate::{PublicKey, dates};

/// What every credential starts with (version 1 of the format).
pub const PREFIX: &str = "RC1:";

/// Longest credential text accepted, in characters; longer input is refused
/// before decoding.
pub const TEXT_CHARS_MAX: usize = 600;

/// Why a card is refused, in words the front desk can read out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardRefusal {
    /// The text does not start with [`PREFIX`].
    #[error("this is not a Reciprocity member card (its code does not start with {PREFIX})")]
    NotACard,
    /// The text is longer than [`TEXT_CHARS_MAX`].
    #[error("the card's code is {chars} characters long; a member card's is at most {max}")]
    Oversized {
        /// Its length.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// The text does not decode to a well-formed credential.
    #[error("the card's code is damaged or not a member card: {0}")]
    Malformed(String),
    /// No card key with the credential's key id is on the ledger.
    #[error("the card was signed by a key this network does not know")]
    UnknownKey,
    /// The key belongs to another club than the card's home club.
    #[error("the card says it is from {card_club}, but it was signed by {key_club}'s card key")]
    KeyOfOtherClub {
        /// The card's home club.
        card_club: ClubId,
        /// The key's club.
        key_club: ClubId,
    },
    /// The key was revoked.
    #[error(
        "the card was signed by a card key {club} has revoked (compromised); the member needs a new card"
    )]
    KeyRevoked {
        /// The key's club.
        club: ClubId,
    },
    /// The signature does not verify.
    #[error("the card's signature does not verify: the card was altered or forged")]
    BadSignature,
    /// The ledger records no card for the member.
    #[error("the ledger records no card issued to this member")]
    NotIssued,
    /// A newer card was printed.
    #[error(
        "this is card no. {serial}; card no. {current} was printed since, and only the newest card admits"
    )]
    Replaced {
        /// The presented card's serial.
        serial: u32,
        /// The serial on the ledger.
        current: u32,
    },
    /// The claims differ from the card recorded on the ledger.
    #[error("the card does not match the card recorded on the ledger for this member")]
    NotAsRecorded,
    /// Past the card's own valid-until.
    #[error("the card expired on {}; the member needs a new card", dates::format_day(*valid_until_day))]
    Expired {
        /// The card's last valid day.
        valid_until_day: u32,
    },
}

/// A decoded credential: its claims and key id, and the COSE structure
/// whose signature [`SignedCard::verify_signature`] checks.
#[derive(Debug, Clone)]
pub struct SignedCard {
    /// What the card states.
    pub claims: CardClaims,
    /// The id of the card key that signed it.
    pub key_id: CardKeyId,
    sign1: CoseSign1,
}

/// Signs `claims` with the card key `key` and returns the credential text.
pub fn sign(claims: &CardClaims, key: &Keypair) -> String {
    let key_id = CardKeyId::of(&key.public_key());
    let protected =
        HeaderBuilder::new().algorithm(iana::Algorithm::EdDSA).key_id(key_id.0.to_vec()).build();
    let sign1 = CoseSign1Builder::new()
        .protected(protected)
        .payload(encode_claims(claims))
        .create_signature(b"", |to_be_signed| key.sign_bytes(to_be_signed).to_vec())
        .build();
    let bytes = sign1.to_tagged_vec().expect("card: COSE_Sign1 of bytes and a map encodes");
    format!("{PREFIX}{}", base45::encode(&bytes))
}

impl SignedCard {
    /// Decodes credential text (leading white space and a trailing line end
    /// ignored: a space can end Base45 text); checks the format, not the
    /// signature.
    pub fn decode(text: &str) -> Result<SignedCard, CardRefusal> {
        let text = text.trim_start().trim_end_matches(['\r', '\n', '\t']);
        let chars = text.chars().count();
        if chars > TEXT_CHARS_MAX {
            return Err(CardRefusal::Oversized { chars, max: TEXT_CHARS_MAX });
        }
        let body = text.strip_prefix(PREFIX).ok_or(CardRefusal::NotACard)?;
        let malformed = |what: &str| CardRefusal::Malformed(what.to_owned());
        let bytes = base45::decode(body).map_err(|_| malformed("not Base45 text"))?;
        let sign1 = CoseSign1::from_tagged_slice(&bytes)
            .map_err(|_| malformed("not a tagged COSE_Sign1 structure"))?;
        // One card, one encoding: nothing unsigned may ride along.
        if !sign1.unprotected.is_empty() {
            return Err(malformed("it carries an unprotected header"));
        }
        if sign1.clone().to_tagged_vec().ok().as_deref() != Some(bytes.as_slice()) {
            return Err(malformed("its COSE structure is not in the canonical encoding"));
        }
        let expected_alg = Some(coset::Algorithm::Assigned(iana::Algorithm::EdDSA));
        if sign1.protected.header.alg != expected_alg {
            return Err(malformed("its algorithm is not EdDSA"));
        }
        let key_id = CardKeyId::from_slice(&sign1.protected.header.key_id)
            .ok_or_else(|| malformed("its key id is not 8 bytes"))?;
        if sign1.signature.len() != 64 {
            return Err(malformed("its signature is not 64 bytes"));
        }
        let payload = sign1.payload.as_deref().ok_or_else(|| malformed("it carries no claims"))?;
        let claims = decode_claims(payload)?;
        Ok(SignedCard { claims, key_id, sign1 })
    }

    /// Checks the signature against `key` (strict Ed25519).
    pub fn verify_signature(&self, key: &PublicKey) -> Result<(), CardRefusal> {
        let verifying = ed25519_dalek::VerifyingKey::from_bytes(key.as_bytes())
            .map_err(|_| CardRefusal::BadSignature)?;
        self.sign1.verify_signature(b"", |signature, to_be_signed| {
            let signature = ed25519_dalek::Signature::from_slice(signature)
                .map_err(|_| CardRefusal::BadSignature)?;
            verifying.verify_strict(to_be_signed, &signature).map_err(|_| CardRefusal::BadSignature)
        })
    }
}

/// The door's verdict on a decoded card, given what the ledger holds: the
/// card key of the card's key id (`None` when unknown; a record of another
/// key counts as unknown), the member's last recorded card, and the host's
/// local day. The member's standing is checked separately, as for any
/// visit. The verdict is only as good as the ledger records it is given:
/// read them from a node you trust (your own club's).
pub fn judge(
    card: &SignedCard,
    key: Option<&CardKey>,
    recorded: Option<&MemberCard>,
    today_day: u32,
) -> Result<(), CardRefusal> {
    // The record must be the key the card names: its id is the public key's.
    let key = key
        .filter(|k| k.key_id == card.key_id && CardKeyId::of(&k.public_key) == card.key_id)
        .ok_or(CardRefusal::UnknownKey)?;
    if key.club_id != card.claims.home_club {
        return Err(CardRefusal::KeyOfOtherClub {
            card_club: card.claims.home_club.clone(),
            key_club: key.club_id.clone(),
        });
    }
    if key.revoked_height.is_some() {
        return Err(CardRefusal::KeyRevoked { club: key.club_id.clone() });
    }
    card.verify_signature(&key.public_key)?;
    let recorded = recorded.ok_or(CardRefusal::NotIssued)?;
    if card.claims.serial < recorded.serial {
        return Err(CardRefusal::Replaced { serial: card.claims.serial, current: recorded.serial });
    }
    if recorded.claims() != card.claims || recorded.card_key_id != card.key_id {
        return Err(CardRefusal::NotAsRecorded);
    }
    if today_day > card.claims.valid_until_day {
        return Err(CardRefusal::Expired { valid_until_day: card.claims.valid_until_day });
    }
    Ok(())
}

/// Whether `text` looks like a credential rather than a member id (what a
/// front-desk field was given).
pub fn looks_like_card(text: &str) -> bool {
    text.trim_start().starts_with(PREFIX)
}

fn encode_claims(claims: &CardClaims) -> Vec<u8> {
    let map = Value::Map(vec![
        (Value::from(1u8), Value::Bytes(claims.member_id.0.to_vec())),
        (Value::from(2u8), Value::Text(claims.home_club.as_str().to_owned())),
        (Value::from(3u8), Value::Text(claims.tier.clone())),
        (Value::from(4u8), Value::from(claims.valid_until_day)),
        (Value::from(5u8), Value::from(claims.issued_at_ms)),
        (Value::from(6u8), Value::from(claims.serial)),
    ]);
    let mut bytes = Vec::new();
    coset::cbor::ser::into_writer(&map, &mut bytes).expect("card: a CBOR map encodes into memory");
    bytes
}

fn decode_claims(payload: &[u8]) -> Result<CardClaims, CardRefusal> {
    let malformed = |what: &str| CardRefusal::Malformed(format!("its claims {what}"));
    let value: Value =
        coset::cbor::de::from_reader(payload).map_err(|_| malformed("are not CBOR"))?;
    let Value::Map(entries) = value else { return Err(malformed("are not a map")) };
    if entries.len() != 6 {
        return Err(malformed("are not the six a card carries"));
    }
    let entry = |key: u8| -> Result<&Value, CardRefusal> {
        let (label, value) = &entries[usize::from(key - 1)];
        if label.as_integer() != Some(key.into()) {
            return Err(malformed("are not keyed 1 to 6 in order"));
        }
        Ok(value)
    };
    let unsigned = |key: u8, what: &str| -> Result<u64, CardRefusal> {
        entry(key)?
            .as_integer()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| malformed(&format!("hold a {what} that is not an unsigned number")))
    };
    let text = |key: u8, what: &str| -> Result<String, CardRefusal> {
        entry(key)?
            .as_text()
            .map(str::to_owned)
            .ok_or_else(|| malformed(&format!("hold a {what} that is not text")))
    };
    let member_id = entry(1)?
        .as_bytes()
        .and_then(|b| MemberId::from_slice(b))
        .ok_or_else(|| malformed("hold a member id that is not 16 bytes"))?;
    let home_club = ClubId::parse(&text(2, "home club")?)
        .ok_or_else(|| malformed("hold a home club that is not a club id"))?;
    let tier = reciprocity_chaincode::decode::tier(&text(3, "tier")?)
        .map_err(|_| malformed("hold a tier that is not a tier name"))?;
    let valid_until_day = u32::try_from(unsigned(4, "valid-until")?)
        .map_err(|_| malformed("hold a valid-until out of range"))?;
    let issued_at_ms = unsigned(5, "issue time")?;
    let serial = u32::try_from(unsigned(6, "serial")?)
        .map_err(|_| malformed("hold a serial out of range"))?;
    let claims = CardClaims { member_id, home_club, tier, valid_until_day, issued_at_ms, serial };
    // One card, one encoding: anything but the canonical bytes is refused.
    if encode_claims(&claims) != payload {
        return Err(malformed("are not in the canonical encoding"));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use coset::CborSerializable;

    fn key() -> Keypair {
        Keypair::from_seed([9; 32])
    }

    fn claims() -> CardClaims {
        CardClaims {
            member_id: MemberId([0x42; 16]),
            home_club: ClubId::parse("harbour").unwrap(),
            tier: "full".to_owned(),
            valid_until_day: 21_000,
            issued_at_ms: 1_800_000_000_000,
            serial: 3,
        }
    }

    fn card_key(key: &Keypair) -> CardKey {
        CardKey {
            key_id: CardKeyId::of(&key.public_key()),
            public_key: key.public_key(),
            club_id: ClubId::parse("harbour").unwrap(),
            enrolled_height: 2,
            retired_height: None,
            revoked_height: None,
        }
    }

    fn recorded(key: &Keypair) -> MemberCard {
        let c = claims();
        MemberCard {
            member_id: c.member_id,
            home_club: c.home_club,
            serial: c.serial,
            card_key_id: CardKeyId::of(&key.public_key()),
            tier: c.tier,
            valid_until_day: c.valid_until_day,
            issued_at_ms: c.issued_at_ms,
            issued_height: 9,
        }
    }

    /// Re-encodes a credential with its claims map changed by `edit`, keeping
    /// the original signature.
    fn with_payload(text: &str, edit: impl FnOnce(&mut Vec<u8>)) -> String {
        let bytes = base45::decode(text.strip_prefix(PREFIX).unwrap()).unwrap();
        let mut sign1 = CoseSign1::from_tagged_slice(&bytes).unwrap();
        edit(sign1.payload.as_mut().unwrap());
        format!("{PREFIX}{}", base45::encode(sign1.to_tagged_vec().unwrap()))
    }

    #[test]
    fn a_signed_card_decodes_to_its_claims_and_verifies() {
        let text = sign(&claims(), &key());
        assert!(text.starts_with("RC1:"));
        assert!(text.len() < 260, "{} characters", text.len());
        let alphanumeric = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
        assert!(text.chars().all(|c| alphanumeric.contains(c)), "{text}");
        let card = SignedCard::decode(&format!("  {text}\n")).unwrap();
        assert_eq!(card.claims, claims());
        assert_eq!(card.key_id, CardKeyId::of(&key().public_key()));
        card.verify_signature(&key().public_key()).unwrap();
        let (k, r) = (card_key(&key()), recorded(&key()));
        judge(&card, Some(&k), Some(&r), 20_000).unwrap();
        assert_eq!(sign(&claims(), &key()), text, "Ed25519 signing is deterministic");
    }

    #[test]
    fn a_tampered_claim_fails_the_signature() {
        let text = sign(&claims(), &key());
        // The tier "full" becomes "fall": still canonical, no longer signed.
        let tampered = with_payload(&text, |payload| {
            let at = payload.windows(4).position(|w| w == b"full").unwrap();
            payload[at + 1] = b'a';
        });
        let card = SignedCard::decode(&tampered).unwrap();
        assert_eq!(card.claims.tier, "fall");
        assert_eq!(card.verify_signature(&key().public_key()), Err(CardRefusal::BadSignature));
        let (k, r) = (card_key(&key()), recorded(&key()));
        assert_eq!(judge(&card, Some(&k), Some(&r), 20_000), Err(CardRefusal::BadSignature));
    }

    #[test]
    fn a_card_signed_by_another_key_does_not_verify() {
        let forger = Keypair::from_seed([10; 32]);
        let card = SignedCard::decode(&sign(&claims(), &forger)).unwrap();
        assert_eq!(card.verify_signature(&key().public_key()), Err(CardRefusal::BadSignature));
        // Under the forger's own key id the ledger knows no key.
        assert_eq!(judge(&card, None, None, 20_000), Err(CardRefusal::UnknownKey));
    }

    #[test]
    fn an_expired_card_is_refused_after_its_valid_until() {
        let card = SignedCard::decode(&sign(&claims(), &key())).unwrap();
        let (k, r) = (card_key(&key()), recorded(&key()));
        judge(&card, Some(&k), Some(&r), 21_000).unwrap();
        assert_eq!(
            judge(&card, Some(&k), Some(&r), 21_001),
            Err(CardRefusal::Expired { valid_until_day: 21_000 })
        );
    }

    #[test]
    fn a_revoked_signer_is_refused_and_a_retired_one_is_not() {
        let card = SignedCard::decode(&sign(&claims(), &key())).unwrap();
        let r = recorded(&key());
        let retired = CardKey { retired_height: Some(5), ..card_key(&key()) };
        judge(&card, Some(&retired), Some(&r), 20_000).unwrap();
        let revoked = CardKey { revoked_height: Some(6), ..retired };
        assert_eq!(
            judge(&card, Some(&revoked), Some(&r), 20_000),
            Err(CardRefusal::KeyRevoked { club: ClubId::parse("harbour").unwrap() })
        );
    }

    #[test]
    fn an_older_serial_and_another_clubs_key_are_refused() {
        let card = SignedCard::decode(&sign(&claims(), &key())).unwrap();
        let k = card_key(&key());
        let newer = MemberCard { serial: 4, ..recorded(&key()) };
        assert_eq!(
            judge(&card, Some(&k), Some(&newer), 20_000),
            Err(CardRefusal::Replaced { serial: 3, current: 4 })
        );
        assert_eq!(judge(&card, Some(&k), None, 20_000), Err(CardRefusal::NotIssued));
        let renewed = MemberCard { valid_until_day: 22_000, ..recorded(&key()) };
        assert_eq!(judge(&card, Some(&k), Some(&renewed), 20_000), Err(CardRefusal::NotAsRecorded));
        let foreign = CardKey { club_id: ClubId::parse("alpine").unwrap(), ..k };
        assert!(matches!(
            judge(&card, Some(&foreign), Some(&recorded(&key())), 20_000),
            Err(CardRefusal::KeyOfOtherClub { .. })
        ));
    }

    #[test]
    fn a_key_record_of_another_key_counts_as_unknown() {
        let card = SignedCard::decode(&sign(&claims(), &key())).unwrap();
        let other = Keypair::from_seed([11; 32]);
        // A record claiming the card's key id but holding another key.
        let lying = CardKey { public_key: other.public_key(), ..card_key(&key()) };
        let forged = SignedCard::decode(&sign(&claims(), &other)).unwrap();
        let r = recorded(&key());
        assert_eq!(judge(&card, Some(&lying), Some(&r), 20_000), Err(CardRefusal::UnknownKey));
        assert_eq!(
            judge(&forged, Some(&card_key(&key())), Some(&r), 20_000),
            Err(CardRefusal::UnknownKey)
        );
    }

    #[test]
    fn an_untagged_or_padded_cose_structure_is_refused() {
        let text = sign(&claims(), &key());
        let bytes = base45::decode(text.strip_prefix(PREFIX).unwrap()).unwrap();
        let mut sign1 = CoseSign1::from_tagged_slice(&bytes).unwrap();
        let untagged = format!("{PREFIX}{}", base45::encode(sign1.clone().to_vec().unwrap()));
        assert!(matches!(SignedCard::decode(&untagged), Err(CardRefusal::Malformed(_))));
        sign1.unprotected = HeaderBuilder::new().key_id(b"padding".to_vec()).build();
        let padded = format!("{PREFIX}{}", base45::encode(sign1.to_tagged_vec().unwrap()));
        assert!(matches!(SignedCard::decode(&padded), Err(CardRefusal::Malformed(_))));
    }

    #[test]
    fn oversized_foreign_and_damaged_texts_are_refused_before_any_check() {
        let long = format!("RC1:{}", "A".repeat(TEXT_CHARS_MAX));
        assert!(matches!(SignedCard::decode(&long), Err(CardRefusal::Oversized { .. })));
        assert_eq!(SignedCard::decode("HC1:ABC").unwrap_err(), CardRefusal::NotACard);
        assert!(matches!(SignedCard::decode("RC1:!!"), Err(CardRefusal::Malformed(_))));
        assert!(matches!(SignedCard::decode("RC1:00"), Err(CardRefusal::Malformed(_))));
        let text = sign(&claims(), &key());
        let cut = &text[..text.len() - 6];
        assert!(matches!(SignedCard::decode(cut), Err(CardRefusal::Malformed(_))));
        // A non-canonical map (an integer in a longer form) is refused.
        let padded = with_payload(&text, |payload| {
            // Key 6 holds the serial 3 as `0x03`; rewrite it as `0x18 0x03`.
            let last = payload.len() - 1;
            assert_eq!(payload[last], 0x03);
            payload.insert(last, 0x18);
        });
        assert!(matches!(SignedCard::decode(&padded), Err(CardRefusal::Malformed(_))));
        assert!(looks_like_card(" RC1:xyz") && !looks_like_card("0123abcd"));
    }
}
