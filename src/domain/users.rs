//! Users: who they are, which org they belong to and with which role; inviting,
//! changing and removing them; onboarding a new MSP; the first admin of a fresh instance.
use std::collections::HashMap;

use entity::{organization, user};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseTransaction, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::audit::{self, Target};
use super::filter::Cmp;
use super::names::{OrgName, name_key};
use super::organizations::{self, Org, OrgFilter};
use super::{Store, now, parse_order, reserved_names, unique_violation};
use crate::auth::{Access, Actor, Role};
use crate::error::{AppError, AppResult, ValidationError};

pub use user::Model as User;

/// Columns of users a filter or an order can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserField {
    Id,
    Username,
    Sub,
    OrgId,
    CreatedAt,
    IsApiUser,
    IsSuperuser,
    IsTestUser,
    Role,
}

impl UserField {
    fn column(self) -> user::Column {
        use user::Column as C;
        match self {
            UserField::Id => C::Id,
            UserField::Username => C::UsernameKey,
            UserField::Sub => C::Sub,
            UserField::OrgId => C::OrgId,
            UserField::CreatedAt => C::CreatedAt,
            UserField::IsApiUser => C::IsApiUser,
            UserField::IsSuperuser => C::IsStaff,
            UserField::IsTestUser => C::IsTestUser,
            UserField::Role => C::Role,
        }
    }
}

const ORDER_COLUMNS: &[(&str, UserField)] = &[
    ("username", UserField::Username),
    ("createdAt", UserField::CreatedAt),
    ("id", UserField::Id),
];

/// A conjunction of conditions on users, possibly through their organization.
#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    pub preds: Vec<(UserField, Cmp)>,
    pub organization: Option<Box<OrgFilter>>,
    /// Users whose org manages at least one org that matches.
    pub managed_orgs: Option<Box<OrgFilter>>,
}

impl UserFilter {
    pub(crate) fn condition(&self) -> Condition {
        let mut cond = Condition::all();
        for (field, cmp) in &self.preds {
            // Usernames are e-mail addresses: compared case-insensitively.
            let cmp = match (field, cmp) {
                (UserField::Username, Cmp::Eq(v)) => Cmp::Eq(lower(v)),
                (UserField::Username, Cmp::Ne(v)) => Cmp::Ne(lower(v)),
                (UserField::Username, Cmp::In(vs)) => Cmp::In(vs.iter().map(lower).collect()),
                (UserField::Username, Cmp::Nin(vs)) => Cmp::Nin(vs.iter().map(lower).collect()),
                _ => cmp.clone(),
            };
            cond = cond.add(cmp.apply(Expr::col(field.column())));
        }
        if let Some(org) = &self.organization {
            cond = cond.add(
                user::Column::OrgId.in_subquery(
                    Query::select()
                        .column(organization::Column::Id)
                        .from(organization::Entity)
                        .cond_where(org.condition(true))
                        .to_owned(),
                ),
            );
        }
        if let Some(managed) = &self.managed_orgs {
            cond = cond.add(
                user::Column::OrgId.in_subquery(
                    Query::select()
                        .column(organization::Column::ManagingOrgId)
                        .from(organization::Entity)
                        .cond_where(
                            managed
                                .condition(true)
                                .add(organization::Column::ManagingOrgId.is_not_null()),
                        )
                        .to_owned(),
                ),
            );
        }
        cond
    }
}

fn lower(v: &sea_orm::Value) -> sea_orm::Value {
    match v {
        sea_orm::Value::String(Some(s)) => sea_orm::Value::from(s.to_lowercase()),
        other => other.clone(),
    }
}

