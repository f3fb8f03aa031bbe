//! The `recip` binary under measurement and the node processes it runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use reciprocity_node::provision::process::LOOPBACK_RAFT;

/// The `recip` binary the benchmarks start nodes with.
#[derive(Debug, Clone)]
pub(crate) struct Recip {
    path: PathBuf,
}

impl Recip {
    /// `explicit`, else the `recip` beside this binary (both are built
    /// into the same target folder; build both in one command so that it
    /// is not an older one). Never a `recip` found elsewhere: a benchmark
    /// of the wrong binary would look like a real figure.
    pub(crate) fn locate(explicit: Option<PathBuf>) -> anyhow::Result<Recip> {
        if let Some(path) = explicit {
            anyhow::ensure!(path.is_file(), "--recip {} is not a file", path.display());
            return Ok(Recip { path });
        }
        let beside = std::env::current_exe()
            .context("locating recip-bench")?
            .with_file_name(format!("recip{}", std::env::consts::EXE_SUFFIX));
        anyhow::ensure!(
            beside.is_file(),
            "{} is missing: build it with recip-bench (cargo build --release -p reciprocity-node -p reciprocity-bench) or give --recip",
            beside.display()
        );
        Ok(Recip { path: beside })
    }

    /// The binary's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The binary's path as the JSON lines name it.
    pub(crate) fn shown(&self) -> String {
        self.path.display().to_string()
    }

    /// `recip node --config <config>` with its output appended to `log`,
    /// loopback Raft timings (unless the environment sets them) and
    /// `RECIP_LOG=<log_filter>` (unless the environment sets it); killed
    /// when dropped.
    pub(crate) fn node(
        &self,
        config: &Path,
        log: &Path,
        log_filter: &str,
    ) -> anyhow::Result<tokio::process::Command> {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let mut command = tokio::process::Command::new(&self.path);
        command.arg("node").arg("--config").arg(config);
        for (name, value) in LOOPBACK_RAFT {
            if std::env::var_os(name).is_none() {
                command.env(name, value);
            }
        }
        if std::env::var_os("RECIP_LOG").is_none() {
            command.env("RECIP_LOG", log_filter);
        }
        command.stdout(log_file.try_clone()?).stderr(log_file).kill_on_drop(true);
        Ok(command)
    }

    /// Starts `command` (from [`Recip::node`]), naming the binary on failure.
    pub(crate) fn spawn(
        &self,
        command: &mut tokio::process::Command,
    ) -> anyhow::Result<tokio::process::Child> {
        command.spawn().with_context(|| {
            format!(
                "starting {} (build it: cargo build --release -p reciprocity-node, or give --recip)",
                self.path.display()
            )
        })
    }
}

/// Stops a node process: SIGTERM, then SIGKILL after 10 s.
pub(crate) async fn stop(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
    }
    if tokio::time::timeout(Duration::from_secs(10), child.wait()).await.is_err() {
        let _ = child.kill().await;
    }
}

/// Resident memory of a process, MiB to one decimal (from /proc).
pub(crate) fn rss_mib(child: &tokio::process::Child) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()?)).ok()?;
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((kib / 1024.0 * 10.0).round() / 10.0)
}
