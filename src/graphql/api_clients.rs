//! API clients: machine credentials of an organization, exchanged at `POST /oauth/token`.
use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use super::organizations::Organization;
use super::users::User;
use super::{actor, loaders, rfc3339, store};
use crate::domain::api_clients::{self, ApiClient as Row};
use crate::domain::parse_id;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ApiClientType {
    /// Used by workflow engines (not issued by orghub).
    Engine,
    /// Belongs to an organization.
    Organization,
}

pub struct ApiClient(pub Row);

#[Object]
impl ApiClient {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The `client_id` to send to `POST /oauth/token`.
    async fn auth0_client_id(&self) -> &str {
        &self.0.client_id
    }
    async fn client_type(&self) -> ApiClientType {
        ApiClientType::Organization
    }
    async fn org_id(&self) -> ID {
        ID(self.0.org_id.to_string())
    }
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        let org = loaders(ctx).org.load_one(self.0.org_id).await?;
        org.map(Organization)
            .ok_or_else(|| async_graphql::Error::new("organization not found"))
    }
    /// The user the client acts as; its role is the client's.
    async fn impersonation_user_id(&self) -> ID {
        ID(self.0.user_id.to_string())
    }
    async fn impersonation_user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(loaders(ctx).user.load_one(self.0.user_id).await?.map(User))
    }
    async fn secret_rotated_at(&self) -> Option<String> {
        self.0.secret_rotated_at.as_ref().map(rfc3339)
    }
    async fn created_at(&self) -> String {
        rfc3339(&self.0.created_at)
    }
    async fn created_by_id(&self) -> Option<ID> {
        self.0.created_by_id.map(|i| ID(i.to_string()))
    }
    async fn updated_at(&self) -> String {
        rfc3339(&self.0.updated_at)
    }
    async fn updated_by_id(&self) -> Option<ID> {
        self.0.updated_by_id.map(|i| ID(i.to_string()))
    }
}

/// A new client with its secret: shown once, never again.
#[derive(SimpleObject)]
pub struct ApiClientWithSecret {
    #[graphql(flatten)]
    client: ApiClient,
    /// The `client_secret`. Store it now: orghub keeps only its hash.
    auth0_client_secret: String,
}

#[derive(SimpleObject)]
pub struct ApiClientSecretRotation {
    id: ID,
    auth0_client_id: String,
    /// The new `client_secret`; the old one no longer works.
    auth0_client_secret: String,
    secret_rotated_at: String,
}

#[derive(SimpleObject)]
pub struct ApiClientList {
    api_clients: Vec<ApiClient>,
    has_more: bool,
    total_count: i32,
}

#[derive(InputObject, Default)]
pub struct ApiClientListInput {
    pub limit: Option<i32>,
    pub offset: Option<i32>,
}

#[derive(InputObject)]
pub struct CreateApiClientInput {
    pub description: Option<String>,
    pub name: String,
    pub org_id: ID,
    /// The role its tokens carry: `admin`, `member` (the default), `forms` or `read_only`.
    pub role_id: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateApiClientInput {
    pub description: MaybeUndefined<String>,
    pub id: ID,
    pub name: Option<String>,
}

#[derive(Default)]
pub struct ApiClientQuery;

#[Object]
impl ApiClientQuery {
    /// Admins: the API clients of an organization.
    async fn organization_api_clients(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        pagination: Option<ApiClientListInput>,
    ) -> Result<ApiClientList> {
        let store = store(ctx);
        let org_id = parse_id("orgId", &org_id)?;
        let p = pagination.unwrap_or_default();
        let page = store.page(p.limit, p.offset)?;
        let (rows, total) = api_clients::list(store, actor(ctx)?, org_id, page).await?;
        Ok(ApiClientList {
            has_more: page.1 + (rows.len() as u64) < total,
            total_count: i32::try_from(total).unwrap_or(i32::MAX),
            api_clients: rows.into_iter().map(ApiClient).collect(),
        })
    }

    async fn api_client(&self, ctx: &Context<'_>, id: ID) -> Result<Option<ApiClient>> {
        let id = parse_id("id", &id)?;
        Ok(Some(ApiClient(
            api_clients::get(store(ctx), actor(ctx)?, id).await?,
        )))
    }
}

#[derive(Default)]
pub struct ApiClientMutation;

#[Object]
impl ApiClientMutation {
    /// Admins: a new API client; its secret is in the answer and nowhere else.
    async fn create_organization_api_client(
        &self,
        ctx: &Context<'_>,
        input: CreateApiClientInput,
    ) -> Result<ApiClientWithSecret> {
        let org_id = parse_id("input.orgId", &input.org_id)?;
        let (client, secret) = api_clients::create(
            store(ctx),
            actor(ctx)?,
            org_id,
            &input.name,
            input.description.as_deref(),
            input.role_id.as_deref(),
        )
        .await?;
        Ok(ApiClientWithSecret {
            client: ApiClient(client),
            auth0_client_secret: secret,
        })
    }

    async fn update_organization_api_client(
        &self,
        ctx: &Context<'_>,
        input: UpdateApiClientInput,
    ) -> Result<ApiClient> {
        let id = parse_id("input.id", &input.id)?;
        let description = match &input.description {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(d) => Some(Some(d.as_str())),
        };
        Ok(ApiClient(
            api_clients::update(
                store(ctx),
                actor(ctx)?,
                id,
                input.name.as_deref(),
                description,
            )
            .await?,
        ))
    }

    /// Deletes the client; its secret and tokens stop working at once.
    async fn delete_organization_api_client(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = parse_id("id", &id)?;
        api_clients::delete(store(ctx), actor(ctx)?, id).await?;
        Ok(true)
    }

    /// A new secret; the old one and its tokens stop working at once.
    async fn rotate_api_client_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<ApiClientSecretRotation> {
        let id = parse_id("id", &id)?;
        let (client, secret) = api_clients::rotate(store(ctx), actor(ctx)?, id).await?;
        Ok(ApiClientSecretRotation {
            id: ID(client.id.to_string()),
            auth0_client_id: client.client_id,
            auth0_client_secret: secret,
            secret_rotated_at: client
                .secret_rotated_at
                .as_ref()
                .map(rfc3339)
                .unwrap_or_default(),
        })
    }
}