/// The case-insensitive key of an e-mail address.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A plausible e-mail address: something@domain.tld, at most 320 characters.
fn parse_email(raw: &str) -> Result<String, ValidationError> {
    let email = raw.trim();
    let invalid = || {
        ValidationError::new(
            "username",
            "INVALID_FORMAT",
            format!("`{email}` is not an e-mail address"),
        )
    };
    if email.is_empty() {
        return Err(ValidationError::new(
            "username",
            "REQUIRED_FIELD",
            "is required",
        ));
    }
    if email.chars().count() > 320 {
        return Err(ValidationError::new(
            "username",
            "MAX_LENGTH_EXCEEDED",
            "at most 320 characters",
        ));
    }
    let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
    if local.is_empty()
        || !domain.contains('.')
        || email.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid());
    }
    Ok(email.to_owned())
}

/// Exactly one known role.
pub fn parse_roles(role_ids: &[String]) -> AppResult<Role> {
    match role_ids {
        [] => Err(AppError::invalid(
            "roleIds",
            "REQUIRED_FIELD",
            "give one role: admin, member, forms or read_only",
        )),
        [one] => Role::parse(one.trim()).ok_or_else(|| {
            AppError::invalid(
                "roleIds",
                "INVALID_FORMAT",
                format!("`{one}` is not a role: use admin, member, forms or read_only"),
            )
        }),
        _ => Err(AppError::invalid(
            "roleIds",
            "INVALID_FORMAT",
            "a user has exactly one role",
        )),
    }
}

fn snapshot(u: &User) -> Value {
    json!({ "username": u.username, "role": u.role, "orgId": u.org_id, "isTestUser": u.is_test_user, "isApiUser": u.is_api_user })
}

/// Inserts a user (no checks beyond the database's). `Some(sub)` links an identity at once.
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    org_id: Uuid,
    email: &str,
    role: Role,
    is_staff: bool,
) -> AppResult<User> {
    insert_with(conn, org_id, email, role, is_staff, false, false).await
}

async fn insert_with<C: ConnectionTrait>(
    conn: &C,
    org_id: Uuid,
    email: &str,
    role: Role,
    is_staff: bool,
    is_api_user: bool,
    is_test_user: bool,
) -> AppResult<User> {
    let email = parse_email(email).map_err(|e| AppError::Invalid(vec![e]))?;
    let at = now();
    user::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org_id),
        username: Set(email.clone()),
        username_key: Set(email_key(&email)),
        sub: Set(None),
        role: Set(role.as_str().to_owned()),
        is_staff: Set(is_staff),
        is_api_user: Set(is_api_user),
        is_test_user: Set(is_test_user),
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

/// The machine user an API client acts as.
pub async fn insert_api_user(
    conn: &DatabaseTransaction,
    org_id: Uuid,
    client_id: &str,
    role: Role,
) -> AppResult<User> {
    insert_with(
        conn,
        org_id,
        &format!("{client_id}@api-clients.orghub.invalid"),
        role,
        false,
        true,
        false,
    )
    .await
}

pub async fn by_email(store: &Store, email: &str) -> AppResult<Option<User>> {
    Ok(user::Entity::find()
        .filter(user::Column::UsernameKey.eq(email_key(email)))
        .one(&store.db)
        .await?)
}

