//! The ledger: submitting a transaction signed by the caller's own key,
//! transaction status, blocks, clubs and the network's status.

use axum::extract::State;
use axum::http::StatusCode;
use reciprocity_chaincode::{PublicKey, TxId};
use reciprocity_proto::v1 as pb;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult, ErrorBody, quote};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::require::{AnyRole, Require};
use super::{ApiState, TxReceipt};
use crate::api::views::ClubView;

/// A signed transaction envelope.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// The encoded `TxPayload` (hex).
    pub payload: String,
    /// The signer's public key (64 hex digits): an identity of the caller's club.
    pub signer: String,
    /// Ed25519 signature of `"reciprocity/tx/v1" || payload` (128 hex digits).
    pub signature: String,
}

fn hex_field(field: &str, text: &str) -> ApiResult<Vec<u8>> {
    hex::decode(text).map_err(|_| ApiError::bad_request(format!("{field} is not hex")))
}

/// Submits a transaction signed by the caller's own key and waits for its commit.
#[utoipa::path(post, path = "/v1/transactions", tag = "ledger", security(("bearer" = [])),
    request_body = SubmitRequest,
    responses(
        (status = 201, description = "Committed", body = TxReceipt),
        (status = 202, description = "Admitted; commit pending", body = TxReceipt),
        (status = 400, description = "Malformed envelope", body = ErrorBody),
        (status = 403, description = "Signed by a key of another club", body = ErrorBody),
        (status = 409, description = "Refused by the ledger's rules", body = ErrorBody),
        (status = 422, description = "Invalid transaction", body = ErrorBody),
        (status = 503, description = "Busy or no leader; retry", body = ErrorBody)))]
pub async fn submit_transaction(
    caller: Require<AnyRole>,
    State(state): State<ApiState>,
    ApiJson(request): ApiJson<SubmitRequest>,
) -> ApiResult<(StatusCode, axum::Json<TxReceipt>)> {
    let signer = PublicKey::from_hex(&request.signer)
        .ok_or_else(|| ApiError::bad_request("signer is not 64 hex digits"))?;
    let tx = pb::SignedTx {
        payload: hex_field("payload", &request.payload)?,
        signer: signer.0.to_vec(),
        signature: hex_field("signature", &request.signature)?,
    };
    // A key login submits what its own key signed.
    if let Some(own) = &caller.key
        && own != &signer
    {
        return Err(ApiError::forbidden(format!(
            "{} may submit only transactions signed by its own key",
            caller.principal
        )));
    }
    // The signer must act for the caller's club (the chaincode then checks its role).
    let signer_club = {
        let view = state.node().ledger().state();
        match reciprocity_chaincode::query::identity(&view, &signer)? {
            Some(identity) => Some(identity.club_id),
            None => reciprocity_chaincode::query::clubs(&view)?
                .into_iter()
                .find(|c| c.spec.club_key == signer)
                .map(|c| c.spec.club_id),
        }
    };
    match signer_club {
        Some(club) if club == caller.club => {}
        Some(club) => {
            return Err(ApiError::forbidden(format!(
                "the signer acts for club {club}; {} acts for {}",
                caller.principal, caller.club
            )));
        }
        None => {
            return Err(ApiError::refused(
                reciprocity_chaincode::ValidationCode::UnknownSigner,
                "",
            ));
        }
    }
    let tx_id = reciprocity_chaincode::tx_id(&tx.payload).to_hex();
    // The signature first: the dry run in `submit` takes it as valid.
    let envelope = reciprocity_chaincode::EnvelopeRef::from_signed(&tx);
    let result = match reciprocity_chaincode::verify_envelope(&envelope) {
        reciprocity_chaincode::BlockTx::BadSignature { .. } => {
            Err(crate::service::admission::bad_signature().into())
        }
        reciprocity_chaincode::BlockTx::Verified(_) => state.submit(tx).await,
    };
    let outcome = result.as_ref().map_or_else(|e| e.code.clone(), |_| "ok".to_owned());
    state.audit(&caller.principal, "transaction.submit", None, &outcome, Some(&tx_id)).await;
    let (status, receipt) = result?;
    Ok((status, axum::Json(receipt)))
}

/// Where a transaction stands.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TxStatus {
    /// The id.
    pub tx_id: String,
    /// `committed` or `pending` (waiting in this node's mempool).
    pub status: String,
    /// Block height, when committed.
    pub height: Option<u64>,
    /// Position in the block.
    pub position: Option<u32>,
    /// Validation code name (`Ok` when applied).
    pub code: Option<String>,
}

