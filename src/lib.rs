//! orghub: a GraphQL API server for managed-service providers.
//!
//! `build` turns a `Config` into a ready router (database connected and migrated);
//! `serve` runs it until Ctrl-C or SIGTERM. Tests use `build` directly.
pub mod auth;
pub mod cli_import;
pub mod config;
pub mod connectwise;
pub mod custom;
pub mod demo;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod jobs;
mod keys;
pub mod metrics;
pub mod progress;
pub mod psa;
pub mod web;
pub mod workflows;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

pub use config::Config;
use domain::Store;

/// Settings the HTTP layer needs at request time.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    pub request_timeout_secs: u64,
    pub max_body_bytes: usize,
    /// Largest multipart upload.
    pub max_upload_bytes: usize,
    /// Lifetime of API-client tokens.
    pub api_token_ttl: Duration,
    /// The most rows one import may have.
    pub import_max_rows: usize,
    /// Where people and ConnectWise reach this server (no trailing slash).
    pub public_url: String,
    /// Checked before any GraphQL query runs.
    pub query_limits: graphql::limits::QueryLimits,
    /// Origins allowed cross-origin requests with credentials (none by default).
    pub cors_origins: Vec<String>,
}

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub auth: Arc<auth::Authenticator>,
    pub schema: graphql::OrghubSchema,
    pub settings: Arc<HttpSettings>,
    pub triggers: Arc<web::triggers::TriggerState>,
    /// Sign-ins of ConnectWise members to pods (cached, throttled).
    pub pods: Arc<domain::pods::MemberVerifier>,
    /// Becomes true when the server shuts down: long-lived streams end.
    pub closing: Arc<tokio::sync::watch::Sender<bool>>,
}

pub struct App {
    pub state: AppState,
    pub router: axum::Router,
}

/// Connects to the database named by the configuration. SQLite files are created
/// when missing and run in WAL mode with a busy timeout, so writers queue.
pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(config.database_url.clone());
    options
        .max_connections(config.database_pool_size.max(1))
        .min_connections(1)
        // Fail fast while the database is down (503), instead of holding requests.
        .acquire_timeout(Duration::from_secs(
            config.database_acquire_timeout_secs.max(1),
        ))
        .connect_timeout(Duration::from_secs(
            config.database_acquire_timeout_secs.max(1),
        ))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(15))
                .foreign_keys(true)
                // `_like` is case-sensitive on both databases; `_ilike` is the insensitive one.
                .pragma("case_sensitive_like", "ON")
        });
    Database::connect(options).await.with_context(|| {
        format!(
            "cannot open the database {}",
            redact_url(&config.database_url)
        )
    })
}

/// A database URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Applies pending migrations; on a terminal, one by one under a progress bar.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    let pending = Migrator::get_pending_migrations(db)
        .await
        .context("cannot read the applied migrations")?;
    let bar = progress::items(pending.len() as u64, "migrating", "migrations");
    if pending.is_empty() || bar.is_hidden() {
        return Migrator::up(db, None)
            .await
            .context("database migration failed");
    }
    for m in &pending {
        bar.set_message(m.name().to_owned());
        Migrator::up(db, Some(1))
            .await
            .with_context(|| format!("database migration {} failed", m.name()))?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}

pub fn token_service(config: &Config) -> anyhow::Result<(auth::TokenService, [u8; 32])> {
    let keys = keys::load(config)?;
    let public_key = match &config.jwt_public_key_file {
        Some(path) => {
            Some(std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?)
        }
        None => None,
    };
    let tokens = auth::TokenService::new(
        &keys.jwt_secret,
        public_key.as_deref(),
        config.jwt_issuer.clone(),
        config.jwt_audience.clone(),
    )?;
    Ok((tokens, keys.secret_key))
}

/// The HTTP client for outgoing calls (identity provider, PSAs): rustls with the ring
/// provider and the system's root certificates, bounded in time.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    // Installing twice is harmless: the first provider stays.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("orghub/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot build the HTTP client")
}

fn oidc_verifier(config: &Config) -> anyhow::Result<Option<auth::OidcVerifier>> {
    let Some(issuer) = config.oidc_issuer.as_ref().filter(|i| !i.trim().is_empty()) else {
        return Ok(None);
    };
    let audience = config
        .oidc_audience
        .clone()
        .filter(|a| !a.trim().is_empty())
        .context("ORGHUB_OIDC_AUDIENCE must be set with ORGHUB_OIDC_ISSUER (the application's client id)")?;
    Ok(Some(auth::OidcVerifier::new(
        issuer.trim().to_owned(),
        audience,
        Duration::from_secs(config.oidc_jwks_min_refresh_secs),
        http_client()?,
    )))
}

/// The keys, and the database connected and migrated: what every command needs.
pub async fn open_store(config: &Config) -> anyhow::Result<(Store, auth::TokenService)> {
    let (tokens, secret_key) = token_service(config)?;
    let db = connect(config).await?;
    migrate(&db).await?;
    let mut store = Store::new(db, config.max_page_size, &secret_key, http_client()?);
    store.actors = std::sync::Arc::new(auth::ActorCache::new(Duration::from_secs(
        config.actor_cache_secs,
    )));
    store.autotask_discovery_url = config.autotask_discovery_url.clone();
    domain::custom_packs::load_all(&store)
        .await
        .map_err(|e| anyhow::anyhow!("loading the custom packs: {}", e.client_message()))?;
    Ok((store, tokens))
}

