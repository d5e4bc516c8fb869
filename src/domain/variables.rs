//! Organization variables. A variable belongs to one org; with `cascade` it is also the
//! default for every org below. For org O a name resolves to O's own value, else to the
//! value of the nearest ancestor whose variable cascades. `secret` values are encrypted at
//! rest, masked unless an admin or member asks for them, and never kept in the history.
use std::collections::{HashMap, HashSet};

use entity::{org_variable, org_variable_history as history, organization};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::filter::Cmp;
use super::names::MAX_LEN;
use super::organizations::{self, Org, OrgFilter};
use super::{Store, now, parse_order, unique_violation};
use crate::auth::{Access, Actor};
use crate::error::{AppError, AppResult, ValidationError};

pub use history::Model as HistoryEntry;
pub use org_variable::Model as Variable;

/// What a masked secret shows.
pub const MASK: &str = "********";
const MAX_VALUE_LEN: usize = 65_536;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    General,
    Contact,
    Secret,
    System,
}

impl Category {
    pub fn parse(s: &str) -> Option<Category> {
        [
            Category::General,
            Category::Contact,
            Category::Secret,
            Category::System,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Category::General => "general",
            Category::Contact => "contact",
            Category::Secret => "secret",
            Category::System => "system",
        }
    }
}

pub(crate) fn is_secret(v: &Variable) -> bool {
    v.category == Category::Secret.as_str()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarField {
    Id,
    Name,
    OrgId,
    Category,
    Value,
    PackConfigId,
    CreatedAt,
    UpdatedAt,
}

impl VarField {
    fn column(self) -> org_variable::Column {
        use org_variable::Column as C;
        match self {
            VarField::Id => C::Id,
            VarField::Name => C::Name,
            VarField::OrgId => C::OrgId,
            VarField::Category => C::Category,
            VarField::Value => C::Value,
            VarField::PackConfigId => C::PackConfigId,
            VarField::CreatedAt => C::CreatedAt,
            VarField::UpdatedAt => C::UpdatedAt,
        }
    }
}

const ORDER_COLUMNS: &[(&str, VarField)] = &[
    ("name", VarField::Name),
    ("category", VarField::Category),
    ("orgId", VarField::OrgId),
    ("createdAt", VarField::CreatedAt),
    ("updatedAt", VarField::UpdatedAt),
    ("id", VarField::Id),
];

/// Conditions on variables, possibly through their organization.
#[derive(Clone, Debug, Default)]
pub struct VarFilter {
    /// `where.id`: a variable the caller must be able to see, or `FORBIDDEN`.
    pub id: Option<Uuid>,
    pub preds: Vec<(VarField, Cmp)>,
    pub organization: Option<Box<OrgFilter>>,
    /// Variables pointing at a config that matches.
    pub pack_config: Option<super::pack_configs::ConfigConditions>,
}

impl VarFilter {
    fn condition(&self) -> Condition {
        let mut cond = Condition::all();
        if let Some(id) = self.id {
            cond = cond.add(org_variable::Column::Id.eq(id));
        }
        for (field, cmp) in &self.preds {
            cond = cond.add(cmp.apply(Expr::col(field.column())));
            if *field == VarField::Value {
                // Comparing ciphertext would leak nothing useful and match nothing sensible.
                cond = cond.add(org_variable::Column::Category.ne(Category::Secret.as_str()));
            }
        }
        if let Some(org) = &self.organization {
            cond = cond.add(
                org_variable::Column::OrgId.in_subquery(
                    Query::select()
                        .column(organization::Column::Id)
                        .from(organization::Entity)
                        .cond_where(org.condition(true))
                        .to_owned(),
                ),
            );
        }
        if let Some(pc) = &self.pack_config {
            cond = cond.add(org_variable::Column::PackConfigId.in_subquery(pc.ids()));
        }
        cond
    }
}

/// Variables of the live orgs the caller reaches.
fn scope(actor: &Actor) -> Condition {
    let mut orgs = Query::select()
        .column(organization::Column::Id)
        .from(organization::Entity)
        .and_where(organization::Column::DeletedAt.is_null())
        .to_owned();
    if !actor.is_staff {
        orgs.and_where(organization::Column::Path.starts_with(&actor.org_path));
    }
    Condition::all().add(org_variable::Column::OrgId.in_subquery(orgs))
}

/// The value as the caller may see it: secrets decrypted only when `unmask`.
fn shown(store: &Store, mut v: Variable, unmask: bool) -> AppResult<Variable> {
    if is_secret(&v) {
        v.value = match (&v.value, unmask) {
            (Some(sealed), true) => Some(store.cipher.open(sealed)?),
            (Some(_), false) => Some(MASK.to_owned()),
            (None, _) => None,
        };
    }
    Ok(v)
}

/// Whether the caller may see clear secrets: `maskSecrets: false` from an admin or member
/// (every org whose variables they list is at or below theirs).
fn unmask(actor: &Actor, mask_secrets: Option<bool>) -> bool {
    mask_secrets == Some(false) && actor.has(Access::Write)
}

async fn visible(store: &Store, actor: &Actor, id: Uuid) -> AppResult<(Variable, Org)> {
    let v = org_variable::Entity::find_by_id(id)
        .one(&store.db)
        .await?
        .ok_or(AppError::Forbidden)?;
    let org = organizations::visible(store, actor, v.org_id).await?;
    Ok((v, org))
}

fn ordered(
    mut query: sea_orm::Select<org_variable::Entity>,
    order: &[Vec<String>],
) -> AppResult<sea_orm::Select<org_variable::Entity>> {
    for (field, dir) in parse_order(order, ORDER_COLUMNS)? {
        query = query.order_by(field.column(), dir);
    }
    Ok(query.order_by(org_variable::Column::Id, Order::Asc))
}

pub async fn find_one(
    store: &Store,
    actor: &Actor,
    filter: &VarFilter,
    mask_secrets: Option<bool>,
) -> AppResult<Option<Variable>> {
    if let Some(id) = filter.id {
        visible(store, actor, id).await?;
    }
    let query = org_variable::Entity::find()
        .filter(scope(actor))
        .filter(filter.condition());
    let row = ordered(query, &[vec!["name".into()]])?
        .one(&store.db)
        .await?;
    row.map(|v| shown(store, v, unmask(actor, mask_secrets)))
        .transpose()
}

pub async fn list(
    store: &Store,
    actor: &Actor,
    filter: &VarFilter,
    mask_secrets: Option<bool>,
    order: &[Vec<String>],
    page: (u64, u64),
) -> AppResult<Vec<Variable>> {
    if let Some(id) = filter.id {
        visible(store, actor, id).await?;
    }
    let query = org_variable::Entity::find()
        .filter(scope(actor))
        .filter(filter.condition());
    let rows = ordered(query, order)?
        .limit(page.0)
        .offset(page.1)
        .all(&store.db)
        .await?;
    let clear = unmask(actor, mask_secrets);
    rows.into_iter().map(|v| shown(store, v, clear)).collect()
}

/// Ids of the variables that make up `org`'s resolved set: its own, and for every other
/// name the nearest ancestor's cascading one.
pub(crate) async fn resolved_ids(store: &Store, org: &Org) -> AppResult<Vec<Uuid>> {
    let lineage: Vec<Uuid> = organizations::lineage(&org.path);
    let depth: HashMap<Uuid, usize> = lineage.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let candidates = org_variable::Entity::find()
        .select_only()
        .columns([
            org_variable::Column::Id,
            org_variable::Column::OrgId,
            org_variable::Column::Name,
            org_variable::Column::Cascade,
        ])
        .filter(org_variable::Column::OrgId.is_in(lineage.iter().copied()))
        .filter(
            Condition::any()
                .add(org_variable::Column::OrgId.eq(org.id))
                .add(org_variable::Column::Cascade.eq(true)),
        )
        .into_tuple::<(Uuid, Uuid, String, bool)>()
        .all(&store.db)
        .await?;
    let mut best: HashMap<String, (usize, Uuid)> = HashMap::new();
    for (id, org_id, name, _) in candidates {
        let d = depth.get(&org_id).copied().unwrap_or(0);
        match best.get(&name) {
            Some((bd, _)) if *bd >= d => {}
            _ => {
                best.insert(name, (d, id));
            }
        }
    }
    Ok(best.into_values().map(|(_, id)| id).collect())
}

/// `visibleOrgVariables`: the resolved set for an org, each row from the org it comes
/// from (`orgId`). Secrets masked.
pub async fn visible_for(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    filter: &VarFilter,
    order: &[Vec<String>],
    page: (u64, u64),
) -> AppResult<Vec<Variable>> {
    let org = organizations::visible(store, actor, org_id).await?;
    let ids = resolved_ids(store, &org).await?;
    let query = org_variable::Entity::find()
        .filter(org_variable::Column::Id.is_in(ids))
        .filter(filter.condition());
    let rows = ordered(query, order)?
        .limit(page.0)
        .offset(page.1)
        .all(&store.db)
        .await?;
    rows.into_iter().map(|v| shown(store, v, false)).collect()
}

pub async fn visible_count(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    filter: &VarFilter,
) -> AppResult<u64> {
    let org = organizations::visible(store, actor, org_id).await?;
    let ids = resolved_ids(store, &org).await?;
    Ok(org_variable::Entity::find()
        .filter(org_variable::Column::Id.is_in(ids))
        .filter(filter.condition())
        .count(&store.db)
        .await?)
}

/// A variable as the API gives it.
#[derive(Clone, Debug, Default)]
pub struct VariableInput {
    pub id: Option<String>,
    pub org_id: Option<String>,
    pub name: Option<String>,
    pub value: Option<String>,
    pub category: Option<String>,
    pub cascade: Option<bool>,
    pub pack_config_id: Option<String>,
}

fn parse_name(raw: &str) -> Result<String, ValidationError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(ValidationError::new(
            "name",
            "REQUIRED_FIELD",
            "is required",
        ));
    }
    if name.chars().count() > MAX_LEN {
        return Err(ValidationError::new(
            "name",
            "MAX_LENGTH_EXCEEDED",
            format!("at most {MAX_LEN} characters"),
        ));
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ValidationError::new(
            "name",
            "INVALID_FORMAT",
            "must not contain spaces or control characters",
        ));
    }
    Ok(name.to_owned())
}

