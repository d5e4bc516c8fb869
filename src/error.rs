//! The one error type. Each variant becomes an `extensions.code` in GraphQL and an
//! HTTP status elsewhere. It deliberately does not implement `Display`, so that
//! async-graphql's blanket `From<T: Display>` cannot swallow it: the only way to
//! a GraphQL error is the explicit mapping below.
use async_graphql::ErrorExtensions;
use axum::{http::StatusCode, response::IntoResponse};
use sea_orm::DbErr;
use serde::Serialize;

/// One failed rule, with the field it concerns and its code (the import codes:
/// `REQUIRED_FIELD`, `MAX_LENGTH_EXCEEDED`, `DUPLICATE_IN_DATABASE`, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ValidationError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        ValidationError {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

#[derive(Debug)]
pub enum AppError {
    /// `UNAUTHENTICATED` / 401: no usable credentials.
    Unauthenticated(String),
    /// `FORBIDDEN` / 403: the same for "not yours" and "does not exist".
    Forbidden,
    /// `NOT_FOUND` / 404: something the caller may see does not exist.
    NotFound(String),
    /// `BAD_USER_INPUT` / 400: one or more rules failed; never empty.
    Invalid(Vec<ValidationError>),
    /// `CONFLICT` / 409: the request clashes with the current state.
    Conflict(String),
    /// `SERVICE_UNAVAILABLE` / 503: the database cannot be reached right now; retry.
    Unavailable(String),
    /// `STORAGE_FULL` / 507: the database's disk (or its size cap) is full. The write was
    /// rolled back; reads go on; writes succeed again once space is freed.
    StorageFull,
    /// `INTERNAL` / 500: logged with its cause; the client sees a generic message.
    Internal(anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn invalid(
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        AppError::Invalid(vec![ValidationError::new(field, code, message)])
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(err.into())
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Forbidden => "FORBIDDEN",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::Invalid(_) => "BAD_USER_INPUT",
            AppError::Conflict(_) => "CONFLICT",
            AppError::Unavailable(_) => "SERVICE_UNAVAILABLE",
            AppError::StorageFull => "STORAGE_FULL",
            AppError::Internal(_) => "INTERNAL",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Invalid(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message a client may read. Internal causes are logged here, once.
    pub fn client_message(&self) -> String {
        match self {
            AppError::Unauthenticated(m) => m.clone(),
            AppError::Forbidden => "Forbidden".into(),
            AppError::NotFound(what) => format!("{what} not found"),
            AppError::Invalid(errors) => errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            AppError::Conflict(m) => m.clone(),
            AppError::Unavailable(m) => m.clone(),
            AppError::StorageFull => {
                "The database's disk is full: nothing was written. Free space (or raise the \
                 database's size limit) and retry"
                    .into()
            }
            AppError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error");
                "Internal server error".into()
            }
        }
    }

    /// Prefixes every field of a validation error, e.g. `organizations.3.`.
    pub fn within(self, prefix: &str) -> Self {
        match self {
            AppError::Invalid(errors) => AppError::Invalid(
                errors
                    .into_iter()
                    .map(|e| ValidationError {
                        field: format!("{prefix}{}", e.field),
                        ..e
                    })
                    .collect(),
            ),
            other => other,
        }
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if db_unreachable(&err) {
            tracing::warn!(error = %err, "the database is unreachable");
            return AppError::Unavailable(
                "The database is unavailable right now; try again in a few seconds".into(),
            );
        }
        if storage_full(&err) {
            tracing::error!(error = %err, "the database's disk is full");
            return AppError::StorageFull;
        }
        AppError::Internal(err.into())
    }
}

/// Whether a statement failed because the database's disk is full: SQLite's
/// `SQLITE_FULL` (13, also raised at `max_page_count`) or PostgreSQL's `disk_full` (53100).
pub fn storage_full(err: &DbErr) -> bool {
    let sqlx = match err {
        DbErr::Query(sea_orm::RuntimeErr::SqlxError(e))
        | DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
        | DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    let Some(db) = sqlx.as_database_error() else {
        return false;
    };
    let code = db.code();
    if db
        .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
        .is_some()
    {
        // The extended result code; its low byte is the primary one.
        code.and_then(|c| c.parse::<i64>().ok())
            .is_some_and(|c| c & 0xff == 13)
    } else {
        code.as_deref() == Some("53100")
    }
}

/// Whether a database error means "cannot reach the database" (down, restarting, pool
/// exhausted) rather than a failing statement.
pub fn db_unreachable(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    let sqlx = match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Query(sea_orm::RuntimeErr::SqlxError(e))
        | DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    matches!(
        sqlx.as_ref(),
        Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed
    )
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        let code = err.code();
        let message = err.client_message();
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", code);
            if let AppError::Invalid(errors) = &err {
                if let Some(first) = errors.first() {
                    ext.set("field", first.field.as_str());
                    ext.set("validationCode", first.code);
                }
                let list: Vec<async_graphql::Value> = errors
                    .iter()
                    .map(|e| {
                        let mut m = async_graphql::indexmap::IndexMap::new();
                        m.insert(async_graphql::Name::new("field"), e.field.as_str().into());
                        m.insert(async_graphql::Name::new("code"), e.code.into());
                        m.insert(
                            async_graphql::Name::new("message"),
                            e.message.as_str().into(),
                        );
                        async_graphql::Value::Object(m)
                    })
                    .collect();
                ext.set("validationErrors", list);
            }
        })
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let status = self.status();
        let body = serde_json::json!({
            "error": { "code": self.code(), "message": self.client_message() }
        });
        (status, axum::Json(body)).into_response()
    }
}
