//! Packs (integration kinds), pack configs (configured instances) and the integration
//! listing.
use async_graphql::{Context, ID, InputObject, Json, Object, Result, SimpleObject};
use sea_orm::Value as DbValue;

use super::inputs::{
    BoolComparisonExp, IdComparisonExp, OrganizationWhereInput, PackSearchInput, PackStatus,
    PackType, StringComparisonExp, bool_cmps, id_cmps, text_cmps,
};
use super::organizations::{Organization, OrganizationInput};
use super::scalars::Void;
use super::tags::Tag;
use super::variables::OrgVariable;
use super::{actor, loaders, rfc3339, store};
use crate::domain::filter::Cmp;
use crate::domain::pack_configs::{
    self as configs, ConfigConditions, ConfigField, ConfigFilter, ConfigInput,
    PackConfig as ConfigRow,
};
use crate::domain::packs::{self, PackAttr, PackFilter, PackSpec};
use crate::domain::{parse_id, parse_ids};
use crate::error::{AppError, AppResult};

#[derive(InputObject, Default, Clone)]
#[graphql(name = "json_comparison_exp")]
pub struct JsonComparisonExp {
    #[graphql(name = "_contains")]
    pub contains: Option<Json<serde_json::Value>>,
    #[graphql(name = "_eq")]
    pub eq: Option<Json<serde_json::Value>>,
    #[graphql(name = "_ne")]
    pub ne: Option<Json<serde_json::Value>>,
}

#[derive(InputObject, Default, Clone)]
pub struct PackWhereInput {
    pub description: Option<String>,
    pub id: Option<ID>,
    pub installed_by: Option<OrganizationWhereInput>,
    pub is_oauth_configuration: Option<bool>,
    pub name: Option<String>,
    pub org_id: Option<ID>,
    pub pack_bundle_id: Option<ID>,
    pub pack_type: Option<PackType>,
    #[graphql(name = "ref")]
    pub ref_: Option<String>,
    pub status: Option<PackStatus>,
}

#[derive(InputObject, Default, Clone)]
pub struct PackConfigWhereInput {
    pub config: Option<Json<serde_json::Value>>,
    pub default: Option<bool>,
    pub description: Option<String>,
    pub id: Option<ID>,
    pub metadata: Option<Json<serde_json::Value>>,
    pub name: Option<String>,
    pub org_id: Option<ID>,
    pub pack: Option<PackWhereInput>,
    pub pack_id: Option<ID>,
    #[graphql(name = "ref")]
    pub ref_: Option<ID>,
}

#[derive(InputObject, Default, Clone)]
pub struct PackConfigSearch {
    pub config: Option<JsonComparisonExp>,
    pub default: Option<BoolComparisonExp>,
    pub description: Option<StringComparisonExp>,
    pub id: Option<IdComparisonExp>,
    pub metadata: Option<JsonComparisonExp>,
    pub name: Option<StringComparisonExp>,
    pub org_id: Option<IdComparisonExp>,
    pub pack: Option<PackSearchInput>,
    pub pack_id: Option<IdComparisonExp>,
}

#[derive(InputObject, Default, Clone)]
pub struct PackInput {
    pub description: Option<String>,
    pub icon: Option<String>,
    pub id: Option<ID>,
    pub installed_by: Option<OrganizationInput>,
    pub name: Option<String>,
    pub org_id: Option<ID>,
    pub pack_test_action_id: Option<ID>,
    pub pack_type: Option<PackType>,
    #[graphql(name = "ref")]
    pub ref_: Option<String>,
    pub status: Option<PackStatus>,
    pub tags: Option<Vec<String>>,
    pub uid: Option<String>,
    pub version: Option<String>,
}

fn eq(v: &str) -> Cmp {
    Cmp::Eq(DbValue::from(v.to_owned()))
}

fn pack_type_name(t: PackType) -> &'static str {
    match t {
        PackType::Backup => "BACKUP",
        PackType::Billing => "BILLING",
        PackType::Documentation => "DOCUMENTATION",
        PackType::IdentityProvider => "IDENTITY_PROVIDER",
        PackType::IdentityProviderLicensing => "IDENTITY_PROVIDER_LICENSING",
        PackType::Monitoring => "MONITORING",
        PackType::Psa => "PSA",
        PackType::Rmm => "RMM",
        PackType::Security => "SECURITY",
        PackType::Custom => "custom",
        PackType::Default => "default",
        PackType::Openapi => "openapi",
    }
}

fn status_name(s: PackStatus) -> &'static str {
    match s {
        PackStatus::Deprecated => "deprecated",
        PackStatus::Draft => "draft",
        PackStatus::Hidden => "hidden",
        PackStatus::Published => "published",
    }
}

