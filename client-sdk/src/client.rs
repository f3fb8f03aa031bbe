//! The gRPC client of a node: submit and wait, transaction status, blocks,
//! queries, status.

use reciprocity_proto::v1 as wire;
use reciprocity_proto::v1::node_client::NodeClient as Raw;
use tonic::transport::Channel;

use crate::{Result, SdkError, TxId};

/// A connection to one node.
#[derive(Debug, Clone)]
pub struct NodeClient {
    endpoint: String,
    raw: Raw<Channel>,
}

impl NodeClient {
    /// Connects to `endpoint` (e.g. `http://127.0.0.1:7201`).
    pub async fn connect(endpoint: &str) -> Result<NodeClient> {
        let raw = Raw::connect(endpoint.to_owned()).await.map_err(|e| SdkError::Node {
            endpoint: endpoint.to_owned(),
            message: e.to_string(),
        })?;
        Ok(NodeClient {
            endpoint: endpoint.to_owned(),
            raw: raw.max_decoding_message_size(64 * 1024 * 1024),
        })
    }

    fn error(&self, status: &tonic::Status) -> SdkError {
        SdkError::Node { endpoint: self.endpoint.clone(), message: status.message().to_owned() }
    }

    /// Submits a signed transaction; with `wait`, returns once it is committed
    /// (or the node's deadline passed: outcome `TimedOut`).
    pub async fn submit(
        &mut self,
        tx: wire::SignedTx,
        wait: bool,
        timeout_ms: u64,
    ) -> Result<wire::SubmitResponse> {
        let request = wire::SubmitRequest { tx: Some(tx), wait, timeout_ms };
        self.raw
            .submit_transaction(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| self.error(&s))
    }

    /// Where a transaction stands.
    pub async fn transaction(&mut self, id: &TxId) -> Result<wire::TransactionStatus> {
        let request = wire::GetTransactionRequest { tx_id: id.0.to_vec() };
        self.raw
            .get_transaction(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| self.error(&s))
    }

    /// One block.
    pub async fn block(&mut self, height: u64) -> Result<wire::Block> {
        self.raw
            .get_block(wire::GetBlockRequest { height })
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| self.error(&s))
    }

    /// Blocks from `from_height` on, then live.
    pub async fn stream_blocks(
        &mut self,
        from_height: u64,
    ) -> Result<tonic::Streaming<wire::Block>> {
        self.raw
            .stream_blocks(wire::StreamBlocksRequest { from_height })
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| self.error(&s))
    }

    /// A state query.
    pub async fn query(
        &mut self,
        query: wire::query_request::Query,
    ) -> Result<wire::QueryResponse> {
        self.raw
            .query(wire::QueryRequest { query: Some(query) })
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| self.error(&s))
    }

    /// The node's status.
    pub async fn status(&mut self) -> Result<wire::NodeStatus> {
        self.raw
            .get_status(wire::GetStatusRequest {})
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| self.error(&s))
    }
}
