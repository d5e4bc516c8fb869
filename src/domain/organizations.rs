//! The organization tree: queries within the caller's reach, and the rules for
//! creating, changing, deleting and restoring organizations.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use entity::{organization, organization_tag, tag, user};
use sea_orm::sea_query::{Expr, Query, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseTransaction, DbErr, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement, Value,
};
use uuid::Uuid;

use super::filter::Cmp;
use super::names::{
    OrgDomain, OrgName, OrgSlug, parse_retention_days, parse_short_text, parse_tenant_id,
};
use super::tags::{self, TagFilter};
use super::users::UserFilter;
use super::{Store, now, parse_id, parse_order, reserved_names, unique_violation};
use crate::auth::{Access, Actor};
use crate::error::{AppError, AppResult, ValidationError};

pub use organization::Model as Org;

/// How long a soft-deleted organization can be restored before it is purged.
pub const RESTORE_WINDOW_DAYS: i64 = 30;
pub const DEFAULT_RETENTION_DAYS: i32 = 21;

/// Columns a filter or an order can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrgField {
    Id,
    Name,
    Domain,
    OrgSlug,
    ManagingOrgId,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
    IsEnabled,
    IsInternal,
    IsOnboarding,
    IsStaff,
    IsMsp,
    ResultsRetentionDays,
    RocSiteId,
    Tid,
    /// Compared with `Cmp::Eq(bool)`/`Cmp::Ne(bool)`: whether `deleted_at` is set.
    IsDeleted,
}

impl OrgField {
    fn column(self) -> organization::Column {
        use organization::Column as C;
        match self {
            OrgField::Id => C::Id,
            OrgField::Name => C::Name,
            OrgField::Domain => C::Domain,
            OrgField::OrgSlug => C::OrgSlug,
            OrgField::ManagingOrgId => C::ManagingOrgId,
            OrgField::CreatedAt => C::CreatedAt,
            OrgField::UpdatedAt => C::UpdatedAt,
            OrgField::DeletedAt | OrgField::IsDeleted => C::DeletedAt,
            OrgField::IsEnabled => C::IsEnabled,
            OrgField::IsInternal => C::IsInternal,
            OrgField::IsOnboarding => C::IsOnboarding,
            OrgField::IsStaff => C::IsStaff,
            OrgField::IsMsp => C::IsMsp,
            OrgField::ResultsRetentionDays => C::ResultsRetentionDays,
            OrgField::RocSiteId => C::RocSiteId,
            OrgField::Tid => C::Tid,
        }
    }
}

/// Columns `order` accepts, by their API names.
pub const ORDER_COLUMNS: &[(&str, OrgField)] = &[
    ("name", OrgField::Name),
    ("createdAt", OrgField::CreatedAt),
    ("updatedAt", OrgField::UpdatedAt),
    ("deletedAt", OrgField::DeletedAt),
    ("domain", OrgField::Domain),
    ("orgSlug", OrgField::OrgSlug),
    ("id", OrgField::Id),
    ("managingOrgId", OrgField::ManagingOrgId),
    ("isEnabled", OrgField::IsEnabled),
    ("isInternal", OrgField::IsInternal),
    ("isOnboarding", OrgField::IsOnboarding),
    ("resultsRetentionDays", OrgField::ResultsRetentionDays),
];

/// A conjunction of conditions on organizations, possibly through their relations.
#[derive(Clone, Debug, Default)]
pub struct OrgFilter {
    /// `where.id`: an org the caller must be able to see, or `FORBIDDEN`.
    pub id: Option<Uuid>,
    pub preds: Vec<(OrgField, Cmp)>,
    pub managing_org: Option<Box<OrgFilter>>,
    /// Orgs having at least one managed org that matches.
    pub managed_orgs: Option<Box<OrgFilter>>,
    pub users: Option<UserFilter>,
    /// Orgs carrying at least one tag that matches.
    pub tags: Option<Box<TagFilter>>,
    /// Further filters that must hold too (e.g. `search` beside `where`).
    pub also: Vec<OrgFilter>,
}

impl OrgFilter {
    fn mentions_deleted(&self) -> bool {
        self.preds
            .iter()
            .any(|(f, _)| matches!(f, OrgField::IsDeleted | OrgField::DeletedAt))
            || self.also.iter().any(OrgFilter::mentions_deleted)
    }

    /// The SQL condition. With `live_only`, soft-deleted orgs are left out unless the
    /// filter asks about them.
    pub(crate) fn condition(&self, live_only: bool) -> Condition {
        let mut cond = Condition::all();
        if let Some(id) = self.id {
            cond = cond.add(organization::Column::Id.eq(id));
        }
        for (field, cmp) in &self.preds {
            let col: SimpleExpr = Expr::col(field.column());
            cond = cond.add(match (field, cmp) {
                (OrgField::IsDeleted, Cmp::Eq(Value::Bool(Some(b)))) => Cmp::IsNull(!b).apply(col),
                (OrgField::IsDeleted, Cmp::Ne(Value::Bool(Some(b)))) => Cmp::IsNull(*b).apply(col),
                _ => cmp.apply(col),
            });
        }
        if live_only && !self.mentions_deleted() {
            cond = cond.add(organization::Column::DeletedAt.is_null());
        }
        if let Some(parent) = &self.managing_org {
            cond = cond.add(
                organization::Column::ManagingOrgId.in_subquery(
                    Query::select()
                        .column(organization::Column::Id)
                        .from(organization::Entity)
                        .cond_where(parent.condition(true))
                        .to_owned(),
                ),
            );
        }
        if let Some(child) = &self.managed_orgs {
            cond = cond.add(
                organization::Column::Id.in_subquery(
                    Query::select()
                        .column(organization::Column::ManagingOrgId)
                        .from(organization::Entity)
                        .cond_where(
                            child
                                .condition(true)
                                .add(organization::Column::ManagingOrgId.is_not_null()),
                        )
                        .to_owned(),
                ),
            );
        }
        if let Some(users) = &self.users {
            cond = cond.add(
                organization::Column::Id.in_subquery(
                    Query::select()
                        .column(user::Column::OrgId)
                        .from(user::Entity)
                        .cond_where(users.condition())
                        .to_owned(),
                ),
            );
        }
        if let Some(t) = &self.tags {
            cond = cond.add(carrying((**t).clone()));
        }
        for other in &self.also {
            cond = cond.add(other.condition(false));
        }
        cond
    }
}

/// Orgs carrying at least one tag that matches `filter`.
fn carrying(filter: TagFilter) -> Condition {
    Condition::all().add(
        organization::Column::Id.in_subquery(
            Query::select()
                .column(organization_tag::Column::OrgId)
                .from(organization_tag::Entity)
                .and_where(
                    organization_tag::Column::TagId.in_subquery(
                        Query::select()
                            .column(tag::Column::Id)
                            .from(tag::Entity)
                            .cond_where(filter.condition())
                            .to_owned(),
                    ),
                )
                .to_owned(),
        ),
    )
}