fn enum_cmps<T: Copy>(
    eq_: Option<T>,
    ne: Option<T>,
    in_: &Option<Vec<T>>,
    nin: &Option<Vec<T>>,
    name: fn(T) -> &'static str,
) -> Vec<Cmp> {
    let mut out = Vec::new();
    if let Some(v) = eq_ {
        out.push(eq(name(v)));
    }
    if let Some(v) = ne {
        out.push(Cmp::Ne(DbValue::from(name(v))));
    }
    if let Some(v) = in_ {
        out.push(Cmp::In(v.iter().map(|x| DbValue::from(name(*x))).collect()));
    }
    if let Some(v) = nin {
        out.push(Cmp::Nin(
            v.iter().map(|x| DbValue::from(name(*x))).collect(),
        ));
    }
    out
}

impl PackWhereInput {
    pub fn to_filter(&self, at: &str) -> AppResult<PackFilter> {
        let mut f = PackFilter::default();
        let p = &mut f.preds;
        for (v, attr) in [
            (&self.description, PackAttr::Description),
            (&self.name, PackAttr::Name),
            (&self.ref_, PackAttr::Ref),
        ] {
            if let Some(v) = v {
                p.push((attr, eq(v)));
            }
        }
        if let Some(id) = &self.id {
            p.push((PackAttr::Id, eq(id)));
        }
        if let Some(t) = self.pack_type {
            p.push((PackAttr::PackType, eq(pack_type_name(t))));
        }
        if let Some(s) = self.status {
            p.push((PackAttr::Status, eq(status_name(s))));
        }
        f.oauth = self.is_oauth_configuration;
        if self.org_id.is_some() || self.pack_bundle_id.is_some() {
            // Catalog packs belong to no org and no bundle.
            p.push((PackAttr::Id, Cmp::In(Vec::new())));
        }
        if let Some(o) = &self.installed_by {
            f.installed_by = Some(Box::new(o.to_filter(&format!("{at}.installedBy"))?));
        }
        Ok(f)
    }
}

impl PackSearchInput {
    pub fn to_filter(&self, at: &str) -> AppResult<PackFilter> {
        let mut f = PackFilter::default();
        for (e, attr) in [
            (&self.description, PackAttr::Description),
            (&self.name, PackAttr::Name),
            (&self.ref_, PackAttr::Ref),
            (&self.uid, PackAttr::Uid),
            (&self.version, PackAttr::Version),
        ] {
            if let Some(e) = e {
                f.preds.extend(text_cmps(e).into_iter().map(|c| (attr, c)));
            }
        }
        if let Some(e) = &self.id {
            let ids =
                e.eq.iter()
                    .map(|i| eq(i))
                    .chain(e.ne.iter().map(|i| Cmp::Ne(DbValue::from(i.0.clone()))));
            f.preds.extend(ids.map(|c| (PackAttr::Id, c)));
            if let Some(v) = &e.in_ {
                f.preds.push((
                    PackAttr::Id,
                    Cmp::In(v.iter().map(|i| DbValue::from(i.0.clone())).collect()),
                ));
            }
            if let Some(v) = &e.nin {
                f.preds.push((
                    PackAttr::Id,
                    Cmp::Nin(v.iter().map(|i| DbValue::from(i.0.clone())).collect()),
                ));
            }
        }
        if let Some(t) = &self.pack_type {
            f.preds.extend(
                enum_cmps(t.eq, t.ne, &t.in_, &t.nin, pack_type_name)
                    .into_iter()
                    .map(|c| (PackAttr::PackType, c)),
            );
        }
        if let Some(s) = &self.status {
            f.preds.extend(
                enum_cmps(s.eq, s.ne, &s.in_, &s.nin, status_name)
                    .into_iter()
                    .map(|c| (PackAttr::Status, c)),
            );
        }
        if let Some(b) = &self.is_oauth_configuration {
            f.oauth = b.eq.or(b.ne.map(|v| !v));
        }
        if self.org_id.is_some() || self.pack_bundle_id.is_some() || self.tags.is_some() {
            return Err(AppError::invalid(
                at,
                "INVALID_FORMAT",
                "packs can be searched by id, name, ref, description, packType, status, uid, version, installedBy",
            ));
        }
        if let Some(o) = &self.installed_by {
            f.installed_by = Some(Box::new(o.to_filter(&format!("{at}.installedBy"))?));
        }
        Ok(f)
    }
}

impl PackInput {
    pub fn to_filter(&self) -> PackFilter {
        let mut f = PackFilter::default();
        for (v, attr) in [
            (&self.description, PackAttr::Description),
            (&self.name, PackAttr::Name),
            (&self.ref_, PackAttr::Ref),
            (&self.uid, PackAttr::Uid),
            (&self.version, PackAttr::Version),
        ] {
            if let Some(v) = v {
                f.preds.push((attr, eq(v)));
            }
        }
        if let Some(id) = &self.id {
            f.preds.push((PackAttr::Id, eq(id)));
        }
        if let Some(t) = self.pack_type {
            f.preds.push((PackAttr::PackType, eq(pack_type_name(t))));
        }
        if let Some(s) = self.status {
            f.preds.push((PackAttr::Status, eq(status_name(s))));
        }
        f
    }
}

