//! "PSA: Deactivate configurations of an offboarded client": when a customer leaves, its
//! configurations (devices, firewalls, licences) in ConnectWise are set inactive, or billing
//! and alerts keep running. The run finds the company (by id or exact name), refuses one
//! whose status is not an offboarded one, lists its configurations (all pages), and sets each
//! active one inactive (a closed status and `activeFlag: false`, by JSON-Patch); one failure
//! does not stop the others. `dry_run` only lists; `require_approval` waits for a member or
//! admin to approve the list first (a rejection cancels the run).
//!
//! The output has exactly this shape: `{success, client_id, client_name, timestamp,
//! statistics: {configs_found, configs_deactivated, configs_skipped, errors}, configs:
//! [{config_id, config_name, status, previous_status}], warnings, errors: [{code, message,
//! timestamp, config_id}]}`.
use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{TaskLogger, Workflow, handled, set_output};
use crate::connectwise::client::{CwClient, CwError};
use crate::domain::executions::{self, Execution, PendingTask, Question};
use crate::domain::pack_configs::{self, PackConfig};
use crate::domain::{Store, now};
use crate::error::{AppError, AppResult, ValidationError};

pub const ID: &str = "0193f1a2-7c4e-7d10-9a6b-2f5e8c1d4b02";

pub const WORKFLOW: Workflow = Workflow {
    id: ID,
    name: "PSA: Deactivate configurations of an offboarded client",
    description: "Finds an offboarded client's configurations in ConnectWise, lists them for \
                  review and sets the active ones inactive",
};

const APPROVE: &str = "approve";
const REJECT: &str = "reject";

/// What a run is asked to do.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    pub client_id: Option<i64>,
    pub client_name: Option<String>,
    /// Company statuses (names, any case) that count as offboarded; empty: any status.
    pub offboarded_statuses: Vec<String>,
    pub dry_run: bool,
    pub require_approval: bool,
    pub include_archived: bool,
    pub reason: Option<String>,
}

const KEYS: [(&str, &str); 7] = [
    ("client_id", "clientId"),
    ("client_name", "clientName"),
    ("offboarded_statuses", "offboardedStatuses"),
    ("dry_run", "dryRun"),
    ("require_approval", "requireApproval"),
    ("include_archived", "includeArchived"),
    ("reason", "reason"),
];

