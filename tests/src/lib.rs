//! Test harness for the workspace-level tests: an in-memory chain of clubs
//! with enrolled staff, driven one block at a time through the real
//! signature rule and `apply_block`, with transactions built by the SDK.
//!
//! ```
//! use reciprocity_tests::{Net, START_MS};
//! let mut net = Net::new(&[("harbour", 0), ("alpine", 60)]);
//! let member = net.register_member("harbour", "full");
//! assert!(net.visit_check("alpine", &member, 0).home_club.is_some());
//! assert!(net.now_ms >= START_MS);
//! ```

use reciprocity_chaincode::{
    BlockContext, BlockOutcome, BlockTx, ClubId, EnvelopeRef, MemStore, MemberId, TxId, TxOutcome,
    ValidationCode, apply_block, dry_run, query, verify_envelopes,
};
use reciprocity_proto::v1 as wire;
use reciprocity_sdk::keys::Keypair;
use reciprocity_sdk::tx::{TxBuilder, body};
use sha2::{Digest, Sha256};

/// Chain id of test networks.
pub const CHAIN_ID: &str = "test-chain";

/// 2026-01-05 (a Monday) 10:00 UTC: where test clocks start.
pub const START_MS: u64 = 20_458 * DAY_MS + 10 * HOUR_MS;

/// Milliseconds per hour.
pub const HOUR_MS: u64 = 3_600_000;

/// Milliseconds per day.
pub const DAY_MS: u64 = 86_400_000;

/// A deterministic key for a label.
pub fn key(label: &str) -> Keypair {
    Keypair::from_seed(Sha256::digest(label.as_bytes()).into())
}

/// The test policy: 50% quorum, > 50% yes, > 66.67% to remove, votes of 1 min to 30 days.
pub fn test_policy() -> wire::Policy {
    wire::Policy {
        quorum_bp: 5_000,
        threshold_bp: 5_000,
        removal_threshold_bp: 6_667,
        voting_period_ms_min: 60_000,
        voting_period_ms_max: 30 * DAY_MS,
        tx_validity_ms_max: DAY_MS,
        clock_skew_ms_max: 60_000,
    }
}

/// A club's keys: club key plus one enrolled identity per role.
#[derive(Debug, Clone)]
pub struct TestClub {
    /// Club id.
    pub id: String,
    /// UTC offset, minutes.
    pub utc_offset_minutes: i32,
    /// The club key (holds every role).
    pub club_key: Keypair,
    /// Node key.
    pub node_key: Keypair,
    /// An admin identity.
    pub admin: Keypair,
    /// A registrar identity.
    pub registrar: Keypair,
    /// A front-desk identity.
    pub front_desk: Keypair,
    /// A governor identity.
    pub governor: Keypair,
}

impl TestClub {
    /// Keys of a club (not yet on any ledger).
    pub fn new(id: &str, utc_offset_minutes: i32) -> TestClub {
        TestClub {
            id: id.to_owned(),
            utc_offset_minutes,
            club_key: key(&format!("{id}/club")),
            node_key: key(&format!("{id}/node")),
            admin: key(&format!("{id}/admin")),
            registrar: key(&format!("{id}/registrar")),
            front_desk: key(&format!("{id}/front_desk")),
            governor: key(&format!("{id}/governor")),
        }
    }

    /// The club as listed in genesis or an admission proposal.
    pub fn spec(&self) -> wire::ClubSpec {
        wire::ClubSpec {
            club_id: self.id.clone(),
            name: format!("The {} Club", self.id),
            club_key: self.club_key.public_key().0.to_vec(),
            nodes: vec![wire::NodeSpec {
                node_key: self.node_key.public_key().0.to_vec(),
                address: format!("/dns4/{}.example/tcp/7100", self.id),
            }],
            utc_offset_minutes: self.utc_offset_minutes,
        }
    }

    /// The club id, typed.
    pub fn club_id(&self) -> ClubId {
        ClubId::parse(&self.id).expect("test club ids are valid")
    }
}

/// An in-memory chain.
#[derive(Debug, Clone)]
pub struct Net {
    /// The world state.
    pub store: MemStore,
    /// Height of the last block.
    pub height: u64,
    /// The clock the next block is stamped with.
    pub now_ms: u64,
    /// Clubs known to the harness (founders and candidates).
    pub clubs: Vec<TestClub>,
    /// Every block outcome so far.
    pub outcomes: Vec<BlockOutcome>,
    /// Every block's transactions so far (for replaying elsewhere).
    pub blocks: Vec<(BlockContext, Vec<wire::SignedTx>)>,
    /// Whether to keep a copy of the state before each block.
    pub keep_previous_state: bool,
    /// The state before the last block, when kept.
    pub previous_state: Option<MemStore>,
}