impl PackConfigWhereInput {
    pub fn to_conditions(&self, at: &str) -> AppResult<ConfigConditions> {
        if self.config.is_some() || self.metadata.is_some() {
            return Err(AppError::invalid(
                at,
                "INVALID_FORMAT",
                "configs cannot be filtered by their config or metadata",
            ));
        }
        let mut c = ConfigConditions::default();
        if let Some(v) = &self.id {
            c.preds.push((
                ConfigField::Id,
                Cmp::Eq(DbValue::from(parse_id(&format!("{at}.id"), v)?)),
            ));
        }
        if let Some(v) = &self.org_id {
            c.preds.push((
                ConfigField::OrgId,
                Cmp::Eq(DbValue::from(parse_id(&format!("{at}.orgId"), v)?)),
            ));
        }
        if let Some(v) = &self.name {
            c.preds.push((ConfigField::Name, eq(v)));
        }
        if let Some(v) = &self.description {
            c.preds.push((ConfigField::Description, eq(v)));
        }
        if let Some(v) = self.default {
            c.preds
                .push((ConfigField::IsDefault, Cmp::Eq(DbValue::from(v))));
        }
        let mut pack_ids: Option<Vec<String>> = None;
        if let Some(v) = self.pack_id.as_ref().or(self.ref_.as_ref()) {
            pack_ids = Some(
                packs::spec(v)
                    .map(|s| vec![s.id.to_owned()])
                    .unwrap_or_default(),
            );
        }
        if let Some(p) = &self.pack {
            let f = p.to_filter(&format!("{at}.pack"))?;
            let matching: Vec<String> = packs::CATALOG
                .iter()
                .filter(|s| f.matches(s))
                .map(|s| s.id.to_owned())
                .collect();
            pack_ids = Some(match pack_ids {
                Some(ids) => ids.into_iter().filter(|i| matching.contains(i)).collect(),
                None => matching,
            });
        }
        if let Some(ids) = pack_ids {
            c.preds.push((
                ConfigField::PackId,
                Cmp::In(ids.into_iter().map(DbValue::from).collect()),
            ));
        }
        Ok(c)
    }
}

impl PackConfigSearch {
    pub fn to_conditions(&self, at: &str) -> AppResult<ConfigConditions> {
        if self.config.is_some() || self.metadata.is_some() || self.pack.is_some() {
            return Err(AppError::invalid(
                at,
                "INVALID_FORMAT",
                "configs can be searched by id, name, description, orgId, packId, default",
            ));
        }
        let mut c = ConfigConditions::default();
        if let Some(e) = &self.id {
            c.preds.extend(
                id_cmps(&format!("{at}.id"), e)?
                    .into_iter()
                    .map(|x| (ConfigField::Id, x)),
            );
        }
        if let Some(e) = &self.org_id {
            c.preds.extend(
                id_cmps(&format!("{at}.orgId"), e)?
                    .into_iter()
                    .map(|x| (ConfigField::OrgId, x)),
            );
        }
        if let Some(e) = &self.pack_id {
            let mut ids = Vec::new();
            for v in e.eq.iter().chain(e.in_.iter().flatten()) {
                ids.push(DbValue::from(
                    packs::spec(v).map(|s| s.id).unwrap_or("").to_owned(),
                ));
            }
            if !ids.is_empty() {
                c.preds.push((ConfigField::PackId, Cmp::In(ids)));
            }
        }
        if let Some(e) = &self.name {
            c.preds
                .extend(text_cmps(e).into_iter().map(|x| (ConfigField::Name, x)));
        }
        if let Some(e) = &self.description {
            c.preds.extend(
                text_cmps(e)
                    .into_iter()
                    .map(|x| (ConfigField::Description, x)),
            );
        }
        if let Some(e) = &self.default {
            c.preds.extend(
                bool_cmps(e)
                    .into_iter()
                    .map(|x| (ConfigField::IsDefault, x)),
            );
        }
        Ok(c)
    }
}

