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
    /// Connects to `endpoint` (e.g. `http://127.0.0.1:7201`); the error of
    /// a failed connection says what was tried and what to check.
    pub async fn connect(endpoint: &str) -> Result<NodeClient> {
        check_endpoint(endpoint)?;
        let raw = Raw::connect(endpoint.to_owned()).await.map_err(|e| SdkError::Node {
            endpoint: endpoint.to_owned(),
            message: format!(
                "cannot connect: {}. Is the node running, and is this its gRPC address \
                 (grpc_listen in its node.toml; {GRPC_DEFAULT} by default)?",
                error_chain(&e)
            ),
        })?;
        Ok(NodeClient {
            endpoint: endpoint.to_owned(),
            raw: raw.max_decoding_message_size(64 * 1024 * 1024),
        })
    }

    fn error(&self, status: &tonic::Status) -> SdkError {
        SdkError::Node { endpoint: self.endpoint.clone(), message: explain_status(status) }
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

/// Where a local node serves gRPC unless configured otherwise.
const GRPC_DEFAULT: &str = "http://127.0.0.1:7200";

/// Refuses an endpoint that is not an `http://` or `https://` URL, saying
/// how to write it.
fn check_endpoint(endpoint: &str) -> Result<()> {
    let invalid = |reason: String| SdkError::Invalid { what: "endpoint", reason };
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return Err(invalid(format!(
            "{endpoint:?} is not a URL: write the scheme, e.g. http://{endpoint}"
        )));
    }
    tonic::transport::Endpoint::from_shared(endpoint.to_owned())
        .map_err(|e| invalid(format!("{endpoint:?} is not a valid URL: {}", error_chain(&e))))?;
    Ok(())
}

/// An error and its causes, joined (tonic's own text is only "transport error").
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

/// A gRPC status in words; a peer that is not a gRPC server (the node's
/// HTTP port, another service) is named as such.
fn explain_status(status: &tonic::Status) -> String {
    let message = status.message();
    let not_grpc = message.contains("compression flag")
        // An HTTP/1 server answering the HTTP/2 preface; not the GOAWAY or
        // stream resets a real node sends while restarting or under load.
        || (message.contains("h2 protocol error")
            && (message.contains("frame with invalid size")
                || message.contains("HTTP_1_1_REQUIRED")))
        || message.contains("content-type")
        || (status.code() == tonic::Code::Unknown && message.contains("HTTP status"));
    if not_grpc {
        return format!(
            "it answered, but not as a Reciprocity node's gRPC API ({message}). Is this the node's \
             HTTP port? The CLI talks gRPC: grpc_listen in node.toml ({GRPC_DEFAULT} by default), \
             not http_listen (127.0.0.1:7000)"
        );
    }
    if status.code() == tonic::Code::Unavailable && message.contains("transport") {
        return format!(
            "the connection failed ({message}{}); is the node still running?",
            std::error::Error::source(status)
                .map(|s| format!(": {}", error_chain(s)))
                .unwrap_or_default()
        );
    }
    message.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_without_a_scheme_is_refused_with_the_fix() {
        let error = check_endpoint("127.0.0.1:7200").unwrap_err().to_string();
        assert!(error.contains("http://127.0.0.1:7200"), "{error}");
        assert!(check_endpoint("http://127.0.0.1:7200").is_ok());
    }

    #[test]
    fn a_non_grpc_answer_names_the_http_port() {
        let status = tonic::Status::internal("protocol error: invalid compression flag: 123");
        let text = explain_status(&status);
        assert!(text.contains("HTTP port") && text.contains("grpc_listen"), "{text}");
    }

    #[test]
    fn a_real_nodes_stream_reset_or_goaway_is_not_blamed_on_the_port() {
        for message in [
            "h2 protocol error: stream error received: refused stream before processing any application logic",
            "h2 protocol error: error reading a body from connection: connection error received: not a result of an error (GOAWAY)",
        ] {
            let text = explain_status(&tonic::Status::unknown(message));
            assert!(!text.contains("HTTP port"), "{text}");
        }
    }
}
