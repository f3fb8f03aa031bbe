//! The node's external APIs: [`grpc`] (tonic: submit, query, stream,
//! status), [`http`] (axum: health, readiness, Prometheus metrics, the
//! OpenAPI document) and [`rest`] (the staff REST API under `/v1`, served
//! by the same HTTP server). [`views`] writes ledger records the same way
//! for both.

pub mod grpc;
pub mod http;
pub mod rest;
pub mod views;
