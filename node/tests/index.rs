//! The SQL index against a real PostgreSQL and against SQLite: the
//! projection agrees with the chaincode's own queries, a batch that fails
//! half-way leaves no trace and a resume gives no duplicates or gaps, and a
//! rebuild gives identical tables.
//!
//! PostgreSQL comes from `RECIP_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`; `make test` starts or
//! reuses the server); each test creates and drops its own database.

use std::sync::Arc;

use reciprocity_chaincode::{MemberId, query};
use reciprocity_node::index::follower::catch_up;
use reciprocity_node::index::projection::{Statement, Value};
use reciprocity_node::index::store::{ProjectedBlock, TABLES};
use reciprocity_node::index::{IndexError, IndexStore};
use reciprocity_node::ledger::{Ledger, RaftPosition};
use reciprocity_proto::v1 as pb;
use reciprocity_sdk::tx::body;
use reciprocity_tests::{CHAIN_ID, Net};

mod common;

/// A ledger with members, an agreement, visits (one voided), a member
/// update and a governance vote that passes.
fn sample_chain() -> (Net, Arc<Ledger>, tempfile::TempDir, Vec<MemberId>) {
    let mut net = Net::new(&[("harbour", 0), ("alpine", 60), ("union", -300)]);
    let terms = net.terms(&["full"], 10, 100);
    net.agree("harbour", "alpine", &terms);
    let mut members = Vec::new();
    for i in 0..12 {
        members.push(net.register_member(if i % 2 == 0 { "harbour" } else { "alpine" }, "full"));
    }
    let desk = net.club("alpine").front_desk;
    let visit = net.ok(&desk, body::record_visit(&members[0], 0));
    net.ok(&desk, body::record_visit(&members[2], 0));
    net.ok(&desk, body::void_visit(&visit));
    let registrar = net.club("harbour").registrar;
    let until = net.today() + 30;
    net.ok(
        &registrar,
        body::update_member(
            &members[4],
            Some(reciprocity_sdk::wire::MemberStatus::Suspended),
            None,
            Some(until),
        ),
    );
    let governor = net.club("harbour").governor;
    let proposal = net.ok(
        &governor,
        body::create_proposal(
            3_600_000,
            reciprocity_sdk::wire::create_proposal::Action::Resolution("Shared dress code".into()),
        ),
    );
    for club in ["harbour", "alpine"] {
        let governor = net.club(club).governor;
        net.ok(&governor, body::cast_vote(&proposal, reciprocity_sdk::wire::VoteChoice::Yes));
    }
    // Two introductions of one member to one host in one block (the second
    // replaces the first on the ledger; the index keeps both).
    let today = net.today();
    let harbour_registrar = net.club("harbour").registrar;
    let intro = |until: u32| body::issue_introduction(&members[0], "union", today, today + until);
    let first = net.tx(&harbour_registrar, intro(10));
    let second = reciprocity_sdk::tx::TxBuilder::new(CHAIN_ID, net.now_ms)
        .nonce(7)
        .sign(&harbour_registrar, intro(20));
    let outcome = net.block(vec![first, second]);
    assert!(
        outcome.results.iter().all(|r| r.code == reciprocity_chaincode::ValidationCode::Ok),
        "{:?}",
        outcome.results
    );
    // The agreement is suspended by one side and resumed, then terminated.
    let (harbour_admin, alpine_admin) = (net.club("harbour").admin, net.club("alpine").admin);
    net.ok(&alpine_admin, body::suspend_agreement("harbour"));
    net.ok(&harbour_admin, body::suspend_agreement("alpine"));
    net.ok(&alpine_admin, body::resume_agreement("harbour"));
    net.ok(&harbour_admin, body::terminate_agreement("alpine"));
    // A fourth club is admitted by a vote.
    let delta = reciprocity_tests::TestClub::new("delta", 0);
    let admission = net.ok(
        &governor,
        body::create_proposal(
            3_600_000,
            reciprocity_sdk::wire::create_proposal::Action::AdmitClub(delta.spec()),
        ),
    );
    for club in ["harbour", "alpine"] {
        let governor = net.club(club).governor;
        net.ok(&governor, body::cast_vote(&admission, reciprocity_sdk::wire::VoteChoice::Yes));
    }
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(Ledger::open(dir.path(), CHAIN_ID).unwrap());
    for (i, (ctx, txs)) in net.blocks.iter().enumerate() {
        let candidate = pb::BlockCandidate { timestamp_ms: ctx.timestamp_ms, txs: txs.clone() };
        ledger
            .apply_candidate(&candidate, RaftPosition { term: 1, index: i as u64 + 1 }, &[])
            .unwrap();
    }
    (net, ledger, dir, members)
}

