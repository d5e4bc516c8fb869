//! Rewst's filter inputs (`where`, `search` and the `*_comparison_exp` operators) and
//! their translation into domain filters.
use async_graphql::{Enum, ID, InputObject};
use sea_orm::Value;

use crate::domain::filter::Cmp;
use crate::domain::organizations::{OrgField, OrgFilter};
use crate::domain::parse_id;
use crate::domain::tags::{TagField, TagFilter};
use crate::domain::users::{UserField, UserFilter};
use crate::error::{AppError, AppResult};

#[derive(InputObject, Default, Clone)]
#[graphql(name = "string_comparison_exp")]
pub struct StringComparisonExp {
    #[graphql(name = "_eq")]
    pub eq: Option<String>,
    #[graphql(name = "_gt")]
    pub gt: Option<String>,
    #[graphql(name = "_gte")]
    pub gte: Option<String>,
    #[graphql(name = "_ilike")]
    pub ilike: Option<String>,
    #[graphql(name = "_in")]
    pub in_: Option<Vec<String>>,
    #[graphql(name = "_like")]
    pub like: Option<String>,
    #[graphql(name = "_lt")]
    pub lt: Option<String>,
    #[graphql(name = "_lte")]
    pub lte: Option<String>,
    #[graphql(name = "_neq")]
    pub neq: Option<String>,
    #[graphql(name = "_nilike")]
    pub nilike: Option<String>,
    #[graphql(name = "_nin")]
    pub nin: Option<Vec<String>>,
    #[graphql(name = "_nlike")]
    pub nlike: Option<String>,
    #[graphql(name = "_substr")]
    pub substr: Option<String>,
}

#[derive(InputObject, Default, Clone)]
#[graphql(name = "id_comparison_exp")]
pub struct IdComparisonExp {
    #[graphql(name = "_eq")]
    pub eq: Option<ID>,
    #[graphql(name = "_in")]
    pub in_: Option<Vec<ID>>,
    #[graphql(name = "_ne")]
    pub ne: Option<ID>,
    #[graphql(name = "_nin")]
    pub nin: Option<Vec<ID>>,
}

#[derive(InputObject, Default, Clone)]
#[graphql(name = "bool_comparison_exp")]
pub struct BoolComparisonExp {
    #[graphql(name = "_eq")]
    pub eq: Option<bool>,
    #[graphql(name = "_ne")]
    pub ne: Option<bool>,
}

#[derive(InputObject, Default, Clone)]
#[graphql(name = "int_comparison_exp")]
pub struct IntComparisonExp {
    #[graphql(name = "_eq")]
    pub eq: Option<i32>,
    #[graphql(name = "_gt")]
    pub gt: Option<i32>,
    #[graphql(name = "_gte")]
    pub gte: Option<i32>,
    #[graphql(name = "_in")]
    pub in_: Option<Vec<i32>>,
    #[graphql(name = "_lt")]
    pub lt: Option<i32>,
    #[graphql(name = "_lte")]
    pub lte: Option<i32>,
    #[graphql(name = "_neq")]
    pub neq: Option<i32>,
    #[graphql(name = "_nin")]
    pub nin: Option<Vec<i32>>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(rename_items = "PascalCase")]
