//! The staff web app in a real browser: Debian's chromium driven by
//! `playwright-core` (pinned in `tests/browser/package-lock.json`, installed
//! by `make deps`) against a `recip devnet` of two clubs. This test makes
//! the visitors over REST, then runs `tests/browser/*.test.mjs` with the
//! URLs and logins; screenshots of every page land in
//! `browser-screenshots/` under the build directory (`$CARGO_TARGET_DIR`,
//! else `target/`).

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{Devnet, Rest};
use serde_json::json;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn browser_tests_dir() -> PathBuf {
    let dir = workspace_root().join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "the browser tests' packages are not installed: run `make deps` (npm ci in tests/browser)"
    );
    dir
}

fn chromium() -> String {
    let path = std::env::var("RECIP_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        std::path::Path::new(&path).exists(),
        "no chromium at {path}: run `make deps` (installs Debian's chromium) or set RECIP_CHROMIUM"
    );
    path
}

/// Registers a member of the registrar's club; its member id.
async fn register(registrar: &Rest, number: &str, name: &str) -> String {
    let (code, registered) = registrar
        .post(
            "/v1/members",
            json!({"member_number": number, "full_name": name, "tier": "full", "valid_until": "2031-01-01"}),
        )
        .await;
    assert_eq!(code, 201, "{registered}");
    registered["member"]["member_id"].as_str().expect("member id").to_owned()
}

/// Waits until the host's front desk sees `member` with `code`.
async fn until_checked(desk: &Rest, member: &str, code: &str) {
    for _ in 0..200 {
        let (_, check) = desk.post("/v1/visits/check", json!({"member_id": member})).await;
        if check["code"] == code {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("member {member} never checked as {code} at the host");
}

/// Runs one browser test file with the devnet's settings; panics with its
/// output when a test fails.
fn run_browser_tests(file: &str, env: &[(&str, String)]) {
    let dir = browser_tests_dir();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from);
    let screenshots = target.join("browser-screenshots");
    let output = Command::new("node")
        .args(["--test", "--test-concurrency=1", file])
        .current_dir(&dir)
        .env("RECIP_CHROMIUM", chromium())
        .env("RECIP_SCREENSHOTS", &screenshots)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("node runs (Node.js 20 is on this machine)");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "browser tests {file} failed:\n{text}");
    eprintln!("{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_front_desk_works_in_a_real_browser() {
    let devnet = Devnet::start(2, &[]);
    let (home, host) = (devnet.http(0), devnet.http(1));
    let registrar = Rest::login(&home, devnet.login(0, "registrar")).await;
    let visitor = register(&registrar, "BR-1", "Bea Browser").await;
    let suspended = register(&registrar, "BR-2", "Sam Suspended").await;
    let (code, body) = registrar
        .send("PATCH", &format!("/v1/members/{suspended}"), Some(json!({"status": "suspended"})))
        .await;
    assert_eq!(code, 200, "{body}");
    let desk = Rest::login(&host, devnet.login(1, "front_desk")).await;
    until_checked(&desk, &visitor, "Ok").await;
    until_checked(&desk, &suspended, "MemberNotActive").await;
    let (desk_user, desk_password) = devnet.login(1, "front_desk");
    let (registrar_user, registrar_password) = devnet.login(1, "registrar");
    run_browser_tests(
        "desk.test.mjs",
        &[
            ("RECIP_WEB_URL", host),
            ("RECIP_DESK_USER", desk_user),
            ("RECIP_DESK_PASSWORD", desk_password),
            ("RECIP_REGISTRAR_USER", registrar_user),
            ("RECIP_REGISTRAR_PASSWORD", registrar_password),
            ("RECIP_VISITOR", visitor),
            ("RECIP_SUSPENDED_VISITOR", suspended),
        ],
    );
}
