//! Member cards: the club's card-issuing keys ([`keyring`]), a card's face
//! as SVG, PNG and PDF ([`face`]), and the door's check of a card's code
//! ([`door`]). The credential format itself is the SDK's
//! (`reciprocity_sdk::card`); the rules that enroll keys and record cards are
//! the chaincode's.

pub mod door;
pub mod face;
pub mod keyring;