pub enum PackStatus {
    #[graphql(name = "deprecated")]
    Deprecated,
    #[graphql(name = "draft")]
    Draft,
    #[graphql(name = "hidden")]
    Hidden,
    #[graphql(name = "published")]
    Published,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[allow(clippy::upper_case_acronyms)]
pub enum PackType {
    #[graphql(name = "BACKUP")]
    Backup,
    #[graphql(name = "BILLING")]
    Billing,
    #[graphql(name = "DOCUMENTATION")]
    Documentation,
    #[graphql(name = "IDENTITY_PROVIDER")]
    IdentityProvider,
    #[graphql(name = "IDENTITY_PROVIDER_LICENSING")]
    IdentityProviderLicensing,
    #[graphql(name = "MONITORING")]
    Monitoring,
    #[graphql(name = "PSA")]
    Psa,
    #[graphql(name = "RMM")]
    Rmm,
    #[graphql(name = "SECURITY")]
    Security,
    #[graphql(name = "custom")]
    Custom,
    #[graphql(name = "default")]
    Default,
    #[graphql(name = "openapi")]
    Openapi,
}

#[derive(InputObject, Default, Clone)]
pub struct PackStatusSearch {
    #[graphql(name = "_eq")]
    pub eq: Option<PackStatus>,
    #[graphql(name = "_in")]
    pub in_: Option<Vec<PackStatus>>,
    #[graphql(name = "_ne")]
    pub ne: Option<PackStatus>,
    #[graphql(name = "_nin")]
    pub nin: Option<Vec<PackStatus>>,
}

#[derive(InputObject, Default, Clone)]
pub struct PackTypeSearch {
    #[graphql(name = "_eq")]
    pub eq: Option<PackType>,
    #[graphql(name = "_in")]
    pub in_: Option<Vec<PackType>>,
    #[graphql(name = "_ne")]
    pub ne: Option<PackType>,
    #[graphql(name = "_nin")]
    pub nin: Option<Vec<PackType>>,
}

#[derive(InputObject, Default, Clone)]
pub struct PackSearchInput {
    pub description: Option<StringComparisonExp>,
    pub id: Option<IdComparisonExp>,
    pub installed_by: Option<Box<OrganizationSearchInput>>,
    pub is_oauth_configuration: Option<BoolComparisonExp>,
    pub name: Option<StringComparisonExp>,
    pub org_id: Option<IdComparisonExp>,
    pub pack_bundle_id: Option<IdComparisonExp>,
    pub pack_type: Option<PackTypeSearch>,
    pub ref_: Option<StringComparisonExp>,
    pub status: Option<PackStatusSearch>,
    pub tags: Option<StringComparisonExp>,
    pub uid: Option<StringComparisonExp>,
    pub version: Option<StringComparisonExp>,
}

#[derive(InputObject, Default, Clone)]
pub struct TagSearchInput {
    pub id: Option<IdComparisonExp>,
    pub name: Option<StringComparisonExp>,
    pub org_id: Option<IdComparisonExp>,
    pub organizations: Option<Box<OrganizationSearchInput>>,
}

#[derive(InputObject, Default, Clone)]
pub struct UserSearchInput {
    pub created_at: Option<StringComparisonExp>,
    pub id: Option<IdComparisonExp>,
    pub is_api_user: Option<BoolComparisonExp>,
    pub is_superuser: Option<BoolComparisonExp>,
    pub is_test_user: Option<BoolComparisonExp>,
    pub managed_orgs: Option<Box<OrganizationSearchInput>>,
    pub org_id: Option<IdComparisonExp>,
    pub organization: Option<Box<OrganizationSearchInput>>,
    pub role_ids: Option<StringComparisonExp>,
    pub sub: Option<StringComparisonExp>,
    pub username: Option<StringComparisonExp>,
}

#[derive(InputObject, Default, Clone)]
pub struct OrganizationSearchInput {
    pub created_at: Option<StringComparisonExp>,
    pub id: Option<IdComparisonExp>,
    pub installed_packs: Option<PackSearchInput>,
    pub is_deleted: Option<BoolComparisonExp>,
    pub is_enabled: Option<BoolComparisonExp>,
    pub is_internal: Option<BoolComparisonExp>,
    pub is_onboarding: Option<BoolComparisonExp>,
    pub is_staff: Option<BoolComparisonExp>,
    pub managed_orgs: Option<Box<OrganizationSearchInput>>,
    pub managing_org: Option<Box<OrganizationSearchInput>>,
    pub managing_org_id: Option<IdComparisonExp>,
    pub name: Option<StringComparisonExp>,
    pub org_slug: Option<StringComparisonExp>,
    pub results_retention_days: Option<IntComparisonExp>,
    pub roc_site_id: Option<StringComparisonExp>,
    pub tags: Option<TagSearchInput>,
    pub users: Option<UserSearchInput>,
}

#[derive(InputObject, Default, Clone)]
pub struct OrganizationTagsWhereInput {
    pub id: Option<Vec<ID>>,
}

#[derive(InputObject, Default, Clone)]
pub struct UserWhereInput {
    pub id: Option<ID>,
    pub is_api_user: Option<bool>,
    pub is_superuser: Option<bool>,
    pub is_test_user: Option<bool>,
    pub managed_orgs: Option<Box<OrganizationWhereInput>>,
    pub org_id: Option<ID>,
    pub organization: Option<Box<OrganizationWhereInput>>,
    pub role_ids: Option<Vec<String>>,
    pub sub: Option<String>,
    pub username: Option<String>,
}

#[derive(InputObject, Default, Clone)]
pub struct OrganizationWhereInput {
    pub domain: Option<String>,
    pub id: Option<ID>,
    pub is_staff: Option<bool>,
    pub managed_orgs: Option<Box<OrganizationWhereInput>>,
    pub managing_org: Option<Box<OrganizationWhereInput>>,
    pub managing_org_id: Option<ID>,
    pub name: Option<String>,
    pub org_slug: Option<String>,
    pub roc_site_id: Option<String>,
    pub tags: Option<OrganizationTagsWhereInput>,
    pub users: Option<UserWhereInput>,
}

// ----------------------------------------------------------------------------------
// Translation
// ----------------------------------------------------------------------------------

fn text(s: &str) -> Value {
    Value::from(s.to_owned())
}

fn id_value(field: &str, id: &ID) -> AppResult<Value> {
    Ok(Value::from(parse_id(field, id)?))
}

fn time_value(field: &str, s: &str) -> AppResult<Value> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map(|t| Value::from(t.with_timezone(&chrono::Utc)))
        .map_err(|_| {
            AppError::invalid(
                field,
                "INVALID_FORMAT",
                format!("`{s}` is not an RFC 3339 timestamp"),
            )
        })
}

