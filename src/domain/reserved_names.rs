//! Reserved organization names: only staff may name an organization with one of
//! these inside its name. Staff manage the list; everyone may read it.
use chrono::{DateTime, Utc};
use entity::reserved_organization_name as reserved;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::names::OrgName;
use super::{Store, now, parse_order, unique_violation};
use crate::auth::Actor;
use crate::error::{AppError, AppResult};

pub use reserved::Model as ReservedName;

/// Keys (lower-case) of every reserved name.
pub async fn all_keys(store: &Store) -> AppResult<Vec<String>> {
    Ok(reserved::Entity::find()
        .select_only()
        .column(reserved::Column::NameKey)
        .into_tuple::<String>()
        .all(&store.db)
        .await?)
}

#[derive(Clone, Debug, Default)]
pub struct ReservedNameFilter {
    pub id: Option<Uuid>,
    /// Matched case-insensitively.
    pub name: Option<String>,
    pub created_by_id: Option<Uuid>,
    pub updated_by_id: Option<Uuid>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Copy, Debug)]
pub enum ReservedNameField {
    Name,
    CreatedAt,
    UpdatedAt,
    Id,
}

const ORDER_COLUMNS: &[(&str, ReservedNameField)] = &[
    ("name", ReservedNameField::Name),
    ("createdAt", ReservedNameField::CreatedAt),
    ("updatedAt", ReservedNameField::UpdatedAt),
    ("id", ReservedNameField::Id),
];

fn select(filter: &ReservedNameFilter) -> sea_orm::Select<reserved::Entity> {
    let mut q = reserved::Entity::find();
    if let Some(id) = filter.id {
        q = q.filter(reserved::Column::Id.eq(id));
    }
    if let Some(name) = &filter.name {
        q = q.filter(reserved::Column::NameKey.eq(super::names::name_key(name)));
    }
    if let Some(id) = filter.created_by_id {
        q = q.filter(reserved::Column::CreatedById.eq(id));
    }
    if let Some(id) = filter.updated_by_id {
        q = q.filter(reserved::Column::UpdatedById.eq(id));
    }
    if let Some(at) = filter.created_at {
        q = q.filter(reserved::Column::CreatedAt.eq(at));
    }
    if let Some(at) = filter.updated_at {
        q = q.filter(reserved::Column::UpdatedAt.eq(at));
    }
    q
}

pub async fn find_one(
    store: &Store,
    _actor: &Actor,
    filter: &ReservedNameFilter,
) -> AppResult<Option<ReservedName>> {
    Ok(select(filter)
        .order_by_asc(reserved::Column::NameKey)
        .one(&store.db)
        .await?)
}

pub async fn list(
    store: &Store,
    _actor: &Actor,
    filter: &ReservedNameFilter,
    order: &[Vec<String>],
    page: (u64, u64),
) -> AppResult<Vec<ReservedName>> {
    let mut q = select(filter);
    for (field, dir) in parse_order(order, ORDER_COLUMNS)? {
        let col = match field {
            ReservedNameField::Name => reserved::Column::NameKey,
            ReservedNameField::CreatedAt => reserved::Column::CreatedAt,
            ReservedNameField::UpdatedAt => reserved::Column::UpdatedAt,
            ReservedNameField::Id => reserved::Column::Id,
        };
        q = q.order_by(col, dir);
    }
    Ok(q.order_by(reserved::Column::Id, Order::Asc)
        .limit(page.0)
        .offset(page.1)
        .all(&store.db)
        .await?)
}

fn duplicate(err: sea_orm::DbErr) -> AppError {
    match unique_violation(&err) {
        Some(_) => AppError::invalid(
            "name",
            "DUPLICATE_IN_DATABASE",
            "this name is already reserved",
        ),
        None => err.into(),
    }
}

pub async fn create(store: &Store, actor: &Actor, name: &str) -> AppResult<ReservedName> {
    actor.require_staff()?;
    let name = OrgName::parse(name).map_err(|e| AppError::Invalid(vec![e]))?;
    let at = now();
    reserved::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.as_str().to_owned()),
        name_key: Set(name.key().to_owned()),
        created_by_id: Set(Some(actor.user_id)),
        updated_by_id: Set(Some(actor.user_id)),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&store.db)
    .await
    .map_err(duplicate)
}

pub async fn update(store: &Store, actor: &Actor, id: Uuid, name: &str) -> AppResult<ReservedName> {
    actor.require_staff()?;
    let name = OrgName::parse(name).map_err(|e| AppError::Invalid(vec![e]))?;
    let existing = reserved::Entity::find_by_id(id)
        .one(&store.db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("Reserved name {id}")))?;
    let mut model: reserved::ActiveModel = existing.into();
    model.name = Set(name.as_str().to_owned());
    model.name_key = Set(name.key().to_owned());
    model.updated_by_id = Set(Some(actor.user_id));
    model.updated_at = Set(now());
    model.update(&store.db).await.map_err(duplicate)
}

/// Returns how many names were deleted (1), or `NOT_FOUND`.
pub async fn delete(store: &Store, actor: &Actor, id: Uuid) -> AppResult<u64> {
    actor.require_staff()?;
    let res = reserved::Entity::delete_by_id(id).exec(&store.db).await?;
    if res.rows_affected == 0 {
        return Err(AppError::NotFound(format!("Reserved name {id}")));
    }
    Ok(res.rows_affected)
}

/// Names reserved on a fresh instance: the product's own, so no tenant can pose as it.
pub async fn seed_defaults<C: sea_orm::ConnectionTrait>(conn: &C) -> AppResult<()> {
    let at = now();
    for name in ["orghub"] {
        reserved::ActiveModel {
            id: Set(Uuid::now_v7()),
            name: Set(name.to_owned()),
            name_key: Set(name.to_owned()),
            created_by_id: Set(None),
            updated_by_id: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(conn)
        .await?;
    }
    Ok(())
}
