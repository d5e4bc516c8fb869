//! Tags: labels owned by an organization (usable at it and everywhere below it) or
//! global (usable everywhere). Names are unique per owner, case-insensitively.
use std::collections::{HashMap, HashSet};

use entity::{organization, organization_tag, tag};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr,
    EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::filter::Cmp;
use super::names::{MAX_LEN, OrgName};
use super::organizations::{self, Org, OrgFilter, lineage};
use super::{Store, now, parse_order, unique_violation};
use crate::auth::{Access, Actor};
use crate::error::{AppError, AppResult, ValidationError};

pub use tag::Model as Tag;

/// Colours a new tag gets when none is given: readable on white and on dark backgrounds.
pub const PALETTE: [&str; 12] = [
    "#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7",
    "#9C755F", "#2F9E8F", "#6A5ACD", "#D4A017",
];

fn random_color() -> String {
    let mut b = [0u8; 1];
    let i = getrandom::fill(&mut b)
        .map(|_| b[0] as usize % PALETTE.len())
        .unwrap_or(0);
    PALETTE[i].to_owned()
}

/// `#RRGGBB`, stored upper-case; none given: a random colour of the palette.
pub fn parse_color(raw: Option<&str>) -> Result<String, ValidationError> {
    match raw.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(random_color()),
        Some(c)
            if c.len() == 7
                && c.starts_with('#')
                && c[1..].chars().all(|h| h.is_ascii_hexdigit()) =>
        {
            Ok(c.to_ascii_uppercase())
        }
        Some(c) => Err(ValidationError::new(
            "color",
            "INVALID_FORMAT",
            format!("`{c}` is not a colour such as #4E79A7"),
        )),
    }
}

fn parse_name(raw: &str) -> Result<OrgName, ValidationError> {
    OrgName::parse_field("name", raw)
}

fn parse_description(raw: Option<&str>) -> Result<Option<String>, ValidationError> {
    match raw.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) if d.chars().count() > 4 * MAX_LEN => Err(ValidationError::new(
            "description",
            "MAX_LENGTH_EXCEEDED",
            format!("at most {} characters", 4 * MAX_LEN),
        )),
        other => Ok(other.map(str::to_owned)),
    }
}

