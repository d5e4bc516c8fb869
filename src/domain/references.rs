//! Foreign object references: links between an object of another system (a ConnectWise
//! ticket: `identifier: "cw_ticket"`, `referenceId: "1001"`) and an org, a pack config and
//! the workflow execution that belongs to it.
use std::collections::HashMap;

use entity::foreign_object_reference as reference;
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::executions::{self, ExecFilter};
use super::pack_configs::{self, ConfigConditions};
use super::{Store, now, organizations, parse_id};
use crate::auth::{Access, Actor};
use crate::error::{AppError, AppResult, ValidationError};

pub use reference::Model as Reference;

#[derive(Clone, Debug, Default)]
pub struct ReferenceInput {
    pub id: Option<String>,
    pub org_id: String,
    pub identifier: Option<String>,
    pub reference_id: String,
    pub pack_config_id: Option<String>,
    pub workflow_execution_id: Option<String>,
    pub action_id: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct ReferenceFilter {
    pub id: Option<Uuid>,
    pub org_id: Option<Uuid>,
    pub identifier: Option<String>,
    pub reference_id: Option<String>,
    pub pack_config_id: Option<Uuid>,
    pub action_id: Option<Uuid>,
    pub pack_config: Option<ConfigConditions>,
    pub workflow_execution: Option<ExecFilter>,
}

fn scope(actor: &Actor) -> Condition {
    if actor.is_staff {
        return Condition::all();
    }
    Condition::all().add(
        reference::Column::OrgId.in_subquery(
            Query::select()
                .column(entity::organization::Column::Id)
                .from(entity::organization::Entity)
                .and_where(entity::organization::Column::Path.starts_with(&actor.org_path))
                .to_owned(),
        ),
    )
}

pub async fn list(
    store: &Store,
    actor: &Actor,
    f: &ReferenceFilter,
    limit: u64,
) -> AppResult<Vec<Reference>> {
    if let Some(id) = f.id {
        let r = reference::Entity::find_by_id(id)
            .one(&store.db)
            .await?
            .ok_or(AppError::Forbidden)?;
        organizations::visible(store, actor, r.org_id).await?;
    }
    if let Some(o) = f.org_id {
        organizations::visible(store, actor, o).await?;
    }
    let mut cond = Condition::all();
    if let Some(v) = f.id {
        cond = cond.add(reference::Column::Id.eq(v));
    }
    if let Some(v) = f.org_id {
        cond = cond.add(reference::Column::OrgId.eq(v));
    }
    if let Some(v) = &f.identifier {
        cond = cond.add(reference::Column::Identifier.eq(v));
    }
    if let Some(v) = &f.reference_id {
        cond = cond.add(reference::Column::ReferenceId.eq(v));
    }
    if let Some(v) = f.pack_config_id {
        cond = cond.add(reference::Column::PackConfigId.eq(v));
    }
    if let Some(v) = f.action_id {
        cond = cond.add(reference::Column::ActionId.eq(v));
    }
    if let Some(pc) = &f.pack_config {
        cond = cond.add(reference::Column::PackConfigId.in_subquery(pc.ids()));
    }
    if let Some(ef) = &f.workflow_execution {
        cond = cond.add(
            reference::Column::WorkflowExecutionId.in_subquery(
                Query::select()
                    .column(entity::workflow_execution::Column::Id)
                    .from(entity::workflow_execution::Entity)
                    .cond_where(ef.condition())
                    .to_owned(),
            ),
        );
    }
    Ok(reference::Entity::find()
        .filter(scope(actor))
        .filter(cond)
        .order_by_desc(reference::Column::CreatedAt)
        .order_by_desc(reference::Column::Id)
        .limit(limit)
        .all(&store.db)
        .await?)
}

struct Checked {
    org_id: Uuid,
    identifier: String,
    reference_id: String,
    pack_config_id: Option<Uuid>,
    execution_id: Option<Uuid>,
    action_id: Option<Uuid>,
}

async fn check(store: &Store, actor: &Actor, input: &ReferenceInput) -> AppResult<Checked> {
    let org = organizations::visible(store, actor, parse_id("orgId", &input.org_id)?).await?;
    actor.check(&org, Access::Write)?;
    let mut errors = Vec::new();
    let identifier = input
        .identifier
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .unwrap_or("")
        .to_owned();
    if identifier.is_empty() {
        errors.push(ValidationError::new(
            "identifier",
            "REQUIRED_FIELD",
            "name the kind of object, e.g. cw_ticket",
        ));
    } else if identifier.len() > 64
        || !identifier
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        errors.push(ValidationError::new(
            "identifier",
            "INVALID_FORMAT",
            "letters, digits, _ and - (at most 64)",
        ));
    }
    let reference_id = input.reference_id.trim().to_owned();
    if reference_id.is_empty() {
        errors.push(ValidationError::new(
            "referenceId",
            "REQUIRED_FIELD",
            "is required",
        ));
    } else if reference_id.chars().count() > 255 {
        errors.push(ValidationError::new(
            "referenceId",
            "MAX_LENGTH_EXCEEDED",
            "at most 255 characters",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let pack_config_id = input
        .pack_config_id
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|p| parse_id("packConfigId", p))
        .transpose()?;
    if let Some(pc) = pack_config_id
        && !pack_configs::usable_by(&store.db, &org, pc).await?
    {
        return Err(AppError::invalid(
            "packConfigId",
            "NOT_FOUND",
            "no such pack config for this organization or above it",
        ));
    }
    let execution_id = input
        .workflow_execution_id
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|e| parse_id("workflowExecutionId", e))
        .transpose()?;
    if let Some(e) = execution_id {
        let ex = executions::visible(store, actor, e).await.map_err(|_| {
            AppError::invalid("workflowExecutionId", "NOT_FOUND", "no such execution")
        })?;
        if ex.org_id != org.id {
            return Err(AppError::invalid(
                "workflowExecutionId",
                "NOT_FOUND",
                "the execution belongs to another organization",
            ));
        }
    }
    let action_id = input
        .action_id
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|a| parse_id("actionId", a))
        .transpose()?;
    Ok(Checked {
        org_id: org.id,
        identifier,
        reference_id,
        pack_config_id,
        execution_id,
        action_id,
    })
}

