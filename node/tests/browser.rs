//! The staff web app in a real browser: Debian's chromium driven by
//! `playwright-core` (pinned in `tests/browser/package-lock.json`, installed
//! by `make deps`) against a `recip devnet` of two clubs. This test makes
//! the visitors and their member cards over REST — and, from the card's
//! PNG, the frames of a fake camera showing its QR code — then runs
//! `tests/browser/*.test.mjs` with the URLs and logins; screenshots of
//! every page land in `browser-screenshots/` under the build directory
//! (`$CARGO_TARGET_DIR`, else `target/`). A card the registrar prints in
//! the browser is rendered to pixels (`pdftoppm`), its QR code decoded
//! (`rqrr`) and the credential verified by `recip verify card` against the
//! other club's node.

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

/// Issues a new card to `member` over REST; its credential.
async fn issue_card(registrar: &Rest, member: &str) -> String {
    let (code, issued) = registrar.post(&format!("/v1/members/{member}/card"), json!({})).await;
    assert_eq!(code, 201, "{issued}");
    issued["credential"].as_str().expect("credential").to_owned()
}

/// The pixels of a PNG as grey levels: (width, height, luma).
fn grey_png(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("png header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("png size")];
    let info = reader.next_frame(&mut pixels).expect("png frame");
    let channels = info.color_type.samples();
    let (w, h) = (info.width as usize, info.height as usize);
    let luma = (0..w * h)
        .map(|i| {
            let p = &pixels[i * channels..i * channels + channels];
            match channels {
                1 | 2 => p[0],
                _ => {
                    ((u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000)
                        as u8
                }
            }
        })
        .collect();
    (w, h, luma)
}

/// The QR codes in a grey image, decoded.
fn qr_texts(width: usize, height: usize, luma: &[u8]) -> Vec<String> {
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| luma[y * width + x]);
    image.detect_grids().iter().filter_map(|g| g.decode().ok().map(|(_, text)| text)).collect()
}

/// A Y4M video (640×480, 4:2:0, a few frames) of the QR code of a card's
/// PNG: the code's region cropped and scaled to fill the frame's height, as
/// a phone's camera would see the card held up. Chromium's fake camera
/// plays it in a loop.
fn camera_video_of_card(png_bytes: &[u8]) -> Vec<u8> {
    let (w, h, luma) = grey_png(png_bytes);
    // The QR code lies in the right part of the card (x 470-826, y 138-494
    // of 856 × 540), with a margin.
    let (x0, y0) = (w * 455 / 856, h * 123 / 540);
    let (x1, y1) = (w * 841 / 856, (h * 509 / 540).min(h));
    let (frame_w, frame_h) = (640usize, 480usize);
    let side = frame_h - 20;
    let mut y_plane = vec![235u8; frame_w * frame_h];
    let left = (frame_w - side) / 2;
    for fy in 0..side {
        for fx in 0..side {
            let sx = x0 + fx * (x1 - x0) / side;
            let sy = y0 + fy * (y1 - y0) / side;
            // Video luma range 16..235.
            let value = luma[sy * w + sx];
            y_plane[(fy + 10) * frame_w + left + fx] = 16 + (u16::from(value) * 219 / 255) as u8;
        }
    }
    let chroma = vec![128u8; frame_w * frame_h / 4];
    let mut video =
        format!("YUV4MPEG2 W{frame_w} H{frame_h} F10:1 Ip A1:1 C420jpeg\n").into_bytes();
    for _ in 0..10 {
        video.extend_from_slice(b"FRAME\n");
        video.extend_from_slice(&y_plane);
        video.extend_from_slice(&chroma);
        video.extend_from_slice(&chroma);
    }
    video
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from);
    target.join("browser-screenshots")
}

