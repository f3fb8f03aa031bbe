//! The OpenAPI document the node serves: valid OpenAPI 3.1; path and query
//! parameters declared exactly as the handlers read them; and, on a real
//! `recip devnet`, every operation called over HTTP with a valid token and
//! its answer checked against the schema the document declares for it
//! (undeclared fields included).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{Devnet, Rest};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::Digest;

/// The document as the node builds it.
fn document() -> Value {
    serde_json::to_value(reciprocity_node::api::http::openapi_document()).unwrap()
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every operation: (method, path template, operation object).
fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                out.push((method.to_owned(), path.clone(), operation.clone()));
            }
        }
    }
    out
}

/// Names of the parameters of `operation` that are `in` `place`.
fn parameters(operation: &Value, place: &str) -> BTreeSet<String> {
    operation["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| p["in"] == place)
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The `{name}` segments of a path template.
fn template_parameters(path: &str) -> BTreeSet<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_document_is_valid_openapi_3_1_and_every_schema_valid_json_schema() {
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/openapi-3.1-schema.json"),
    )
    .unwrap();
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&bytes)),
        "e7cb616a2a10849a166c4e4a93c62c56cfea02cc00eadf287e2fb875e7124098",
        "the vendored OpenAPI 3.1 schema is the published one (tests/data/README.md)"
    );
    let schema: Value = serde_json::from_slice(&bytes).unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let document = document();
    assert_eq!(document["openapi"], "3.1.0");
    let errors: Vec<String> =
        validator.iter_errors(&document).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "not a valid OpenAPI 3.1 document:\n{}", errors.join("\n"));
    for (name, schema) in document["components"]["schemas"].as_object().unwrap() {
        assert!(
            jsonschema::draft202012::meta::is_valid(schema),
            "components.schemas.{name} is not a valid JSON Schema: {schema}"
        );
    }
}

#[test]
fn every_path_parameter_is_in_its_template_and_every_template_parameter_is_declared() {
    for (method, path, operation) in operations(&document()) {
        let declared = parameters(&operation, "path");
        assert_eq!(
            declared,
            template_parameters(&path),
            "{method} {path}: path parameters declared vs in the template"
        );
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            if parameter["in"] == "path" {
                assert_eq!(parameter["required"], true, "{method} {path}: {parameter}");
            } else {
                assert_eq!(parameter["in"], "query", "{method} {path}: {parameter}");
                assert_ne!(parameter["required"], true, "{method} {path}: filters are optional");
            }
        }
    }
}

