//! The member import job engine: a CSV import's rows, checked and signed
//! by the API, are submitted with retries and settled one by one; the job's
//! progress is kept for the registrar (and the web app) to follow.
//!
//! A row is failed (and its profile removed) only when the rules refuse it;
//! one the node could not get a verdict for is watched on the ledger until
//! its transaction expires.
//!
//! Owns the jobs' progress ([`Imports`]: at most `api.imports_kept_max`
//! remembered). Calls [`super::precheck`]'s checked submission, the ledger
//! (to settle rows seen late) and the club's records (the rows' profiles).
//! Bounds: `api.import_in_flight_max` submissions at once, each retried at
//! most 8 times with backoff up to 5 s; rows unseen when their transactions
//! expire are left to [`super::sweeper`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use reciprocity_chaincode::{MemberId, ValidationCode};
use reciprocity_proto::v1 as pb;
use serde::Serialize;

use super::node::NodeHandle;
use super::submit::Submitted;
use crate::clock::now_ms;
use crate::records::Records;
use crate::refusal::{Refusal, described};

/// One row of an import that cannot be (or was not) registered.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RowError {
    /// Line in the file (the header is line 1).
    pub line: u64,
    /// The row's membership number, if it had one.
    pub member_number: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// An import's progress.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportProgress {
    /// Job id.
    pub job_id: String,
    /// `running` or `done`.
    pub status: String,
    /// Rows in the file.
    pub rows_total: usize,
    /// Rows registered and committed.
    pub rows_committed: usize,
    /// Rows the ledger refused (their profiles were removed).
    pub rows_failed: usize,
    /// Rows not yet seen committed or refused: waiting their turn, in
    /// flight, or submitted and waiting for their block. Rows still pending
    /// when the job is done are settled by the ledger later (the orphaned
    /// profile sweeper removes those whose registration expired unseen).
    pub rows_pending: usize,
    /// The refused rows.
    pub errors: Vec<RowError>,
}

/// One import: its rows' fate, filled in as they commit or fail.
pub struct ImportJob {
    id: String,
    club: String,
    rows_total: usize,
    committed: AtomicUsize,
    failed: Mutex<Vec<RowError>>,
    done: AtomicBool,
}

impl ImportJob {
    /// A job of `rows_total` rows for `club`, none settled yet.
    pub fn new(id: String, club: String, rows_total: usize) -> Arc<ImportJob> {
        Arc::new(ImportJob {
            id,
            club,
            rows_total,
            committed: AtomicUsize::new(0),
            failed: Mutex::new(Vec::new()),
            done: AtomicBool::new(false),
        })
    }

    /// The job's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The club that started it.
    pub fn club(&self) -> &str {
        &self.club
    }

    /// Where the job stands.
    pub fn progress(&self) -> ImportProgress {
        let errors = self.failed.lock().expect("import errors lock").clone();
        let committed = self.committed.load(Ordering::Acquire);
        let settled = committed + errors.len();
        assert!(settled <= self.rows_total, "import {}: more rows settled than it has", self.id);
        ImportProgress {
            job_id: self.id.clone(),
            status: if self.done.load(Ordering::Acquire) { "done" } else { "running" }.to_owned(),
            rows_total: self.rows_total,
            rows_committed: committed,
            rows_failed: errors.len(),
            rows_pending: self.rows_total - settled,
            errors,
        }
    }
}

/// Import jobs kept for their progress (bounded; finished ones go first).
pub struct Imports {
    jobs: Mutex<VecDeque<Arc<ImportJob>>>,
    kept_max: usize,
}

impl Imports {
    /// At most `kept_max` jobs remembered.
    pub fn new(kept_max: usize) -> Imports {
        Imports { jobs: Mutex::new(VecDeque::new()), kept_max }
    }