/// Runs one browser test file with the devnet's settings; panics with its
/// output when a test fails.
fn run_browser_tests(file: &str, env: &[(&str, String)]) {
    let dir = browser_tests_dir();
    let screenshots = screenshots_dir();
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
async fn the_staff_pages_work_in_a_real_browser() {
    let devnet = Devnet::start(2, &[]);
    let (home, host) = (devnet.http(0), devnet.http(1));
    let registrar = Rest::login(&home, devnet.login(0, "registrar")).await;
    let visitor = register(&registrar, "BR-1", "Bea Browser").await;
    let suspended = register(&registrar, "BR-2", "Sam Suspended").await;
    let carded = register(&registrar, "BR-3", "Cam Card").await;
    let replaced_card = issue_card(&registrar, &carded).await;
    let card = issue_card(&registrar, &carded).await;
    let (code, content_type, card_png) =
        registrar.get_bytes(&format!("/v1/members/{carded}/card?format=png")).await;
    assert_eq!((code, content_type.as_str()), (200, "image/png"));
    let (w, h, luma) = grey_png(&card_png);
    assert_eq!(qr_texts(w, h, &luma), vec![card.clone()], "the card's PNG carries its credential");
    let screenshots = screenshots_dir();
    std::fs::create_dir_all(&screenshots).expect("screenshots dir");
    std::fs::write(screenshots.join("card-rest.png"), &card_png).expect("card png");
    let video = devnet.path().join("card.y4m");
    std::fs::write(&video, camera_video_of_card(&card_png)).expect("camera video");
    let (code, body) = registrar
        .send("PATCH", &format!("/v1/members/{suspended}"), Some(json!({"status": "suspended"})))
        .await;
    assert_eq!(code, 200, "{body}");
    let desk = Rest::login(&host, devnet.login(1, "front_desk")).await;
    until_checked(&desk, &visitor, "Ok").await;
    until_checked(&desk, &carded, "Ok").await;
    until_checked(&desk, &suspended, "MemberNotActive").await;
    let (desk_user, desk_password) = devnet.login(1, "front_desk");
    let (registrar_user, registrar_password) = devnet.login(1, "registrar");
    run_browser_tests(
        "desk.test.mjs",
        &[
            ("RECIP_WEB_URL", host.clone()),
            ("RECIP_DESK_USER", desk_user),
            ("RECIP_DESK_PASSWORD", desk_password),
            ("RECIP_REGISTRAR_USER", registrar_user),
            ("RECIP_REGISTRAR_PASSWORD", registrar_password),
            ("RECIP_VISITOR", visitor),
            ("RECIP_SUSPENDED_VISITOR", suspended),
            ("RECIP_CARD", card),
            ("RECIP_REPLACED_CARD", replaced_card),
            ("RECIP_CARD_VIDEO", video.display().to_string()),
            ("RECIP_CARDED_VISITOR", carded.clone()),
        ],
    );

    // The registrar's pages, at the home club; the printed card comes back
    // as a PDF in the screenshots folder.
    let (home_registrar, home_password) = devnet.login(0, "registrar");
    let (home_desk, home_desk_password) = devnet.login(0, "front_desk");
    let card_pdf = screenshots.join("card-printed.pdf");
    let _ = std::fs::remove_file(&card_pdf);
    run_browser_tests(
        "registrar.test.mjs",
        &[
            ("RECIP_WEB_URL", home.clone()),
            ("RECIP_REGISTRAR_USER", home_registrar),
            ("RECIP_REGISTRAR_PASSWORD", home_password),
            ("RECIP_DESK_USER", home_desk),
            ("RECIP_DESK_PASSWORD", home_desk_password),
            ("RECIP_CARD_PDF", card_pdf.display().to_string()),
        ],
    );
    // The governors of both clubs: a vote at one, the live tally at the other.
    let (governor, governor_password) = devnet.login(0, "governor");
    let (other_governor, other_password) = devnet.login(1, "governor");
    let (registrar_user, registrar_password) = devnet.login(0, "registrar");
    run_browser_tests(
        "governor.test.mjs",
        &[
            ("RECIP_WEB_URL", devnet.http(0)),
            ("RECIP_OTHER_WEB_URL", devnet.http(1)),
            ("RECIP_GOVERNOR_USER", governor),
            ("RECIP_GOVERNOR_PASSWORD", governor_password),
            ("RECIP_OTHER_GOVERNOR_USER", other_governor),
            ("RECIP_OTHER_GOVERNOR_PASSWORD", other_password),
            ("RECIP_REGISTRAR_USER", registrar_user),
            ("RECIP_REGISTRAR_PASSWORD", registrar_password),
        ],
    );

    // The admins of both clubs: an amendment offered at one, compared and
    // accepted at the other (the devnet's clubs hold an agreement).
    let (admin, admin_password) = devnet.login(0, "admin");
    let (other_admin, other_admin_password) = devnet.login(1, "admin");
    run_browser_tests(
        "admin.test.mjs",
        &[
            ("RECIP_WEB_URL", devnet.http(0)),
            ("RECIP_OTHER_WEB_URL", devnet.http(1)),
            ("RECIP_HOME_CLUB", devnet.club(0)),
            ("RECIP_OTHER_CLUB", devnet.club(1)),
            ("RECIP_ADMIN_USER", admin.clone()),
            ("RECIP_ADMIN_PASSWORD", admin_password.clone()),
            ("RECIP_OTHER_ADMIN_USER", other_admin),
            ("RECIP_OTHER_ADMIN_PASSWORD", other_admin_password),
        ],
    );

    run_browser_tests(
        "staff.test.mjs",
        &[
            ("RECIP_WEB_URL", devnet.http(0)),
            ("RECIP_ADMIN_USER", admin.clone()),
            ("RECIP_ADMIN_PASSWORD", admin_password.clone()),
        ],
    );

    let (desk_user, desk_password) = devnet.login(0, "front_desk");
    run_browser_tests(
        "operator.test.mjs",
        &[
            ("RECIP_WEB_URL", devnet.http(0)),
            ("RECIP_ADMIN_USER", admin),
            ("RECIP_ADMIN_PASSWORD", admin_password),
            ("RECIP_DESK_USER", desk_user),
            ("RECIP_DESK_PASSWORD", desk_password),
        ],
    );

    let rendered = devnet.path().join("card-printed");
    let status = Command::new("pdftoppm")
        .args(["-r", "300", "-png", "-singlefile"])
        .arg(&card_pdf)
        .arg(&rendered)
        .status()
        .expect("pdftoppm runs (make deps installs poppler-utils)");
    assert!(status.success(), "pdftoppm rendered the printed card");
    let page = std::fs::read(rendered.with_extension("png")).expect("rendered card");
    let (w, h, luma) = grey_png(&page);
    let texts = qr_texts(w, h, &luma);
    assert_eq!(texts.len(), 1, "one QR code on the printed card");
    assert!(texts[0].starts_with("RC1:"), "{}", texts[0]);
    // Any club's node verifies it from its own ledger: the host's.
    let verified = common::recip()
        .args(["verify", "card", &texts[0], "--endpoint", &devnet.grpc(1), "--json"])
        .output()
        .expect("recip verify card");
    let answer = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success(), "{answer}{}", String::from_utf8_lossy(&verified.stderr));
    let answer: serde_json::Value = serde_json::from_str(&answer).expect("json");
    assert_eq!(answer["valid"], true, "{answer}");
    assert_eq!(answer["checked_against"], "ledger");
}