/// An integration kind of the catalog.
pub struct Pack(pub &'static PackSpec);

#[Object]
impl Pack {
    async fn id(&self) -> &str {
        self.0.id
    }
    async fn uid(&self) -> &str {
        self.0.id
    }
    async fn name(&self) -> &str {
        self.0.name
    }
    #[graphql(name = "ref")]
    async fn ref_(&self) -> &str {
        self.0.reference
    }
    async fn description(&self) -> &str {
        self.0.description
    }
    async fn icon(&self) -> Option<&str> {
        None
    }
    /// `PSA` for the catalog's; `custom` or `openapi` for an organization's own.
    async fn pack_type(&self) -> PackType {
        match self.0.pack_type {
            "custom" => PackType::Custom,
            "openapi" => PackType::Openapi,
            _ => PackType::Psa,
        }
    }
    async fn status(&self) -> PackStatus {
        PackStatus::Published
    }
    async fn version(&self) -> &str {
        self.0.version
    }
    async fn is_default(&self) -> bool {
        false
    }
    /// One installation serves the MSP and every organization below it.
    async fn is_multitenancy_enabled(&self) -> bool {
        true
    }
    async fn is_oauth_configuration(&self) -> bool {
        false
    }
    /// The organization a custom pack belongs to; none for the catalog's.
    async fn org_id(&self) -> Option<ID> {
        self.0.owner_org.map(|o| ID(o.to_string()))
    }
    /// The operations of a pack read from an OpenAPI document (ours).
    async fn actions(&self) -> Vec<super::custom_packs::PackAction> {
        super::custom_packs::actions_of(self.0.id)
    }
    /// A custom pack's definition, secrets masked (ours).
    async fn custom_spec(&self) -> Option<Json<serde_json::Value>> {
        crate::domain::custom_packs::get(self.0.id).and_then(|p| {
            serde_json::to_value(crate::domain::custom_packs::masked(&p.spec))
                .ok()
                .map(Json)
        })
    }
    async fn pack_bundle_id(&self) -> Option<ID> {
        None
    }
    async fn setup_instructions(&self) -> &str {
        self.0.setup_instructions
    }
    /// JSON Schema of a config: fields, which are required, which are secret.
    async fn config_schema(&self) -> Json<serde_json::Value> {
        Json(self.0.config_schema())
    }
    async fn config_form_schema(&self) -> Json<serde_json::Value> {
        Json(self.0.config_form_schema())
    }
    /// The org variables the pack writes (its mapping variable).
    async fn org_variables(&self) -> Json<serde_json::Value> {
        Json(self.0.org_variables())
    }
    async fn metadata(&self) -> Json<serde_json::Value> {
        Json(
            serde_json::json!({ "mappingVariable": self.0.mapping_variable, "categories": self.0.categories }),
        )
    }
    /// Organizations within the caller's reach that installed it.
    async fn installed_by(
        &self,
        ctx: &Context<'_>,
        filter: Option<OrganizationInput>,
        #[graphql(name = "where")] where_: Option<OrganizationInput>,
    ) -> Result<Option<Vec<Option<Organization>>>> {
        let orgs = packs::installers(store(ctx), actor(ctx)?, self.0.id).await?;
        let wanted = where_.or(filter);
        let keep = |o: &crate::domain::organizations::Org| {
            wanted.as_ref().is_none_or(|w| {
                (w.name.is_empty() || w.name == o.name)
                    && w.id.as_ref().is_none_or(|i| i.0 == o.id.to_string())
                    && w.domain
                        .as_ref()
                        .is_none_or(|d| o.domain.as_deref() == Some(d.as_str()))
            })
        };
        Ok(Some(
            orgs.into_iter()
                .filter(keep)
                .map(|o| Some(Organization(o)))
                .collect(),
        ))
    }
    /// The configs of this pack the caller may see.
    async fn pack_configs(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] where_: Option<PackConfigWhereInput>,
    ) -> Result<Vec<PackConfig>> {
        let mut filter = ConfigFilter {
            pack_ids: Some(vec![self.0.id.to_owned()]),
            ..Default::default()
        };
        if let Some(w) = &where_ {
            filter.id = w.id.as_ref().map(|i| parse_id("where.id", i)).transpose()?;
            filter.org_id = w
                .org_id
                .as_ref()
                .map(|i| parse_id("where.orgId", i))
                .transpose()?;
            filter.name = w.name.clone();
            filter.default = w.default;
        }
        Ok(configs::list(store(ctx), actor(ctx)?, &filter)
            .await?
            .into_iter()
            .map(PackConfig)
            .collect())
    }
    /// Tags on the pack that the caller may see.
    async fn tags(&self, ctx: &Context<'_>) -> Result<Vec<Tag>> {
        let caller = actor(ctx)?;
        let all = loaders(ctx)
            .pack_tags
            .load_one(self.0.id.to_owned())
            .await?
            .unwrap_or_default();
        let visible = crate::domain::tags::visible_subset(store(ctx), caller, all).await?;
        Ok(visible.into_iter().map(Tag).collect())
    }
}

/// A configured instance of a pack for an organization. Secret fields read `********`.
pub struct PackConfig(pub ConfigRow);

