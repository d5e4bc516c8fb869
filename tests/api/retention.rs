//! The nightly retention job, driven with an injected clock: `schedule` is given `now`, and
//! the job judges ages by the night's instant, so the test can age rows to either side of
//! each organization's window.
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use entity::{
    foreign_object_reference as reference, organization, pending_task as task, retention_run,
    workflow_execution as execution,
};
use orghub::domain::{executions, retention};
use orghub::jobs::{self, JobContext};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

const WF: &str = "pods-technician-toolbox";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("an RFC 3339 instant")
        .with_timezone(&Utc)
}

fn id(s: &str) -> Uuid {
    Uuid::parse_str(s).expect("an id")
}

/// An execution of `org` created at `created_at`.
async fn execution_at(app: &TestApp, org: Uuid, created_at: DateTime<Utc>) -> Uuid {
    let e = executions::start(&app.state.store.db, org, WF, None, None)
        .await
        .unwrap_or_else(|e| panic!("{}", e.client_message()));
    execution::Entity::update_many()
        .col_expr(execution::Column::CreatedAt, Expr::value(created_at))
        .filter(execution::Column::Id.eq(e.id))
        .exec(&app.state.store.db)
        .await
        .expect("age the execution");
    e.id
}

/// A pending task on the execution (which pauses it).
async fn waiting_task(app: &TestApp, execution_id: Uuid) -> Uuid {
    executions::ask(
        &app.state.store.db,
        execution_id,
        "prompt",
        "Approve?",
        None,
        Duration::days(60),
    )
    .await
    .unwrap_or_else(|e| panic!("{}", e.client_message()))
    .id
}

/// A `cw_ticket` reference of `org`, linked to the execution when one is given.
async fn ticket_reference(app: &TestApp, org: Uuid, execution_id: Option<Uuid>) -> Uuid {
    let at = Utc::now();
    reference::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org),
        identifier: Set("cw_ticket".into()),
        reference_id: Set(Uuid::now_v7().simple().to_string()),
        pack_config_id: Set(None),
        workflow_execution_id: Set(execution_id),
        action_id: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&app.state.store.db)
    .await
    .expect("insert a reference")
    .id
}

async fn set_retention(app: &TestApp, org: &str, days: i32) {
    app.ok(
        &app.admin,
        "mutation($id: ID!, $d: Int) { updateOrganization(organization: {id: $id, resultsRetentionDays: $d}) { resultsRetentionDays } }",
        json!({ "id": org, "d": days }),
    )
    .await;
}

/// Soft-deletes the org through the API, then dates the deletion `deleted_at`.
async fn delete_org_at(app: &TestApp, org: &str, deleted_at: DateTime<Utc>) {
    app.ok(
        &app.admin,
        "mutation($id: ID!) { deleteOrganization(id: $id) }",
        json!({ "id": org }),
    )
    .await;
    organization::Entity::update_many()
        .col_expr(
            organization::Column::DeletedAt,
            Expr::value(Some(deleted_at)),
        )
        .filter(organization::Column::Id.eq(id(org)))
        .exec(&app.state.store.db)
        .await
        .expect("date the deletion");
}

