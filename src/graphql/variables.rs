//! Organization variables: the `OrgVariable` type, its queries, mutations and history.
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use sea_orm::Value;

use super::inputs::{
    IdComparisonExp, OrganizationSearchInput, OrganizationWhereInput, StringComparisonExp, id_cmps,
    text_cmps,
};
use super::organizations::Organization;
use super::packs::{PackConfig, PackConfigSearch, PackConfigWhereInput};
use super::{actor, loaders, rfc3339, store};
use crate::domain::filter::Cmp;
use crate::domain::parse_id;
use crate::domain::variables::{self as vars, VarField, VarFilter, Variable, VariableInput};
use crate::error::AppResult;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OrgVariableCategory {
    #[graphql(name = "contact")]
    Contact,
    #[graphql(name = "general")]
    General,
    #[graphql(name = "secret")]
    Secret,
    #[graphql(name = "system")]
    System,
}

impl OrgVariableCategory {
    fn as_str(self) -> &'static str {
        match self {
            OrgVariableCategory::Contact => "contact",
            OrgVariableCategory::General => "general",
            OrgVariableCategory::Secret => "secret",
            OrgVariableCategory::System => "system",
        }
    }

    fn of(s: &str) -> OrgVariableCategory {
        match s {
            "contact" => OrgVariableCategory::Contact,
            "secret" => OrgVariableCategory::Secret,
            "system" => OrgVariableCategory::System,
            _ => OrgVariableCategory::General,
        }
    }
}

pub struct OrgVariable(pub Variable);

#[Object]
impl OrgVariable {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The value; `********` for a masked secret.
    async fn value(&self) -> Option<&str> {
        self.0.value.as_deref()
    }
    async fn category(&self) -> OrgVariableCategory {
        OrgVariableCategory::of(&self.0.category)
    }
    /// Whether it is the default for every organization below its own.
    async fn cascade(&self) -> bool {
        self.0.cascade
    }
    /// The organization it belongs to (for `visibleOrgVariables`: the one it comes from).
    async fn org_id(&self) -> ID {
        ID(self.0.org_id.to_string())
    }
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        let org = loaders(ctx).org.load_one(self.0.org_id).await?;
        org.map(Organization)
            .ok_or_else(|| async_graphql::Error::new("organization not found"))
    }
    async fn pack_config_id(&self) -> Option<ID> {
        self.0.pack_config_id.map(|i| ID(i.to_string()))
    }
    /// The integration config this variable belongs to (e.g. a PSA mapping).
    async fn pack_config(&self, ctx: &Context<'_>) -> Result<Option<PackConfig>> {
        let Some(id) = self.0.pack_config_id else {
            return Ok(None);
        };
        Ok(loaders(ctx).pack_config.load_one(id).await?.map(PackConfig))
    }
    async fn created_at(&self) -> String {
        rfc3339(&self.0.created_at)
    }
    async fn updated_at(&self) -> String {
        rfc3339(&self.0.updated_at)
    }
}

/// One change to a variable. Secret values appear as `********`.
#[derive(SimpleObject)]
pub struct OrgVariableHistoryEntry {
    id: ID,
    org_id: ID,
    variable_id: ID,
    name: String,
    /// `create`, `update` or `delete`.
    action: String,
    old_value: Option<String>,
    new_value: Option<String>,
    old_category: Option<OrgVariableCategory>,
    new_category: Option<OrgVariableCategory>,
    actor_id: Option<ID>,
    actor_username: Option<String>,
    created_at: String,
}

impl From<vars::HistoryEntry> for OrgVariableHistoryEntry {
    fn from(h: vars::HistoryEntry) -> Self {
        OrgVariableHistoryEntry {
            id: ID(h.id.to_string()),
            org_id: ID(h.org_id.to_string()),
            variable_id: ID(h.variable_id.to_string()),
            name: h.name,
            action: h.action,
            old_value: h.old_value,
            new_value: h.new_value,
            old_category: h.old_category.as_deref().map(OrgVariableCategory::of),
            new_category: h.new_category.as_deref().map(OrgVariableCategory::of),
            actor_id: h.actor_user_id.map(|i| ID(i.to_string())),
            actor_username: h.actor_username,
            created_at: rfc3339(&h.created_at),
        }
    }
}

