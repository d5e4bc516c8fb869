//! The nightly retention job: each organization's workflow executions older than its
//! `resultsRetentionDays` go (with their pending tasks, task logs and foreign object
//! references), and organizations soft-deleted more than `RESTORE_WINDOW_DAYS` ago are
//! purged. Every run is recorded in `retention_runs`.
//!
//! Ages are judged against `as_of`, the night's scheduled instant carried in the job's
//! payload, never the clock: a run that is interrupted and taken up again (or retried the
//! next morning) removes exactly what the first attempt would have, so rerunning is safe.
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use entity::{
    foreign_object_reference as reference, job, organization, pending_task as task,
    retention_run as run_row, workflow_execution as execution,
};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::organizations;
use super::{Store, now, unique_violation};
use crate::error::{AppError, AppResult};
use crate::jobs::{self, JobContext, Outcome};

pub const JOB_KIND: &str = "retention";

/// Executions removed per transaction: small enough that no write lock is held for long
/// (SQLite has one writer), large enough that a night's backlog goes in few round trips.
const BATCH: u64 = 500;

/// Attempts before the runner gives a night's job up (each attempt resumes the work).
const MAX_ATTEMPTS: i32 = 5;

/// What one sweep removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// The `retention_runs` row of this sweep.
    pub run_id: Uuid,
    pub executions_deleted: u64,
    /// Executions removed per organization (orgs with none removed are absent).
    pub executions_by_org: BTreeMap<Uuid, u64>,
    /// Organizations purged for good (their remaining executions went with them).
    pub purged_organizations: Vec<Uuid>,
    /// The sweep stopped early because the replica is stopping or lost its lease; the job
    /// runs again and finishes the work.
    pub interrupted: bool,
}

impl RetentionReport {
    fn details(&self) -> Value {
        let by_org: serde_json::Map<String, Value> = self
            .executions_by_org
            .iter()
            .map(|(org, n)| (org.to_string(), json!(n)))
            .collect();
        json!({
            "executionsByOrg": by_org,
            "purgedOrganizations": self.purged_organizations,
        })
    }
}

/// The day and instant whose run is due at `now`, or `None` before today's `at`.
fn due(now: DateTime<Utc>, at: NaiveTime) -> Option<(NaiveDate, DateTime<Utc>)> {
    let day = now.date_naive();
    let scheduled = day.and_time(at).and_utc();
    (now >= scheduled).then_some((day, scheduled))
}

fn unique_key(day: NaiveDate) -> String {
    format!("{JOB_KIND}:{}", day.format("%Y-%m-%d"))
}

