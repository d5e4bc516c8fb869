//! Organizations: the `Organization` type, its queries and its mutations.
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use super::inputs::{OrganizationSearchInput, OrganizationWhereInput, org_filter};
use super::scalars::Void;
use super::tags::Tag;
use super::users::User;
use super::variables::OrgVariable;
use super::{actor, loaders, rfc3339, store};
use crate::auth::Actor;
use crate::domain::organizations::{self as orgs, Crumb, NewOrg, Org, OrgChange, OrgFilter};
use crate::domain::{parse_id, parse_ids};
use crate::error::AppError;

fn default_order() -> Option<Vec<Vec<String>>> {
    Some(vec![vec!["name".to_owned()]])
}

fn order_of(
    order: &Option<Vec<Vec<String>>>,
) -> Result<Vec<(orgs::OrgField, sea_orm::Order)>, AppError> {
    // `null` (or a variable left unset) means the default order, as when the argument is absent.
    match order {
        Some(o) => orgs::parse_org_order(o),
        None => orgs::parse_org_order(&[vec!["name".to_owned()]]),
    }
}

/// An organization in an MSP's tree.
pub struct Organization(pub Org);

impl From<Org> for Organization {
    fn from(o: Org) -> Self {
        Organization(o)
    }
}

fn wrap(list: Vec<Org>) -> Vec<Organization> {
    list.into_iter().map(Organization).collect()
}

/// A list of orgs, with what its selection asks of each loaded up front.
async fn primed(ctx: &Context<'_>, list: Vec<Org>) -> Result<Vec<Organization>> {
    loaders(ctx).prime_orgs(&ctx.look_ahead(), &list).await?;
    Ok(wrap(list))
}

