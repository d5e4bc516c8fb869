//! Who is asking: bearer tokens, the `Actor`, and access checks over the org tree.
mod tokens;

pub use tokens::{Claims, TokenService, parse_ttl};

/// `parse_ttl` for clap.
pub fn parse_ttl_arg(s: &str) -> Result<std::time::Duration, String> {
    parse_ttl(s)
}

use entity::organization;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::domain::Store;
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

/// Turns an `Authorization` header value into an `Actor`.
pub async fn authenticate(
    store: &Store,
    tokens: &TokenService,
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
    let claims = tokens.verify(token)?;
    actor_for_subject(store, &claims.sub).await
}

/// The actor for a token subject: a user id (our tokens) or an identity-provider `sub`.
pub async fn actor_for_subject(store: &Store, subject: &str) -> AppResult<Actor> {
    use entity::user;
    let mut cond = sea_orm::Condition::any().add(user::Column::Sub.eq(subject));
    if let Ok(id) = Uuid::parse_str(subject) {
        cond = cond.add(user::Column::Id.eq(id));
    }
    let unknown = || {
        AppError::Unauthenticated(
            "This token's user does not exist (any more); ask an admin".into(),
        )
    };
    let user = user::Entity::find()
        .filter(cond)
        .one(&store.db)
        .await?
        .ok_or_else(unknown)?;
    let org = organization::Entity::find_by_id(user.org_id)
        .filter(organization::Column::DeletedAt.is_null())
        .one(&store.db)
        .await?
        .ok_or_else(unknown)?;
    let role = Role::parse(&user.role).ok_or_else(|| {
        AppError::internal(anyhow::anyhow!(
            "user {} has unknown role {:?}",
            user.id,
            user.role
        ))
    })?;
    Ok(Actor {
        user_id: user.id,
        username: user.username,
        org_id: org.id,
        org_path: org.path,
        role,
        is_staff: user.is_staff,
    })
}