/// Queues today's retention job once `now` has reached today's `at` (UTC); returns its id,
/// or `None` when it is not time yet or the job is queued already (by this replica's
/// earlier tick or by another replica: the unique key makes it one per day).
///
/// Called every minute by every replica, so the common case, "already queued", is a plain
/// read rather than a failing insert (PostgreSQL would log each failure). The insert runs
/// on its own, outside any transaction: on PostgreSQL a failed statement would poison one.
pub async fn schedule(store: &Store, now: DateTime<Utc>, at: NaiveTime) -> AppResult<Option<Uuid>> {
    let Some((day, as_of)) = due(now, at) else {
        return Ok(None);
    };
    let key = unique_key(day);
    let queued = job::Entity::find()
        .filter(job::Column::UniqueKey.eq(&key))
        .count(&store.db)
        .await?;
    if queued > 0 {
        return Ok(None);
    }
    let payload = json!({ "asOf": as_of.to_rfc3339() });
    match jobs::enqueue(&store.db, JOB_KIND, payload, Some(key), MAX_ATTEMPTS).await {
        Ok(id) => {
            store.jobs_wakeup.notify_one();
            tracing::info!(job = %id, %as_of, "retention job queued");
            Ok(Some(id))
        }
        // Another replica queued it between our read and our insert.
        Err(AppError::Internal(cause))
            if cause
                .downcast_ref::<sea_orm::DbErr>()
                .and_then(unique_violation)
                .is_some() =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The job handler: sweeps as of the payload's `asOf`.
pub async fn run(store: &Store, payload: &Value, ctx: &JobContext) -> AppResult<Outcome> {
    let as_of = as_of_of(payload)?;
    let report = sweep(store, as_of, ctx).await?;
    Ok(if report.interrupted {
        Outcome::Interrupted
    } else {
        Outcome::Done
    })
}

fn as_of_of(payload: &Value) -> AppResult<DateTime<Utc>> {
    payload["asOf"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            AppError::internal(anyhow::anyhow!(
                "a retention job without a valid asOf (RFC 3339): {payload}"
            ))
        })
}

/// Removes what is past its retention as of `as_of`, recording the run in `retention_runs`
/// (`running` at start, then `succeeded` with the counts, or `failed` with the error; an
/// interrupted sweep is recorded as failed too, and the job's next attempt records its own).
///
/// Executions go by age alone: one still RUNNING or PAUSED is removed like a finished one
/// once it is older than its org's window, because the window bounds how long anything
/// about an org's runs is kept, and a run that old waits for nothing that will come.
pub async fn sweep(
    store: &Store,
    as_of: DateTime<Utc>,
    ctx: &JobContext,
) -> AppResult<RetentionReport> {
    let started = now();
    let run_id = Uuid::now_v7();
    run_row::ActiveModel {
        id: Set(run_id),
        started_at: Set(started),
        finished_at: Set(None),
        as_of: Set(as_of),
        executions_deleted: Set(0),
        organizations_purged: Set(0),
        details: Set(json!({})),
        status: Set("running".into()),
        error: Set(None),
    }
    .insert(&store.db)
    .await?;

    let mut report = RetentionReport {
        run_id,
        ..Default::default()
    };
    match remove_expired(store, as_of, ctx, &mut report).await {
        Ok(()) => {
            let (status, error) = if report.interrupted {
                (
                    "failed",
                    Some("interrupted (the replica stopped or lost its lease); the job runs again"),
                )
            } else {
                ("succeeded", None)
            };
            record_end(store, &report, status, error.map(str::to_owned)).await?;
            tracing::info!(
                run = %run_id,
                %as_of,
                executions_deleted = report.executions_deleted,
                organizations_purged = report.purged_organizations.len(),
                orgs_with_executions_deleted = report.executions_by_org.len(),
                interrupted = report.interrupted,
                "retention run ended"
            );
            Ok(report)
        }
        Err(e) => {
            let reason = match &e {
                AppError::Internal(cause) => format!("{cause:#}"),
                other => other.client_message(),
            };
            // The sweep's own error is the one worth reporting; a failure to record it is
            // only logged.
            if let Err(record) = record_end(store, &report, "failed", Some(reason)).await {
                tracing::warn!(run = %run_id, error = %record.client_message(), "recording the failed retention run failed");
            }
            Err(e)
        }
    }
}

/// The sweep itself: expired executions in batches, one retention value at a time, then the
/// purge of long-deleted organizations. Stops between batches when asked to.
async fn remove_expired(
    store: &Store,
    as_of: DateTime<Utc>,
    ctx: &JobContext,
    report: &mut RetentionReport,
) -> AppResult<()> {
    // The values in use, rather than 1..=30: the loop then also honours any value outside
    // the API's range that an older version or an operator may have stored.
    let windows: Vec<i32> = organization::Entity::find()
        .select_only()
        .column(organization::Column::ResultsRetentionDays)
        .distinct()
        .into_tuple()
        .all(&store.db)
        .await?;
    for days in windows {
        // Never less than a day: a zero or negative value must not wipe today's runs.
        let cutoff = as_of - Duration::days(i64::from(days.max(1)));
        loop {
            if ctx.should_stop() {
                report.interrupted = true;
                return Ok(());
            }
            let batch = delete_batch(store, days, cutoff).await?;
            if batch.is_empty() {
                break;
            }
            report.executions_deleted += batch.len() as u64;
            for org in batch {
                *report.executions_by_org.entry(org).or_default() += 1;
            }
        }
    }
    if ctx.should_stop() {
        report.interrupted = true;
        return Ok(());
    }
    report.purged_organizations = organizations::purge_deleted(store, as_of).await?;
    // Replays are refused by message id; ConnectWise retries within minutes, so a week of
    // receipts is plenty.
    entity::callback_receipt::Entity::delete_many()
        .filter(entity::callback_receipt::Column::ReceivedAt.lt(as_of - Duration::days(7)))
        .exec(&store.db)
        .await?;
    Ok(())
}

/// Deletes up to `BATCH` executions of orgs keeping `days` days that were created before
/// `cutoff`, with what belongs to them, in one short transaction; returns the org of each.
///
/// The rows are selected inside the transaction and locked (`FOR UPDATE` on PostgreSQL;
/// SQLite's write transaction excludes other writers), so the counts are exactly what was
/// removed. Task logs go by their foreign key's cascade. Pending tasks would too; they are
/// deleted explicitly so nothing depends on how a database enforces that key. References
/// would only be unlinked by theirs, but a link to a run that no longer exists tells nobody
/// anything, so they go too.
async fn delete_batch(store: &Store, days: i32, cutoff: DateTime<Utc>) -> AppResult<Vec<Uuid>> {
    let txn = store.begin_write().await?;
    let batch: Vec<(Uuid, Uuid)> = execution::Entity::find()
        .select_only()
        .column(execution::Column::Id)
        .column(execution::Column::OrgId)
        .filter(
            execution::Column::OrgId.in_subquery(
                Query::select()
                    .column(organization::Column::Id)
                    .from(organization::Entity)
                    .and_where(organization::Column::ResultsRetentionDays.eq(days))
                    .to_owned(),
            ),
        )
        .filter(execution::Column::CreatedAt.lt(cutoff))
        .limit(BATCH)
        .lock_exclusive()
        .into_tuple()
        .all(&txn)
        .await?;
    if batch.is_empty() {
        txn.rollback().await?;
        return Ok(Vec::new());
    }
    let ids = || batch.iter().map(|(id, _)| *id);
    reference::Entity::delete_many()
        .filter(reference::Column::WorkflowExecutionId.is_in(ids()))
        .exec(&txn)
        .await?;
    task::Entity::delete_many()
        .filter(task::Column::ExecutionId.is_in(ids()))
        .exec(&txn)
        .await?;
    execution::Entity::delete_many()
        .filter(execution::Column::Id.is_in(ids()))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(batch.into_iter().map(|(_, org)| org).collect())
}

async fn record_end(
    store: &Store,
    report: &RetentionReport,
    status: &str,
    error: Option<String>,
) -> AppResult<()> {
    run_row::ActiveModel {
        id: Set(report.run_id),
        finished_at: Set(Some(now())),
        executions_deleted: Set(i64::try_from(report.executions_deleted).unwrap_or(i64::MAX)),
        organizations_purged: Set(
            i64::try_from(report.purged_organizations.len()).unwrap_or(i64::MAX)
        ),
        details: Set(report.details()),
        status: Set(status.to_owned()),
        error: Set(error),
        ..Default::default()
    }
    .update(&store.db)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn due_from_the_configured_time_of_that_utc_day() {
        let three = NaiveTime::from_hms_opt(3, 0, 0).unwrap();
        assert_eq!(due(at("2026-11-23T02:59:59Z"), three), None);
        let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        for now in [
            "2026-11-23T03:00:00Z",
            "2026-11-23T03:00:01Z",
            "2026-11-23T23:59:59Z",
        ] {
            assert_eq!(
                due(at(now), three),
                Some((day, at("2026-11-23T03:00:00Z"))),
                "{now}"
            );
        }
        // UTC, whatever the offset the instant was written with.
        assert_eq!(due(at("2026-11-23T04:30:00+02:00"), three), None);
        assert_eq!(
            due(at("2026-11-23T00:30:00-03:00"), three),
            Some((day, at("2026-11-23T03:00:00Z")))
        );
        let midnight = NaiveTime::from_hms_opt(0, 0, 0).unwrap();
        assert_eq!(
            due(at("2026-12-31T00:00:00Z"), midnight),
            Some((
                NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
                at("2026-12-31T00:00:00Z")
            ))
        );
    }

    #[test]
    fn one_key_per_utc_day() {
        assert_eq!(
            unique_key(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()),
            "retention:2026-01-05"
        );
    }

    #[test]
    fn a_malformed_payload_is_an_error() {
        for bad in [
            json!({}),
            json!({ "asOf": 5 }),
            json!({ "asOf": "yesterday" }),
            json!(null),
            json!("2026-11-23T03:00:00Z"),
        ] {
            assert!(as_of_of(&bad).is_err(), "{bad}");
        }
        assert_eq!(
            as_of_of(&json!({ "asOf": "2026-11-23T03:00:00+00:00" })).ok(),
            Some(at("2026-11-23T03:00:00Z"))
        );
    }
}
