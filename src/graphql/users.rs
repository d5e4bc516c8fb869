//! Users: the `User` type, `me`, `users`/`user`, inviting, changing roles, removing;
//! onboarding a new MSP; the audit log of access changes.
use async_graphql::{Context, ID, InputObject, Json, Object, Result, SimpleObject};

use super::api_clients::ApiClient;
use super::inputs::{OrganizationWhereInput, UserSearchInput, UserWhereInput};
use super::organizations::Organization;
use super::scalars::Void;
use super::{actor, loaders, rfc3339, store};
use crate::auth::Role;
use crate::domain::users::{self, User as UserRow, UserFilter};
use crate::domain::{audit, parse_id};
use crate::error::{AppError, AppResult};

pub struct User(pub UserRow);

impl User {
    async fn client(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<crate::domain::api_clients::ApiClient>> {
        if !self.0.is_api_user {
            return Ok(None);
        }
        loaders(ctx).client_of_user.load_one(self.0.id).await
    }
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The user's e-mail address.
    async fn username(&self) -> &str {
        &self.0.username
    }
    /// The identity provider's subject, once the user has signed in through it.
    async fn sub(&self) -> Option<&str> {
        self.0.sub.as_deref()
    }
    async fn org_id(&self) -> ID {
        ID(self.0.org_id.to_string())
    }
    /// The user's organization, when the caller may see it.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        let caller = actor(ctx)?;
        let org = loaders(ctx).org.load_one(self.0.org_id).await?;
        Ok(org.filter(|o| caller.sees(o)).map(Organization))
    }
    /// Organizations directly below the user's organization.
    async fn managed_orgs(&self, ctx: &Context<'_>) -> Result<Vec<Organization>> {
        let caller = actor(ctx)?;
        let children = loaders(ctx)
            .children
            .load_one(self.0.org_id)
            .await?
            .unwrap_or_default();
        Ok(children
            .into_iter()
            .filter(|o| caller.sees(o))
            .map(Organization)
            .collect())
    }
    /// `admin`, `member`, `forms` or `read_only`.
    async fn role_ids(&self) -> Vec<String> {
        vec![self.0.role.clone()]
    }
    /// The roles as objects: `{id, name}`.
    async fn roles(&self) -> Vec<Option<Json<serde_json::Value>>> {
        let label = Role::parse(&self.0.role)
            .map(Role::label)
            .unwrap_or("Unknown");
        vec![Some(Json(
            serde_json::json!({ "id": self.0.role, "name": label }),
        ))]
    }
    /// Operators of the instance.
    async fn is_superuser(&self) -> bool {
        self.0.is_staff
    }
    /// The user an API client acts as.
    async fn is_api_user(&self) -> bool {
        self.0.is_api_user
    }
    /// Signs in with an API client's tokens (same as `isApiUser`).
    async fn is_token_user(&self) -> bool {
        self.0.is_api_user
    }
    async fn is_test_user(&self) -> bool {
        self.0.is_test_user
    }
    /// For an API client's user: the client.
    async fn token_api_client(&self, ctx: &Context<'_>) -> Result<Option<ApiClient>> {
        Ok(self.client(ctx).await?.map(ApiClient))
    }
    /// For an API client's user: who created the client.
    async fn parent_user_id(&self, ctx: &Context<'_>) -> Result<Option<ID>> {
        Ok(self
            .client(ctx)
            .await?
            .and_then(|c| c.created_by_id)
            .map(|i| ID(i.to_string())))
    }
    /// For an API client's user: the username of who created the client.
    async fn parent_username(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let Some(creator) = self.client(ctx).await?.and_then(|c| c.created_by_id) else {
            return Ok(None);
        };
        Ok(loaders(ctx)
            .user
            .load_one(creator)
            .await?
            .map(|u| u.username))
    }
    async fn created_at(&self) -> String {
        rfc3339(&self.0.created_at)
    }
}

/// `where` of `users`/`user`: `orgId` is required, every list is one org's users.
#[derive(InputObject, Default)]
pub struct GetUserWhereInput {
    pub id: Option<ID>,
    pub is_api_user: Option<bool>,
    pub is_superuser: Option<bool>,
    pub is_test_user: Option<bool>,
    pub managed_orgs: Option<OrganizationWhereInput>,
    pub org_id: ID,
    pub organization: Option<OrganizationWhereInput>,
    pub role_ids: Option<Vec<String>>,
    pub sub: Option<String>,
    pub username: Option<String>,
}

impl GetUserWhereInput {
    fn to_filter(&self) -> AppResult<(uuid::Uuid, UserFilter)> {
        let org_id = parse_id("where.orgId", &self.org_id)?;
        let rest = UserWhereInput {
            id: self.id.clone(),
            is_api_user: self.is_api_user,
            is_superuser: self.is_superuser,
            is_test_user: self.is_test_user,
            managed_orgs: self.managed_orgs.clone().map(Box::new),
            org_id: None,
            organization: self.organization.clone().map(Box::new),
            role_ids: self.role_ids.clone(),
            sub: self.sub.clone(),
            username: self.username.clone(),
        };
        Ok((org_id, rest.to_filter("where")?))
    }
}

fn user_filter(
    where_: Option<&GetUserWhereInput>,
    search: Option<&UserSearchInput>,
) -> AppResult<(uuid::Uuid, UserFilter)> {
    let where_ = where_.ok_or_else(|| {
        AppError::invalid(
            "where.orgId",
            "REQUIRED_FIELD",
            "users are listed one organization at a time",
        )
    })?;
    let (org_id, mut filter) = where_.to_filter()?;
    if let Some(s) = search {
        let extra = s.to_filter("search")?;
        filter.preds.extend(extra.preds);
        if extra.organization.is_some() {
            filter.organization = extra.organization;
        }
        if extra.managed_orgs.is_some() {
            filter.managed_orgs = extra.managed_orgs;
        }
    }
    Ok((org_id, filter))
}