/// The caller's own user row.
pub async fn get(store: &Store, actor: &Actor) -> AppResult<User> {
    if let Some(user) = &actor.user {
        return Ok(user.as_ref().clone());
    }
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

/// `users(where: {orgId})`: the users of one org the caller may see.
pub async fn list(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    filter: &UserFilter,
    order: &[Vec<String>],
    page: (u64, u64),
) -> AppResult<Vec<User>> {
    organizations::visible(store, actor, org_id).await?;
    let mut query = user::Entity::find()
        .filter(user::Column::OrgId.eq(org_id))
        .filter(filter.condition());
    for (field, dir) in parse_order(order, ORDER_COLUMNS)? {
        query = query.order_by(field.column(), dir);
    }
    Ok(query
        .order_by(user::Column::Id, Order::Asc)
        .limit(page.0)
        .offset(page.1)
        .all(&store.db)
        .await?)
}

/// The user (by id) the caller may manage with `access`, or `FORBIDDEN`.
async fn reachable(
    store: &Store,
    actor: &Actor,
    id: Uuid,
    access: Access,
) -> AppResult<(User, Org)> {
    let user = user::Entity::find_by_id(id)
        .one(&store.db)
        .await?
        .ok_or(AppError::Forbidden)?;
    let org = organizations::visible(store, actor, user.org_id).await?;
    actor.check(&org, access)?;
    Ok((user, org))
}

/// `createUser`: invites a user (no identity linked until their first sign-in). Admins only.
pub async fn create(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    email: &str,
    role_ids: &[String],
    is_test_user: bool,
) -> AppResult<User> {
    let org = organizations::visible(store, actor, org_id).await?;
    actor.check(&org, Access::Admin)?;
    if org.deleted_at.is_some() {
        return Err(AppError::NotFound(format!(
            "Organization {org_id} (it is deleted)"
        )));
    }
    let role = parse_roles(role_ids)?;
    let txn = store.begin_write().await?;
    let created = insert_with(&txn, org.id, email, role, false, false, is_test_user).await?;
    audit::record(
        &txn,
        org.id,
        Some(actor),
        "user.create",
        Target::User(created.id),
        None,
        Some(snapshot(&created)),
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}

/// Serializes changes to the admins of one org (PostgreSQL; SQLite's writers are serial).
async fn lock_org(txn: &DatabaseTransaction, org_id: Uuid) -> AppResult<()> {
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        organization::Entity::find_by_id(org_id)
            .lock_exclusive()
            .one(txn)
            .await?;
    }
    Ok(())
}

async fn other_admins(txn: &DatabaseTransaction, org_id: Uuid, except: Uuid) -> AppResult<u64> {
    Ok(user::Entity::find()
        .filter(user::Column::OrgId.eq(org_id))
        .filter(user::Column::Role.eq(Role::Admin.as_str()))
        .filter(user::Column::IsApiUser.eq(false))
        .filter(user::Column::Id.ne(except))
        .count(txn)
        .await?)
}

fn managed_by_its_client(user: &User) -> AppResult<()> {
    if user.is_api_user {
        return Err(AppError::invalid(
            "id",
            "NOT_UPDATABLE",
            "this user belongs to an API client: change or delete the API client",
        ));
    }
    Ok(())
}

/// `updateUserRoles`. Admins only; nobody changes their own role; an org keeps one admin.
pub async fn update_roles(
    store: &Store,
    actor: &Actor,
    id: Uuid,
    role_ids: &[String],
) -> AppResult<User> {
    let (user, org) = reachable(store, actor, id, Access::Admin).await?;
    if user.id == actor.user_id {
        return Err(AppError::invalid(
            "id",
            "NOT_UPDATABLE",
            "you cannot change your own role",
        ));
    }
    managed_by_its_client(&user)?;
    let role = parse_roles(role_ids)?;
    let txn = store.begin_write().await?;
    lock_org(&txn, org.id).await?;
    if user.role == Role::Admin.as_str()
        && role != Role::Admin
        && other_admins(&txn, org.id, user.id).await? == 0
    {
        return Err(AppError::invalid(
            "roleIds",
            "LAST_ADMIN",
            format!("{} is the last admin of {}", user.username, org.name),
        ));
    }
    let before = snapshot(&user);
    let mut model: user::ActiveModel = user.into();
    model.role = Set(role.as_str().to_owned());
    model.updated_at = Set(now());
    let updated = model.update(&txn).await?;
    audit::record(
        &txn,
        org.id,
        Some(actor),
        "user.roles",
        Target::User(updated.id),
        Some(before),
        Some(snapshot(&updated)),
    )
    .await?;
    txn.commit().await?;
    store.actors.clear();
    Ok(updated)
}

/// `deleteUser`. Admins only; not yourself; not an org's last admin.
pub async fn delete(store: &Store, actor: &Actor, id: Uuid) -> AppResult<()> {
    let (user, org) = reachable(store, actor, id, Access::Admin).await?;
    if user.id == actor.user_id {
        return Err(AppError::invalid(
            "id",
            "NOT_DELETABLE",
            "you cannot delete yourself",
        ));
    }
    managed_by_its_client(&user)?;
    let txn = store.begin_write().await?;
    lock_org(&txn, org.id).await?;
    if user.role == Role::Admin.as_str() && other_admins(&txn, org.id, user.id).await? == 0 {
        return Err(AppError::invalid(
            "id",
            "LAST_ADMIN",
            format!("{} is the last admin of {}", user.username, org.name),
        ));
    }
    let before = snapshot(&user);
    user::Entity::delete_by_id(user.id).exec(&txn).await?;
    audit::record(
        &txn,
        org.id,
        Some(actor),
        "user.delete",
        Target::User(user.id),
        Some(before),
        None,
    )
    .await?;
    txn.commit().await?;
    store.actors.clear();
    Ok(())
}

/// First sign-in through the identity provider: the invited user with this e-mail and no
/// identity yet gets `sub`. `None` when nobody was invited with that address.
pub async fn link_identity(store: &Store, sub: &str, email: &str) -> AppResult<Option<User>> {
    let txn = store.begin_write().await?;
    let Some(invited) = user::Entity::find()
        .filter(user::Column::UsernameKey.eq(email_key(email)))
        .filter(user::Column::Sub.is_null())
        .filter(user::Column::IsApiUser.eq(false))
        .one(&txn)
        .await?
    else {
        return Ok(None);
    };
    let org_id = invited.org_id;
    let before = snapshot(&invited);
    let mut model: user::ActiveModel = invited.into();
    model.sub = Set(Some(sub.to_owned()));
    model.updated_at = Set(now());
    let linked = model
        .update(&txn)
        .await
        .map_err(|e| match unique_violation(&e) {
            Some(_) => {
                AppError::Unauthenticated("This identity is already linked to another user".into())
            }
            None => e.into(),
        })?;
    let mut after = snapshot(&linked);
    after["identityLinked"] = json!(true);
    audit::record(
        &txn,
        org_id,
        None,
        "user.first_sign_in",
        Target::User(linked.id),
        Some(before),
        Some(after),
    )
    .await?;
    txn.commit().await?;
    store.actors.clear();
    Ok(Some(linked))
}

/// A new MSP: a top-level organization with its own tree, and its first admin (an
/// invitation). Staff only; `actor` is `None` on the command line.
pub async fn create_msp(
    store: &Store,
    actor: Option<&Actor>,
    name: &str,
    admin_email: &str,
) -> AppResult<(Org, User)> {
    if let Some(a) = actor {
        a.require_staff()?;
    }
    let name = OrgName::parse(name).map_err(|e| AppError::Invalid(vec![e]))?;
    let txn = store.begin_write().await?;
    let clash = organization::Entity::find()
        .filter(organization::Column::ManagingOrgId.is_null())
        .filter(organization::Column::NameKey.eq(name_key(name.as_str())))
        .filter(organization::Column::DeletedAt.is_null())
        .count(&txn)
        .await?;
    if clash > 0 {
        return Err(AppError::invalid(
            "name",
            "DUPLICATE_IN_DATABASE",
            format!("an MSP named `{}` exists", name.as_str()),
        ));
    }
    let org = organizations::create_root(&txn, &name, false).await?;
    let admin = insert(&txn, org.id, admin_email, Role::Admin, false)
        .await
        .map_err(|e| e.within(""))?;
    let after = json!({ "name": org.name, "adminUsername": admin.username });
    audit::record(
        &txn,
        org.id,
        actor,
        "msp.create",
        Target::Organization(org.id),
        None,
        Some(after),
    )
    .await?;
    audit::record(
        &txn,
        org.id,
        actor,
        "user.create",
        Target::User(admin.id),
        None,
        Some(snapshot(&admin)),
    )
    .await?;
    txn.commit().await?;
    Ok((org, admin))
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