impl Net {
    /// A chain with nothing applied.
    pub fn empty(clubs: &[(&str, i32)]) -> Net {
        Net {
            store: MemStore::new(),
            height: 0,
            now_ms: START_MS,
            clubs: clubs.iter().map(|(id, off)| TestClub::new(id, *off)).collect(),
            outcomes: Vec::new(),
            blocks: Vec::new(),
            keep_previous_state: false,
            previous_state: None,
        }
    }

    /// A chain with genesis of `clubs` (id, UTC offset) and each club's staff enrolled.
    pub fn new(clubs: &[(&str, i32)]) -> Net {
        Net::with_policy(clubs, test_policy())
    }

    /// Like [`Net::new`] with another policy.
    pub fn with_policy(clubs: &[(&str, i32)], policy: wire::Policy) -> Net {
        let mut net = Net::empty(clubs);
        let founders: Vec<TestClub> = net.clubs.clone();
        let genesis = body::genesis(founders.iter().map(TestClub::spec).collect(), policy);
        let first = founders[0].club_key.clone();
        net.ok(&first, genesis);
        for club in &founders {
            net.enroll_staff(club);
        }
        net
    }

    /// Enrolls the club's admin, registrar, front desk and governor with its club key.
    pub fn enroll_staff(&mut self, club: &TestClub) {
        use wire::Role;
        let txs = vec![
            self.tx(
                &club.club_key,
                body::enroll_identity(&club.admin.public_key(), &[Role::Admin]),
            ),
            self.tx(
                &club.club_key,
                body::enroll_identity(&club.registrar.public_key(), &[Role::Registrar]),
            ),
            self.tx(
                &club.club_key,
                body::enroll_identity(&club.front_desk.public_key(), &[Role::FrontDesk]),
            ),
            self.tx(
                &club.club_key,
                body::enroll_identity(&club.governor.public_key(), &[Role::Governor]),
            ),
        ];
        let outcome = self.block(txs);
        for result in &outcome.results {
            assert_eq!(result.code, ValidationCode::Ok, "enrolling staff of {}", club.id);
        }
    }

    /// The keys of a club by id.
    pub fn club(&self, id: &str) -> TestClub {
        self.clubs
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no test club {id}"))
            .clone()
    }

    /// A signed transaction created now.
    pub fn tx(&self, key: &Keypair, body: wire::tx_payload::Body) -> wire::SignedTx {
        TxBuilder::new(CHAIN_ID, self.now_ms).sign(key, body)
    }

    /// Applies a block of transactions at the current time.
    pub fn block(&mut self, txs: Vec<wire::SignedTx>) -> BlockOutcome {
        self.height += 1;
        let ctx = BlockContext {
            chain_id: CHAIN_ID.to_owned(),
            height: self.height,
            timestamp_ms: self.now_ms,
        };
        if self.keep_previous_state {
            self.previous_state = Some(self.store.clone());
        }
        // Every one-transaction block is also a check of the dry run (which
        // reads the state through `&dyn StateRead`, so it cannot write): it
        // predicts the applied outcome exactly.
        let predicted = (txs.len() == 1).then(|| {
            let envelope = EnvelopeRef::from_signed(&txs[0]);
            let verified = verify_envelopes(&[envelope]).remove(0);
            dry_run(&self.store, &ctx, &verified).expect("in-memory dry run cannot fail")
        });
        let outcome = apply_signed(&mut self.store, &ctx, &txs);
        if let Some(predicted) = predicted {
            assert_eq!(
                predicted, outcome.results[0],
                "the dry run mispredicted block {}",
                ctx.height
            );
        }
        self.outcomes.push(outcome.clone());
        self.blocks.push((ctx, txs));
        outcome
    }

    /// Applies one transaction in its own block and returns its outcome.
    pub fn submit(&mut self, key: &Keypair, body: wire::tx_payload::Body) -> TxOutcome {
        let tx = self.tx(key, body);
        self.block(vec![tx]).results.remove(0)
    }