/// Comparisons on a text column.
pub fn text_cmps(e: &StringComparisonExp) -> Vec<Cmp> {
    let mut out = Vec::new();
    let one = |o: &Option<String>, f: fn(Value) -> Cmp, out: &mut Vec<Cmp>| {
        if let Some(v) = o {
            out.push(f(text(v)));
        }
    };
    one(&e.eq, Cmp::Eq, &mut out);
    one(&e.neq, Cmp::Ne, &mut out);
    one(&e.gt, Cmp::Gt, &mut out);
    one(&e.gte, Cmp::Gte, &mut out);
    one(&e.lt, Cmp::Lt, &mut out);
    one(&e.lte, Cmp::Lte, &mut out);
    if let Some(v) = &e.in_ {
        out.push(Cmp::In(v.iter().map(|s| text(s)).collect()));
    }
    if let Some(v) = &e.nin {
        out.push(Cmp::Nin(v.iter().map(|s| text(s)).collect()));
    }
    let pattern = |o: &Option<String>, f: fn(String) -> Cmp, out: &mut Vec<Cmp>| {
        if let Some(v) = o {
            out.push(f(v.clone()));
        }
    };
    pattern(&e.like, Cmp::Like, &mut out);
    pattern(&e.nlike, Cmp::NotLike, &mut out);
    pattern(&e.ilike, Cmp::ILike, &mut out);
    pattern(&e.nilike, Cmp::NotILike, &mut out);
    pattern(&e.substr, Cmp::Substr, &mut out);
    out
}