#[Object]
impl Organization {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn domain(&self) -> Option<&str> {
        self.0.domain.as_deref()
    }
    /// Lower-case letters, digits and dashes; unique in the tree.
    async fn org_slug(&self) -> &str {
        &self.0.org_slug
    }
    async fn managing_org_id(&self) -> Option<ID> {
        self.0.managing_org_id.map(|i| ID(i.to_string()))
    }
    /// The org above this one, when the caller may see it.
    async fn managing_org(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        let Some(id) = self.0.managing_org_id else {
            return Ok(None);
        };
        let caller = actor(ctx)?;
        let org = loaders(ctx).org.load_one(id).await?;
        Ok(org.filter(|o| caller.sees(o)).map(Organization))
    }
    /// Live organizations directly below this one.
    async fn managed_orgs(&self, ctx: &Context<'_>) -> Result<Vec<Organization>> {
        Ok(wrap(
            loaders(ctx)
                .children
                .load_one(self.0.id)
                .await?
                .unwrap_or_default(),
        ))
    }
    /// Every live organization below this one.
    async fn managed_and_sub_orgs(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "default_order()")] order: Option<Vec<Vec<String>>>,
    ) -> Result<Vec<Organization>> {
        let (store, caller) = (store(ctx), actor(ctx)?);
        let page = (store.max_page_size, 0);
        primed(
            ctx,
            orgs::managed_and_sub(
                store,
                caller,
                self.0.id,
                &[],
                &OrgFilter::default(),
                &order_of(&order)?,
                page,
            )
            .await?,
        )
        .await
    }
    /// How many live organizations lie below this one.
    async fn descendant_org_count(&self, ctx: &Context<'_>) -> Result<i32> {
        let n = loaders(ctx)
            .descendants
            .load_one((self.0.id, self.0.path.clone()))
            .await?
            .unwrap_or(0);
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
    /// Packs installed on it, by name.
    async fn installed_packs(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "default_order()")] order: Option<Vec<Vec<String>>>,
        search: Option<super::inputs::PackSearchInput>,
        #[graphql(name = "where")] where_: Option<super::packs::PackInput>,
    ) -> Result<Vec<super::packs::Pack>> {
        let ids = loaders(ctx)
            .packs_of_org
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let mut filter = where_.map(|w| w.to_filter()).unwrap_or_default();
        if let Some(s) = search {
            filter.preds.extend(s.to_filter("search")?.preds);
        }
        let mut list: Vec<&'static crate::domain::packs::PackSpec> = ids
            .iter()
            .filter_map(|i| crate::domain::packs::spec(i))
            .filter(|p| filter.matches(p))
            .collect();
        list.sort_by_key(|p| p.name);
        if order
            .iter()
            .flatten()
            .any(|o| o.get(1).is_some_and(|d| d.eq_ignore_ascii_case("desc")))
        {
            list.reverse();
        }
        Ok(list.into_iter().map(super::packs::Pack).collect())
    }
    /// Its own pack configs.
    async fn pack_configs(&self, ctx: &Context<'_>) -> Result<Vec<super::packs::PackConfig>> {
        let list = loaders(ctx)
            .configs_of_org
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(list.into_iter().map(super::packs::PackConfig).collect())
    }
    /// The pack configs it can use: its own and those of the organizations above it.
    async fn visible_pack_configs(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<super::packs::PackConfig>> {
        let ids: Vec<String> = crate::domain::packs::CATALOG
            .iter()
            .map(|p| p.id.to_owned())
            .collect();
        let list =
            crate::domain::pack_configs::for_org(store(ctx), actor(ctx)?, self.0.id, &ids).await?;
        Ok(list.into_iter().map(super::packs::PackConfig).collect())
    }
    /// Its 50 newest workflow executions.
    async fn workflow_executions(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<super::executions::WorkflowExecution>> {
        let list = loaders(ctx)
            .execs_of_org
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(list
            .into_iter()
            .map(super::executions::WorkflowExecution)
            .collect())
    }
    /// The tags it carries.
    async fn tags(&self, ctx: &Context<'_>) -> Result<Vec<Tag>> {
        Ok(loaders(ctx)
            .tags_of_org
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Tag)
            .collect())
    }
    /// The tags it owns (usable on it and below it).
    async fn created_tags(&self, ctx: &Context<'_>) -> Result<Vec<Tag>> {
        Ok(loaders(ctx)
            .tags_owned
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Tag)
            .collect())
    }
    /// Its own variables (not the inherited ones: see `visibleOrgVariables`); secrets masked.
    async fn variables(&self, ctx: &Context<'_>) -> Result<Vec<OrgVariable>> {
        Ok(loaders(ctx)
            .variables_of_org
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(OrgVariable)
            .collect())
    }
    async fn users(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        Ok(loaders(ctx)
            .users_of_org
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(User)
            .collect())
    }
    async fn is_enabled(&self) -> bool {
        self.0.is_enabled
    }
    async fn is_internal(&self) -> bool {
        self.0.is_internal
    }
    async fn is_onboarding(&self) -> bool {
        self.0.is_onboarding
    }
    /// A top-level organization: an MSP with its own tree.
    async fn is_msp(&self) -> bool {
        self.0.is_msp
    }
    /// The organization of the instance's operators.
    async fn is_staff(&self) -> bool {
        self.0.is_staff
    }
    async fn is_deleted(&self) -> bool {
        self.0.deleted_at.is_some()
    }
    async fn deleted_at(&self) -> Option<String> {
        self.0.deleted_at.as_ref().map(rfc3339)
    }
    async fn created_at(&self) -> String {
        rfc3339(&self.0.created_at)
    }
    async fn updated_at(&self) -> String {
        rfc3339(&self.0.updated_at)
    }
    /// Days a workflow execution's results are kept (1–30).
    async fn results_retention_days(&self) -> i32 {
        self.0.results_retention_days
    }
    async fn roc_site_id(&self) -> Option<&str> {
        self.0.roc_site_id.as_deref()
    }
    /// Microsoft Entra tenant id.
    async fn tid(&self) -> Option<ID> {
        self.0.tid.clone().map(ID)
    }
}

#[derive(SimpleObject)]
pub struct OrgBreadcrumb {
    id: ID,
    name: String,
}

impl From<Crumb> for OrgBreadcrumb {
    fn from(c: Crumb) -> Self {
        OrgBreadcrumb {
            id: ID(c.id.to_string()),
            name: c.name,
        }
    }
}

#[derive(SimpleObject)]
pub struct OrgSearchResult {
    id: ID,
    name: String,
    managing_org_id: Option<ID>,
    is_internal: bool,
    has_children: bool,
    breadcrumbs: Vec<OrgBreadcrumb>,
}

#[derive(InputObject, Default)]
pub struct SearchManagedOrgsInput {
    pub limit: Option<i32>,
    pub offset: Option<i32>,
    pub search: Option<String>,
}

#[derive(InputObject, Clone)]
pub struct OrganizationInput {
    pub domain: Option<String>,
    pub id: Option<ID>,
    pub is_enabled: Option<bool>,
    pub is_onboarding: Option<bool>,
    pub managing_org_id: Option<ID>,
    pub name: String,
    pub org_slug: Option<String>,
    pub roc_site_id: Option<String>,
    pub tag_ids: Option<Vec<ID>>,
    pub tid: Option<String>,
}

