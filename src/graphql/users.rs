//! The `User` type and `me`.
use async_graphql::{Context, ID, Json, Object, Result};

use super::organizations::Organization;
use super::{actor, loaders, rfc3339, store};
use crate::auth::Role;
use crate::domain::users::{self, User as UserRow};

pub struct User(pub UserRow);

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
    async fn is_api_user(&self) -> bool {
        self.0.is_api_user
    }
    async fn is_test_user(&self) -> bool {
        self.0.is_test_user
    }
    async fn created_at(&self) -> String {
        rfc3339(&self.0.created_at)
    }
}

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The caller.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(Some(User(users::get(store(ctx), actor(ctx)?).await?)))
    }
}
