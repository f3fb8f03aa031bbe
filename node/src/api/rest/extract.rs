//! Request extractors that answer bad input with the API's JSON error:
//! malformed JSON, wrong types, unknown fields (request types deny them),
//! a missing content type, bad query strings and path segments all get a
//! 400 naming the problem; an oversized body gets 413 (`body_too_large`)
//! naming the limit. Messages quote the input only by a bounded prefix.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::ApiState;
use super::error::{ApiError, bounded};

/// Longest parser explanation passed on, in characters (serde's messages
/// quote the offending field or value).
const PARSER_MESSAGE_CHARS_MAX: usize = 300;

/// A JSON body of type `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<ApiState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &ApiState) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(&rejection, state)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection, state: &ApiState) -> ApiError {
    let explained = || bounded(&rejection.body_text(), PARSER_MESSAGE_CHARS_MAX);
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::unsupported_media_type(
            "the body must be JSON with `Content-Type: application/json`",
        ),
        JsonRejection::JsonSyntaxError(_) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_json",
            format!("the body is not valid JSON: {}", explained()),
        ),
        JsonRejection::JsonDataError(_) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request_body",
            format!("the body does not match the request schema: {}", explained()),
        ),
        _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::body_too_large("api.body_bytes_max", state.settings().body_bytes_max)
        }
        _ => ApiError::new(StatusCode::BAD_REQUEST, "bad_request_body", explained()),
    }
}

/// Query parameters of type `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(query_rejection(&rejection)),
        }
    }
}

fn query_rejection(rejection: &QueryRejection) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_query",
        format!(
            "bad query parameters: {}",
            bounded(&rejection.body_text(), PARSER_MESSAGE_CHARS_MAX)
        ),
    )
}

/// Path parameters of type `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(path_rejection(&rejection)),
        }
    }
}

fn path_rejection(rejection: &PathRejection) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_path",
        format!(
            "bad path parameter: {}",
            bounded(&rejection.body_text(), PARSER_MESSAGE_CHARS_MAX)
        ),
    )
}