    /// Remembers `job`, forgetting the oldest finished one when full; a
    /// refusal when `kept_max` jobs are all still running.
    pub fn start(&self, job: Arc<ImportJob>) -> Result<(), String> {
        let mut jobs = self.jobs.lock().expect("imports lock");
        while jobs.len() >= self.kept_max {
            let Some(at) = jobs.iter().position(|j| j.done.load(Ordering::Acquire)) else {
                return Err(format!(
                    "busy: api.imports_kept_max = {} imports are running; retry later",
                    self.kept_max
                ));
            };
            jobs.remove(at);
        }
        jobs.push_back(job);
        Ok(())
    }

    /// The job with id `id`, while remembered.
    pub fn get(&self, id: &str) -> Option<Arc<ImportJob>> {
        self.jobs.lock().expect("imports lock").iter().find(|j| j.id == id).cloned()
    }
}

/// One row of an import, signed.
pub struct ImportRow {
    /// Its line in the file.
    pub line: u64,
    /// The member id it registers.
    pub member_id: MemberId,
    /// The club's membership number.
    pub member_number: String,
    /// The signed registration.
    pub tx: pb::SignedTx,
}

/// Committed rows marked registered per SQL transaction.
const IMPORT_MARK_BATCH: usize = 1_000;

/// Submits one row's transaction, retrying while the node is busy or has
/// no leader; a retry refused as a duplicate means an earlier attempt got
/// through, and is answered from the ledger.
async fn submit_row(
    node: &NodeHandle,
    tx: pb::SignedTx,
    timeout: Duration,
) -> Result<Submitted, Refusal> {
    let id = reciprocity_chaincode::tx_id(&tx.payload);
    let mut backoff = Duration::from_millis(100);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match node.submit_checked(tx.clone(), timeout).await {
            Err(refusal) if refusal.is_retryable() && attempt < IMPORT_ATTEMPTS_MAX => {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(Refusal::Invalid { code: ValidationCode::DuplicateTx, .. }) if attempt > 1 => {
                return Ok(match node.ledger().tx_location(&id) {
                    Ok(Some(location)) => Submitted::Committed(location),
                    _ => Submitted::Accepted,
                });
            }
            other => return other.map(|(_, submitted)| submitted),
        }
    }
}

/// Submissions of one row before its failure is final.
const IMPORT_ATTEMPTS_MAX: u32 = 8;

/// A row whose commit was not seen yet.
struct PendingRow {
    line: u64,
    member_id: MemberId,
    member_number: String,
    tx_id: reciprocity_chaincode::TxId,
}

fn fail_row(job: &ImportJob, line: u64, member_number: String, code_name: &str, message: &str) {
    job.failed.lock().expect("import errors lock").push(RowError {
        line,
        member_number: Some(member_number),
        message: format!("{code_name}: {message}"),
    });
}

/// What an import job needs of the node.
pub struct ImportRun {
    /// The node that submits the rows.
    pub node: NodeHandle,
    /// The club's records, where the rows' profiles are.
    pub records: Records,
    /// Registrations submitted at once (`api.import_in_flight_max`).
    pub in_flight: usize,
    /// How long one submission waits for its commit.
    pub commit_timeout: Duration,
    /// When the rows' transactions expire (Unix ms): rows still unseen then
    /// are left to the sweeper.
    pub deadline_ms: u64,
}

