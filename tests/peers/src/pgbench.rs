//! PostgreSQL point lookups with `pgbench -S` (select-only: one indexed
//! row of `pgbench_accounts` per transaction), the peer of the front-desk check.

use std::path::PathBuf;
use std::process::Stdio;

use anyhow::Context;

/// Where and how pgbench runs.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct PgbenchArgs {
    /// The pgbench binary (Debian: postgresql-client).
    #[arg(long, default_value = "pgbench")]
    pgbench: PathBuf,
    /// The server (the database in the URL is only used to create `--pg-database`).
    #[arg(
        long,
        env = "RECIP_TEST_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pg_url: String,
    /// The database pgbench fills and reads (created when missing, refilled every run).
    #[arg(long, default_value = "recip_pgbench")]
    pg_database: String,
    /// pgbench scale: 100,000 accounts per unit (10 = 1M rows, as the check's 1M members).
    #[arg(long, default_value_t = 10)]
    pg_scale: u32,
    /// Concurrent pgbench clients (the check's concurrency in `compare`).
    #[arg(long, default_value_t = 32)]
    pub(crate) pg_clients: usize,
    /// Seconds to run (`peers pgbench`; `compare` uses its `--duration`).
    #[arg(long, default_value_t = 10)]
    pub(crate) pg_duration: u64,
}

/// The parts of a `postgres://user[:password]@host[:port]/db` URL.
#[derive(Debug, PartialEq, Eq)]
struct Server {
    user: String,
    password: Option<String>,
    host: String,
    port: u16,
    database: String,
}

fn parse_url(url: &str) -> anyhow::Result<Server> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .with_context(|| format!("{url:?} is not a postgres:// URL"))?;
    let (credentials, rest) = rest.split_once('@').unwrap_or(("postgres", rest));
    let (user, password) = match credentials.split_once(':') {
        Some((user, password)) => (user.to_owned(), Some(password.to_owned())),
        None => (credentials.to_owned(), None),
    };
    let (address, database) = rest.split_once('/').unwrap_or((rest, "postgres"));
    let database = database.split('?').next().unwrap_or("postgres").to_owned();
    let (host, port) = match address.rsplit_once(':') {
        Some((host, port)) => {
            (host.to_owned(), port.parse().with_context(|| format!("bad port in {url:?}"))?)
        }
        None => (address.to_owned(), 5432),
    };
    Ok(Server { user, password, host, port, database })
}

fn command(program: &std::path::Path, server: &Server) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(program);
    command
        .arg("-h")
        .arg(&server.host)
        .arg("-p")
        .arg(server.port.to_string())
        .arg("-U")
        .arg(&server.user)
        .stdin(Stdio::null());
    if let Some(password) = &server.password {
        command.env("PGPASSWORD", password);
    }
    command
}

/// Reads `tps = N (without initial connection time)` and `latency average = M ms`.
fn parse_report(text: &str) -> anyhow::Result<(f64, f64)> {
    let field = |prefix: &str| {
        text.lines().find_map(|line| {
            line.trim()
                .strip_prefix(prefix)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<f64>().ok())
        })
    };
    let tps = field("tps = ").with_context(|| format!("pgbench printed no tps:\n{text}"))?;
    let latency = field("latency average = ")
        .with_context(|| format!("pgbench printed no latency:\n{text}"))?;
    Ok((tps, latency))
}

/// Fills the database (`pgbench -i`) and runs `pgbench -S` for `duration_s`.
pub(crate) async fn run(args: &PgbenchArgs, duration_s: u64) -> anyhow::Result<serde_json::Value> {
    let server = parse_url(&args.pg_url)?;
    anyhow::ensure!(
        args.pg_database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "--pg-database must be letters, digits and _"
    );
    let psql = args.pgbench.with_file_name("psql");
    let psql = if args.pgbench.parent().is_some_and(|p| !p.as_os_str().is_empty()) {
        psql
    } else {
        PathBuf::from("psql")
    };
    // CREATE DATABASE fails harmlessly when it exists.
    let _ = command(&psql, &server)
        .arg("-d")
        .arg(&server.database)
        .arg("-q")
        .arg("-c")
        .arg(format!("CREATE DATABASE {}", args.pg_database))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .context("running psql (Debian: postgresql-client)")?;
    let init = command(&args.pgbench, &server)
        .arg("-i")
        .arg("-q")
        .arg("-s")
        .arg(args.pg_scale.to_string())
        .arg(&args.pg_database)
        .output()
        .await
        .context("running pgbench -i (Debian: postgresql-client)")?;
    anyhow::ensure!(
        init.status.success(),
        "pgbench -i failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let jobs = args.pg_clients.clamp(1, 2);
    let output = command(&args.pgbench, &server)
        .arg("-S")
        .arg("-n")
        .arg("-c")
        .arg(args.pg_clients.to_string())
        .arg("-j")
        .arg(jobs.to_string())
        .arg("-T")
        .arg(duration_s.to_string())
        .arg(&args.pg_database)
        .output()
        .await
        .context("running pgbench -S")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success(),
        "pgbench -S failed: {}{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (tps, latency_avg_ms) = parse_report(&stdout)?;
    Ok(serde_json::json!({
        "bench": "pgbench_select_only",
        "clients": args.pg_clients,
        "jobs": jobs,
        "scale": args.pg_scale,
        "rows": u64::from(args.pg_scale) * 100_000,
        "duration_s": duration_s,
        "tps": tps.round(),
        "latency_avg_ms": latency_avg_ms,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_reports_parse() {
        let server = parse_url("postgres://postgres:secret@127.0.0.1:5433/db?sslmode=disable")
            .expect("parses");
        assert_eq!(
            server,
            Server {
                user: "postgres".into(),
                password: Some("secret".into()),
                host: "127.0.0.1".into(),
                port: 5433,
                database: "db".into(),
            }
        );
        assert!(parse_url("mysql://x").is_err());
        let report = "number of transactions actually processed: 100\nlatency average = 0.412 ms\ninitial connection time = 3.1 ms\ntps = 24201.5 (without initial connection time)\n";
        assert_eq!(parse_report(report).expect("parses"), (24201.5, 0.412));
        assert!(parse_report("nothing").is_err());
    }

    /// Smoke run (part of `make test`, which starts PostgreSQL): a tiny scale for a second.
    #[tokio::test]
    async fn pgbench_select_only_reports_tps_against_the_real_server() {
        let args = PgbenchArgs {
            pgbench: "pgbench".into(),
            pg_url: std::env::var("RECIP_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
            pg_database: "recip_pgbench_smoke".into(),
            pg_scale: 1,
            pg_clients: 2,
            pg_duration: 1,
        };
        let run = run(&args, 1).await.expect("pgbench runs");
        assert!(run["tps"].as_f64().unwrap() > 0.0, "{run}");
    }
}
