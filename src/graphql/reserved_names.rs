//! Reserved organization names: read by anyone signed in, managed by staff.
use async_graphql::{Context, ID, InputObject, Object, Result};

use super::inputs::UserWhereInput;
use super::users::User;
use super::{actor, loaders, rfc3339, store};
use crate::domain::parse_id;
use crate::domain::reserved_names::{self as reserved, ReservedName, ReservedNameFilter};
use crate::error::{AppError, AppResult};

pub struct ReservedOrganizationName(ReservedName);

impl ReservedOrganizationName {
    async fn user(ctx: &Context<'_>, id: Option<uuid::Uuid>) -> Result<Option<User>> {
        let Some(id) = id else { return Ok(None) };
        let caller = actor(ctx)?;
        let Some(user) = loaders(ctx).user.load_one(id).await? else {
            return Ok(None);
        };
        // Only users whose org the caller may see are shown.
        let org = loaders(ctx).org.load_one(user.org_id).await?;
        Ok(org.filter(|o| caller.sees(o)).map(|_| User(user)))
    }
}

#[Object]
impl ReservedOrganizationName {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn created_at(&self) -> String {
        rfc3339(&self.0.created_at)
    }
    async fn updated_at(&self) -> String {
        rfc3339(&self.0.updated_at)
    }
    async fn created_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Self::user(ctx, self.0.created_by_id).await
    }
    async fn updated_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Self::user(ctx, self.0.updated_by_id).await
    }
}

#[derive(InputObject, Default)]
pub struct ReservedOrganizationNameWhereInput {
    pub created_at: Option<String>,
    pub created_by: Option<UserWhereInput>,
    pub id: Option<ID>,
    pub name: Option<String>,
    pub updated_at: Option<String>,
    pub updated_by: Option<UserWhereInput>,
}

fn timestamp(
    field: &str,
    raw: &Option<String>,
) -> AppResult<Option<chrono::DateTime<chrono::Utc>>> {
    raw.as_deref()
        .map(|s| {
            chrono::DateTime::parse_from_rfc3339(s.trim())
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|_| {
                    AppError::invalid(
                        field,
                        "INVALID_FORMAT",
                        format!("`{s}` is not an RFC 3339 timestamp"),
                    )
                })
        })
        .transpose()
}

fn user_id(field: &str, w: &Option<UserWhereInput>) -> AppResult<Option<uuid::Uuid>> {
    match w {
        None => Ok(None),
        Some(UserWhereInput { id: Some(id), .. }) => Ok(Some(parse_id(field, id)?)),
        Some(_) => Err(AppError::invalid(
            field,
            "INVALID_FORMAT",
            "only `id` is supported here",
        )),
    }
}

impl ReservedOrganizationNameWhereInput {
    fn to_filter(&self) -> AppResult<ReservedNameFilter> {
        Ok(ReservedNameFilter {
            id: self
                .id
                .as_ref()
                .map(|i| parse_id("where.id", i))
                .transpose()?,
            name: self.name.clone(),
            created_by_id: user_id("where.createdBy", &self.created_by)?,
            updated_by_id: user_id("where.updatedBy", &self.updated_by)?,
            created_at: timestamp("where.createdAt", &self.created_at)?,
            updated_at: timestamp("where.updatedAt", &self.updated_at)?,
        })
    }
}

fn default_order() -> Vec<Option<Vec<String>>> {
    vec![Some(vec!["name".to_owned()])]
}

#[derive(Default)]
pub struct ReservedNameQuery;

#[Object]
impl ReservedNameQuery {
    async fn reserved_organization_name(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] where_: ReservedOrganizationNameWhereInput,
    ) -> Result<Option<ReservedOrganizationName>> {
        let filter = where_.to_filter()?;
        Ok(reserved::find_one(store(ctx), actor(ctx)?, &filter)
            .await?
            .map(ReservedOrganizationName))
    }

    async fn reserved_organization_names(
        &self,
        ctx: &Context<'_>,
        limit: Option<i32>,
        offset: Option<i32>,
        #[graphql(default_with = "default_order()")] order: Vec<Option<Vec<String>>>,
        #[graphql(name = "where")] where_: Option<ReservedOrganizationNameWhereInput>,
    ) -> Result<Option<Vec<Option<ReservedOrganizationName>>>> {
        let store = store(ctx);
        let filter = where_
            .map(|w| w.to_filter())
            .transpose()?
            .unwrap_or_default();
        let order: Vec<Vec<String>> = order.into_iter().flatten().collect();
        let page = store.page(limit, offset)?;
        let rows = reserved::list(store, actor(ctx)?, &filter, &order, page).await?;
        Ok(Some(
            rows.into_iter()
                .map(|r| Some(ReservedOrganizationName(r)))
                .collect(),
        ))
    }
}

#[derive(Default)]
pub struct ReservedNameMutation;

#[Object]
impl ReservedNameMutation {
    /// Staff only.
    async fn create_reserved_organization_name(
        &self,
        ctx: &Context<'_>,
        name: String,
    ) -> Result<Option<ReservedOrganizationName>> {
        Ok(Some(ReservedOrganizationName(
            reserved::create(store(ctx), actor(ctx)?, &name).await?,
        )))
    }

    /// Staff only.
    async fn update_reserved_organization_name(
        &self,
        ctx: &Context<'_>,
        id: ID,
        name: String,
    ) -> Result<Option<ReservedOrganizationName>> {
        let id = parse_id("id", &id)?;
        Ok(Some(ReservedOrganizationName(
            reserved::update(store(ctx), actor(ctx)?, id, &name).await?,
        )))
    }

    /// Staff only. Returns the number of names deleted.
    async fn delete_reserved_organization_name(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<Option<i32>> {
        let id = parse_id("id", &id)?;
        Ok(Some(
            reserved::delete(store(ctx), actor(ctx)?, id).await? as i32,
        ))
    }
}
