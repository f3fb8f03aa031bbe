//! The reciprocal-agreement state machine of Reciprocity.
//!
//! This crate decides what is valid: which clubs are in the network, who may
//! act for them, members' standing, bilateral agreements and their terms,
//! visits and their yearly and monthly allowance, and governance votes. It is
//! pure and deterministic: no clock, no randomness, no I/O, no floats, no
//! hash-map iteration order. Time comes only from the block.
//!
//! # Main types
//!
//! - [`apply_block`] applies a block of signature-checked transactions
//!   ([`BlockTx`]) to a [`StateStore`] and returns one [`TxOutcome`] per
//!   transaction and the new state hash ([`BlockOutcome`]).
//! - [`verify_envelopes`] is the single signature rule (strict Ed25519, batch
//!   verification as the fast path) that every node runs before applying.
//! - [`query`] answers reads, including [`query::check_visit`], the front-desk
//!   eligibility check with the remaining allowance.
//! - [`ValidationCode`] is the stable, numbered answer for every rule.
//! - [`MemStore`] is an in-memory store for tests; the node backs
//!   [`StateStore`] with RocksDB.
//!
//! Errors ([`ChaincodeError`]) are not rule violations: they mean the block
//! could not be applied at all (store failure, corrupt state, a broken chain
//! invariant), and the caller must stop rather than persist anything.
//!
//! ```
//! use reciprocity_chaincode::{apply_block, BlockContext, MemStore, query};
//!
//! let mut store = MemStore::new();
//! let ctx = BlockContext { chain_id: "demo".into(), height: 1, timestamp_ms: 1_700_000_000_000 };
//! let outcome = apply_block(&mut store, &ctx, &[]).unwrap();
//! assert!(outcome.results.is_empty());
//! assert!(!query::has_genesis(&store).unwrap());
//! ```
//!
//! # Validation codes
//!
//! Every transaction gets exactly one code. Numbers are stable and never
//! reused. An invalid transaction changes no domain state; once it passed the
//! envelope checks (codes 1–7) its id counts as used, so the same bytes cannot
//! be replayed.
//!
//! | code | name | meaning |
//! | ---: | --- | --- |
//! | 0 | `Ok` | The transaction is valid and was applied. |
//! | 1 | `MalformedPayload` | The payload bytes are not a well-formed `TxPayload`. |
//! | 2 | `MissingBody` | The payload carries no body. |
//! | 3 | `WrongChain` | The payload's chain id is not this network's. |
//! | 4 | `Expired` | The block time is past the transaction's `expires_at_ms`. |
//! | 5 | `NotYetValid` | `created_at_ms` lies further ahead of the block time than the policy's clock skew allows. |
//! | 6 | `ValidityWindowTooLong` | `expires_at_ms - created_at_ms` exceeds the policy's `tx_validity_ms_max` (or is negative). |
//! | 7 | `DuplicateTx` | A transaction with this id was already included. |
//! | 8 | `BadSignature` | The signature does not verify (strict Ed25519) for the signer key. |
//! | 9 | `GenesisRequired` | No genesis has been applied yet: only a genesis transaction can be. |
//! | 10 | `GenesisAlreadyApplied` | A genesis transaction after the chain already has one. |
//! | 11 | `InvalidGenesis` | The genesis content is invalid (no clubs, bad policy, signer is not a founding club key...). |
//! | 12 | `UnknownSigner` | The signer key is not an enrolled identity. |
//! | 13 | `IdentityRevoked` | The signer identity was revoked. |
//! | 14 | `SignerClubNotActive` | The signer's club is suspended or removed. |
//! | 15 | `MissingRole` | The signer identity lacks the role the transaction needs. |
//! | 16 | `NotOwnClub` | The signer acts for a club other than its own. |
//! | 17 | `UnknownClub` | The named club does not exist. |
//! | 18 | `ClubNotActive` | The other club (counterparty, host or home club) is suspended or removed. |
//! | 19 | `IdentityExists` | The key is already enrolled (as an identity or club key), possibly revoked. |
//! | 20 | `UnknownIdentity` | The identity to revoke does not exist. |
//! | 21 | `InvalidPublicKey` | The key is not a valid Ed25519 public key (length or encoding). |
//! | 22 | `WeakKey` | The key is a weak (small-order) Ed25519 key. |
//! | 23 | `CannotRevokeClubKey` | The club key cannot be revoked. |
//! | 24 | `InvalidRoles` | Roles are empty, unknown or repeated. |
//! | 25 | `MemberExists` | A member with this id already exists. |
//! | 26 | `UnknownMember` | The member id is not known. |
//! | 27 | `InvalidMemberId` | The member id is not exactly 16 bytes. |
//! | 28 | `InvalidTier` | The tier name is empty, too long or has characters other than a-z, 0-9, '-', '_'. |
//! | 29 | `InvalidStatus` | The member status is not a known value. |
//! | 30 | `InvalidDate` | A date is 0 or beyond year 9999. |
//! | 31 | `EmptyUpdate` | An update that changes nothing. |
//! | 32 | `NotHomeClub` | The member belongs to another club than the signer's. |
//! | 33 | `InvalidTerms` | The agreement terms are malformed or inconsistent. |
//! | 34 | `AgreementExists` | An agreement between the two clubs is already in force: amend it instead. |
//! | 35 | `NoAgreement` | There is no agreement in force between the two clubs. |
//! | 36 | `NoPendingOffer` | There is no pending offer to accept. |
//! | 37 | `TermsHashMismatch` | The terms hash does not match the pending offer. |
//! | 38 | `CannotAcceptOwnOffer` | A club cannot accept its own offer. |
//! | 39 | `AgreementWithSelf` | A club cannot make an agreement with itself. |
//! | 40 | `AgreementAlreadySuspended` | This side has already suspended the agreement. |
//! | 41 | `AgreementNotSuspended` | This side has not suspended the agreement. |
//! | 42 | `AgreementTerminating` | The agreement is under notice of termination (or terminated). |
//! | 43 | `AgreementTerminated` | The agreement has been terminated. |
//! | 44 | `AgreementNotInEffect` | No terms of the agreement are in effect yet. |
//! | 45 | `AgreementExpired` | The terms in effect ended (past `valid_until_day`). |
//! | 46 | `AgreementSuspended` | The agreement is suspended by one of the clubs. |
//! | 47 | `Blackout` | The day is in a blackout range of the terms. |
//! | 48 | `MemberNotActive` | The member's status at home is not active. |
//! | 49 | `MemberExpired` | The member's validity at home has ended. |
//! | 50 | `TierNotCovered` | The member's tier is not covered by the terms. |
//! | 51 | `IntroductionRequired` | The terms require a letter of introduction covering the day, and there is none. |
//! | 52 | `MonthlyQuotaExceeded` | The member has used this month's visit-days at this host. |
//! | 53 | `YearlyQuotaExceeded` | The member has used this year's visit-days at this host. |
//! | 54 | `TooManyGuests` | More guests than the terms allow. |
//! | 55 | `VisitingOwnClub` | A member cannot make a reciprocal visit to the home club. |
//! | 56 | `UnknownVisit` | The visit id is not known. |
//! | 57 | `NotHostClub` | Only the host club may void its visit. |
//! | 58 | `VoidWindowPassed` | The visit is more than 24 hours old. |
//! | 59 | `VisitAlreadyVoided` | The visit was already voided. |
//! | 60 | `InvalidIntroduction` | The introduction's dates or host are invalid. |
//! | 61 | `InvalidProposal` | The proposal is malformed (no action, bad text, empty electorate...). |
//! | 62 | `VotingPeriodOutOfBounds` | The voting period is outside the policy's bounds. |
//! | 63 | `UnknownProposal` | The proposal id is not known. |
//! | 64 | `ProposalClosed` | The proposal's vote has closed. |
//! | 65 | `NotInElectorate` | The signer's club is not in the proposal's electorate. |
//! | 66 | `InvalidVote` | The vote choice is not yes, no or abstain. |
//! | 67 | `ClubExists` | A club with this id already exists. |
//! | 68 | `InvalidPolicy` | The policy values are out of range or inconsistent. |
//! | 69 | `ClubStateConflict` | The club is not in a state the action applies to (e.g. suspending a suspended club). |
//! | 70 | `NodeKeyInUse` | A node key is already used by a club. |
//! | 71 | `InvalidClub` | The club spec is invalid (id syntax, name, UTC offset, nodes). |
//! | 72 | `CardKeyExists` | The key is already enrolled as a card key (by any club), or its key id is taken. |
//! | 73 | `UnknownCardKey` | No card key with this key id is enrolled. |
//! | 74 | `CardKeyRevoked` | The card key was revoked. |
//! | 75 | `NoCardKey` | The club has no current card key: an admin enrolls one first. |
//! | 76 | `CardKeyNotCurrent` | The card key named is not the club's current card key (retired, or of another club). |
//! | 77 | `CardKeyProofInvalid` | The card key's proof of possession is missing or does not verify for this chain and club. |
//!
//! # Rules in brief
//!
//! - **Transactions**: chain id must match; block time ≤ `expires_at_ms`;
//!   `created_at_ms` ≤ block time + clock skew; validity window ≤ policy; an
//!   id is accepted once (ids are forgotten after their expiry, when the
//!   transaction could not be valid anyway).
//! - **Authorization**: the signer must be an enrolled, unrevoked identity of
//!   an active club holding the role the transaction needs; it acts only for
//!   its own club. The club key holds every role and cannot be revoked.
//! - **Agreements**: one per pair of clubs. An admin offers terms (encoded
//!   `AgreementTerms`); the other club's admin accepts by the terms hash.
//!   Amendments take effect from their `valid_from_day`. Each side suspends
//!   and resumes for itself; termination takes effect after the notice days.
//! - **Visits**: recorded by the host's front desk; valid only if both clubs
//!   are active, the agreement is in force and not suspended, the day is not a
//!   blackout, the member is active and within validity, the tier is covered,
//!   guests are within the limit, an introduction covers the day when
//!   required, and the month's and year's visit-days stay within the terms
//!   (days in the host's UTC offset; several check-ins on one day are one
//!   visit-day). The host may void its visit within 24 hours, which gives the
//!   day back when it was the day's last check-in.
//! - **Governance**: electorate fixed at creation (active clubs minus the
//!   subject of a suspension or removal), one replaceable vote per club, pass
//!   rule in [`passes`], early close when [`decided`] (no choice of the clubs
//!   that have not voted can change the outcome), execution in the same
//!   block. ARCHITECTURE.md gives the reasons.

#![deny(clippy::float_arithmetic)]

mod apply;
pub mod calendar;
mod code;
mod context;
pub mod decode;
mod envelope;
mod error;
mod event;
mod hash;
mod keys;
pub mod merkle;
mod model;
pub mod query;
mod rules;
mod state;
mod store;

pub use apply::{
    BlockOutcome, ChainPosition, TIMESTAMP_MS_MAX, TX_IDS_PRUNED_PER_BLOCK_MAX, TxOutcome,
    apply_block, chain_position, dry_run,
};
pub use code::ValidationCode;
pub use context::BlockContext;
pub use decode::{TERMS_HASH_DOMAIN, terms_hash};
pub use envelope::{
    BlockTx, EnvelopeRef, SIGNING_DOMAIN, VerifiedTx, signing_message, tx_id, verify_envelope,
    verify_envelopes,
};
pub use error::{ChaincodeError, Result};
pub use event::Event;
pub use hash::{STATE_HASH_DOMAIN, STATE_HASH_EMPTY, next_state_hash};
pub use model::*;
pub use rules::governance::{PROPOSALS_CLOSED_PER_BLOCK_MAX, decided, passes};
pub use store::{MemStore, StateRead, StateStore, WriteSet};
