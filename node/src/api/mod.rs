//! The node's external APIs: gRPC (tonic) now; REST (axum) with the index issue.

pub mod grpc;