/// Comparisons on a timestamp column given as RFC 3339 text; patterns make no sense there.
pub fn time_cmps(field: &str, e: &StringComparisonExp) -> AppResult<Vec<Cmp>> {
    if e.like.is_some()
        || e.nlike.is_some()
        || e.ilike.is_some()
        || e.nilike.is_some()
        || e.substr.is_some()
    {
        return Err(AppError::invalid(
            field,
            "INVALID_FORMAT",
            "timestamps take _eq, _neq, _gt, _gte, _lt, _lte, _in, _nin",
        ));
    }
    let mut out = Vec::new();
    for (o, f) in [
        (&e.eq, Cmp::Eq as fn(Value) -> Cmp),
        (&e.neq, Cmp::Ne),
        (&e.gt, Cmp::Gt),
        (&e.gte, Cmp::Gte),
        (&e.lt, Cmp::Lt),
        (&e.lte, Cmp::Lte),
    ] {
        if let Some(v) = o {
            out.push(f(time_value(field, v)?));
        }
    }
    if let Some(v) = &e.in_ {
        out.push(Cmp::In(
            v.iter()
                .map(|s| time_value(field, s))
                .collect::<AppResult<_>>()?,
        ));
    }
    if let Some(v) = &e.nin {
        out.push(Cmp::Nin(
            v.iter()
                .map(|s| time_value(field, s))
                .collect::<AppResult<_>>()?,
        ));
    }
    Ok(out)
}

pub fn id_cmps(field: &str, e: &IdComparisonExp) -> AppResult<Vec<Cmp>> {
    let mut out = Vec::new();
    if let Some(v) = &e.eq {
        out.push(Cmp::Eq(id_value(field, v)?));
    }
    if let Some(v) = &e.ne {
        out.push(Cmp::Ne(id_value(field, v)?));
    }
    if let Some(v) = &e.in_ {
        out.push(Cmp::In(
            v.iter()
                .map(|i| id_value(field, i))
                .collect::<AppResult<_>>()?,
        ));
    }
    if let Some(v) = &e.nin {
        out.push(Cmp::Nin(
            v.iter()
                .map(|i| id_value(field, i))
                .collect::<AppResult<_>>()?,
        ));
    }
    Ok(out)
}

pub fn bool_cmps(e: &BoolComparisonExp) -> Vec<Cmp> {
    let mut out = Vec::new();
    if let Some(v) = e.eq {
        out.push(Cmp::Eq(Value::from(v)));
    }
    if let Some(v) = e.ne {
        out.push(Cmp::Ne(Value::from(v)));
    }
    out
}

pub fn int_cmps(e: &IntComparisonExp) -> Vec<Cmp> {
    let mut out = Vec::new();
    for (o, f) in [
        (e.eq, Cmp::Eq as fn(Value) -> Cmp),
        (e.neq, Cmp::Ne),
        (e.gt, Cmp::Gt),
        (e.gte, Cmp::Gte),
        (e.lt, Cmp::Lt),
        (e.lte, Cmp::Lte),
    ] {
        if let Some(v) = o {
            out.push(f(Value::from(v)));
        }
    }
    if let Some(v) = &e.in_ {
        out.push(Cmp::In(v.iter().map(|i| Value::from(*i)).collect()));
    }
    if let Some(v) = &e.nin {
        out.push(Cmp::Nin(v.iter().map(|i| Value::from(*i)).collect()));
    }
    out
}

fn push_all<F: Copy>(preds: &mut Vec<(F, Cmp)>, field: F, cmps: Vec<Cmp>) {
    preds.extend(cmps.into_iter().map(|c| (field, c)));
}

/// No organization has installed packs yet, so a condition on them matches none.
fn impossible(filter: &mut OrgFilter) {
    filter.preds.push((OrgField::Id, Cmp::In(Vec::new())));
}

impl TagSearchInput {
    pub fn to_filter(&self, at: &str) -> AppResult<TagFilter> {
        let mut f = TagFilter::default();
        if let Some(e) = &self.id {
            push_all(&mut f.preds, TagField::Id, id_cmps(&format!("{at}.id"), e)?);
        }
        if let Some(e) = &self.name {
            push_all(&mut f.preds, TagField::Name, text_cmps(e));
        }
        if let Some(e) = &self.org_id {
            push_all(
                &mut f.preds,
                TagField::OrgId,
                id_cmps(&format!("{at}.orgId"), e)?,
            );
        }
        if let Some(s) = &self.organizations {
            f.organizations = Some(Box::new(s.to_filter(&format!("{at}.organizations"))?));
        }
        Ok(f)
    }
}