/// The whole application: database connected and migrated, keys loaded, router built.
pub async fn build(config: &Config) -> anyhow::Result<App> {
    let oidc = oidc_verifier(config)?;
    let (store, tokens) = open_store(config).await?;
    let public_url = config.public_base_url()?;
    let state = AppState {
        schema: graphql::build(
            store.clone(),
            config.import_max_rows,
            public_url.clone(),
            config.graphql_max_complexity,
        ),
        store,
        auth: Arc::new(auth::Authenticator { tokens, oidc }),
        settings: Arc::new(HttpSettings {
            request_timeout_secs: config.request_timeout_secs,
            max_body_bytes: config.max_body_bytes,
            max_upload_bytes: config.max_upload_bytes,
            api_token_ttl: Duration::from_secs(config.api_token_ttl_secs),
            import_max_rows: config.import_max_rows,
            public_url,
            cors_origins: config
                .cors_origins
                .iter()
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .filter(|o| !o.is_empty())
                .collect(),
            query_limits: graphql::limits::QueryLimits {
                max_tokens: config.graphql_max_tokens,
                max_aliases: config.graphql_max_aliases,
                max_depth: config.graphql_max_depth,
            },
        }),
        pods: Arc::new(domain::pods::MemberVerifier::default()),
        closing: Arc::new(tokio::sync::watch::channel(false).0),
        triggers: Arc::new(web::triggers::TriggerState::new(
            config.trigger_rate_per_sec,
            config.trigger_rate_per_min,
        )),
    };
    Ok(App {
        router: web::router(state.clone()),
        state,
    })
}

/// Runs the server until Ctrl-C or SIGTERM, finishing the requests in flight.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let app = build(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let addr = listener.local_addr()?;

    if let Some((org, admin)) = domain::users::bootstrap(
        &app.state.store,
        &config.bootstrap_org_name,
        &config.bootstrap_admin_email,
    )
    .await
    .map_err(|e| anyhow::anyhow!("first-start setup failed: {}", e.client_message()))?
    {
        let token = app.state.auth.tokens.mint(
            admin.id,
            &admin.username,
            Duration::from_secs(24 * 3600),
        )?;
        println!(
            "First start: created the organization \"{}\" and its admin {}.",
            org.name, admin.username
        );
        println!(
            "Admin token (valid 24 hours; mint more with `orghub token --user {}`):",
            admin.username
        );
        println!("{token}");
        println!("GraphiQL: http://{addr}/graphql");
    }

    let runner = jobs::Runner::start(
        app.state.store.clone(),
        jobs::RunnerSettings::from_config(&config),
    );
    let maintenance = tokio::spawn(maintenance(app.state.store.clone(), config.retention_at));

    tracing::info!(%addr, "orghub listening; GraphQL at /graphql");
    let closing = app.state.closing.clone();
    axum::serve(listener, app.router)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // Pods' event streams end, so their connections close.
            closing.send_replace(true);
        })
        .await?;
    maintenance.abort();
    // Jobs stop between steps and are handed back for another replica (or the next start).
    runner.shutdown(Duration::from_secs(10)).await;
    app.state.store.db.clone().close().await.ok();
    tracing::info!("orghub stopped");
    Ok(())
}

/// Every minute: expires unanswered pending tasks, and queues the nightly retention job
/// once its time of day has come. Every
/// replica ticks; the job's unique key makes one job per day, and the runner's lease makes
/// one replica run it. A failed tick is only logged: the next one tries again.
async fn maintenance(store: Store, retention_at: chrono::NaiveTime) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = domain::retention::schedule(&store, chrono::Utc::now(), retention_at).await
        {
            tracing::warn!(error = %e.client_message(), "scheduling the retention job failed");
        }
        // Questions nobody answered in time end their runs (TIMEOUT).
        match domain::executions::expire_due(&store, chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "pending tasks expired"),
            Err(e) => tracing::warn!(error = %e.client_message(), "expiring pending tasks failed"),
        }
        // Offboarding schedules whose time has come.
        if let Err(e) = domain::triggers::schedule_due(&store, chrono::Utc::now()).await {
            tracing::warn!(error = %e.client_message(), "firing schedules failed");
        }
        // Custom packs made or changed on other replicas.
        if let Err(e) = domain::custom_packs::load_all(&store).await {
            tracing::warn!(error = %e.client_message(), "loading custom packs failed");
        }
        // Pod sessions nobody used for their idle period.
        if let Err(e) = web::session_store::DbSessionStore::new(store.db.clone())
            .purge_expired()
            .await
        {
            tracing::warn!(error = %e, "purging expired sessions failed");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact_url("postgres://u:pw@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            super::redact_url("sqlite://orghub.db"),
            "sqlite://orghub.db"
        );
    }
}
