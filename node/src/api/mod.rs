//! The node's external APIs: [`grpc`] (tonic: submit, query, stream,
//! status), [`http`] (axum: health, readiness, Prometheus metrics, the
//! OpenAPI document), [`rest`] (the staff REST API under `/v1`) and
//! [`web`] (the staff web app at `/`), both served by the same HTTP
//! server. [`views`] writes ledger records the same way for all of them.

pub mod grpc;
pub mod http;
pub mod rest;
pub mod views;
pub mod web;
