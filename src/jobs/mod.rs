//! Background jobs as rows. A replica claims one under a lease (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, so replicas never take the same job; one runner on SQLite), renews the lease
//! while it works, and records the outcome. A replica that dies keeps its claim only until
//! the lease runs out; then another replica takes the job over. On shutdown a replica hands
//! its jobs back at once. Handlers must therefore be safe to run again from the start: the
//! PSA import, for one, makes each row's work and its "done" mark one transaction.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use entity::job;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    QueryFilter, Statement,
};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;
use uuid::Uuid;

use crate::domain::{Store, now, psa_import, retention};
use crate::error::{AppError, AppResult};

pub use job::Model as Job;

/// How a handler ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The work is done (or was canceled by the user): the job is finished.
    Done,
    /// Stopped early because the replica is shutting down or lost its lease: the job is
    /// handed back and runs again.
    Interrupted,
}

/// What a running handler may ask of the runner.
#[derive(Clone)]
pub struct JobContext {
    stop: watch::Receiver<bool>,
    lost: Arc<AtomicBool>,
}

impl JobContext {
    /// Whether the handler should stop at its next safe point (shutdown or lease lost).
    pub fn should_stop(&self) -> bool {
        *self.stop.borrow() || self.lost.load(Ordering::Relaxed)
    }

