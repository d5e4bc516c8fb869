//! Who is asking: bearer tokens, the `Actor`, and access checks over the org tree.
mod cache;
mod oidc;
mod tokens;

pub use cache::ActorCache;

pub use oidc::{OidcClaims, OidcVerifier};

pub use tokens::{Claims, TokenService, parse_ttl};

/// `parse_ttl` for clap.
pub fn parse_ttl_arg(s: &str) -> Result<std::time::Duration, String> {
    parse_ttl(s)
}

use entity::{organization, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::domain::{Store, api_clients, users};
use crate::error::{AppError, AppResult};

/// Rewst's roles, from most to least privileged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    ReadOnly,
    Forms,
    Member,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Member, Role::Forms, Role::ReadOnly];

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Forms => "forms",
            Role::ReadOnly => "read_only",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Member => "Member",
            Role::Forms => "Forms",
            Role::ReadOnly => "Read Only",
        }
    }
}

/// What an operation needs from the caller's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Any role.
    Read,
    /// `member` or `admin`.
    Write,
    /// `admin` only.
    Admin,
}

/// The authenticated caller: a user, their org and its place in the tree.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Uuid,
    pub username: String,
    pub org_id: Uuid,
    /// Materialized path of the actor's org; every org whose path starts with it is theirs.
    pub org_path: String,
    pub role: Role,
    /// Operators of the instance: every tree, reserved names.
    pub is_staff: bool,
    /// The user's row as it was loaded for this request (none for a pod's member).
    pub user: Option<std::sync::Arc<user::Model>>,
}

impl Actor {
    /// Whether `org` lies in the caller's reach (their org or below; staff: everything).
    pub fn sees(&self, org: &organization::Model) -> bool {
        self.is_staff || org.path.starts_with(&self.org_path)
    }

    pub fn has(&self, access: Access) -> bool {
        match access {
            Access::Read => true,
            Access::Write => self.role >= Role::Member,
            Access::Admin => self.role == Role::Admin,
        }
    }

    /// `FORBIDDEN` unless the caller reaches `org` with the needed role.
    pub fn check(&self, org: &organization::Model, access: Access) -> AppResult<()> {
        if self.sees(org) && self.has(access) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    pub fn require(&self, access: Access) -> AppResult<()> {
        if self.has(access) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    pub fn require_staff(&self) -> AppResult<()> {
        if self.is_staff {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// Verifies bearer tokens: ours (HS256, and RS256 from a configured key) and, when
/// configured, the identity provider's.
pub struct Authenticator {
    pub tokens: TokenService,
    pub oidc: Option<OidcVerifier>,
}

/// Turns an `Authorization` header value into an `Actor`.
pub async fn authenticate(
    store: &Store,
    auth: &Authenticator,
    authorization: Option<&str>,
) -> AppResult<Actor> {
    let header = authorization.ok_or_else(|| {
        AppError::Unauthenticated(
            "Authentication required: send `Authorization: Bearer <token>`".into(),
        )
    })?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            AppError::Unauthenticated("The Authorization header must be `Bearer <token>`".into())
        })?;

    if let Some(oidc) = &auth.oidc {
        // Which verifier applies is decided by the (not yet verified) issuer; the chosen
        // verifier then checks everything, including that issuer.
        let iss = jsonwebtoken::dangerous::insecure_decode_claims::<serde_json::Value>(token)
            .ok()
            .and_then(|c| c.get("iss").and_then(|i| i.as_str()).map(str::to_owned));
        if iss.as_deref().is_some_and(|i| oidc.issues(i)) {
            let claims = oidc.verify(token).await?;
            return signed_in_user(store, &claims).await;
        }
    }
    let claims = auth.tokens.verify(token)?;
    if claims.cgen.is_none()
        && let Some(actor) = store.actors.get(&claims.sub)
    {
        return Ok(actor);
    }
    let unknown = || {
        AppError::Unauthenticated(
            "This token's user does not exist (any more); ask an admin".into(),
        )
    };
    let mut cond = sea_orm::Condition::any().add(user::Column::Sub.eq(&claims.sub));
    if let Ok(id) = Uuid::parse_str(&claims.sub) {
        cond = cond.add(user::Column::Id.eq(id));
    }
    let user = user::Entity::find()
        .filter(cond)
        .one(&store.db)
        .await?
        .ok_or_else(unknown)?;
    if user.is_api_user {
        // A rotated or deleted client's tokens die with its secret.
        let client = api_clients::by_user_ids(store, &[user.id])
            .await?
            .remove(&user.id);
        if client.is_none_or(|c| Some(c.secret_generation) != claims.cgen) {
            return Err(AppError::Unauthenticated(
                "This API client's secret was rotated or revoked".into(),
            ));
        }
        return actor_for_user(store, user).await;
    }
    let actor = actor_for_user(store, user).await?;
    store.actors.put(&claims.sub, &actor);
    Ok(actor)
}

/// The user behind an identity-provider token: by `sub`, or on first sign-in by the
/// verified e-mail of an invited user.
async fn signed_in_user(store: &Store, claims: &OidcClaims) -> AppResult<Actor> {
    if let Some(user) = user::Entity::find()
        .filter(user::Column::Sub.eq(&claims.sub))
        .one(&store.db)
        .await?
    {
        return actor_for_user(store, user).await;
    }
    let not_invited = || {
        AppError::Unauthenticated(format!(
            "No orghub user for {}: ask an admin of your organization to invite you",
            claims.email.as_deref().unwrap_or("this identity")
        ))
    };
    let email = claims.verified_email().ok_or_else(not_invited)?;
    let user = users::link_identity(store, &claims.sub, email)
        .await?
        .ok_or_else(not_invited)?;
    actor_for_user(store, user).await
}

/// The actor a background job acts as: the user who started it, with their role now.
pub async fn actor_of_user(store: &Store, user_id: uuid::Uuid) -> AppResult<Actor> {
    let user = user::Entity::find_by_id(user_id)
        .one(&store.db)
        .await?
        .ok_or_else(|| AppError::Unauthenticated("the user no longer exists".into()))?;
    actor_for_user(store, user).await
}

async fn actor_for_user(store: &Store, user: user::Model) -> AppResult<Actor> {
    let gone = || {
        AppError::Unauthenticated("This token's organization no longer exists; ask an admin".into())
    };
    let org = organization::Entity::find_by_id(user.org_id)
        .filter(organization::Column::DeletedAt.is_null())
        .one(&store.db)
        .await?
        .ok_or_else(gone)?;
    let role = Role::parse(&user.role).ok_or_else(|| {
        AppError::internal(anyhow::anyhow!(
            "user {} has unknown role {:?}",
            user.id,
            user.role
        ))
    })?;
    Ok(Actor {
        user_id: user.id,
        username: user.username.clone(),
        org_id: org.id,
        org_path: org.path,
        role,
        is_staff: user.is_staff,
        user: Some(std::sync::Arc::new(user)),
    })
}