impl OrganizationSearchInput {
    pub fn to_filter(&self, at: &str) -> AppResult<OrgFilter> {
        let mut f = OrgFilter::default();
        let p = &mut f.preds;
        if let Some(e) = &self.created_at {
            push_all(
                p,
                OrgField::CreatedAt,
                time_cmps(&format!("{at}.createdAt"), e)?,
            );
        }
        if let Some(e) = &self.id {
            push_all(p, OrgField::Id, id_cmps(&format!("{at}.id"), e)?);
        }
        for (e, field) in [
            (&self.is_deleted, OrgField::IsDeleted),
            (&self.is_enabled, OrgField::IsEnabled),
            (&self.is_internal, OrgField::IsInternal),
            (&self.is_onboarding, OrgField::IsOnboarding),
            (&self.is_staff, OrgField::IsStaff),
        ] {
            if let Some(e) = e {
                push_all(p, field, bool_cmps(e));
            }
        }
        if let Some(e) = &self.managing_org_id {
            push_all(
                p,
                OrgField::ManagingOrgId,
                id_cmps(&format!("{at}.managingOrgId"), e)?,
            );
        }
        for (e, field) in [
            (&self.name, OrgField::Name),
            (&self.org_slug, OrgField::OrgSlug),
            (&self.roc_site_id, OrgField::RocSiteId),
        ] {
            if let Some(e) = e {
                push_all(p, field, text_cmps(e));
            }
        }
        if let Some(e) = &self.results_retention_days {
            push_all(p, OrgField::ResultsRetentionDays, int_cmps(e));
        }
        if let Some(s) = &self.managing_org {
            f.managing_org = Some(Box::new(s.to_filter(&format!("{at}.managingOrg"))?));
        }
        if let Some(s) = &self.managed_orgs {
            f.managed_orgs = Some(Box::new(s.to_filter(&format!("{at}.managedOrgs"))?));
        }
        if let Some(s) = &self.users {
            f.users = Some(s.to_filter(&format!("{at}.users"))?);
        }
        if let Some(t) = &self.tags {
            f.tags = Some(Box::new(t.to_filter(&format!("{at}.tags"))?));
        }
        if self.installed_packs.is_some() {
            impossible(&mut f);
        }
        Ok(f)
    }
}

impl UserSearchInput {
    pub fn to_filter(&self, at: &str) -> AppResult<UserFilter> {
        let mut f = UserFilter::default();
        let p = &mut f.preds;
        if let Some(e) = &self.created_at {
            push_all(
                p,
                UserField::CreatedAt,
                time_cmps(&format!("{at}.createdAt"), e)?,
            );
        }
        if let Some(e) = &self.id {
            push_all(p, UserField::Id, id_cmps(&format!("{at}.id"), e)?);
        }
        if let Some(e) = &self.org_id {
            push_all(p, UserField::OrgId, id_cmps(&format!("{at}.orgId"), e)?);
        }
        for (e, field) in [
            (&self.is_api_user, UserField::IsApiUser),
            (&self.is_superuser, UserField::IsSuperuser),
            (&self.is_test_user, UserField::IsTestUser),
        ] {
            if let Some(e) = e {
                push_all(p, field, bool_cmps(e));
            }
        }
        for (e, field) in [
            (&self.role_ids, UserField::Role),
            (&self.sub, UserField::Sub),
            (&self.username, UserField::Username),
        ] {
            if let Some(e) = e {
                push_all(p, field, text_cmps(e));
            }
        }
        if let Some(s) = &self.organization {
            f.organization = Some(Box::new(s.to_filter(&format!("{at}.organization"))?));
        }
        if let Some(s) = &self.managed_orgs {
            f.managed_orgs = Some(Box::new(s.to_filter(&format!("{at}.managedOrgs"))?));
        }
        Ok(f)
    }
}

