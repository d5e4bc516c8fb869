//! Business rules, one module per concept. Knows nothing of GraphQL or HTTP: every
//! function takes the `Store`, usually an `Actor`, and returns domain types or `AppError`.
pub mod api_clients;
pub mod audit;
pub mod custom_packs;
pub mod executions;
pub mod filter;
pub mod health;
pub mod imports;
pub mod mapping;
pub mod mapping_dataset;
pub mod names;
pub mod organizations;
pub mod pack_configs;
pub mod packs;
pub mod pods;
pub mod psa_import;
pub mod references;
pub mod reserved_names;
pub mod retention;
pub mod secrets;
pub mod settings;
pub mod tags;
pub mod triggers;
pub mod users;
pub mod variables;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, Order, SqlErr, TransactionOptions,
    TransactionTrait,
};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use secrets::SecretCipher;

/// The database, the limits every query honours, and the key that encrypts secrets.
#[derive(Clone, Debug)]
pub struct Store {
    pub db: DatabaseConnection,
    /// Hard maximum of any list's `limit`.
    pub max_page_size: u64,
    pub cipher: Arc<SecretCipher>,
    /// SQL statements run so far (for tests that prove constant query counts, and metrics).
    pub statements: Arc<AtomicU64>,
    /// For calls to the integrations (bounded in time, rustls).
    pub http: reqwest::Client,
    /// Rung when this replica queues a job, so its runner starts at once.
    pub jobs_wakeup: Arc<tokio::sync::Notify>,
    /// Signs trigger URLs (live links, callbacks); derived from the secret key, so every
    /// replica signs alike and a new secret key revokes every link.
    pub trigger_key: Arc<[u8; 32]>,
    /// ConnectWise lists of the settings form, kept briefly.
    pub settings_cache: Arc<settings::OptionsCache>,
    /// Signed-in actors, kept for a few seconds (emptied on any user or org change).
    pub actors: Arc<crate::auth::ActorCache>,
    /// Where Autotask configs without a zone URL find their zone (`zoneInformation`).
    pub autotask_discovery_url: String,
}

/// A key for one purpose from the secret key (HMAC-SHA256 as the derivation function).
fn derive_key(secret_key: &[u8; 32], purpose: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret_key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(purpose);
    mac.finalize().into_bytes().into()
}

impl Store {
    pub fn new(
        mut db: DatabaseConnection,
        max_page_size: u64,
        secret_key: &[u8; 32],
        http: reqwest::Client,
    ) -> Self {
        let statements = Arc::new(AtomicU64::new(0));
        let counter = statements.clone();
        db.set_metric_callback(move |info| {
            counter.fetch_add(1, Ordering::Relaxed);
            // `ORGHUB_LOG=orghub::sql=trace` shows every statement (values are never logged).
            tracing::trace!(target: "orghub::sql", elapsed_us = info.elapsed.as_micros() as u64, failed = info.failed, sql = %info.statement.sql);
        });
        Store {
            db,
            max_page_size: max_page_size.max(1),
            cipher: Arc::new(SecretCipher::new(secret_key)),
            statements,
            http,
            jobs_wakeup: Arc::new(tokio::sync::Notify::new()),
            trigger_key: Arc::new(derive_key(secret_key, b"orghub trigger links v1")),
            settings_cache: Arc::new(settings::OptionsCache::default()),
            actors: Arc::new(crate::auth::ActorCache::default()),
            autotask_discovery_url: crate::psa::autotask::DEFAULT_DISCOVERY_URL.to_owned(),
        }
    }

    pub fn statement_count(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// A transaction that writes. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so concurrent writers queue instead of failing to upgrade.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        self.db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
    }

    /// Validated `(limit, offset)`: `limit` defaults to, and may not exceed, the maximum page size.
    pub fn page(&self, limit: Option<i32>, offset: Option<i32>) -> AppResult<(u64, u64)> {
        let limit = match limit {
            None => self.max_page_size,
            Some(l) if l < 0 => {
                return Err(AppError::invalid(
                    "limit",
                    "OUT_OF_RANGE",
                    "must not be negative",
                ));
            }
            Some(l) if l as u64 > self.max_page_size => {
                return Err(AppError::invalid(
                    "limit",
                    "OUT_OF_RANGE",
                    format!(
                        "must be at most {} (the maximum page size); page with `offset`",
                        self.max_page_size
                    ),
                ));
            }
            Some(l) => l as u64,
        };
        let offset = match offset {
            None => 0,
            Some(o) if o < 0 => {
                return Err(AppError::invalid(
                    "offset",
                    "OUT_OF_RANGE",
                    "must not be negative",
                ));
            }
            Some(o) => o as u64,
        };
        Ok((limit, offset))
    }
}

/// Now, at the microsecond precision both databases keep, so a stored timestamp
/// compares equal to the value that was written.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// An id from the API: a UUID, or `BAD_USER_INPUT`/`INVALID_FORMAT` naming the field.
pub fn parse_id(field: &str, raw: &str) -> AppResult<Uuid> {
    Uuid::parse_str(raw.trim()).map_err(|_| {
        AppError::invalid(
            field,
            "INVALID_FORMAT",
            format!("`{raw}` is not a valid id"),
        )
    })
}

pub fn parse_ids(field: &str, raw: &[String]) -> AppResult<Vec<Uuid>> {
    raw.iter()
        .enumerate()
        .map(|(i, r)| parse_id(&format!("{field}.{i}"), r))
        .collect()
}

/// The unique index a write violated, if that is why it failed.
pub fn unique_violation(err: &DbErr) -> Option<String> {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(message)) => Some(message),
        _ => None,
    }
}

/// `[["name"], ["createdAt", "DESC"]]` → validated columns and directions.
pub fn parse_order<F: Copy>(
    order: &[Vec<String>],
    columns: &[(&str, F)],
) -> AppResult<Vec<(F, Order)>> {
    let known = || {
        columns
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    };
    order
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let field = format!("order.{i}");
            let (name, dir) = match item.as_slice() {
                [name] => (name, None),
                [name, dir] => (name, Some(dir)),
                _ => {
                    return Err(AppError::invalid(
                        field,
                        "INVALID_FORMAT",
                        "each entry is [column] or [column, direction]",
                    ));
                }
            };
            let column = columns
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, c)| *c)
                .ok_or_else(|| {
                    AppError::invalid(
                        &field,
                        "INVALID_FORMAT",
                        format!("cannot order by `{name}`; use one of {}", known()),
                    )
                })?;
            let order = match dir.map(|d| d.to_ascii_uppercase()) {
                None => Order::Asc,
                Some(d) if d == "ASC" || d == "ASC NULLS FIRST" || d == "ASC NULLS LAST" => {
                    Order::Asc
                }
                Some(d) if d == "DESC" || d == "DESC NULLS FIRST" || d == "DESC NULLS LAST" => {
                    Order::Desc
                }
                Some(d) => {
                    return Err(AppError::invalid(
                        field,
                        "INVALID_FORMAT",
                        format!("direction `{d}` is not ASC or DESC"),
                    ));
                }
            };
            Ok((column, order))
        })
        .collect()
}
