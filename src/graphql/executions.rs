//! Workflow executions, their pending tasks, and foreign object references.
use async_graphql::{Context, Enum, ID, InputObject, Json, Object, Result};
use sea_orm::Value;

use super::inputs::{
    IdComparisonExp, IntComparisonExp, OrganizationSearchInput, StringComparisonExp, id_cmps,
    int_cmps, text_cmps, time_cmps,
};
use super::organizations::Organization;
use super::packs::{PackConfig, PackConfigWhereInput};
use super::{actor, loaders, rfc3339, store};
use crate::domain::executions::{self, ExecField, ExecFilter, Execution, PendingTask as TaskRow};
use crate::domain::filter::Cmp;
use crate::domain::parse_id;
use crate::domain::references::{self, Reference, ReferenceFilter, ReferenceInput};
use crate::error::{AppError, AppResult};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[allow(clippy::upper_case_acronyms)]
pub enum WorkflowExecutionStatusEnum {
    #[graphql(name = "ABANDONED")]
    Abandoned,
    #[graphql(name = "CANCELED")]
    Canceled,
    #[graphql(name = "CANCELING")]
    Canceling,
    #[graphql(name = "DELAYED")]
    Delayed,
    #[graphql(name = "FAILED")]
    Failed,
    #[graphql(name = "PAUSED")]
    Paused,
    #[graphql(name = "PAUSING")]
    Pausing,
    #[graphql(name = "PENDING")]
    Pending,
    #[graphql(name = "REQUESTED")]
    Requested,
    #[graphql(name = "RESUMING")]
    Resuming,
    #[graphql(name = "RETRYING")]
    Retrying,
    #[graphql(name = "RUNNING")]
    Running,
    #[graphql(name = "SCHEDULED")]
    Scheduled,
    #[graphql(name = "SUCCEEDED")]
    Succeeded,
    #[graphql(name = "TIMEOUT")]
    Timeout,
}