/// Rows the caller may see: their org and everything below it (staff: every tree).
fn scope(actor: &Actor) -> Condition {
    if actor.is_staff {
        Condition::all()
    } else {
        Condition::all().add(organization::Column::Path.starts_with(&actor.org_path))
    }
}

fn subtree(org: &Org) -> Condition {
    Condition::all().add(organization::Column::Path.starts_with(&org.path))
}

fn ordered(
    mut query: sea_orm::Select<organization::Entity>,
    order: &[(OrgField, Order)],
) -> sea_orm::Select<organization::Entity> {
    for (field, dir) in order {
        query = match field {
            OrgField::Name => query
                .order_by(organization::Column::NameKey, dir.clone())
                .order_by(organization::Column::Name, dir.clone()),
            OrgField::Domain => query.order_by(organization::Column::DomainKey, dir.clone()),
            f => query.order_by(f.column(), dir.clone()),
        };
    }
    query.order_by_asc(organization::Column::Id)
}

pub fn parse_org_order(order: &[Vec<String>]) -> AppResult<Vec<(OrgField, Order)>> {
    parse_order(order, ORDER_COLUMNS)
}

/// One org by id, if it exists and the caller may see it; otherwise `FORBIDDEN`.
pub async fn visible(store: &Store, actor: &Actor, id: Uuid) -> AppResult<Org> {
    let org = organization::Entity::find_by_id(id)
        .one(&store.db)
        .await?
        .ok_or(AppError::Forbidden)?;
    actor.check(&org, Access::Read)?;
    Ok(org)
}

/// Like `visible`, and the org must be live and the caller must have `access` there.
async fn live_with(store: &Store, actor: &Actor, id: Uuid, access: Access) -> AppResult<Org> {
    let org = visible(store, actor, id).await?;
    actor.check(&org, access)?;
    if org.deleted_at.is_some() {
        return Err(AppError::NotFound(format!(
            "Organization {id} (it is deleted)"
        )));
    }
    Ok(org)
}

pub async fn find_one(store: &Store, actor: &Actor, filter: &OrgFilter) -> AppResult<Option<Org>> {
    // Asked for by id, an org is found whether deleted or not, as its `isDeleted` tells.
    let live_only = match filter.id {
        Some(id) => {
            visible(store, actor, id).await?;
            false
        }
        None => true,
    };
    let query = organization::Entity::find()
        .filter(scope(actor))
        .filter(filter.condition(live_only));
    Ok(ordered(query, &[(OrgField::Name, Order::Asc)])
        .one(&store.db)
        .await?)
}

pub async fn list(
    store: &Store,
    actor: &Actor,
    filter: &OrgFilter,
    order: &[(OrgField, Order)],
    page: (u64, u64),
) -> AppResult<Vec<Org>> {
    if let Some(id) = filter.id {
        visible(store, actor, id).await?;
    }
    let query = organization::Entity::find()
        .filter(scope(actor))
        .filter(filter.condition(true));
    Ok(ordered(query, order)
        .limit(page.0)
        .offset(page.1)
        .all(&store.db)
        .await?)
}

/// Everything below `parent_id` (not the parent itself).
pub async fn managed_and_sub(
    store: &Store,
    actor: &Actor,
    parent_id: Uuid,
    has_tag_ids: &[Uuid],
    filter: &OrgFilter,
    order: &[(OrgField, Order)],
    page: (u64, u64),
) -> AppResult<Vec<Org>> {
    let parent = visible(store, actor, parent_id).await?;
    let mut query = organization::Entity::find()
        .filter(subtree(&parent))
        .filter(organization::Column::Id.ne(parent.id))
        .filter(filter.condition(true));
    if !has_tag_ids.is_empty() {
        // Organizations carrying any of the tags.
        query = query.filter(carrying(TagFilter::default().with_ids(has_tag_ids)));
    }
    Ok(ordered(query, order)
        .limit(page.0)
        .offset(page.1)
        .all(&store.db)
        .await?)
}

/// Live organizations directly below each of `ids`.
pub async fn children_of(store: &Store, ids: &[Uuid]) -> AppResult<HashMap<Uuid, Vec<Org>>> {
    let rows = organization::Entity::find()
        .filter(organization::Column::ManagingOrgId.is_in(ids.iter().copied()))
        .filter(organization::Column::DeletedAt.is_null())
        .order_by_asc(organization::Column::NameKey)
        .order_by_asc(organization::Column::Id)
        .all(&store.db)
        .await?;
    let mut out: HashMap<Uuid, Vec<Org>> = HashMap::new();
    for org in rows {
        if let Some(parent) = org.managing_org_id {
            out.entry(parent).or_default().push(org);
        }
    }
    Ok(out)
}

pub async fn by_ids(store: &Store, ids: &[Uuid]) -> AppResult<HashMap<Uuid, Org>> {
    let rows = organization::Entity::find()
        .filter(organization::Column::Id.is_in(ids.iter().copied()))
        .all(&store.db)
        .await?;
    Ok(rows.into_iter().map(|o| (o.id, o)).collect())
}

/// Number of live organizations below each org, in one query.
pub async fn descendant_counts(
    store: &Store,
    orgs: &[(Uuid, String)],
) -> AppResult<HashMap<Uuid, i64>> {
    if orgs.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = store.backend();
    let placeholder = |i: usize| {
        if backend == sea_orm::DbBackend::Postgres {
            format!("${i}")
        } else {
            "?".into()
        }
    };
    let list = (1..=orgs.len())
        .map(placeholder)
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT o.id AS id, COUNT(d.id) AS n FROM organizations o \
         LEFT JOIN organizations d ON d.path LIKE o.path || '%' AND d.id <> o.id AND d.deleted_at IS NULL \
         WHERE o.id IN ({list}) GROUP BY o.id"
    );
    let values: Vec<Value> = orgs.iter().map(|(id, _)| (*id).into()).collect();
    let rows = store
        .db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    let mut out = HashMap::new();
    for row in rows {
        let id: Uuid = row.try_get("", "id")?;
        let n: i64 = row.try_get("", "n")?;
        out.insert(id, n);
    }
    Ok(out)
}

/// All live organizations the caller may see, by name.
pub async fn accessible(store: &Store, actor: &Actor) -> AppResult<Vec<Org>> {
    let query = organization::Entity::find()
        .filter(scope(actor))
        .filter(organization::Column::DeletedAt.is_null());
    Ok(ordered(query, &[(OrgField::Name, Order::Asc)])
        .all(&store.db)
        .await?)
}

/// Orgs below the caller's org whose name contains `search`.
pub async fn search_managed(
    store: &Store,
    actor: &Actor,
    search: Option<&str>,
    page: (u64, u64),
) -> AppResult<Vec<Org>> {
    let mut query = organization::Entity::find()
        .filter(scope(actor))
        .filter(organization::Column::Id.ne(actor.org_id))
        .filter(organization::Column::DeletedAt.is_null());
    if let Some(s) = search.map(str::trim).filter(|s| !s.is_empty()) {
        query =
            query.filter(Cmp::Substr(s.to_owned()).apply(Expr::col(organization::Column::Name)));
    }
    Ok(ordered(query, &[(OrgField::Name, Order::Asc)])
        .limit(page.0)
        .offset(page.1)
        .all(&store.db)
        .await?)
}