impl OrganizationWhereInput {
    pub fn to_filter(&self, at: &str) -> AppResult<OrgFilter> {
        let mut f = OrgFilter {
            id: self
                .id
                .as_ref()
                .map(|i| parse_id(&format!("{at}.id"), i))
                .transpose()?,
            ..Default::default()
        };
        let p = &mut f.preds;
        for (v, field) in [
            (&self.domain, OrgField::Domain),
            (&self.name, OrgField::Name),
            (&self.org_slug, OrgField::OrgSlug),
            (&self.roc_site_id, OrgField::RocSiteId),
        ] {
            if let Some(v) = v {
                p.push((field, Cmp::Eq(text(v))));
            }
        }
        if let Some(v) = self.is_staff {
            p.push((OrgField::IsStaff, Cmp::Eq(Value::from(v))));
        }
        if let Some(v) = &self.managing_org_id {
            p.push((
                OrgField::ManagingOrgId,
                Cmp::Eq(id_value(&format!("{at}.managingOrgId"), v)?),
            ));
        }
        if let Some(w) = &self.managing_org {
            f.managing_org = Some(Box::new(w.to_nested_filter(&format!("{at}.managingOrg"))?));
        }
        if let Some(w) = &self.managed_orgs {
            f.managed_orgs = Some(Box::new(w.to_nested_filter(&format!("{at}.managedOrgs"))?));
        }
        if let Some(w) = &self.users {
            f.users = Some(w.to_filter(&format!("{at}.users"))?);
        }
        if let Some(ids) = self.tags.as_ref().and_then(|t| t.id.as_ref()) {
            let ids = crate::domain::parse_ids(
                &format!("{at}.tags.id"),
                &ids.iter().map(|i| i.0.clone()).collect::<Vec<_>>(),
            )?;
            f.tags = Some(Box::new(TagFilter::default().with_ids(&ids)));
        }
        Ok(f)
    }

    /// Inside a relation the id is a plain condition, not a visibility check.
    fn to_nested_filter(&self, at: &str) -> AppResult<OrgFilter> {
        let mut f = self.to_filter(at)?;
        if let Some(id) = f.id.take() {
            f.preds.push((OrgField::Id, Cmp::Eq(Value::from(id))));
        }
        Ok(f)
    }
}

impl UserWhereInput {
    pub fn to_filter(&self, at: &str) -> AppResult<UserFilter> {
        let mut f = UserFilter::default();
        let p = &mut f.preds;
        if let Some(v) = &self.id {
            p.push((UserField::Id, Cmp::Eq(id_value(&format!("{at}.id"), v)?)));
        }
        if let Some(v) = &self.org_id {
            p.push((
                UserField::OrgId,
                Cmp::Eq(id_value(&format!("{at}.orgId"), v)?),
            ));
        }
        for (v, field) in [
            (self.is_api_user, UserField::IsApiUser),
            (self.is_superuser, UserField::IsSuperuser),
            (self.is_test_user, UserField::IsTestUser),
        ] {
            if let Some(v) = v {
                p.push((field, Cmp::Eq(Value::from(v))));
            }
        }
        if let Some(v) = &self.role_ids {
            p.push((
                UserField::Role,
                Cmp::In(v.iter().map(|s| text(s)).collect()),
            ));
        }
        if let Some(v) = &self.sub {
            p.push((UserField::Sub, Cmp::Eq(text(v))));
        }
        if let Some(v) = &self.username {
            p.push((UserField::Username, Cmp::Eq(text(v))));
        }
        if let Some(w) = &self.organization {
            f.organization = Some(Box::new(w.to_nested_filter(&format!("{at}.organization"))?));
        }
        if let Some(w) = &self.managed_orgs {
            f.managed_orgs = Some(Box::new(w.to_nested_filter(&format!("{at}.managedOrgs"))?));
        }
        Ok(f)
    }
}

/// `where` and `search` together: both must hold.
pub fn org_filter(
    where_: Option<&OrganizationWhereInput>,
    search: Option<&OrganizationSearchInput>,
) -> AppResult<OrgFilter> {
    let mut f = match where_ {
        Some(w) => w.to_filter("where")?,
        None => OrgFilter::default(),
    };
    if let Some(s) = search {
        f.also.push(s.to_filter("search")?);
    }
    Ok(f)
}