fn parse_value(raw: &str) -> Result<String, ValidationError> {
    if raw.chars().count() > MAX_VALUE_LEN {
        return Err(ValidationError::new(
            "value",
            "MAX_LENGTH_EXCEEDED",
            format!("at most {MAX_VALUE_LEN} characters"),
        ));
    }
    Ok(raw.to_owned())
}

fn parse_category(raw: Option<&str>) -> Result<Option<Category>, ValidationError> {
    raw.map(|c| {
        Category::parse(c.trim()).ok_or_else(|| {
            ValidationError::new(
                "category",
                "INVALID_FORMAT",
                format!("`{c}` is not general, contact, secret or system"),
            )
        })
    })
    .transpose()
}

fn parse_pack_config(raw: Option<&str>) -> Result<Option<Uuid>, ValidationError> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(r) => Uuid::parse_str(r).map(Some).map_err(|_| {
            ValidationError::new(
                "packConfigId",
                "INVALID_FORMAT",
                format!("`{r}` is not a valid id"),
            )
        }),
    }
}

/// A variable may point at a config of its org or of an org above it.
async fn check_pack_config<C: ConnectionTrait>(
    conn: &C,
    org: &Org,
    id: Option<Uuid>,
) -> AppResult<()> {
    match id {
        Some(id) if !super::pack_configs::usable_by(conn, org, id).await? => {
            Err(AppError::invalid(
                "packConfigId",
                "NOT_FOUND",
                format!("no pack config {id} for this organization or above it"),
            ))
        }
        _ => Ok(()),
    }
}