#[derive(InputObject, Default, Clone)]
pub struct OrgVariableCategorySearchInput {
    #[graphql(name = "_eq")]
    pub eq: Option<OrgVariableCategory>,
    #[graphql(name = "_gt")]
    pub gt: Option<OrgVariableCategory>,
    #[graphql(name = "_gte")]
    pub gte: Option<OrgVariableCategory>,
    #[graphql(name = "_ilike")]
    pub ilike: Option<OrgVariableCategory>,
    #[graphql(name = "_in")]
    pub in_: Option<Vec<OrgVariableCategory>>,
    #[graphql(name = "_like")]
    pub like: Option<OrgVariableCategory>,
    #[graphql(name = "_lt")]
    pub lt: Option<OrgVariableCategory>,
    #[graphql(name = "_lte")]
    pub lte: Option<OrgVariableCategory>,
    #[graphql(name = "_ne")]
    pub ne: Option<OrgVariableCategory>,
    #[graphql(name = "_nilike")]
    pub nilike: Option<OrgVariableCategory>,
    #[graphql(name = "_nin")]
    pub nin: Option<Vec<OrgVariableCategory>>,
    #[graphql(name = "_nlike")]
    pub nlike: Option<OrgVariableCategory>,
    #[graphql(name = "_substr")]
    pub substr: Option<OrgVariableCategory>,
}

impl OrgVariableCategorySearchInput {
    /// Categories are plain words: every operator is the text operator on the category name.
    fn to_text(&self) -> StringComparisonExp {
        let s = |c: &Option<OrgVariableCategory>| c.map(|c| c.as_str().to_owned());
        let l = |c: &Option<Vec<OrgVariableCategory>>| {
            c.as_ref()
                .map(|v| v.iter().map(|c| c.as_str().to_owned()).collect())
        };
        StringComparisonExp {
            eq: s(&self.eq),
            gt: s(&self.gt),
            gte: s(&self.gte),
            ilike: s(&self.ilike),
            in_: l(&self.in_),
            like: s(&self.like),
            lt: s(&self.lt),
            lte: s(&self.lte),
            neq: s(&self.ne),
            nilike: s(&self.nilike),
            nin: l(&self.nin),
            nlike: s(&self.nlike),
            substr: s(&self.substr),
        }
    }
}

#[derive(InputObject, Default)]
pub struct OrgVariableSearchInput {
    pub category: Option<OrgVariableCategorySearchInput>,
    pub id: Option<IdComparisonExp>,
    pub name: Option<StringComparisonExp>,
    pub org_id: Option<IdComparisonExp>,
    pub organization: Option<OrganizationSearchInput>,
    pub pack_config: Option<PackConfigSearch>,
    pub pack_config_id: Option<IdComparisonExp>,
    /// Never matches secrets.
    pub value: Option<StringComparisonExp>,
}

#[derive(InputObject, Default)]
pub struct OrgVariableWhereInput {
    pub category: Option<OrgVariableCategory>,
    pub id: Option<ID>,
    pub name: Option<String>,
    pub org_id: Option<ID>,
    pub organization: Option<OrganizationWhereInput>,
    pub pack_config: Option<PackConfigWhereInput>,
    pub pack_config_id: Option<ID>,
    /// Never matches secrets.
    pub value: Option<String>,
}

#[derive(InputObject)]
pub struct OrgVariableCreateInput {
    pub cascade: bool,
    /// `general` unless given.
    pub category: Option<OrgVariableCategory>,
    pub id: Option<ID>,
    pub name: String,
    pub org_id: ID,
    pub pack_config_id: Option<ID>,
    pub value: String,
}

#[derive(InputObject)]
pub struct OrgVariableUpdateInput {
    pub cascade: Option<bool>,
    pub category: Option<OrgVariableCategory>,
    /// Which variable; without it, the one named `name` of `orgId`.
    pub id: Option<ID>,
    pub name: String,
    pub org_id: Option<ID>,
    pub pack_config_id: Option<ID>,
    pub value: Option<String>,
}

impl From<OrgVariableUpdateInput> for VariableInput {
    fn from(i: OrgVariableUpdateInput) -> Self {
        VariableInput {
            id: i.id.map(|x| x.0),
            org_id: i.org_id.map(|x| x.0),
            name: Some(i.name),
            value: i.value,
            category: i.category.map(|c| c.as_str().to_owned()),
            cascade: i.cascade,
            pack_config_id: i.pack_config_id.map(|x| x.0),
        }
    }
}

fn push(f: &mut VarFilter, field: VarField, cmps: Vec<Cmp>) {
    f.preds.extend(cmps.into_iter().map(|c| (field, c)));
}