/// The field names serde reads for `T` (captured from `deserialize_struct`).
fn serde_fields<T: DeserializeOwned>() -> BTreeSet<String> {
    struct Capture(Option<&'static [&'static str]>);
    impl<'de> serde::Deserializer<'de> for &mut Capture {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: serde::de::Visitor<'de>>(
            self,
            _: V,
        ) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = Some(fields);
            Err(serde::de::Error::custom("captured"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    let mut capture = Capture(None);
    let _ = T::deserialize(&mut capture);
    capture.0.expect("a query type is a struct").iter().map(|f| (*f).to_owned()).collect()
}

/// Handlers that read query parameters: (method, path, query type name),
/// found in the REST API's source next to their `#[utoipa::path]`.
fn handlers_reading_queries() -> Vec<(String, String, Option<String>)> {
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    sources(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api/rest"), &mut files);
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        for (at, _) in text.match_indices("#[utoipa::path(") {
            let rest = &text[at + "#[utoipa::path(".len()..];
            let method = rest.split(',').next().unwrap().trim().to_owned();
            let path =
                rest.split("path = \"").nth(1).unwrap().split('"').next().unwrap().to_owned();
            let signature =
                rest.split("pub async fn ").nth(1).unwrap().split(") ->").next().unwrap();
            let query = signature
                .split("ApiQuery<")
                .nth(1)
                .map(|t| t.split('>').next().unwrap().trim().to_owned());
            out.push((method, path, query));
        }
    }
    out
}

#[test]
fn every_query_parameter_a_handler_reads_is_declared_as_a_query_parameter() {
    use reciprocity_node::api::rest::{
        agreements, cards, governance, ledger, members, staff, visits,
    };
    let types: BTreeMap<&str, BTreeSet<String>> = BTreeMap::from([
        ("MemberSearch", serde_fields::<members::MemberSearch>()),
        ("VisitFilters", serde_fields::<visits::VisitFilters>()),
        ("Page", serde_fields::<agreements::Page>()),
        ("ProposalFilter", serde_fields::<governance::ProposalFilter>()),
        ("BlockRange", serde_fields::<ledger::BlockRange>()),
        ("AuditPage", serde_fields::<staff::AuditPage>()),
        ("CardQuery", serde_fields::<cards::CardQuery>()),
    ]);
    let document = document();
    let handlers = handlers_reading_queries();
    assert!(handlers.len() >= 30, "the source scan found the handlers: {handlers:?}");
    for (method, path, query) in handlers {
        let operation = &document["paths"][&path][&method];
        assert!(operation.is_object(), "{method} {path} is annotated but not in the document");
        let declared = parameters(operation, "query");
        let read = match &query {
            None => BTreeSet::new(),
            Some(name) => types
                .get(name.as_str())
                .unwrap_or_else(|| {
                    panic!("{method} {path} reads ApiQuery<{name}>: add it to this test's table")
                })
                .clone(),
        };
        assert_eq!(declared, read, "{method} {path}: query parameters declared vs read");
    }
}

/// Checks answers against the document and remembers which operations were called.
struct Checker {
    document: Value,
    called: BTreeSet<(String, String)>,
}

impl Checker {
    fn new(document: Value) -> Checker {
        Checker { document: strict(document), called: BTreeSet::new() }
    }

    /// The operation `method url` calls: the template with the most literal segments.
    fn template(&self, method: &str, url: &str) -> String {
        let path = url.split('?').next().unwrap();
        let segments: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, String)> = None;
        for (template, item) in self.document["paths"].as_object().unwrap() {
            if item.get(method).is_none() {
                continue;
            }
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                continue;
            }
            let matches = parts.iter().zip(&segments).all(|(t, s)| t.starts_with('{') || t == s);
            let literal = parts.iter().filter(|t| !t.starts_with('{')).count();
            if matches && best.as_ref().is_none_or(|(l, _)| literal > *l) {
                best = Some((literal, template.clone()));
            }
        }
        best.unwrap_or_else(|| panic!("{method} {url} is not in the document")).1
    }

    /// What is wrong with answer `code`/`body` to `method url`: an undeclared
    /// status, a missing query parameter, a body off its schema.
    fn violations(&self, method: &str, url: &str, code: u16, body: &Value) -> Vec<String> {
        let template = self.template(method, url);
        let operation = &self.document["paths"][&template][method];
        let mut out = Vec::new();
        // Every declared query parameter is sent (and so accepted by the handler).
        let sent: BTreeSet<String> = url
            .split_once('?')
            .map(|(_, q)| q.split('&').map(|kv| kv.split('=').next().unwrap().to_owned()).collect())
            .unwrap_or_default();
        let declared = parameters(operation, "query");
        if !declared.is_subset(&sent) {
            out.push(format!("send every declared query parameter {declared:?}"));
        }
        out.extend(self.response_violations(method, &template, code, body));
        out
    }

    /// What is wrong with answer `code`/`body` of the operation `method
    /// template`: an undeclared status, a body off its schema.
    fn response_violations(
        &self,
        method: &str,
        template: &str,
        code: u16,
        body: &Value,
    ) -> Vec<String> {
        let operation = &self.document["paths"][template][method];
        let mut out = Vec::new();
        let Some(response) = operation["responses"].get(code.to_string()) else {
            out.push(format!("status {code} is not declared"));
            return out;
        };
        match response["content"].as_object().and_then(|c| c.iter().next()) {
            None if body.is_null() || body == "" => {}
            None => out.push("a body where none is declared".to_owned()),
            Some((media, content)) if media == "application/json" => {
                let wrapper = json!({
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "components": self.document["components"],
                    "allOf": [content["schema"]],
                });
                let validator = jsonschema::draft202012::new(&wrapper).unwrap();
                out.extend(
                    validator.iter_errors(body).map(|e| format!("{}: {e}", e.instance_path())),
                );
            }
            Some((media, _)) if !body.is_string() => out.push(format!("not a {media} body")),
            Some(_) => {}
        }
        out
    }

    /// Checks one answer: its status is declared and its body matches the schema.
    fn check(&mut self, method: &str, url: &str, (code, body): (u16, Value)) -> Value {
        let method = method.to_lowercase();
        let errors = self.violations(&method, url, code, &body);
        assert!(errors.is_empty(), "{method} {url} {code}:\n{}\n{body}", errors.join("\n"));
        self.called.insert((method.clone(), self.template(&method, url)));
        body
    }

    /// Like `check`, and the call must have succeeded.
    fn ok(&mut self, method: &str, url: &str, answer: (u16, Value)) -> Value {
        assert!((200..300).contains(&answer.0), "{method} {url}: {} {}", answer.0, answer.1);
        self.check(method, url, answer)
    }

    fn assert_every_operation_called(&self) {
        let all: BTreeSet<(String, String)> =
            operations(&self.document).into_iter().map(|(m, p, _)| (m, p)).collect();
        let missed: Vec<_> = all.difference(&self.called).collect();
        assert!(missed.is_empty(), "operations never called: {missed:?}");
    }
}

