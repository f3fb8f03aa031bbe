//! Helpers for tests that run the real `recip` binary.

#![allow(dead_code, unreachable_pub)]

pub mod in_process;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reciprocity_sdk::client::NodeClient;
use reciprocity_sdk::keys::Keypair;

/// The `recip` binary under test.
pub fn recip() -> Command {
    Command::new(env!("CARGO_BIN_EXE_recip"))
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if claim_ports(port, 1) {
            return port;
        }
    }
}

/// Ports handed out in this process: the OS may give a just-released port
/// again, and two listeners of one node on one port fail to start.
static PORTS_GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// Claims `base..base + n` unless one of them was handed out before.
fn claim_ports(base: u16, n: u16) -> bool {
    let mut given = PORTS_GIVEN.lock().unwrap();
    if (base..base + n).any(|p| given.contains(&p)) {
        return false;
    }
    given.extend(base..base + n);
    true
}

/// A one-club network in a temp dir.
pub struct TestNet {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub http_port: u16,
}

impl TestNet {
    pub fn create() -> TestNet {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let p2p_port = free_port();
        let http_port = free_port();
        let out = recip()
            .args([
                "network",
                "init",
                "--clubs",
                "1",
                "--chain-id",
                "test-net",
                "--grpc-port-base",
                &port.to_string(),
                "--p2p-port-base",
                &p2p_port.to_string(),
                "--http-port-base",
                &http_port.to_string(),
                "--out",
            ])
            .arg(dir.path().join("net"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "network init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        TestNet { dir, port, http_port }
    }

    pub fn net_dir(&self) -> PathBuf {
        self.dir.path().join("net")
    }

    pub fn config(&self) -> PathBuf {
        self.net_dir().join("harbour").join("node.toml")
    }

    pub fn club_key(&self) -> Keypair {
        Keypair::read_file(&self.net_dir().join("harbour").join("club.key")).unwrap()
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the node process with fast Raft timings.
    pub fn start(&self) -> Child {
        self.command().spawn().unwrap()
    }

    /// The command that starts the node (fast Raft timings, log to node.log).
    pub fn command(&self) -> Command {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("node.log"))
            .unwrap();
        let mut command = recip();
        command
            .args(["node", "--config"])
            .arg(self.config())
            .env("RECIP_RAFT_HEARTBEAT_INTERVAL_MS", "50")
            .env("RECIP_RAFT_ELECTION_TIMEOUT_MIN_MS", "150")
            .env("RECIP_RAFT_ELECTION_TIMEOUT_MAX_MS", "300")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log));
        command
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("node.log")).unwrap_or_default()
    }

    /// Waits until the node answers and has applied genesis.
    pub async fn ready(&self, child: &mut Child) -> NodeClient {
        for _ in 0..300 {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("node exited with {status}:\n{}", self.log());
            }
            if let Ok(mut client) = NodeClient::connect(&self.endpoint()).await
                && let Ok(status) = client.status().await
                && status.height >= 1
            {
                return client;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("node not ready in 30 s:\n{}", self.log());
    }
}

