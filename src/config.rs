//! Every setting of the server, from flags and `ORGHUB_*` environment variables.
//! The defaults run out of the box on a SQLite file in the working directory.
use std::{fmt, net::SocketAddr, path::PathBuf, str::FromStr};

use chrono::NaiveTime;

/// A value that must never be printed (keys, secrets).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Server configuration.
#[derive(Clone, Debug, clap::Args)]
pub struct Config {
    /// Database URL: `sqlite://PATH` (created and migrated on first start) or `postgres://USER@HOST/DB`.
    #[arg(
        long,
        env = "ORGHUB_DATABASE_URL",
        default_value = "sqlite://orghub.db"
    )]
    pub database_url: String,

    /// Maximum number of pooled database connections.
    #[arg(long, env = "ORGHUB_DATABASE_POOL_SIZE", default_value_t = 8)]
    pub database_pool_size: u32,

    /// Address and port the HTTP server listens on.
    #[arg(long, env = "ORGHUB_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Secret for HS256 operator tokens (`orghub token`). When unset with SQLite, one is
    /// generated and kept in `<database file>.keys`; required with PostgreSQL.
    #[arg(long, env = "ORGHUB_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,

    /// PEM file with an RS256 public key; tokens signed by its private key are accepted too.
    #[arg(long, env = "ORGHUB_JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<PathBuf>,

    /// Expected `iss` claim of every token.
    #[arg(long, env = "ORGHUB_JWT_ISSUER", default_value = "orghub")]
    pub jwt_issuer: String,

    /// Expected `aud` claim of every token.
    #[arg(long, env = "ORGHUB_JWT_AUDIENCE", default_value = "orghub")]
    pub jwt_audience: String,

    /// Issuer URL of the MSP's OpenID Connect identity provider (e.g.
    /// `https://login.microsoftonline.com/<tenant>/v2.0`); its tokens are then accepted.
    #[arg(long, env = "ORGHUB_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,

    /// The `aud` the identity provider's tokens must carry (the client / application id).
    #[arg(long, env = "ORGHUB_OIDC_AUDIENCE")]
    pub oidc_audience: Option<String>,

    /// Least seconds between two fetches of the provider's keys caused by unknown key ids.
    #[arg(long, env = "ORGHUB_OIDC_JWKS_MIN_REFRESH_SECS", default_value_t = 60)]
    pub oidc_jwks_min_refresh_secs: u64,

    /// Lifetime in seconds of the tokens API clients get at `POST /oauth/token`.
    #[arg(long, env = "ORGHUB_API_TOKEN_TTL_SECS", default_value_t = 3600)]
    pub api_token_ttl_secs: u64,

    /// 32-byte key (64 hex digits) that encrypts secrets at rest. When unset with SQLite, one
    /// is generated and kept in `<database file>.keys`; required with PostgreSQL.
    #[arg(long, env = "ORGHUB_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<Secret>,

    /// Largest page any list returns; a larger `limit` is refused.
    #[arg(long, env = "ORGHUB_MAX_PAGE_SIZE", default_value_t = 500)]
    pub max_page_size: u64,

    /// The most rows one organization import may have.
    #[arg(long, env = "ORGHUB_IMPORT_MAX_ROWS", default_value_t = 1000)]
    pub import_max_rows: usize,

    /// Background jobs one replica runs at a time (SQLite always runs one).
    #[arg(long, env = "ORGHUB_JOB_WORKERS", default_value_t = 2)]
    pub job_workers: usize,

    /// Seconds a replica holds a claimed job without renewing it; a crashed replica's job
    /// is taken over this long after its last renewal.
    #[arg(long, env = "ORGHUB_JOB_LEASE_SECS", default_value_t = 30)]
    pub job_lease_secs: u64,

    /// Milliseconds between looks for new jobs queued by other replicas.
    #[arg(long, env = "ORGHUB_JOB_POLL_MS", default_value_t = 1000)]
    pub job_poll_ms: u64,

    /// The address people and ConnectWise reach this server at, e.g. `https://orghub.example.com`:
    /// live links and callback URLs are built on it. Default: `http://` and the bind address.
    #[arg(long, env = "ORGHUB_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Live-link clicks and ConnectWise callbacks one trigger may take per second (per replica).
    #[arg(long, env = "ORGHUB_TRIGGER_RATE_PER_SEC", default_value_t = 50)]
    pub trigger_rate_per_sec: u32,

    /// Live-link clicks and ConnectWise callbacks one trigger may take per minute (per replica).
    #[arg(long, env = "ORGHUB_TRIGGER_RATE_PER_MIN", default_value_t = 1000)]
    pub trigger_rate_per_min: u32,

    /// UTC time of day (`HH:MM`) at which the nightly retention job runs: it deletes each
    /// organization's workflow executions older than its `resultsRetentionDays` and purges
    /// organizations deleted more than 30 days before. Pick a quiet hour.
    #[arg(
        long,
        env = "ORGHUB_RETENTION_AT",
        default_value = "03:00",
        value_parser = parse_time_of_day
    )]
    pub retention_at: NaiveTime,

    /// Deepest GraphQL selection allowed (introspection excepted).
    #[arg(long, env = "ORGHUB_GRAPHQL_MAX_DEPTH", default_value_t = 10)]
    pub graphql_max_depth: usize,

    /// Most aliases one GraphQL operation may use (fragments counted each time they are spread).
    #[arg(long, env = "ORGHUB_GRAPHQL_MAX_ALIASES", default_value_t = 15)]
    pub graphql_max_aliases: usize,

    /// Most tokens one GraphQL document may have.
    #[arg(long, env = "ORGHUB_GRAPHQL_MAX_TOKENS", default_value_t = 2000)]
    pub graphql_max_tokens: usize,

    /// Highest complexity (fields selected) one GraphQL operation may have.
    #[arg(long, env = "ORGHUB_GRAPHQL_MAX_COMPLEXITY", default_value_t = 1000)]
    pub graphql_max_complexity: usize,

    /// Seconds a request waits for a database connection before it is answered 503.
    #[arg(
        long,
        env = "ORGHUB_DATABASE_ACQUIRE_TIMEOUT_SECS",
        default_value_t = 5
    )]
    pub database_acquire_timeout_secs: u64,

    /// Where Autotask configs without a zone URL ask for their zone (`zoneInformation`).
    #[arg(
        long,
        env = "ORGHUB_AUTOTASK_DISCOVERY_URL",
        default_value = "https://webservices.autotask.net"
    )]
    pub autotask_discovery_url: String,

    /// Seconds a signed-in user's role and organization are kept between requests
    /// (changes on this replica take effect at once; on other replicas within this).
    /// 0 reloads them on every request. API clients are never kept.
    #[arg(long, env = "ORGHUB_ACTOR_CACHE_SECS", default_value_t = 5)]
    pub actor_cache_secs: u64,

    /// Browser origins allowed to call the API with credentials (CORS), comma-separated,
    /// e.g. `https://tools.example.com`. None by default: no cross-origin access at all.
    #[arg(long, env = "ORGHUB_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Seconds a request may run before it is answered with 408.
    #[arg(long, env = "ORGHUB_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,

    /// Largest request body accepted, in bytes (uploads: `--max-upload-bytes`).
    #[arg(long, env = "ORGHUB_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Largest multipart upload (CSV imports), in bytes.
    #[arg(long, env = "ORGHUB_MAX_UPLOAD_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_upload_bytes: usize,

    /// Name of the MSP organization created on first start with an empty database.
    #[arg(long, env = "ORGHUB_BOOTSTRAP_ORG_NAME", default_value = "My MSP")]
    pub bootstrap_org_name: String,

    /// E-mail of the admin user created on first start with an empty database.
    #[arg(
        long,
        env = "ORGHUB_BOOTSTRAP_ADMIN_EMAIL",
        default_value = "admin@example.com"
    )]
    pub bootstrap_admin_email: String,

    /// Log line format.
    #[arg(long, env = "ORGHUB_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl Config {
    /// The defaults, for tests and embedding: every field as if no flag or variable were set.
    pub fn defaults() -> Self {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            config: Config,
        }
        <Wrapper as clap::Parser>::parse_from(["orghub"]).config
    }

    /// The public base URL without a trailing slash (`--public-url`, or `http://<bind>`).
    pub fn public_base_url(&self) -> anyhow::Result<String> {
        match self
            .public_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            None => Ok(format!("http://{}", self.bind)),
            Some(u) if u.starts_with("https://") || u.starts_with("http://") => {
                Ok(u.trim_end_matches('/').to_owned())
            }
            Some(u) => {
                anyhow::bail!("ORGHUB_PUBLIC_URL must start with https:// or http:// (got {u:?})")
            }
        }
    }

    /// The SQLite file behind `database_url`, if it names one.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        let rest = self
            .database_url
            .strip_prefix("sqlite://")
            .or_else(|| self.database_url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or(rest);
        if path.is_empty() || path == ":memory:" {
            return None;
        }
        Some(PathBuf::from(path))
    }
}

/// `HH:MM` (24-hour clock) as a time of day; a bad value stops the server at start with
/// this message rather than leaving the nightly job unscheduled.
pub fn parse_time_of_day(raw: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(raw.trim(), "%H:%M")
        .map_err(|_| format!("`{raw}` is not a time of day as HH:MM (24-hour, UTC), e.g. 03:00"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day() {
        assert_eq!(
            parse_time_of_day("03:00"),
            Ok(NaiveTime::from_hms_opt(3, 0, 0).unwrap())
        );
        assert_eq!(
            parse_time_of_day(" 23:59 "),
            Ok(NaiveTime::from_hms_opt(23, 59, 0).unwrap())
        );
        for bad in ["", "3", "24:00", "12:60", "03:00:00", "3am", "-1:00"] {
            assert!(parse_time_of_day(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_default_retention_time_is_three_in_the_morning() {
        assert_eq!(
            Config::defaults().retention_at,
            NaiveTime::from_hms_opt(3, 0, 0).unwrap()
        );
    }
}