#[derive(InputObject)]
pub struct CreateUserInput {
    pub is_test_user: Option<bool>,
    pub org_id: ID,
    /// One of `admin`, `member`, `forms`, `read_only`.
    pub role_ids: Vec<String>,
    /// The user's e-mail address: they sign in with it through the identity provider.
    pub username: String,
}

#[derive(InputObject)]
pub struct UserRolesInput {
    pub id: ID,
    pub role_ids: Vec<String>,
}

/// One change to who may do what.
#[derive(SimpleObject)]
pub struct PermissionAuditEntry {
    id: ID,
    org_id: ID,
    /// Who made the change; null for the command line.
    actor_id: Option<ID>,
    actor_username: Option<String>,
    /// e.g. `user.create`, `user.roles`, `user.delete`, `user.first_sign_in`,
    /// `api_client.create`, `api_client.rotate_secret`, `msp.create`.
    action: String,
    /// `user`, `api_client` or `organization`.
    target_type: String,
    target_id: ID,
    before: Option<Json<serde_json::Value>>,
    after: Option<Json<serde_json::Value>>,
    created_at: String,
}

impl From<audit::AuditEntry> for PermissionAuditEntry {
    fn from(e: audit::AuditEntry) -> Self {
        PermissionAuditEntry {
            id: ID(e.id.to_string()),
            org_id: ID(e.org_id.to_string()),
            actor_id: e.actor_user_id.map(|i| ID(i.to_string())),
            actor_username: e.actor_username,
            action: e.action,
            target_type: e.target_type,
            target_id: ID(e.target_id.to_string()),
            before: e.before.map(Json),
            after: e.after.map(Json),
            created_at: rfc3339(&e.created_at),
        }
    }
}

fn default_order() -> Option<Vec<Vec<String>>> {
    Some(vec![vec!["username".to_owned()]])
}

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The caller.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(Some(User(users::get(store(ctx), actor(ctx)?).await?)))
    }

    /// The users of `where.orgId`.
    async fn users(
        &self,
        ctx: &Context<'_>,
        limit: Option<i32>,
        offset: Option<i32>,
        #[graphql(default_with = "default_order()")] order: Option<Vec<Vec<String>>>,
        search: Option<UserSearchInput>,
        #[graphql(name = "where")] where_: Option<GetUserWhereInput>,
    ) -> Result<Vec<User>> {
        let store = store(ctx);
        let (org_id, filter) = user_filter(where_.as_ref(), search.as_ref())?;
        let page = store.page(limit, offset)?;
        let rows = users::list(
            store,
            actor(ctx)?,
            org_id,
            &filter,
            &order.unwrap_or_else(|| vec![vec!["username".to_owned()]]),
            page,
        )
        .await?;
        Ok(rows.into_iter().map(User).collect())
    }

    /// The first user of `where.orgId` that matches.
    async fn user(
        &self,
        ctx: &Context<'_>,
        search: Option<UserSearchInput>,
        #[graphql(name = "where")] where_: Option<GetUserWhereInput>,
    ) -> Result<Option<User>> {
        let (org_id, filter) = user_filter(where_.as_ref(), search.as_ref())?;
        let rows = users::list(
            store(ctx),
            actor(ctx)?,
            org_id,
            &filter,
            &[vec!["username".into()]],
            (1, 0),
        )
        .await?;
        Ok(rows.into_iter().next().map(User))
    }

    /// Admins: the changes to users, roles, API clients and MSPs of an organization, newest first.
    async fn permission_audit_log(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        limit: Option<i32>,
        offset: Option<i32>,
    ) -> Result<Vec<PermissionAuditEntry>> {
        let store = store(ctx);
        let org_id = parse_id("orgId", &org_id)?;
        let page = store.page(limit, offset)?;
        Ok(audit::list(store, actor(ctx)?, org_id, page)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Admins: invites a user to an organization. They sign in through the identity
    /// provider with this e-mail address.
    async fn create_user(&self, ctx: &Context<'_>, user: CreateUserInput) -> Result<Option<User>> {
        let org_id = parse_id("user.orgId", &user.org_id)?;
        let created = users::create(
            store(ctx),
            actor(ctx)?,
            org_id,
            &user.username,
            &user.role_ids,
            user.is_test_user.unwrap_or(false),
        )
        .await?;
        Ok(Some(User(created)))
    }

    /// Admins: sets a user's role. Nobody changes their own; an org keeps at least one admin.
    async fn update_user_roles(
        &self,
        ctx: &Context<'_>,
        user: Option<UserRolesInput>,
    ) -> Result<Option<User>> {
        let input =
            user.ok_or_else(|| AppError::invalid("user", "REQUIRED_FIELD", "is required"))?;
        let id = parse_id("user.id", &input.id)?;
        Ok(Some(User(
            users::update_roles(store(ctx), actor(ctx)?, id, &input.role_ids).await?,
        )))
    }

    /// Admins: removes a user. Not yourself, not an org's last admin.
    async fn delete_user(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Void>> {
        let id = parse_id("id", &id)?;
        users::delete(store(ctx), actor(ctx)?, id).await?;
        Ok(None)
    }

    /// Staff: onboards a new MSP — a top-level organization with its own tree — and
    /// invites its first admin.
    async fn create_msp_organization(
        &self,
        ctx: &Context<'_>,
        name: String,
        admin_email: String,
    ) -> Result<Organization> {
        let (org, _) =
            users::create_msp(store(ctx), Some(actor(ctx)?), &name, &admin_email).await?;
        Ok(Organization(org))
    }
}