#[Object]
impl PackConfig {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The default config of its pack for its organization (exactly one is).
    async fn default(&self) -> bool {
        self.0.is_default
    }
    /// The fields, secrets redacted.
    async fn config(&self) -> Json<serde_json::Value> {
        Json(configs::redacted(&self.0))
    }
    /// Required fields not filled in yet.
    async fn missing_fields(&self) -> Vec<&'static str> {
        configs::missing_fields(&self.0)
    }
    async fn metadata(&self) -> Option<Json<serde_json::Value>> {
        self.0.metadata.clone().map(Json)
    }
    async fn org_id(&self) -> ID {
        ID(self.0.org_id.to_string())
    }
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        let caller = actor(ctx)?;
        Ok(loaders(ctx)
            .org
            .load_one(self.0.org_id)
            .await?
            .filter(|o| caller.sees(o))
            .map(Organization))
    }
    async fn pack_id(&self) -> ID {
        ID(self.0.pack_id.clone())
    }
    async fn pack(&self) -> Option<Pack> {
        packs::spec(&self.0.pack_id).map(Pack)
    }
    /// Variables that belong to this config (e.g. the mappings it wrote) that the caller may see.
    async fn org_variables(&self, ctx: &Context<'_>) -> Result<Vec<OrgVariable>> {
        let filter = crate::domain::variables::VarFilter {
            preds: vec![(
                crate::domain::variables::VarField::PackConfigId,
                Cmp::Eq(DbValue::from(self.0.id)),
            )],
            ..Default::default()
        };
        let page = (store(ctx).max_page_size, 0);
        let rows = crate::domain::variables::list(
            store(ctx),
            actor(ctx)?,
            &filter,
            None,
            &[vec!["name".into()]],
            page,
        )
        .await?;
        Ok(rows.into_iter().map(OrgVariable).collect())
    }
    /// Its organization and every organization below it that the caller may see.
    async fn visible_for_organizations(&self, ctx: &Context<'_>) -> Result<Vec<Organization>> {
        let (store, caller) = (store(ctx), actor(ctx)?);
        let Some(owner) = loaders(ctx).org.load_one(self.0.org_id).await? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        if caller.sees(&owner) {
            out.push(Organization(owner.clone()));
        }
        let below = crate::domain::organizations::managed_and_sub(
            store,
            caller,
            if caller.sees(&owner) {
                owner.id
            } else {
                caller.org_id
            },
            &[],
            &Default::default(),
            &[(
                crate::domain::organizations::OrgField::Name,
                sea_orm::Order::Asc,
            )],
            (store.max_page_size, 0),
        )
        .await?;
        out.extend(below.into_iter().map(Organization));
        Ok(out)
    }
    /// Objects of the PSA linked through this config (e.g. tickets and their runs).
    async fn foreign_object_references(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<super::executions::ForeignObjectReference>> {
        let caller = actor(ctx)?;
        let list = loaders(ctx)
            .refs_of_config
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let mut out = Vec::new();
        for r in list {
            if loaders(ctx)
                .org
                .load_one(r.org_id)
                .await?
                .is_some_and(|o| caller.sees(&o))
            {
                out.push(super::executions::ForeignObjectReference(r));
            }
        }
        Ok(out)
    }
    /// Its last health check.
    async fn test_action_run(&self, ctx: &Context<'_>) -> Result<Option<PackTestActionRun>> {
        Ok(loaders(ctx)
            .latest_run
            .load_one(self.0.id)
            .await?
            .flatten()
            .map(|(r, _)| PackTestActionRun(r)))
    }
    /// GREEN, ORANGE or RED, with why.
    async fn health(&self, ctx: &Context<'_>) -> Result<PackConfigHealth> {
        let latest = loaders(ctx).latest_run.load_one(self.0.id).await?.flatten();
        Ok(crate::domain::health::health(&self.0, latest.as_ref()).into())
    }
    async fn created_at(&self) -> String {
        rfc3339(&self.0.created_at)
    }
    async fn updated_at(&self) -> String {
        rfc3339(&self.0.updated_at)
    }
}

#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq)]
pub enum HealthStatus {
    /// Configured, and the last check passed.
    #[graphql(name = "GREEN")]
    Green,
    /// Incomplete, not checked (since its last change), or refused: credentials or permissions.
    #[graphql(name = "ORANGE")]
    Orange,
    /// Configured, but unreachable.
    #[graphql(name = "RED")]
    Red,
}

/// A config's health, derived from its fields and its last check.
#[derive(SimpleObject)]
pub struct PackConfigHealth {
    status: HealthStatus,
    reason: Option<String>,
    checked_at: Option<String>,
    last_success_at: Option<String>,
}

impl From<crate::domain::health::Health> for PackConfigHealth {
    fn from(h: crate::domain::health::Health) -> Self {
        PackConfigHealth {
            status: colour(h.colour.as_str()),
            reason: h.reason,
            checked_at: h.checked_at.as_ref().map(rfc3339),
            last_success_at: h.last_success_at.as_ref().map(rfc3339),
        }
    }
}

/// One health check of a config.
pub struct PackTestActionRun(pub crate::domain::health::TestRun);