/// `createForeignObjectReference`.
pub async fn create(store: &Store, actor: &Actor, input: &ReferenceInput) -> AppResult<Reference> {
    let c = check(store, actor, input).await?;
    let id = input
        .id
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|i| parse_id("id", i))
        .transpose()?
        .unwrap_or_else(Uuid::now_v7);
    let at = now();
    reference::ActiveModel {
        id: Set(id),
        org_id: Set(c.org_id),
        identifier: Set(c.identifier),
        reference_id: Set(c.reference_id),
        pack_config_id: Set(c.pack_config_id),
        workflow_execution_id: Set(c.execution_id),
        action_id: Set(c.action_id),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&store.db)
    .await
    .map_err(|e| match super::unique_violation(&e) {
        Some(_) => AppError::invalid(
            "id",
            "DUPLICATE_IN_DATABASE",
            "a reference with this id exists",
        ),
        None => e.into(),
    })
}

/// `createOrUpdateForeignObjectReference`: the reference of this org, kind, object and
/// config is pointed at the given execution (created when missing).
pub async fn upsert(store: &Store, actor: &Actor, input: &ReferenceInput) -> AppResult<Reference> {
    let c = check(store, actor, input).await?;
    let mut q = reference::Entity::find()
        .filter(reference::Column::OrgId.eq(c.org_id))
        .filter(reference::Column::Identifier.eq(&c.identifier))
        .filter(reference::Column::ReferenceId.eq(&c.reference_id));
    q = match c.pack_config_id {
        Some(p) => q.filter(reference::Column::PackConfigId.eq(p)),
        None => q.filter(reference::Column::PackConfigId.is_null()),
    };
    match q.one(&store.db).await? {
        None => create(store, actor, input).await,
        Some(existing) => {
            let mut model: reference::ActiveModel = existing.into();
            model.workflow_execution_id = Set(c.execution_id);
            model.action_id = Set(c.action_id);
            model.updated_at = Set(now());
            Ok(model.update(&store.db).await?)
        }
    }
}

/// References of each pack config.
pub async fn of_configs(store: &Store, ids: &[Uuid]) -> AppResult<HashMap<Uuid, Vec<Reference>>> {
    let rows = reference::Entity::find()
        .filter(reference::Column::PackConfigId.is_in(ids.iter().copied()))
        .order_by_desc(reference::Column::CreatedAt)
        .all(&store.db)
        .await?;
    let mut out: HashMap<Uuid, Vec<Reference>> = HashMap::new();
    for r in rows {
        if let Some(p) = r.pack_config_id {
            out.entry(p).or_default().push(r);
        }
    }
    Ok(out)
}