fn status_enum(s: &str) -> Option<WorkflowExecutionStatusEnum> {
    use WorkflowExecutionStatusEnum::*;
    Some(match s {
        "ABANDONED" => Abandoned,
        "CANCELED" => Canceled,
        "CANCELING" => Canceling,
        "DELAYED" => Delayed,
        "FAILED" => Failed,
        "PAUSED" => Paused,
        "PAUSING" => Pausing,
        "PENDING" => Pending,
        "REQUESTED" => Requested,
        "RESUMING" => Resuming,
        "RETRYING" => Retrying,
        "RUNNING" => Running,
        "SCHEDULED" => Scheduled,
        "SUCCEEDED" => Succeeded,
        "TIMEOUT" => Timeout,
        _ => return None,
    })
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum PendingTaskStatus {
    #[graphql(name = "canceled")]
    Canceled,
    #[graphql(name = "delayed")]
    Delayed,
    #[graphql(name = "expired")]
    Expired,
    #[graphql(name = "pending")]
    Pending,
    #[graphql(name = "success")]
    Success,
}

impl PendingTaskStatus {
    fn of(s: &str) -> Self {
        match s {
            "canceled" => PendingTaskStatus::Canceled,
            "delayed" => PendingTaskStatus::Delayed,
            "expired" => PendingTaskStatus::Expired,
            "success" => PendingTaskStatus::Success,
            _ => PendingTaskStatus::Pending,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            PendingTaskStatus::Canceled => "canceled",
            PendingTaskStatus::Delayed => "delayed",
            PendingTaskStatus::Expired => "expired",
            PendingTaskStatus::Pending => "pending",
            PendingTaskStatus::Success => "success",
        }
    }
}

fn id_of(u: uuid::Uuid) -> ID {
    ID(u.to_string())
}

pub struct WorkflowExecution(pub Execution);

#[Object]
impl WorkflowExecution {
    async fn id(&self) -> ID {
        id_of(self.0.id)
    }
    /// The built-in workflow it runs.
    async fn workflow_id(&self) -> &str {
        &self.0.workflow_id
    }
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn status_enum(&self) -> Option<WorkflowExecutionStatusEnum> {
        status_enum(&self.0.status)
    }
    /// Why it failed or was canceled.
    async fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }
    async fn org_id(&self) -> ID {
        id_of(self.0.org_id)
    }
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        let org = loaders(ctx).org.load_one(self.0.org_id).await?;
        org.map(Organization)
            .ok_or_else(|| async_graphql::Error::new("organization not found"))
    }
    async fn parent_execution_id(&self) -> Option<ID> {
        self.0.parent_execution_id.map(id_of)
    }
    async fn parent_execution(&self, ctx: &Context<'_>) -> Result<Option<WorkflowExecution>> {
        let Some(p) = self.0.parent_execution_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)
            .execution
            .load_one(p)
            .await?
            .map(WorkflowExecution))
    }
    async fn originating_execution_id(&self) -> Option<ID> {
        self.0.originating_execution_id.map(id_of)
    }
    async fn parent_task_execution_id(&self) -> Option<ID> {
        self.0.parent_task_execution_id.map(id_of)
    }
    async fn child_executions(&self, ctx: &Context<'_>) -> Result<Vec<WorkflowExecution>> {
        Ok(loaders(ctx)
            .exec_children
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(WorkflowExecution)
            .collect())
    }
    /// The same as `childExecutions`.
    async fn sub_executions(&self, ctx: &Context<'_>) -> Result<Vec<WorkflowExecution>> {
        self.child_executions(ctx).await
    }
    async fn completion_handled_execution(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<WorkflowExecution>> {
        let Some(p) = self.0.completion_handled_execution_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)
            .execution
            .load_one(p)
            .await?
            .map(WorkflowExecution))
    }
    async fn completion_handler_executions(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<WorkflowExecution>> {
        Ok(loaders(ctx)
            .exec_handlers
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(WorkflowExecution)
            .collect())
    }
    async fn num_successful_tasks(&self) -> i32 {
        self.0.num_successful_tasks
    }
    /// Tasks waiting for a person.
    async fn num_awaiting_response_tasks(&self, ctx: &Context<'_>) -> Result<i32> {
        let tasks = loaders(ctx)
            .exec_tasks
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(tasks.iter().filter(|t| t.status == "pending").count() as i32)
    }
    async fn pending_tasks(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] where_: Option<PendingTaskWhereInput>,
    ) -> Result<Option<Vec<Option<PendingTask>>>> {
        let tasks = loaders(ctx)
            .exec_tasks
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let id = where_
            .as_ref()
            .and_then(|w| w.id.as_ref())
            .map(|i| parse_id("where.id", i))
            .transpose()?;
        let status = where_.as_ref().and_then(|w| w.status);
        Ok(Some(
            tasks
                .into_iter()
                .filter(|t| {
                    id.is_none_or(|i| i == t.id) && status.is_none_or(|s| s.as_str() == t.status)
                })
                .map(|t| Some(PendingTask(t)))
                .collect(),
        ))
    }
    async fn processed_completion_at(&self) -> Option<String> {
        self.0.processed_completion_at.as_ref().map(rfc3339)
    }
    async fn created_at(&self) -> String {
        rfc3339(&self.0.created_at)
    }
    async fn updated_at(&self) -> String {
        rfc3339(&self.0.updated_at)
    }
    /// The built-in workflow's name (ours).
    async fn workflow_name(&self) -> Option<&'static str> {
        crate::workflows::find(&self.0.workflow_id).map(|w| w.name)
    }
    /// What the run was started with (ours), e.g. `{ticketId, packConfigId}`.
    async fn input(&self) -> Option<Json<serde_json::Value>> {
        self.0.input.clone().map(Json)
    }
    /// What the run shows (ours): the Toolbox's `overview`, `configurations`, `notes`, `notice`.
    async fn output(&self) -> Option<Json<serde_json::Value>> {
        self.0.output.clone().map(Json)
    }
    /// One line per step (ours): what was called, how long it took, how it ended.
    async fn task_logs(&self, ctx: &Context<'_>) -> Result<Vec<WorkflowTaskLog>> {
        Ok(executions::logs_of(store(ctx), &[self.0.id])
            .await?
            .remove(&self.0.id)
            .unwrap_or_default()
            .into_iter()
            .map(WorkflowTaskLog)
            .collect())
    }
}