#[Object]
impl PackTestActionRun {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The run itself: checks are run at once, not queued.
    async fn execution_id(&self) -> Option<ID> {
        Some(ID(self.0.id.to_string()))
    }
    async fn is_passing(&self) -> bool {
        self.0.is_passing
    }
    async fn status(&self) -> HealthStatus {
        colour(&self.0.status)
    }
    async fn response_time_ms(&self) -> Option<i32> {
        self.0.response_time_ms
    }
    async fn error_msg(&self) -> Option<&str> {
        self.0.error_msg.as_deref()
    }
    async fn pack_config_id(&self) -> ID {
        ID(self.0.pack_config_id.to_string())
    }
    async fn pack_config(&self, ctx: &Context<'_>) -> Result<Option<PackConfig>> {
        Ok(loaders(ctx)
            .pack_config
            .load_one(self.0.pack_config_id)
            .await?
            .map(PackConfig))
    }
    async fn created_at(&self) -> String {
        rfc3339(&self.0.created_at)
    }
    async fn updated_at(&self) -> String {
        rfc3339(&self.0.created_at)
    }
}

fn colour(s: &str) -> HealthStatus {
    match s {
        "GREEN" => HealthStatus::Green,
        "RED" => HealthStatus::Red,
        _ => HealthStatus::Orange,
    }
}

#[derive(InputObject)]
pub struct PackConfigTestInput {
    /// Not used: the saved config is tested (save changes first).
    pub config: Option<Json<serde_json::Value>>,
    pub description: Option<String>,
    pub id: ID,
    pub metadata: Option<Json<serde_json::Value>>,
    pub name: Option<String>,
    pub org_id: Option<ID>,
    pub pack_id: Option<ID>,
}

#[derive(SimpleObject)]
pub struct JobRequestedResponse {
    execution_id: ID,
}

impl JobRequestedResponse {
    pub fn new(execution_id: ID) -> Self {
        JobRequestedResponse { execution_id }
    }
}

#[derive(SimpleObject)]
pub struct IntegrationTag {
    name: Option<String>,
}

/// An integration as the catalog page lists it.
#[derive(SimpleObject)]
pub struct Integration {
    name: Option<String>,
    description: Option<String>,
    icon_url: Option<String>,
    is_feature_flagged: Option<bool>,
    is_public: Option<bool>,
    /// Organizations within the caller's reach that installed it.
    num_installed: Option<i32>,
    tags: Option<Vec<IntegrationTag>>,
}

#[derive(InputObject)]
pub struct PackConfigCreateInput {
    pub config: Option<Json<serde_json::Value>>,
    pub default: Option<bool>,
    pub description: Option<String>,
    pub id: Option<ID>,
    pub metadata: Option<Json<serde_json::Value>>,
    pub name: String,
    pub org_id: ID,
    pub pack_id: ID,
}

#[derive(InputObject)]
pub struct PackConfigUpdateInput {
    /// Fields to change; omitted ones (and secrets sent back as `********`) stay; `null` clears.
    pub config: Option<Json<serde_json::Value>>,
    pub default: Option<bool>,
    pub description: async_graphql::MaybeUndefined<String>,
    pub id: ID,
    pub metadata: Option<Json<serde_json::Value>>,
    pub name: Option<String>,
    pub org_id: Option<ID>,
    pub pack_id: Option<ID>,
}

fn default_order() -> Option<Vec<Vec<String>>> {
    Some(vec![vec!["name".to_owned()]])
}

fn paged(
    list: Vec<&'static PackSpec>,
    limit: Option<i32>,
    offset: Option<i32>,
    max: u64,
    order: &Option<Vec<Vec<String>>>,
) -> AppResult<Vec<Pack>> {
    let mut list = list;
    for (i, o) in order.iter().flatten().enumerate() {
        match o.as_slice() {
            [c] | [c, _] if c == "name" => {}
            _ => {
                return Err(AppError::invalid(
                    format!("order.{i}"),
                    "INVALID_FORMAT",
                    "packs are ordered by name",
                ));
            }
        }
        if o.get(1).is_some_and(|d| d.eq_ignore_ascii_case("desc")) {
            list.reverse();
        }
    }
    let limit = limit.map(|l| l.max(0) as u64).unwrap_or(max).min(max) as usize;
    Ok(list
        .into_iter()
        .skip(offset.unwrap_or(0).max(0) as usize)
        .take(limit)
        .map(Pack)
        .collect())
}

#[derive(Default)]
pub struct PackQuery;