/// A fresh index on each backend (the PostgreSQL database is dropped at the end).
struct Backends {
    sqlite: IndexStore,
    postgres: IndexStore,
    _sqlite_dir: tempfile::TempDir,
    admin_url: String,
    database: String,
}

impl Backends {
    async fn new() -> Backends {
        let dir = tempfile::tempdir().unwrap();
        let sqlite =
            IndexStore::connect(&format!("sqlite://{}", dir.path().join("index.db").display()))
                .await
                .unwrap();
        let admin_url = std::env::var("RECIP_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let database = format!(
            "recip_index_test_{}",
            hex::encode(reciprocity_sdk::random_bytes::<6>().unwrap())
        );
        let admin = sqlx::PgPool::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!("PostgreSQL at {admin_url} is not reachable ({e}); `make test` starts it")
        });
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
        let postgres = IndexStore::connect(&format!("{base}/{database}")).await.unwrap();
        Backends { sqlite, postgres, _sqlite_dir: dir, admin_url, database }
    }

    fn both(&self) -> [(&'static str, &IndexStore); 2] {
        [("sqlite", &self.sqlite), ("postgres", &self.postgres)]
    }

    async fn drop_database(self) {
        if let IndexStore::Postgres(pool) = &self.postgres {
            pool.close().await;
        }
        let admin = sqlx::PgPool::connect(&self.admin_url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {}", self.database)))
            .execute(&admin)
            .await
            .unwrap();
    }
}

async fn dump_all(store: &IndexStore) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    for table in TABLES {
        all.push(store.dump(table).await.unwrap());
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_projection_agrees_with_the_chaincode_on_postgres_and_sqlite() {
    let (net, ledger, _dir, members) = sample_chain();
    let backends = Backends::new().await;
    let height = ledger.height().unwrap();
    for (name, store) in backends.both() {
        assert_eq!(catch_up(&ledger, store, 3, |_, _| {}).await.unwrap(), height, "{name}");
        let rows = store.dump("members").await.unwrap();
        assert_eq!(rows.len(), members.len(), "{name}");
        for id in &members {
            let member = query::member(&net.store, id).unwrap().unwrap();
            let expected = format!(
                "{}|{}|{}|{:?}|{}|{}|{}",
                id,
                member.home_club,
                member.tier,
                member.status,
                member.valid_until_day,
                member.registered_height,
                member.updated_height
            );
            assert!(rows.contains(&expected), "{name}: {expected} not in {rows:#?}");
        }
        let visits = store.dump("visits").await.unwrap();
        assert_eq!(visits.len(), 2, "{name}: {visits:?}");
        let voided = visits.iter().filter(|v| !v.ends_with("|NULL")).count();
        assert_eq!(voided, 1, "{name}: one voided: {visits:?}");
        let proposals = store.dump("proposals").await.unwrap();
        assert_eq!(proposals.len(), 2, "{name}: {proposals:?}");
        assert!(
            proposals.iter().all(|p| p.contains("|passed|NULL|2|0|0|")),
            "{name}: {proposals:?}"
        );
        let clubs = store.dump("clubs").await.unwrap();
        assert_eq!(clubs.len(), 4, "{name}: admitted by vote: {clubs:?}");
        // Every identity the chaincode knows, club keys included.
        let identities = store.dump("identities").await.unwrap();
        for club in ["harbour", "alpine", "union", "delta"] {
            for identity in query::club_identities(
                &net.store,
                &reciprocity_chaincode::ClubId::parse(club).unwrap(),
            )
            .unwrap()
            {
                assert!(
                    identities.iter().any(|row| row.starts_with(&identity.public_key.to_hex())),
                    "{name}: identity {} of {club} missing",
                    identity.public_key
                );
            }
        }
        let agreements = store.dump("agreements").await.unwrap();
        assert_eq!(agreements.len(), 1, "{name}: {agreements:?}");
        // Version 1 in force, no offer pending, suspended by harbour (b) only, terminating.
        let row: Vec<&str> = agreements[0].split('|').collect();
        assert_eq!(&row[..3], ["alpine", "harbour", "1"], "{name}: {row:?}");
        assert_eq!((row[4], row[5], row[6], row[7]), ("NULL", "NULL", "0", "1"), "{name}: {row:?}");
        assert_ne!(row[8], "NULL", "{name}: termination recorded");
        assert_eq!(store.dump("agreement_versions").await.unwrap().len(), 1, "{name}");
        assert_eq!(store.dump("agreement_history").await.unwrap().len(), 6, "{name}");
        assert_eq!(store.dump("introductions").await.unwrap().len(), 2, "{name}");
        let txs = store.dump("transactions").await.unwrap();
        let on_chain: usize = net.blocks.iter().map(|(_, t)| t.len()).sum();
        assert_eq!(txs.len(), on_chain, "{name}");
    }
    assert_eq!(
        dump_all(&backends.sqlite).await,
        dump_all(&backends.postgres).await,
        "same rows on both"
    );
    backends.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_failing_half_way_leaves_nothing_and_the_resume_has_no_duplicates_or_gaps() {
    let (_net, ledger, _dir, _) = sample_chain();
    let backends = Backends::new().await;
    let height = ledger.height().unwrap();
    let reference = Backends::new().await;
    for (name, store) in backends.both() {
        catch_up(&ledger, store, 4, |_, _| {}).await.unwrap();
        store.clear().await.unwrap();
        // Project half, then a batch whose last block breaks in the middle
        // (as a crash or a lost connection would).
        let half = height / 2;
        let mut at = 0;
        while at < half {
            at = store.project(&[block_statements(&ledger, at + 1)]).await.unwrap();
        }
        let before = dump_all(store).await;
        let mut broken =
            vec![block_statements(&ledger, half + 1), block_statements(&ledger, half + 2)];
        broken[1].statements.insert(
            1,
            Statement { sql: "INSERT INTO no_such_table VALUES ($1)", args: vec![Value::Int(1)] },
        );
        let failed = store.project(&broken).await;
        assert!(matches!(failed, Err(IndexError::Refused(_))), "{name}: {failed:?}");
        assert_eq!(dump_all(store).await, before, "{name}: the failed batch left nothing");
        assert_eq!(store.checkpoint().await.unwrap(), half);
        // A gap is refused; offering projected blocks again changes nothing.
        let gap = store.project(&[block_statements(&ledger, half + 2)]).await;
        assert!(matches!(gap, Err(IndexError::Gap { .. })), "{name}: {gap:?}");
        store.project(&[block_statements(&ledger, half)]).await.unwrap();
        assert_eq!(dump_all(store).await, before, "{name}: nothing projected twice");
        // Resume.
        assert_eq!(catch_up(&ledger, store, 4, |_, _| {}).await.unwrap(), height);
    }
    for (name, store) in reference.both() {
        catch_up(&ledger, store, 1_000, |_, _| {}).await.unwrap();
        let resumed = if name == "sqlite" { &backends.sqlite } else { &backends.postgres };
        assert_eq!(dump_all(resumed).await, dump_all(store).await, "{name}: resume = one pass");
    }
    backends.drop_database().await;
    reference.drop_database().await;
}

fn block_statements(ledger: &Ledger, height: u64) -> ProjectedBlock {
    let block = ledger.block(height).unwrap().unwrap();
    let hash =
        reciprocity_node::ledger::block::block_hash(&ledger.header_bytes(height).unwrap().unwrap());
    ProjectedBlock {
        height,
        tx_count: block.txs.len() as u64,
        state_hash: hex::encode(&block.header.as_ref().unwrap().state_hash),
        statements: reciprocity_node::index::projection::project(&block, &hash).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_gives_identical_tables() {
    let (_net, ledger, _dir, _) = sample_chain();
    let backends = Backends::new().await;
    for (name, store) in backends.both() {
        catch_up(&ledger, store, 2, |_, _| {}).await.unwrap();
        let first = dump_all(store).await;
        store.clear().await.unwrap();
        assert_eq!(store.checkpoint().await.unwrap(), 0);
        catch_up(&ledger, store, 1_000, |_, _| {}).await.unwrap();
        assert_eq!(dump_all(store).await, first, "{name}");
    }
    backends.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_its_database_down_a_node_still_commits_and_its_index_catches_up_later() {
    let admin_url = std::env::var("RECIP_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let database =
        format!("recip_late_{}", hex::encode(reciprocity_sdk::random_bytes::<6>().unwrap()));
    let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base).to_owned();
    let net = common::TestNet::create();
    // The database does not exist yet: the index cannot connect.
    let mut node = net
        .command()
        .env("RECIP_INDEX_URL", format!("{base}/{database}"))
        .env("RECIP_INDEX_BACKOFF_MAX_MS", "300")
        .spawn()
        .unwrap();
    let mut client = net.ready(&mut node).await;
    let key = net.club_key();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let member = reciprocity_sdk::random_member_id().unwrap();
        let tx = reciprocity_sdk::tx::TxBuilder::now("test-net")
            .sign(&key, body::register_member(&member, "full", 40_000));
        let response = client.submit(tx, true, 10_000).await.unwrap();
        assert_eq!(response.code, 0, "ordering goes on without the index");
        ids.push(member);
    }
    let status = client.status().await.unwrap();
    assert!(status.index_enabled);
    assert_eq!(status.index_lag_blocks, status.height, "nothing projected yet");

    // The database comes up: the follower connects and catches up.
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .execute(&admin)
        .await
        .unwrap();
    let mut lag = u64::MAX;
    for _ in 0..200 {
        lag = client.status().await.unwrap().index_lag_blocks;
        if lag == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(lag, 0, "the index caught up:\n{}", net.log());
    let index = IndexStore::connect(&format!("{base}/{database}")).await.unwrap();
    let members = index.dump("members").await.unwrap();
    for id in &ids {
        assert!(members.iter().any(|row| row.starts_with(&id.to_string())), "{id} indexed");
    }
    common::stop(&mut node);
    if let IndexStore::Postgres(pool) = index {
        pool.close().await;
    }
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")))
        .execute(&admin)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recip_index_rebuild_replays_the_ledger_into_identical_tables() {
    let net = common::TestNet::create();
    let mut node = net.start(); // `network init` configures a SQLite index
    let mut client = net.ready(&mut node).await;
    let key = net.club_key();
    for _ in 0..20 {
        let member = reciprocity_sdk::random_member_id().unwrap();
        let tx = reciprocity_sdk::tx::TxBuilder::now("test-net")
            .sign(&key, body::register_member(&member, "full", 40_000));
        client.submit(tx, true, 10_000).await.unwrap();
    }
    let height = client.status().await.unwrap().height;
    for _ in 0..100 {
        if client.status().await.unwrap().index_lag_blocks == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    common::stop(&mut node);
    let url = format!("sqlite://{}", net.config().with_file_name("index.db").display());
    let before = dump_all(&IndexStore::connect(&url).await.unwrap()).await;
    assert_eq!(before[1].len() as u64, height, "the follower projected every block");

    let out =
        common::recip().args(["index", "rebuild", "--config"]).arg(net.config()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(report["blocks"], height);
    assert!(report["txs_per_s"].as_f64().unwrap() > 0.0);
    let after = dump_all(&IndexStore::connect(&url).await.unwrap()).await;
    assert_eq!(after, before, "a rebuild gives the same tables");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_the_database_refuses_stops_the_index_just_before_it_and_is_reported() {
    use reciprocity_node::index::IndexProgress;
    use reciprocity_node::index::follower::{FollowerSettings, follow};
    use std::sync::atomic::Ordering;
    let (_net, ledger, _dir, _) = sample_chain();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("index.db").display());
    let store = IndexStore::connect(&url).await.unwrap();
    // A broken schema: every block with a vote is refused.
    if let IndexStore::Sqlite(pool) = &store {
        sqlx::query("DROP TABLE votes").execute(pool).await.unwrap();
    }
    let first_vote = (1..=ledger.height().unwrap())
        .find(|h| {
            let block = ledger.block(*h).unwrap().unwrap();
            block.results.iter().any(|r| r.events.iter().any(|e| e.kind == "vote.cast"))
        })
        .unwrap();
    let progress = Arc::new(IndexProgress::default());
    let (_applied_tx, applied) = tokio::sync::broadcast::channel(4);
    let settings =
        FollowerSettings { batch_blocks_max: 100, backoff_min_ms: 10, backoff_max_ms: 50 };
    let task = tokio::spawn(follow(
        Arc::clone(&ledger),
        store.clone(),
        applied,
        settings,
        Arc::clone(&progress),
    ));
    for _ in 0..200 {
        if progress.stuck_height.load(Ordering::Relaxed) != 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    task.abort();
    assert_eq!(progress.stuck_height.load(Ordering::Relaxed), first_vote, "reported stuck block");
    assert_eq!(store.checkpoint().await.unwrap(), first_vote - 1, "everything before it projected");
    assert_eq!(progress.projected_height.load(Ordering::Relaxed), first_vote - 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_of_another_chain_is_not_followed_and_is_reported() {
    use reciprocity_node::index::IndexProgress;
    use reciprocity_node::index::follower::{FollowerSettings, follow, same_chain};
    use std::sync::atomic::Ordering;
    let (_net, ledger, _dir, _) = sample_chain();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("index.db").display());
    let store = IndexStore::connect(&url).await.unwrap();
    catch_up(&ledger, &store, 100, |_, _| {}).await.unwrap();
    same_chain(&ledger, &store).await.unwrap();
    // A different ledger (one more member at the start changes every hash).
    let mut other = Net::new(&[("harbour", 0), ("alpine", 60), ("union", -300)]);
    for _ in 0..ledger.height().unwrap() {
        other.register_member("harbour", "full");
    }
    let other_dir = tempfile::tempdir().unwrap();
    let other_ledger = Arc::new(Ledger::open(other_dir.path(), CHAIN_ID).unwrap());
    for (i, (ctx, txs)) in other.blocks.iter().enumerate() {
        let candidate = pb::BlockCandidate { timestamp_ms: ctx.timestamp_ms, txs: txs.clone() };
        other_ledger
            .apply_candidate(&candidate, RaftPosition { term: 1, index: i as u64 + 1 }, &[])
            .unwrap();
    }
    let refused = same_chain(&other_ledger, &store).await;
    assert!(
        matches!(refused, Err(IndexError::Projection(ref m)) if m.contains("another chain")),
        "{refused:?}"
    );
    let progress = Arc::new(IndexProgress::default());
    let (_applied_tx, applied) = tokio::sync::broadcast::channel(4);
    let settings =
        FollowerSettings { batch_blocks_max: 100, backoff_min_ms: 10, backoff_max_ms: 50 };
    follow(other_ledger, store, applied, settings, Arc::clone(&progress)).await; // returns at once
    assert_ne!(progress.stuck_height.load(Ordering::Relaxed), 0, "reported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_on_one_database_project_each_block_once() {
    let (_net, ledger, _dir, _) = sample_chain();
    let backends = Backends::new().await;
    let reference = Backends::new().await;
    for (name, store) in backends.both() {
        let (a, b) = tokio::join!(
            catch_up(&ledger, store, 1, |_, _| {}),
            catch_up(&ledger, store, 1, |_, _| {})
        );
        assert_eq!((a.unwrap(), b.unwrap()), (ledger.height().unwrap(), ledger.height().unwrap()));
        let single = if name == "sqlite" { &reference.sqlite } else { &reference.postgres };
        catch_up(&ledger, single, 1_000, |_, _| {}).await.unwrap();
        assert_eq!(dump_all(store).await, dump_all(single).await, "{name}");
    }
    backends.drop_database().await;
    reference.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rest_apis_own_tables_behave_alike_on_postgres_and_sqlite_and_survive_a_rebuild() {
    use reciprocity_node::records::Records;
    use reciprocity_node::records::audit::NewAuditEntry;
    use reciprocity_node::records::profiles::{MemberProfile, MemberQuery};
    use reciprocity_node::records::staff::StaffAccount;
    let (_net, ledger, _dir, members) = sample_chain();
    let backends = Backends::new().await;
    for (name, store) in backends.both() {
        catch_up(&ledger, store, 1_000, |_, _| {}).await.unwrap();
        let records = Records::new(store.clone());
        let home =
            query::member(&ledger.state(), &members[0]).unwrap().unwrap().home_club.to_string();
        // Staff accounts: unique usernames, updates.
        let account = StaffAccount {
            username: "desk".into(),
            password_hash: "$argon2id$stub".into(),
            roles: "front_desk".into(),
            disabled: false,
            created_at_ms: 1,
        };
        assert!(records.staff_insert(&account).await.unwrap(), "{name}");
        assert!(!records.staff_insert(&account).await.unwrap(), "{name}: taken");
        assert!(records.staff_update("desk", "front_desk,registrar", true, None).await.unwrap());
        let read = records.staff_get("desk").await.unwrap().unwrap();
        assert_eq!(
            (read.roles.as_str(), read.disabled, read.password_hash.as_str()),
            ("front_desk,registrar", true, "$argon2id$stub")
        );
        // Profiles: names with SQL and LIKE metacharacters match only themselves.
        let profile = |id: &MemberId, number: &str, full_name: &str| MemberProfile {
            member_id: id.to_hex(),
            home_club: home.clone(),
            member_number: number.into(),
            full_name: full_name.into(),
            email: Some(format!("{number}@example.org")),
            phone: None,
            date_of_birth: Some("1948-07-07".into()),
            notes: None,
            created_at_ms: 5,
            updated_at_ms: 5,
        };
        let stranger = MemberId([9; 16]);
        records
            .profiles_insert(
                &[
                    profile(&members[0], "N-1", "Ada O'Brien"),
                    profile(&members[1], "N-2", "100% Pure"),
                    profile(&stranger, "N-3", "under_score \\ back"),
                ],
                Some(10),
            )
            .await
            .unwrap();
        let mut taken = records
            .member_numbers_taken(&home, &["N-1".into(), "Z-9".into(), "N-3".into()])
            .await
            .unwrap();
        taken.sort();
        assert_eq!(taken, ["N-1", "N-3"], "{name}");
        assert!(
            records.member_numbers_taken("elsewhere", &["N-1".into()]).await.unwrap().is_empty()
        );
        let duplicate =
            records.profiles_insert(&[profile(&MemberId([8; 16]), "N-1", "Twin")], None).await;
        assert!(matches!(duplicate, Err(IndexError::Refused(_))), "{name}: {duplicate:?}");
        let search =
            |name_part: Option<&str>, number: Option<&str>, status: Option<&str>| MemberQuery {
                name: name_part.map(str::to_owned),
                member_number: number.map(str::to_owned),
                status: status.map(str::to_owned),
                limit: 10,
                offset: 0,
            };
        let numbers = |rows: Vec<reciprocity_node::records::profiles::MemberListing>| {
            rows.into_iter().map(|r| r.profile.member_number).collect::<Vec<_>>()
        };
        for (part, expected) in [
            ("o'b", vec!["N-1"]),
            ("%", vec!["N-2"]),
            ("_", vec!["N-3"]),
            ("\\", vec!["N-3"]),
            ("' OR '1'='1", vec![]),
        ] {
            let found =
                records.member_search(&home, &search(Some(part), None, None)).await.unwrap();
            assert_eq!(numbers(found), expected, "{name}: {part:?}");
        }
        let all = records.member_search(&home, &search(None, None, None)).await.unwrap();
        assert_eq!(numbers(all.clone()), ["N-2", "N-1", "N-3"], "{name}: by folded name");
        assert_eq!(
            all[1].status.as_deref(),
            Some("Active"),
            "{name}: joined with the ledger's record"
        );
        assert_eq!(all[2].status, None, "{name}: no record for the stranger");
        let by_number =
            records.member_search(&home, &search(None, Some("N-2"), None)).await.unwrap();
        assert_eq!(numbers(by_number), ["N-2"]);
        let active =
            records.member_search(&home, &search(None, None, Some("Active"))).await.unwrap();
        assert_eq!(numbers(active), ["N-2", "N-1"], "{name}: the stranger has no status");
        assert!(
            records.member_search("elsewhere", &search(None, None, None)).await.unwrap().is_empty()
        );
        // Pending profiles: found past their deadline, settled by marking or deleting.
        let mut pending = records.profiles_pending_past(11, 10).await.unwrap();
        pending.sort();
        assert_eq!(pending.len(), 3, "{name}");
        assert!(
            records.profiles_pending_past(10, 10).await.unwrap().is_empty(),
            "{name}: not yet past"
        );
        records
            .profiles_mark_registered(&[members[0].to_hex(), members[1].to_hex()])
            .await
            .unwrap();
        records.profiles_delete(&[stranger.to_hex()]).await.unwrap();
        assert!(records.profiles_pending_past(u64::MAX, 10).await.unwrap().is_empty(), "{name}");
        assert!(records.profile_get(&stranger.to_hex()).await.unwrap().is_none());
        // The audit log, newest first.
        for action in ["a.first", "a.second"] {
            let entry = NewAuditEntry {
                at_ms: 7,
                actor: "staff:desk",
                club_id: &home,
                action,
                target: Some("x"),
                outcome: "ok",
                tx_id: None,
            };
            records.audit_append(&entry).await.unwrap();
        }
        let entries = records.audit_list(None, 10).await.unwrap();
        assert_eq!(
            entries.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
            ["a.second", "a.first"],
            "{name}"
        );
        assert_eq!(records.audit_list(Some(entries[0].id), 10).await.unwrap().len(), 1);
        // A rebuild empties the projection only.
        store.clear().await.unwrap();
        assert!(records.staff_get("desk").await.unwrap().is_some(), "{name}: staff kept");
        assert!(
            records.profile_get(&members[0].to_hex()).await.unwrap().is_some(),
            "{name}: profiles kept"
        );
        assert_eq!(records.audit_list(None, 10).await.unwrap().len(), 2, "{name}: audit kept");
    }
    backends.drop_database().await;
}