/// A step of a run (ours). Secrets never appear in `action` or `message`.
pub struct WorkflowTaskLog(pub executions::TaskLog);

#[Object]
impl WorkflowTaskLog {
    async fn id(&self) -> ID {
        id_of(self.0.id)
    }
    async fn step(&self) -> &str {
        &self.0.step
    }
    /// What was called, e.g. `GET service/tickets/1001`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// `succeeded` or `failed`.
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn duration_ms(&self) -> i64 {
        self.0.duration_ms
    }
    async fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }
    async fn created_at(&self) -> String {
        rfc3339(&self.0.created_at)
    }
}

pub struct PendingTask(pub TaskRow);

#[Object]
impl PendingTask {
    async fn id(&self) -> ID {
        id_of(self.0.id)
    }
    /// `text`, `button` or `prompt`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn label(&self) -> &str {
        &self.0.label
    }
    /// For prompts: the fields to fill in.
    async fn fields(&self) -> Option<Json<serde_json::Value>> {
        self.0.fields.clone().map(Json)
    }
    async fn status(&self) -> PendingTaskStatus {
        PendingTaskStatus::of(&self.0.status)
    }
    async fn response(&self) -> Option<Json<serde_json::Value>> {
        self.0.response.clone().map(Json)
    }
    async fn expires_at(&self) -> String {
        rfc3339(&self.0.expires_at)
    }
    async fn workflow_execution(&self, ctx: &Context<'_>) -> Result<WorkflowExecution> {
        let e = loaders(ctx).execution.load_one(self.0.execution_id).await?;
        e.map(WorkflowExecution)
            .ok_or_else(|| async_graphql::Error::new("execution not found"))
    }
}

pub struct ForeignObjectReference(pub Reference);

#[Object]
impl ForeignObjectReference {
    async fn id(&self) -> ID {
        id_of(self.0.id)
    }
    /// The kind of object, e.g. `cw_ticket`.
    async fn identifier(&self) -> Option<ID> {
        Some(ID(self.0.identifier.clone()))
    }
    /// The object's id in the other system.
    async fn reference_id(&self) -> ID {
        ID(self.0.reference_id.clone())
    }
    async fn org_id(&self) -> ID {
        id_of(self.0.org_id)
    }
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        let org = loaders(ctx).org.load_one(self.0.org_id).await?;
        org.map(Organization)
            .ok_or_else(|| async_graphql::Error::new("organization not found"))
    }
    async fn pack_config_id(&self) -> Option<ID> {
        self.0.pack_config_id.map(id_of)
    }
    async fn pack_config(&self, ctx: &Context<'_>) -> Result<Option<PackConfig>> {
        let Some(p) = self.0.pack_config_id else {
            return Ok(None);
        };
        Ok(loaders(ctx).pack_config.load_one(p).await?.map(PackConfig))
    }
    async fn workflow_execution_id(&self) -> Option<ID> {
        self.0.workflow_execution_id.map(id_of)
    }
    async fn workflow_execution(&self, ctx: &Context<'_>) -> Result<Option<WorkflowExecution>> {
        let Some(e) = self.0.workflow_execution_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)
            .execution
            .load_one(e)
            .await?
            .map(WorkflowExecution))
    }
    async fn action_id(&self) -> Option<ID> {
        self.0.action_id.map(id_of)
    }
}

#[derive(InputObject, Default, Clone)]
pub struct WorkflowExecutionWhereInput {
    pub id: Option<ID>,
    pub num_awaiting_response_tasks: Option<i32>,
    pub org_id: Option<ID>,
    pub originating_execution_id: Option<ID>,
    pub status: Option<String>,
    pub workflow_id: Option<ID>,
}

#[derive(InputObject, Default)]
pub struct WorkflowExecutionSearchInput {
    pub created_at: Option<StringComparisonExp>,
    pub id: Option<IdComparisonExp>,
    pub num_awaiting_response_tasks: Option<IntComparisonExp>,
    pub org_id: Option<IdComparisonExp>,
    pub organization: Option<OrganizationSearchInput>,
    pub originating_execution_id: Option<IdComparisonExp>,
    pub processed_completion_at: Option<StringComparisonExp>,
    pub status: Option<StringComparisonExp>,
}