/// Ids on a materialized path ("/root/…/own/"), from the root down to the org itself.
pub fn lineage(path: &str) -> Vec<Uuid> {
    path.split('/')
        .filter_map(|s| Uuid::parse_str(s).ok())
        .collect()
}

fn path_ids(org: &Org) -> Vec<Uuid> {
    lineage(&org.path)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crumb {
    pub id: Uuid,
    pub name: String,
}

/// The trail from `root` (or the highest org the caller sees) down to `org`.
fn trail(org: &Org, root: Option<Uuid>, names: &HashMap<Uuid, Org>, actor: &Actor) -> Vec<Crumb> {
    let ids = path_ids(org);
    let start = root
        .and_then(|r| ids.iter().position(|i| *i == r))
        .unwrap_or(0);
    ids[start..]
        .iter()
        .filter_map(|id| names.get(id))
        .filter(|o| actor.sees(o))
        .map(|o| Crumb {
            id: o.id,
            name: o.name.clone(),
        })
        .collect()
}

pub async fn breadcrumb(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    root_id: Uuid,
) -> AppResult<Vec<Crumb>> {
    let org = visible(store, actor, org_id).await?;
    visible(store, actor, root_id).await?;
    let ids = path_ids(&org);
    if !ids.contains(&root_id) {
        return Ok(Vec::new());
    }
    let names = by_ids(store, &ids).await?;
    Ok(trail(&org, Some(root_id), &names, actor))
}

#[derive(Clone, Debug)]
pub struct OrgSearchHit {
    pub org: Org,
    pub breadcrumbs: Vec<Crumb>,
    pub has_children: bool,
}

/// Live orgs in `root_id`'s tree whose name contains `search`, each with its trail from `crumb_root_id`.
pub async fn org_search(
    store: &Store,
    actor: &Actor,
    crumb_root_id: Uuid,
    root_id: Uuid,
    search: Option<&str>,
) -> AppResult<Vec<OrgSearchHit>> {
    let root = visible(store, actor, root_id).await?;
    visible(store, actor, crumb_root_id).await?;
    let mut query = organization::Entity::find()
        .filter(subtree(&root))
        .filter(organization::Column::DeletedAt.is_null());
    if let Some(s) = search.map(str::trim).filter(|s| !s.is_empty()) {
        query =
            query.filter(Cmp::Substr(s.to_owned()).apply(Expr::col(organization::Column::Name)));
    }
    let orgs = ordered(query, &[(OrgField::Name, Order::Asc)])
        .limit(store.max_page_size)
        .all(&store.db)
        .await?;
    let ancestor_ids: Vec<Uuid> = orgs
        .iter()
        .flat_map(path_ids)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let names = by_ids(store, &ancestor_ids).await?;
    let ids: Vec<Uuid> = orgs.iter().map(|o| o.id).collect();
    let parents: HashSet<Uuid> = organization::Entity::find()
        .select_only()
        .column(organization::Column::ManagingOrgId)
        .filter(organization::Column::ManagingOrgId.is_in(ids))
        .filter(organization::Column::DeletedAt.is_null())
        .distinct()
        .into_tuple::<Option<Uuid>>()
        .all(&store.db)
        .await?
        .into_iter()
        .flatten()
        .collect();
    Ok(orgs
        .into_iter()
        .map(|org| OrgSearchHit {
            breadcrumbs: trail(&org, Some(crumb_root_id), &names, actor),
            has_children: parents.contains(&org.id),
            org,
        })
        .collect())
}

/// Whether `org_id` lies strictly below `parent_id`. Both must be visible.
pub async fn is_managed_by(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    parent_id: Uuid,
) -> AppResult<bool> {
    let org = visible(store, actor, org_id).await?;
    let parent = visible(store, actor, parent_id).await?;
    Ok(org.id != parent.id && org.path.starts_with(&parent.path))
}

/// Whether the caller manages `org_id`. Never an error for orgs out of reach: just `false`.
pub async fn user_manages(store: &Store, actor: &Actor, org_id: Uuid) -> AppResult<bool> {
    let org = organization::Entity::find_by_id(org_id)
        .one(&store.db)
        .await?;
    Ok(org.is_some_and(|o| o.deleted_at.is_none() && actor.sees(&o)))
}

/// Soft-deleted orgs below `managing_org_id` that can still be restored, newest first.
pub async fn soft_deleted(
    store: &Store,
    actor: &Actor,
    managing_org_id: Uuid,
) -> AppResult<Vec<Org>> {
    let parent = visible(store, actor, managing_org_id).await?;
    let cutoff = now() - Duration::days(RESTORE_WINDOW_DAYS);
    Ok(organization::Entity::find()
        .filter(subtree(&parent))
        .filter(organization::Column::Id.ne(parent.id))
        .filter(organization::Column::DeletedAt.gt(cutoff))
        .order_by_desc(organization::Column::DeletedAt)
        .order_by_asc(organization::Column::NameKey)
        .limit(store.max_page_size)
        .all(&store.db)
        .await?)
}

// ---------------------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------------------

/// A new organization as the API (or an import row) gives it: raw, unvalidated text.
#[derive(Clone, Debug, Default)]
pub struct NewOrg {
    pub id: Option<String>,
    pub name: String,
    pub domain: Option<String>,
    pub org_slug: Option<String>,
    pub managing_org_id: Option<String>,
    pub is_enabled: Option<bool>,
    pub is_onboarding: Option<bool>,
    pub roc_site_id: Option<String>,
    pub tid: Option<String>,
    pub tag_ids: Option<Vec<String>>,
    /// Imports name tags instead: each must be the managing org's or global.
    pub tag_names: Option<Vec<String>>,
}

/// A new organization that passed every rule and can be inserted.
#[derive(Clone, Debug)]
pub struct ValidOrg {
    pub id: Uuid,
    pub name: OrgName,
    pub domain: Option<OrgDomain>,
    /// Given by the caller; when `None` one is generated from the name.
    pub slug: Option<OrgSlug>,
    pub managing_org: Org,
    pub is_enabled: bool,
    pub is_onboarding: bool,
    pub roc_site_id: Option<String>,
    pub tid: Option<String>,
    /// Tags it carries from the start, checked to be usable there.
    pub tag_ids: Vec<Uuid>,
}

/// Checks new organizations one by one, remembering what earlier rows of the same
/// batch claimed (for the `…_IN_FILE` codes). Shared by the API and the imports.
pub struct OrgValidator<'a> {
    store: &'a Store,
    actor: &'a Actor,
    reserved: Vec<String>,
    parents: HashMap<Uuid, Option<Org>>,
    /// What earlier rows claimed, and on which row.
    seen_names: HashMap<(Uuid, String), usize>,
    seen_domains: HashMap<(Uuid, String), usize>,
    seen_slugs: HashMap<(Uuid, String), usize>,
    seen_ids: HashSet<Uuid>,
    /// Imports tell "no such org" (`NOT_FOUND`) from "not yours" (`UNAUTHORIZED`), as documented.
    import_mode: bool,
    row: usize,
}

