//! The audit log of access changes: who changed which user, role, API client or MSP,
//! when, and what it looked like before and after. Written in the same transaction as
//! the change it records.
use entity::permission_audit as audit;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use super::{Store, now, organizations};
use crate::auth::{Access, Actor};
use crate::error::AppResult;

pub use audit::Model as AuditEntry;

/// What an entry is about.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    User(Uuid),
    ApiClient(Uuid),
    Organization(Uuid),
}

impl Target {
    fn parts(self) -> (&'static str, Uuid) {
        match self {
            Target::User(id) => ("user", id),
            Target::ApiClient(id) => ("api_client", id),
            Target::Organization(id) => ("organization", id),
        }
    }
}

/// Records one change. `actor` is `None` for the command line (the operator).
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    org_id: Uuid,
    actor: Option<&Actor>,
    action: &str,
    target: Target,
    before: Option<Value>,
    after: Option<Value>,
) -> AppResult<()> {
    let (target_type, target_id) = target.parts();
    audit::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org_id),
        actor_user_id: Set(actor.map(|a| a.user_id)),
        actor_username: Set(Some(
            actor
                .map(|a| a.username.clone())
                .unwrap_or_else(|| "orghub command line".into()),
        )),
        action: Set(action.to_owned()),
        target_type: Set(target_type.to_owned()),
        target_id: Set(target_id),
        before: Set(before),
        after: Set(after),
        created_at: Set(now()),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// The entries of one organization, newest first. Admins of it (or above) only.
pub async fn list(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    page: (u64, u64),
) -> AppResult<Vec<AuditEntry>> {
    let org = organizations::visible(store, actor, org_id).await?;
    actor.check(&org, Access::Admin)?;
    Ok(audit::Entity::find()
        .filter(audit::Column::OrgId.eq(org_id))
        .order_by_desc(audit::Column::CreatedAt)
        .order_by_desc(audit::Column::Id)
        .limit(page.0)
        .offset(page.1)
        .all(&store.db)
        .await?)
}
