//! `recip verify`: checks that need no trust in the node that made the
//! thing checked. `recip verify card` verifies a member card's credential
//! (the text of its QR code): against a card key given on the command line
//! (signature and expiry, fully offline), or against the ledger of a node
//! you trust — your own club's, not the card's home club's (the key's club
//! and status, the signature, the card's serial, expiry). The member's
//! standing at a host is `recip query check`.

use anyhow::Context;
use clap::{Args, Subcommand};
use reciprocity_chaincode::PublicKey;
use reciprocity_node::api::views::{CardKeyView, MemberCardView};
use reciprocity_sdk::card::{self, SignedCard};
use reciprocity_sdk::client::NodeClient;
use reciprocity_sdk::dates;
use reciprocity_sdk::wire::query_request::Query;
use serde_json::json;

use super::{ENDPOINT_DEFAULT, say};

#[derive(Debug, Subcommand)]
pub(crate) enum VerifyCommand {
    /// A member card's credential: the text its QR code carries (`RC1:...`).
    Card(CardArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CardArgs {
    /// The credential text (`RC1:...`); `-` reads it from standard input.
    text: String,
    /// Verify against this card key (64 hex digits) alone, without asking a
    /// node: signature and expiry only (not revocation nor a newer card).
    #[arg(long)]
    public_key: Option<String>,
    /// The node whose ledger the card is checked against (one you trust:
    /// your own club's).
    #[arg(long, env = "RECIP_ENDPOINT", default_value = ENDPOINT_DEFAULT)]
    endpoint: String,
    /// The day to check on (`YYYY-MM-DD`); today (UTC) by default.
    #[arg(long)]
    on: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(command: VerifyCommand) -> anyhow::Result<()> {
    match command {
        VerifyCommand::Card(args) => card(args).await,
    }
}

async fn card(args: CardArgs) -> anyhow::Result<()> {
    let text = if args.text == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .context("reading the credential from standard input")?;
        text
    } else {
        args.text.clone()
    };
    let signed = SignedCard::decode(&text).map_err(|refusal| anyhow::anyhow!("{refusal}"))?;
    let today = match &args.on {
        Some(day) => dates::parse_day(day).map_err(|e| anyhow::anyhow!("--on: {e}"))?,
        None => dates::day_of_ms(reciprocity_node::clock::now_ms()),
    };
    let verdict = match &args.public_key {
        Some(hex) => {
            let key = PublicKey::from_hex(hex)
                .with_context(|| format!("--public-key {hex:?} is not 64 hex digits"))?;
            let expired = today > signed.claims.valid_until_day;
            signed.verify_signature(&key).and(if expired {
                Err(card::CardRefusal::Expired { valid_until_day: signed.claims.valid_until_day })
            } else {
                Ok(())
            })
        }
        None => {
            let mut client = NodeClient::connect(&args.endpoint).await?;
            let key = client.query(Query::CardKey(signed.key_id.0.to_vec())).await?;
            let key: Option<CardKeyView> =
                if key.found { Some(serde_json::from_str(&key.json)?) } else { None };
            let recorded =
                client.query(Query::MemberCard(signed.claims.member_id.0.to_vec())).await?;
            let recorded: Option<MemberCardView> =
                if recorded.found { Some(serde_json::from_str(&recorded.json)?) } else { None };
            let key = key.map(|k| k.to_record().context("the node's card key does not parse"));
            let recorded =
                recorded.map(|r| r.to_record().context("the node's card record does not parse"));
            card::judge(&signed, key.transpose()?.as_ref(), recorded.transpose()?.as_ref(), today)
        }
    };
    let claims = &signed.claims;
    if args.json {
        say(serde_json::to_string_pretty(&json!({
            "valid": verdict.is_ok(),
            "refusal": verdict.as_ref().err().map(ToString::to_string),
            "member_id": claims.member_id.to_hex(),
            "home_club": claims.home_club.as_str(),
            "tier": claims.tier,
            "valid_until": dates::format_day(claims.valid_until_day),
            "issued_at_ms": claims.issued_at_ms,
            "serial": claims.serial,
            "key_id": signed.key_id.to_hex(),
            "checked_against": if args.public_key.is_some() { "public key" } else { "ledger" },
        }))?);
    } else {
        say(format!("member      {}", claims.member_id.to_hex()));
        say(format!("home club   {}", claims.home_club));
        say(format!("tier        {}", claims.tier));
        say(format!("valid until {}", dates::format_day(claims.valid_until_day)));
        say(format!("card no.    {}", claims.serial));
        say(format!("key id      {}", signed.key_id.to_hex()));
        match &verdict {
            Ok(()) if args.public_key.is_some() => {
                say(
                    "valid: the signature verifies under the given key and the card has not expired (revocation and newer cards not checked: no ledger asked)",
                );
            }
            Ok(()) => say(format!(
                "valid: signed by {}'s card key, the member's current card on the ledger, not expired",
                claims.home_club
            )),
            Err(refusal) => say(format!("refused: {refusal}")),
        }
    }
    // A refused card is a failed check: exit status 1 for scripts.
    anyhow::ensure!(verdict.is_ok(), "the card does not verify");
    Ok(())
}
