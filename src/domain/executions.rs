//! Workflow executions and their pending tasks. Executions are started by orghub's built-in
//! workflows (the job runner drives them); the API reads them, answers their pending tasks,
//! kills and deletes them.
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use entity::{pending_task as task, workflow_execution as execution};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use super::filter::Cmp;
use super::organizations::{self, OrgFilter};
use super::{Store, now, parse_order};
use crate::auth::{Access, Actor};
use crate::error::{AppError, AppResult};

pub use execution::Model as Execution;
pub use task::Model as PendingTask;

/// Statuses an execution ends in.
pub const FINAL: [&str; 5] = ["SUCCEEDED", "FAILED", "CANCELED", "TIMEOUT", "ABANDONED"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecField {
    Id,
    OrgId,
    Status,
    WorkflowId,
    OriginatingExecutionId,
    CreatedAt,
    ProcessedCompletionAt,
    /// Compared with integers: tasks still waiting for an answer.
    AwaitingTasks,
}

const ORDER_COLUMNS: &[(&str, ExecField)] = &[
    ("createdAt", ExecField::CreatedAt),
    ("status", ExecField::Status),
    ("id", ExecField::Id),
    ("processedCompletionAt", ExecField::ProcessedCompletionAt),
];

fn awaiting() -> sea_orm::sea_query::SimpleExpr {
    Expr::cust(
        "(SELECT COUNT(*) FROM pending_tasks pt WHERE pt.execution_id = workflow_executions.id AND pt.status = 'pending')",
    )
}

#[derive(Clone, Debug, Default)]
pub struct ExecFilter {
    /// `where.id`: an execution the caller must be able to see, or `FORBIDDEN`.
    pub id: Option<Uuid>,
    pub preds: Vec<(ExecField, Cmp)>,
    pub organization: Option<Box<OrgFilter>>,
    /// Executions of this org (and, with the flag, of every org below it).
    pub org: Option<(Uuid, bool)>,
    pub created_since: Option<DateTime<Utc>>,
}

impl ExecFilter {
    pub(crate) fn condition(&self) -> Condition {
        let mut cond = Condition::all();
        if let Some(id) = self.id {
            cond = cond.add(execution::Column::Id.eq(id));
        }
        for (field, cmp) in &self.preds {
            let col = match field {
                ExecField::Id => Expr::col(execution::Column::Id),
                ExecField::OrgId => Expr::col(execution::Column::OrgId),
                ExecField::Status => Expr::col(execution::Column::Status),
                ExecField::WorkflowId => Expr::col(execution::Column::WorkflowId),
                ExecField::OriginatingExecutionId => {
                    Expr::col(execution::Column::OriginatingExecutionId)
                }
                ExecField::CreatedAt => Expr::col(execution::Column::CreatedAt),
                ExecField::ProcessedCompletionAt => {
                    Expr::col(execution::Column::ProcessedCompletionAt)
                }
                ExecField::AwaitingTasks => awaiting(),
            };
            cond = cond.add(cmp.apply(col));
        }
        if let Some(org) = &self.organization {
            cond = cond.add(
                execution::Column::OrgId.in_subquery(
                    Query::select()
                        .column(entity::organization::Column::Id)
                        .from(entity::organization::Entity)
                        .cond_where(org.condition(true))
                        .to_owned(),
                ),
            );
        }
        if let Some(since) = self.created_since {
            cond = cond.add(execution::Column::CreatedAt.gte(since));
        }
        cond
    }
}

/// Executions of the orgs the caller reaches.
fn scope(actor: &Actor) -> Condition {
    if actor.is_staff {
        return Condition::all();
    }
    Condition::all().add(
        execution::Column::OrgId.in_subquery(
            Query::select()
                .column(entity::organization::Column::Id)
                .from(entity::organization::Entity)
                .and_where(entity::organization::Column::Path.starts_with(&actor.org_path))
                .to_owned(),
        ),
    )
}

pub async fn visible(store: &Store, actor: &Actor, id: Uuid) -> AppResult<Execution> {
    let e = execution::Entity::find_by_id(id)
        .one(&store.db)
        .await?
        .ok_or(AppError::Forbidden)?;
    organizations::visible(store, actor, e.org_id).await?;
    Ok(e)
}

async fn org_condition(store: &Store, actor: &Actor, filter: &ExecFilter) -> AppResult<Condition> {
    let mut cond = Condition::all();
    if let Some((org_id, with_subs)) = filter.org {
        let org = organizations::visible(store, actor, org_id).await?;
        cond = if with_subs {
            cond.add(
                execution::Column::OrgId.in_subquery(
                    Query::select()
                        .column(entity::organization::Column::Id)
                        .from(entity::organization::Entity)
                        .and_where(entity::organization::Column::Path.starts_with(&org.path))
                        .to_owned(),
                ),
            )
        } else {
            cond.add(execution::Column::OrgId.eq(org.id))
        };
    }
    Ok(cond)
}

pub async fn list(
    store: &Store,
    actor: &Actor,
    filter: &ExecFilter,
    order: &[Vec<String>],
    page: (u64, u64),
) -> AppResult<Vec<Execution>> {
    if let Some(id) = filter.id {
        visible(store, actor, id).await?;
    }
    let mut query = execution::Entity::find()
        .filter(scope(actor))
        .filter(org_condition(store, actor, filter).await?)
        .filter(filter.condition());
    for (field, dir) in parse_order(order, ORDER_COLUMNS)? {
        query = match field {
            ExecField::Status => query.order_by(execution::Column::Status, dir),
            ExecField::Id => query.order_by(execution::Column::Id, dir),
            ExecField::ProcessedCompletionAt => {
                query.order_by(execution::Column::ProcessedCompletionAt, dir)
            }
            _ => query.order_by(execution::Column::CreatedAt, dir),
        };
    }
    Ok(query
        .order_by(execution::Column::Id, Order::Asc)
        .limit(page.0)
        .offset(page.1)
        .all(&store.db)
        .await?)
}

/// The newest execution of a workflow for an org (optionally in a status).
pub async fn latest(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    workflow_id: &str,
    status: Option<&str>,
) -> AppResult<Option<Execution>> {
    organizations::visible(store, actor, org_id).await?;
    let mut q = execution::Entity::find()
        .filter(execution::Column::OrgId.eq(org_id))
        .filter(execution::Column::WorkflowId.eq(workflow_id));
    if let Some(s) = status {
        q = q.filter(execution::Column::Status.eq(s.to_uppercase()));
    }
    Ok(q.order_by_desc(execution::Column::CreatedAt)
        .order_by_desc(execution::Column::Id)
        .one(&store.db)
        .await?)
}

/// Starts an execution (for the built-in workflows and the runner).
pub async fn start<C: ConnectionTrait>(
    conn: &C,
    org_id: Uuid,
    workflow_id: &str,
    input: Option<serde_json::Value>,
    parent: Option<&Execution>,
) -> AppResult<Execution> {
    insert(conn, org_id, workflow_id, "RUNNING", input, parent).await
}

/// Queues an execution: `PENDING` until the runner takes its first step.
pub async fn queue<C: ConnectionTrait>(
    conn: &C,
    org_id: Uuid,
    workflow_id: &str,
    input: serde_json::Value,
) -> AppResult<Execution> {
    insert(conn, org_id, workflow_id, "PENDING", Some(input), None).await
}

async fn insert<C: ConnectionTrait>(
    conn: &C,
    org_id: Uuid,
    workflow_id: &str,
    status: &str,
    input: Option<serde_json::Value>,
    parent: Option<&Execution>,
) -> AppResult<Execution> {
    let at = now();
    Ok(execution::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org_id),
        workflow_id: Set(workflow_id.to_owned()),
        status: Set(status.into()),
        message: Set(None),
        input: Set(input),
        output: Set(None),
        parent_execution_id: Set(parent.map(|p| p.id)),
        originating_execution_id: Set(parent.map(|p| p.originating_execution_id.unwrap_or(p.id))),
        parent_task_execution_id: Set(None),
        completion_handled_execution_id: Set(None),
        num_successful_tasks: Set(0),
        processed_completion_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(conn)
    .await?)
}

