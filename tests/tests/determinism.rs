//! Determinism: every node that applies the same blocks holds byte-identical
//! state and the same state hash; the order in which a block touches
//! unrelated state does not matter; broken chain invariants and store
//! failures stop the block instead of corrupting state.

use reciprocity_chaincode::{
    BlockContext, ChaincodeError, MemStore, StateRead, StateStore, ValidationCode as Code,
    apply_block, chain_position,
};
use reciprocity_proto::v1 as wire;
use reciprocity_sdk::tx::body;
use reciprocity_tests::{DAY_MS, HOUR_MS, Net, apply_signed};

/// A busy chain: agreements, members, visits, voids, a vote that closes at its end time.
fn busy_chain() -> Net {
    let mut net = Net::new(&[("harbour", 0), ("alpine", 60), ("union", -300)]);
    let terms = net.terms(&["full"], 3, 20);
    net.agree("harbour", "alpine", &terms);
    net.agree("union", "alpine", &terms);
    let members: Vec<_> =
        (0..6).map(|i| net.register_member(["harbour", "union"][i % 2], "full")).collect();
    let desk = net.club("alpine").front_desk;
    let governor = net.club("union").governor;
    net.ok(
        &governor,
        body::create_proposal(
            2 * DAY_MS,
            wire::create_proposal::Action::Resolution("Motion".into()),
        ),
    );
    for day in 0..5 {
        let txs = members.iter().map(|m| net.tx(&desk, body::record_visit(m, 0))).collect();
        net.block(txs);
        net.advance_ms(DAY_MS + day * HOUR_MS);
    }
    net.block(vec![]);
    net
}

fn replay(net: &Net) -> MemStore {
    let mut store = MemStore::new();
    for (ctx, txs) in &net.blocks {
        apply_signed(&mut store, ctx, txs);
    }
    store
}

#[test]
fn the_same_blocks_on_two_fresh_stores_give_identical_bytes_and_hash() {
    let net = busy_chain();
    let first = replay(&net);
    let second = replay(&net);
    assert_eq!(first.entries(), second.entries());
    assert_eq!(first.entries(), net.store.entries());
    let hash = chain_position(&first).unwrap().state_hash;
    assert_eq!(hash, chain_position(&second).unwrap().state_hash);
    assert_eq!(hash, net.state_hash());
    // The vote closed at its end time inside a block: replay saw it too.
    assert!(
        net.outcomes.iter().any(|o| o.block_events.iter().any(|e| e.kind == "proposal.closed"))
    );
}

#[test]
fn unrelated_transactions_in_either_order_give_the_same_state_and_hash() {
    let base = Net::new(&[("harbour", 0), ("alpine", 60)]);
    let (h, a) = (base.club("harbour").registrar, base.club("alpine").registrar);
    let member_h = reciprocity_chaincode::MemberId([1; 16]);
    let member_a = reciprocity_chaincode::MemberId([2; 16]);
    let tx_h = base.tx(&h, body::register_member(&member_h, "full", 30_000));
    let tx_a = base.tx(&a, body::register_member(&member_a, "junior", 30_000));
    let mut forward = base.clone();
    let mut backward = base;
    let f = forward.block(vec![tx_h.clone(), tx_a.clone()]);
    let b = backward.block(vec![tx_a, tx_h]);
    assert!(f.results.iter().chain(&b.results).all(|r| r.code == Code::Ok));
    assert_eq!(forward.store.entries(), backward.store.entries());
    assert_eq!(f.state_hash, b.state_hash);
}

#[test]
fn different_histories_give_different_hashes() {
    let mut one = Net::new(&[("harbour", 0), ("alpine", 60)]);
    let mut two = one.clone();
    let registrar = one.club("harbour").registrar;
    one.ok(
        &registrar,
        body::register_member(&reciprocity_chaincode::MemberId([1; 16]), "full", 30_000),
    );
    two.ok(
        &registrar,
        body::register_member(&reciprocity_chaincode::MemberId([1; 16]), "junior", 30_000),
    );
    assert_ne!(one.state_hash(), two.state_hash());
}

#[test]
fn a_height_gap_or_time_going_backwards_is_refused_before_anything_is_written() {
    let net = Net::new(&[("harbour", 0)]);
    let mut store = net.store.clone();
    let position = chain_position(&store).unwrap();
    let gap = BlockContext {
        chain_id: "test-chain".into(),
        height: position.height + 2,
        timestamp_ms: net.now_ms,
    };
    assert!(matches!(
        apply_block(&mut store, &gap, &[]),
        Err(ChaincodeError::InvalidBlockContext(_))
    ));
    let back = BlockContext {
        chain_id: "test-chain".into(),
        height: position.height + 1,
        timestamp_ms: position.time_ms - 1,
    };
    let err = apply_block(&mut store, &back, &[]).unwrap_err();
    assert!(err.to_string().contains("before the previous block"), "{err}");
    assert_eq!(store, net.store);
}

/// A store whose reads start failing after a number of calls.
struct FailingStore {
    inner: MemStore,
    reads_left: std::cell::Cell<u32>,
}

impl FailingStore {
    fn tick(&self) -> reciprocity_chaincode::Result<()> {
        let left = self.reads_left.get();
        if left == 0 {
            return Err(ChaincodeError::Store("disk on fire".into()));
        }
        self.reads_left.set(left - 1);
        Ok(())
    }
}

impl StateRead for FailingStore {
    fn get(&self, key: &[u8]) -> reciprocity_chaincode::Result<Option<Vec<u8>>> {
        self.tick()?;
        self.inner.get(key)
    }
    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> reciprocity_chaincode::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.tick()?;
        self.inner.scan(prefix, after, limit)
    }
}

impl StateStore for FailingStore {
    fn put(&mut self, key: &[u8], value: &[u8]) -> reciprocity_chaincode::Result<()> {
        self.inner.put(key, value)
    }
    fn delete(&mut self, key: &[u8]) -> reciprocity_chaincode::Result<()> {
        self.inner.delete(key)
    }
}

#[test]
fn a_store_failure_mid_block_is_an_error_and_writes_nothing() {
    let mut net = Net::new(&[("harbour", 0), ("alpine", 60)]);
    let terms = net.terms(&["full"], 3, 20);
    net.agree("harbour", "alpine", &terms);
    let member = net.register_member("harbour", "full");
    let desk = net.club("alpine").front_desk;
    let txs = [net.tx(&desk, body::record_visit(&member, 0))];
    let envelopes: Vec<_> =
        txs.iter().map(reciprocity_chaincode::EnvelopeRef::from_signed).collect();
    let verified = reciprocity_chaincode::verify_envelopes(&envelopes);
    let ctx = BlockContext {
        chain_id: "test-chain".into(),
        height: net.height + 1,
        timestamp_ms: net.now_ms,
    };
    for reads in 0..200 {
        let mut store =
            FailingStore { inner: net.store.clone(), reads_left: std::cell::Cell::new(reads) };
        match apply_block(&mut store, &ctx, &verified) {
            Err(ChaincodeError::Store(message)) => {
                assert_eq!(message, "disk on fire");
                assert_eq!(store.inner, net.store, "a failed block must write nothing");
            }
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => return, // enough reads to finish: every failure point before this one was clean
        }
    }
    panic!("the block needs more reads than the test allows");
}