/// GET `url` over a real HTTP connection: status code and body.
pub async fn http_get(url: &str) -> (u16, String) {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<axum::body::Bytes>>();
    let response = client.get(url.parse().unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// SIGKILL.
pub fn kill_hard(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Stops with SIGTERM and waits.
pub fn stop(child: &mut Child) {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    for _ in 0..100 {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    kill_hard(child);
}

pub fn path_str(path: &Path) -> String {
    path.display().to_string()
}

/// A block of `n` consecutive free ports on loopback; returns the first.
pub fn free_ports(n: u16) -> u16 {
    'search: for _ in 0..200 {
        let base = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if base.checked_add(n).is_none() {
            continue;
        }
        for port in base..base + n {
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
                continue 'search;
            }
        }
        if claim_ports(base, n) {
            return base;
        }
    }
    panic!("no block of {n} free ports");
}

/// Raft timings for loopback tests on a loaded 2-core machine.
pub const FAST_RAFT: [(&str, &str); 4] = [
    ("RECIP_RAFT_HEARTBEAT_INTERVAL_MS", "100"),
    ("RECIP_RAFT_ELECTION_TIMEOUT_MIN_MS", "600"),
    ("RECIP_RAFT_ELECTION_TIMEOUT_MAX_MS", "1200"),
    ("RECIP_P2P_FORWARD_TIMEOUT_MS", "3000"),
];

/// A network of several clubs, each node a real `recip` process on loopback.
pub struct ProcNet {
    pub dir: tempfile::TempDir,
    pub clubs: Vec<String>,
    pub chain_id: String,
    /// Node processes by club index (None when stopped).
    pub children: Vec<Option<Child>>,
    /// Extra environment for every node.
    pub env: Vec<(String, String)>,
    endpoints: Vec<String>,
    /// HTTP base URLs by club index (founding clubs).
    pub http: Vec<String>,
}

impl ProcNet {
    /// Creates (does not start) a network of `clubs` founding clubs.
    pub fn create(clubs: usize) -> ProcNet {
        let dir = tempfile::tempdir().unwrap();
        let n = u16::try_from(clubs).unwrap();
        let grpc = free_ports(n);
        let p2p = free_ports(n);
        let http = free_ports(n);
        let out = recip()
            .args(["network", "init", "--chain-id", "test-net"])
            .args(["--clubs", &clubs.to_string()])
            .args(["--grpc-port-base", &grpc.to_string(), "--p2p-port-base", &p2p.to_string()])
            .args(["--http-port-base", &http.to_string()])
            .arg("--out")
            .arg(dir.path().join("net"))
            .output()
            .unwrap();
        assert!(out.status.success(), "network init: {}", String::from_utf8_lossy(&out.stderr));
        let genesis = reciprocity_network_config::NetworkConfig::load(
            &dir.path().join("net").join("genesis.toml"),
        )
        .unwrap();
        let clubs: Vec<String> = genesis.clubs.iter().map(|c| c.id.clone()).collect();
        let endpoints = (0..n).map(|i| format!("http://127.0.0.1:{}", grpc + i)).collect();
        let http_urls = (0..n).map(|i| format!("http://127.0.0.1:{}", http + i)).collect();
        ProcNet {
            dir,
            children: clubs.iter().map(|_| None).collect(),
            clubs,
            chain_id: "test-net".into(),
            env: FAST_RAFT.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            endpoints,
            http: http_urls,
        }
    }

    pub fn net_dir(&self) -> PathBuf {
        self.dir.path().join("net")
    }

    /// Adds a node that is not a founding one (its config in `net/<club>/node.toml`).
    pub fn add_club(&mut self, club: &str, endpoint: String) -> usize {
        self.clubs.push(club.to_owned());
        self.endpoints.push(endpoint);
        self.children.push(None);
        self.clubs.len() - 1
    }

    pub fn club_key(&self, i: usize) -> Keypair {
        Keypair::read_file(&self.net_dir().join(&self.clubs[i]).join("club.key")).unwrap()
    }

    pub fn endpoint(&self, i: usize) -> &str {
        &self.endpoints[i]
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.net_dir().join(&self.clubs[i]).join("node.log")
    }

    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.log_path(i)).unwrap_or_default()
    }

    /// Starts node `i` (appending to its log).
    pub fn start(&mut self, i: usize) {
        assert!(self.children[i].is_none(), "node {i} is running");
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(self.log_path(i)).unwrap();
        let child = recip()
            .args(["node", "--config"])
            .arg(self.net_dir().join(&self.clubs[i]).join("node.toml"))
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        self.children[i] = Some(child);
    }

    pub fn start_all(&mut self) {
        for i in 0..self.clubs.len() {
            self.start(i);
        }
    }

    /// SIGKILL node `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            kill_hard(&mut child);
        }
    }

    /// SIGTERM node `i` and wait.
    pub fn stop(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            stop(&mut child);
        }
    }

    pub fn running(&self) -> Vec<usize> {
        (0..self.clubs.len()).filter(|i| self.children[*i].is_some()).collect()
    }

    /// Node `i`'s status, if it answers.
    pub async fn status(&self, i: usize) -> Option<reciprocity_sdk::wire::NodeStatus> {
        let mut client = NodeClient::connect(self.endpoint(i)).await.ok()?;
        client.status().await.ok()
    }

    /// Waits until every running node has applied genesis.
    pub async fn wait_ready(&mut self) {
        for _ in 0..600 {
            for i in self.running() {
                if let Some(status) = self.children[i].as_mut().unwrap().try_wait().unwrap() {
                    panic!("node {i} exited with {status}:\n{}", self.log(i));
                }
            }
            let mut ready = true;
            for i in self.running() {
                ready &= self.status(i).await.is_some_and(|s| s.height >= 1);
            }
            if ready {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("nodes not ready in 60 s:\n{}", self.log(0));
    }

    /// The running node that leads (with a majority behind it), waiting up to `limit`.
    pub async fn leader(&self, limit: Duration) -> Option<usize> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            for i in self.running() {
                if let Some(status) = self.status(i).await
                    && status.role == "leader"
                    && status.millis_since_quorum_ack < 1_000
                {
                    return Some(i);
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// Waits until the given nodes report one height and state hash; returns them.
    pub async fn converge(&self, among: &[usize]) -> (u64, Vec<u8>) {
        let mut last = Vec::new();
        for _ in 0..1_200 {
            last.clear();
            for i in among {
                last.push(self.status(*i).await.map(|s| (s.height, s.state_hash)));
            }
            if last.iter().all(Option::is_some) && last.windows(2).all(|w| w[0] == w[1]) {
                return last[0].clone().unwrap();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let heights: Vec<_> = last.iter().map(|s| s.as_ref().map(|(h, _)| *h)).collect();
        panic!("nodes {among:?} did not converge: heights {heights:?}");
    }
}

impl Drop for ProcNet {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Stops a detached process when dropped, pass or fail.
pub struct StopOnDrop(pub u64);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.0.to_string()).status();
    }
}

/// A `recip devnet --detach` network (the README's first command) in a
/// temp dir: processes, staff logins, keystores.
pub struct Devnet {
    pub dir: tempfile::TempDir,
    pub listing: serde_json::Value,
    pub env: Vec<(String, String)>,
    stop: Vec<StopOnDrop>,
    ports: (u16, u16, u16),
    clubs: usize,
    args: Vec<String>,
}

impl Devnet {
    /// Starts a devnet of `clubs` clubs with extra node environment `env`.
    pub fn start(clubs: usize, env: &[(&str, &str)]) -> Devnet {
        Devnet::start_with_args(clubs, env, &[])
    }

    /// [`Devnet::start`] with extra `recip devnet` arguments.
    pub fn start_with_args(clubs: usize, env: &[(&str, &str)], args: &[&str]) -> Devnet {
        let n = u16::try_from(clubs).unwrap();
        let mut devnet = Devnet {
            dir: tempfile::tempdir().unwrap(),
            listing: serde_json::Value::Null,
            env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            stop: Vec::new(),
            ports: (free_ports(n), free_ports(n), free_ports(n)),
            clubs,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
        };
        devnet.run(&[]);
        devnet
    }

    fn run(&mut self, extra_env: &[(&str, &str)]) {
        let path = self.dir.path().join("devnet");
        let mut command = recip();
        command
            .args(["devnet", "--detach", "--clubs", &self.clubs.to_string()])
            .args(["--grpc-port-base", &self.ports.0.to_string()])
            .args(["--p2p-port-base", &self.ports.1.to_string()])
            .args(["--http-port-base", &self.ports.2.to_string()])
            .args(&self.args)
            .arg("--dir")
            .arg(&path);
        for (key, value) in &self.env {
            command.env(key, value);
        }
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let out = command.output().unwrap();
        let listing: Option<serde_json::Value> = std::fs::read_to_string(path.join("devnet.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        if let Some(listing) = &listing {
            self.stop = listing["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|n| n["pid"].as_u64().map(StopOnDrop))
                .collect();
        }
        assert!(out.status.success(), "devnet failed: {}", String::from_utf8_lossy(&out.stderr));
        self.listing = listing.expect("devnet.json");
    }

    /// Stops every node (SIGTERM, waits) and starts them again with `extra_env`.
    pub async fn restart(&mut self, extra_env: &[(&str, &str)]) {
        let pids: Vec<u64> = self.stop.iter().map(|s| s.0).collect();
        self.stop.clear();
        for pid in pids {
            while Command::new("kill").args(["-0", &pid.to_string()]).status().unwrap().success() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        self.run(extra_env);
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("devnet")
    }

    pub fn club(&self, i: usize) -> String {
        self.listing["nodes"][i]["club"].as_str().unwrap().to_owned()
    }

    pub fn http(&self, i: usize) -> String {
        self.listing["nodes"][i]["http"].as_str().unwrap().to_owned()
    }

    pub fn grpc(&self, i: usize) -> String {
        self.listing["nodes"][i]["grpc"].as_str().unwrap().to_owned()
    }

    /// The devnet's login of `role` at node `i`: (username, password).
    pub fn login(&self, i: usize, role: &str) -> (String, String) {
        let staff = self.listing["nodes"][i]["staff"].as_array().unwrap();
        let login = staff.iter().find(|l| l["role"] == role).unwrap();
        (
            login["username"].as_str().unwrap().to_owned(),
            login["password"].as_str().unwrap().to_owned(),
        )
    }

    /// A keystore key of club `i` (`admin`, `registrar`, `front_desk`, `governor`).
    pub fn keystore_key(&self, i: usize, role: &str) -> Keypair {
        Keypair::read_file(
            &self.path().join(self.club(i)).join("keystore").join(format!("{role}.key")),
        )
        .unwrap()
    }

    pub fn chain_id(&self) -> String {
        self.listing["chain_id"].as_str().unwrap().to_owned()
    }
}

/// A REST client of one node, logged in as one principal.
pub struct Rest {
    pub base: String,
    pub token: Option<String>,
    client: reqwest::Client,
}

impl Rest {
    pub fn new(base: &str) -> Rest {
        Rest { base: base.to_owned(), token: None, client: reqwest::Client::new() }
    }

    /// Logs in with a password; panics on failure.
    /// Retries while the node answers 503 (its index still connecting).
    pub async fn login(base: &str, (username, password): (String, String)) -> Rest {
        let mut rest = Rest::new(base);
        let credentials = serde_json::json!({"username": username, "password": password});
        let (mut code, mut body) =
            rest.send("POST", "/v1/auth/login", Some(credentials.clone())).await;
        for _ in 0..100 {
            if code != 503 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            (code, body) = rest.send("POST", "/v1/auth/login", Some(credentials.clone())).await;
        }
        assert_eq!(code, 200, "login of {username}: {body}");
        rest.token = Some(body["token"].as_str().unwrap().to_owned());
        rest
    }

    /// [`Rest::login`] taking its base URL by value (for joined futures).
    pub async fn login_owned(base: String, credentials: (String, String)) -> Rest {
        Rest::login(&base, credentials).await
    }

    /// Sends a request with an optional JSON body; the status and the JSON answer.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request =
            self.client.request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let code = response.status().as_u16();
        let text = response.text().await.unwrap();
        (code, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
    }

    /// Sends raw bytes with a content type.
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, serde_json::Value, reqwest::header::HeaderMap) {
        let mut request = self
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let code = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        (code, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)), headers)
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.send("GET", path, None).await
    }

    /// GETs `path`; the status, the content type and the body's bytes.
    pub async fn get_bytes(&self, path: &str) -> (u16, String, Vec<u8>) {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let code = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (code, content_type, response.bytes().await.unwrap().to_vec())
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.send("POST", path, Some(body)).await
    }
}
