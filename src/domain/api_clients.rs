//! API clients: machine credentials for scripts and workflows. Each acts as a user of
//! its organization (`is_api_user`) with the role given at creation. The secret is shown
//! once and stored only as a SHA-256 hash (it is 256 random bits, so a fast hash is enough);
//! rotating or deleting revokes the old secret and every token issued with it.
use std::collections::HashMap;

use entity::{api_client, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::audit::{self, Target};
use super::names::parse_short_text;
use super::{Store, now, organizations, users};
use crate::auth::{Access, Actor, Role};
use crate::error::{AppError, AppResult};

pub use api_client::Model as ApiClient;

fn random_hex(bytes: usize) -> AppResult<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)
        .map_err(|e| AppError::internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares in time independent of where the inputs differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn snapshot(c: &ApiClient, role: &str) -> Value {
    json!({ "name": c.name, "description": c.description, "clientId": c.client_id, "role": role, "secretGeneration": c.secret_generation })
}

fn parse_name(raw: &str) -> AppResult<String> {
    parse_short_text("name", raw)
        .map_err(|e| AppError::Invalid(vec![e]))?
        .ok_or_else(|| AppError::invalid("name", "REQUIRED_FIELD", "is required"))
}

fn parse_description(raw: Option<&str>) -> AppResult<Option<String>> {
    match raw.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) if d.chars().count() > 2000 => Err(AppError::invalid(
            "description",
            "MAX_LENGTH_EXCEEDED",
            "at most 2000 characters",
        )),
        other => Ok(other.map(str::to_owned)),
    }
}

/// The client (by id) if the caller is an admin of its org (or above); else `FORBIDDEN`.
async fn reachable(store: &Store, actor: &Actor, id: Uuid) -> AppResult<ApiClient> {
    let client = api_client::Entity::find_by_id(id)
        .one(&store.db)
        .await?
        .ok_or(AppError::Forbidden)?;
    let org = organizations::visible(store, actor, client.org_id).await?;
    actor.check(&org, Access::Admin)?;
    Ok(client)
}

/// A new client of `org_id` and its secret, which is never shown again.
pub async fn create(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    name: &str,
    description: Option<&str>,
    role: Option<&str>,
) -> AppResult<(ApiClient, String)> {
    let org = organizations::visible(store, actor, org_id).await?;
    actor.check(&org, Access::Admin)?;
    if org.deleted_at.is_some() {
        return Err(AppError::NotFound(format!(
            "Organization {org_id} (it is deleted)"
        )));
    }
    let name = parse_name(name)?;
    let description = parse_description(description)?;
    let role = match role.map(str::trim).filter(|r| !r.is_empty()) {
        None => Role::Member,
        Some(r) => Role::parse(r).ok_or_else(|| {
            AppError::invalid("roleId", "INVALID_FORMAT", format!("`{r}` is not a role"))
        })?,
    };
    let client_id = format!("ohc_{}", random_hex(16)?);
    let secret = format!("ohs_{}", random_hex(32)?);
    let txn = store.begin_write().await?;
    let machine = users::insert_api_user(&txn, org.id, &client_id, role).await?;
    let at = now();
    let client = api_client::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org.id),
        user_id: Set(machine.id),
        name: Set(name),
        description: Set(description),
        client_id: Set(client_id),
        secret_hash: Set(hash_secret(&secret)),
        secret_generation: Set(1),
        secret_rotated_at: Set(None),
        created_by_id: Set(Some(actor.user_id)),
        updated_by_id: Set(Some(actor.user_id)),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        org.id,
        Some(actor),
        "api_client.create",
        Target::ApiClient(client.id),
        None,
        Some(snapshot(&client, role.as_str())),
    )
    .await?;
    txn.commit().await?;
    Ok((client, secret))
}

/// The clients of one org, oldest first, and how many there are in all.
pub async fn list(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    page: (u64, u64),
) -> AppResult<(Vec<ApiClient>, u64)> {
    let org = organizations::visible(store, actor, org_id).await?;
    actor.check(&org, Access::Admin)?;
    let query = api_client::Entity::find().filter(api_client::Column::OrgId.eq(org_id));
    let total = query.clone().count(&store.db).await?;
    let rows = query
        .order_by_asc(api_client::Column::CreatedAt)
        .order_by_asc(api_client::Column::Id)
        .limit(page.0)
        .offset(page.1)
        .all(&store.db)
        .await?;
    Ok((rows, total))
}

pub async fn get(store: &Store, actor: &Actor, id: Uuid) -> AppResult<ApiClient> {
    reachable(store, actor, id).await
}

