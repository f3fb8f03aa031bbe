//! One node in this process (RocksDB in a temp dir, Raft over the
//! in-process router, its SQLite index, staff accounts and enrolled
//! keystore keys) and the HTTP router it serves, called with
//! `tower::ServiceExt::oneshot`: no sockets, no child processes.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use reciprocity_node::config::NodeConfig;
use reciprocity_node::network::inprocess::Router as PeerRouter;
use reciprocity_node::provision::club::{StaffLogin, prepare_club};
use reciprocity_node::provision::network::{InitSpec, init};
use reciprocity_node::service::node::NodeHandle;
use reciprocity_node::service::startup::Wiring;
use reciprocity_node::service::submit::Submitted;
use reciprocity_sdk::keys::Keypair;
use reciprocity_sdk::tx::{TxBuilder, body};
use reciprocity_sdk::wire;
use serde_json::{Value, json};
use tower::ServiceExt;

/// One node in this process and the HTTP router it serves.
pub struct InProcessApi {
    _dir: tempfile::TempDir,
    pub node: NodeHandle,
    pub router: axum::Router,
    pub logins: Vec<StaffLogin>,
}

impl InProcessApi {
    pub async fn start() -> InProcessApi {
        let dir = tempfile::tempdir().expect("tempdir");
        let net = dir.path().join("net");
        let clubs = init(&InitSpec {
            clubs: 1,
            out: &net,
            chain_id: "router-test",
            grpc_port_base: 7200,
            p2p_port_base: 7100,
            http_port_base: 7000,
        })
        .expect("network init");
        let (club, config_path) = &clubs[0];
        // Budgets high enough for the whole matrix from one caller.
        let budgets = ["ADMIN", "REGISTRAR", "FRONT_DESK", "GOVERNOR"]
            .map(|role| (format!("RECIP_API_{role}_REQUESTS_PER_S"), "100000".to_owned()));
        let mut config = NodeConfig::load_with_env(config_path, budgets).expect("node config");
        config.raft.heartbeat_interval_ms = 50;
        config.raft.election_timeout_min_ms = 150;
        config.raft.election_timeout_max_ms = 300;
        let logins = prepare_club(&net.join(club), &config).await.expect("staff accounts");
        let node = NodeHandle::start_wired(config, Wiring::InProcess(PeerRouter::with_seed(1)))
            .await
            .expect("node starts");
        let mut ready = false;
        for _ in 0..400 {
            let status = node.status().expect("status");
            if status.height >= 1 && status.leader.is_some() && node.index_store().is_some() {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(ready, "the node did not lead, apply genesis and open its index within 10 s");
        // The keystore's role keys enrolled on the ledger, as the devnet does,
        // so that writes get past "no active key" to their own checks.
        let club_key = Keypair::read_file(&net.join(club).join("club.key")).expect("club key");
        let chain = node.status().expect("status").chain_id;
        for (role, wire_role) in [
            ("admin", wire::Role::Admin),
            ("registrar", wire::Role::Registrar),
            ("front_desk", wire::Role::FrontDesk),
            ("governor", wire::Role::Governor),
        ] {
            let key_path = node.config().api.keystore_dir.join(format!("{role}.key"));
            let key = Keypair::read_file(&key_path).expect("keystore key");
            let tx = TxBuilder::now(&chain)
                .sign(&club_key, body::enroll_identity(&key.public_key(), &[wire_role]));
            let (_, outcome) =
                node.submit(tx, true, Duration::from_secs(30)).await.expect("enrollment admitted");
            assert!(
                matches!(outcome, Submitted::Committed(location) if location.code == 0),
                "enrolling the {role} key: {outcome:?}"
            );
        }
        let router = reciprocity_node::api::http::router(node.clone()).expect("router");
        let api = InProcessApi { _dir: dir, node, router, logins };
        let (status, body) = api.call("get", "/readyz", None, None).await;
        assert_eq!(status, StatusCode::OK, "ready: {body}");
        api
    }

    /// Sends one request; the status and the JSON body (`null` when none).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method.to_uppercase().as_str()).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))
            .expect("request");
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// A bearer token of the staff login of `role`.
    pub async fn token(&self, role: &str) -> String {
        let login = self.logins.iter().find(|l| l.role == role).expect("a login per role");
        let body = json!({"username": login.username, "password": login.password}).to_string();
        let (status, answer) = self.call("post", "/v1/auth/login", None, Some(&body)).await;
        assert_eq!(status, StatusCode::OK, "login as {role}: {answer}");
        answer["token"].as_str().expect("token").to_owned()
    }

    /// Sends a request as built; the response.
    pub async fn send(&self, request: Request<Body>) -> axum::response::Response {
        self.router.clone().oneshot(request).await.expect("infallible")
    }

    /// The staff login of `role`: (username, password).
    pub fn login(&self, role: &str) -> (String, String) {
        let login = self.logins.iter().find(|l| l.role == role).expect("a login per role");
        (login.username.clone(), login.password.clone())
    }

    pub async fn stop(self) {
        self.node.shutdown().await;
    }
}