#[Object]
impl PackQuery {
    async fn pack(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] where_: Option<PackWhereInput>,
    ) -> Result<Option<Pack>> {
        let filter = where_
            .map(|w| w.to_filter("where"))
            .transpose()?
            .unwrap_or_default();
        Ok(packs::list(store(ctx), actor(ctx)?, &filter)
            .await?
            .into_iter()
            .next()
            .map(Pack))
    }

    /// The catalog.
    async fn packs(
        &self,
        ctx: &Context<'_>,
        limit: Option<i32>,
        offset: Option<i32>,
        #[graphql(default_with = "default_order()")] order: Option<Vec<Vec<String>>>,
        search: Option<PackSearchInput>,
        #[graphql(name = "where")] where_: Option<PackWhereInput>,
    ) -> Result<Vec<Pack>> {
        let store = store(ctx);
        let mut filter = where_
            .map(|w| w.to_filter("where"))
            .transpose()?
            .unwrap_or_default();
        if let Some(s) = search {
            let sf = s.to_filter("search")?;
            filter.preds.extend(sf.preds);
            filter.oauth = filter.oauth.or(sf.oauth);
            filter.installed_by = filter.installed_by.or(sf.installed_by);
        }
        Ok(paged(
            packs::list(store, actor(ctx)?, &filter).await?,
            limit,
            offset,
            store.max_page_size,
            &order,
        )?)
    }

    /// Packs installed on `orgId` or on an organization above it (default: the caller's org).
    #[allow(clippy::too_many_arguments)]
    async fn packs_for_org(
        &self,
        ctx: &Context<'_>,
        include_spec: Option<bool>,
        #[graphql(default = 100)] limit: Option<i32>,
        offset: Option<i32>,
        #[graphql(default_with = "default_order()")] order: Option<Vec<Vec<String>>>,
        org_id: Option<ID>,
        search: Option<PackSearchInput>,
        #[graphql(name = "where")] where_: Option<PackWhereInput>,
    ) -> Result<Vec<Pack>> {
        let _ = include_spec;
        let (store, caller) = (store(ctx), actor(ctx)?);
        let org = org_id
            .map(|o| parse_id("orgId", &o))
            .transpose()?
            .unwrap_or(caller.org_id);
        let mut filter = where_
            .map(|w| w.to_filter("where"))
            .transpose()?
            .unwrap_or_default();
        if let Some(s) = search {
            filter.preds.extend(s.to_filter("search")?.preds);
        }
        let list: Vec<&PackSpec> = packs::for_org(store, caller, org)
            .await?
            .into_iter()
            .filter(|p| filter.matches(p))
            .collect();
        Ok(paged(list, limit, offset, store.max_page_size, &order)?)
    }

    /// The integrations orghub offers, with how many organizations (in reach) installed each.
    async fn integrations(
        &self,
        ctx: &Context<'_>,
        limit: Option<i32>,
        offset: Option<i32>,
    ) -> Result<Vec<Integration>> {
        let (store, caller) = (store(ctx), actor(ctx)?);
        let counts = packs::install_counts(store, caller).await?;
        let page = store.page(limit, offset)?;
        Ok(packs::CATALOG
            .iter()
            .skip(page.1 as usize)
            .take(page.0 as usize)
            .map(|p| Integration {
                name: Some(p.name.to_owned()),
                description: Some(p.description.to_owned()),
                icon_url: None,
                is_feature_flagged: Some(false),
                is_public: Some(true),
                num_installed: Some(counts.get(p.id).copied().unwrap_or(0) as i32),
                tags: Some(
                    p.categories
                        .iter()
                        .map(|c| IntegrationTag {
                            name: Some((*c).to_owned()),
                        })
                        .collect(),
                ),
            })
            .collect())
    }

    async fn pack_config(
        &self,
        ctx: &Context<'_>,
        include_spec: Option<bool>,
        search: Option<PackConfigSearch>,
        #[graphql(name = "where")] where_: Option<PackConfigWhereInput>,
    ) -> Result<Option<PackConfig>> {
        let list = self
            .pack_configs(ctx, include_spec, None, None, search, where_)
            .await?;
        Ok(list.into_iter().next())
    }

    /// Configs the caller may see: of their orgs and of the orgs above theirs.
    async fn pack_configs(
        &self,
        ctx: &Context<'_>,
        include_spec: Option<bool>,
        order: Option<Vec<Vec<String>>>,
        resource_names: Option<String>,
        search: Option<PackConfigSearch>,
        #[graphql(name = "where")] where_: Option<PackConfigWhereInput>,
    ) -> Result<Vec<PackConfig>> {
        let _ = (include_spec, order, resource_names);
        let (store, caller) = (store(ctx), actor(ctx)?);
        let mut filter = ConfigFilter::default();
        if let Some(w) = &where_ {
            filter.id = w.id.as_ref().map(|i| parse_id("where.id", i)).transpose()?;
            let mut conditions = w.to_conditions("where")?;
            conditions.preds.retain(|(f, _)| *f != ConfigField::Id);
            filter.conditions = Some(conditions);
        }
        if let Some(s) = &search {
            let extra = s.to_conditions("search")?;
            filter
                .conditions
                .get_or_insert_with(Default::default)
                .preds
                .extend(extra.preds);
        }
        Ok(configs::list(store, caller, &filter)
            .await?
            .into_iter()
            .map(PackConfig)
            .collect())
    }

    /// Configs of the given packs an organization can use: its own and those above it.
    async fn pack_configs_for_org(
        &self,
        ctx: &Context<'_>,
        include_spec: Option<bool>,
        org_id: ID,
        pack_ids: Vec<ID>,
    ) -> Result<Vec<PackConfig>> {
        let _ = include_spec;
        let org = parse_id("orgId", &org_id)?;
        let ids: Vec<String> = pack_ids.into_iter().map(|i| i.0).collect();
        Ok(configs::for_org(store(ctx), actor(ctx)?, org, &ids)
            .await?
            .into_iter()
            .map(PackConfig)
            .collect())
    }
}

