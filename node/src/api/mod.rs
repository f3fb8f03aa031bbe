//! The node's external APIs: [`grpc`] (tonic: submit, query, stream,
//! status) and [`http`] (axum: health, readiness, Prometheus metrics; the
//! staff REST API arrives on the same server).

pub mod grpc;
pub mod http;
