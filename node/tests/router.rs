//! The REST API's per-route matrix, in process: one node (RocksDB in a
//! temp dir, Raft over the in-process router, its SQLite index and staff
//! accounts) and its axum router called with `tower::ServiceExt::oneshot`,
//! no sockets and no child processes. Every route of the OpenAPI document
//! is walked: 401 without a token, 403 for each role it does not declare,
//! 405 for each method it does not take, 400 for a body that is not JSON.
//! The end-to-end flows stay in `rest.rs`, over real HTTP and processes.

mod common;

use axum::http::StatusCode;
use common::in_process::InProcessApi;
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

const ROLES: [&str; 4] = ["admin", "registrar", "front_desk", "governor"];

/// Routes any caller may call.
const PUBLIC: [&str; 7] = [
    "/v1/auth/login",
    "/v1/auth/challenge",
    "/v1/auth/key-login",
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
];

/// The document the router serves at `/openapi.json`.
async fn served_document(api: &InProcessApi) -> Value {
    let (status, document) = api.call("get", "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    document
}

/// Every operation of the served document: (method, path template, operation).
async fn operations(api: &InProcessApi) -> Vec<(String, String, Value)> {
    let document = served_document(api).await;
    let mut out = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                out.push((method.to_owned(), path.clone(), operation.clone()));
            }
        }
    }
    assert!(out.len() >= 40, "only {} operations documented", out.len());
    out
}

/// A path of `template` with every `{parameter}` filled in.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|part| match part {
            "{member_id}" => "ab".repeat(16),
            "{counterparty}" => "alpine".to_owned(),
            "{username}" => "someone".to_owned(),
            "{height}" => "1".to_owned(),
            "{job_id}" => "00".to_owned(),
            part if part.starts_with('{') => "ab".repeat(32),
            part => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The roles an operation declares (none: any role).
fn scopes(method: &str, template: &str, operation: &Value) -> Option<Vec<String>> {
    let security = operation.get("security")?;
    let scopes = security[0]["bearer"]
        .as_array()
        .unwrap_or_else(|| panic!("{method} {template}: a bearer requirement"))
        .iter()
        .map(|s| s.as_str().expect("scope").to_owned())
        .collect();
    Some(scopes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_but_logins_and_probes_refuses_a_caller_without_a_token() {
    let api = InProcessApi::start().await;
    let mut checked = 0;
    for (method, template, operation) in operations(&api).await {
        let declared = scopes(&method, &template, &operation);
        if PUBLIC.contains(&template.as_str()) {
            assert!(declared.is_none(), "{method} {template} is public yet declares security");
            // It answers without a token: probes with 200, logins with 400 to an empty body.
            let (status, body) = api.call(&method, &template, None, Some("{}")).await;
            let expected = if method == "get" { StatusCode::OK } else { StatusCode::BAD_REQUEST };
            assert_eq!(status, expected, "{method} {template} without a token: {body}");
            continue;
        }
        assert!(declared.is_some(), "{method} {template} declares no security");
        for token in [None, Some("not-a-token")] {
            let (status, body) = api.call(&method, &concrete(&template), token, Some("{}")).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {template} ({token:?}): {body}");
            assert_eq!(body["error"]["code"], "unauthorized", "{method} {template}: {body}");
        }
        checked += 1;
    }
    assert!(checked >= 35, "only {checked} secured operations");
    api.stop().await;
}

/// Every secured operation declares the roles it serves as the scopes of
/// its `bearer` requirement (none: any role), and the node enforces
/// exactly that: each other role gets 403 naming the roles needed, each
/// listed role gets past the role check, on every route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_every_role_it_does_not_declare_and_admits_those_it_does() {
    let api = InProcessApi::start().await;
    let mut tokens = Vec::new();
    for role in ROLES {
        tokens.push((role, api.token(role).await));
    }
    let mut all = operations(&api).await;
    // Logging out ends the token: last.
    all.sort_by_key(|(_, template, _)| template == "/v1/auth/logout");
    let mut checked = 0;
    for (method, template, operation) in all {
        let Some(scopes) = scopes(&method, &template, &operation) else { continue };
        for scope in &scopes {
            assert!(ROLES.contains(&scope.as_str()), "{method} {template}: unknown role {scope}");
        }
        let body = matches!(method.as_str(), "post" | "put" | "patch").then_some("{}");
        for (role, token) in &tokens {
            let (status, answer) = api.call(&method, &concrete(&template), Some(token), body).await;
            let refused_for_role = status == StatusCode::FORBIDDEN
                && answer["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("this endpoint needs"));
            let allowed = scopes.is_empty() || scopes.iter().any(|s| s == role);
            assert_eq!(
                refused_for_role, !allowed,
                "{method} {template} as {role} (declared {scopes:?}): {status} {answer}"
            );
            if allowed {
                // Past the role check, and not broken: whatever the handler
                // says of the placeholder input, it is not 401 or a failure.
                assert!(
                    status != StatusCode::UNAUTHORIZED && !status.is_server_error(),
                    "{method} {template} as {role}: {status} {answer}"
                );
            } else {
                for needed in &scopes {
                    let message = answer["error"]["message"].as_str().unwrap_or_default();
                    assert!(message.contains(needed.as_str()), "names {needed}: {message}");
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 4 * 35, "only {checked} route-role pairs checked");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_path_answers_405_with_a_json_error_to_a_method_it_does_not_take() {
    let api = InProcessApi::start().await;
    let token = api.token("admin").await;
    let document = served_document(&api).await;
    let mut checked = 0;
    for (template, item) in document["paths"].as_object().expect("paths") {
        for method in METHODS.iter().filter(|m| item.get(**m).is_none()) {
            let (status, body) = api.call(method, &concrete(template), Some(&token), None).await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {template}: {body}");
            assert_eq!(body["error"]["code"], "method_not_allowed", "{method} {template}");
            checked += 1;
        }
    }
    assert!(checked >= 100, "only {checked} path-method pairs");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_that_takes_a_json_body_answers_400_naming_the_problem_when_it_is_not_json() {
    let api = InProcessApi::start().await;
    let mut tokens = Vec::new();
    for role in ROLES {
        tokens.push((role, api.token(role).await));
    }
    let mut checked = 0;
    for (method, template, operation) in operations(&api).await {
        let takes_json = operation["requestBody"]["content"].get("application/json").is_some();
        if !takes_json || template == "/v1/auth/logout" {
            continue;
        }
        // A caller the route serves (the login routes need none).
        let token = match scopes(&method, &template, &operation) {
            None => None,
            Some(scopes) => tokens
                .iter()
                .find(|(role, _)| scopes.is_empty() || scopes.iter().any(|s| s == role))
                .map(|(_, token)| token.as_str()),
        };
        for (bad, code) in
            [("{,}", "bad_json"), ("not json", "bad_json"), ("[1, 2]", "bad_request_body")]
        {
            let (status, body) = api.call(&method, &concrete(&template), token, Some(bad)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {template} with {bad:?}: {body}");
            assert_eq!(body["error"]["code"], code, "{method} {template} with {bad:?}: {body}");
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(message.len() > 20, "{method} {template}: {body}");
        }
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} routes with a JSON body");
    api.stop().await;
}