/// What a run asks a person.
#[derive(Clone, Debug)]
pub struct Question<'a> {
    /// The workflow step the answer goes back to.
    pub step: Option<&'a str>,
    /// `text` (a free answer), `button` (one of `fields`: `[{value, label}]`) or `prompt`
    /// (a form: `fields` is `[{name, label, type, required, maxLength}]`).
    pub kind: &'a str,
    pub label: &'a str,
    pub fields: Option<serde_json::Value>,
    pub ttl: Duration,
}

/// Asks a person something: the execution pauses until it is answered or expires.
pub async fn ask<C: ConnectionTrait>(
    conn: &C,
    execution_id: Uuid,
    kind: &str,
    label: &str,
    fields: Option<serde_json::Value>,
    ttl: Duration,
) -> AppResult<PendingTask> {
    ask_question(
        conn,
        execution_id,
        &Question {
            step: None,
            kind,
            label,
            fields,
            ttl,
        },
    )
    .await
}

pub async fn ask_question<C: ConnectionTrait>(
    conn: &C,
    execution_id: Uuid,
    q: &Question<'_>,
) -> AppResult<PendingTask> {
    let at = now();
    let t = task::ActiveModel {
        id: Set(Uuid::now_v7()),
        execution_id: Set(execution_id),
        kind: Set(q.kind.to_owned()),
        label: Set(q.label.to_owned()),
        fields: Set(q.fields.clone()),
        status: Set("pending".into()),
        response: Set(None),
        expires_at: Set(at + q.ttl),
        step: Set(q.step.map(str::to_owned)),
        handled_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(conn)
    .await?;
    set_status(conn, execution_id, "PAUSED", None).await?;
    Ok(t)
}

pub async fn set_status<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    status: &str,
    message: Option<&str>,
) -> AppResult<()> {
    let mut update = execution::Entity::update_many()
        .col_expr(execution::Column::Status, Expr::value(status))
        .col_expr(execution::Column::UpdatedAt, Expr::value(now()));
    if let Some(m) = message {
        update = update.col_expr(execution::Column::Message, Expr::value(m));
    }
    if FINAL.contains(&status) {
        update = update.col_expr(execution::Column::ProcessedCompletionAt, Expr::value(now()));
    }
    update
        .filter(execution::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// `killWorkflowExecution`: cancels the execution and its waiting tasks.
pub async fn kill(store: &Store, actor: &Actor, id: Uuid) -> AppResult<Execution> {
    let e = visible(store, actor, id).await?;
    let org = organizations::visible(store, actor, e.org_id).await?;
    actor.check(&org, Access::Write)?;
    if FINAL.contains(&e.status.as_str()) {
        return Err(AppError::Conflict(format!(
            "The execution already ended ({})",
            e.status
        )));
    }
    let txn = store.begin_write().await?;
    task::Entity::update_many()
        .col_expr(task::Column::Status, Expr::value("canceled"))
        .col_expr(task::Column::UpdatedAt, Expr::value(now()))
        .filter(task::Column::ExecutionId.eq(id))
        .filter(task::Column::Status.eq("pending"))
        .exec(&txn)
        .await?;
    set_status(&txn, id, "CANCELED", Some("canceled by a person")).await?;
    txn.commit().await?;
    visible(store, actor, id).await
}

/// `deleteWorkflowExecution`: removes it with its tasks; references to it are kept, unlinked.
pub async fn delete(store: &Store, actor: &Actor, id: Uuid) -> AppResult<()> {
    let e = visible(store, actor, id).await?;
    let org = organizations::visible(store, actor, e.org_id).await?;
    actor.check(&org, Access::Write)?;
    execution::Entity::delete_by_id(id).exec(&store.db).await?;
    Ok(())
}

/// `submitPendingTaskResponse`: answers a waiting task. When nothing else waits, the
/// execution runs on (the runner picks it up).
pub async fn answer(
    store: &Store,
    actor: &Actor,
    org_id: Option<Uuid>,
    task_id: Uuid,
    values: serde_json::Value,
) -> AppResult<serde_json::Value> {
    let t = task::Entity::find_by_id(task_id)
        .one(&store.db)
        .await?
        .ok_or(AppError::Forbidden)?;
    let e = visible(store, actor, t.execution_id).await?;
    if org_id.is_some_and(|o| o != e.org_id) {
        return Err(AppError::Forbidden);
    }
    let org = organizations::visible(store, actor, e.org_id).await?;
    actor.check(&org, Access::Write)?;
    if t.status != "pending" {
        return Err(AppError::Conflict(format!(
            "This task is {} already",
            t.status
        )));
    }
    let txn = store.begin_write().await?;
    if t.expires_at < now() {
        task::Entity::update_many()
            .col_expr(task::Column::Status, Expr::value("expired"))
            .filter(task::Column::Id.eq(t.id))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        return Err(AppError::Conflict(
            "This task expired; restart the run".into(),
        ));
    }
    let values = checked_response(&t, values)?;
    let mut model: task::ActiveModel = t.clone().into();
    model.status = Set("success".into());
    model.response = Set(Some(values));
    model.updated_at = Set(now());
    model.update(&txn).await?;
    execution::Entity::update_many()
        .col_expr(
            execution::Column::NumSuccessfulTasks,
            Expr::col(execution::Column::NumSuccessfulTasks).add(1),
        )
        .filter(execution::Column::Id.eq(e.id))
        .exec(&txn)
        .await?;
    let still = task::Entity::find()
        .filter(task::Column::ExecutionId.eq(e.id))
        .filter(task::Column::Status.eq("pending"))
        .count(&txn)
        .await?;
    if still == 0 && e.status == "PAUSED" {
        set_status(&txn, e.id, "RUNNING", None).await?;
    }
    // A built-in workflow acts on the answer in the background; the job exists exactly
    // when the answer does.
    let continues = crate::workflows::find(&e.workflow_id).is_some();
    if continues {
        crate::workflows::enqueue_step(&txn, e.id, Some(t.id)).await?;
    }
    txn.commit().await?;
    if continues {
        store.jobs_wakeup.notify_one();
    }
    Ok(json!({ "pendingTaskId": t.id, "status": "success", "workflowExecutionId": e.id }))
}

/// Tasks of each execution, oldest first.
pub async fn tasks_of(store: &Store, ids: &[Uuid]) -> AppResult<HashMap<Uuid, Vec<PendingTask>>> {
    let rows = task::Entity::find()
        .filter(task::Column::ExecutionId.is_in(ids.iter().copied()))
        .order_by_asc(task::Column::CreatedAt)
        .all(&store.db)
        .await?;
    let mut out: HashMap<Uuid, Vec<PendingTask>> = HashMap::new();
    for t in rows {
        out.entry(t.execution_id).or_default().push(t);
    }
    Ok(out)
}

/// Executions whose `column` is one of `ids` (children, completion handlers).
pub async fn related(
    store: &Store,
    ids: &[Uuid],
    by_parent: bool,
) -> AppResult<HashMap<Uuid, Vec<Execution>>> {
    let col = if by_parent {
        execution::Column::ParentExecutionId
    } else {
        execution::Column::CompletionHandledExecutionId
    };
    let rows = execution::Entity::find()
        .filter(col.is_in(ids.iter().copied()))
        .order_by_asc(execution::Column::CreatedAt)
        .all(&store.db)
        .await?;
    let mut out: HashMap<Uuid, Vec<Execution>> = HashMap::new();
    for e in rows {
        let key = if by_parent {
            e.parent_execution_id
        } else {
            e.completion_handled_execution_id
        };
        if let Some(k) = key {
            out.entry(k).or_default().push(e);
        }
    }
    Ok(out)
}

pub async fn by_ids(store: &Store, ids: &[Uuid]) -> AppResult<HashMap<Uuid, Execution>> {
    let rows = execution::Entity::find()
        .filter(execution::Column::Id.is_in(ids.iter().copied()))
        .all(&store.db)
        .await?;
    Ok(rows.into_iter().map(|e| (e.id, e)).collect())
}

/// Latest executions of each org (for `Organization.workflowExecutions`), newest first.
pub async fn of_orgs(
    store: &Store,
    org_ids: &[Uuid],
    per_org: usize,
) -> AppResult<HashMap<Uuid, Vec<Execution>>> {
    let rows = execution::Entity::find()
        .filter(execution::Column::OrgId.is_in(org_ids.iter().copied()))
        .order_by_desc(execution::Column::CreatedAt)
        .all(&store.db)
        .await?;
    let mut out: HashMap<Uuid, Vec<Execution>> = HashMap::new();
    for e in rows {
        let list = out.entry(e.org_id).or_default();
        if list.len() < per_org {
            list.push(e);
        }
    }
    Ok(out)
}

/// An answer checked against what the task asked: a button's value must be one of its
/// buttons; a prompt's required fields must be filled and within their `maxLength`; a text
/// answer is `{"text": …}`. A prompt may also be dismissed with `{"cancel": true}`.
fn checked_response(t: &PendingTask, values: serde_json::Value) -> AppResult<serde_json::Value> {
    let Some(obj) = values.as_object() else {
        return Err(AppError::invalid(
            "values",
            "INVALID_FORMAT",
            "must be an object, e.g. {\"value\": \"refresh\"}",
        ));
    };
    let specs: Vec<serde_json::Value> = t
        .fields
        .as_ref()
        .and_then(|f| f.as_array())
        .cloned()
        .unwrap_or_default();
    match t.kind.as_str() {
        "button" if !specs.is_empty() => {
            let chosen = obj.get("value").and_then(|v| v.as_str()).unwrap_or("");
            if chosen.is_empty() {
                return Err(AppError::invalid(
                    "values.value",
                    "REQUIRED_FIELD",
                    "say which button was pressed",
                ));
            }
            if !specs.iter().any(|b| b["value"].as_str() == Some(chosen)) {
                let offered: Vec<&str> = specs.iter().filter_map(|b| b["value"].as_str()).collect();
                return Err(AppError::invalid(
                    "values.value",
                    "INVALID_FORMAT",
                    format!("must be one of {}", offered.join(", ")),
                ));
            }
        }
        "prompt" if obj.get("cancel").and_then(|c| c.as_bool()) == Some(true) => {}
        "prompt" | "text" => {
            let specs = if t.kind == "text" && specs.is_empty() {
                vec![json!({ "name": "text", "required": true })]
            } else {
                specs
            };
            let mut errors = Vec::new();
            for spec in &specs {
                let Some(name) = spec["name"].as_str() else {
                    continue;
                };
                let field = format!("values.{name}");
                let given = obj.get(name);
                let text = given.and_then(|v| v.as_str());
                if given.is_some_and(|v| !v.is_null())
                    && text.is_none()
                    && !given.is_some_and(|v| v.is_number() || v.is_boolean())
                {
                    errors.push(crate::error::ValidationError::new(
                        field,
                        "INVALID_FORMAT",
                        "must be text",
                    ));
                    continue;
                }
                let blank =
                    given.is_none_or(|v| v.is_null()) || text.is_some_and(|t| t.trim().is_empty());
                if blank && spec["required"].as_bool() == Some(true) {
                    errors.push(crate::error::ValidationError::new(
                        field,
                        "REQUIRED_FIELD",
                        "is required",
                    ));
                    continue;
                }
                if let (Some(t), Some(max)) = (text, spec["maxLength"].as_u64())
                    && t.chars().count() as u64 > max
                {
                    errors.push(crate::error::ValidationError::new(
                        field,
                        "MAX_LENGTH_EXCEEDED",
                        format!("must be at most {max} characters"),
                    ));
                }
            }
            if !errors.is_empty() {
                return Err(AppError::Invalid(errors));
            }
        }
        _ => {}
    }
    Ok(values)
}

/// Marks waiting tasks whose time ran out as expired, and ends with `TIMEOUT` the runs left
/// waiting for nothing. Returns how many tasks expired.
pub async fn expire_due(store: &Store, at: DateTime<Utc>) -> AppResult<u64> {
    let due = task::Entity::find()
        .filter(task::Column::Status.eq("pending"))
        .filter(task::Column::ExpiresAt.lt(at))
        .limit(500)
        .all(&store.db)
        .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let txn = store.begin_write().await?;
    let res = task::Entity::update_many()
        .col_expr(task::Column::Status, Expr::value("expired"))
        .col_expr(task::Column::UpdatedAt, Expr::value(now()))
        .filter(task::Column::Id.is_in(due.iter().map(|t| t.id)))
        .filter(task::Column::Status.eq("pending"))
        .exec(&txn)
        .await?;
    let mut runs: Vec<Uuid> = due.iter().map(|t| t.execution_id).collect();
    runs.sort();
    runs.dedup();
    for id in runs {
        let waiting = task::Entity::find()
            .filter(task::Column::ExecutionId.eq(id))
            .filter(task::Column::Status.eq("pending"))
            .count(&txn)
            .await?;
        if waiting == 0 {
            execution::Entity::update_many()
                .col_expr(execution::Column::Status, Expr::value("TIMEOUT"))
                .col_expr(
                    execution::Column::Message,
                    Expr::value("Nobody answered in time; restart the run"),
                )
                .col_expr(execution::Column::UpdatedAt, Expr::value(now()))
                .col_expr(execution::Column::ProcessedCompletionAt, Expr::value(now()))
                .filter(execution::Column::Id.eq(id))
                .filter(execution::Column::Status.eq("PAUSED"))
                .exec(&txn)
                .await?;
        }
    }
    txn.commit().await?;
    Ok(res.rows_affected)
}

pub use entity::workflow_task_log::Model as TaskLog;

/// Task logs of each execution, in order.
pub async fn logs_of(store: &Store, ids: &[Uuid]) -> AppResult<HashMap<Uuid, Vec<TaskLog>>> {
    use entity::workflow_task_log as log;
    let rows = log::Entity::find()
        .filter(log::Column::ExecutionId.is_in(ids.iter().copied()))
        .order_by_asc(log::Column::CreatedAt)
        .order_by_asc(log::Column::Id)
        .all(&store.db)
        .await?;
    let mut out: HashMap<Uuid, Vec<TaskLog>> = HashMap::new();
    for l in rows {
        out.entry(l.execution_id).or_default().push(l);
    }
    Ok(out)
}