impl<'a> OrgValidator<'a> {
    pub async fn new(store: &'a Store, actor: &'a Actor) -> AppResult<Self> {
        Ok(OrgValidator {
            store,
            actor,
            reserved: reserved_names::all_keys(store).await?,
            parents: HashMap::new(),
            seen_names: HashMap::new(),
            seen_domains: HashMap::new(),
            seen_slugs: HashMap::new(),
            seen_ids: HashSet::new(),
            import_mode: false,
            row: 0,
        })
    }

    /// A validator for an import: rows are numbered, and a managing org that does not exist
    /// is `NOT_FOUND` rather than `UNAUTHORIZED`.
    pub async fn for_import(store: &'a Store, actor: &'a Actor) -> AppResult<Self> {
        let mut v = Self::new(store, actor).await?;
        v.import_mode = true;
        Ok(v)
    }

    /// The row the next `check` is about (for the `…_IN_FILE` messages).
    pub fn at_row(&mut self, row: usize) {
        self.row = row;
    }

    fn in_file(&self, what: &str, earlier: usize) -> String {
        if self.import_mode {
            format!("the same {what} as row {earlier}")
        } else {
            format!("another row has the same {what}")
        }
    }

    async fn managing_org(&mut self, id: Uuid) -> AppResult<Option<Org>> {
        if let Some(found) = self.parents.get(&id) {
            return Ok(found.clone());
        }
        let org = organization::Entity::find_by_id(id)
            .one(&self.store.db)
            .await?;
        self.parents.insert(id, org.clone());
        Ok(org)
    }

    /// Every rule for one new org. `Ok(Err(errors))` lists all the rules it breaks.
    pub async fn check(
        &mut self,
        input: &NewOrg,
        default_managing_org: Uuid,
    ) -> AppResult<Result<ValidOrg, Vec<ValidationError>>> {
        let mut errors = Vec::new();
        let name = OrgName::parse(&input.name).map_err(|e| errors.push(e)).ok();
        let domain = match input.domain.as_deref().map(OrgDomain::parse) {
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                errors.push(e);
                None
            }
            None => None,
        };
        let slug = match input
            .org_slug
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(raw) => OrgSlug::parse(raw).map_err(|e| errors.push(e)).ok(),
            None => None,
        };
        let tid = input
            .tid
            .as_deref()
            .map(parse_tenant_id)
            .transpose()
            .map_err(|e| errors.push(e))
            .ok()
            .flatten()
            .flatten();
        let roc_site_id = input
            .roc_site_id
            .as_deref()
            .map(|r| parse_short_text("rocSiteId", r))
            .transpose()
            .map_err(|e| errors.push(e))
            .ok()
            .flatten()
            .flatten();

        let id = match input.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Some(Uuid::now_v7()),
            Some(raw) => match Uuid::parse_str(raw) {
                Err(_) => {
                    errors.push(ValidationError::new(
                        "id",
                        "INVALID_FORMAT",
                        format!("`{raw}` is not a valid id"),
                    ));
                    None
                }
                Ok(id) => {
                    let taken = self.seen_ids.contains(&id)
                        || organization::Entity::find_by_id(id)
                            .count(&self.store.db)
                            .await?
                            > 0;
                    if taken {
                        errors.push(ValidationError::new(
                            "id",
                            "DUPLICATE_IN_DATABASE",
                            "an organization with this id exists",
                        ));
                    }
                    Some(id)
                }
            },
        };

        let managing_id = match input
            .managing_org_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Some(default_managing_org),
            Some(raw) => Uuid::parse_str(raw)
                .map_err(|_| {
                    errors.push(ValidationError::new(
                        "managingOrgId",
                        "INVALID_FORMAT",
                        format!("`{raw}` is not a valid id"),
                    ))
                })
                .ok(),
        };
        let mut managing = None;
        if let Some(mid) = managing_id {
            match self.managing_org(mid).await? {
                Some(org) if self.actor.sees(&org) && self.actor.has(Access::Write) => {
                    if org.deleted_at.is_some() {
                        errors.push(ValidationError::new(
                            "managingOrgId",
                            "NOT_FOUND",
                            "the managing organization is deleted",
                        ));
                    } else {
                        managing = Some(org);
                    }
                }
                None if self.import_mode => errors.push(ValidationError::new(
                    "managingOrgId",
                    "NOT_FOUND",
                    format!("no organization {mid}"),
                )),
                _ => errors.push(ValidationError::new(
                    "managingOrgId",
                    "UNAUTHORIZED",
                    "you cannot create organizations under this managing organization",
                )),
            }
        }

        let mut named_tags = Vec::new();
        if let (Some(names), Some(parent)) = (
            input.tag_names.as_ref().filter(|t| !t.is_empty()),
            &managing,
        ) {
            match tags::by_names(self.store, parent.id, names).await? {
                Ok(ids) => named_tags = ids,
                Err(unknown) => errors.push(ValidationError::new(
                    "tagNames",
                    "INVALID_TAGS",
                    format!(
                        "neither the managing organization's nor global tags: {}",
                        unknown.join(", ")
                    ),
                )),
            }
        }

        let mut tag_ids = Vec::new();
        if let (Some(raw), Some(parent)) =
            (input.tag_ids.as_ref().filter(|t| !t.is_empty()), &managing)
        {
            match raw
                .iter()
                .map(|t| Uuid::parse_str(t.trim()))
                .collect::<Result<Vec<_>, _>>()
            {
                Err(_) => errors.push(ValidationError::new(
                    "tagIds",
                    "INVALID_TAGS",
                    "every tag id must be a valid id",
                )),
                Ok(ids) => {
                    match tags::applicable(&self.store.db, &parent.path, &ids, "tagIds").await? {
                        Ok(ids) => tag_ids = ids,
                        Err(e) => errors.push(e),
                    }
                }
            }
        }

        if let Some(parent) = &managing {
            let root = parent.root_org_id;
            if let Some(name) = &name {
                if let Some(e) = reserved_rule(self.actor, &self.reserved, name) {
                    errors.push(e);
                } else if let Some(earlier) = self.seen_names.get(&(root, name.key().to_owned())) {
                    errors.push(ValidationError::new(
                        "name",
                        "DUPLICATE_IN_FILE",
                        self.in_file("name", *earlier),
                    ));
                } else {
                    errors.extend(name_rule(self.store, root, name, None).await?);
                }
            }
            if let Some(domain) = &domain {
                if let Some(earlier) = self.seen_domains.get(&(root, domain.key().to_owned())) {
                    errors.push(ValidationError::new(
                        "domain",
                        "DUPLICATE_DOMAIN_IN_FILE",
                        self.in_file("domain", *earlier),
                    ));
                } else {
                    errors.extend(domain_rule(self.store, root, domain, None).await?);
                }
            }
            if let Some(slug) = &slug {
                if let Some(earlier) = self.seen_slugs.get(&(root, slug.as_str().to_owned())) {
                    errors.push(ValidationError::new(
                        "orgSlug",
                        "DUPLICATE_IN_FILE",
                        self.in_file("slug", *earlier),
                    ));
                } else {
                    errors.extend(slug_rule(self.store, root, slug, None).await?);
                }
            }
        }

        // Later rows are compared with this one whether or not it is valid itself.
        if let Some(parent) = &managing {
            let (root, row) = (parent.root_org_id, self.row);
            if let Some(n) = &name {
                self.seen_names
                    .entry((root, n.key().to_owned()))
                    .or_insert(row);
            }
            if let Some(d) = &domain {
                self.seen_domains
                    .entry((root, d.key().to_owned()))
                    .or_insert(row);
            }
            if let Some(sl) = &slug {
                self.seen_slugs
                    .entry((root, sl.as_str().to_owned()))
                    .or_insert(row);
            }
        }
        if !errors.is_empty() {
            return Ok(Err(errors));
        }
        let (Some(id), Some(name), Some(managing_org)) = (id, name, managing) else {
            return Err(AppError::internal(anyhow::anyhow!(
                "validator passed a row without id, name or managing org"
            )));
        };
        self.seen_ids.insert(id);
        Ok(Ok(ValidOrg {
            id,
            name,
            domain,
            slug,
            managing_org,
            is_enabled: input.is_enabled.unwrap_or(true),
            is_onboarding: input.is_onboarding.unwrap_or(false),
            roc_site_id,
            tid,
            tag_ids: if named_tags.is_empty() {
                tag_ids
            } else {
                named_tags
            },
        }))
    }
}

