//! Helpers for tests that run the real `recip` binary.

#![allow(dead_code, unreachable_pub)]

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
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A one-club network in a temp dir.
pub struct TestNet {
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl TestNet {
    pub fn create() -> TestNet {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
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
        TestNet { dir, port }
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
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("node.log"))
            .unwrap();
        recip()
            .args(["node", "--config"])
            .arg(self.config())
            .env("RECIP_RAFT_HEARTBEAT_INTERVAL_MS", "50")
            .env("RECIP_RAFT_ELECTION_TIMEOUT_MIN_MS", "150")
            .env("RECIP_RAFT_ELECTION_TIMEOUT_MAX_MS", "300")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap()
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