async fn role_of(store: &Store, client: &ApiClient) -> AppResult<String> {
    Ok(user::Entity::find_by_id(client.user_id)
        .one(&store.db)
        .await?
        .map(|u| u.role)
        .unwrap_or_default())
}

/// Renames or re-describes a client. `description: Some(None)` clears it.
pub async fn update(
    store: &Store,
    actor: &Actor,
    id: Uuid,
    name: Option<&str>,
    description: Option<Option<&str>>,
) -> AppResult<ApiClient> {
    let client = reachable(store, actor, id).await?;
    let role = role_of(store, &client).await?;
    let before = snapshot(&client, &role);
    let mut model: api_client::ActiveModel = client.clone().into();
    if let Some(n) = name {
        model.name = Set(parse_name(n)?);
    }
    if let Some(d) = description {
        model.description = Set(parse_description(d)?);
    }
    model.updated_by_id = Set(Some(actor.user_id));
    model.updated_at = Set(now());
    let txn = store.begin_write().await?;
    let updated = model.update(&txn).await?;
    audit::record(
        &txn,
        updated.org_id,
        Some(actor),
        "api_client.update",
        Target::ApiClient(id),
        Some(before),
        Some(snapshot(&updated, &role)),
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Deletes a client and the user it acts as: its secret and tokens stop working at once.
pub async fn delete(store: &Store, actor: &Actor, id: Uuid) -> AppResult<()> {
    let client = reachable(store, actor, id).await?;
    let role = role_of(store, &client).await?;
    let txn = store.begin_write().await?;
    api_client::Entity::delete_by_id(client.id)
        .exec(&txn)
        .await?;
    user::Entity::delete_by_id(client.user_id)
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        client.org_id,
        Some(actor),
        "api_client.delete",
        Target::ApiClient(id),
        Some(snapshot(&client, &role)),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// A new secret; the old one and every token issued with it stop working at once.
pub async fn rotate(store: &Store, actor: &Actor, id: Uuid) -> AppResult<(ApiClient, String)> {
    let client = reachable(store, actor, id).await?;
    let role = role_of(store, &client).await?;
    let before = snapshot(&client, &role);
    let secret = format!("ohs_{}", random_hex(32)?);
    let at = now();
    let mut model: api_client::ActiveModel = client.clone().into();
    model.secret_hash = Set(hash_secret(&secret));
    model.secret_generation = Set(client.secret_generation + 1);
    model.secret_rotated_at = Set(Some(at));
    model.updated_by_id = Set(Some(actor.user_id));
    model.updated_at = Set(at);
    let txn = store.begin_write().await?;
    let rotated = model.update(&txn).await?;
    audit::record(
        &txn,
        rotated.org_id,
        Some(actor),
        "api_client.rotate_secret",
        Target::ApiClient(id),
        Some(before),
        Some(snapshot(&rotated, &role)),
    )
    .await?;
    txn.commit().await?;
    Ok((rotated, secret))
}

/// The client-credentials exchange: the user the client acts as and the secret's
/// generation, or `None` for an unknown client, a wrong secret or a deleted org.
pub async fn exchange(
    store: &Store,
    client_id: &str,
    secret: &str,
) -> AppResult<Option<(user::Model, i32)>> {
    let Some(client) = api_client::Entity::find()
        .filter(api_client::Column::ClientId.eq(client_id.trim()))
        .one(&store.db)
        .await?
    else {
        return Ok(None);
    };
    if !same(&client.secret_hash, &hash_secret(secret)) {
        return Ok(None);
    }
    let org = organizations::by_ids(store, &[client.org_id])
        .await?
        .remove(&client.org_id);
    if org.is_none_or(|o| o.deleted_at.is_some()) {
        return Ok(None);
    }
    let machine = user::Entity::find_by_id(client.user_id)
        .one(&store.db)
        .await?;
    Ok(machine.map(|u| (u, client.secret_generation)))
}

/// The client behind each machine user.
pub async fn by_user_ids(store: &Store, user_ids: &[Uuid]) -> AppResult<HashMap<Uuid, ApiClient>> {
    let rows = api_client::Entity::find()
        .filter(api_client::Column::UserId.is_in(user_ids.iter().copied()))
        .all(&store.db)
        .await?;
    Ok(rows.into_iter().map(|c| (c.user_id, c)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hash_and_compare() {
        assert_eq!(hash_secret("abc").len(), 64);
        assert!(same(&hash_secret("abc"), &hash_secret("abc")));
        assert!(!same(&hash_secret("abc"), &hash_secret("abd")));
        assert!(!same("a", "ab"));
    }
}