impl Params {
    /// Reads the inputs (snake_case as Rewst sends them, or camelCase), reporting every
    /// problem with its field. `need_client`: a client id or name is required.
    pub fn parse(v: &Value, need_client: bool) -> AppResult<Params> {
        let empty = Map::new();
        let obj = match v {
            Value::Object(o) => o,
            Value::Null => &empty,
            _ => {
                return Err(AppError::invalid(
                    "input",
                    "INVALID_FORMAT",
                    "must be an object",
                ));
            }
        };
        let mut errors = Vec::new();
        for k in obj.keys() {
            if !KEYS.iter().any(|(s, c)| k == s || k == c) {
                errors.push(ValidationError::new(
                    k.clone(),
                    "UNKNOWN_FIELD",
                    format!(
                        "is not an input of this workflow (use {})",
                        KEYS.map(|(s, _)| s).join(", ")
                    ),
                ));
            }
        }
        let get = |snake: &str| -> Option<&Value> {
            let camel = KEYS
                .iter()
                .find(|(s, _)| *s == snake)
                .map_or(snake, |(_, c)| *c);
            obj.get(snake)
                .or_else(|| obj.get(camel))
                .filter(|v| !v.is_null())
        };
        let mut p = Params::default();
        match get("client_id") {
            None => {}
            Some(v) => {
                let id = v
                    .as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
                match id.filter(|i| *i > 0) {
                    Some(i) => p.client_id = Some(i),
                    None => errors.push(ValidationError::new(
                        "client_id",
                        "INVALID_FORMAT",
                        "must be a ConnectWise company id (a positive number)",
                    )),
                }
            }
        }
        let text = |key: &str, max: usize, errors: &mut Vec<ValidationError>| -> Option<String> {
            match get(key) {
                None => None,
                Some(Value::String(s)) if s.trim().is_empty() => None,
                Some(Value::String(s)) if s.trim().chars().count() > max => {
                    errors.push(ValidationError::new(
                        key,
                        "MAX_LENGTH_EXCEEDED",
                        format!("must be at most {max} characters"),
                    ));
                    None
                }
                Some(Value::String(s)) => Some(s.trim().to_owned()),
                Some(_) => {
                    errors.push(ValidationError::new(key, "INVALID_FORMAT", "must be text"));
                    None
                }
            }
        };
        p.client_name = text("client_name", 255, &mut errors);
        p.reason = text("reason", 1000, &mut errors);
        match get("offboarded_statuses") {
            None => {}
            Some(Value::Array(items)) if items.len() <= 50 => {
                for (i, item) in items.iter().enumerate() {
                    match item.as_str().map(str::trim) {
                        Some(s) if !s.is_empty() && s.chars().count() <= 100 => {
                            p.offboarded_statuses.push(s.to_owned())
                        }
                        _ => errors.push(ValidationError::new(
                            format!("offboarded_statuses.{i}"),
                            "INVALID_FORMAT",
                            "must be a company status name (1 to 100 characters)",
                        )),
                    }
                }
            }
            Some(_) => errors.push(ValidationError::new(
                "offboarded_statuses",
                "INVALID_FORMAT",
                "must be a list of at most 50 company status names",
            )),
        }
        for (key, slot) in [
            ("dry_run", &mut p.dry_run),
            ("require_approval", &mut p.require_approval),
            ("include_archived", &mut p.include_archived),
        ] {
            match get(key) {
                None => {}
                Some(Value::Bool(b)) => *slot = *b,
                Some(_) => errors.push(ValidationError::new(
                    key,
                    "INVALID_FORMAT",
                    "must be true or false",
                )),
            }
        }
        if need_client && p.client_id.is_none() && p.client_name.is_none() && errors.is_empty() {
            errors.push(ValidationError::new(
                "client_id",
                "REQUIRED_FIELD",
                "client_id or client_name is required",
            ));
        }
        if errors.is_empty() {
            Ok(p)
        } else {
            Err(AppError::Invalid(errors))
        }
    }
}

/// Queues a run (PENDING until the runner takes its first step).
pub async fn start(
    store: &Store,
    org_id: Uuid,
    config_id: Uuid,
    params: &Params,
    source: &str,
    trigger_id: Option<Uuid>,
) -> AppResult<Execution> {
    let txn = store.begin_write().await?;
    let exec = executions::queue(
        &txn,
        org_id,
        ID,
        json!({ "orgId": org_id, "packConfigId": config_id, "params": params,
                "source": source, "triggerId": trigger_id }),
    )
    .await?;
    super::enqueue_step(&txn, exec.id, None).await?;
    txn.commit().await?;
    store.jobs_wakeup.notify_one();
    Ok(exec)
}

fn stamp() -> String {
    crate::graphql::rfc3339(&now())
}

/// What a run found and did, turned into the output at the end.
#[derive(Default)]
struct Report {
    client_id: Option<i64>,
    client_name: Option<String>,
    configs: Vec<Value>,
    warnings: Vec<Value>,
    errors: Vec<Value>,
    found: u64,
    deactivated: u64,
    skipped: u64,
}

impl Report {
    fn error(&mut self, code: &str, message: impl Into<String>, config_id: Option<i64>) {
        self.errors
            .push(json!({ "code": code, "message": message.into(),
                                 "timestamp": stamp(), "config_id": config_id }));
    }

    fn warning(&mut self, code: &str, message: impl Into<String>) {
        self.warnings
            .push(json!({ "code": code, "message": message.into(), "timestamp": stamp() }));
    }

