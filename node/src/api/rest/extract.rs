//! Request extractors that answer bad input with the API's JSON error:
//! malformed JSON, wrong types, unknown fields (request types deny them),
//! a missing content type, bad query strings and path segments all get a
//! 400 naming the problem, an oversized body included (code
//! `body_too_large`).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON body of type `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_content_type",
            "the body must be JSON with `Content-Type: application/json`",
        ),
        JsonRejection::JsonSyntaxError(_) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_json",
            format!("the body is not valid JSON: {}", rejection.body_text()),
        ),
        JsonRejection::JsonDataError(_) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request_body",
            format!("the body does not match the request schema: {}", rejection.body_text()),
        ),
        _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => body_too_large(),
        _ => ApiError::new(StatusCode::BAD_REQUEST, "bad_request_body", rejection.body_text()),
    }
}

/// 400 `body_too_large`: bad input like any other (as the API promises for
/// every malformed request), with the limit named.
pub fn body_too_large() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "body_too_large",
        "the request body is larger than this endpoint accepts (api.body_bytes_max, api.import_bytes_max)",
    )
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
        format!("bad query parameters: {}", rejection.body_text()),
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
        format!("bad path parameter: {}", rejection.body_text()),
    )
}