    /// Applies one transaction in its own block and returns its code.
    pub fn run(&mut self, key: &Keypair, body: wire::tx_payload::Body) -> ValidationCode {
        self.submit(key, body).code
    }

    /// Applies one transaction that must succeed; returns its id.
    pub fn ok(&mut self, key: &Keypair, body: wire::tx_payload::Body) -> TxId {
        let outcome = self.submit(key, body);
        assert_eq!(
            outcome.code,
            ValidationCode::Ok,
            "expected success, events {:?}",
            outcome.events
        );
        outcome.tx_id
    }

    /// Moves the clock forward.
    pub fn advance_ms(&mut self, ms: u64) {
        self.now_ms += ms;
    }

    /// Sets the clock to `hour` UTC of `day` (never backwards).
    pub fn set_time(&mut self, day: u32, hour: u64) {
        let at = u64::from(day) * DAY_MS + hour * HOUR_MS;
        assert!(at >= self.now_ms, "test clocks only move forward");
        self.now_ms = at;
    }

    /// Today's UTC day number.
    pub fn today(&self) -> u32 {
        u32::try_from(self.now_ms / DAY_MS).expect("day fits u32")
    }

    /// Registers a member of `club` with `tier`, valid for two years.
    pub fn register_member(&mut self, club: &str, tier: &str) -> MemberId {
        let member = MemberId(
            Sha256::digest(format!("{club}/{tier}/{}", self.height).as_bytes())[..16]
                .try_into()
                .expect("16 bytes"),
        );
        let registrar = self.club(club).registrar;
        let until = self.today() + 730;
        self.ok(&registrar, body::register_member(&member, tier, until));
        member
    }

    /// Registers `count` members of `club` with tier `full` (ids 0, 1, 2...
    /// big-endian in the first 8 bytes), `per_block` to a block, valid for
    /// `valid_days`: the large states benchmarks measure against.
    pub fn register_numbered_members(
        &mut self,
        club: &str,
        count: usize,
        per_block: usize,
        valid_days: u32,
    ) -> Vec<MemberId> {
        let registrar = self.club(club).registrar;
        let until = self.today() + valid_days;
        let ids: Vec<MemberId> = (0..count)
            .map(|i| {
                let mut id = [0u8; 16];
                id[..8].copy_from_slice(&(i as u64).to_be_bytes());
                MemberId(id)
            })
            .collect();
        for chunk in ids.chunks(per_block.max(1)) {
            let txs = chunk
                .iter()
                .map(|m| self.tx(&registrar, body::register_member(m, "full", until)))
                .collect();
            self.block(txs);
        }
        ids
    }

    /// Makes an agreement between `a` (offering) and `b` (accepting) on `terms`.
    pub fn agree(&mut self, a: &str, b: &str, terms: &wire::AgreementTerms) {
        let (admin_a, admin_b) = (self.club(a).admin, self.club(b).admin);
        self.ok(&admin_a, body::propose_agreement(b, terms));
        let hash = reciprocity_sdk::terms::hash(&reciprocity_sdk::terms::encode(terms));
        self.ok(&admin_b, body::accept_agreement(a, hash));
    }

    /// Terms from today: `tiers`, per-month and per-year visit-days, no guests, no fee.
    pub fn terms(&self, tiers: &[&str], per_month: u32, per_year: u32) -> wire::AgreementTerms {
        reciprocity_sdk::terms::basic(tiers, per_month, per_year, self.today() - 1, "EUR")
    }

    /// The eligibility check at the current time.
    pub fn visit_check(&self, host: &str, member: &MemberId, guests: u32) -> query::VisitCheck {
        let host = ClubId::parse(host).expect("valid club id");
        query::check_visit(&self.store, self.now_ms, &host, member, guests).expect("store works")
    }

    /// The current state hash.
    pub fn state_hash(&self) -> [u8; 32] {
        reciprocity_chaincode::chain_position(&self.store).expect("store works").state_hash
    }
}

/// Verifies signatures with the network's rule, then applies the block.
pub fn apply_signed(
    store: &mut MemStore,
    ctx: &BlockContext,
    txs: &[wire::SignedTx],
) -> BlockOutcome {
    let envelopes: Vec<EnvelopeRef<'_>> = txs.iter().map(EnvelopeRef::from_signed).collect();
    let verified: Vec<BlockTx> = verify_envelopes(&envelopes);
    apply_block(store, ctx, &verified).expect("in-memory apply cannot fail")
}