/// A transaction's status.
#[utoipa::path(get, path = "/v1/transactions/{tx_id}", tag = "ledger", security(("bearer" = [])),
    params(("tx_id" = String, Path, description = "Transaction id, 64 hex digits")),
    responses(
        (status = 200, description = "Committed or pending", body = TxStatus),
        (status = 404, description = "Unknown to this node", body = ErrorBody)))]
pub async fn transaction_status(
    _caller: Require<AnyRole>,
    State(state): State<ApiState>,
    ApiPath(tx_id): ApiPath<String>,
) -> ApiResult<axum::Json<TxStatus>> {
    let id = TxId::from_hex(&tx_id)
        .ok_or_else(|| ApiError::bad_request(format!("{} is not 64 hex digits", quote(&tx_id))))?;
    if let Some(location) = state.node().ledger().tx_location(&id)? {
        let code = reciprocity_chaincode::ValidationCode::from_number(location.code)
            .map_or_else(|| location.code.to_string(), |c| c.name().to_owned());
        return Ok(axum::Json(TxStatus {
            tx_id,
            status: "committed".to_owned(),
            height: Some(location.height),
            position: Some(location.position),
            code: Some(code),
        }));
    }
    if state.node().is_pending(&id) {
        return Ok(axum::Json(TxStatus {
            tx_id,
            status: "pending".to_owned(),
            height: None,
            position: None,
            code: None,
        }));
    }
    Err(ApiError::not_found(format!("transaction {tx_id} is neither committed nor pending here")))
}

/// A block header.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BlockView {
    /// Height.
    pub height: u64,
    /// Block time (Unix ms).
    pub timestamp_ms: u64,
    /// Hash of the previous header (hex).
    pub prev_block_hash: String,
    /// State hash after the block (hex).
    pub state_hash: String,
    /// Merkle root of the transactions (hex).
    pub tx_root: String,
    /// Transactions in it.
    pub tx_count: u32,
}

/// A block with its transactions' outcomes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BlockDetail {
    /// The header.
    pub header: BlockView,
    /// Each transaction's id and code name, in order.
    pub transactions: Vec<TxOutcomeView>,
}

/// One transaction's outcome in a block.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TxOutcomeView {
    /// Id.
    pub tx_id: String,
    /// Validation code name.
    pub code: String,
}

fn header_view(header: &pb::BlockHeader) -> BlockView {
    BlockView {
        height: header.height,
        timestamp_ms: header.timestamp_ms,
        prev_block_hash: hex::encode(&header.prev_block_hash),
        state_hash: hex::encode(&header.state_hash),
        tx_root: hex::encode(&header.tx_root),
        tx_count: header.tx_count,
    }
}

/// Block listing range.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BlockRange {
    /// Highest height to list (default: the tip).
    pub before: Option<u64>,
    /// Page size.
    pub limit: Option<u32>,
}

/// A page of block headers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BlockPage {
    /// Headers, newest first.
    pub blocks: Vec<BlockView>,
}

/// Lists block headers, newest first.
#[utoipa::path(get, path = "/v1/blocks", tag = "ledger", security(("bearer" = [])),
    params(BlockRange),
    responses((status = 200, description = "Block headers", body = BlockPage)))]
pub async fn list_blocks(
    _caller: Require<AnyRole>,
    State(state): State<ApiState>,
    ApiQuery(range): ApiQuery<BlockRange>,
) -> ApiResult<axum::Json<BlockPage>> {
    let limit = u64::from(state.page_size(range.limit)?);
    let ledger = state.node().ledger();
    let tip = ledger.height()?;
    let top = range.before.map_or(tip, |b| b.min(tip));
    let mut blocks = Vec::new();
    let mut height = top;
    while height >= 1 && (blocks.len() as u64) < limit {
        if let Some(header) = ledger.header(height)? {
            blocks.push(header_view(&header));
        }
        height -= 1;
    }
    Ok(axum::Json(BlockPage { blocks }))
}

/// A block by height.
#[utoipa::path(get, path = "/v1/blocks/{height}", tag = "ledger", security(("bearer" = [])),
    params(("height" = u64, Path, description = "Block height")),
    responses(
        (status = 200, description = "The block", body = BlockDetail),
        (status = 404, description = "No block at that height", body = ErrorBody)))]