/// Whether `name` contains a reserved name; staff are exempt.
fn reserved_rule(actor: &Actor, reserved: &[String], name: &OrgName) -> Option<ValidationError> {
    if actor.is_staff {
        return None;
    }
    reserved
        .iter()
        .find(|r| name.key().contains(r.as_str()))
        .map(|word| {
            ValidationError::new(
                "name",
                "RESERVED_NAME",
                format!("contains the reserved name `{word}`"),
            )
        })
}

/// Whether another live org of the tree has this name.
async fn name_rule(
    store: &Store,
    root: Uuid,
    name: &OrgName,
    except: Option<Uuid>,
) -> AppResult<Option<ValidationError>> {
    Ok(name_taken(store, root, name.key(), except).await?.then(|| {
        ValidationError::new(
            "name",
            "DUPLICATE_IN_DATABASE",
            format!("an organization named `{}` exists", name.as_str()),
        )
    }))
}

/// Whether another live org of the tree has this domain.
async fn domain_rule(
    store: &Store,
    root: Uuid,
    domain: &OrgDomain,
    except: Option<Uuid>,
) -> AppResult<Option<ValidationError>> {
    Ok(domain_taken(store, root, domain.key(), except)
        .await?
        .then(|| {
            ValidationError::new(
                "domain",
                "DUPLICATE_DOMAIN_IN_DATABASE",
                format!("an organization with domain `{}` exists", domain.as_str()),
            )
        }))
}

/// Whether another live org of the tree has this slug.
async fn slug_rule(
    store: &Store,
    root: Uuid,
    slug: &OrgSlug,
    except: Option<Uuid>,
) -> AppResult<Option<ValidationError>> {
    Ok(slug_taken(store, root, slug.as_str(), except)
        .await?
        .then(|| {
            ValidationError::new(
                "orgSlug",
                "DUPLICATE_IN_DATABASE",
                format!("the slug `{}` is taken", slug.as_str()),
            )
        }))
}

async fn taken(
    store: &Store,
    root: Uuid,
    cond: Condition,
    except: Option<Uuid>,
) -> AppResult<bool> {
    let mut query = organization::Entity::find()
        .filter(organization::Column::RootOrgId.eq(root))
        .filter(organization::Column::DeletedAt.is_null())
        .filter(cond);
    if let Some(id) = except {
        query = query.filter(organization::Column::Id.ne(id));
    }
    Ok(query.count(&store.db).await? > 0)
}

async fn name_taken(store: &Store, root: Uuid, key: &str, except: Option<Uuid>) -> AppResult<bool> {
    taken(
        store,
        root,
        Condition::all().add(organization::Column::NameKey.eq(key)),
        except,
    )
    .await
}

async fn domain_taken(
    store: &Store,
    root: Uuid,
    key: &str,
    except: Option<Uuid>,
) -> AppResult<bool> {
    taken(
        store,
        root,
        Condition::all().add(organization::Column::DomainKey.eq(key)),
        except,
    )
    .await
}

async fn slug_taken(
    store: &Store,
    root: Uuid,
    slug: &str,
    except: Option<Uuid>,
) -> AppResult<bool> {
    taken(
        store,
        root,
        Condition::all().add(organization::Column::OrgSlug.eq(slug)),
        except,
    )
    .await
}

/// The rule a unique-index violation stands for.
fn violation_error(message: &str) -> ValidationError {
    if message.contains("name_key") {
        ValidationError::new(
            "name",
            "DUPLICATE_IN_DATABASE",
            "an organization with this name exists",
        )
    } else if message.contains("domain_key") {
        ValidationError::new(
            "domain",
            "DUPLICATE_DOMAIN_IN_DATABASE",
            "an organization with this domain exists",
        )
    } else if message.contains("org_slug") {
        ValidationError::new("orgSlug", "DUPLICATE_IN_DATABASE", "this slug is taken")
    } else {
        ValidationError::new(
            "id",
            "DUPLICATE_IN_DATABASE",
            "an organization with this id exists",
        )
    }
}

/// Validation errors as the API reports them: a managing org out of reach is
/// `FORBIDDEN`, like every other "not yours".
pub fn rejection(errors: Vec<ValidationError>) -> AppError {
    if errors.iter().any(|e| e.code == "UNAUTHORIZED") {
        AppError::Forbidden
    } else {
        AppError::Invalid(errors)
    }
}

/// `base` if no live org of `root`'s tree has it, else the first free `base-N`.
async fn free_slug<C: ConnectionTrait>(
    conn: &C,
    root: Uuid,
    base: &OrgSlug,
    skip: usize,
) -> Result<String, DbErr> {
    let taken = |candidates: Vec<String>| async move {
        organization::Entity::find()
            .select_only()
            .column(organization::Column::OrgSlug)
            .filter(organization::Column::RootOrgId.eq(root))
            .filter(organization::Column::DeletedAt.is_null())
            .filter(organization::Column::OrgSlug.is_in(candidates))
            .into_tuple::<String>()
            .all(conn)
            .await
            .map(|v| v.into_iter().collect::<HashSet<String>>())
    };
    // The first ten candidates by exact match: one indexed lookup, whatever the tree's size.
    let first: Vec<String> = (1..=10)
        .map(|n| base.numbered(n).as_str().to_owned())
        .collect();
    let used = taken(first.clone()).await?;
    if let Some(free) = first.into_iter().filter(|c| !used.contains(c)).nth(skip) {
        return Ok(free);
    }
    // Crowded: every org whose slug starts with the base.
    let existing: HashSet<String> = organization::Entity::find()
        .select_only()
        .column(organization::Column::OrgSlug)
        .filter(organization::Column::RootOrgId.eq(root))
        .filter(organization::Column::DeletedAt.is_null())
        .filter(organization::Column::OrgSlug.starts_with(base.as_str()))
        .into_tuple::<String>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    let (mut n, mut skip) = (11, skip);
    loop {
        let candidate = base.numbered(n);
        if !existing.contains(candidate.as_str()) {
            if skip == 0 {
                return Ok(candidate.as_str().to_owned());
            }
            skip -= 1;
        }
        n += 1;
    }
}

