//! Users: who they are, which org they belong to, and the first admin of a fresh instance.
use std::collections::HashMap;

use entity::{organization, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::names::OrgName;
use super::organizations::{self, Org};
use super::{Store, now, reserved_names, unique_violation};
use crate::auth::{Actor, Role};
use crate::error::{AppError, AppResult};

pub use user::Model as User;

/// The case-insensitive key of an e-mail address.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    org_id: Uuid,
    email: &str,
    role: Role,
    is_staff: bool,
) -> AppResult<User> {
    let email = email.trim();
    if !email.contains('@') || email.len() > 320 {
        return Err(AppError::invalid(
            "username",
            "INVALID_FORMAT",
            format!("`{email}` is not an e-mail address"),
        ));
    }
    let at = now();
    user::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org_id),
        username: Set(email.to_owned()),
        username_key: Set(email_key(email)),
        sub: Set(None),
        role: Set(role.as_str().to_owned()),
        is_staff: Set(is_staff),
        is_api_user: Set(false),
        is_test_user: Set(false),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(conn)
    .await
    .map_err(|e| match unique_violation(&e) {
        Some(_) => AppError::invalid(
            "username",
            "DUPLICATE_IN_DATABASE",
            format!("a user `{email}` exists"),
        ),
        None => e.into(),
    })
}

pub async fn by_email(store: &Store, email: &str) -> AppResult<Option<User>> {
    Ok(user::Entity::find()
        .filter(user::Column::UsernameKey.eq(email_key(email)))
        .one(&store.db)
        .await?)
}

pub async fn get(store: &Store, actor: &Actor) -> AppResult<User> {
    user::Entity::find_by_id(actor.user_id)
        .one(&store.db)
        .await?
        .ok_or_else(|| AppError::Unauthenticated("Your user no longer exists".into()))
}

pub async fn by_ids(store: &Store, ids: &[Uuid]) -> AppResult<HashMap<Uuid, User>> {
    let rows = user::Entity::find()
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .all(&store.db)
        .await?;
    Ok(rows.into_iter().map(|u| (u.id, u)).collect())
}

/// Users of each org, by username.
pub async fn of_orgs(store: &Store, org_ids: &[Uuid]) -> AppResult<HashMap<Uuid, Vec<User>>> {
    let rows = user::Entity::find()
        .filter(user::Column::OrgId.is_in(org_ids.iter().copied()))
        .order_by_asc(user::Column::UsernameKey)
        .all(&store.db)
        .await?;
    let mut out: HashMap<Uuid, Vec<User>> = HashMap::new();
    for u in rows {
        out.entry(u.org_id).or_default().push(u);
    }
    Ok(out)
}

/// On an empty database: the MSP organization and its first admin, who is also staff
/// (the operator of this instance). `None` when the instance already has organizations.
pub async fn bootstrap(
    store: &Store,
    org_name: &str,
    admin_email: &str,
) -> AppResult<Option<(Org, User)>> {
    let txn = store.begin_write().await?;
    if organization::Entity::find().count(&txn).await? > 0 {
        return Ok(None);
    }
    let name = OrgName::parse_field("bootstrapOrgName", org_name)
        .map_err(|e| AppError::Invalid(vec![e]))?;
    let org = organizations::create_root(&txn, &name, true).await?;
    let admin = insert(&txn, org.id, admin_email, Role::Admin, true).await?;
    reserved_names::seed_defaults(&txn).await?;
    txn.commit().await?;
    Ok(Some((org, admin)))
}