fn var_filter(
    where_: Option<&OrgVariableWhereInput>,
    search: Option<&OrgVariableSearchInput>,
) -> AppResult<VarFilter> {
    let mut f = VarFilter::default();
    if let Some(w) = where_ {
        f.id = w.id.as_ref().map(|i| parse_id("where.id", i)).transpose()?;
        if let Some(c) = w.category {
            f.preds
                .push((VarField::Category, Cmp::Eq(Value::from(c.as_str()))));
        }
        if let Some(n) = &w.name {
            f.preds
                .push((VarField::Name, Cmp::Eq(Value::from(n.clone()))));
        }
        if let Some(o) = &w.org_id {
            f.preds.push((
                VarField::OrgId,
                Cmp::Eq(Value::from(parse_id("where.orgId", o)?)),
            ));
        }
        if let Some(p) = &w.pack_config_id {
            f.preds.push((
                VarField::PackConfigId,
                Cmp::Eq(Value::from(parse_id("where.packConfigId", p)?)),
            ));
        }
        if let Some(v) = &w.value {
            f.preds
                .push((VarField::Value, Cmp::Eq(Value::from(v.clone()))));
        }
        if let Some(o) = &w.organization {
            f.organization = Some(Box::new(o.to_filter("where.organization")?));
        }
        if let Some(pc) = &w.pack_config {
            f.pack_config = Some(pc.to_conditions("where.packConfig")?);
        }
    }
    if let Some(s) = search {
        if let Some(c) = &s.category {
            push(&mut f, VarField::Category, text_cmps(&c.to_text()));
        }
        if let Some(e) = &s.id {
            push(&mut f, VarField::Id, id_cmps("search.id", e)?);
        }
        if let Some(e) = &s.name {
            push(&mut f, VarField::Name, text_cmps(e));
        }
        if let Some(e) = &s.org_id {
            push(&mut f, VarField::OrgId, id_cmps("search.orgId", e)?);
        }
        if let Some(e) = &s.pack_config_id {
            push(
                &mut f,
                VarField::PackConfigId,
                id_cmps("search.packConfigId", e)?,
            );
        }
        if let Some(e) = &s.value {
            push(&mut f, VarField::Value, text_cmps(e));
        }
        if let Some(o) = &s.organization {
            let of = o.to_filter("search.organization")?;
            f.organization = Some(Box::new(match f.organization.take() {
                Some(mut existing) => {
                    existing.also.push(of);
                    *existing
                }
                None => of,
            }));
        }
        if let Some(pc) = &s.pack_config {
            f.pack_config = Some(pc.to_conditions("search.packConfig")?);
        }
    }
    Ok(f)
}

fn default_order() -> Option<Vec<Vec<String>>> {
    Some(vec![vec!["name".to_owned()]])
}

fn order_or_default(order: Option<Vec<Vec<String>>>) -> Vec<Vec<String>> {
    order.unwrap_or_else(|| vec![vec!["name".to_owned()]])
}

#[derive(Default)]
pub struct VariableQuery;

#[Object]
impl VariableQuery {
    /// The first variable that matches. Secrets are masked unless `maskSecrets: false`
    /// comes from an admin or member.
    async fn org_variable(
        &self,
        ctx: &Context<'_>,
        mask_secrets: Option<bool>,
        search: Option<OrgVariableSearchInput>,
        #[graphql(name = "where")] where_: Option<OrgVariableWhereInput>,
    ) -> Result<Option<OrgVariable>> {
        let filter = var_filter(where_.as_ref(), search.as_ref())?;
        Ok(
            vars::find_one(store(ctx), actor(ctx)?, &filter, mask_secrets)
                .await?
                .map(OrgVariable),
        )
    }

    /// Variables of the organizations the caller may see (each org's own).
    #[allow(clippy::too_many_arguments)]
    async fn org_variables(
        &self,
        ctx: &Context<'_>,
        limit: Option<i32>,
        mask_secrets: Option<bool>,
        offset: Option<i32>,
        #[graphql(default_with = "default_order()")] order: Option<Vec<Vec<String>>>,
        search: Option<OrgVariableSearchInput>,
        #[graphql(name = "where")] where_: Option<OrgVariableWhereInput>,
    ) -> Result<Vec<OrgVariable>> {
        let store = store(ctx);
        let filter = var_filter(where_.as_ref(), search.as_ref())?;
        let page = store.page(limit, offset)?;
        let rows = vars::list(
            store,
            actor(ctx)?,
            &filter,
            mask_secrets,
            &order_or_default(order),
            page,
        )
        .await?;
        Ok(rows.into_iter().map(OrgVariable).collect())
    }