/// Submits `rows` (their profiles stored, pending), at most `in_flight` at
/// a time with retries, and settles each: committed rows' profiles marked
/// registered, refused rows' profiles removed and the reason kept in `job`;
/// rows not seen either way by `deadline_ms` are left to the sweeper.
pub async fn run_import(run: ImportRun, job: Arc<ImportJob>, rows: Vec<ImportRow>) {
    let ImportRun { node, records: store, in_flight, commit_timeout, deadline_ms } = run;
    let outcomes = futures::stream::iter(rows.into_iter().map(|row| {
        let node = node.clone();
        async move {
            let tx_id = reciprocity_chaincode::tx_id(&row.tx.payload);
            let outcome = submit_row(&node, row.tx, commit_timeout).await;
            (
                PendingRow {
                    line: row.line,
                    member_id: row.member_id,
                    member_number: row.member_number,
                    tx_id,
                },
                outcome,
            )
        }
    }))
    .buffer_unordered(in_flight);
    futures::pin_mut!(outcomes);
    let mut registered = Vec::new();
    let mut pending = Vec::new();
    while let Some((row, outcome)) = outcomes.next().await {
        match outcome {
            Ok(Submitted::Committed(location)) if location.code == 0 => {
                job.committed.fetch_add(1, Ordering::AcqRel);
                registered.push(row.member_id.to_hex());
            }
            Ok(Submitted::Committed(location)) => {
                let code = ValidationCode::from_number(location.code)
                    .unwrap_or(ValidationCode::MalformedPayload);
                remove_profile(&store, &row.member_id).await;
                let detail = format!(
                    "transaction {} committed at height {} with this code",
                    row.tx_id, location.height
                );
                fail_row(&job, row.line, row.member_number, code.name(), &described(code, &detail));
            }
            // Refused by the rules or for its size: it will never commit.
            // Busy or unavailable after every retry: an earlier attempt may
            // still be queued on the leader (a leader answers "busy" before
            // it looks for duplicates), so the row is watched below like
            // one in flight, and the sweeper settles it past its deadline.
            Err(refusal @ (Refusal::Invalid { .. } | Refusal::TooLarge { .. })) => {
                remove_profile(&store, &row.member_id).await;
                fail_row(
                    &job,
                    row.line,
                    row.member_number,
                    refusal.code_name(),
                    &refusal.message(),
                );
            }
            // Admitted but not seen committed, or perhaps committed: watched below.
            _ => pending.push(row),
        }
        if registered.len() >= IMPORT_MARK_BATCH {
            mark_registered(&store, &mut registered).await;
        }
    }
    // Rows still pending settle from the ledger until their transactions
    // expire; past that the sweeper has the last word.
    while !pending.is_empty() && now_ms() < deadline_ms {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let mut still = Vec::new();
        for row in pending {
            match node.ledger().tx_location(&row.tx_id) {
                Ok(Some(location)) => {
                    if location.code == 0 {
                        job.committed.fetch_add(1, Ordering::AcqRel);
                        registered.push(row.member_id.to_hex());
                    } else {
                        let code = ValidationCode::from_number(location.code)
                            .unwrap_or(ValidationCode::MalformedPayload);
                        remove_profile(&store, &row.member_id).await;
                        fail_row(
                            &job,
                            row.line,
                            row.member_number,
                            code.name(),
                            &described(code, ""),
                        );
                    }
                }
                Ok(None) => still.push(row),
                Err(error) => {
                    tracing::warn!(%error, "import: reading the ledger failed; retrying");
                    still.push(row);
                }
            }
        }
        pending = still;
        mark_registered(&store, &mut registered).await;
    }
    mark_registered(&store, &mut registered).await;
    job.failed.lock().expect("import errors lock").sort_by_key(|e| e.line);
    job.done.store(true, Ordering::Release);
    let progress = job.progress();
    tracing::info!(
        job_id = %job.id,
        committed = progress.rows_committed,
        failed = progress.rows_failed,
        pending = progress.rows_pending,
        "member import finished"
    );
}

/// Removes a refused row's profile; on failure the sweeper does it later.
async fn remove_profile(store: &Records, member_id: &MemberId) {
    if let Err(db) = store.profiles_delete(&[member_id.to_hex()]).await {
        tracing::error!(%db, %member_id, "import: refused row's profile not removed (the sweeper will)");
    }
}

/// Marks `ids` registered; on failure the sweeper does it later.
async fn mark_registered(store: &Records, ids: &mut Vec<String>) {
    if let Err(error) = store.profiles_mark_registered(ids).await {
        tracing::warn!(%error, rows = ids.len(), "import: could not mark rows registered (the sweeper will)");
    }
    ids.clear();
}