    /// A context that never asks to stop (for running a job inline).
    pub fn detached() -> JobContext {
        // The value stays readable after the sender is gone.
        let (_, rx) = watch::channel(false);
        JobContext {
            stop: rx,
            lost: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// Queues a job (in the caller's transaction, so it exists exactly when the caller's work
/// does). Call `store.jobs_wakeup.notify_one()` after the commit to start it at once.
pub async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    kind: &str,
    payload: Value,
    unique_key: Option<String>,
    max_attempts: i32,
) -> AppResult<Uuid> {
    let at = now();
    let id = Uuid::now_v7();
    job::ActiveModel {
        id: Set(id),
        kind: Set(kind.to_owned()),
        payload: Set(payload),
        unique_key: Set(unique_key),
        status: Set("queued".into()),
        attempts: Set(0),
        max_attempts: Set(max_attempts.max(1)),
        run_after: Set(at),
        lease_owner: Set(None),
        lease_expires_at: Set(None),
        last_error: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        finished_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(id)
}

/// How many jobs of each kind are in each status (for `/metrics`).
pub async fn counts(store: &Store) -> AppResult<Vec<(String, String, i64)>> {
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::ExprTrait;
    Ok(job::Entity::find()
        .select_only()
        .column(job::Column::Kind)
        .column(job::Column::Status)
        .column_as(sea_orm::sea_query::Expr::col(job::Column::Id).count(), "n")
        .group_by(job::Column::Kind)
        .group_by(job::Column::Status)
        .into_tuple()
        .all(&store.db)
        .await?)
}

pub async fn get(store: &Store, id: Uuid) -> AppResult<Option<Job>> {
    Ok(job::Entity::find_by_id(id).one(&store.db).await?)
}

/// Claims the next due job: a queued one whose time has come, or a running one whose
/// replica stopped renewing its lease. One statement, so two replicas never claim the same.
pub async fn claim(store: &Store, owner: &str, lease: Duration) -> AppResult<Option<Job>> {
    let at = now();
    let until = at + chrono::Duration::from_std(lease).map_err(AppError::internal)?;
    let backend = store.backend();
    // SQLite binds the parameters in order of appearance; PostgreSQL by number.
    let (text, values): (String, Vec<sea_orm::Value>) = match backend {
        DbBackend::Postgres => (
            "UPDATE jobs SET status = 'running', lease_owner = $1, lease_expires_at = $2, \
             attempts = attempts + 1, updated_at = $3 \
             WHERE id = (SELECT id FROM jobs \
               WHERE (status = 'queued' AND run_after <= $3) \
                  OR (status = 'running' AND lease_expires_at < $3) \
               ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING *"
                .to_owned(),
            vec![owner.into(), until.into(), at.into()],
        ),
        _ => (
            "UPDATE jobs SET status = 'running', lease_owner = ?, lease_expires_at = ?, \
             attempts = attempts + 1, updated_at = ? \
             WHERE id = (SELECT id FROM jobs \
               WHERE (status = 'queued' AND run_after <= ?) \
                  OR (status = 'running' AND lease_expires_at < ?) \
               ORDER BY run_after, id LIMIT 1) \
             RETURNING *"
                .to_owned(),
            vec![owner.into(), until.into(), at.into(), at.into(), at.into()],
        ),
    };
    let found = job::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(backend, text, values))
        .one(&store.db)
        .await?;
    Ok(found)
}

/// Extends the lease; false when the job is no longer this replica's.
async fn renew(store: &Store, id: Uuid, owner: &str, lease: Duration) -> AppResult<bool> {
    let until = now() + chrono::Duration::from_std(lease).map_err(AppError::internal)?;
    let res = job::Entity::update_many()
        .col_expr(job::Column::LeaseExpiresAt, until.into())
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::LeaseOwner.eq(owner))
        .filter(job::Column::Status.eq("running"))
        .exec(&store.db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Records the end of this replica's run of a job: `succeeded`, `failed`, or back to
/// `queued` (handed back, or to retry after `retry_in`).
async fn settle(
    store: &Store,
    job: &Job,
    owner: &str,
    status: &str,
    error: Option<String>,
    retry_in: Option<Duration>,
    give_back_attempt: bool,
) -> AppResult<bool> {
    let at = now();
    let mut q = job::Entity::update_many()
        .col_expr(job::Column::Status, status.into())
        .col_expr(job::Column::LeaseOwner, Option::<String>::None.into())
        .col_expr(
            job::Column::LeaseExpiresAt,
            Option::<chrono::DateTime<Utc>>::None.into(),
        )
        .col_expr(job::Column::UpdatedAt, at.into());
    if error.is_some() {
        q = q.col_expr(job::Column::LastError, error.into());
    }
    if status == "queued" {
        let delay =
            chrono::Duration::from_std(retry_in.unwrap_or_default()).map_err(AppError::internal)?;
        q = q.col_expr(job::Column::RunAfter, (at + delay).into());
        if give_back_attempt {
            q = q.col_expr(job::Column::Attempts, (job.attempts - 1).max(0).into());
        }
    } else {
        q = q.col_expr(job::Column::FinishedAt, Some(at).into());
    }
    let res = q
        .filter(job::Column::Id.eq(job.id))
        .filter(job::Column::LeaseOwner.eq(owner))
        .exec(&store.db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Runs a job's handler.
async fn dispatch(store: &Store, job: &Job, ctx: &JobContext) -> AppResult<Outcome> {
    match job.kind.as_str() {
        psa_import::JOB_KIND => psa_import::run(store, &job.payload, ctx).await,
        crate::workflows::JOB_KIND => crate::workflows::run(store, &job.payload, ctx).await,
        crate::domain::triggers::SCHEDULE_JOB => {
            crate::workflows::offboarding::run_schedule(store, &job.payload).await
        }
        retention::JOB_KIND => retention::run(store, &job.payload, ctx).await,
        other => Err(AppError::internal(anyhow::anyhow!(
            "no handler for jobs of kind {other}"
        ))),
    }
}

/// Called once when a job has failed for good, so its owner can say so (an import is
/// marked FAILED with the reason).
async fn on_failed(store: &Store, job: &Job, reason: &str) -> AppResult<()> {
    match job.kind.as_str() {
        psa_import::JOB_KIND => psa_import::job_failed(store, &job.payload, reason).await?,
        crate::workflows::JOB_KIND => {
            crate::workflows::job_failed(store, &job.payload, reason).await?
        }
        _ => {}
    }
    Ok(())
}

/// How the runner behaves.
#[derive(Clone, Debug)]
pub struct RunnerSettings {
    pub workers: usize,
    pub lease: Duration,
    pub poll: Duration,
}

impl RunnerSettings {
    pub fn from_config(config: &crate::Config) -> RunnerSettings {
        RunnerSettings {
            workers: config.job_workers.max(1),
            lease: Duration::from_secs(config.job_lease_secs.max(2)),
            poll: Duration::from_millis(config.job_poll_ms.max(50)),
        }
    }
}

/// The job runner of one replica.
pub struct Runner {
    pub owner: String,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Runner {
    /// Starts the workers (one on SQLite).
    pub fn start(store: Store, settings: RunnerSettings) -> Runner {
        let owner = format!(
            "{}-{}",
            std::process::id(),
            &Uuid::now_v7().simple().to_string()[20..]
        );
        let (stop, rx) = watch::channel(false);
        let workers = if store.backend() == DbBackend::Sqlite {
            1
        } else {
            settings.workers
        };
        let tasks = (0..workers)
            .map(|_| {
                tokio::spawn(worker(
                    store.clone(),
                    settings.clone(),
                    owner.clone(),
                    rx.clone(),
                ))
            })
            .collect();
        tracing::info!(%owner, workers, "job runner started");
        Runner { owner, stop, tasks }
    }

    /// Asks the workers to stop at their next safe point, hands their jobs back, and waits
    /// up to `grace` for them.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let all = futures_util::future::join_all(self.tasks);
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("job workers did not stop in time; their leases will expire");
        }
    }

    /// Stops at once, as a crash would: claims stay until their leases expire.
    pub fn abort(self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn worker(
    store: Store,
    settings: RunnerSettings,
    owner: String,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        match claim(&store, &owner, settings.lease).await {
            Ok(Some(job)) => {
                let span = tracing::info_span!("job", id = %job.id, kind = %job.kind, attempt = job.attempts);
                run_one(&store, &settings, &owner, &stop, job)
                    .instrument(span)
                    .await
            }
            Ok(None) => {
                tokio::select! {
                    _ = store.jobs_wakeup.notified() => {}
                    _ = tokio::time::sleep(settings.poll) => {}
                    _ = stop.changed() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e.client_message(), "claiming a job failed");
                tokio::select! {
                    _ = tokio::time::sleep(settings.poll) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
}

async fn run_one(
    store: &Store,
    settings: &RunnerSettings,
    owner: &str,
    stop: &watch::Receiver<bool>,
    job: Job,
) {
    if job.attempts > job.max_attempts {
        // A job that kept its replicas from finishing it (crash loop): give up.
        let reason = format!(
            "gave up after {} attempts; last error: {}",
            job.max_attempts,
            job.last_error
                .as_deref()
                .unwrap_or("none (the replica stopped)")
        );
        finish_failed(store, &job, owner, &reason).await;
        return;
    }
    let ctx = JobContext {
        stop: stop.clone(),
        lost: Arc::new(AtomicBool::new(false)),
    };
    let started = std::time::Instant::now();
    let heartbeat = async {
        loop {
            tokio::time::sleep(settings.lease / 3).await;
            match renew(store, job.id, owner, settings.lease).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!("lost the lease; stopping at the next safe point");
                    ctx.lost.store(true, Ordering::Relaxed);
                    std::future::pending::<()>().await;
                }
                Err(e) => tracing::warn!(error = %e.client_message(), "renewing the lease failed"),
            }
        }
    };
    let result = tokio::select! {
        r = dispatch(store, &job, &ctx) => r,
        _ = heartbeat => unreachable!("the heartbeat never ends"),
    };
    let ms = started.elapsed().as_millis() as u64;
    let settled = match result {
        Ok(Outcome::Done) => {
            tracing::info!(ms, "job done");
            settle(store, &job, owner, "succeeded", None, None, false).await
        }
        Ok(Outcome::Interrupted) if ctx.lost.load(Ordering::Relaxed) => Ok(false),
        Ok(Outcome::Interrupted) => {
            tracing::info!(ms, "job handed back");
            settle(store, &job, owner, "queued", None, None, true).await
        }
        Err(e) => {
            let reason = e.client_message();
            if let AppError::Internal(cause) = &e {
                tracing::error!(error = ?cause, "job failed");
            }
            if job.attempts >= job.max_attempts {
                finish_failed(store, &job, owner, &reason).await;
                return;
            }
            let backoff = Duration::from_secs(2u64.pow(job.attempts.clamp(0, 8) as u32));
            tracing::warn!(error = %reason, retry_in_s = backoff.as_secs(), "job failed; will retry");
            settle(
                store,
                &job,
                owner,
                "queued",
                Some(reason),
                Some(backoff),
                false,
            )
            .await
        }
    };
    match settled {
        Ok(true) => {}
        Ok(false) => tracing::warn!("the job was taken over by another replica"),
        Err(e) => tracing::warn!(error = %e.client_message(), "recording the job's end failed"),
    }
}

async fn finish_failed(store: &Store, job: &Job, owner: &str, reason: &str) {
    tracing::error!(error = %reason, "job failed for good");
    if let Err(e) = on_failed(store, job, reason).await {
        tracing::warn!(error = %e.client_message(), "recording the failure failed");
    }
    if let Err(e) = settle(
        store,
        job,
        owner,
        "failed",
        Some(reason.to_owned()),
        None,
        false,
    )
    .await
    {
        tracing::warn!(error = %e.client_message(), "recording the job's end failed");
    }
}
