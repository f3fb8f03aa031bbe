//! The staff REST API over real HTTP on `recip devnet` networks (real node
//! processes, SQLite index): every user flow of the issue, and the security
//! rules (401/403/400/405/429, club isolation, SQL metacharacters, no
//! personal data on the ledger).

mod common;

use std::time::Duration;

use common::{Devnet, Rest};
use serde_json::{Value, json};

/// One devnet at a time: each runs several node processes.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Polls `path` until `done` holds for the answer (index lag, imports).
async fn eventually(rest: &Rest, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        let (code, body) = rest.get(path).await;
        if code == 200 && done(&body) {
            return body;
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("GET {path} never reached the expected state; last answer: {last}");
}

fn csv_of_members(count: usize, prefix: &str) -> String {
    let mut csv =
        String::from("member_number,full_name,tier,valid_until,email,phone,date_of_birth,notes\n");
    for i in 0..count {
        csv.push_str(&format!(
            "{prefix}{i:05},\"Zed{i:05}, Person\",full,2031-12-31,person{i}@{prefix}.example,+44 20 7946 {i:04},1980-02-{:02},\"prefers the {i} o'clock slot\"\n",
            1 + i % 28
        ));
    }
    csv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrar_imports_a_thousand_members_from_csv_and_no_personal_field_reaches_the_ledger() {
    let _one = ONE_AT_A_TIME.lock().await;
    let devnet = Devnet::start(1, &[]);
    let registrar = Rest::login(&devnet.http(0), devnet.login(0, "registrar")).await;

    // A file with bad rows is refused as a whole, every bad row named.
    let bad = "member_number,full_name,tier,valid_until\nB1,Good Row,full,2031-01-01\nB2,,full,2031-01-01\nB3,Bad Tier,GOLD,2031-01-01\n";
    let (code, body, _) =
        registrar.send_raw("POST", "/v1/members/import", "text/csv", bad.as_bytes().to_vec()).await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid_rows");
    let lines: Vec<u64> =
        body["rows"].as_array().unwrap().iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, vec![3, 4], "{body}");
    let (_, found) = registrar.get("/v1/members?number=B1").await;
    assert_eq!(found["members"].as_array().unwrap().len(), 0, "nothing half-imported: {found}");

    // 1,000 members: accepted as a job whose progress is visible.
    let csv = csv_of_members(1_000, "imp");
    let (code, job, _) =
        registrar.send_raw("POST", "/v1/members/import", "text/csv", csv.into_bytes()).await;
    assert_eq!(code, 202, "{job}");
    assert_eq!(job["rows_total"], 1_000);
    let job_id = job["job_id"].as_str().unwrap();
    let done =
        eventually(&registrar, &format!("/v1/members/imports/{job_id}"), |p| p["status"] == "done")
            .await;
    assert_eq!(done["rows_committed"], 1_000, "{done}");
    assert_eq!(done["rows_failed"], 0, "{done}");

    // Found by number (the ledger's record joined once indexed) and by part of the name.
    let by_number = eventually(&registrar, "/v1/members?number=imp00042", |b| {
        b["members"].as_array().is_some_and(|m| m.len() == 1 && m[0]["status"] == "active")
    })
    .await;
    let member = &by_number["members"][0];
    assert_eq!(member["full_name"], "Zed00042, Person");
    assert_eq!(member["tier"], "full");
    assert_eq!(member["valid_until"], "2031-12-31");
    let (code, by_name) = registrar.get("/v1/members?name=zed0004&limit=100").await;
    assert_eq!(code, 200);
    assert_eq!(by_name["members"].as_array().unwrap().len(), 10, "zed00040..zed00049: {by_name}");
    // Pages of at most `limit`, with the next offset.
    let (_, page) = registrar.get("/v1/members?name=person&limit=400&offset=800").await;
    assert_eq!(page["members"].as_array().unwrap().len(), 200);
    assert_eq!(page["next_offset"], Value::Null);
    let (_, single) =
        registrar.get(&format!("/v1/members/{}", member["member_id"].as_str().unwrap())).await;
    assert_eq!(single["email"], "person42@imp.example");

    // Registering one member over JSON: profile and record in one request.
    let (code, registered) = registrar
        .post(
            "/v1/members",
            json!({"member_number": "solo-1", "full_name": "Quentin Quietly", "email": "quentin@private.example",
                   "phone": "+1 555 0100", "date_of_birth": "1948-07-07", "notes": "allergic to walnuts",
                   "tier": "full", "valid_until": "2030-06-30"}),
        )
        .await;
    assert_eq!(code, 201, "{registered}");
    assert_eq!(registered["member"]["status"], "active");
    assert!(registered["transaction"]["height"].as_u64().unwrap() > 0);
    let (code, again) = registrar
        .post("/v1/members", json!({"member_number": "solo-1", "full_name": "Twin", "tier": "full", "valid_until": "2030-06-30"}))
        .await;
    assert_eq!(
        (code, again["error"]["code"].as_str()),
        (409, Some("member_number_taken")),
        "{again}"
    );

    // No personal field of any profile appears in any block's bytes.
    let mut client = reciprocity_sdk::client::NodeClient::connect(&devnet.grpc(0)).await.unwrap();
    let height = client.status().await.unwrap().height;
    let mut chain = Vec::new();
    for h in 1..=height {
        use prost::Message;
        chain.extend(client.block(h).await.unwrap().encode_to_vec());
    }
    let chain = String::from_utf8_lossy(&chain).to_lowercase();
    for needle in [
        "quentin",
        "quietly",
        "private.example",
        "555 0100",
        "1948-07-07",
        "walnuts",
        "zed00042",
        "person42@",
        "o'clock",
        "imp00042",
        "solo-1",
    ] {
        assert!(!chain.contains(needle), "{needle:?} found in block bytes");
    }
}

/// Terms as the REST API takes them.
fn terms(month_max: u32, from: &str) -> Value {
    json!({"tiers_covered": ["full"], "visit_days_per_month_max": month_max, "visit_days_per_year_max": 24,
           "guests_per_visit_max": 1, "visit_fee_minor": 1500, "fee_currency": "EUR",
           "fee_settlement": "billed_to_home_club", "valid_from": from, "notice_days": 30})
}

fn today() -> String {
    reciprocity_sdk::dates::format_day(reciprocity_sdk::dates::day_of_ms(
        reciprocity_node::clock::now_ms(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_proposes_an_agreement_and_the_other_club_accepts_its_exact_terms() {
    let _one = ONE_AT_A_TIME.lock().await;
    let devnet = Devnet::start(3, &[]);
    let (alpine, union) = (devnet.club(1), devnet.club(2));
    let alpine_admin = Rest::login(&devnet.http(1), devnet.login(1, "admin")).await;
    let union_admin = Rest::login(&devnet.http(2), devnet.login(2, "admin")).await;

    let (code, offered) = alpine_admin
        .post("/v1/agreements", json!({"counterparty": union, "terms": terms(3, &today())}))
        .await;
    assert_eq!(code, 201, "{offered}");
    let hash = offered["terms_hash"].as_str().unwrap();
    // The other side sees the pending offer with its terms, from its own
    // node (as soon as that node has applied the block).
    let seen = eventually(&union_admin, &format!("/v1/agreements/{alpine}"), |_| true).await;
    assert_eq!(seen["status"], "proposed");
    assert_eq!(seen["pending"]["terms_hash"], hash);
    assert_eq!(seen["pending"]["terms"]["visit_days_per_month_max"], 3);
    // Accepting other terms than offered is refused with the rule's name.
    let (code, wrong) = union_admin
        .post(&format!("/v1/agreements/{alpine}/accept"), json!({"terms_hash": "00".repeat(32)}))
        .await;
    assert_eq!(
        (code, wrong["error"]["code"].as_str()),
        (409, Some("TermsHashMismatch")),
        "{wrong}"
    );
    // The offering club cannot accept its own offer.
    let (code, own) = alpine_admin
        .post(&format!("/v1/agreements/{union}/accept"), json!({"terms_hash": hash}))
        .await;
    assert_eq!((code, own["error"]["code"].as_str()), (409, Some("CannotAcceptOwnOffer")), "{own}");
    let (code, accepted) = union_admin
        .post(&format!("/v1/agreements/{alpine}/accept"), json!({"terms_hash": hash}))
        .await;
    assert_eq!(code, 201, "{accepted}");
    let active =
        eventually(&alpine_admin, &format!("/v1/agreements/{union}"), |a| a["status"] == "active")
            .await;
    assert_eq!(active["versions"][0]["terms_hash"], hash);
    // Suspend and resume from one side; history lists every event in order.
    let (code, _) = union_admin.post(&format!("/v1/agreements/{alpine}/suspend"), json!({})).await;
    assert_eq!(code, 201);
    eventually(&alpine_admin, &format!("/v1/agreements/{union}"), |a| a["status"] == "suspended")
        .await;
    let (code, _) = union_admin.post(&format!("/v1/agreements/{alpine}/resume"), json!({})).await;
    assert_eq!(code, 201);
    let history = eventually(&alpine_admin, &format!("/v1/agreements/{union}"), |a| {
        a["history"].as_array().is_some_and(|h| h.len() >= 4)
    })
    .await;
    let events: Vec<&str> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["offered", "accepted", "suspended", "resumed"]);
    let listed = eventually(&union_admin, "/v1/agreements", |l| {
        l["agreements"].as_array().is_some_and(|a| {
            a.iter().any(|x| x["counterparty"] == alpine && x["current_version"] == 1)
        })
    })
    .await;
    // Each listed agreement says its status, as its detail does.
    let listed_alpine = listed["agreements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["counterparty"] == alpine)
        .unwrap();
    assert_eq!(listed_alpine["status"], "active", "{listed}");
    // A front desk may not make agreements.
    let desk = Rest::login(&devnet.http(1), devnet.login(1, "front_desk")).await;
    let (code, _) = desk
        .post("/v1/agreements", json!({"counterparty": union, "terms": terms(3, &today())}))
        .await;
    assert_eq!(code, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_desk_at_another_club_records_visits_until_the_monthly_cap_refuses_one() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut devnet = Devnet::start(2, &[]);
    let (harbour, alpine) = (devnet.club(0), devnet.club(1));
    // A harbour member, registered over REST.
    let registrar = Rest::login(&devnet.http(0), devnet.login(0, "registrar")).await;
    let (code, registered) = registrar
        .post("/v1/members", json!({"member_number": "H-77", "full_name": "Vera Visitor", "tier": "full", "valid_until": "2031-01-01"}))
        .await;
    assert_eq!(code, 201, "{registered}");
    let member = registered["member"]["member_id"].as_str().unwrap().to_owned();
    // The devnet seeded harbour–alpine terms: 4 visit-days a month, 1 guest.
    let desk = Rest::login(&devnet.http(1), devnet.login(1, "front_desk")).await;
    let (code, check) = desk
        .post("/v1/visits/check", json!({"member_id": member, "home_club": harbour, "guests": 2}))
        .await;
    assert_eq!(code, 200, "{check}");
    assert_eq!(
        (check["eligible"].as_bool(), check["code"].as_str()),
        (Some(false), Some("TooManyGuests")),
        "{check}"
    );
    assert!(check["reason"].as_str().unwrap().contains("guests"), "{check}");

    // Visits on four days of one month (the node clock moved forward by
    // restarting every node with RECIP_TEST_CLOCK_OFFSET_MS), then the fifth day is refused.
    let now_ms = reciprocity_node::clock::now_ms();
    let day = reciprocity_sdk::dates::day_of_ms(now_ms);
    let date = reciprocity_sdk::dates::format_day(day);
    let (year, month): (i32, u32) = (date[0..4].parse().unwrap(), date[5..7].parse().unwrap());
    let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    let first_of_next = reciprocity_sdk::dates::day(next_year, next_month, 1).unwrap();
    let mut desk = desk;
    for visit_day in 0..5u32 {
        let offset_ms = u64::from(first_of_next + visit_day - day) * 86_400_000;
        devnet.restart(&[("RECIP_TEST_CLOCK_OFFSET_MS", &offset_ms.to_string())]).await;
        desk = Rest::login(&devnet.http(1), devnet.login(1, "front_desk")).await;
        let (code, check) =
            desk.post("/v1/visits/check", json!({"member_id": member, "guests": 1})).await;
        assert_eq!(code, 200, "{check}");
        let (code, recorded) =
            desk.post("/v1/visits", json!({"member_id": member, "guests": 1})).await;
        if visit_day < 4 {
            assert_eq!(check["eligible"], true, "day {visit_day}: {check}");
            assert_eq!(check["allowance"]["month_days_remaining"], 4 - visit_day, "{check}");
            assert_eq!(check["terms"]["fee_minor"], 2500, "{check}");
            assert_eq!(code, 201, "day {visit_day}: {recorded}");
            // A second check-in the same day costs nothing.
            let (_, again) = desk.post("/v1/visits/check", json!({"member_id": member})).await;
            assert_eq!(again["allowance"]["today_already_counted"], true, "{again}");
        } else {
            assert_eq!(
                (check["eligible"].as_bool(), check["code"].as_str()),
                (Some(false), Some("MonthlyQuotaExceeded")),
                "{check}"
            );
            assert_eq!(check["allowance"]["month_days_remaining"], 0);
            assert_eq!(
                (code, recorded["error"]["code"].as_str()),
                (409, Some("MonthlyQuotaExceeded")),
                "{recorded}"
            );
            assert!(recorded["error"]["message"].as_str().unwrap().contains("month"), "{recorded}");
        }
    }
    // The host lists the four visits; the home club sees them on its side.
    let listed = eventually(&desk, &format!("/v1/visits?member_id={member}"), |v| {
        v["visits"].as_array().is_some_and(|v| v.len() == 4)
    })
    .await;
    assert!(listed["visits"].as_array().unwrap().iter().all(|v| v["host_club"] == alpine));
    let home = Rest::login(&devnet.http(0), devnet.login(0, "registrar")).await;
    eventually(&home, &format!("/v1/visits?side=home&member_id={member}"), |v| {
        v["visits"].as_array().is_some_and(|v| v.len() == 4)
    })
    .await;
    // A visit more than 24 hours old can no longer be voided.
    let last = listed["visits"][0]["visit_id"].as_str().unwrap().to_owned();
    let (code, late) = desk.post(&format!("/v1/visits/{last}/void"), json!({})).await;
    assert_eq!((code, late["error"]["code"].as_str()), (409, Some("VoidWindowPassed")), "{late}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn governors_of_three_clubs_vote_a_proposal_through_on_their_own_nodes() {
    let _one = ONE_AT_A_TIME.lock().await;
    let devnet = Devnet::start(3, &[]);
    let governors: Vec<Rest> = futures::future::join_all(
        (0..3).map(|i| Rest::login_owned(devnet.http(i), devnet.login(i, "governor"))),
    )
    .await;
    let (code, opened) = governors[0]
        .post("/v1/proposals", json!({"action": {"kind": "resolution", "text": "Reciprocal dress code: jackets after 6pm"}, "voting_period_ms": 86_400_000}))
        .await;
    assert_eq!(code, 201, "{opened}");
    let id = opened["proposal_id"].as_str().unwrap().to_owned();
    let open = eventually(&governors[1], &format!("/v1/proposals/{id}"), |_| true).await;
    assert_eq!(open["status"], "open");
    assert_eq!(open["tally"]["electorate"], 3);
    assert_eq!(open["own_vote"], Value::Null);
    // A registrar cannot vote.
    let registrar = Rest::login(&devnet.http(1), devnet.login(1, "registrar")).await;
    let (code, _) =
        registrar.post(&format!("/v1/proposals/{id}/votes"), json!({"choice": "yes"})).await;
    assert_eq!(code, 403);
    let (code, bad) =
        governors[1].post(&format!("/v1/proposals/{id}/votes"), json!({"choice": "maybe"})).await;
    assert_eq!(code, 400, "{bad}");
    for (i, governor) in governors.iter().enumerate().take(2) {
        let (code, vote) =
            governor.post(&format!("/v1/proposals/{id}/votes"), json!({"choice": "yes"})).await;
        assert_eq!(code, 201, "governor {i}: {vote}");
    }
    // Two of three yes: decided, whatever the third does.
    let decided =
        eventually(&governors[2], &format!("/v1/proposals/{id}"), |p| p["status"] == "passed")
            .await;
    assert_eq!(decided["tally"]["yes"], 2);
    let (code, late) =
        governors[2].post(&format!("/v1/proposals/{id}/votes"), json!({"choice": "no"})).await;
    assert_eq!((code, late["error"]["code"].as_str()), (409, Some("ProposalClosed")), "{late}");
    let closed = eventually(&governors[2], "/v1/proposals?status=closed", |p| {
        p["proposals"].as_array().is_some_and(|p| p.iter().any(|x| x["proposal_id"] == id.as_str()))
    })
    .await;
    let row = closed["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["proposal_id"] == id.as_str())
        .unwrap();
    assert_eq!((row["status"].as_str(), row["yes"].as_i64()), (Some("passed"), Some(2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_refuses_missing_tokens_wrong_roles_other_clubs_and_bad_input() {
    let _one = ONE_AT_A_TIME.lock().await;
    let devnet = Devnet::start(2, &[("RECIP_API_ADMIN_REQUESTS_PER_S", "5")]);
    let anonymous = Rest::new(&devnet.http(0));

    // The per-route matrix (401, 403, 405, 400 on every route) runs in
    // process (`router.rs`); here the same refusals over real HTTP.
    let (code, _) = anonymous
        .post("/v1/auth/login", json!({"username": "admin", "password": "wrong password!"}))
        .await;
    assert_eq!(code, 401);

    // Roles: each endpoint needs its role.
    let desk = Rest::login(&devnet.http(0), devnet.login(0, "front_desk")).await;
    let registrar = Rest::login(&devnet.http(0), devnet.login(0, "registrar")).await;
    let (code, body) = desk.post("/v1/members", json!({"member_number": "x1", "full_name": "X", "tier": "full", "valid_until": "2030-01-01"})).await;
    assert_eq!(code, 403, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("registrar"), "{body}");
    let (code, _) = registrar.post("/v1/visits/check", json!({"member_id": "ab".repeat(16)})).await;
    assert_eq!(code, 403);
    let (code, _) = registrar.get("/v1/staff").await;
    assert_eq!(code, 403);
    // Personal data is for registrars and admins only.
    let (code, _) = desk.get("/v1/members?name=a").await;
    assert_eq!(code, 403);
    // A known path with the wrong method: 405, with the JSON error body.
    let (code, body) = registrar.send("DELETE", "/v1/members", None).await;
    assert_eq!((code, body["error"]["code"].as_str()), (405, Some("method_not_allowed")), "{body}");

    // Another club's member: 403, and its profile never shows.
    let (code, harbour_member) = registrar
        .post("/v1/members", json!({"member_number": "H-1", "full_name": "Hattie Harbour", "email": "hattie@harbour.example", "tier": "full", "valid_until": "2030-01-01"}))
        .await;
    assert_eq!(code, 201, "{harbour_member}");
    let member_id = harbour_member["member"]["member_id"].as_str().unwrap();
    let alpine_registrar = Rest::login(&devnet.http(1), devnet.login(1, "registrar")).await;
    let (code, body) = alpine_registrar.get(&format!("/v1/members/{member_id}")).await;
    assert_eq!(code, 403, "{body}");
    assert!(!body.to_string().contains("Hattie"));
    // An alpine identity logging in to harbour's node by key cannot read harbour's members either.
    let alpine_key = devnet.keystore_key(1, "registrar");
    let mut by_key = Rest::new(&devnet.http(0));
    let (code, challenge) = by_key
        .post("/v1/auth/challenge", json!({"public_key": alpine_key.public_key().to_hex()}))
        .await;
    assert_eq!(code, 200, "{challenge}");
    let challenge_bytes: [u8; 32] =
        hex::decode(challenge["challenge"].as_str().unwrap()).unwrap().try_into().unwrap();
    let signature =
        reciprocity_sdk::auth::sign_challenge(&alpine_key, &devnet.chain_id(), &challenge_bytes);
    let (code, token) = by_key
        .post("/v1/auth/key-login", json!({"public_key": alpine_key.public_key().to_hex(), "challenge": challenge["challenge"], "signature": hex::encode(signature)}))
        .await;
    assert_eq!(code, 200, "{token}");
    assert_eq!(token["club"], devnet.club(1));
    by_key.token = Some(token["token"].as_str().unwrap().to_owned());
    let (code, _) = by_key.get(&format!("/v1/members/{member_id}")).await;
    assert_eq!(code, 403);
    let (code, _) = by_key.get("/v1/members?name=hattie").await;
    assert_eq!(code, 403);
    // ... and this node will not sign for it: it submits its own envelope.
    let (code, body) = by_key.post("/v1/members", json!({"member_number": "A-9", "full_name": "A", "tier": "full", "valid_until": "2030-01-01"})).await;
    assert_eq!(code, 403, "{body}");
    let tx = reciprocity_sdk::tx::TxBuilder::now(devnet.chain_id()).sign(
        &alpine_key,
        reciprocity_sdk::tx::body::register_member(
            &reciprocity_sdk::random_member_id().unwrap(),
            "full",
            40_000,
        ),
    );
    let (code, receipt) = by_key
        .post("/v1/transactions", json!({"payload": hex::encode(&tx.payload), "signer": hex::encode(&tx.signer), "signature": hex::encode(&tx.signature)}))
        .await;
    assert_eq!(code, 201, "{receipt}");
    let (code, status) =
        by_key.get(&format!("/v1/transactions/{}", receipt["tx_id"].as_str().unwrap())).await;
    assert_eq!((code, status["code"].as_str()), (200, Some("Ok")), "{status}");
    // Sent again (its answer lost), the same envelope gets the same receipt:
    // committed once, never "refused, nothing was submitted".
    let (code, again) = by_key
        .post("/v1/transactions", json!({"payload": hex::encode(&tx.payload), "signer": hex::encode(&tx.signer), "signature": hex::encode(&tx.signature)}))
        .await;
    assert_eq!(code, 201, "{again}");
    assert_eq!((&again["tx_id"], &again["height"]), (&receipt["tx_id"], &receipt["height"]));
    // An envelope signed by another club's key is refused for this caller.
    let harbour_tx = reciprocity_sdk::tx::TxBuilder::now(devnet.chain_id()).sign(
        &devnet.keystore_key(0, "registrar"),
        reciprocity_sdk::tx::body::register_member(
            &reciprocity_sdk::random_member_id().unwrap(),
            "full",
            40_000,
        ),
    );
    let (code, _) = by_key
        .post("/v1/transactions", json!({"payload": hex::encode(&harbour_tx.payload), "signer": hex::encode(&harbour_tx.signer), "signature": hex::encode(&harbour_tx.signature)}))
        .await;
    assert_eq!(code, 403);

    // Bad input: 400 with a JSON body naming the problem; nothing written.
    let cases: [(&str, &[u8]); 4] = [
        ("not json", b"{\"member_number\": "),
        ("wrong type", br#"{"member_number": 5, "full_name": "X", "tier": "full", "valid_until": "2030-01-01"}"#),
        ("unknown field", br#"{"member_number": "u1", "full_name": "X", "tier": "full", "valid_until": "2030-01-01", "ssn": "123"}"#),
        ("bad date", br#"{"member_number": "u2", "full_name": "X", "tier": "full", "valid_until": "2030-02-30"}"#),
    ];
    for (what, body) in cases {
        let (code, answer, _) =
            registrar.send_raw("POST", "/v1/members", "application/json", body.to_vec()).await;
        assert_eq!(code, 400, "{what}: {answer}");
        assert!(
            answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {answer}"
        );
    }
    let (_, unknown, _) =
        registrar.send_raw("POST", "/v1/members", "application/json", cases[2].1.to_vec()).await;
    assert!(unknown["error"]["message"].as_str().unwrap().contains("ssn"), "{unknown}");
    let (code, answer, _) =
        registrar.send_raw("POST", "/v1/members", "text/plain", b"hello".to_vec()).await;
    assert_eq!(
        (code, answer["error"]["code"].as_str()),
        (415, Some("unsupported_media_type")),
        "{answer}"
    );
    let huge = format!(
        r#"{{"member_number": "big", "full_name": "{}", "tier": "full", "valid_until": "2030-01-01"}}"#,
        "x".repeat(200_000)
    );
    let (code, answer, _) =
        registrar.send_raw("POST", "/v1/members", "application/json", huge.into_bytes()).await;
    assert_eq!((code, answer["error"]["code"].as_str()), (413, Some("body_too_large")), "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("api.body_bytes_max = 65536 bytes (64 KiB)"),
        "the limit is named: {answer}"
    );
    let (code, answer) = registrar.get("/v1/members?limit=abc").await;
    assert_eq!(code, 400, "{answer}");

    // SQL metacharacters in search are only text.
    for hostile in
        ["'; DROP TABLE member_profiles; --", "%", "_", "\\", "\" OR 1=1 --", "Hattie' OR '1'='1"]
    {
        let encoded: String = url_encode(hostile);
        let (code, answer) = registrar.get(&format!("/v1/members?name={encoded}")).await;
        assert_eq!(code, 200, "{hostile}: {answer}");
        assert_eq!(answer["members"].as_array().unwrap().len(), 0, "{hostile} matched: {answer}");
    }
    let (_, still) = registrar.get("/v1/members?name=hattie").await;
    assert_eq!(still["members"].as_array().unwrap().len(), 1, "profiles intact: {still}");

    // Only the host voids its visits (the devnet seeded two at alpine).
    let alpine_desk = Rest::login(&devnet.http(1), devnet.login(1, "front_desk")).await;
    let (_, seeded) = alpine_desk.get("/v1/visits").await;
    let visit = seeded["visits"][0]["visit_id"].as_str().expect("seeded visits").to_owned();
    let harbour_desk = Rest::login(&devnet.http(0), devnet.login(0, "front_desk")).await;
    let (code, _) = harbour_desk.post(&format!("/v1/visits/{visit}/void"), json!({})).await;
    assert_eq!(code, 403);
    let (code, voided) = alpine_desk.post(&format!("/v1/visits/{visit}/void"), json!({})).await;
    assert_eq!(code, 201, "{voided}");
    let (code, twice) = alpine_desk.post(&format!("/v1/visits/{visit}/void"), json!({})).await;
    assert_eq!(
        (code, twice["error"]["code"].as_str()),
        (409, Some("VisitAlreadyVoided")),
        "{twice}"
    );

    // Per-role rate limit: 429 with Retry-After.
    let admin = Rest::login(&devnet.http(0), devnet.login(0, "admin")).await;
    let mut limited = None;
    for _ in 0..40 {
        let (code, body, headers) =
            admin.send_raw("GET", "/v1/staff", "application/json", Vec::new()).await;
        if code == 429 {
            limited = Some((body, headers));
            break;
        }
    }
    let (body, headers) = limited.expect("the admin budget of 5/s ran out");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert!(headers.get("retry-after").is_some());

    // A key login ends when the ledger revokes the key.
    let alpine_club_key = reciprocity_sdk::keys::Keypair::read_file(
        &devnet.path().join(devnet.club(1)).join("club.key"),
    )
    .unwrap();
    let revoke = reciprocity_sdk::tx::TxBuilder::now(devnet.chain_id()).sign(
        &alpine_club_key,
        reciprocity_sdk::tx::body::revoke_identity(&alpine_key.public_key()),
    );
    let mut grpc = reciprocity_sdk::client::NodeClient::connect(&devnet.grpc(0)).await.unwrap();
    assert_eq!(grpc.submit(revoke, true, 10_000).await.unwrap().code, 0);
    let (code, body) = by_key.get("/v1/auth/me").await;
    assert_eq!(code, 401, "{body}");

    // Every action above is in the audit log, with who did it.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (code, audit) = admin.get("/v1/audit?limit=200").await;
    assert_eq!(code, 200, "{audit}");
    let entries = audit["entries"].as_array().unwrap();
    assert!(entries.iter().any(|e| e["action"] == "member.register"
        && e["actor"] == "staff:registrar"
        && e["outcome"] == "ok"));
    assert!(entries.iter().any(|e| e["action"] == "auth.login" && e["outcome"] == "unauthorized"));
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(
            |b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            },
        )
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_whose_registration_never_committed_is_swept_and_a_committed_one_is_kept() {
    let _one = ONE_AT_A_TIME.lock().await;
    let devnet = Devnet::start(1, &[("RECIP_API_ORPHAN_SWEEP_MS", "200")]);
    let registrar = Rest::login(&devnet.http(0), devnet.login(0, "registrar")).await;
    // As a node stopped between storing a profile and seeing its
    // registration commit leaves them: both pending past their deadline,
    // one member on the ledger, the other not.
    let mut client = reciprocity_sdk::client::NodeClient::connect(&devnet.grpc(0)).await.unwrap();
    let on_ledger = reciprocity_sdk::random_member_id().unwrap();
    let tx = reciprocity_sdk::tx::TxBuilder::now(devnet.chain_id()).sign(
        &devnet.keystore_key(0, "registrar"),
        reciprocity_sdk::tx::body::register_member(&on_ledger, "full", 40_000),
    );
    assert_eq!(client.submit(tx, true, 10_000).await.unwrap().code, 0);
    let never = reciprocity_sdk::random_member_id().unwrap();
    let store = reciprocity_node::records::Records::new(
        reciprocity_node::index::IndexStore::connect(&format!(
            "sqlite://{}",
            devnet.path().join(devnet.club(0)).join("index.db").display()
        ))
        .await
        .unwrap(),
    );
    let profile = |id: &reciprocity_sdk::MemberId, number: &str| {
        reciprocity_node::records::profiles::MemberProfile {
            member_id: id.to_hex(),
            home_club: devnet.club(0),
            member_number: number.to_owned(),
            full_name: format!("Pending {number}"),
            email: None,
            phone: None,
            date_of_birth: None,
            notes: None,
            created_at_ms: 1,
            updated_at_ms: 1,
        }
    };
    store
        .profiles_insert(&[profile(&on_ledger, "P-1"), profile(&never, "P-2")], Some(1))
        .await
        .unwrap();
    let kept = eventually(&registrar, "/v1/members?name=pending", |b| {
        b["members"].as_array().is_some_and(|m| m.len() == 1)
    })
    .await;
    assert_eq!(kept["members"][0]["member_number"], "P-1", "{kept}");
    assert!(
        store.profiles_pending_past(u64::MAX, 10).await.unwrap().is_empty(),
        "the kept one is marked registered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_accounts_introductions_amendments_and_ledger_reads_work_end_to_end() {
    let _one = ONE_AT_A_TIME.lock().await;
    let devnet = Devnet::start(2, &[]);
    let (harbour, alpine) = (devnet.club(0), devnet.club(1));
    let admin = Rest::login(&devnet.http(0), devnet.login(0, "admin")).await;
    // Staff accounts: create, list, disable (its tokens end, it cannot log in).
    let (code, created) = admin.post("/v1/staff", json!({"username": "night.desk", "password": "correct horse battery", "roles": ["front_desk"]})).await;
    assert_eq!(code, 201, "{created}");
    let (code, weak) = admin
        .post("/v1/staff", json!({"username": "weak", "password": "short", "roles": ["admin"]}))
        .await;
    assert_eq!(code, 400, "{weak}");
    let night =
        Rest::login(&devnet.http(0), ("night.desk".into(), "correct horse battery".into())).await;
    let (code, me) = night.get("/v1/auth/me").await;
    assert_eq!((code, me["roles"][0].as_str()), (200, Some("front_desk")), "{me}");
    let (code, listed) = admin.get("/v1/staff").await;
    assert_eq!(code, 200);
    assert!(listed["staff"].as_array().unwrap().iter().any(|s| s["username"] == "night.desk"));
    assert!(!listed.to_string().contains("argon2"), "no password hashes: {listed}");
    let (code, _) =
        admin.send("PATCH", "/v1/staff/night.desk", Some(json!({"disabled": true}))).await;
    assert_eq!(code, 200);
    let (code, _) = night.get("/v1/auth/me").await;
    assert_eq!(code, 401, "a disabled account's token ends");
    let (code, _) = Rest::new(&devnet.http(0))
        .post(
            "/v1/auth/login",
            json!({"username": "night.desk", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(code, 401);
    // Logout ends the token.
    let registrar = Rest::login(&devnet.http(0), devnet.login(0, "registrar")).await;
    let other = Rest::login(&devnet.http(0), devnet.login(0, "registrar")).await;
    let (code, _) = other.post("/v1/auth/logout", json!({})).await;
    assert_eq!(code, 204);
    assert_eq!(other.get("/v1/auth/me").await.0, 401);

    // An introduction for a harbour member to alpine, listed on both sides.
    let (_, member) = registrar
        .post("/v1/members", json!({"member_number": "I-1", "full_name": "Ivy Intro", "tier": "full", "valid_until": "2031-01-01"}))
        .await;
    let member_id = member["member"]["member_id"].as_str().unwrap().to_owned();
    let (code, too_long) = registrar
        .post("/v1/introductions", json!({"member_id": member_id, "host_club": alpine, "valid_from": today(), "valid_until": "2040-01-01"}))
        .await;
    assert_eq!(
        (code, too_long["error"]["code"].as_str()),
        (422, Some("InvalidIntroduction")),
        "{too_long}"
    );
    let in_a_month = reciprocity_sdk::dates::format_day(
        reciprocity_sdk::dates::day_of_ms(reciprocity_node::clock::now_ms()) + 30,
    );
    let (code, issued) = registrar
        .post("/v1/introductions", json!({"member_id": member_id, "host_club": alpine, "valid_from": today(), "valid_until": in_a_month}))
        .await;
    assert_eq!(code, 201, "{issued}");
    let alpine_desk = Rest::login(&devnet.http(1), devnet.login(1, "front_desk")).await;
    eventually(&alpine_desk, "/v1/introductions", |l| {
        l["introductions"]
            .as_array()
            .is_some_and(|i| i.iter().any(|x| x["member_id"] == member_id.as_str()))
    })
    .await;

    // The seeded agreement: harbour amends, alpine accepts the amendment, then harbour terminates.
    let mut amended = terms(2, &today());
    amended["visit_fee_minor"] = json!(3000);
    let (code, offer) = admin.post(&format!("/v1/agreements/{alpine}/amend"), amended).await;
    assert_eq!(code, 201, "{offer}");
    let alpine_admin = Rest::login(&devnet.http(1), devnet.login(1, "admin")).await;
    let pending = eventually(&alpine_admin, &format!("/v1/agreements/{harbour}"), |a| {
        a["pending"]["is_amendment"] == true
    })
    .await;
    assert_eq!(pending["pending"]["terms"]["visit_fee_minor"], 3000);
    let (code, _) = alpine_admin
        .post(
            &format!("/v1/agreements/{harbour}/accept"),
            json!({"terms_hash": offer["terms_hash"]}),
        )
        .await;
    assert_eq!(code, 201);
    let (code, _) = admin.post(&format!("/v1/agreements/{alpine}/terminate"), json!({})).await;
    assert_eq!(code, 201);
    let terminating =
        eventually(&admin, &format!("/v1/agreements/{alpine}"), |a| a["status"] == "terminating")
            .await;
    assert_eq!(terminating["terminated_by"], harbour.as_str());
    assert!(
        terminating["versions"].as_array().unwrap().iter().any(|v| v["version"] == 2),
        "{terminating}"
    );

    // Ledger reads: clubs, network, blocks, one block.
    let (code, clubs) = registrar.get("/v1/clubs").await;
    assert_eq!((code, clubs["clubs"].as_array().unwrap().len()), (200, 2));
    let (code, network) = registrar.get("/v1/network").await;
    assert_eq!(code, 200);
    assert!(network["height"].as_u64().unwrap() > 1, "{network}");
    let (code, blocks) = registrar.get("/v1/blocks?limit=3").await;
    assert_eq!((code, blocks["blocks"].as_array().unwrap().len()), (200, 3));
    let top = blocks["blocks"][0]["height"].as_u64().unwrap();
    assert_eq!(blocks["blocks"][1]["height"].as_u64().unwrap(), top - 1, "newest first");
    let (code, block) = registrar.get("/v1/blocks/1").await;
    assert_eq!((code, block["transactions"][0]["code"].as_str()), (200, Some("Ok")), "{block}");
    let (code, missing) = registrar.get("/v1/blocks/999999").await;
    assert_eq!((code, missing["error"]["code"].as_str()), (404, Some("not_found")));
}

/// Transactions this node has taken for submission (every outcome), from `/metrics`.
async fn submissions(base: &str) -> u64 {
    let (_, text) = common::http_get(&format!("{base}/metrics")).await;
    text.lines()
        .filter(|l| l.starts_with("recip_submissions_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// `answer` is the refusal `code`, made before submitting anything to `base`'s node.
async fn refused_at_once(base: &str, before: u64, answer: &(u16, Value), code: &str) {
    assert_eq!(answer.1["error"]["code"], code, "{}", answer.1);
    assert!(answer.0 == 409 || answer.0 == 422, "{}", answer.1);
    let message = answer.1["error"]["message"].as_str().unwrap();
    assert!(message.contains("nothing was submitted"), "{message}");
    assert_eq!(submissions(base).await, before, "a refused-at-once transaction reached the node");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_node_can_tell_will_be_refused_is_answered_at_once_and_errors_name_the_problem() {
    let _one = ONE_AT_A_TIME.lock().await;
    let devnet = Devnet::start(3, &[]);
    let (harbour, union) = (devnet.club(0), devnet.club(2));
    let (h, a, u) = (devnet.http(0), devnet.http(1), devnet.http(2));
    let registrar = Rest::login(&h, devnet.login(0, "registrar")).await;

    // The CSV import: 415 for anything but text/csv, a bounded quote of a
    // huge wrong header, plural forms, and rows in flight counted as pending.
    let csv = "member_number,full_name,tier,valid_until\nC1,Cy,full,2031-01-01\n";
    let (code, body, _) = registrar
        .send_raw("POST", "/v1/members/import", "application/json", csv.as_bytes().to_vec())
        .await;
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (415, Some("unsupported_media_type")),
        "{body}"
    );
    let huge = format!("{}\n", "x".repeat(5 * 1024 * 1024));
    let (code, body, _) =
        registrar.send_raw("POST", "/v1/members/import", "text/csv", huge.into_bytes()).await;
    assert_eq!(code, 400, "{}", &body.to_string()[..200.min(body.to_string().len())]);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.len() < 500, "the refusal quotes a short prefix: {} bytes", message.len());
    assert!(message.contains("5242880 characters"), "{message}");
    let one_bad = "member_number,full_name,tier,valid_until\nC1,,full,2031-01-01\n";
    let (code, body, _) = registrar
        .send_raw("POST", "/v1/members/import", "text/csv", one_bad.as_bytes().to_vec())
        .await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["error"]["message"], "1 row is invalid; nothing was imported");
    let (code, job, _) = registrar
        .send_raw("POST", "/v1/members/import", "text/csv", csv_of_members(40, "pend").into_bytes())
        .await;
    assert_eq!(code, 202, "{job}");
    assert_eq!(
        (job["rows_pending"].as_u64(), job["rows_total"].as_u64()),
        (Some(40), Some(40)),
        "{job}"
    );
    let done = eventually(
        &registrar,
        &format!("/v1/members/imports/{}", job["job_id"].as_str().unwrap()),
        |p| p["status"] == "done",
    )
    .await;
    assert_eq!(
        (done["rows_committed"].as_u64(), done["rows_pending"].as_u64()),
        (Some(40), Some(0)),
        "{done}"
    );

    // Terms the ledger would refuse name their field and why.
    let harbour_admin = Rest::login(&h, devnet.login(0, "admin")).await;
    let mut bad_terms = terms(5, &today());
    bad_terms["visit_days_per_year_max"] = json!(2);
    let (code, body) = harbour_admin
        .post("/v1/agreements", json!({"counterparty": union, "terms": bad_terms}))
        .await;
    assert_eq!((code, body["error"]["code"].as_str()), (422, Some("InvalidTerms")), "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("visit_days_per_year_max is 2, fewer than the 5"), "{message}");
    let mut bad_terms = terms(3, &today());
    bad_terms["valid_until"] = json!("2000-01-01");
    let (_, body) = harbour_admin
        .post("/v1/agreements", json!({"counterparty": union, "terms": bad_terms}))
        .await;
    assert!(body["error"]["message"].as_str().unwrap().contains("valid_until is before"), "{body}");

    // An unknown counterparty, a wrong terms hash: answered at once.
    let before = submissions(&h).await;
    let answer = harbour_admin
        .post("/v1/agreements", json!({"counterparty": "nowhere", "terms": terms(3, &today())}))
        .await;
    refused_at_once(&h, before, &answer, "UnknownClub").await;
    let (code, offered) = harbour_admin
        .post("/v1/agreements", json!({"counterparty": union, "terms": terms(3, &today())}))
        .await;
    assert_eq!(code, 201, "{offered}");
    let union_admin = Rest::login(&u, devnet.login(2, "admin")).await;
    eventually(&union_admin, &format!("/v1/agreements/{harbour}"), |b| b["pending"].is_object())
        .await;
    let before = submissions(&u).await;
    let answer = union_admin
        .post(&format!("/v1/agreements/{harbour}/accept"), json!({"terms_hash": "00".repeat(32)}))
        .await;
    refused_at_once(&u, before, &answer, "TermsHashMismatch").await;

    // The front desk: a refusal that is not about the allowance shows none;
    // voiding twice is answered at once.
    let (code, registered) = registrar
        .post("/v1/members", json!({"member_number": "FC-1", "full_name": "First Contact", "tier": "full", "valid_until": "2031-01-01"}))
        .await;
    assert_eq!(code, 201, "{registered}");
    let member = registered["member"]["member_id"].as_str().unwrap().to_owned();
    let desk = Rest::login(&a, devnet.login(1, "front_desk")).await;
    let (_, unknown) = desk.post("/v1/visits/check", json!({"member_id": "ab".repeat(16)})).await;
    assert_eq!(
        (unknown["code"].as_str(), &unknown["allowance"]),
        (Some("UnknownMember"), &Value::Null),
        "{unknown}"
    );
    let mut check = desk.post("/v1/visits/check", json!({"member_id": member})).await.1;
    for _ in 0..100 {
        if check["eligible"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        check = desk.post("/v1/visits/check", json!({"member_id": member})).await.1;
    }
    assert_eq!(
        check["allowance"]["month_days_max"], 4,
        "an eligible check shows the allowance: {check}"
    );
    let (code, visit) = desk.post("/v1/visits", json!({"member_id": member})).await;
    assert_eq!(code, 201, "{visit}");
    let void = format!("/v1/visits/{}/void", visit["visit_id"].as_str().unwrap());
    assert_eq!(desk.post(&void, json!({})).await.0, 201);
    let before = submissions(&a).await;
    let answer = desk.post(&void, json!({})).await;
    refused_at_once(&a, before, &answer, "VisitAlreadyVoided").await;
    let (code, _) = registrar
        .send("PATCH", &format!("/v1/members/{member}"), Some(json!({"status": "suspended"})))
        .await;
    assert_eq!(code, 200);
    let mut check = desk.post("/v1/visits/check", json!({"member_id": member})).await.1;
    for _ in 0..100 {
        if check["code"] == "MemberNotActive" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        check = desk.post("/v1/visits/check", json!({"member_id": member})).await.1;
    }
    assert_eq!(
        (check["code"].as_str(), &check["allowance"]),
        (Some("MemberNotActive"), &Value::Null),
        "{check}"
    );

    // A vote on a proposal that has closed is answered at once.
    let governors = [
        Rest::login(&h, devnet.login(0, "governor")).await,
        Rest::login(&a, devnet.login(1, "governor")).await,
        Rest::login(&u, devnet.login(2, "governor")).await,
    ];
    let (code, opened) = governors[0]
        .post("/v1/proposals", json!({"action": {"kind": "resolution", "text": "Close early"}, "voting_period_ms": 86_400_000}))
        .await;
    assert_eq!(code, 201, "{opened}");
    let proposal = format!("/v1/proposals/{}", opened["proposal_id"].as_str().unwrap());
    assert_eq!(
        governors[0].post(&format!("{proposal}/votes"), json!({"choice": "yes"})).await.0,
        201
    );
    eventually(&governors[1], &proposal, |_| true).await;
    assert_eq!(
        governors[1].post(&format!("{proposal}/votes"), json!({"choice": "yes"})).await.0,
        201
    );
    eventually(&governors[2], &proposal, |p| p["status"] == "passed").await;
    let before = submissions(&u).await;
    let answer = governors[2].post(&format!("{proposal}/votes"), json!({"choice": "no"})).await;
    refused_at_once(&u, before, &answer, "ProposalClosed").await;
}

/// `recip devnet --index-url postgres://…`: each club's index and records in
/// a PostgreSQL database of its own, created by the devnet; staff log in and
/// the seeded members are listed from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_devnet_on_postgres_keeps_each_clubs_index_in_its_own_database() {
    let admin_url = std::env::var("RECIP_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let server = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
    let name =
        format!("recip_devnet_test_{}", hex::encode(reciprocity_sdk::random_bytes::<4>().unwrap()));
    let index_url = format!("{server}/{name}");
    let _one = ONE_AT_A_TIME.lock().await;
    let devnet = Devnet::start_with_args(2, &[], &["--index-url", &index_url]);
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    let databases: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname",
    )
    .bind(format!("{name}_%"))
    .fetch_all(&admin)
    .await
    .unwrap();
    assert_eq!(databases, [format!("{name}_alpine"), format!("{name}_harbour")]);
    assert!(
        devnet.listing["nodes"][0]["index"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/{name}_harbour"))
    );
    // Remembered in the node's config: later runs and `recip staff add` use it.
    let config = std::fs::read_to_string(devnet.path().join("harbour/node.toml")).unwrap();
    assert!(config.contains(&format!("index_url = \"{server}/{name}_harbour\"")), "{config}");
    let registrar = Rest::login(&devnet.http(0), devnet.login(0, "registrar")).await;
    let members = eventually(&registrar, "/v1/members?limit=10", |page| {
        page["members"].as_array().is_some_and(|m| m.len() == 3)
    })
    .await;
    assert_eq!(members["members"][0]["home_club"], "harbour");
    let harbour = sqlx::PgPool::connect(&format!("{server}/{name}_harbour")).await.unwrap();
    let profiles: i64 = sqlx::query_scalar("SELECT count(*) FROM member_profiles")
        .fetch_one(&harbour)
        .await
        .unwrap();
    assert_eq!(profiles, 3, "the profiles live in harbour's database");
    harbour.close().await;
    drop(registrar);
    drop(devnet);
    tokio::time::sleep(Duration::from_millis(500)).await;
    for database in databases {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
        )))
        .execute(&admin)
        .await;
    }
}
