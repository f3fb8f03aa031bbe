//! The staff web app in process (one node, its router called with
//! `oneshot`): sign-in and its cookies, the CSRF guard, role refusals,
//! security headers, and the front desk's pages over plain HTTP. The same
//! pages in a real browser are `browser.rs`.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::in_process::InProcessApi;

/// A response's status, headers and body text.
struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
}

async fn send(api: &InProcessApi, request: Request<Body>) -> Answer {
    let response = api.send(request).await;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22).await.expect("body");
    Answer { status, headers, text: String::from_utf8_lossy(&bytes).into_owned() }
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::empty()).expect("request")
}

fn post_form(path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Request<Body> {
    let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let mut request =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::from(body)).expect("request")
}

/// The value a `Set-Cookie` header gives cookie `name`.
fn set_cookie(answer: &Answer, name: &str) -> Option<(String, String)> {
    answer.headers.get_all(header::SET_COOKIE).iter().find_map(|value| {
        let text = value.to_str().ok()?;
        let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| (value.to_owned(), attributes.to_owned()))
    })
}

/// The value of the hidden input `name` in a page.
fn hidden(text: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start =
        text.find(&marker).unwrap_or_else(|| panic!("no {name} field in:\n{text}")) + marker.len();
    text[start..start + text[start..].find('"').expect("closing quote")].to_owned()
}