/// `attempt` > 0 after losing a generated slug to a concurrent writer: the attempt-th free
/// candidate is taken, so writers racing for one base spread out instead of colliding again.
async fn insert<C: ConnectionTrait>(
    conn: &C,
    org: &ValidOrg,
    attempt: usize,
) -> Result<Org, DbErr> {
    let parent = &org.managing_org;
    let slug = match &org.slug {
        Some(given) => given.as_str().to_owned(),
        None => {
            free_slug(
                conn,
                parent.root_org_id,
                &OrgSlug::from_name(&org.name),
                attempt,
            )
            .await?
        }
    };
    let at = now();
    let created = organization::ActiveModel {
        id: Set(org.id),
        name: Set(org.name.as_str().to_owned()),
        name_key: Set(org.name.key().to_owned()),
        domain: Set(org.domain.as_ref().map(|d| d.as_str().to_owned())),
        domain_key: Set(org.domain.as_ref().map(|d| d.key().to_owned())),
        org_slug: Set(slug),
        managing_org_id: Set(Some(parent.id)),
        root_org_id: Set(parent.root_org_id),
        path: Set(format!("{}{}/", parent.path, org.id)),
        // An org below a disabled one starts disabled.
        is_enabled: Set(org.is_enabled && parent.is_enabled),
        is_internal: Set(false),
        is_onboarding: Set(org.is_onboarding),
        is_msp: Set(false),
        is_staff: Set(false),
        tid: Set(org.tid.clone()),
        roc_site_id: Set(org.roc_site_id.clone()),
        results_retention_days: Set(DEFAULT_RETENTION_DAYS),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    }
    .insert(conn)
    .await?;
    if !org.tag_ids.is_empty() {
        tags::replace_on(conn, created.id, &org.tag_ids)
            .await
            .map_err(|e| DbErr::Custom(e.client_message()))?;
    }
    Ok(created)
}

/// Inserts one validated org. A generated slug that a concurrent writer took is
/// regenerated; any other unique clash is the rule it stands for.
pub async fn insert_valid(store: &Store, org: &ValidOrg) -> AppResult<Org> {
    for attempt in 0..SLUG_ATTEMPTS {
        let txn = store.begin_write().await?;
        match try_insert(&txn, org, attempt).await? {
            Inserted::Created(created) => {
                txn.commit().await?;
                return Ok(*created);
            }
            Inserted::SlugTaken => continue,
        }
    }
    Err(slug_exhausted())
}

/// How many generated slugs an insert tries before giving up.
pub(crate) const SLUG_ATTEMPTS: usize = 20;

pub(crate) fn slug_exhausted() -> AppError {
    AppError::Conflict("Could not find a free slug; retry or give orgSlug".into())
}

pub(crate) enum Inserted {
    Created(Box<Org>),
    /// The generated slug was taken meanwhile: drop the transaction and try the next attempt.
    SlugTaken,
}

/// One attempt at inserting a validated org inside the caller's transaction, so the caller
/// can write more (a mapping, an import row's outcome) atomically with it. A uniqueness
/// clash (created meanwhile by someone else) is `BAD_USER_INPUT` with the import codes.
pub(crate) async fn try_insert(
    txn: &DatabaseTransaction,
    org: &ValidOrg,
    attempt: usize,
) -> AppResult<Inserted> {
    match insert(txn, org, attempt).await {
        Ok(created) => Ok(Inserted::Created(Box::new(created))),
        Err(e) => match unique_violation(&e) {
            Some(m) if m.contains("org_slug") && org.slug.is_none() => Ok(Inserted::SlugTaken),
            Some(m) => Err(AppError::Invalid(vec![violation_error(&m)])),
            None => Err(e.into()),
        },
    }
}

/// `createOrganization`: one org under `managingOrgId` (default: the caller's org).
pub async fn create(store: &Store, actor: &Actor, input: &NewOrg) -> AppResult<Org> {
    actor.require(Access::Write)?;
    let mut validator = OrgValidator::new(store, actor).await?;
    let valid = validator
        .check(input, actor.org_id)
        .await?
        .map_err(rejection)?;
    insert_valid(store, &valid).await
}

/// `bulkCreateOrganizations`: every org or none, in one transaction.
pub async fn create_all(store: &Store, actor: &Actor, inputs: &[NewOrg]) -> AppResult<Vec<Org>> {
    actor.require(Access::Write)?;
    let mut validator = OrgValidator::new(store, actor).await?;
    let mut valid = Vec::with_capacity(inputs.len());
    let mut errors = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        match validator.check(input, actor.org_id).await? {
            Ok(v) => valid.push(v),
            Err(errs) => errors.extend(errs.into_iter().map(|e| ValidationError {
                field: format!("organizations.{i}.{}", e.field),
                ..e
            })),
        }
    }
    if !errors.is_empty() {
        return Err(rejection(errors));
    }
    let txn = store.begin_write().await?;
    let mut created = Vec::with_capacity(valid.len());
    for (i, org) in valid.iter().enumerate() {
        match insert(&txn, org, 0).await {
            Ok(o) => created.push(o),
            Err(e) => {
                return Err(match unique_violation(&e) {
                    Some(m) => AppError::Invalid(vec![violation_error(&m)])
                        .within(&format!("organizations.{i}.")),
                    None => e.into(),
                });
            }
        }
    }
    txn.commit().await?;
    Ok(created)
}

/// A change to one organization. `Some(None)` clears an optional field.
#[derive(Clone, Debug, Default)]
pub struct OrgChange {
    pub id: String,
    pub name: Option<String>,
    pub domain: Option<Option<String>>,
    pub org_slug: Option<String>,
    pub is_enabled: Option<bool>,
    pub is_internal: Option<bool>,
    pub is_onboarding: Option<bool>,
    pub results_retention_days: Option<i32>,
    pub roc_site_id: Option<Option<String>>,
    pub tid: Option<Option<String>>,
    pub tag_ids: Option<Vec<String>>,
    /// `isDeleted`/`deletedAt` are not changed here: deleting has its own mutations.
    pub deletion_fields: Vec<&'static str>,
}

fn not_here(field: &str, hint: &str) -> ValidationError {
    ValidationError::new(field, "NOT_UPDATABLE", hint)
}

