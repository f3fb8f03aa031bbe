//! The node end to end over real gRPC and the real CLI: submit → wait →
//! query → stream; admission refusals leave nothing behind; the CLI drives a
//! node from `network init` to `status --json`.

mod common;

use std::time::Duration;

use reciprocity_chaincode::ValidationCode;
use reciprocity_sdk::tx::{TxBuilder, body, sign_payload_bytes};
use reciprocity_sdk::wire;
use tokio_stream::StreamExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_wait_query_and_stream_through_the_sdk() {
    let net = common::TestNet::create();
    let mut node = net.start();
    let mut client = net.ready(&mut node).await;
    let key = net.club_key();
    let member = reciprocity_sdk::MemberId([7; 16]);
    let tx = TxBuilder::now("test-net").sign(&key, body::register_member(&member, "full", 30_000));
    let response = client.submit(tx, true, 0).await.unwrap();
    assert_eq!(response.outcome, wire::SubmitOutcome::Committed as i32);
    assert_eq!(response.code_name, "Ok");
    let found = client.query(wire::query_request::Query::Member(member.0.to_vec())).await.unwrap();
    assert!(found.found);
    assert!(found.json.contains("\"tier\":\"full\""), "{}", found.json);
    assert!(
        found.json.contains(&format!("\"{}\"", member.to_hex())),
        "ids are hex in JSON: {}",
        found.json
    );
    // A transaction refused by the chaincode is still committed, with its code.
    let again =
        TxBuilder::now("test-net").sign(&key, body::register_member(&member, "full", 30_000));
    let response = client.submit(again, true, 0).await.unwrap();
    assert_eq!(response.code, ValidationCode::MemberExists.number());

    let mut stream = client.stream_blocks(0).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.header.unwrap().height, 1, "stream starts at the genesis block");
    let mut last = 1;
    while last < response.height {
        last = stream.next().await.unwrap().unwrap().header.unwrap().height;
    }
    // Live: a new block arrives on the open stream.
    let live = TxBuilder::now("test-net")
        .sign(&key, body::register_member(&reciprocity_sdk::MemberId([8; 16]), "full", 30_000));
    let committed = client.submit(live, true, 0).await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(next.header.unwrap().height, committed.height);
    common::stop(&mut node);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_refuses_bad_transactions_with_their_code_and_writes_nothing() {
    let net = common::TestNet::create();
    let mut node = net.start();
    let mut client = net.ready(&mut node).await;
    let key = net.club_key();
    let height_before = client.status().await.unwrap().height;
    let member = reciprocity_sdk::MemberId([9; 16]);
    let good =
        || TxBuilder::now("test-net").sign(&key, body::register_member(&member, "full", 30_000));

    let mut forged = good();
    forged.signature[3] ^= 0x40;
    let wrong_chain =
        TxBuilder::now("other").sign(&key, body::register_member(&member, "full", 30_000));
    let expired = TxBuilder::new("test-net", 1_000)
        .validity_ms(1_000)
        .sign(&key, body::register_member(&member, "full", 30_000));
    let malformed = sign_payload_bytes(&key, vec![0xff, 0xff, 0x01]);
    let cases = [
        ("forged signature", forged, "BadSignature"),
        ("wrong chain id", wrong_chain, "WrongChain"),
        ("expired", expired, "Expired"),
        ("malformed payload bytes", malformed, "MalformedPayload"),
    ];
    for (name, tx, expected) in cases {
        let err = client.submit(tx, true, 0).await.unwrap_err().to_string();
        assert!(err.contains(expected), "{name}: {err}");
    }
    // Oversized: a payload larger than tx_bytes_max.
    let big = sign_payload_bytes(&key, vec![0u8; 20_000]);
    let err = client.submit(big, true, 0).await.unwrap_err().to_string();
    assert!(err.contains("tx_bytes_max"), "oversized: {err}");
    // Duplicate: the same bytes twice.
    let tx = good();
    client.submit(tx.clone(), true, 0).await.unwrap();
    let err = client.submit(tx, true, 0).await.unwrap_err().to_string();
    assert!(err.contains("DuplicateTx"), "duplicate: {err}");
    let height_after = client.status().await.unwrap().height;
    assert_eq!(height_after, height_before + 1, "only the one good transaction made a block");
    common::stop(&mut node);
}

