//! The gRPC service (`reciprocity.v1.Node`), plus the standard health and
//! reflection services.

use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use reciprocity_chaincode::{ClubId, MemberId, PublicKey, TxId, ValidationCode, query};
use reciprocity_proto::v1 as pb;
use reciprocity_proto::v1::node_server::{Node, NodeServer};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::api::views::{
    ClubView, IdentityView, IntroductionRecordView, MemberRecordView, VisitRecordView,
};
use crate::clock::now_ms;
use crate::consensus::node_id_hex;
use crate::refusal::Refusal;
use crate::service::node::NodeHandle;
use crate::service::submit::Submitted;

/// The gRPC service over a running node.
#[derive(Debug, Clone)]
pub struct GrpcService {
    node: NodeHandle,
}

impl GrpcService {
    /// The service for `node`.
    pub fn new(node: NodeHandle) -> GrpcService {
        GrpcService { node }
    }
}

fn internal(error: impl std::fmt::Display) -> Status {
    tracing::error!(%error, "internal error");
    Status::internal("internal error; see the node's log")
}

fn code_name(code: u32) -> String {
    ValidationCode::from_number(code)
        .map_or_else(|| format!("Unknown{code}"), |c| c.name().to_owned())
}

fn refusal_status(refusal: &Refusal) -> Status {
    match refusal {
        Refusal::Busy { .. } => Status::resource_exhausted(refusal.to_string()),
        Refusal::Unavailable { .. } => Status::unavailable(refusal.to_string()),
        Refusal::TooLarge { .. } | Refusal::Invalid { .. } => {
            Status::invalid_argument(refusal.to_string())
        }
    }
}

fn tx_id_of(bytes: &[u8]) -> Result<TxId, Status> {
    TxId::from_slice(bytes).ok_or_else(|| Status::invalid_argument("tx_id must be 32 bytes"))
}

fn club_of(text: &str) -> Result<ClubId, Status> {
    ClubId::parse(text)
        .ok_or_else(|| Status::invalid_argument(format!("{text:?} is not a club id")))
}

fn member_of(bytes: &[u8]) -> Result<MemberId, Status> {
    MemberId::from_slice(bytes)
        .ok_or_else(|| Status::invalid_argument("member_id must be 16 bytes"))
}

fn json<T: serde::Serialize>(value: Option<T>) -> Result<(bool, String), Status> {
    match value {
        Some(v) => Ok((true, serde_json::to_string(&v).map_err(internal)?)),
        None => Ok((false, String::new())),
    }
}