/// `updateOrganization`.
pub async fn update(
    store: &Store,
    actor: &Actor,
    change: &OrgChange,
    cascade_reenable: bool,
) -> AppResult<Org> {
    let id = parse_id("id", &change.id)?;
    let org = live_with(store, actor, id, Access::Write).await?;
    let mut errors: Vec<ValidationError> = change
        .deletion_fields
        .iter()
        .map(|f| not_here(f, "use deleteOrganization or restoreOrganization"))
        .collect();
    let mut model: organization::ActiveModel = org.clone().into();

    let root = org.root_org_id;
    if let Some(raw) = &change.name {
        match OrgName::parse(raw) {
            Err(e) => errors.push(e),
            Ok(name) => {
                if name.key() != org.name_key {
                    let reserved = reserved_names::all_keys(store).await?;
                    match reserved_rule(actor, &reserved, &name) {
                        Some(e) => errors.push(e),
                        None => errors.extend(name_rule(store, root, &name, Some(org.id)).await?),
                    }
                }
                model.name = Set(name.as_str().to_owned());
                model.name_key = Set(name.key().to_owned());
            }
        }
    }
    if let Some(raw) = &change.domain {
        match raw
            .as_deref()
            .map(OrgDomain::parse)
            .transpose()
            .map(Option::flatten)
        {
            Err(e) => errors.push(e),
            Ok(domain) => {
                if let Some(d) = &domain {
                    errors.extend(domain_rule(store, root, d, Some(org.id)).await?);
                }
                model.domain = Set(domain.as_ref().map(|d| d.as_str().to_owned()));
                model.domain_key = Set(domain.as_ref().map(|d| d.key().to_owned()));
            }
        }
    }
    if let Some(raw) = &change.org_slug {
        match OrgSlug::parse(raw) {
            Err(e) => errors.push(e),
            Ok(slug) => {
                errors.extend(slug_rule(store, root, &slug, Some(org.id)).await?);
                model.org_slug = Set(slug.as_str().to_owned());
            }
        }
    }
    if let Some(raw) = &change.tid {
        match raw.as_deref().map(parse_tenant_id).transpose() {
            Err(e) => errors.push(e),
            Ok(tid) => model.tid = Set(tid.flatten()),
        }
    }
    if let Some(raw) = &change.roc_site_id {
        match raw
            .as_deref()
            .map(|r| parse_short_text("rocSiteId", r))
            .transpose()
        {
            Err(e) => errors.push(e),
            Ok(v) => model.roc_site_id = Set(v.flatten()),
        }
    }
    if let Some(days) = change.results_retention_days {
        actor.check(&org, Access::Admin)?;
        match parse_retention_days(days) {
            Err(e) => errors.push(e),
            Ok(d) => model.results_retention_days = Set(d),
        }
    }
    let mut new_tags = None;
    if let Some(raw) = &change.tag_ids {
        match raw
            .iter()
            .map(|t| Uuid::parse_str(t.trim()))
            .collect::<Result<Vec<_>, _>>()
        {
            Err(_) => errors.push(ValidationError::new(
                "tagIds",
                "INVALID_TAGS",
                "every tag id must be a valid id",
            )),
            Ok(ids) => match tags::applicable(&store.db, &org.path, &ids, "tagIds").await? {
                Ok(ids) => new_tags = Some(ids),
                Err(e) => errors.push(e),
            },
        }
    }
    if let Some(v) = change.is_internal {
        model.is_internal = Set(v);
    }
    if let Some(v) = change.is_onboarding {
        model.is_onboarding = Set(v);
    }
    if change.is_enabled == Some(true) && !org.is_enabled {
        ensure_parent_enabled(store, &org, &mut errors).await?;
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    if let Some(v) = change.is_enabled {
        model.is_enabled = Set(v);
    }
    model.updated_at = Set(now());

    let txn = store.begin_write().await?;
    let updated = match model.update(&txn).await {
        Ok(o) => o,
        Err(e) => {
            return Err(match unique_violation(&e) {
                Some(m) => AppError::Invalid(vec![violation_error(&m)]),
                None => e.into(),
            });
        }
    };
    match change.is_enabled {
        // Disabling an org disables everything below it; re-enabling reaches below only when asked.
        Some(false) => {
            set_enabled_below(&txn, &org, false).await?;
        }
        Some(true) if cascade_reenable => {
            set_enabled_below(&txn, &org, true).await?;
        }
        _ => {}
    }
    if let Some(ids) = &new_tags {
        tags::replace_on(&txn, org.id, ids).await?;
    }
    txn.commit().await?;
    // A move changes the paths signed-in actors carry.
    store.actors.clear();
    Ok(updated)
}

async fn ensure_parent_enabled(
    store: &Store,
    org: &Org,
    errors: &mut Vec<ValidationError>,
) -> AppResult<()> {
    if let Some(pid) = org.managing_org_id
        && let Some(parent) = organization::Entity::find_by_id(pid).one(&store.db).await?
        && !parent.is_enabled
    {
        errors.push(ValidationError::new(
            "isEnabled",
            "PARENT_DISABLED",
            format!("enable the managing organization `{}` first", parent.name),
        ));
    }
    Ok(())
}

async fn set_enabled_below<C: ConnectionTrait>(
    conn: &C,
    org: &Org,
    enabled: bool,
) -> AppResult<u64> {
    let res = organization::Entity::update_many()
        .col_expr(organization::Column::IsEnabled, Expr::value(enabled))
        .col_expr(organization::Column::UpdatedAt, Expr::value(now()))
        .filter(subtree(org))
        .filter(organization::Column::Id.ne(org.id))
        .filter(organization::Column::DeletedAt.is_null())
        .exec(conn)
        .await?;
    Ok(res.rows_affected)
}

/// `updateManagedAndSubOrganizations`: the settings an org and everything below it share.
/// Admin only. Returns how many organizations were updated.
pub async fn update_tree(store: &Store, actor: &Actor, change: &OrgChange) -> AppResult<u64> {
    let id = parse_id("id", &change.id)?;
    let org = live_with(store, actor, id, Access::Admin).await?;
    let mut errors: Vec<ValidationError> = Vec::new();
    let per_org = [
        ("name", change.name.is_some()),
        ("domain", change.domain.is_some()),
        ("orgSlug", change.org_slug.is_some()),
        ("tid", change.tid.is_some()),
        ("rocSiteId", change.roc_site_id.is_some()),
        ("tagIds", change.tag_ids.is_some()),
    ];
    for (field, set) in per_org {
        if set {
            errors.push(not_here(
                field,
                "belongs to one organization; use updateOrganization",
            ));
        }
    }
    errors.extend(
        change
            .deletion_fields
            .iter()
            .map(|f| not_here(f, "use deleteOrganization or restoreOrganization")),
    );
    let days = change
        .results_retention_days
        .map(parse_retention_days)
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    if change.is_enabled == Some(true) {
        ensure_parent_enabled(store, &org, &mut errors).await?;
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let mut update = organization::Entity::update_many()
        .col_expr(organization::Column::UpdatedAt, Expr::value(now()));
    if let Some(d) = days {
        update = update.col_expr(organization::Column::ResultsRetentionDays, Expr::value(d));
    }
    if let Some(v) = change.is_enabled {
        update = update.col_expr(organization::Column::IsEnabled, Expr::value(v));
    }
    if let Some(v) = change.is_onboarding {
        update = update.col_expr(organization::Column::IsOnboarding, Expr::value(v));
    }
    if let Some(v) = change.is_internal {
        update = update.col_expr(organization::Column::IsInternal, Expr::value(v));
    }
    let res = update
        .filter(subtree(&org))
        .filter(organization::Column::DeletedAt.is_null())
        .exec(&store.db)
        .await?;
    Ok(res.rows_affected)
}

async fn deletable(store: &Store, actor: &Actor, id: Uuid) -> AppResult<Org> {
    let org = live_with(store, actor, id, Access::Admin).await?;
    if org.id == actor.org_id || org.managing_org_id.is_none() {
        return Err(AppError::invalid(
            "id",
            "NOT_DELETABLE",
            "your own organization and top-level organizations cannot be deleted",
        ));
    }
    Ok(org)
}

/// `deleteOrganization` / `bulkDeleteOrganizations`: soft-deletes each org and everything
/// below it, all or nothing. Restorable for 30 days.
pub async fn delete(store: &Store, actor: &Actor, ids: &[Uuid]) -> AppResult<u64> {
    let mut orgs = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let org = deletable(store, actor, *id).await.map_err(|e| {
            if ids.len() > 1 {
                e.within(&format!("organizationIds.{i}."))
            } else {
                e
            }
        })?;
        orgs.push(org);
    }
    let at = now();
    let txn = store.begin_write().await?;
    let mut total = 0;
    for org in &orgs {
        let res = organization::Entity::update_many()
            .col_expr(organization::Column::DeletedAt, Expr::value(at))
            .col_expr(organization::Column::UpdatedAt, Expr::value(at))
            .filter(subtree(org))
            .filter(organization::Column::DeletedAt.is_null())
            .exec(&txn)
            .await?;
        total += res.rows_affected;
    }
    txn.commit().await?;
    store.actors.clear();
    Ok(total)
}

/// `restoreOrganization`: brings back an org and what was deleted with it.
pub async fn restore(store: &Store, actor: &Actor, id: Uuid) -> AppResult<Org> {
    let org = visible(store, actor, id).await?;
    actor.check(&org, Access::Admin)?;
    let Some(deleted_at) = org.deleted_at else {
        return Err(AppError::Conflict(format!(
            "Organization `{}` is not deleted",
            org.name
        )));
    };
    if deleted_at < now() - Duration::days(RESTORE_WINDOW_DAYS) {
        return Err(AppError::Conflict(format!(
            "Organization `{}` was deleted more than {RESTORE_WINDOW_DAYS} days ago",
            org.name
        )));
    }
    if let Some(pid) = org.managing_org_id
        && let Some(parent) = organization::Entity::find_by_id(pid).one(&store.db).await?
        && parent.deleted_at.is_some()
    {
        return Err(AppError::Conflict(format!(
            "Restore the managing organization `{}` first",
            parent.name
        )));
    }
    // Everything deleted together with it comes back with it.
    let batch = organization::Entity::find()
        .filter(subtree(&org))
        .filter(organization::Column::DeletedAt.eq(deleted_at))
        .order_by_asc(organization::Column::Path)
        .all(&store.db)
        .await?;
    let mut errors = Vec::new();
    for o in &batch {
        let name = OrgName::parse(&o.name).map_err(|e| AppError::Invalid(vec![e]))?;
        errors.extend(name_rule(store, o.root_org_id, &name, None).await?);
        if let Some(domain) = o
            .domain
            .as_deref()
            .map(OrgDomain::parse)
            .transpose()
            .ok()
            .flatten()
            .flatten()
        {
            errors.extend(domain_rule(store, o.root_org_id, &domain, None).await?);
        }
    }
    for e in &mut errors {
        e.message.push_str("; change that one before restoring");
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let txn = store.begin_write().await?;
    let at = now();
    for o in batch {
        // A slug taken meanwhile is replaced: slugs are generated handles, names are not.
        let base = OrgSlug::parse(&o.org_slug).unwrap_or_else(|_| OrgSlug::fallback());
        let slug = free_slug(&txn, o.root_org_id, &base, 0).await?;
        let mut model: organization::ActiveModel = o.into();
        model.deleted_at = Set(None);
        model.updated_at = Set(at);
        model.org_slug = Set(slug);
        if let Err(e) = model.update(&txn).await {
            return Err(match unique_violation(&e) {
                Some(m) => AppError::Invalid(vec![violation_error(&m)]),
                None => e.into(),
            });
        }
    }
    txn.commit().await?;
    store.actors.clear();
    organization::Entity::find_by_id(id)
        .one(&store.db)
        .await?
        .ok_or(AppError::Forbidden)
}

/// Removes for good the organizations deleted more than `RESTORE_WINDOW_DAYS` before `as_of`
/// (the retention job passes the night's instant, so a rerun judges the same way), with
/// everything that hangs off them by cascade. Returns the purged ids.
///
/// One statement per org, deepest first: each delete stays short, and a child is counted
/// as purged by its own delete rather than vanishing by cascade under its parent's.
pub async fn purge_deleted(store: &Store, as_of: DateTime<Utc>) -> AppResult<Vec<Uuid>> {
    let cutoff = as_of - Duration::days(RESTORE_WINDOW_DAYS);
    let candidates: Vec<Uuid> = organization::Entity::find()
        .select_only()
        .column(organization::Column::Id)
        .filter(organization::Column::DeletedAt.lt(cutoff))
        .order_by_desc(organization::Column::Path)
        .into_tuple()
        .all(&store.db)
        .await?;
    let mut purged = Vec::with_capacity(candidates.len());
    for id in candidates {
        let res = organization::Entity::delete_many()
            .filter(organization::Column::Id.eq(id))
            // Checked again: it may have been restored or purged since the select.
            .filter(organization::Column::DeletedAt.lt(cutoff))
            .exec(&store.db)
            .await?;
        if res.rows_affected == 1 {
            purged.push(id);
        }
    }
    store.actors.clear();
    Ok(purged)
}

/// A new top-level organization (an MSP): its own tree.
pub async fn create_root<C: ConnectionTrait>(
    conn: &C,
    name: &OrgName,
    is_staff: bool,
) -> AppResult<Org> {
    let id = Uuid::now_v7();
    let at = now();
    let slug = OrgSlug::from_name(name);
    Ok(organization::ActiveModel {
        id: Set(id),
        name: Set(name.as_str().to_owned()),
        name_key: Set(name.key().to_owned()),
        domain: Set(None),
        domain_key: Set(None),
        org_slug: Set(slug.as_str().to_owned()),
        managing_org_id: Set(None),
        root_org_id: Set(id),
        path: Set(format!("/{id}/")),
        is_enabled: Set(true),
        is_internal: Set(false),
        is_onboarding: Set(false),
        is_msp: Set(true),
        is_staff: Set(is_staff),
        tid: Set(None),
        roc_site_id: Set(None),
        results_retention_days: Set(DEFAULT_RETENTION_DAYS),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    }
    .insert(conn)
    .await?)
}