/// What the history keeps of a value: secrets never.
fn for_history(category: &str, value: &Option<String>) -> Option<String> {
    if category == Category::Secret.as_str() {
        value.as_ref().map(|_| MASK.to_owned())
    } else {
        value.clone()
    }
}

async fn record<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    action: &str,
    before: Option<&Variable>,
    after: Option<&Variable>,
    clear: (Option<String>, Option<String>),
) -> AppResult<()> {
    let Some(subject) = after.or(before) else {
        return Ok(());
    };
    history::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(subject.org_id),
        variable_id: Set(subject.id),
        name: Set(subject.name.clone()),
        action: Set(action.to_owned()),
        old_value: Set(before.and_then(|b| for_history(&b.category, &clear.0))),
        new_value: Set(after.and_then(|a| for_history(&a.category, &clear.1))),
        old_category: Set(before.map(|b| b.category.clone())),
        new_category: Set(after.map(|a| a.category.clone())),
        actor_user_id: Set(Some(actor.user_id)),
        actor_username: Set(Some(actor.username.clone())),
        created_at: Set(now()),
    }
    .insert(conn)
    .await?;
    Ok(())
}

fn seal(store: &Store, category: Category, value: Option<String>) -> AppResult<Option<String>> {
    match (category, value) {
        (Category::Secret, Some(v)) => Ok(Some(store.cipher.seal(&v)?)),
        (_, v) => Ok(v),
    }
}