type BlockStream = Pin<Box<dyn Stream<Item = Result<pb::Block, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl Node for GrpcService {
    #[tracing::instrument(level = "info", skip_all, fields(wait = request.get_ref().wait))]
    async fn submit_transaction(
        &self,
        request: Request<pb::SubmitRequest>,
    ) -> Result<Response<pb::SubmitResponse>, Status> {
        let request = request.into_inner();
        let tx = request.tx.ok_or_else(|| Status::invalid_argument("tx is missing"))?;
        let limits = &self.node.config().limits;
        let timeout_ms = match request.timeout_ms {
            0 => limits.submit_timeout_ms,
            ms => ms.min(limits.submit_timeout_ms_max),
        };
        let (tx_id, submitted) = self
            .node
            .submit(tx, request.wait, Duration::from_millis(timeout_ms))
            .await
            .map_err(|r| refusal_status(&r))?;
        let mut response = pb::SubmitResponse { tx_id: tx_id.0.to_vec(), ..Default::default() };
        match submitted {
            Submitted::Committed(location) => {
                response.outcome = pb::SubmitOutcome::Committed as i32;
                response.height = location.height;
                response.position = location.position;
                response.code = location.code;
                response.code_name = code_name(location.code);
            }
            Submitted::Accepted => response.outcome = pb::SubmitOutcome::Accepted as i32,
            Submitted::TimedOut => response.outcome = pb::SubmitOutcome::TimedOut as i32,
        }
        Ok(Response::new(response))
    }

    async fn get_transaction(
        &self,
        request: Request<pb::GetTransactionRequest>,
    ) -> Result<Response<pb::TransactionStatus>, Status> {
        let id = tx_id_of(&request.get_ref().tx_id)?;
        let mut status = pb::TransactionStatus { tx_id: id.0.to_vec(), ..Default::default() };
        if let Some(location) = self.node.ledger().tx_location(&id).map_err(internal)? {
            status.state = pb::TxState::Committed as i32;
            status.height = location.height;
            status.position = location.position;
            status.code = location.code;
            status.code_name = code_name(location.code);
        } else if self.node.is_pending(&id) {
            status.state = pb::TxState::Pending as i32;
        } else {
            status.state = pb::TxState::Unknown as i32;
        }
        Ok(Response::new(status))
    }

    async fn get_block(
        &self,
        request: Request<pb::GetBlockRequest>,
    ) -> Result<Response<pb::Block>, Status> {
        let height = request.get_ref().height;
        self.node
            .ledger()
            .block(height)
            .map_err(internal)?
            .map(Response::new)
            .ok_or_else(|| Status::not_found(format!("no block at height {height}")))
    }

    type StreamBlocksStream = BlockStream;

    async fn stream_blocks(
        &self,
        request: Request<pb::StreamBlocksRequest>,
    ) -> Result<Response<Self::StreamBlocksStream>, Status> {
        let from = request.get_ref().from_height.max(1);
        let node = self.node.clone();
        let buffered = node.config().limits.stream_blocks_buffered_max;
        let (sender, receiver) = tokio::sync::mpsc::channel(buffered);
        // Subscribe before reading stored blocks so nothing falls in between.
        let mut live = node.subscribe();
        tokio::spawn(async move {
            let mut next = from;
            loop {
                // Stored blocks first (also catches up after falling behind live).
                loop {
                    match node.ledger().block(next) {
                        Ok(Some(block)) => {
                            if sender.send(Ok(block)).await.is_err() {
                                return;
                            }
                            next += 1;
                        }
                        Ok(None) => break,
                        Err(e) => {
                            let _ = sender.send(Err(internal(e))).await;
                            return;
                        }
                    }
                }
                let received = tokio::select! {
                    received = live.recv() => received,
                    () = sender.closed() => return,
                };
                match received {
                    Ok(applied) => {
                        let height = applied.block.header.as_ref().map_or(0, |h| h.height);
                        if height == next {
                            if sender.send(Ok(applied.block.clone())).await.is_err() {
                                return;
                            }
                            next += 1;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(receiver))))
    }

    async fn query(
        &self,
        request: Request<pb::QueryRequest>,
    ) -> Result<Response<pb::QueryResponse>, Status> {
        use pb::query_request::Query;
        let ledger = self.node.ledger();
        let state = ledger.state();
        let height = ledger.height().map_err(internal)?;
        let query = request
            .into_inner()
            .query
            .ok_or_else(|| Status::invalid_argument("query is missing"))?;
        // Every answer is written as the REST API writes it (`api::views`).
        let (found, json) = match query {
            Query::Club(id) => {
                json(query::club(&state, &club_of(&id)?).map_err(internal)?.map(ClubView::of))?
            }
            Query::Clubs(_) => json(Some(
                query::clubs(&state)
                    .map_err(internal)?
                    .into_iter()
                    .map(ClubView::of)
                    .collect::<Vec<_>>(),
            ))?,
            Query::Identity(key) => {
                let key = PublicKey::from_slice(&key)
                    .ok_or_else(|| Status::invalid_argument("identity must be 32 bytes"))?;
                json(
                    query::identity(&state, &key).map_err(internal)?.as_ref().map(IdentityView::of),
                )?
            }
            Query::Member(id) => json(
                query::member(&state, &member_of(&id)?)
                    .map_err(internal)?
                    .as_ref()
                    .map(MemberRecordView::of),
            )?,
            Query::Agreement(pair) => {
                let (a, b) = (club_of(&pair.club_a)?, club_of(&pair.club_b)?);
                let agreement = query::agreement(&state, &a, &b).map_err(internal)?;
                let history = match (&agreement, self.node.index_store()) {
                    (Some(_), Some(store)) => {
                        store.agreement_history(a.as_str(), b.as_str()).await.unwrap_or_default()
                    }
                    _ => Vec::new(),
                };
                let today = reciprocity_sdk::dates::day_of_ms(now_ms());
                json(agreement.map(|agreement| {
                    crate::api::rest::agreements::view_of(&agreement, today, history)
                }))?
            }
            Query::VisitCheck(check) => {
                let at_ms = if check.at_ms == 0 { now_ms() } else { check.at_ms };
                let answer = query::check_visit(
                    &state,
                    at_ms,
                    &club_of(&check.host_club)?,
                    &member_of(&check.member_id)?,
                    check.guests,
                )
                .map_err(internal)?;
                json(Some(crate::api::rest::visits::check_response(answer, height)))?
            }
            Query::Proposal(id) => {
                let proposal = query::proposal(&state, &tx_id_of(&id)?).map_err(internal)?;
                json(proposal.map(|p| crate::api::rest::governance::proposal_view(&p, None)))?
            }
            Query::OpenProposals(_) => json(Some(
                query::open_proposals(&state, 1_000)
                    .map_err(internal)?
                    .iter()
                    .map(|p| crate::api::rest::governance::proposal_view(p, None))
                    .collect::<Vec<_>>(),
            ))?,
            Query::Visit(id) => json(
                query::visit(&state, &tx_id_of(&id)?)
                    .map_err(internal)?
                    .as_ref()
                    .map(VisitRecordView::of),
            )?,
            Query::CardKey(id) => {
                let id = reciprocity_chaincode::CardKeyId::from_slice(&id)
                    .ok_or_else(|| Status::invalid_argument("card_key must be an 8-byte key id"))?;
                json(
                    query::card_key(&state, &id)
                        .map_err(internal)?
                        .as_ref()
                        .map(crate::api::views::CardKeyView::of),
                )?
            }
            Query::MemberCard(id) => json(
                query::member_card(&state, &member_of(&id)?)
                    .map_err(internal)?
                    .as_ref()
                    .map(crate::api::views::MemberCardView::of),
            )?,
            Query::Introduction(intro) => json(
                query::introduction(
                    &state,
                    &club_of(&intro.host_club)?,
                    &member_of(&intro.member_id)?,
                )
                .map_err(internal)?
                .as_ref()
                .map(IntroductionRecordView::of),
            )?,
        };
        Ok(Response::new(pb::QueryResponse { found, json, height }))
    }

    async fn get_status(
        &self,
        _request: Request<pb::GetStatusRequest>,
    ) -> Result<Response<pb::NodeStatus>, Status> {
        let status = self.node.status().map_err(internal)?;
        Ok(Response::new(pb::NodeStatus {
            node_id: node_id_hex(status.node_id),
            club: status.club,
            role: status.role,
            term: status.term,
            leader: status.leader.map(node_id_hex).unwrap_or_default(),
            height: status.height,
            state_hash: hex::decode(&status.state_hash).unwrap_or_default(),
            last_block_time_ms: status.last_block_time_ms,
            chain_id: status.chain_id,
            mempool_txs: u32::try_from(status.mempool_txs).unwrap_or(u32::MAX),
            members: status
                .members
                .into_iter()
                .map(|m| pb::RaftMember {
                    node_id: node_id_hex(m.node_id),
                    club: m.club,
                    address: m.address,
                    role: m.role,
                    connected: m.connected,
                    link: m.link,
                })
                .collect(),
            leader_club: status.leader_club.unwrap_or_default(),
            club_active: status.club_active,
            connected_peers: u32::try_from(status.connected_peers).unwrap_or(u32::MAX),
            millis_since_quorum_ack: status.millis_since_quorum_ack.unwrap_or(0),
            index_enabled: status.index_lag_blocks.is_some(),
            index_lag_blocks: status.index_lag_blocks.unwrap_or(0),
        }))
    }
}

/// Serves gRPC (node API, health, reflection) on `addr` until `shutdown` resolves.
pub async fn serve(
    node: NodeHandle,
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> crate::Result<()> {
    let api = |e: &dyn std::fmt::Display| crate::NodeError::Api(e.to_string());
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<NodeServer<GrpcService>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(reciprocity_proto::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| api(&e))?;
    tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection)
        .add_service(NodeServer::new(GrpcService::new(node)))
        .serve_with_shutdown(addr, shutdown)
        .await
        .map_err(|e| api(&e))?;
    Ok(())
}
