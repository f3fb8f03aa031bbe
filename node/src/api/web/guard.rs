//! What every request to the web app passes before its handler.
//!
//! - [`csrf`]: a request that may change something (any method but GET and
//!   HEAD) must carry the CSRF token of the session its cookie names — in
//!   the `X-CSRF-Token` header or the form's `csrf` field — or, for the
//!   sign-in form, the token of its own `recip_login` cookie (whatever
//!   session the browser still holds). Anything else is refused with 403
//!   before a handler runs, so no handler can forget the check. A request
//!   without the header must be an encoded form, whose body is read here
//!   (at most `api.body_bytes_max`, within `api.request_timeout_ms`) and
//!   handed on unchanged, or, on the member import only, a file-upload
//!   form (`multipart/form-data`, at most `api.import_bytes_max`), whose
//!   `csrf` field must come before its file.
//! - [`page_headers`]: the Content-Security-Policy (scripts, styles,
//!   images and connections from this origin only; no inline script, no
//!   framing, forms post only here), `nosniff`, no referrer, the camera
//!   for this origin only, and `no-store` unless the answer says how it may
//!   be cached (pages show members' data; assets are immutable).

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::page::problem_page_plain;
use super::session::{LOGIN_COOKIE, SESSION_COOKIE, cookie_value};
use crate::api::rest::ApiState;
use crate::api::rest::web_sessions::tokens_match;

/// The one route that takes a file-upload form (`multipart/form-data`).
pub const UPLOAD_PATH: &str = "/members/import";

/// The header htmx sends the token in (from the page's `hx-headers`).
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The Content-Security-Policy of every page.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; media-src 'self' blob:; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The token a form body carries in its `csrf` field.
fn form_token(body: &[u8]) -> Option<String> {
    form_urlencoded::parse(body).find(|(key, _)| key == "csrf").map(|(_, v)| v.into_owned())
}

/// The token a file-upload body carries in its `csrf` field, which must
/// come before any file (browsers send fields in the form's order).
async fn multipart_token(body: Bytes, boundary: String) -> Option<String> {
    let stream = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.file_name().is_some() {
            return None;
        }
        if field.name() == Some("csrf") {
            return field.text().await.ok();
        }
    }
    None
}

fn refused(message: &str) -> Response {
    problem_page_plain(StatusCode::FORBIDDEN, "This form could not be accepted", message)
}

/// Refuses a state-changing request without the right CSRF token.
pub async fn csrf(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let headers = request.headers();
    // The sign-in form is always checked against its own cookie, whatever
    // session the browser may still hold (signing in again must work).
    let expected = if request.uri().path() == "/login" {
        match cookie_value(headers, LOGIN_COOKIE) {
            Some(token) if !token.is_empty() => token.to_owned(),
            _ => {
                return refused(
                    "The sign-in form expired or cookies are blocked. Reload the page and sign in again.",
                );
            }
        }
    } else {
        match cookie_value(headers, SESSION_COOKIE).and_then(|id| state.web_sessions().touch(id)) {
            Some(session) => session.csrf,
            // Signing out of an ended session just goes to the sign-in page.
            None if request.uri().path() == "/logout" => {
                return axum::response::Redirect::to("/login").into_response();
            }
            None => {
                return refused(
                    "You are signed out (the session ended). Sign in again and repeat.",
                );
            }
        }
    };
    let presented_header =
        headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let is_form = content_type.is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    // File uploads are taken by the member import only.
    let boundary = content_type
        .filter(|t| t.starts_with("multipart/form-data"))
        .filter(|_| request.uri().path() == UPLOAD_PATH)
        .and_then(|t| multer::parse_boundary(t).ok());
    if let Some(token) = &presented_header {
        return if tokens_match(token, &expected) {
            next.run(request).await
        } else {
            refused(
                "The form was out of date or not sent from this app. Reload the page and try again.",
            )
        };
    }
    if !is_form && boundary.is_none() {
        return refused("The form carried no CSRF token. Reload the page and try again.");
    }
    let (parts, body) = request.into_parts();
    let (limit, setting) = if boundary.is_some() {
        (state.settings().import_bytes_max, "api.import_bytes_max")
    } else {
        (state.settings().body_bytes_max, "api.body_bytes_max")
    };
    let wait = std::time::Duration::from_millis(state.settings().request_timeout_ms);
    let bytes: Bytes = match tokio::time::timeout(wait, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            return problem_page_plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The form is too large",
                &format!("A form may hold at most {limit} bytes ({setting})."),
            );
        }
        Err(_) => {
            return problem_page_plain(
                StatusCode::REQUEST_TIMEOUT,
                "The form took too long to arrive",
                "The form was not received in time; try again.",
            );
        }
    };
    let token = match boundary {
        Some(boundary) => multipart_token(bytes.clone(), boundary).await,
        None => form_token(&bytes),
    };
    match token {
        Some(token) if tokens_match(&token, &expected) => {
            next.run(Request::from_parts(parts, Body::from(bytes))).await
        }
        Some(_) => refused(
            "The form was out of date or not sent from this app. Reload the page and try again.",
        ),
        None => refused("The form carried no CSRF token. Reload the page and try again."),
    }
}

/// Adds the security headers to every page.
pub async fn page_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(headers, header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    headers.insert(
        axum::http::HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(self), microphone=(), geolocation=()"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_token_is_read_from_an_encoded_body() {
        assert_eq!(form_token(b"member=ab&csrf=x%2By&guests=1").as_deref(), Some("x+y"));
        assert_eq!(form_token(b"member=ab"), None);
    }

    #[test]
    fn the_policy_allows_no_inline_script_and_no_other_origin() {
        assert!(CONTENT_SECURITY_POLICY.contains("script-src 'self';"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
    }
}