#[derive(InputObject, Default)]
pub struct PendingTaskWhereInput {
    pub id: Option<ID>,
    pub status: Option<PendingTaskStatus>,
    pub workflow_execution: Option<WorkflowExecutionWhereInput>,
    pub workflow_execution_id: Option<ID>,
}

#[derive(InputObject, Default)]
pub struct ForeignObjectReferenceWhereInput {
    pub action_id: Option<ID>,
    pub id: Option<ID>,
    pub identifier: Option<ID>,
    pub org_id: Option<ID>,
    pub pack_config: Option<PackConfigWhereInput>,
    pub pack_config_id: Option<ID>,
    pub reference_id: Option<ID>,
    pub workflow_execution: Option<WorkflowExecutionWhereInput>,
}

#[derive(InputObject)]
pub struct CreateForeignObjectReferenceInput {
    pub action_id: Option<ID>,
    pub id: Option<ID>,
    pub identifier: Option<ID>,
    pub org_id: ID,
    pub pack_config_id: Option<ID>,
    pub reference_id: ID,
    pub workflow_execution_id: Option<ID>,
}

impl From<CreateForeignObjectReferenceInput> for ReferenceInput {
    fn from(i: CreateForeignObjectReferenceInput) -> Self {
        ReferenceInput {
            id: i.id.map(|x| x.0),
            org_id: i.org_id.0,
            identifier: i.identifier.map(|x| x.0),
            reference_id: i.reference_id.0,
            pack_config_id: i.pack_config_id.map(|x| x.0),
            workflow_execution_id: i.workflow_execution_id.map(|x| x.0),
            action_id: i.action_id.map(|x| x.0),
        }
    }
}

impl WorkflowExecutionWhereInput {
    fn to_filter(&self, at: &str) -> AppResult<ExecFilter> {
        let mut f = ExecFilter {
            id: self
                .id
                .as_ref()
                .map(|i| parse_id(&format!("{at}.id"), i))
                .transpose()?,
            ..Default::default()
        };
        if let Some(o) = &self.org_id {
            f.preds.push((
                ExecField::OrgId,
                Cmp::Eq(Value::from(parse_id(&format!("{at}.orgId"), o)?)),
            ));
        }
        if let Some(o) = &self.originating_execution_id {
            f.preds.push((
                ExecField::OriginatingExecutionId,
                Cmp::Eq(Value::from(parse_id(
                    &format!("{at}.originatingExecutionId"),
                    o,
                )?)),
            ));
        }
        if let Some(s) = &self.status {
            f.preds
                .push((ExecField::Status, Cmp::Eq(Value::from(s.to_uppercase()))));
        }
        if let Some(w) = &self.workflow_id {
            f.preds
                .push((ExecField::WorkflowId, Cmp::Eq(Value::from(w.0.clone()))));
        }
        if let Some(n) = self.num_awaiting_response_tasks {
            f.preds
                .push((ExecField::AwaitingTasks, Cmp::Eq(Value::from(n as i64))));
        }
        Ok(f)
    }
}

fn exec_filter(
    where_: Option<&WorkflowExecutionWhereInput>,
    search: Option<&WorkflowExecutionSearchInput>,
) -> AppResult<ExecFilter> {
    let mut f = match where_ {
        Some(w) => w.to_filter("where")?,
        None => ExecFilter::default(),
    };
    if let Some(s) = search {
        let mut push =
            |field: ExecField, cmps: Vec<Cmp>| f.preds.extend(cmps.into_iter().map(|c| (field, c)));
        if let Some(e) = &s.created_at {
            push(ExecField::CreatedAt, time_cmps("search.createdAt", e)?);
        }
        if let Some(e) = &s.processed_completion_at {
            push(
                ExecField::ProcessedCompletionAt,
                time_cmps("search.processedCompletionAt", e)?,
            );
        }
        if let Some(e) = &s.id {
            push(ExecField::Id, id_cmps("search.id", e)?);
        }
        if let Some(e) = &s.org_id {
            push(ExecField::OrgId, id_cmps("search.orgId", e)?);
        }
        if let Some(e) = &s.originating_execution_id {
            push(
                ExecField::OriginatingExecutionId,
                id_cmps("search.originatingExecutionId", e)?,
            );
        }
        if let Some(e) = &s.status {
            push(ExecField::Status, text_cmps(e));
        }
        if let Some(e) = &s.num_awaiting_response_tasks {
            push(ExecField::AwaitingTasks, int_cmps(e));
        }
        if let Some(o) = &s.organization {
            f.organization = Some(Box::new(o.to_filter("search.organization")?));
        }
    }
    Ok(f)
}