impl From<OrganizationInput> for NewOrg {
    fn from(i: OrganizationInput) -> Self {
        NewOrg {
            id: i.id.map(|i| i.0),
            name: i.name,
            domain: i.domain,
            org_slug: i.org_slug,
            managing_org_id: i.managing_org_id.map(|i| i.0),
            is_enabled: i.is_enabled,
            is_onboarding: i.is_onboarding,
            roc_site_id: i.roc_site_id,
            tid: i.tid,
            tag_names: None,
            tag_ids: i.tag_ids.map(|t| t.into_iter().map(|i| i.0).collect()),
        }
    }
}

#[derive(InputObject)]
pub struct OrganizationUpdateInput {
    pub id: ID,
    pub name: Option<String>,
    pub domain: MaybeUndefined<String>,
    pub org_slug: Option<String>,
    pub is_enabled: Option<bool>,
    pub is_internal: Option<bool>,
    pub is_onboarding: Option<bool>,
    /// Admins only; 1–30.
    pub results_retention_days: Option<i32>,
    pub roc_site_id: MaybeUndefined<String>,
    pub tid: MaybeUndefined<ID>,
    pub tag_ids: Option<Vec<ID>>,
    /// Not changed here: use `deleteOrganization` / `restoreOrganization`.
    pub is_deleted: Option<bool>,
    /// Not changed here: use `deleteOrganization` / `restoreOrganization`.
    pub deleted_at: Option<String>,
}

fn maybe<T, U>(m: MaybeUndefined<T>, f: impl Fn(T) -> U) -> Option<Option<U>> {
    match m {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(f(v))),
    }
}

impl From<OrganizationUpdateInput> for OrgChange {
    fn from(i: OrganizationUpdateInput) -> Self {
        let mut deletion_fields = Vec::new();
        if i.is_deleted.is_some() {
            deletion_fields.push("isDeleted");
        }
        if i.deleted_at.is_some() {
            deletion_fields.push("deletedAt");
        }
        OrgChange {
            id: i.id.0,
            name: i.name,
            domain: maybe(i.domain, |d| d),
            org_slug: i.org_slug,
            is_enabled: i.is_enabled,
            is_internal: i.is_internal,
            is_onboarding: i.is_onboarding,
            results_retention_days: i.results_retention_days,
            roc_site_id: maybe(i.roc_site_id, |r| r),
            tid: maybe(i.tid, |t| t.0),
            tag_ids: i.tag_ids.map(|t| t.into_iter().map(|i| i.0).collect()),
            deletion_fields,
        }
    }
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, AppError> {
    value.ok_or_else(|| AppError::invalid(field, "REQUIRED_FIELD", "is required"))
}

#[derive(Default)]
pub struct OrganizationQuery;

#[Object]
impl OrganizationQuery {
    /// The first organization that matches, within the caller's reach. Asking by an id
    /// out of reach is `FORBIDDEN`.
    async fn organization(
        &self,
        ctx: &Context<'_>,
        search: Option<OrganizationSearchInput>,
        #[graphql(name = "where")] where_: Option<OrganizationWhereInput>,
    ) -> Result<Option<Organization>> {
        let filter = org_filter(where_.as_ref(), search.as_ref())?;
        Ok(orgs::find_one(store(ctx), actor(ctx)?, &filter)
            .await?
            .map(Organization))
    }

    /// Organizations within the caller's reach. Soft-deleted ones only when `search.isDeleted` asks.
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        limit: Option<i32>,
        offset: Option<i32>,
        #[graphql(default_with = "default_order()")] order: Option<Vec<Vec<String>>>,
        search: Option<OrganizationSearchInput>,
        #[graphql(name = "where")] where_: Option<OrganizationWhereInput>,
    ) -> Result<Vec<Organization>> {
        let store = store(ctx);
        let filter = org_filter(where_.as_ref(), search.as_ref())?;
        let page = store.page(limit, offset)?;
        primed(
            ctx,
            orgs::list(store, actor(ctx)?, &filter, &order_of(&order)?, page).await?,
        )
        .await
    }