#[derive(Default)]
pub struct PackMutation;

#[Object]
impl PackMutation {
    /// Installs a pack on an organization (it then serves the org and everything below).
    async fn install_pack(
        &self,
        ctx: &Context<'_>,
        name: Option<String>,
        org_id: ID,
        pack_id: ID,
    ) -> Result<Option<Organization>> {
        let org = parse_id("orgId", &org_id)?;
        Ok(Some(Organization(
            packs::install(store(ctx), actor(ctx)?, org, &pack_id, name.as_deref()).await?,
        )))
    }

    /// Uninstalls a pack from the organizations (default: the caller's); configs and
    /// mappings stay for a reinstall.
    async fn uninstall_pack(
        &self,
        ctx: &Context<'_>,
        name: Option<String>,
        org_ids: Option<Vec<ID>>,
        pack_id: ID,
    ) -> Result<Option<Void>> {
        let _ = name;
        let raw: Vec<String> = org_ids
            .unwrap_or_default()
            .into_iter()
            .map(|i| i.0)
            .collect();
        let ids = parse_ids("orgIds", &raw)?;
        packs::uninstall(store(ctx), actor(ctx)?, &pack_id, &ids).await?;
        Ok(None)
    }

    /// Replaces the tags (that the caller may see) on a pack.
    async fn set_pack_tags(
        &self,
        ctx: &Context<'_>,
        pack_id: ID,
        tag_ids: Vec<ID>,
    ) -> Result<Pack> {
        let raw: Vec<String> = tag_ids.into_iter().map(|i| i.0).collect();
        let ids = parse_ids("tagIds", &raw)?;
        Ok(Pack(
            packs::set_tags(store(ctx), actor(ctx)?, &pack_id, &ids).await?,
        ))
    }

    /// A config of a pack for an organization; the first one of a pack becomes its default.
    async fn create_pack_config(
        &self,
        ctx: &Context<'_>,
        pack_config: PackConfigCreateInput,
    ) -> Result<Option<PackConfig>> {
        let input = ConfigInput {
            id: pack_config.id.map(|i| i.0),
            org_id: Some(pack_config.org_id.0),
            pack_id: Some(pack_config.pack_id.0),
            name: Some(pack_config.name),
            description: Some(pack_config.description),
            default: pack_config.default,
            config: pack_config.config.map(|j| j.0),
            metadata: pack_config.metadata.map(|j| j.0),
        };
        Ok(Some(PackConfig(
            configs::create(store(ctx), actor(ctx)?, &input).await?,
        )))
    }

    async fn update_pack_config(
        &self,
        ctx: &Context<'_>,
        pack_config: PackConfigUpdateInput,
    ) -> Result<Option<PackConfig>> {
        let id = parse_id("id", &pack_config.id)?;
        let input = ConfigInput {
            id: None,
            org_id: pack_config.org_id.map(|i| i.0),
            pack_id: pack_config.pack_id.map(|i| i.0),
            name: pack_config.name,
            description: match pack_config.description {
                async_graphql::MaybeUndefined::Undefined => None,
                async_graphql::MaybeUndefined::Null => Some(None),
                async_graphql::MaybeUndefined::Value(d) => Some(Some(d)),
            },
            default: pack_config.default,
            config: pack_config.config.map(|j| j.0),
            metadata: pack_config.metadata.map(|j| j.0),
        };
        Ok(Some(PackConfig(
            configs::update(store(ctx), actor(ctx)?, id, &input).await?,
        )))
    }

    /// Checks the saved config against the PSA now (credentials, then permissions) and
    /// records the outcome; `executionId` is the run's id.
    async fn test_pack_config(
        &self,
        ctx: &Context<'_>,
        pack_config: PackConfigTestInput,
    ) -> Result<Option<JobRequestedResponse>> {
        let id = parse_id("packConfig.id", &pack_config.id)?;
        let run = crate::domain::health::test(store(ctx), actor(ctx)?, id).await?;
        Ok(Some(JobRequestedResponse {
            execution_id: ID(run.id.to_string()),
        }))
    }

    async fn delete_pack_config(
        &self,
        ctx: &Context<'_>,
        id: ID,
        org_id: ID,
    ) -> Result<Option<Void>> {
        let id = parse_id("id", &id)?;
        let org = parse_id("orgId", &org_id)?;
        configs::delete(store(ctx), actor(ctx)?, id, org).await?;
        Ok(None)
    }
}