    fn output(&self) -> Value {
        json!({
            "success": self.errors.is_empty(),
            "client_id": self.client_id,
            "client_name": self.client_name,
            "timestamp": stamp(),
            "statistics": {
                "configs_found": self.found,
                "configs_deactivated": self.deactivated,
                "configs_skipped": self.skipped,
                "errors": self.errors.len(),
            },
            "configs": self.configs,
            "warnings": self.warnings,
            "errors": self.errors,
        })
    }
}

/// The error code of a ConnectWise failure.
fn code_of(e: &CwError, otherwise: &'static str) -> &'static str {
    match e {
        CwError::Unauthorized(_) | CwError::Forbidden(_) => "PermissionDenied",
        CwError::Unreachable(_) | CwError::Timeout | CwError::RateLimited => "PSAConnectionError",
        // A 500 on one configuration is that configuration's failure; elsewhere ConnectWise
        // itself is failing.
        CwError::Server { .. } if otherwise == "ConfigUpdateFailed" => otherwise,
        CwError::Server { .. } => "PSAConnectionError",
        _ => otherwise,
    }
}

/// A configuration as the run sees it.
struct Config {
    id: i64,
    name: String,
    status: String,
    active: bool,
}

struct Run {
    exec: Execution,
    params: Params,
    client: CwClient,
    log: TaskLogger,
}

pub async fn step(store: &Store, exec: Execution, task: Option<PendingTask>) -> AppResult<()> {
    let input = exec.input.clone().unwrap_or(Value::Null);
    let params: Params = serde_json::from_value(input["params"].clone()).unwrap_or_default();
    let config_id = input["packConfigId"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok());
    let config: Option<PackConfig> = match config_id {
        Some(id) => pack_configs::by_ids(store, &[id]).await?.remove(&id),
        None => None,
    };
    let mut report = Report {
        client_id: params.client_id,
        client_name: params.client_name.clone(),
        ..Default::default()
    };
    let Some(config) = config.filter(|c| pack_configs::missing_fields(c).is_empty()) else {
        report.error(
            "PSAConnectionError",
            "The ConnectWise config of this run is missing or incomplete",
            None,
        );
        return finish(store, &exec, &report).await;
    };
    let (creds, _) = pack_configs::connectwise_credentials(store, &config)?;
    let run = Run {
        log: TaskLogger {
            execution_id: exec.id,
            secrets: vec![creds.private_key.clone(), creds.public_key.clone()],
        },
        client: CwClient::new(store.http.clone(), creds),
        exec,
        params,
    };
    match task {
        None => run.begin(store, report).await,
        Some(t) => run.answered(store, report, t).await,
    }
}

/// Records the output and ends the run: SUCCEEDED without errors, else FAILED.
async fn finish(store: &Store, exec: &Execution, report: &Report) -> AppResult<()> {
    let txn = store.begin_write().await?;
    set_output(&txn, exec, report.output()).await?;
    let message = report.errors.first().map(|e| {
        format!(
            "{} error(s); first: {}: {}",
            report.errors.len(),
            e["code"].as_str().unwrap_or(""),
            e["message"].as_str().unwrap_or("")
        )
    });
    let status = if report.errors.is_empty() {
        "SUCCEEDED"
    } else {
        "FAILED"
    };
    executions::set_status(&txn, exec.id, status, message.as_deref()).await?;
    txn.commit().await?;
    Ok(())
}

impl Run {
    async fn begin(&self, store: &Store, mut report: Report) -> AppResult<()> {
        if self.exec.status != "PENDING" && self.exec.status != "RUNNING" {
            return Ok(());
        }
        executions::set_status(&store.db, self.exec.id, "RUNNING", None).await?;
        let mode = if self.params.dry_run {
            "dry run"
        } else if self.params.require_approval {
            "with approval"
        } else {
            "live"
        };
        self.log
            .line(
                &store.db,
                "start",
                &format!("deactivate configurations ({mode})"),
                Ok(()),
                std::time::Duration::ZERO,
                Some(&format!(
                    "reason: {}",
                    self.params.reason.as_deref().unwrap_or("(none given)")
                )),
            )
            .await?;
        let Some(survey) = self.survey(store, &mut report).await? else {
            return finish(store, &self.exec, &report).await;
        };
        let configs = &survey.configs;
        let active: Vec<&Config> = configs.iter().filter(|c| c.active).collect();
        if self.params.dry_run {
            for c in configs {
                report.configs.push(entry(
                    c,
                    if c.active {
                        "would_deactivate"
                    } else {
                        "skipped"
                    },
                ));
            }
            report.skipped = (configs.len() - active.len()) as u64;
            return finish(store, &self.exec, &report).await;
        }
        if self.params.require_approval && !active.is_empty() {
            for c in configs {
                report.configs.push(entry(
                    c,
                    if c.active {
                        "pending_approval"
                    } else {
                        "skipped"
                    },
                ));
            }
            let txn = store.begin_write().await?;
            set_output(&txn, &self.exec, report.output()).await?;
            executions::ask_question(
                &txn,
                self.exec.id,
                &Question {
                    step: Some("approval"),
                    kind: "button",
                    label: &format!(
                        "Deactivate {} configuration(s) of {} in ConnectWise?",
                        active.len(),
                        report.client_name.as_deref().unwrap_or("the client")
                    ),
                    fields: Some(json!([
                        { "value": APPROVE, "label": "Approve" },
                        { "value": REJECT, "label": "Reject" },
                    ])),
                    ttl: Duration::days(3),
                },
            )
            .await?;
            txn.commit().await?;
            return Ok(());
        }
        self.deactivate(store, &mut report, &survey).await?;
        finish(store, &self.exec, &report).await
    }

    async fn answered(&self, store: &Store, mut report: Report, t: PendingTask) -> AppResult<()> {
        let choice = t
            .response
            .as_ref()
            .and_then(|r| r["value"].as_str())
            .unwrap_or("");
        if choice != APPROVE {
            let txn = store.begin_write().await?;
            handled(&txn, &t).await?;
            let mut out = self.exec.output.clone().unwrap_or_else(|| report.output());
            out["success"] = json!(false);
            out["warnings"] = json!([{ "code": "Rejected", "message": "The deactivation was rejected; nothing changed", "timestamp": stamp() }]);
            set_output(&txn, &self.exec, out).await?;
            executions::set_status(&txn, self.exec.id, "CANCELED", Some("Rejected by a person"))
                .await?;
            txn.commit().await?;
            return Ok(());
        }
        handled(&store.db, &t).await?;
        self.log
            .line(
                &store.db,
                "approval",
                "approved",
                Ok(()),
                std::time::Duration::ZERO,
                None,
            )
            .await?;
        // The list may have changed while it waited: look again.
        let Some(survey) = self.survey(store, &mut report).await? else {
            return finish(store, &self.exec, &report).await;
        };
        self.deactivate(store, &mut report, &survey).await?;
        finish(store, &self.exec, &report).await
    }

    /// Finds the company, checks its status, lists its configurations. `None` when the run
    /// cannot go on (the reason is in the report).
    async fn survey(&self, store: &Store, report: &mut Report) -> AppResult<Option<Survey>> {
        let company = match self.params.client_id {
            Some(id) => {
                let path = format!("company/companies/{id}");
                match self
                    .log
                    .timed(
                        store,
                        "find client",
                        &format!("GET {path}"),
                        self.client.get(&path, &[]),
                    )
                    .await?
                {
                    Ok(c) => c,
                    Err(CwError::NotFound(_)) => {
                        report.error(
                            "ClientNotFound",
                            format!("No company with id {id} in ConnectWise"),
                            None,
                        );
                        return Ok(None);
                    }
                    Err(e) => {
                        report.error(code_of(&e, "PSAConnectionError"), e.to_string(), None);
                        return Ok(None);
                    }
                }
            }
            None => {
                let name = self.params.client_name.clone().unwrap_or_default();
                let cond = format!("name = \"{}\"", name.replace('"', "\\\""));
                let found = match self
                    .log
                    .timed(
                        store,
                        "find client",
                        &format!("GET company/companies?conditions={cond}"),
                        self.client.get_all("company/companies", Some(&cond), 100),
                    )
                    .await?
                {
                    Ok(list) => list,
                    Err(e) => {
                        report.error(code_of(&e, "PSAConnectionError"), e.to_string(), None);
                        return Ok(None);
                    }
                };
                let exact: Vec<Value> = found
                    .into_iter()
                    .filter(|c| {
                        c["name"]
                            .as_str()
                            .is_some_and(|n| n.eq_ignore_ascii_case(&name))
                    })
                    .collect();
                match exact.len() {
                    0 => {
                        report.error(
                            "ClientNotFound",
                            format!("No company named \"{name}\" in ConnectWise"),
                            None,
                        );
                        return Ok(None);
                    }
                    1 => exact.into_iter().next().unwrap_or_default(),
                    _ => {
                        let list: Vec<String> = exact
                            .iter()
                            .map(|c| {
                                format!("{} (id {})", c["name"].as_str().unwrap_or(""), c["id"])
                            })
                            .collect();
                        report.error(
                            "ClientAmbiguous",
                            format!(
                                "\"{name}\" names several companies; give client_id: {}",
                                list.join(", ")
                            ),
                            None,
                        );
                        return Ok(None);
                    }
                }
            }
        };
        let Some(company_id) = company["id"].as_i64() else {
            report.error(
                "ClientNotFound",
                "ConnectWise answered without a company id",
                None,
            );
            return Ok(None);
        };
        report.client_id = Some(company_id);
        report.client_name = company["name"].as_str().map(str::to_owned);
        let status = company["status"]["name"].as_str().unwrap_or("").to_owned();
        if !self.params.offboarded_statuses.is_empty()
            && !self
                .params
                .offboarded_statuses
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&status))
        {
            report.error(
                "ClientNotOffboarded",
                format!(
                    "The company's status is \"{status}\", not one of the offboarded statuses ({}); nothing was changed",
                    self.params.offboarded_statuses.join(", ")
                ),
                None,
            );
            return Ok(None);
        }
        let statuses = match self
            .log
            .timed(
                store,
                "list configurations",
                "GET company/configurations/statuses",
                self.client.configuration_statuses(),
            )
            .await?
        {
            Ok(s) => s,
            Err(e) => {
                report.error(code_of(&e, "PSAConnectionError"), e.to_string(), None);
                return Ok(None);
            }
        };
        let cond = format!("company/id = {company_id}");
        let list = match self
            .log
            .timed(
                store,
                "list configurations",
                &format!("GET company/configurations?conditions={cond}"),
                self.client.configurations(Some(&cond)),
            )
            .await?
        {
            Ok(l) => l,
            Err(e) => {
                report.error(code_of(&e, "PSAConnectionError"), e.to_string(), None);
                return Ok(None);
            }
        };
        let closed = |id: Option<i64>| statuses.iter().any(|s| Some(s.id) == id && s.closed_flag);
        let configs: Vec<Config> = list
            .iter()
            .filter_map(|c| {
                Some(Config {
                    id: c["id"].as_i64()?,
                    name: c["name"].as_str().unwrap_or("").to_owned(),
                    status: c["status"]["name"]
                        .as_str()
                        .or_else(|| c["status"]["description"].as_str())
                        .unwrap_or("")
                        .to_owned(),
                    active: c["activeFlag"].as_bool() != Some(false)
                        && !closed(c["status"]["id"].as_i64()),
                })
            })
            .collect();
        if configs.is_empty() {
            report.warning(
                "ConfigNotFound",
                format!(
                    "{} has no configurations in ConnectWise; nothing to deactivate",
                    report.client_name.as_deref().unwrap_or("The company")
                ),
            );
            return Ok(None);
        }
        let shown: Vec<Config> = configs
            .into_iter()
            .filter(|c| c.active || self.params.include_archived)
            .collect();
        report.found = shown.len() as u64;
        if shown.iter().all(|c| !c.active) {
            report.warning(
                "ConfigNotFound",
                "No active configuration: nothing to deactivate",
            );
        }
        let closed_status = statuses
            .iter()
            .filter(|s| s.closed_flag)
            .max_by_key(|s| s.description.eq_ignore_ascii_case("inactive"))
            .map(|s| (s.id, s.description.clone()));
        Ok(Some(Survey {
            configs: shown,
            closed_status,
        }))
    }

    /// Sets every active configuration inactive; a failure is reported and the rest go on.
    async fn deactivate(&self, store: &Store, report: &mut Report, s: &Survey) -> AppResult<()> {
        let mut ops = vec![json!({ "op": "replace", "path": "activeFlag", "value": false })];
        if let Some((id, name)) = &s.closed_status {
            ops.insert(
                0,
                json!({ "op": "replace", "path": "status", "value": { "id": id, "name": name } }),
            );
        }
        let ops = Value::Array(ops);
        for c in &s.configs {
            if !c.active {
                report.skipped += 1;
                report.configs.push(entry(c, "skipped"));
                continue;
            }
            let action = format!("PATCH company/configurations/{}", c.id);
            match self
                .log
                .timed(
                    store,
                    "deactivate",
                    &action,
                    self.client.update_configuration(c.id, &ops),
                )
                .await?
            {
                Ok(_) => {
                    report.deactivated += 1;
                    report.configs.push(entry(c, "deactivated"));
                }
                Err(err) => {
                    report.error(
                        code_of(&err, "ConfigUpdateFailed"),
                        format!("{} ({}): {err}", c.name, c.id),
                        Some(c.id),
                    );
                    report.configs.push(entry(c, "failed"));
                }
            }
        }
        Ok(())
    }
}

