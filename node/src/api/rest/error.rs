//! The REST API's one error type. Every 4xx names what was wrong in a JSON
//! body `{"error": {"code": "...", "message": "..."}}`; chaincode refusals
//! carry the validation code's name (409 for a conflict with the ledger's
//! state, 422 for a request the rules reject as malformed); internal errors
//! are logged and answered with a generic 500.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use reciprocity_chaincode::ValidationCode;
use serde::Serialize;

use crate::refusal::Refusal;
pub use crate::words::{bounded, bytes_in_words, count_of, quote};

/// An error answer of the REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `unauthorized` or `MonthlyQuotaExceeded`.
    pub code: String,
    /// What was wrong, in words.
    pub message: String,
    /// Seconds to wait before retrying (429 and 503).
    pub retry_after_s: Option<u64>,
    /// What kind of failure this is, for code that decides what to do next
    /// (retry, report, roll back): never match on [`ApiError::code`].
    pub kind: ErrorKind,
}

/// The kinds of failure callers act on differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is wrong or not allowed; nothing was submitted.
    Request,
    /// The chaincode's rules refuse the transaction (foreseen by this node,
    /// or in a block): it is not and will not be on the ledger as asked.
    Refused(ValidationCode),
    /// The node's queue is full or the caller is over its rate budget:
    /// nothing was done; retry.
    Busy,
    /// The node cannot serve now: retry. A submission may still commit.
    Unavailable,
    /// A fault inside the node: a submission may still commit.
    Internal,
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

/// Result alias of the REST API.
pub type ApiResult<T> = std::result::Result<T, ApiError>;

/// Longest message an error answer carries, in characters: a backstop, so
/// that no refusal can echo a large input back.
pub const MESSAGE_CHARS_MAX: usize = 1_000;

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_owned(),
            message: message.into(),
            retry_after_s: None,
            kind: ErrorKind::Request,
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401: no valid token.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: authenticated, not allowed.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404: no such thing.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409: conflicts with what exists.
    pub fn conflict(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, code, message)
    }

    /// 422: well-formed but invalid.
    pub fn unprocessable(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 413 `body_too_large`: the body is larger than `setting` allows.
    pub fn body_too_large(setting: &str, bytes_max: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "the request body is larger than this endpoint accepts: {setting} = {bytes_max} bytes ({})",
                bytes_in_words(bytes_max)
            ),
        )
    }

    /// 415: the body is not of the media type the endpoint takes.
    pub fn unsupported_media_type(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message)
    }

    /// 503: cannot serve now; retry.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError {
            retry_after_s: Some(1),
            kind: ErrorKind::Unavailable,
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
        }
    }

    /// 503 `request_timeout`: the request took longer than
    /// `api.request_timeout_ms`; a write may still commit.
    pub fn request_timeout(timeout_ms: u64) -> ApiError {
        ApiError {
            retry_after_s: Some(1),
            kind: ErrorKind::Unavailable,
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "request_timeout",
                format!(
                    "the request took longer than api.request_timeout_ms = {timeout_ms} ms; a write may still commit (look its transaction up)"
                ),
            )
        }
    }

    /// 500: logs `error` and answers without details.
    pub fn internal(error: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(%error, "internal error in the REST API");
        ApiError {
            kind: ErrorKind::Internal,
            ..ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; the node's log has the details",
            )
        }
    }

    /// The chaincode's refusal with `code`.
    pub fn refused(code: ValidationCode, detail: &str) -> ApiError {
        let status = if code.is_malformed() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::CONFLICT
        };
        let message = crate::refusal::described(code, detail);
        ApiError { kind: ErrorKind::Refused(code), ..ApiError::new(status, code.name(), message) }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        match refusal {
            Refusal::TooLarge { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "transaction_too_large", refusal.to_string())
            }
            Refusal::Invalid { code, message } => ApiError::refused(code, &message),
            Refusal::Busy { .. } => ApiError {
                retry_after_s: Some(1),
                kind: ErrorKind::Busy,
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", refusal.to_string())
            },
            Refusal::Unavailable { .. } => ApiError::unavailable(refusal.to_string()),
        }
    }
}

impl From<crate::index::IndexError> for ApiError {
    fn from(error: crate::index::IndexError) -> ApiError {
        match error {
            crate::index::IndexError::Database(_) => {
                tracing::warn!(%error, "index database unavailable");
                ApiError::unavailable("the index database is unavailable; retry shortly")
            }
            other => ApiError::internal(&other),
        }
    }
}

impl From<crate::error::NodeError> for ApiError {
    fn from(error: crate::error::NodeError) -> ApiError {
        ApiError::internal(&error)
    }
}

impl From<reciprocity_chaincode::ChaincodeError> for ApiError {
    fn from(error: reciprocity_chaincode::ChaincodeError) -> ApiError {
        ApiError::internal(&error)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = bounded(&self.message, MESSAGE_CHARS_MAX);
        let body = ErrorBody { error: ErrorDetail { code: self.code, message } };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after_s {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_refusal_is_a_conflict_named_by_its_code() {
        let error = ApiError::refused(ValidationCode::MonthlyQuotaExceeded, "");
        assert_eq!(error.status, StatusCode::CONFLICT);
        assert_eq!(error.code, "MonthlyQuotaExceeded");
        assert!(error.message.contains("this month"));
    }

    #[test]
    fn malformed_terms_are_unprocessable() {
        let error = ApiError::refused(ValidationCode::InvalidTerms, "fee currency");
        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(error.message.ends_with("(fee currency)"));
    }

    #[test]
    fn long_input_is_quoted_by_a_short_prefix_and_its_length() {
        assert_eq!(quote("GOLD"), "\"GOLD\"");
        let quoted = quote(&"x".repeat(5_000_000));
        assert!(quoted.len() < 100, "{quoted}");
        assert!(quoted.ends_with("(5000000 characters)"), "{quoted}");
        assert_eq!(bounded("héllo", 2), "hé…");
        assert_eq!(bounded("héllo", 5), "héllo");
    }

    #[tokio::test]
    async fn no_error_answer_carries_more_than_the_message_bound() {
        use http_body_util::BodyExt;
        let error = ApiError::bad_request("y".repeat(100_000));
        let body = error.into_response().into_body().collect().await.unwrap().to_bytes();
        assert!(body.len() < MESSAGE_CHARS_MAX + 100, "{} bytes", body.len());
    }

    #[test]
    fn sizes_and_counts_read_as_people_write_them() {
        assert_eq!(bytes_in_words(512), "512 bytes");
        assert_eq!(bytes_in_words(64 * 1024), "64 KiB");
        assert_eq!(bytes_in_words(1024 * 1024 * 3 / 2), "1.5 MiB");
        assert_eq!(count_of(1, "row is", "rows are"), "1 row is");
        assert_eq!(count_of(3, "row is", "rows are"), "3 rows are");
        let error = ApiError::body_too_large("api.body_bytes_max", 1024 * 1024);
        assert_eq!(error.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(
            error.message.contains("api.body_bytes_max = 1048576 bytes (1 MiB)"),
            "{}",
            error.message
        );
    }

    #[test]
    fn busy_mempool_answers_503_with_retry_after() {
        let error = ApiError::from(Refusal::Busy { max: 10 });
        assert_eq!(error.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.retry_after_s, Some(1));
    }
}