fn duplicate(e: sea_orm::DbErr) -> AppError {
    match unique_violation(&e) {
        Some(_) => AppError::invalid(
            "name",
            "DUPLICATE_IN_DATABASE",
            "this organization has a variable of that name",
        ),
        None => e.into(),
    }
}

async fn writable_org(
    store: &Store,
    actor: &Actor,
    raw: Option<&str>,
    field: &str,
) -> AppResult<Org> {
    let raw = raw
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| AppError::invalid(field, "REQUIRED_FIELD", "is required"))?;
    let org = organizations::visible(store, actor, super::parse_id(field, raw)?).await?;
    actor.check(&org, Access::Write)?;
    if org.deleted_at.is_some() {
        return Err(AppError::NotFound(format!(
            "Organization {} (it is deleted)",
            org.id
        )));
    }
    Ok(org)
}

async fn insert_new<C: ConnectionTrait>(
    conn: &C,
    store: &Store,
    actor: &Actor,
    org: &Org,
    input: &VariableInput,
) -> AppResult<Variable> {
    let mut errors = Vec::new();
    let name = input.name.as_deref().map(parse_name).unwrap_or_else(|| {
        Err(ValidationError::new(
            "name",
            "REQUIRED_FIELD",
            "is required",
        ))
    });
    let name = name.map_err(|e| errors.push(e)).ok();
    let value = match input.value.as_deref() {
        Some(v) => parse_value(v).map_err(|e| errors.push(e)).ok(),
        None => {
            errors.push(ValidationError::new(
                "value",
                "REQUIRED_FIELD",
                "is required",
            ));
            None
        }
    };
    let category = parse_category(input.category.as_deref())
        .map_err(|e| errors.push(e))
        .ok()
        .flatten()
        .unwrap_or(Category::General);
    let pack_config_id = parse_pack_config(input.pack_config_id.as_deref())
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let id = match input.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Some(Uuid::now_v7()),
        Some(raw) => Uuid::parse_str(raw)
            .map_err(|_| {
                errors.push(ValidationError::new(
                    "id",
                    "INVALID_FORMAT",
                    "not a valid id",
                ))
            })
            .ok(),
    };
    let (Some(name), Some(value), Some(id)) = (name, value, id) else {
        return Err(AppError::Invalid(errors));
    };
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    check_pack_config(conn, org, pack_config_id).await?;
    let at = now();
    let created = org_variable::ActiveModel {
        id: Set(id),
        org_id: Set(org.id),
        name: Set(name),
        value: Set(seal(store, category, Some(value.clone()))?),
        category: Set(category.as_str().to_owned()),
        cascade: Set(input.cascade.unwrap_or(false)),
        pack_config_id: Set(pack_config_id),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(conn)
    .await
    .map_err(duplicate)?;
    record(
        conn,
        actor,
        "create",
        None,
        Some(&created),
        (None, Some(value)),
    )
    .await?;
    Ok(created)
}