#[test]
fn the_checker_refuses_undeclared_fields_wrong_types_and_undeclared_statuses() {
    let checker = Checker::new(document());
    let club = json!({"club_id": "harbour", "name": "Harbour", "status": "active",
                      "club_key": "00", "utc_offset_minutes": 0, "admitted_height": 1, "nodes": []});
    let good = json!({"clubs": [club]});
    assert_eq!(checker.violations("get", "/v1/clubs", 200, &good), Vec::<String>::new());
    let mut extra = good.clone();
    extra["clubs"][0]["secret"] = json!("x");
    assert!(!checker.violations("get", "/v1/clubs", 200, &extra).is_empty(), "undeclared field");
    let mut wrong = good.clone();
    wrong["clubs"][0]["admitted_height"] = json!("one");
    assert!(!checker.violations("get", "/v1/clubs", 200, &wrong).is_empty(), "wrong type");
    assert!(!checker.violations("get", "/v1/clubs", 418, &good).is_empty(), "undeclared status");
    assert!(!checker.violations("get", "/v1/visits", 200, &json!({})).is_empty(), "missing query");
}

/// `document` with every object schema that lists properties closed to
/// others, so an answer carrying an undeclared field fails its check.
fn strict(mut document: Value) -> Value {
    fn close(schema: &mut Value) {
        match schema {
            Value::Object(map) => {
                if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                    map.insert("unevaluatedProperties".to_owned(), Value::Bool(false));
                }
                for value in map.values_mut() {
                    close(value);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(close),
            _ => {}
        }
    }
    close(&mut document["components"]["schemas"]);
    document
}

/// Polls `url` until `done` holds (other nodes applying a block, the index).
async fn eventually(rest: &Rest, url: &str, done: impl Fn(u16, &Value) -> bool) -> (u16, Value) {
    let mut last = (0, Value::Null);
    for _ in 0..300 {
        last = rest.get(url).await;
        if done(last.0, &last.1) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("GET {url} never got there: {} {}", last.0, last.1);
}

fn terms(per_month: u32, from: &str) -> Value {
    json!({"tiers_covered": ["full"], "visit_days_per_month_max": per_month, "visit_days_per_year_max": 24,
           "guests_per_visit_max": 1, "visit_fee_minor": 1500, "fee_currency": "EUR",
           "fee_settlement": "billed_to_home_club", "valid_from": from, "notice_days": 30})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_as_the_document_declares_on_a_devnet() {
    let devnet = Devnet::start(3, &[]);
    let (harbour, alpine, union) = (devnet.club(0), devnet.club(1), devnet.club(2));
    let today = reciprocity_sdk::dates::format_day(reciprocity_sdk::dates::day_of_ms(
        reciprocity_node::clock::now_ms(),
    ));
    let anonymous = Rest::new(&devnet.http(0));

    // The served document is the one the node builds, and valid (above).
    let (code, served) = anonymous.get("/openapi.json").await;
    assert_eq!(code, 200);
    assert_eq!(served, document(), "the node serves the document it builds");
    let mut c = Checker::new(served);
    c.ok("GET", "/openapi.json", anonymous.get("/openapi.json").await);
    c.ok("GET", "/healthz", anonymous.get("/healthz").await);
    c.check("GET", "/readyz", anonymous.get("/readyz").await);
    c.ok("GET", "/metrics", anonymous.get("/metrics").await);

    // Logins: password, then an identity key.
    let (username, password) = devnet.login(0, "registrar");
    let login = c.ok(
        "POST",
        "/v1/auth/login",
        anonymous.post("/v1/auth/login", json!({"username": username, "password": password})).await,
    );
    let mut registrar = Rest::new(&devnet.http(0));
    registrar.token = Some(login["token"].as_str().unwrap().to_owned());
    c.ok("GET", "/v1/auth/me", registrar.get("/v1/auth/me").await);
    let key = devnet.keystore_key(0, "registrar");
    let challenge = c.ok(
        "POST",
        "/v1/auth/challenge",
        anonymous
            .post("/v1/auth/challenge", json!({"public_key": key.public_key().to_hex()}))
            .await,
    );
    let challenge_bytes: [u8; 32] =
        hex::decode(challenge["challenge"].as_str().unwrap()).unwrap().try_into().unwrap();
    let signature =
        reciprocity_sdk::auth::sign_challenge(&key, &devnet.chain_id(), &challenge_bytes);
    let keyed = c.ok(
        "POST",
        "/v1/auth/key-login",
        anonymous
            .post("/v1/auth/key-login", json!({"public_key": key.public_key().to_hex(), "challenge": challenge["challenge"], "signature": hex::encode(signature)}))
            .await,
    );
    let mut by_key = Rest::new(&devnet.http(0));
    by_key.token = Some(keyed["token"].as_str().unwrap().to_owned());

    // Members.
    let registered = c.ok(
        "POST",
        "/v1/members",
        registrar
            .post("/v1/members", json!({"member_number": "walk-1", "full_name": "Walker One", "tier": "full", "valid_until": "2030-01-01"}))
            .await,
    );
    let member_id = registered["member"]["member_id"].as_str().unwrap().to_owned();
    let url = "/v1/members?name=walker&number=walk-1&status=active&limit=10&offset=0";
    c.ok("GET", url, registrar.get(url).await);
    let url = format!("/v1/members/{member_id}");
    c.ok("GET", &url, registrar.get(&url).await);
    c.ok("PATCH", &url, registrar.send("PATCH", &url, Some(json!({"notes": "walks a lot"}))).await);
    let csv = "member_number,full_name,tier,valid_until\nwalk-2,Walker Two,full,2030-01-01\n";
    let (code, job, _) =
        registrar.send_raw("POST", "/v1/members/import", "text/csv", csv.as_bytes().to_vec()).await;
    let job = c.ok("POST", "/v1/members/import", (code, job));
    let url = format!("/v1/members/imports/{}", job["job_id"].as_str().unwrap());
    c.ok("GET", &url, registrar.get(&url).await);

    // Visits: alpine's front desk and a harbour member (once alpine's node has the member).
    let desk = Rest::login(&devnet.http(1), devnet.login(1, "front_desk")).await;
    let check = json!({"member_id": member_id, "guests": 0});
    let mut answer = desk.post("/v1/visits/check", check.clone()).await;
    for _ in 0..100 {
        if answer.1["eligible"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        answer = desk.post("/v1/visits/check", check.clone()).await;
    }
    assert_eq!(c.ok("POST", "/v1/visits/check", answer)["eligible"], true);
    let visit =
        c.ok("POST", "/v1/visits", desk.post("/v1/visits", json!({"member_id": member_id})).await);
    let visit_id = visit["visit_id"].as_str().unwrap().to_owned();
    // The visit is dated by the host club's clock (alpine is UTC+1): the
    // days around today's UTC date hold it, whatever the time of day.
    let day_ms = 86_400_000;
    let around = |offset: i64| {
        let now = i64::try_from(reciprocity_node::clock::now_ms()).unwrap();
        reciprocity_sdk::dates::format_day(reciprocity_sdk::dates::day_of_ms(
            u64::try_from(now + offset * day_ms).unwrap(),
        ))
    };
    let (yesterday, tomorrow) = (around(-1), around(1));
    let url = format!(
        "/v1/visits?side=all&member_id={member_id}&from={yesterday}&to={tomorrow}&include_voided=true&limit=5&offset=0"
    );
    let (code, listed) = eventually(&desk, &url, |code, b| {
        code == 200 && b["visits"].as_array().is_some_and(|v| !v.is_empty())
    })
    .await;
    let listed = c.ok("GET", &url, (code, listed));
    let date = listed["visits"][0]["date"].as_str().unwrap().to_owned();
    assert!([around(0), around(1)].contains(&date), "dated {date}, today is {today} UTC");
    assert_eq!(listed["visits"][0]["side"], "host");
    let url = format!("/v1/visits/{visit_id}/void");
    c.ok("POST", &url, desk.post(&url, json!({})).await);

    // Agreements: harbour offers union terms, union accepts, harbour amends, suspends...
    let harbour_admin = Rest::login(&devnet.http(0), devnet.login(0, "admin")).await;
    let union_admin = Rest::login(&devnet.http(2), devnet.login(2, "admin")).await;
    let offered = c.ok(
        "POST",
        "/v1/agreements",
        harbour_admin
            .post("/v1/agreements", json!({"counterparty": union, "terms": terms(3, &today)}))
            .await,
    );
    let url = "/v1/agreements?limit=5&offset=0";
    c.ok("GET", url, harbour_admin.get(url).await);
    let url = format!("/v1/agreements/{harbour}");
    let seen =
        eventually(&union_admin, &url, |code, b| code == 200 && b["pending"].is_object()).await;
    c.ok("GET", &url, seen);
    let url = format!("/v1/agreements/{harbour}/accept");
    c.ok("POST", &url, union_admin.post(&url, json!({"terms_hash": offered["terms_hash"]})).await);
    eventually(&harbour_admin, &format!("/v1/agreements/{union}"), |_, b| b["status"] == "active")
        .await;
    let url = format!("/v1/agreements/{union}/amend");
    c.ok("POST", &url, harbour_admin.post(&url, terms(2, &today)).await);
    for action in ["suspend", "resume", "terminate"] {
        let url = format!("/v1/agreements/{union}/{action}");
        c.ok("POST", &url, harbour_admin.post(&url, json!({})).await);
    }

    // Introductions.
    let introduction = json!({"member_id": member_id, "host_club": alpine, "valid_from": today, "valid_until": today});
    c.ok("POST", "/v1/introductions", registrar.post("/v1/introductions", introduction).await);
    let url = "/v1/introductions?limit=5&offset=0";
    c.ok("GET", url, registrar.get(url).await);

    // Governance.
    let governor = Rest::login(&devnet.http(0), devnet.login(0, "governor")).await;
    let opened = c.ok(
        "POST",
        "/v1/proposals",
        governor
            .post("/v1/proposals", json!({"action": {"kind": "resolution", "text": "Walk the whole API"}, "voting_period_ms": 86_400_000}))
            .await,
    );
    let proposal_id = opened["proposal_id"].as_str().unwrap().to_owned();
    let url = "/v1/proposals?status=open&limit=5&offset=0";
    c.ok("GET", url, governor.get(url).await);
    let url = format!("/v1/proposals/{proposal_id}");
    c.ok("GET", &url, governor.get(&url).await);
    let url = format!("/v1/proposals/{proposal_id}/votes");
    c.ok("POST", &url, governor.post(&url, json!({"choice": "yes"})).await);

    // The ledger: a transaction signed by the key that logged in.
    let day = reciprocity_sdk::dates::parse_day("2030-01-01").unwrap();
    let tx =
        reciprocity_sdk::tx::TxBuilder::new(devnet.chain_id(), reciprocity_node::clock::now_ms())
            .sign(
                &key,
                reciprocity_sdk::tx::body::register_member(
                    &reciprocity_sdk::random_member_id().unwrap(),
                    "full",
                    day,
                ),
            );
    let submitted = c.ok(
        "POST",
        "/v1/transactions",
        by_key
            .post("/v1/transactions", json!({"payload": hex::encode(&tx.payload), "signer": hex::encode(&tx.signer), "signature": hex::encode(&tx.signature)}))
            .await,
    );
    let url = format!("/v1/transactions/{}", submitted["tx_id"].as_str().unwrap());
    c.ok("GET", &url, by_key.get(&url).await);
    let height = submitted["height"].as_u64().unwrap();
    let url = format!("/v1/blocks?before={height}&limit=3");
    c.ok("GET", &url, registrar.get(&url).await);
    let url = format!("/v1/blocks/{height}");
    c.ok("GET", &url, registrar.get(&url).await);
    c.ok("GET", "/v1/clubs", registrar.get("/v1/clubs").await);
    c.ok("GET", "/v1/network", registrar.get("/v1/network").await);

    // Staff accounts and the audit log.
    let new_staff =
        json!({"username": "walker", "password": "correct horse battery", "roles": ["front_desk"]});
    c.ok("POST", "/v1/staff", harbour_admin.post("/v1/staff", new_staff).await);
    c.ok("GET", "/v1/staff", harbour_admin.get("/v1/staff").await);
    let url = "/v1/staff/walker";
    c.ok(
        "PATCH",
        url,
        harbour_admin.send("PATCH", url, Some(json!({"roles": ["front_desk", "registrar"]}))).await,
    );
    let url = "/v1/audit?before_id=1000000&limit=5";
    c.ok("GET", url, harbour_admin.get(url).await);

    // Member cards and the club's card keys: a card under the devnet's
    // first key, a rotation, and the old key revoked.
    let url = format!("/v1/members/{member_id}/card");
    let issued = c.ok("POST", &url, registrar.post(&url, json!({})).await);
    assert!(issued["credential"].as_str().unwrap().starts_with("RC1:"));
    let printed = format!("{url}?format=pdf");
    c.ok("GET", &printed, registrar.get(&printed).await);
    let keys = c.ok("GET", "/v1/card-keys", registrar.get("/v1/card-keys").await);
    let first_key = keys["keys"][0]["key_id"].as_str().unwrap().to_owned();
    let rotated =
        c.ok("POST", "/v1/card-keys", harbour_admin.post("/v1/card-keys", json!({})).await);
    assert_eq!(rotated["status"], "current");
    let url = format!("/v1/card-keys/{first_key}/revoke");
    c.ok("POST", &url, harbour_admin.post(&url, json!({})).await);

    c.ok("POST", "/v1/auth/logout", registrar.post("/v1/auth/logout", json!({})).await);
    c.assert_every_operation_called();

    // The error answers are checked too: every secured operation, called
    // without a token, answers 401 with the declared error body.
    let mut secured = 0;
    for (method, template, operation) in operations(&c.document) {
        if operation.get("security").is_none() {
            continue;
        }
        let url = template.replace(['{', '}'], "");
        let body = matches!(method.as_str(), "post" | "put" | "patch").then(|| json!({}));
        let (code, answer) = anonymous.send(&method.to_uppercase(), &url, body).await;
        assert_eq!(code, 401, "{method} {url} without a token: {answer}");
        let errors = c.response_violations(&method, &template, code, &answer);
        assert!(errors.is_empty(), "{method} {url} 401:\n{}\n{answer}", errors.join("\n"));
        secured += 1;
    }
    assert!(secured >= 20, "only {secured} secured operations");
}