pub async fn get_block(
    _caller: Require<AnyRole>,
    State(state): State<ApiState>,
    ApiPath(height): ApiPath<u64>,
) -> ApiResult<axum::Json<BlockDetail>> {
    let block = state
        .node()
        .ledger()
        .block(height)?
        .ok_or_else(|| ApiError::not_found(format!("no block at height {height}")))?;
    let header = block
        .header
        .as_ref()
        .map(header_view)
        .ok_or_else(|| ApiError::internal(&"block without header"))?;
    let transactions = block
        .results
        .iter()
        .map(|r| TxOutcomeView { tx_id: hex::encode(&r.tx_id), code: r.code_name.clone() })
        .collect();
    Ok(axum::Json(BlockDetail { header, transactions }))
}

/// The clubs list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClubList {
    /// Every club, by id.
    pub clubs: Vec<ClubView>,
}

/// Every club of the network.
#[utoipa::path(get, path = "/v1/clubs", tag = "ledger", security(("bearer" = [])),
    responses((status = 200, description = "Clubs", body = ClubList)))]
pub async fn list_clubs(
    _caller: Require<AnyRole>,
    State(state): State<ApiState>,
) -> ApiResult<axum::Json<ClubList>> {
    let view = state.node().ledger().state();
    let clubs = reciprocity_chaincode::query::clubs(&view)?.into_iter().map(ClubView::of).collect();
    Ok(axum::Json(ClubList { clubs }))
}

/// One member of the Raft membership, as this node sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RaftMemberView {
    /// Raft node id (16 hex digits, as `recip status` prints it).
    pub node_id: String,
    /// Its club.
    pub club: String,
    /// Where peers dial it (a multiaddr).
    pub address: String,
    /// `voter` or `learner`.
    pub role: String,
    /// Whether this node has a connection to it (true for itself).
    pub connected: bool,
    /// The connection in words: `self`, `connected`, `dialing`,
    /// `unreachable (N failed dials, retry in M ms): <last error>`, or
    /// `not kept` (a learner this node dials only to send it something).
    pub link: String,
}

/// This node's view of itself and of the network.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NetworkView {
    /// This node's Raft node id (16 hex digits).
    pub node_id: String,
    /// This node's club.
    pub club: String,
    /// `leader`, `follower`, `candidate` or `learner`.
    pub role: String,
    /// Current Raft term.
    pub term: u64,
    /// The leader's node id (16 hex digits), when known.
    pub leader: Option<String>,
    /// The leader's club, when known.
    pub leader_club: Option<String>,
    /// Ledger height.
    pub height: u64,
    /// State hash after the last block (hex).
    pub state_hash: String,
    /// Time of the last block (Unix ms).
    pub last_block_time_ms: u64,
    /// The network's chain id.
    pub chain_id: String,
    /// Transactions waiting in this node's mempool.
    pub mempool_txs: u64,
    /// Whether this node's club is active on its ledger.
    pub club_active: bool,
    /// Peers with an open connection.
    pub connected_peers: u64,
    /// For a leader: ms since a majority last acknowledged it.
    pub millis_since_quorum_ack: Option<u64>,
    /// Blocks applied but not yet in the SQL index.
    pub index_lag_blocks: Option<u64>,
    /// A block the index cannot project, if any.
    pub index_stuck_height: Option<u64>,
    /// The Raft membership: voters first, then learners.
    pub members: Vec<RaftMemberView>,
}

/// This node's view of the network (role, leader, height, members and
/// their connections, index lag).
#[utoipa::path(get, path = "/v1/network", tag = "ledger", security(("bearer" = [])),
    responses((status = 200, description = "Network status", body = NetworkView)))]
pub async fn network_status(
    _caller: Require<AnyRole>,
    State(state): State<ApiState>,
) -> ApiResult<axum::Json<NetworkView>> {
    use crate::consensus::node_id_hex;
    let status = state.node().status()?;
    Ok(axum::Json(NetworkView {
        node_id: node_id_hex(status.node_id),
        club: status.club,
        role: status.role,
        term: status.term,
        leader: status.leader.map(node_id_hex),
        leader_club: status.leader_club,
        height: status.height,
        state_hash: status.state_hash,
        last_block_time_ms: status.last_block_time_ms,
        chain_id: status.chain_id,
        mempool_txs: status.mempool_txs as u64,
        club_active: status.club_active,
        connected_peers: status.connected_peers as u64,
        millis_since_quorum_ack: status.millis_since_quorum_ack,
        index_lag_blocks: status.index_lag_blocks,
        index_stuck_height: status.index_stuck_height,
        members: status
            .members
            .into_iter()
            .map(|m| RaftMemberView {
                node_id: node_id_hex(m.node_id),
                club: m.club,
                address: m.address,
                role: m.role,
                connected: m.connected,
                link: m.link,
            })
            .collect(),
    }))
}