fn owner_key(org_id: Option<Uuid>) -> String {
    org_id.map(|i| i.to_string()).unwrap_or_default()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagField {
    Id,
    Name,
    OrgId,
}

impl TagField {
    fn column(self) -> tag::Column {
        match self {
            TagField::Id => tag::Column::Id,
            TagField::Name => tag::Column::Name,
            TagField::OrgId => tag::Column::OrgId,
        }
    }
}

const ORDER_COLUMNS: &[(&str, TagField)] = &[
    ("name", TagField::Name),
    ("id", TagField::Id),
    ("orgId", TagField::OrgId),
];

/// Conditions on tags, possibly through the organizations that carry them.
#[derive(Clone, Debug, Default)]
pub struct TagFilter {
    /// `where.id`: a tag the caller must be able to see, or `FORBIDDEN`.
    pub id: Option<Uuid>,
    pub preds: Vec<(TagField, Cmp)>,
    /// Tags carried by at least one organization that matches.
    pub organizations: Option<Box<OrgFilter>>,
    /// Tags carried by at least one of these organizations.
    pub carried_by: Option<Vec<Uuid>>,
}

impl TagFilter {
    /// Also: the tag is one of `ids`.
    pub fn with_ids(mut self, ids: &[Uuid]) -> Self {
        self.preds.push((
            TagField::Id,
            Cmp::In(ids.iter().map(|i| sea_orm::Value::from(*i)).collect()),
        ));
        self
    }

    pub(crate) fn condition(&self) -> Condition {
        let mut cond = Condition::all();
        if let Some(id) = self.id {
            cond = cond.add(tag::Column::Id.eq(id));
        }
        for (field, cmp) in &self.preds {
            cond = cond.add(match (field, cmp) {
                (TagField::Name, Cmp::Eq(v)) => {
                    Cmp::Eq(lower(v)).apply(Expr::col(tag::Column::NameKey))
                }
                _ => cmp.apply(Expr::col(field.column())),
            });
        }
        if let Some(orgs) = &self.organizations {
            let carriers = Query::select()
                .column(organization::Column::Id)
                .from(organization::Entity)
                .cond_where(orgs.condition(true))
                .to_owned();
            cond = cond.add(
                tag::Column::Id.in_subquery(
                    Query::select()
                        .column(organization_tag::Column::TagId)
                        .from(organization_tag::Entity)
                        .and_where(organization_tag::Column::OrgId.in_subquery(carriers))
                        .to_owned(),
                ),
            );
        }
        if let Some(ids) = &self.carried_by {
            cond = cond.add(
                tag::Column::Id.in_subquery(
                    Query::select()
                        .column(organization_tag::Column::TagId)
                        .from(organization_tag::Entity)
                        .and_where(organization_tag::Column::OrgId.is_in(ids.iter().copied()))
                        .to_owned(),
                ),
            );
        }
        cond
    }
}

fn lower(v: &sea_orm::Value) -> sea_orm::Value {
    match v {
        sea_orm::Value::String(Some(s)) => sea_orm::Value::from(s.trim().to_lowercase()),
        other => other.clone(),
    }
}

/// Tags the caller may see: owned by an org they reach, or by one above their own org
/// (those can be on their orgs), and — when asked — global ones.
fn scope(actor: &Actor, include_global: bool) -> Condition {
    let mut any = Condition::any();
    if include_global {
        any = any.add(tag::Column::OrgId.is_null());
    }
    if actor.is_staff {
        return any.add(tag::Column::OrgId.is_not_null());
    }
    any.add(
        tag::Column::OrgId.in_subquery(
            Query::select()
                .column(organization::Column::Id)
                .from(organization::Entity)
                .and_where(organization::Column::Path.starts_with(&actor.org_path))
                .to_owned(),
        ),
    )
    .add(tag::Column::OrgId.is_in(lineage(&actor.org_path)))
}

fn visible_to(actor: &Actor, t: &Tag, owner: Option<&Org>) -> bool {
    match (t.org_id, owner) {
        (None, _) => true,
        (Some(_), Some(o)) => actor.sees(o) || lineage(&actor.org_path).contains(&o.id),
        (Some(_), None) => false,
    }
}

/// One tag by id, if the caller may see it; otherwise `FORBIDDEN`.
async fn visible(store: &Store, actor: &Actor, id: Uuid) -> AppResult<(Tag, Option<Org>)> {
    let t = tag::Entity::find_by_id(id)
        .one(&store.db)
        .await?
        .ok_or(AppError::Forbidden)?;
    let owner = match t.org_id {
        Some(o) => organizations::by_ids(store, &[o]).await?.remove(&o),
        None => None,
    };
    if !visible_to(actor, &t, owner.as_ref()) {
        return Err(AppError::Forbidden);
    }
    Ok((t, owner))
}

/// A tag the caller may change: its owner must be within reach with write access;
/// global tags are the operators' (staff).
async fn writable(store: &Store, actor: &Actor, id: Uuid) -> AppResult<(Tag, Option<Org>)> {
    let (t, owner) = visible(store, actor, id).await?;
    match &owner {
        Some(o) => actor.check(o, Access::Write)?,
        None => {
            actor.require(Access::Write)?;
            actor.require_staff()?
        }
    }
    Ok((t, owner))
}

pub async fn find_one(store: &Store, actor: &Actor, filter: &TagFilter) -> AppResult<Option<Tag>> {
    if let Some(id) = filter.id {
        visible(store, actor, id).await?;
    }
    Ok(tag::Entity::find()
        .filter(scope(actor, true))
        .filter(filter.condition())
        .order_by_asc(tag::Column::NameKey)
        .order_by_asc(tag::Column::Id)
        .one(&store.db)
        .await?)
}

pub async fn list(
    store: &Store,
    actor: &Actor,
    filter: &TagFilter,
    include_global: bool,
    order: &[Vec<String>],
    page: (u64, u64),
) -> AppResult<Vec<Tag>> {
    if let Some(id) = filter.id {
        visible(store, actor, id).await?;
    }
    let mut query = tag::Entity::find()
        .filter(scope(actor, include_global))
        .filter(filter.condition());
    for (field, dir) in parse_order(order, ORDER_COLUMNS)? {
        query = match field {
            TagField::Name => query.order_by(tag::Column::NameKey, dir),
            f => query.order_by(f.column(), dir),
        };
    }
    Ok(query
        .order_by(tag::Column::Id, Order::Asc)
        .limit(page.0)
        .offset(page.1)
        .all(&store.db)
        .await?)
}

pub struct NewTag {
    pub id: Option<String>,
    pub name: String,
    /// `None`: a global tag (staff only).
    pub org_id: Option<Uuid>,
    pub color: Option<String>,
    pub description: Option<String>,
}

fn duplicate(e: DbErr) -> AppError {
    match unique_violation(&e) {
        Some(_) => AppError::invalid(
            "name",
            "DUPLICATE_IN_DATABASE",
            "a tag of this owner has this name",
        ),
        None => e.into(),
    }
}

pub async fn create(store: &Store, actor: &Actor, input: &NewTag) -> AppResult<Tag> {
    match input.org_id {
        Some(org_id) => {
            let org = organizations::visible(store, actor, org_id).await?;
            actor.check(&org, Access::Write)?;
        }
        None => {
            actor.require(Access::Write)?;
            actor.require_staff()?;
        }
    }
    let mut errors = Vec::new();
    let name = parse_name(&input.name).map_err(|e| errors.push(e)).ok();
    let color = parse_color(input.color.as_deref())
        .map_err(|e| errors.push(e))
        .ok();
    let description = parse_description(input.description.as_deref())
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
    let (Some(name), Some(color), Some(id)) = (name, color, id) else {
        return Err(AppError::Invalid(errors));
    };
    let at = now();
    tag::ActiveModel {
        id: Set(id),
        org_id: Set(input.org_id),
        owner_key: Set(owner_key(input.org_id)),
        name: Set(name.as_str().to_owned()),
        name_key: Set(name.key().to_owned()),
        color: Set(color),
        description: Set(description),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&store.db)
    .await
    .map_err(duplicate)
}

pub struct TagChange {
    pub id: Uuid,
    pub name: String,
    pub org_id: Uuid,
    pub color: Option<String>,
    pub description: Option<Option<String>>,
}

async fn apply_change<C: ConnectionTrait>(
    conn: &C,
    store: &Store,
    actor: &Actor,
    change: &TagChange,
) -> AppResult<Tag> {
    let (t, _) = writable(store, actor, change.id).await?;
    if t.org_id != Some(change.org_id) {
        return Err(AppError::invalid(
            "orgId",
            "NOT_UPDATABLE",
            "a tag keeps its owner; create a new tag instead",
        ));
    }
    let mut errors = Vec::new();
    let name = parse_name(&change.name).map_err(|e| errors.push(e)).ok();
    let color = match &change.color {
        Some(c) => parse_color(Some(c)).map_err(|e| errors.push(e)).ok(),
        None => Some(t.color.clone()),
    };
    let description = match &change.description {
        Some(d) => parse_description(d.as_deref())
            .map_err(|e| errors.push(e))
            .ok()
            .map(Some),
        None => Some(None),
    };
    let (Some(name), Some(color), Some(description)) = (name, color, description) else {
        return Err(AppError::Invalid(errors));
    };
    let mut model: tag::ActiveModel = t.into();
    model.name = Set(name.as_str().to_owned());
    model.name_key = Set(name.key().to_owned());
    model.color = Set(color);
    if let Some(d) = description {
        model.description = Set(d);
    }
    model.updated_at = Set(now());
    model.update(conn).await.map_err(duplicate)
}

/// `updateTag` / `updateTags`: every change or none.
pub async fn update(store: &Store, actor: &Actor, changes: &[TagChange]) -> AppResult<Vec<Tag>> {
    let txn = store.begin_write().await?;
    let mut out = Vec::with_capacity(changes.len());
    for (i, change) in changes.iter().enumerate() {
        let prefix = if changes.len() > 1 {
            format!("tags.{i}.")
        } else {
            String::new()
        };
        out.push(
            apply_change(&txn, store, actor, change)
                .await
                .map_err(|e| e.within(&prefix))?,
        );
    }
    txn.commit().await?;
    Ok(out)
}

/// Deletes a tag; organizations carrying it lose it.
pub async fn delete(store: &Store, actor: &Actor, id: Uuid) -> AppResult<Uuid> {
    let (t, _) = writable(store, actor, id).await?;
    let txn = store.begin_write().await?;
    organization_tag::Entity::delete_many()
        .filter(organization_tag::Column::TagId.eq(t.id))
        .exec(&txn)
        .await?;
    tag::Entity::delete_by_id(t.id).exec(&txn).await?;
    txn.commit().await?;
    Ok(t.id)
}

/// The tags among `ids` that an org at `org_path` may carry: global ones and those owned
/// at or above it. The others are listed in an `INVALID_TAGS` error.
pub async fn applicable<C: ConnectionTrait>(
    conn: &C,
    org_path: &str,
    ids: &[Uuid],
    field: &str,
) -> AppResult<Result<Vec<Uuid>, ValidationError>> {
    let unique: Vec<Uuid> = ids
        .iter()
        .copied()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let found = tag::Entity::find()
        .filter(tag::Column::Id.is_in(unique.iter().copied()))
        .all(conn)
        .await?;
    let above: HashSet<Uuid> = lineage(org_path).into_iter().collect();
    let ok: HashSet<Uuid> = found
        .iter()
        .filter(|t| t.org_id.is_none_or(|o| above.contains(&o)))
        .map(|t| t.id)
        .collect();
    let bad: Vec<String> = unique
        .iter()
        .filter(|i| !ok.contains(i))
        .map(Uuid::to_string)
        .collect();
    if bad.is_empty() {
        Ok(Ok(unique))
    } else {
        Ok(Err(ValidationError::new(
            field,
            "INVALID_TAGS",
            format!(
                "unknown tags, or tags owned outside this organization's tree: {}",
                bad.join(", ")
            ),
        )))
    }
}

/// Replaces the set of tags an organization carries.
pub async fn replace_on<C: ConnectionTrait>(
    conn: &C,
    org_id: Uuid,
    tag_ids: &[Uuid],
) -> AppResult<()> {
    organization_tag::Entity::delete_many()
        .filter(organization_tag::Column::OrgId.eq(org_id))
        .exec(conn)
        .await?;
    if tag_ids.is_empty() {
        return Ok(());
    }
    let at = now();
    organization_tag::Entity::insert_many(tag_ids.iter().map(|t| organization_tag::ActiveModel {
        org_id: Set(org_id),
        tag_id: Set(*t),
        created_at: Set(at),
    }))
    .exec(conn)
    .await?;
    Ok(())
}

/// `setOrganizationTags`: the whole set; `[]` clears it.
pub async fn set_on_org(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    tag_ids: &[Uuid],
) -> AppResult<Org> {
    let org = organizations::visible(store, actor, org_id).await?;
    actor.check(&org, Access::Write)?;
    if org.deleted_at.is_some() {
        return Err(AppError::NotFound(format!(
            "Organization {org_id} (it is deleted)"
        )));
    }
    let txn = store.begin_write().await?;
    let ids = applicable(&txn, &org.path, tag_ids, "tagIds")
        .await?
        .map_err(|e| AppError::Invalid(vec![e]))?;
    replace_on(&txn, org.id, &ids).await?;
    txn.commit().await?;
    Ok(org)
}

/// The tags each org carries, by name.
pub async fn of_orgs(store: &Store, org_ids: &[Uuid]) -> AppResult<HashMap<Uuid, Vec<Tag>>> {
    let links = organization_tag::Entity::find()
        .filter(organization_tag::Column::OrgId.is_in(org_ids.iter().copied()))
        .all(&store.db)
        .await?;
    let tag_ids: HashSet<Uuid> = links.iter().map(|l| l.tag_id).collect();
    let tags: HashMap<Uuid, Tag> = tag::Entity::find()
        .filter(tag::Column::Id.is_in(tag_ids))
        .order_by_asc(tag::Column::NameKey)
        .all(&store.db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let mut out: HashMap<Uuid, Vec<Tag>> = HashMap::new();
    for link in links {
        if let Some(t) = tags.get(&link.tag_id) {
            out.entry(link.org_id).or_default().push(t.clone());
        }
    }
    for list in out.values_mut() {
        list.sort_by(|a, b| a.name_key.cmp(&b.name_key).then(a.id.cmp(&b.id)));
    }
    Ok(out)
}

/// The tags each org owns, by name.
pub async fn owned_by(store: &Store, org_ids: &[Uuid]) -> AppResult<HashMap<Uuid, Vec<Tag>>> {
    let rows = tag::Entity::find()
        .filter(tag::Column::OrgId.is_in(org_ids.iter().copied()))
        .order_by_asc(tag::Column::NameKey)
        .all(&store.db)
        .await?;
    let mut out: HashMap<Uuid, Vec<Tag>> = HashMap::new();
    for t in rows {
        if let Some(o) = t.org_id {
            out.entry(o).or_default().push(t);
        }
    }
    Ok(out)
}

/// The live organizations carrying each tag, by name.
pub async fn carriers(store: &Store, tag_ids: &[Uuid]) -> AppResult<HashMap<Uuid, Vec<Org>>> {
    let links = organization_tag::Entity::find()
        .filter(organization_tag::Column::TagId.is_in(tag_ids.iter().copied()))
        .all(&store.db)
        .await?;
    let org_ids: Vec<Uuid> = links
        .iter()
        .map(|l| l.org_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let orgs = organizations::by_ids(store, &org_ids).await?;
    let mut out: HashMap<Uuid, Vec<Org>> = HashMap::new();
    for link in links {
        if let Some(o) = orgs.get(&link.org_id).filter(|o| o.deleted_at.is_none()) {
            out.entry(link.tag_id).or_default().push(o.clone());
        }
    }
    for list in out.values_mut() {
        list.sort_by(|a, b| a.name_key.cmp(&b.name_key).then(a.id.cmp(&b.id)));
    }
    Ok(out)
}

/// The tags of `list` the caller may see.
pub async fn visible_subset(store: &Store, actor: &Actor, list: Vec<Tag>) -> AppResult<Vec<Tag>> {
    let owners: Vec<Uuid> = list.iter().filter_map(|t| t.org_id).collect();
    let orgs = organizations::by_ids(store, &owners).await?;
    Ok(list
        .into_iter()
        .filter(|t| visible_to(actor, t, t.org_id.and_then(|o| orgs.get(&o))))
        .collect())
}

/// The ids of the tags named `names` (case-insensitively) that `org_id` owns or that are
/// global; `Err` lists the names that are neither.
pub async fn by_names(
    store: &Store,
    org_id: Uuid,
    names: &[String],
) -> AppResult<Result<Vec<Uuid>, Vec<String>>> {
    let keys: Vec<String> = names
        .iter()
        .map(|n| super::names::name_key(n))
        .filter(|k| !k.is_empty())
        .collect();
    let found = tag::Entity::find()
        .filter(tag::Column::NameKey.is_in(keys.iter().cloned()))
        .filter(
            Condition::any()
                .add(tag::Column::OrgId.eq(org_id))
                .add(tag::Column::OrgId.is_null()),
        )
        .all(&store.db)
        .await?;
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    for (key, name) in keys.iter().zip(names) {
        // The org's own tag wins over a global one of the same name.
        match found
            .iter()
            .find(|t| &t.name_key == key && t.org_id == Some(org_id))
            .or_else(|| found.iter().find(|t| &t.name_key == key))
        {
            Some(t) => ids.push(t.id),
            None => unknown.push(name.trim().to_owned()),
        }
    }
    Ok(if unknown.is_empty() {
        Ok(ids)
    } else {
        Err(unknown)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colors() {
        assert_eq!(parse_color(Some("#4e79a7")).unwrap(), "#4E79A7");
        assert!(PALETTE.contains(&parse_color(None).unwrap().as_str()));
        assert!(PALETTE.contains(&parse_color(Some(" ")).unwrap().as_str()));
        for bad in ["red", "#12345", "#GGGGGG", "4E79A7"] {
            assert_eq!(
                parse_color(Some(bad)).unwrap_err().code,
                "INVALID_FORMAT",
                "{bad}"
            );
        }
    }
}
