//! Health of pack configs, as data: `testPackConfig` runs a real check against the PSA and
//! records it; the health colour derives from the config and its last check.
//! GREEN: configured and the last check passed. ORANGE: incomplete, never checked, changed
//! since the check, or refused (credentials, permissions, wrong company). RED: configured but
//! unreachable (network, timeout, server errors).
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::pack_test_run as run;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::pack_configs::{self, PackConfig};
use super::{Store, now};
use crate::auth::{Access, Actor};
use crate::connectwise::client::CwError;
use crate::error::{AppError, AppResult};
use crate::psa::Psa;

pub use run::Model as TestRun;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colour {
    Green,
    Orange,
    Red,
}

impl Colour {
    pub fn as_str(self) -> &'static str {
        match self {
            Colour::Green => "GREEN",
            Colour::Orange => "ORANGE",
            Colour::Red => "RED",
        }
    }

    fn parse(s: &str) -> Colour {
        match s {
            "GREEN" => Colour::Green,
            "RED" => Colour::Red,
            _ => Colour::Orange,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Health {
    pub colour: Colour,
    pub reason: Option<String>,
    pub checked_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
}

/// The colour a check's outcome stands for.
fn colour_of(error: &CwError) -> Colour {
    match error {
        CwError::Unauthorized(_)
        | CwError::Forbidden(_)
        | CwError::NotFound(_)
        | CwError::Rejected { .. } => Colour::Orange,
        CwError::RateLimited
        | CwError::Server { .. }
        | CwError::Unreachable(_)
        | CwError::Timeout
        | CwError::Protocol(_) => Colour::Red,
    }
}

async fn check(
    store: &Store,
    config: &PackConfig,
) -> AppResult<(Colour, Option<i32>, Option<String>)> {
    let missing = pack_configs::missing_fields(config);
    if !missing.is_empty() {
        return Ok((
            Colour::Orange,
            None,
            Some(format!(
                "the config is incomplete: {} missing",
                missing.join(", ")
            )),
        ));
    }
    let psa = match Psa::for_config(store, config) {
        Ok(psa) => psa,
        Err(AppError::Invalid(e)) if e.iter().any(|e| e.code == "NOT_SUPPORTED") => {
            return Err(AppError::invalid(
                "packConfig.id",
                "NOT_SUPPORTED",
                format!("{} has no health check", config.pack_id),
            ));
        }
        Err(e) => return Err(e),
    };
    let started = std::time::Instant::now();
    let result = psa.check().await;
    let ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    Ok(match result {
        Ok(_) => (Colour::Green, Some(ms), None),
        Err(e) => (colour_of(&e.kind), Some(ms), Some(e.to_string())),
    })
}

/// `testPackConfig`: checks the saved config now and records the outcome.
pub async fn test(store: &Store, actor: &Actor, config_id: Uuid) -> AppResult<TestRun> {
    let (config, org) = pack_configs::get(store, actor, config_id).await?;
    actor.check(&org, Access::Write)?;
    let (colour, ms, error) = check(store, &config).await?;
    Ok(run::ActiveModel {
        id: Set(Uuid::now_v7()),
        pack_config_id: Set(config.id),
        is_passing: Set(colour == Colour::Green),
        status: Set(colour.as_str().to_owned()),
        response_time_ms: Set(ms),
        error_msg: Set(error),
        created_at: Set(now()),
    }
    .insert(&store.db)
    .await?)
}

/// The latest check of each config, and the time of its latest passing one.
pub async fn latest(
    store: &Store,
    config_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, (TestRun, Option<DateTime<Utc>>)>> {
    let rows = run::Entity::find()
        .filter(run::Column::PackConfigId.is_in(config_ids.iter().copied()))
        .order_by_desc(run::Column::CreatedAt)
        .all(&store.db)
        .await?;
    let mut out: HashMap<Uuid, (TestRun, Option<DateTime<Utc>>)> = HashMap::new();
    for r in rows {
        let passed = r.is_passing.then_some(r.created_at);
        match out.get_mut(&r.pack_config_id) {
            None => {
                out.insert(r.pack_config_id, (r, passed));
            }
            Some((_, last_ok)) => {
                if last_ok.is_none() {
                    *last_ok = passed;
                }
            }
        }
    }
    Ok(out)
}

/// The health colour of a config given its latest check.
pub fn health(config: &PackConfig, latest: Option<&(TestRun, Option<DateTime<Utc>>)>) -> Health {
    let missing = pack_configs::missing_fields(config);
    let last_success_at = latest.and_then(|(_, ok)| *ok);
    let checked_at = latest.map(|(r, _)| r.created_at);
    let (colour, reason) = if !missing.is_empty() {
        (
            Colour::Orange,
            Some(format!("incomplete: {} missing", missing.join(", "))),
        )
    } else {
        match latest {
            None => (Colour::Orange, Some("not tested yet".to_owned())),
            Some((r, _)) if r.created_at < config.updated_at => (
                Colour::Orange,
                Some("changed since the last test; test it again".to_owned()),
            ),
            Some((r, _)) => (Colour::parse(&r.status), r.error_msg.clone()),
        }
    };
    Health {
        colour,
        reason,
        checked_at,
        last_success_at,
    }
}