fn default_order() -> Option<Vec<Vec<String>>> {
    Some(vec![vec!["createdAt".to_owned()]])
}

#[derive(Default)]
pub struct ExecutionQuery;

#[Object]
impl ExecutionQuery {
    async fn workflow_execution(
        &self,
        ctx: &Context<'_>,
        search: Option<WorkflowExecutionSearchInput>,
        #[graphql(name = "where")] where_: Option<WorkflowExecutionWhereInput>,
    ) -> Result<Option<WorkflowExecution>> {
        let filter = exec_filter(where_.as_ref(), search.as_ref())?;
        let rows = executions::list(
            store(ctx),
            actor(ctx)?,
            &filter,
            &[vec!["createdAt".into(), "DESC".into()]],
            (1, 0),
        )
        .await?;
        Ok(rows.into_iter().next().map(WorkflowExecution))
    }

    /// Executions the caller may see; with `where.orgId` and `includeSubOrgs`, those of the
    /// orgs below it too. `createdSince` is an RFC 3339 time.
    #[allow(clippy::too_many_arguments)]
    async fn workflow_executions(
        &self,
        ctx: &Context<'_>,
        created_since: Option<String>,
        include_sub_orgs: Option<bool>,
        limit: Option<i32>,
        offset: Option<i32>,
        #[graphql(default_with = "default_order()")] order: Option<Vec<Vec<String>>>,
        search: Option<WorkflowExecutionSearchInput>,
        #[graphql(name = "where")] where_: Option<WorkflowExecutionWhereInput>,
    ) -> Result<Option<Vec<Option<WorkflowExecution>>>> {
        let store = store(ctx);
        let mut filter = exec_filter(where_.as_ref(), search.as_ref())?;
        if let Some(org) = where_.as_ref().and_then(|w| w.org_id.as_ref()) {
            filter.preds.retain(|(f, _)| *f != ExecField::OrgId);
            filter.org = Some((
                parse_id("where.orgId", org)?,
                include_sub_orgs.unwrap_or(false),
            ));
        }
        if let Some(since) = created_since {
            let t = chrono::DateTime::parse_from_rfc3339(since.trim()).map_err(|_| {
                AppError::invalid(
                    "createdSince",
                    "INVALID_FORMAT",
                    "an RFC 3339 time is expected",
                )
            })?;
            filter.created_since = Some(t.with_timezone(&chrono::Utc));
        }
        let page = store.page(limit, offset)?;
        let order = order.unwrap_or_else(|| vec![vec!["createdAt".to_owned()]]);
        let rows = executions::list(store, actor(ctx)?, &filter, &order, page).await?;
        Ok(Some(
            rows.into_iter()
                .map(|e| Some(WorkflowExecution(e)))
                .collect(),
        ))
    }

    /// The newest execution of a workflow for an org.
    async fn latest_workflow_execution(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        status: Option<String>,
        workflow_id: ID,
    ) -> Result<Option<WorkflowExecution>> {
        let org = parse_id("orgId", &org_id)?;
        Ok(executions::latest(
            store(ctx),
            actor(ctx)?,
            org,
            &workflow_id,
            status.as_deref(),
        )
        .await?
        .map(WorkflowExecution))
    }