/// `createOrgVariable`.
pub async fn create(store: &Store, actor: &Actor, input: &VariableInput) -> AppResult<Variable> {
    let org = writable_org(store, actor, input.org_id.as_deref(), "orgId").await?;
    let txn = store.begin_write().await?;
    let created = insert_new(&txn, store, actor, &org, input).await?;
    txn.commit().await?;
    shown(store, created, unmask(actor, Some(false)))
}

async fn change_existing<C: ConnectionTrait>(
    conn: &C,
    store: &Store,
    actor: &Actor,
    existing: Variable,
    input: &VariableInput,
) -> AppResult<Variable> {
    let mut errors = Vec::new();
    let name = input
        .name
        .as_deref()
        .map(parse_name)
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let value = input
        .value
        .as_deref()
        .map(parse_value)
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let category = parse_category(input.category.as_deref())
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let pack_config_id = parse_pack_config(input.pack_config_id.as_deref())
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let was_secret = is_secret(&existing);
    let new_category = category.unwrap_or(if was_secret {
        Category::Secret
    } else {
        Category::parse(&existing.category).unwrap_or(Category::General)
    });
    if was_secret && new_category != Category::Secret && value.is_none() {
        errors.push(ValidationError::new(
            "value",
            "REQUIRED_FIELD",
            "a secret made non-secret needs a new value: the old one is never revealed",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    // The history masks secret values itself: it only needs to know there was one.
    let old_clear = existing.value.clone();
    // The value after the change, in clear: the new one, or the old one (decrypted if it was secret).
    let clear_after = match &value {
        Some(v) => Some(v.clone()),
        None if was_secret => existing
            .value
            .as_deref()
            .map(|s| store.cipher.open(s))
            .transpose()?,
        None => existing.value.clone(),
    };
    let mut model: org_variable::ActiveModel = existing.clone().into();
    if let Some(n) = name {
        model.name = Set(n);
    }
    if value.is_some() || category.is_some() {
        model.value = Set(seal(store, new_category, clear_after.clone())?);
    }
    model.category = Set(new_category.as_str().to_owned());
    if let Some(c) = input.cascade {
        model.cascade = Set(c);
    }
    if pack_config_id.is_some() {
        let org = organizations::by_ids(store, &[existing.org_id])
            .await?
            .remove(&existing.org_id)
            .ok_or(AppError::Forbidden)?;
        check_pack_config(conn, &org, pack_config_id).await?;
        model.pack_config_id = Set(pack_config_id);
    }
    model.updated_at = Set(now());
    let updated = model.update(conn).await.map_err(duplicate)?;
    record(
        conn,
        actor,
        "update",
        Some(&existing),
        Some(&updated),
        (old_clear, clear_after),
    )
    .await?;
    Ok(updated)
}

/// `updateOrgVariables` (`upsert: false`: each must exist, found by `id` or by org and
/// name) and `bulkUpdateOrgVariables` (`upsert: true`: created when missing). All or nothing.
pub async fn update_many(
    store: &Store,
    actor: &Actor,
    inputs: &[VariableInput],
    upsert: bool,
) -> AppResult<Vec<Variable>> {
    let txn = store.begin_write().await?;
    let mut out = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let prefix = format!("orgVariables.{i}.");
        let result = async {
            let existing = match input.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(raw) => {
                    let id = super::parse_id("id", raw)?;
                    let (v, org) = visible(store, actor, id).await?;
                    actor.check(&org, Access::Write)?;
                    Some(v)
                }
                None => {
                    let org = writable_org(store, actor, input.org_id.as_deref(), "orgId").await?;
                    let name = input
                        .name
                        .as_deref()
                        .map(parse_name)
                        .transpose()
                        .map_err(|e| AppError::Invalid(vec![e]))?;
                    let name = name.ok_or_else(|| {
                        AppError::invalid("name", "REQUIRED_FIELD", "is required")
                    })?;
                    let found = org_variable::Entity::find()
                        .filter(org_variable::Column::OrgId.eq(org.id))
                        .filter(org_variable::Column::Name.eq(&name))
                        .one(&txn)
                        .await?;
                    match (found, upsert) {
                        (Some(v), _) => Some(v),
                        (None, true) => return insert_new(&txn, store, actor, &org, input).await,
                        (None, false) => {
                            return Err(AppError::NotFound(format!(
                                "Variable {name} of organization {}",
                                org.id
                            )));
                        }
                    }
                }
            };
            match existing {
                Some(v) => change_existing(&txn, store, actor, v, input).await,
                None => Err(AppError::internal(anyhow::anyhow!(
                    "unreachable: no variable to change"
                ))),
            }
        }
        .await
        .map_err(|e| e.within(&prefix))?;
        out.push(result);
    }
    txn.commit().await?;
    let clear = unmask(actor, Some(false));
    out.into_iter().map(|v| shown(store, v, clear)).collect()
}

/// `deleteOrgVariable`: returns the id.
pub async fn delete(store: &Store, actor: &Actor, id: Uuid) -> AppResult<Uuid> {
    let (v, org) = visible(store, actor, id).await?;
    actor.check(&org, Access::Write)?;
    let txn = store.begin_write().await?;
    org_variable::Entity::delete_by_id(v.id).exec(&txn).await?;
    record(
        &txn,
        actor,
        "delete",
        Some(&v),
        None,
        (v.value.clone(), None),
    )
    .await?;
    txn.commit().await?;
    Ok(v.id)
}

/// Sets (or with `None` removes) a `system` variable of `org`, e.g. a PSA mapping, inside
/// the caller's transaction, with its history.
pub(crate) async fn set_system<C: ConnectionTrait>(
    conn: &C,
    store: &Store,
    actor: &Actor,
    org: &Org,
    name: &str,
    value: Option<&str>,
    pack_config_id: Option<Uuid>,
) -> AppResult<()> {
    let _ = store;
    let existing = org_variable::Entity::find()
        .filter(org_variable::Column::OrgId.eq(org.id))
        .filter(org_variable::Column::Name.eq(name))
        .one(conn)
        .await?;
    match (existing, value) {
        (None, None) => Ok(()),
        (Some(v), None) => {
            org_variable::Entity::delete_by_id(v.id).exec(conn).await?;
            record(
                conn,
                actor,
                "delete",
                Some(&v),
                None,
                (v.value.clone(), None),
            )
            .await
        }
        (Some(v), Some(new)) => {
            if v.value.as_deref() == Some(new)
                && v.pack_config_id == pack_config_id
                && v.category == Category::System.as_str()
            {
                return Ok(());
            }
            let mut model: org_variable::ActiveModel = v.clone().into();
            model.value = Set(Some(new.to_owned()));
            model.category = Set(Category::System.as_str().to_owned());
            model.pack_config_id = Set(pack_config_id);
            model.updated_at = Set(now());
            let updated = model.update(conn).await?;
            record(
                conn,
                actor,
                "update",
                Some(&v),
                Some(&updated),
                (v.value.clone(), Some(new.to_owned())),
            )
            .await
        }
        (None, Some(new)) => {
            let at = now();
            let created = org_variable::ActiveModel {
                id: Set(Uuid::now_v7()),
                org_id: Set(org.id),
                name: Set(name.to_owned()),
                value: Set(Some(new.to_owned())),
                category: Set(Category::System.as_str().to_owned()),
                cascade: Set(false),
                pack_config_id: Set(pack_config_id),
                created_at: Set(at),
                updated_at: Set(at),
            }
            .insert(conn)
            .await?;
            record(
                conn,
                actor,
                "create",
                None,
                Some(&created),
                (None, Some(new.to_owned())),
            )
            .await
        }
    }
}

/// `orgVariableHistory`: newest first; secret values appear as the mask.
pub async fn history(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    name: Option<&str>,
    page: (u64, u64),
) -> AppResult<Vec<HistoryEntry>> {
    organizations::visible(store, actor, org_id).await?;
    let mut query = history::Entity::find().filter(history::Column::OrgId.eq(org_id));
    if let Some(n) = name.map(str::trim).filter(|n| !n.is_empty()) {
        query = query.filter(history::Column::Name.eq(n));
    }
    Ok(query
        .order_by_desc(history::Column::CreatedAt)
        .order_by_desc(history::Column::Id)
        .limit(page.0)
        .offset(page.1)
        .all(&store.db)
        .await?)
}

/// Each org's own variables, by name, secrets masked.
pub async fn of_orgs(store: &Store, org_ids: &[Uuid]) -> AppResult<HashMap<Uuid, Vec<Variable>>> {
    let unique: HashSet<Uuid> = org_ids.iter().copied().collect();
    let rows = org_variable::Entity::find()
        .filter(org_variable::Column::OrgId.is_in(unique))
        .order_by_asc(org_variable::Column::Name)
        .all(&store.db)
        .await?;
    let mut out: HashMap<Uuid, Vec<Variable>> = HashMap::new();
    for v in rows {
        out.entry(v.org_id)
            .or_default()
            .push(shown(store, v, false)?);
    }
    Ok(out)
}

/// Writes an organization's settings in one transaction, each change in the history:
/// `Some(value)` creates or changes the org's own variable (category kept, `general` when
/// new), `None` removes it (the inherited or default value shows again).
pub(crate) async fn save_settings(
    store: &Store,
    actor: &Actor,
    org: &Org,
    entries: &[(String, Option<String>)],
    cascade: Option<bool>,
) -> AppResult<Vec<Variable>> {
    actor.check(org, Access::Write)?;
    let txn = store.begin_write().await?;
    let mut out = Vec::new();
    for (name, value) in entries {
        let existing = org_variable::Entity::find()
            .filter(org_variable::Column::OrgId.eq(org.id))
            .filter(org_variable::Column::Name.eq(name))
            .one(&txn)
            .await?;
        let field = format!("values.{name}.");
        match (existing, value) {
            (None, None) => {}
            (Some(v), None) => {
                org_variable::Entity::delete_by_id(v.id).exec(&txn).await?;
                record(
                    &txn,
                    actor,
                    "delete",
                    Some(&v),
                    None,
                    (v.value.clone(), None),
                )
                .await?;
            }
            (Some(v), Some(value)) => {
                let input = VariableInput {
                    value: Some(value.clone()),
                    cascade,
                    ..Default::default()
                };
                out.push(
                    change_existing(&txn, store, actor, v, &input)
                        .await
                        .map_err(|e| e.within(&field))?,
                );
            }
            (None, Some(value)) => {
                let input = VariableInput {
                    org_id: Some(org.id.to_string()),
                    name: Some(name.clone()),
                    value: Some(value.clone()),
                    category: Some(Category::General.as_str().to_owned()),
                    cascade: Some(cascade.unwrap_or(false)),
                    pack_config_id: None,
                    id: None,
                };
                out.push(
                    insert_new(&txn, store, actor, org, &input)
                        .await
                        .map_err(|e| e.within(&field))?,
                );
            }
        }
    }
    txn.commit().await?;
    out.into_iter().map(|v| shown(store, v, false)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_categories() {
        assert_eq!(parse_name(" cw_company_id ").unwrap(), "cw_company_id");
        assert_eq!(parse_name("").unwrap_err().code, "REQUIRED_FIELD");
        assert_eq!(parse_name("has space").unwrap_err().code, "INVALID_FORMAT");
        assert_eq!(
            parse_category(Some("secret")).unwrap(),
            Some(Category::Secret)
        );
        assert_eq!(
            parse_category(Some("password")).unwrap_err().code,
            "INVALID_FORMAT"
        );
        assert_eq!(
            for_history("secret", &Some("hunter2".into())),
            Some(MASK.into())
        );
        assert_eq!(for_history("general", &Some("x".into())), Some("x".into()));
    }
}
