//! The door's check of a card's code against this node's ledger: the card
//! key is looked up by the card's key id (every node has every club's card
//! keys: they are on the ledger), and the card must be the member's last one
//! recorded there. No call goes to the home club's node.

use reciprocity_chaincode::{StateRead, query};
use reciprocity_sdk::card::{self, CardRefusal, SignedCard};

/// The verdict on a decoded card on `today_day` (the host's local day).
pub fn judge(
    view: &dyn StateRead,
    card: &SignedCard,
    today_day: u32,
) -> reciprocity_chaincode::Result<Result<(), CardRefusal>> {
    let key = query::card_key(view, &card.key_id)?;
    let recorded = query::member_card(view, &card.claims.member_id)?;
    Ok(card::judge(card, key.as_ref(), recorded.as_ref(), today_day))
}