/// Signs in as the devnet login of `role`: the session cookie header and
/// the session's CSRF token (read from the page the app goes to).
async fn sign_in(api: &InProcessApi, role: &str) -> (String, String) {
    let form = send(api, get("/login", None)).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text);
    let (login_token, _) = set_cookie(&form, "recip_login").expect("sign-in form cookie");
    assert_eq!(hidden(&form.text, "csrf"), login_token, "the form carries its cookie's token");
    let (username, password) = api.login(role);
    let cookie = format!("recip_login={login_token}");
    let signed = send(
        api,
        post_form(
            "/login",
            Some(&cookie),
            &[
                ("csrf", &login_token),
                ("username", &username),
                ("password", &password),
                ("next", "/"),
            ],
        ),
    )
    .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.text);
    let (session, attributes) = set_cookie(&signed, "recip_session").expect("session cookie");
    assert!(
        attributes.contains("HttpOnly") && attributes.contains("SameSite=Strict"),
        "{attributes}"
    );
    assert!(!attributes.contains("Secure"), "not Secure unless web.secure_cookie");
    let cookie = format!("recip_session={session}");
    let home = send(api, get("/", Some(&cookie))).await;
    let page = if home.status == StatusCode::SEE_OTHER {
        let to = home.headers[header::LOCATION].to_str().expect("location").to_owned();
        send(api, get(&to, Some(&cookie))).await
    } else {
        home
    };
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    (cookie, hidden(&page.text, "csrf"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_gives_a_strict_http_only_session_and_signing_out_ends_it() {
    let api = InProcessApi::start().await;
    let bare = send(&api, get("/desk", None)).await;
    assert_eq!(bare.status, StatusCode::SEE_OTHER);
    assert_eq!(bare.headers[header::LOCATION], "/login?next=%2Fdesk");
    let (cookie, csrf) = sign_in(&api, "front_desk").await;
    let desk = send(&api, get("/desk", Some(&cookie))).await;
    assert_eq!(desk.status, StatusCode::OK);
    assert!(desk.text.contains("front desk"), "the page says the role");
    let out = send(&api, post_form("/logout", Some(&cookie), &[("csrf", &csrf)])).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let (cleared, attributes) = set_cookie(&out, "recip_session").expect("cookie removed");
    assert!(cleared.is_empty() && attributes.contains("Max-Age=0"), "{attributes}");
    assert_eq!(send(&api, get("/desk", Some(&cookie))).await.status, StatusCode::SEE_OTHER);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_shows_the_form_again_without_a_session() {
    let api = InProcessApi::start().await;
    let form = send(&api, get("/login", None)).await;
    let (token, _) = set_cookie(&form, "recip_login").expect("cookie");
    let (username, _) = api.login("front_desk");
    let cookie = format!("recip_login={token}");
    let answer = send(
        &api,
        post_form(
            "/login",
            Some(&cookie),
            &[("csrf", &token), ("username", &username), ("password", "nope")],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.text.contains("wrong username or password"), "{}", answer.text);
    assert!(set_cookie(&answer, "recip_session").is_none());
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_changing_request_without_the_sessions_csrf_token_is_refused() {
    let api = InProcessApi::start().await;
    let (username, password) = api.login("front_desk");
    // The sign-in form without its cookie, or with another token.
    let forged = [("csrf", "a".repeat(64)), ("username", username), ("password", password)];
    let forged: Vec<(&str, &str)> = forged.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(send(&api, post_form("/login", None, &forged)).await.status, StatusCode::FORBIDDEN);
    let cookie = format!("recip_login={}", "b".repeat(64));
    assert_eq!(
        send(&api, post_form("/login", Some(&cookie), &forged)).await.status,
        StatusCode::FORBIDDEN
    );
    let (cookie, csrf) = sign_in(&api, "front_desk").await;
    let member = "0123456789abcdef0123456789abcdef";
    for path in ["/desk/visits", &format!("/desk/visits/{}/void", "ab".repeat(32)), "/logout"] {
        let none = send(&api, post_form(path, Some(&cookie), &[("member", member)])).await;
        assert_eq!(none.status, StatusCode::FORBIDDEN, "{path} without a token");
        assert!(none.text.contains("CSRF token"), "{}", none.text);
        let wrong = send(
            &api,
            post_form(path, Some(&cookie), &[("member", member), ("csrf", &"0".repeat(64))]),
        )
        .await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{path} with another token");
    }
    // The header htmx sends counts as the token.
    let request = Request::post("/desk/visits")
        .header(header::COOKIE, &cookie)
        .header("x-csrf-token", &csrf)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("member=12345"))
        .expect("request");
    let answer = send(&api, request).await;
    assert_eq!(
        answer.status,
        StatusCode::BAD_REQUEST,
        "past the guard to the handler: {}",
        answer.text
    );
    assert!(answer.text.contains("32 hex digits"));
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_opening_another_roles_page_is_refused_with_whose_page_it_is() {
    let api = InProcessApi::start().await;
    let (cookie, _) = sign_in(&api, "registrar").await;
    let desk = send(&api, get("/desk", Some(&cookie))).await;
    assert_eq!(desk.status, StatusCode::FORBIDDEN);
    assert!(desk.text.contains("This page is for the front desk"), "{}", desk.text);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_a_strict_content_security_policy_and_are_not_cached() {
    let api = InProcessApi::start().await;
    let (cookie, _) = sign_in(&api, "front_desk").await;
    for answer in
        [send(&api, get("/login", None)).await, send(&api, get("/desk", Some(&cookie))).await]
    {
        let policy = answer.headers[header::CONTENT_SECURITY_POLICY].to_str().expect("text");
        assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe"), "{policy}");
        assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(answer.headers[header::X_FRAME_OPTIONS], "DENY");
        assert!(!answer.text.contains("<script>"), "no inline script");
        assert!(!answer.text.contains(" style=\""), "no inline style");
        assert!(
            !answer.text.contains("http://") && !answer.text.contains("https://"),
            "nothing from elsewhere"
        );
    }
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_assets_are_served_from_the_binary_and_cached_for_a_year() {
    let api = InProcessApi::start().await;
    let login = send(&api, get("/login", None)).await;
    let start = login.text.find("/assets/app-").expect("the stylesheet is linked");
    let path = &login.text[start..start + login.text[start..].find('"').expect("quote")];
    let css = send(&api, get(path, None)).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(css.headers.contains_key(header::CONTENT_SECURITY_POLICY));
    assert_eq!(css.headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert!(css.headers[header::CACHE_CONTROL].to_str().expect("text").contains("immutable"));
    assert_eq!(send(&api, get("/assets/nothing.js", None)).await.status, StatusCode::NOT_FOUND);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_front_desk_check_names_what_is_wrong_with_a_typed_id() {
    let api = InProcessApi::start().await;
    let (cookie, _) = sign_in(&api, "front_desk").await;
    let bad = send(&api, get("/desk?member=xyz&guests=0", Some(&cookie))).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text.contains("is not a member id"), "{}", bad.text);
    let guests =
        send(&api, get("/desk?member=0123456789abcdef0123456789abcdef&guests=lots", Some(&cookie)))
            .await;
    assert_eq!(guests.status, StatusCode::BAD_REQUEST);
    assert!(guests.text.contains("guests must be a whole number"), "{}", guests.text);
    let unknown =
        send(&api, get("/desk?member=0123456789abcdef0123456789abcdef", Some(&cookie))).await;
    assert_eq!(unknown.status, StatusCode::OK);
    assert!(unknown.text.contains("Refused"), "{}", unknown.text);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_again_while_signed_in_works_and_ends_the_old_session() {
    let api = InProcessApi::start().await;
    let (old_cookie, _) = sign_in(&api, "front_desk").await;
    // The sign-in form, posted with both the old session and the form's cookie.
    let form = send(&api, get("/login", Some(&old_cookie))).await;
    let (token, _) = set_cookie(&form, "recip_login").expect("cookie");
    let (username, password) = api.login("front_desk");
    let cookies = format!("{old_cookie}; recip_login={token}");
    let fields = [("csrf", token.as_str()), ("username", &username), ("password", &password)];
    let again = send(&api, post_form("/login", Some(&cookies), &fields)).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.text);
    let (new_session, _) = set_cookie(&again, "recip_session").expect("a new session");
    assert_ne!(format!("recip_session={new_session}"), old_cookie);
    assert_eq!(send(&api, get("/desk", Some(&old_cookie))).await.status, StatusCode::SEE_OTHER);
    let new_cookie = format!("recip_session={new_session}");
    assert_eq!(send(&api, get("/desk", Some(&new_cookie))).await.status, StatusCode::OK);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_role_posting_a_front_desk_form_is_refused() {
    let api = InProcessApi::start().await;
    let (cookie, csrf) = sign_in(&api, "registrar").await;
    let member = "0123456789abcdef0123456789abcdef";
    let fields = [("csrf", csrf.as_str()), ("member", member), ("guests", "0")];
    let answer = send(&api, post_form("/desk/visits", Some(&cookie), &fields)).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text);
    assert!(answer.text.contains("This page is for the front desk"));
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_or_roles_changed_elsewhere_end_the_web_session_at_the_next_request() {
    let api = InProcessApi::start().await;
    let (username, _) = api.login("front_desk");
    let records = reciprocity_node::records::Records::new(api.node.index_store().expect("index"));
    let account = records.staff_get(&username).await.expect("read").expect("account");
    // As `recip staff` in another process would: the node's memory knows nothing.
    let (cookie, _) = sign_in(&api, "front_desk").await;
    let hash =
        reciprocity_node::records::staff::hash_password("another long password 1").expect("hash");
    records.staff_update(&username, &account.roles, false, Some(&hash)).await.expect("update");
    assert_eq!(send(&api, get("/desk", Some(&cookie))).await.status, StatusCode::SEE_OTHER);
    records
        .staff_update(&username, &account.roles, false, Some(&account.password_hash))
        .await
        .expect("update");
    let (cookie, _) = sign_in(&api, "front_desk").await;
    records.staff_update(&username, "front_desk,registrar", false, None).await.expect("update");
    assert_eq!(send(&api, get("/desk", Some(&cookie))).await.status, StatusCode::SEE_OTHER);
    api.stop().await;
}

/// A file-upload form of `fields` (name, file name or none, content).
fn post_multipart(
    path: &str,
    cookie: &str,
    fields: &[(&str, Option<&str>, &str)],
) -> Request<Body> {
    let boundary = "recipboundary7d1";
    let mut body = String::new();
    for (name, file, content) in fields {
        body.push_str(&format!("--{boundary}\r\n"));
        match file {
            Some(file) => body.push_str(&format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: text/csv\r\n\r\n"
            )),
            None => body.push_str(&format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n")),
        }
        body.push_str(content);
        body.push_str("\r\n");
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    Request::post(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_upload_needs_its_token_before_the_file_and_is_taken_by_the_import_only() {
    let api = InProcessApi::start().await;
    let (cookie, csrf) = sign_in(&api, "registrar").await;
    let csv = "member_number,full_name,tier,valid_until\nUP-1,Up Load,full,2030-01-01\n";
    // Without the token, or with the token after the file: refused before the handler.
    let none =
        send(&api, post_multipart("/members/import", &cookie, &[("file", Some("m.csv"), csv)]))
            .await;
    assert_eq!(none.status, StatusCode::FORBIDDEN, "{}", none.text);
    let late = post_multipart(
        "/members/import",
        &cookie,
        &[("file", Some("m.csv"), csv), ("csrf", None, &csrf)],
    );
    assert_eq!(send(&api, late).await.status, StatusCode::FORBIDDEN);
    // Another route does not take a file upload, token or not.
    let elsewhere = post_multipart("/members", &cookie, &[("csrf", None, &csrf)]);
    assert_eq!(send(&api, elsewhere).await.status, StatusCode::FORBIDDEN);
    // The token first, then the file: the import starts and its page follows.
    let good = post_multipart(
        "/members/import",
        &cookie,
        &[("csrf", None, &csrf), ("file", Some("m.csv"), csv)],
    );
    let started = send(&api, good).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text);
    let to = started.headers[header::LOCATION].to_str().expect("location").to_owned();
    assert!(to.starts_with("/members/imports/"), "{to}");
    let page = send(&api, get(&to, Some(&cookie))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("import-bar"), "{}", page.text);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_checked_at_the_desk_is_posted_and_a_damaged_one_is_refused_with_the_reason() {
    let api = InProcessApi::start().await;
    let (cookie, csrf) = sign_in(&api, "front_desk").await;
    let answer = send(
        &api,
        post_form("/desk/check", Some(&cookie), &[("csrf", &csrf), ("member", "RC1:NOT A CARD")]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert!(
        answer.text.contains("Card refused: The card&#39;s code is damaged"),
        "{}",
        answer.text
    );
    assert!(!answer.text.contains("action=\"/desk/visits\""), "no record form");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clubs_last_admin_cannot_be_disabled_or_lose_the_admin_role() {
    let api = InProcessApi::start().await;
    let (cookie, csrf) = sign_in(&api, "admin").await;
    let (admin, _) = api.login("admin");
    let path = format!("/staff/accounts/{admin}");
    let disable = [
        ("csrf", csrf.as_str()),
        ("shown_roles", "admin"),
        ("shown_disabled", "0"),
        ("role", "admin"),
        ("disabled", "1"),
    ];
    let refused = send(&api, post_form(&path, Some(&cookie), &disable)).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert!(refused.text.contains("last enabled admin"), "{}", refused.text);
    let demote = [
        ("csrf", csrf.as_str()),
        ("shown_roles", "admin"),
        ("shown_disabled", "0"),
        ("role", "registrar"),
    ];
    let refused = send(&api, post_form(&path, Some(&cookie), &demote)).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    // Still signed in: nothing changed.
    assert_eq!(send(&api, get("/staff", Some(&cookie))).await.status, StatusCode::OK);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminating_an_agreement_needs_its_confirmation_ticked() {
    let api = InProcessApi::start().await;
    let (cookie, csrf) = sign_in(&api, "admin").await;
    // The network's one club, as the layout names it: `Name (id)`.
    let page = send(&api, get("/agreements", Some(&cookie))).await;
    let who = page.text.split("class=\"who-club\">").nth(1).expect("who-club");
    let club = who[who.find('(').expect("(") + 1..who.find(')').expect(")")].to_owned();
    let path = format!("/agreements/{club}/terminate");
    let unconfirmed = send(&api, post_form(&path, Some(&cookie), &[("csrf", &csrf)])).await;
    assert!(unconfirmed.text.contains("Not terminated: tick the box"), "{}", unconfirmed.text);
    assert_ne!(unconfirmed.status, StatusCode::SEE_OTHER, "nothing was done");
    api.stop().await;
}