/// Waits (at most a minute) for the job to end, and returns it.
async fn ended(app: &TestApp, job_id: Uuid) -> jobs::Job {
    let deadline = Instant::now() + StdDuration::from_secs(60);
    loop {
        let job = jobs::get(&app.state.store, job_id)
            .await
            .unwrap_or_else(|e| panic!("{}", e.client_message()))
            .expect("the job exists");
        if job.status == "succeeded" || job.status == "failed" {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "the retention job did not end: {job:?}"
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

async fn retention_jobs(app: &TestApp) -> u64 {
    entity::job::Entity::find()
        .filter(entity::job::Column::Kind.eq(retention::JOB_KIND))
        .count(&app.state.store.db)
        .await
        .expect("count jobs")
}

async fn ids_of_executions(app: &TestApp) -> BTreeSet<Uuid> {
    execution::Entity::find()
        .all(&app.state.store.db)
        .await
        .expect("list executions")
        .into_iter()
        .map(|e| e.id)
        .collect()
}

#[tokio::test]
async fn nightly_retention_removes_what_is_past_each_window() {
    let app = spawn_app().await;
    let store = &app.state.store;
    let at = app.config.retention_at;
    let as_of = t("2026-11-23T03:00:00Z");
    assert_eq!(
        at.to_string(),
        "03:00:00",
        "the test assumes the default time"
    );
    let ago = |d: Duration| as_of - d;

    let msp = id(&app.msp_id);
    let short = app.create_org(&app.admin, "Short", &app.msp_id).await;
    set_retention(&app, &short, 1).await;
    let week = app.create_org(&app.admin, "Week", &app.msp_id).await;
    set_retention(&app, &week, 7).await;
    let default = app.create_org(&app.admin, "Default", &app.msp_id).await;
    let gone = app.create_org(&app.admin, "Gone", &app.msp_id).await;
    let restorable = app.create_org(&app.admin, "Restorable", &app.msp_id).await;
    let (short, week, default) = (id(&short), id(&week), id(&default));

    // Past the window (1 day): removed with its task and reference. Just inside: kept.
    let short_old = execution_at(&app, short, ago(Duration::days(1) + Duration::minutes(1))).await;
    let short_old_task = waiting_task(&app, short_old).await;
    let short_old_ref = ticket_reference(&app, short, Some(short_old)).await;
    let short_in = execution_at(&app, short, ago(Duration::days(1) - Duration::minutes(1))).await;

    // 7 days; more than one batch (500) past the window.
    let week_old = execution_at(&app, week, ago(Duration::days(8))).await;
    let week_old_ref = ticket_reference(&app, week, Some(week_old)).await;
    let txn = store.begin_write().await.expect("a transaction");
    let mut bulk = Vec::new();
    for _ in 0..510 {
        bulk.push(
            executions::start(&txn, week, WF, None, None)
                .await
                .unwrap_or_else(|e| panic!("{}", e.client_message()))
                .id,
        );
    }
    txn.commit().await.expect("commit");
    execution::Entity::update_many()
        .col_expr(
            execution::Column::CreatedAt,
            Expr::value(ago(Duration::days(10))),
        )
        .filter(execution::Column::Id.is_in(bulk.clone()))
        .exec(&store.db)
        .await
        .expect("age the bulk");
    let week_in = execution_at(&app, week, ago(Duration::days(7) - Duration::seconds(1))).await;
    let week_in_task = waiting_task(&app, week_in).await;
    let week_in_ref = ticket_reference(&app, week, Some(week_in)).await;

    // The default 21 days: still RUNNING or PAUSED makes no difference past the window.
    let default_running = execution_at(&app, default, ago(Duration::days(22))).await;
    let default_paused =
        execution_at(&app, default, ago(Duration::days(21) + Duration::hours(1))).await;
    let default_paused_task = waiting_task(&app, default_paused).await;
    let default_in = execution_at(&app, default, ago(Duration::days(20))).await;
    let unlinked_ref = ticket_reference(&app, default, None).await;
    let msp_in = execution_at(&app, msp, ago(Duration::days(5))).await;

    // Deleted 31 days before: purged with its (recent) execution. 29 days: still restorable.
    let gone_exec = execution_at(&app, id(&gone), ago(Duration::hours(1))).await;
    let gone_ref = ticket_reference(&app, id(&gone), Some(gone_exec)).await;
    delete_org_at(&app, &gone, ago(Duration::days(31))).await;
    let restorable_exec = execution_at(&app, id(&restorable), ago(Duration::hours(1))).await;
    delete_org_at(&app, &restorable, ago(Duration::days(29))).await;

    let before = ids_of_executions(&app).await;
    assert_eq!(before.len(), 520);
    let removed = [
        short_old,
        week_old,
        default_running,
        default_paused,
        gone_exec,
    ];
    assert!(removed.iter().chain(&bulk).all(|e| before.contains(e)));

    // Before the configured time nothing is queued; at it, one job for the day.
    let scheduled = |now: &str| retention::schedule(store, t(now), at);
    assert_eq!(
        scheduled("2026-11-23T02:59:59Z")
            .await
            .unwrap_or_else(|e| panic!("{}", e.client_message())),
        None
    );
    assert_eq!(retention_jobs(&app).await, 0);
    let job_id = scheduled("2026-11-23T03:00:00Z")
        .await
        .unwrap_or_else(|e| panic!("{}", e.client_message()))
        .expect("the night's job is queued at the configured time");

    let job = ended(&app, job_id).await;
    assert_eq!(job.status, "succeeded", "{job:?}");
    assert_eq!(job.unique_key.as_deref(), Some("retention:2026-11-23"));
    assert_eq!(
        job.payload["asOf"]
            .as_str()
            .map(|s| DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc))),
        Some(Ok(as_of))
    );

    // Exactly what is past each window is gone, with its tasks and references.
    let kept: BTreeSet<Uuid> = [short_in, week_in, default_in, msp_in, restorable_exec].into();
    assert_eq!(ids_of_executions(&app).await, kept);
    let tasks: Vec<Uuid> = task::Entity::find()
        .all(&store.db)
        .await
        .expect("list tasks")
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(tasks, vec![week_in_task]);
    assert!(!tasks.contains(&short_old_task) && !tasks.contains(&default_paused_task));
    let refs: BTreeSet<Uuid> = reference::Entity::find()
        .all(&store.db)
        .await
        .expect("list references")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(refs, [week_in_ref, unlinked_ref].into());
    for r in [short_old_ref, week_old_ref, gone_ref] {
        assert!(!refs.contains(&r));
    }
    let orgs = |org: &str| organization::Entity::find_by_id(id(org)).one(&store.db);
    assert!(orgs(&gone).await.expect("read").is_none(), "purged");
    let still = orgs(&restorable)
        .await
        .expect("read")
        .expect("not purged yet");
    assert!(still.deleted_at.is_some());

    // The run is recorded with its counts.
    let runs = retention_run::Entity::find()
        .all(&store.db)
        .await
        .expect("list runs");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.status, "succeeded", "{run:?}");
    assert_eq!(run.as_of, as_of);
    assert_eq!((run.executions_deleted, run.organizations_purged), (514, 1));
    assert!(run.finished_at.is_some_and(|f| f >= run.started_at));
    assert_eq!(run.error, None);
    let by_org: BTreeMap<String, u64> = [(short, 1), (week, 511), (default, 2)]
        .into_iter()
        .map(|(o, n)| (o.to_string(), n))
        .collect();
    assert_eq!(
        run.details,
        json!({ "executionsByOrg": by_org, "purgedOrganizations": [gone] })
    );

    // Later the same day, and the next day before the configured time: nothing more.
    for now in [
        "2026-11-23T03:01:00Z",
        "2026-11-23T23:59:59Z",
        "2026-11-24T02:59:00Z",
    ] {
        assert_eq!(
            scheduled(now)
                .await
                .unwrap_or_else(|e| panic!("{}", e.client_message())),
            None,
            "{now}"
        );
    }
    assert_eq!(retention_jobs(&app).await, 1);

    // Running it again as of the same instant removes nothing more: safe to rerun.
    let again = retention::sweep(store, as_of, &JobContext::detached())
        .await
        .unwrap_or_else(|e| panic!("{}", e.client_message()));
    assert_eq!(again.executions_deleted, 0);
    assert!(again.purged_organizations.is_empty() && !again.interrupted);
    assert_eq!(ids_of_executions(&app).await, kept);

    // A malformed payload is an error (the runner retries, then fails the job), not a panic.
    for bad in [json!({}), json!({ "asOf": "tonight" })] {
        assert!(
            retention::run(store, &bad, &JobContext::detached())
                .await
                .is_err()
        );
    }
    let runs = retention_run::Entity::find()
        .order_by_asc(retention_run::Column::StartedAt)
        .all(&store.db)
        .await
        .expect("list runs");
    assert_eq!(runs.len(), 2, "a bad payload records no run");
    assert_eq!(
        (runs[1].status.as_str(), runs[1].executions_deleted),
        ("succeeded", 0)
    );

    // The next day at the configured time, the next night's job.
    let next = scheduled("2026-11-24T03:00:00Z")
        .await
        .unwrap_or_else(|e| panic!("{}", e.client_message()))
        .expect("the next night's job");
    let next = ended(&app, next).await;
    assert_eq!(next.status, "succeeded", "{next:?}");
    assert_eq!(next.unique_key.as_deref(), Some("retention:2026-11-24"));
    // One more day: the 1-day org's run from just inside the window is past it now.
    assert!(!ids_of_executions(&app).await.contains(&short_in));
}