    /// The variables in force for an organization: its own, and the cascading ones of the
    /// orgs above it (the nearest wins). `orgId` tells where each comes from. Secrets masked.
    async fn visible_org_variables(
        &self,
        ctx: &Context<'_>,
        limit: Option<i32>,
        offset: Option<i32>,
        #[graphql(default_with = "default_order()")] order: Option<Vec<Vec<String>>>,
        search: Option<OrgVariableSearchInput>,
        visible_for_org_id: ID,
    ) -> Result<Vec<OrgVariable>> {
        let store = store(ctx);
        let org = parse_id("visibleForOrgId", &visible_for_org_id)?;
        let filter = var_filter(None, search.as_ref())?;
        let page = store.page(limit, offset)?;
        let rows = vars::visible_for(
            store,
            actor(ctx)?,
            org,
            &filter,
            &order_or_default(order),
            page,
        )
        .await?;
        Ok(rows.into_iter().map(OrgVariable).collect())
    }

    async fn visible_org_variables_count(
        &self,
        ctx: &Context<'_>,
        search: Option<OrgVariableSearchInput>,
        visible_for_org_id: ID,
    ) -> Result<i32> {
        let org = parse_id("visibleForOrgId", &visible_for_org_id)?;
        let filter = var_filter(None, search.as_ref())?;
        let n = vars::visible_count(store(ctx), actor(ctx)?, org, &filter).await?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }

    /// Every create, update and delete of an organization's variables (optionally one
    /// name), newest first. Secret values appear as `********`.
    async fn org_variable_history(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        name: Option<String>,
        limit: Option<i32>,
        offset: Option<i32>,
    ) -> Result<Vec<OrgVariableHistoryEntry>> {
        let store = store(ctx);
        let org = parse_id("orgId", &org_id)?;
        let page = store.page(limit, offset)?;
        Ok(
            vars::history(store, actor(ctx)?, org, name.as_deref(), page)
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
        )
    }
}

#[derive(Default)]
pub struct VariableMutation;

#[Object]
impl VariableMutation {
    async fn create_org_variable(
        &self,
        ctx: &Context<'_>,
        org_variable: OrgVariableCreateInput,
    ) -> Result<Option<OrgVariable>> {
        let input = VariableInput {
            id: org_variable.id.map(|i| i.0),
            org_id: Some(org_variable.org_id.0),
            name: Some(org_variable.name),
            value: Some(org_variable.value),
            category: org_variable.category.map(|c| c.as_str().to_owned()),
            cascade: Some(org_variable.cascade),
            pack_config_id: org_variable.pack_config_id.map(|i| i.0),
        };
        Ok(Some(OrgVariable(
            vars::create(store(ctx), actor(ctx)?, &input).await?,
        )))
    }

    /// Changes existing variables (by `id`, or by `orgId` and `name`): all or none.
    async fn update_org_variables(
        &self,
        ctx: &Context<'_>,
        org_variables: Vec<OrgVariableUpdateInput>,
    ) -> Result<Vec<OrgVariable>> {
        let inputs: Vec<VariableInput> = org_variables.into_iter().map(Into::into).collect();
        Ok(vars::update_many(store(ctx), actor(ctx)?, &inputs, false)
            .await?
            .into_iter()
            .map(OrgVariable)
            .collect())
    }

    /// Creates or changes variables by `orgId` and `name`: all or none.
    async fn bulk_update_org_variables(
        &self,
        ctx: &Context<'_>,
        org_variables: Vec<OrgVariableUpdateInput>,
    ) -> Result<Vec<OrgVariable>> {
        let inputs: Vec<VariableInput> = org_variables.into_iter().map(Into::into).collect();
        Ok(vars::update_many(store(ctx), actor(ctx)?, &inputs, true)
            .await?
            .into_iter()
            .map(OrgVariable)
            .collect())
    }

    /// Returns the deleted variable's id.
    async fn delete_org_variable(&self, ctx: &Context<'_>, id: ID) -> Result<Option<ID>> {
        let id = parse_id("id", &id)?;
        Ok(Some(ID(vars::delete(store(ctx), actor(ctx)?, id)
            .await?
            .to_string())))
    }
}