    /// Every organization below `parentOrgId` (not itself).
    #[allow(clippy::too_many_arguments)]
    async fn managed_and_sub_organizations(
        &self,
        ctx: &Context<'_>,
        has_tag_ids: Option<Vec<Option<ID>>>,
        limit: Option<i32>,
        offset: Option<i32>,
        #[graphql(default_with = "default_order()")] order: Option<Vec<Vec<String>>>,
        parent_org_id: ID,
        search: Option<OrganizationSearchInput>,
    ) -> Result<Vec<Organization>> {
        let store = store(ctx);
        let parent = parse_id("parentOrgId", &parent_org_id)?;
        let tags: Vec<String> = has_tag_ids
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .map(|i| i.0)
            .collect();
        let tags = parse_ids("hasTagIds", &tags)?;
        let filter = org_filter(None, search.as_ref())?;
        let page = store.page(limit, offset)?;
        primed(
            ctx,
            orgs::managed_and_sub(
                store,
                actor(ctx)?,
                parent,
                &tags,
                &filter,
                &order_of(&order)?,
                page,
            )
            .await?,
        )
        .await
    }

    /// Organizations of `rootOrgId`'s tree whose name contains `search`, with breadcrumbs
    /// from `breadcrumbRootOrgId`.
    async fn org_search(
        &self,
        ctx: &Context<'_>,
        breadcrumb_root_org_id: ID,
        root_org_id: ID,
        search: Option<String>,
    ) -> Result<Vec<OrgSearchResult>> {
        let crumb_root = parse_id("breadcrumbRootOrgId", &breadcrumb_root_org_id)?;
        let root = parse_id("rootOrgId", &root_org_id)?;
        let hits =
            orgs::org_search(store(ctx), actor(ctx)?, crumb_root, root, search.as_deref()).await?;
        Ok(hits
            .into_iter()
            .map(|h| OrgSearchResult {
                id: ID(h.org.id.to_string()),
                name: h.org.name,
                managing_org_id: h.org.managing_org_id.map(|i| ID(i.to_string())),
                is_internal: h.org.is_internal,
                has_children: h.has_children,
                breadcrumbs: h.breadcrumbs.into_iter().map(Into::into).collect(),
            })
            .collect())
    }

    /// Organizations below the caller's own whose name contains `input.search`.
    async fn search_managed_orgs(
        &self,
        ctx: &Context<'_>,
        input: SearchManagedOrgsInput,
    ) -> Result<Vec<Organization>> {
        let store = store(ctx);
        let page = store.page(input.limit, input.offset)?;
        primed(
            ctx,
            orgs::search_managed(store, actor(ctx)?, input.search.as_deref(), page).await?,
        )
        .await
    }

    /// The trail of organizations from `rootOrgId` down to `orgId`.
    async fn org_breadcrumb(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        root_org_id: ID,
    ) -> Result<Option<Vec<Option<OrgBreadcrumb>>>> {
        let org = parse_id("orgId", &org_id)?;
        let root = parse_id("rootOrgId", &root_org_id)?;
        let crumbs = orgs::breadcrumb(store(ctx), actor(ctx)?, org, root).await?;
        Ok(Some(crumbs.into_iter().map(|c| Some(c.into())).collect()))
    }

    /// Whether `orgId` lies below `parentOrgId`.
    async fn is_org_managed_by(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        parent_org_id: ID,
    ) -> Result<Option<bool>> {
        let org = parse_id("orgId", &org_id)?;
        let parent = parse_id("parentOrgId", &parent_org_id)?;
        Ok(Some(
            orgs::is_managed_by(store(ctx), actor(ctx)?, org, parent).await?,
        ))
    }

    /// Whether the caller manages `orgId` (it is their org or below it).
    async fn check_user_manages_org(&self, ctx: &Context<'_>, org_id: ID) -> Result<bool> {
        let org = parse_id("orgId", &org_id)?;
        Ok(orgs::user_manages(store(ctx), actor(ctx)?, org).await?)
    }

    /// Soft-deleted organizations below `managingOrgId` that can still be restored.
    async fn soft_deleted_orgs(
        &self,
        ctx: &Context<'_>,
        managing_org_id: ID,
    ) -> Result<Vec<Organization>> {
        let parent = parse_id("managingOrgId", &managing_org_id)?;
        primed(
            ctx,
            orgs::soft_deleted(store(ctx), actor(ctx)?, parent).await?,
        )
        .await
    }