    async fn foreign_object_reference(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] where_: Option<ForeignObjectReferenceWhereInput>,
    ) -> Result<Option<ForeignObjectReference>> {
        let f = reference_filter(where_.as_ref())?;
        Ok(references::list(store(ctx), actor(ctx)?, &f, 1)
            .await?
            .into_iter()
            .next()
            .map(ForeignObjectReference))
    }

    /// Newest first.
    async fn foreign_object_references(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] where_: Option<ForeignObjectReferenceWhereInput>,
    ) -> Result<Vec<ForeignObjectReference>> {
        let store = store(ctx);
        let f = reference_filter(where_.as_ref())?;
        Ok(
            references::list(store, actor(ctx)?, &f, store.max_page_size)
                .await?
                .into_iter()
                .map(ForeignObjectReference)
                .collect(),
        )
    }
}

fn reference_filter(w: Option<&ForeignObjectReferenceWhereInput>) -> AppResult<ReferenceFilter> {
    let Some(w) = w else {
        return Ok(ReferenceFilter::default());
    };
    Ok(ReferenceFilter {
        id: w.id.as_ref().map(|i| parse_id("where.id", i)).transpose()?,
        org_id: w
            .org_id
            .as_ref()
            .map(|i| parse_id("where.orgId", i))
            .transpose()?,
        identifier: w.identifier.as_ref().map(|i| i.0.clone()),
        reference_id: w.reference_id.as_ref().map(|i| i.0.clone()),
        pack_config_id: w
            .pack_config_id
            .as_ref()
            .map(|i| parse_id("where.packConfigId", i))
            .transpose()?,
        action_id: w
            .action_id
            .as_ref()
            .map(|i| parse_id("where.actionId", i))
            .transpose()?,
        pack_config: w
            .pack_config
            .as_ref()
            .map(|p| p.to_conditions("where.packConfig"))
            .transpose()?,
        workflow_execution: w
            .workflow_execution
            .as_ref()
            .map(|e| e.to_filter("where.workflowExecution"))
            .transpose()?,
    })
}

#[derive(Default)]
pub struct ExecutionMutation;

#[Object]
impl ExecutionMutation {
    /// Cancels an execution and its waiting tasks.
    async fn kill_workflow_execution(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<Option<Json<serde_json::Value>>> {
        let id = parse_id("id", &id)?;
        let e = executions::kill(store(ctx), actor(ctx)?, id).await?;
        Ok(Some(Json(
            serde_json::json!({ "id": e.id, "status": e.status }),
        )))
    }

    async fn delete_workflow_execution(&self, ctx: &Context<'_>, id: ID) -> Result<Option<bool>> {
        let id = parse_id("id", &id)?;
        executions::delete(store(ctx), actor(ctx)?, id).await?;
        Ok(Some(true))
    }

    /// Answers a waiting task (a button click, a filled-in prompt).
    async fn submit_pending_task_response(
        &self,
        ctx: &Context<'_>,
        org_id: Option<ID>,
        pending_task_id: ID,
        values: Json<serde_json::Value>,
    ) -> Result<Option<Json<serde_json::Value>>> {
        let org = org_id.map(|o| parse_id("orgId", &o)).transpose()?;
        let task = parse_id("pendingTaskId", &pending_task_id)?;
        Ok(Some(Json(
            executions::answer(store(ctx), actor(ctx)?, org, task, values.0).await?,
        )))
    }

    async fn create_foreign_object_reference(
        &self,
        ctx: &Context<'_>,
        foreign_object_reference: Option<CreateForeignObjectReferenceInput>,
    ) -> Result<Option<ForeignObjectReference>> {
        let input = foreign_object_reference.ok_or_else(|| {
            AppError::invalid("foreignObjectReference", "REQUIRED_FIELD", "is required")
        })?;
        Ok(Some(ForeignObjectReference(
            references::create(store(ctx), actor(ctx)?, &input.into()).await?,
        )))
    }

    /// Points the reference of this org, kind, object and config at the given execution,
    /// creating it when missing.
    async fn create_or_update_foreign_object_reference(
        &self,
        ctx: &Context<'_>,
        foreign_object_reference: Option<CreateForeignObjectReferenceInput>,
    ) -> Result<Option<ForeignObjectReference>> {
        let input = foreign_object_reference.ok_or_else(|| {
            AppError::invalid("foreignObjectReference", "REQUIRED_FIELD", "is required")
        })?;
        Ok(Some(ForeignObjectReference(
            references::upsert(store(ctx), actor(ctx)?, &input.into()).await?,
        )))
    }
}