fn run_cli(args: &[&str]) -> (bool, String, String) {
    let out = common::recip().args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_runs_a_node_and_drives_it_with_tx_query_and_status() {
    let net = common::TestNet::create();
    let mut node = net.start();
    net.ready(&mut node).await;
    let endpoint = net.endpoint();
    let key = common::path_str(&net.net_dir().join("harbour").join("club.key"));

    let (ok, out, err) = run_cli(&["status", "--endpoint", &endpoint, "--json"]);
    assert!(ok, "{err}");
    let status: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    for field in ["club", "node_id", "role", "leader", "term", "height", "state_hash"] {
        assert!(status.get(field).is_some(), "status --json has {field}: {out}");
    }
    assert_eq!(status["club"], "harbour");
    assert_eq!(status["role"], "leader");

    let member = "00112233445566778899aabbccddeeff";
    let (ok, out, err) = run_cli(&[
        "tx",
        "--endpoint",
        &endpoint,
        "--key",
        &key,
        "--json",
        "register-member",
        "--member-id",
        member,
        "--tier",
        "full",
        "--valid-until",
        "2030-12-31",
    ]);
    assert!(ok, "{err}");
    let submitted: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(submitted["outcome"], "SUBMIT_OUTCOME_COMMITTED");
    assert_eq!(submitted["code_name"], "Ok");

    // Text for people by default, JSON with --json; both as the REST API writes records.
    let (ok, out, err) = run_cli(&["query", "--endpoint", &endpoint, "member", member]);
    assert!(ok, "{err}");
    assert!(out.contains("tier: full\n"), "{out}");
    assert!(out.contains("status: active\n"), "{out}");
    assert!(out.contains("valid_until: 2030-12-31\n"), "{out}");
    let (ok, out, err) = run_cli(&["query", "--endpoint", &endpoint, "--json", "member", member]);
    assert!(ok, "{err}");
    let record: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(record["status"], "active", "{out}");
    assert_eq!(record["valid_until"], "2030-12-31", "{out}");
    assert_eq!(record["home_club"], "harbour", "{out}");
    let (ok, out, err) = run_cli(&["query", "--endpoint", &endpoint, "clubs"]);
    assert!(ok, "{err}");
    assert!(out.lines().nth(1).is_some_and(|l| l.starts_with("harbour  active")), "{out}");
    // Node ids read the same in the CLI's text and JSON.
    let (_, text, _) = run_cli(&["status", "--endpoint", &endpoint]);
    let node_id = status["node_id"].as_str().unwrap();
    assert_eq!(node_id.len(), 16, "{node_id}");
    assert!(text.contains(node_id), "{text}");

    // A refused transaction fails the command and names the code.
    let (ok, _, err) = run_cli(&[
        "tx",
        "--endpoint",
        &endpoint,
        "--key",
        &key,
        "register-member",
        "--member-id",
        member,
        "--tier",
        "full",
        "--valid-until",
        "2030-12-31",
    ]);
    assert!(!ok);
    assert!(err.contains("MemberExists"), "{err}");
    // Bad input names the problem.
    let (ok, _, err) = run_cli(&[
        "tx",
        "--endpoint",
        &endpoint,
        "--key",
        &key,
        "register-member",
        "--tier",
        "full",
        "--valid-until",
        "2030-02-30",
    ]);
    assert!(!ok);
    assert!(err.contains("2030-02-30"), "{err}");

    // A refused check says why, and shows no allowance that means nothing.
    let (ok, out, err) = run_cli(&[
        "query",
        "--endpoint",
        &endpoint,
        "check",
        "--host",
        "harbour",
        "--member-id",
        member,
    ]);
    assert!(ok, "{err}");
    assert!(out.starts_with("refused: VisitingOwnClub"), "{out}");
    assert!(!out.contains("visit-days"), "{out}");

    // Pointed at the wrong place, the CLI says what it tried and what to check.
    let (ok, _, err) = run_cli(&["status", "--endpoint", "127.0.0.1:7200"]);
    assert!(!ok);
    assert!(err.contains("write the scheme, e.g. http://127.0.0.1:7200"), "{err}");
    let closed = format!("http://127.0.0.1:{}", common::free_port());
    let (ok, _, err) = run_cli(&["status", "--endpoint", &closed]);
    assert!(!ok);
    assert!(err.contains(&closed) && err.contains("cannot connect"), "{err}");
    assert!(err.to_lowercase().contains("connection refused"), "{err}");
    assert!(err.contains("grpc_listen"), "{err}");
    let http = format!("http://127.0.0.1:{}", net.http_port);
    let (ok, _, err) = run_cli(&["status", "--endpoint", &http]);
    assert!(!ok);
    assert!(err.contains("HTTP port") && err.contains("grpc_listen"), "{err}");
    common::stop(&mut node);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_runs_every_clubs_node_seeds_through_the_network_and_lists_them_in_devnet_json() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_ports(3);
    let p2p_port = common::free_ports(3);
    let http_port = common::free_ports(3);
    let devnet = dir.path().join("devnet");
    let out = common::recip()
        .args(["devnet", "--detach", "--grpc-port-base", &port.to_string()])
        .args(["--http-port-base", &http_port.to_string()])
        .args(["--p2p-port-base", &p2p_port.to_string(), "--dir"])
        .arg(&devnet)
        .output()
        .unwrap();
    let listing: Option<serde_json::Value> = std::fs::read_to_string(devnet.join("devnet.json"))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok());
    let _stop: Vec<common::StopOnDrop> = listing
        .iter()
        .flat_map(|l| l["nodes"].as_array().cloned().unwrap_or_default())
        .filter_map(|n| n["pid"].as_u64().map(common::StopOnDrop))
        .collect();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout);
    let listing = listing.expect("devnet.json written");
    let nodes = listing["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3, "one process per club: {listing}");
    for (i, club) in ["harbour", "alpine", "union"].iter().enumerate() {
        assert_eq!(nodes[i]["club"], *club);
        assert!(printed.contains(&format!("http://127.0.0.1:{}", port + i as u16)), "{printed}");
    }
    assert!(printed.contains("leader"), "{printed}");
    // Staff logins for the REST API, printed and listed, one per role and club.
    assert!(printed.contains("staff logins"), "{printed}");
    for node in nodes {
        let staff = node["staff"].as_array().expect("staff logins listed");
        assert_eq!(staff.len(), 4, "{node}");
        assert!(staff.iter().all(|l| printed.contains(l["password"].as_str().unwrap())));
        assert!(node["openapi"].as_str().unwrap().ends_with("/openapi.json"));
    }
    let mut client =
        reciprocity_sdk::client::NodeClient::connect(nodes[2]["grpc"].as_str().unwrap())
            .await
            .unwrap();
    let status = client.status().await.unwrap();
    assert_eq!(status.members.len(), 3, "three voters: {status:?}");
    assert!(status.members.iter().all(|m| m.role == "voter"));
    // Each node keeps its SQLite index (the embedded default) and catches up.
    assert!(status.index_enabled, "devnet nodes keep an index");
    for _ in 0..100 {
        if client.status().await.unwrap().index_lag_blocks == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(client.status().await.unwrap().index_lag_blocks, 0);
    assert!(devnet.join("union").join("index.db").exists());
    // The seeding went through the first node; read it back there.
    let mut client =
        reciprocity_sdk::client::NodeClient::connect(nodes[0]["grpc"].as_str().unwrap())
            .await
            .unwrap();
    let proposals = client.query(wire::query_request::Query::OpenProposals(true)).await.unwrap();
    assert!(
        proposals.json.contains("\"kind\":\"resolution\""),
        "sample proposal seeded: {}",
        proposals.json
    );
    let agreement = client
        .query(wire::query_request::Query::Agreement(wire::ClubPair {
            club_a: "harbour".into(),
            club_b: "alpine".into(),
        }))
        .await
        .unwrap();
    assert!(agreement.found, "sample agreement seeded");
    assert!(agreement.json.contains("\"status\":\"active\""), "{}", agreement.json);

    // Stopped and started again, the devnet keeps its chain and seeds nothing twice.
    let height = client.status().await.unwrap().height;
    drop(_stop);
    for node in nodes {
        let pid = node["pid"].as_u64().unwrap().to_string();
        while std::process::Command::new("kill").args(["-0", &pid]).status().unwrap().success() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    let out = common::recip().args(["devnet", "--detach", "--dir"]).arg(&devnet).output().unwrap();
    let listing: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(devnet.join("devnet.json")).unwrap())
            .unwrap();
    let _stop: Vec<common::StopOnDrop> = listing["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["pid"].as_u64().map(common::StopOnDrop))
        .collect();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("seeded"), "seeded twice");
    let mut client =
        reciprocity_sdk::client::NodeClient::connect(listing["nodes"][0]["grpc"].as_str().unwrap())
            .await
            .unwrap();
    assert!(client.status().await.unwrap().height >= height, "the chain persisted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics_answer_over_http() {
    let net = common::TestNet::create();
    let mut node = net.start();
    let mut client = net.ready(&mut node).await;
    let base = format!("http://127.0.0.1:{}", net.http_port);
    // gRPC answers first; the HTTP listener follows it by a moment.
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", net.http_port)).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (code, body) = common::http_get(&format!("{base}/healthz")).await;
    assert_eq!((code, body.as_str()), (200, r#"{"status":"ok"}"#));

    let key = net.club_key();
    let member = reciprocity_sdk::random_member_id().unwrap();
    let tx = reciprocity_sdk::tx::TxBuilder::now("test-net")
        .sign(&key, reciprocity_sdk::tx::body::register_member(&member, "full", 40_000));
    client.submit(tx, true, 10_000).await.unwrap();

    let mut ready = (0, String::new());
    for _ in 0..50 {
        ready = common::http_get(&format!("{base}/readyz")).await;
        if ready.0 == 200 && ready.1.contains("\"index_lag_blocks\":0") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(ready.0, 200, "{}", ready.1);
    let ready: serde_json::Value = serde_json::from_str(&ready.1).unwrap();
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["index_lag_blocks"], 0);

    let (code, metrics) = common::http_get(&format!("{base}/metrics")).await;
    assert_eq!(code, 200);
    for line in [
        "recip_submissions_total{outcome=\"committed\"} 1",
        "recip_raft_is_leader 1",
        "recip_index_lag_blocks 0",
        "recip_submit_commit_seconds_count 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
    let height = client.status().await.unwrap().height;
    assert!(metrics.contains(&format!("recip_ledger_height {height}")), "{metrics}");
    let (code, _) = common::http_get(&format!("{base}/no-such-page")).await;
    assert_eq!(code, 404);
    common::stop(&mut node);
}