/// The configurations a run acts on, and the closed status to give them.
struct Survey {
    configs: Vec<Config>,
    closed_status: Option<(i64, String)>,
}

fn entry(c: &Config, status: &str) -> Value {
    json!({ "config_id": c.id, "config_name": c.name, "status": status, "previous_status": c.status })
}

/// The job of a schedule's firing: one run for every company in the offboarded statuses.
pub async fn run_schedule(store: &Store, payload: &Value) -> AppResult<crate::jobs::Outcome> {
    use crate::domain::triggers;
    let Some(trigger_id) = payload["triggerId"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
    else {
        return Err(AppError::internal(anyhow::anyhow!(
            "a schedule job without a trigger id"
        )));
    };
    // Deleted meanwhile: nothing to do.
    let Some(t) = triggers::find(store, trigger_id).await? else {
        return Ok(crate::jobs::Outcome::Done);
    };
    let Some(config) = triggers::config_of(store, &t).await? else {
        return Ok(crate::jobs::Outcome::Done);
    };
    let params: Params = t
        .inputs
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let (creds, conditions) = pack_configs::connectwise_credentials(store, &config)?;
    let client = CwClient::new(store.http.clone(), creds);
    // A failure here is retried by the job runner (ConnectWise may be back later).
    let companies = client
        .companies(conditions.as_deref())
        .await
        .map_err(|e| AppError::Conflict(format!("listing companies failed: {e}")))?;
    let mut started = 0;
    for c in companies.iter().filter(|c| {
        c.status
            .as_ref()
            .and_then(|s| s.name.as_deref())
            .is_some_and(|s| {
                params
                    .offboarded_statuses
                    .iter()
                    .any(|o| o.eq_ignore_ascii_case(s))
            })
    }) {
        let p = Params {
            client_id: Some(c.id),
            client_name: None,
            ..params.clone()
        };
        start(store, t.org_id, config.id, &p, "schedule", Some(t.id)).await?;
        started += 1;
    }
    tracing::info!(trigger = %t.id, started, "offboarding schedule fired");
    Ok(crate::jobs::Outcome::Done)
}