    /// The caller's own organization.
    async fn user_organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        let caller: &Actor = actor(ctx)?;
        Ok(Some(Organization(
            orgs::visible(store(ctx), caller, caller.org_id).await?,
        )))
    }

    /// Every live organization the caller may see.
    async fn my_accessible_organizations(&self, ctx: &Context<'_>) -> Result<Vec<Organization>> {
        primed(ctx, orgs::accessible(store(ctx), actor(ctx)?).await?).await
    }
}

#[derive(Default)]
pub struct OrganizationMutation;

#[Object]
impl OrganizationMutation {
    /// Creates an organization under `managingOrgId` (default: the caller's org).
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        organization: Option<OrganizationInput>,
    ) -> Result<Option<Organization>> {
        let input = required(organization, "organization")?;
        Ok(Some(
            orgs::create(store(ctx), actor(ctx)?, &input.into())
                .await?
                .into(),
        ))
    }

    /// Creates each organization on its own: a failed one leaves a `null` in its slot
    /// and an error whose path ends with its index; the others are created.
    async fn create_organizations(
        &self,
        ctx: &Context<'_>,
        organizations: Vec<OrganizationInput>,
    ) -> Result<Option<Vec<Option<Organization>>>> {
        let (store, caller) = (store(ctx), actor(ctx)?);
        let mut out = Vec::with_capacity(organizations.len());
        for (i, input) in organizations.into_iter().enumerate() {
            match orgs::create(store, caller, &input.into()).await {
                Ok(org) => out.push(Some(org.into())),
                Err(e) => {
                    let mut err =
                        async_graphql::Error::from(e.within(&format!("organizations.{i}.")))
                            .into_server_error(ctx.item.pos);
                    err.path = vec![
                        async_graphql::PathSegment::Field(
                            ctx.item.node.response_key().node.to_string(),
                        ),
                        async_graphql::PathSegment::Index(i),
                    ];
                    ctx.add_error(err);
                    out.push(None);
                }
            }
        }
        Ok(Some(out))
    }

    /// Creates every organization or none (one transaction).
    async fn bulk_create_organizations(
        &self,
        ctx: &Context<'_>,
        organizations: Vec<OrganizationInput>,
    ) -> Result<Vec<Organization>> {
        let inputs: Vec<NewOrg> = organizations.into_iter().map(Into::into).collect();
        primed(
            ctx,
            orgs::create_all(store(ctx), actor(ctx)?, &inputs).await?,
        )
        .await
    }

    /// Changes an organization. Disabling it disables everything below it; re-enabling
    /// reaches below only with `cascadeChildOrgReenable`.
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(false)")] cascade_child_org_reenable: Option<bool>,
        organization: Option<OrganizationUpdateInput>,
    ) -> Result<Option<Organization>> {
        let change: OrgChange = required(organization, "organization")?.into();
        let cascade = cascade_child_org_reenable.unwrap_or(false);
        Ok(Some(
            orgs::update(store(ctx), actor(ctx)?, &change, cascade)
                .await?
                .into(),
        ))
    }

    /// Admins: sets shared settings (e.g. `resultsRetentionDays`) on an org and everything
    /// below it. Returns how many organizations changed.
    async fn update_managed_and_sub_organizations(
        &self,
        ctx: &Context<'_>,
        organization: OrganizationUpdateInput,
    ) -> Result<Option<i32>> {
        let n = orgs::update_tree(store(ctx), actor(ctx)?, &organization.into()).await?;
        Ok(Some(i32::try_from(n).unwrap_or(i32::MAX)))
    }

    /// Admins: soft-deletes an organization and everything below it (restorable for 30 days).
    async fn delete_organization(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Void>> {
        let id = parse_id("id", &id)?;
        orgs::delete(store(ctx), actor(ctx)?, &[id]).await?;
        Ok(None)
    }

    /// Admins: soft-deletes every organization given, or none.
    async fn bulk_delete_organizations(
        &self,
        ctx: &Context<'_>,
        organization_ids: Vec<ID>,
    ) -> Result<Option<Void>> {
        let raw: Vec<String> = organization_ids.into_iter().map(|i| i.0).collect();
        let ids = parse_ids("organizationIds", &raw)?;
        orgs::delete(store(ctx), actor(ctx)?, &ids).await?;
        Ok(None)
    }

    /// Admins: restores a soft-deleted organization and what was deleted with it.
    async fn restore_organization(&self, ctx: &Context<'_>, id: ID) -> Result<Organization> {
        let id = parse_id("id", &id)?;
        Ok(orgs::restore(store(ctx), actor(ctx)?, id).await?.into())
    }
}
