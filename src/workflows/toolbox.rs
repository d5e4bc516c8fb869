//! "Pods: Technician Toolbox": what a ConnectWise pod shows for one ticket. It fetches the
//! ticket, finds the orghub organization mapped to the ticket's company, shows an overview
//! (organization, tags, ticket, non-secret variables) and offers buttons that do real
//! ConnectWise work: add an internal note, show the company's configurations, refresh.
//!
//! Input: `{"ticketId": 1001, "packConfigId": "…", "orgId": "<the trigger's org>",
//! "source": "live_link" | "callback"}`. The run starts under the trigger's org and moves to
//! the mapped organization once it is found (with its `cw_ticket` reference).
use std::collections::HashMap;

use chrono::Duration;
use entity::{foreign_object_reference as reference, org_variable, organization, pack_config};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{TaskLogger, Workflow, fail, handled, set_output};
use crate::connectwise::client::{CwClient, CwError};
use crate::domain::executions::{self, Execution, PendingTask, Question};
use crate::domain::organizations::Org;
use crate::domain::pack_configs::{self, PackConfig};
use crate::domain::{Store, now, tags, variables};
use crate::error::{AppError, AppResult};

pub const ID: &str = "0193f1a2-7c4e-7d10-9a6b-2f5e8c1d4b01";

pub const WORKFLOW: Workflow = Workflow {
    id: ID,
    name: "Pods: Technician Toolbox",
    description: "The ConnectWise pod of a ticket: the organization, its tags and variables, \
                  and buttons to add an internal note, show configurations, refresh",
};

/// The foreign object reference that links a run to its ticket.
pub const TICKET_REFERENCE: &str = "cw_ticket";

/// Buttons of the menu.
pub const ADD_NOTE: &str = "add_note";
pub const SHOW_CONFIGURATIONS: &str = "show_configurations";
pub const REFRESH: &str = "refresh";

/// The longest internal note accepted (ConnectWise's own limit is far above).
pub const NOTE_MAX: u64 = 4000;

fn menu_ttl() -> Duration {
    super::ttl_hours(24)
}

fn prompt_ttl() -> Duration {
    super::ttl_hours(1)
}

/// A run's context: its config's ConnectWise client and the ticket it is about.
struct Run {
    exec: Execution,
    config: PackConfig,
    client: CwClient,
    ticket_id: i64,
    /// The org whose trigger started the run: the mapped org must be at or below it.
    trigger_org: Uuid,
    log: TaskLogger,
}

/// Whether a ConnectWise failure may pass if tried again later (the job retries).
fn transient(e: &CwError) -> bool {
    matches!(
        e,
        CwError::RateLimited | CwError::Server { .. } | CwError::Unreachable(_) | CwError::Timeout
    )
}

/// Takes one step: the start (no task), or acting on an answered task.
pub async fn step(store: &Store, exec: Execution, task: Option<PendingTask>) -> AppResult<()> {
    let log = TaskLogger {
        execution_id: exec.id,
        secrets: Vec::new(),
    };
    let input = exec.input.clone().unwrap_or(Value::Null);
    let ticket_id = input["ticketId"]
        .as_i64()
        .or_else(|| input["ticketId"].as_str().and_then(|s| s.parse().ok()));
    let config_id = input["packConfigId"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok());
    let trigger_org = input["orgId"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or(exec.org_id);
    let (Some(ticket_id), Some(config_id)) = (ticket_id, config_id) else {
        return fail(
            store,
            &log,
            "start",
            "The run's input lacks the ticket id or the ConnectWise config",
        )
        .await;
    };
    let Some(config) = pack_config::Entity::find_by_id(config_id)
        .one(&store.db)
        .await?
    else {
        return fail(
            store,
            &log,
            "start",
            "The ConnectWise integration of this run no longer exists; install and configure it again",
        )
        .await;
    };
    let missing = pack_configs::missing_fields(&config);
    if !missing.is_empty() {
        let msg = format!(
            "The ConnectWise config \"{}\" lacks {}: complete it under Integrations, then restart the run",
            config.name,
            missing.join(", ")
        );
        return fail(store, &log, "start", &msg).await;
    }
    let (creds, _) = pack_configs::connectwise_credentials(store, &config)?;
    let log = TaskLogger {
        execution_id: exec.id,
        secrets: vec![
            creds.private_key.clone(),
            creds.public_key.clone(),
            creds.client_id.clone(),
        ],
    };
    let run = Run {
        client: CwClient::new(store.http.clone(), creds),
        exec,
        config,
        ticket_id,
        trigger_org,
        log,
    };
    match task {
        None => run.start(store).await,
        Some(t) => run.answer(store, t).await,
    }
}

impl Run {
    /// A ConnectWise call failed: a transient failure is retried by the job runner (the
    /// error goes up); any other ends the run with what to fix.
    async fn cw_failed(&self, store: &Store, step: &str, what: &str, e: CwError) -> AppResult<()> {
        if transient(&e) {
            return Err(AppError::Conflict(format!("{what}: {e}")));
        }
        let hint = if e.is_access() {
            format!(
                " Check the ConnectWise config \"{}\" (testPackConfig) and its API member's permissions.",
                self.config.name
            )
        } else {
            String::new()
        };
        fail(store, &self.log, step, &format!("{what}: {e}.{hint}")).await
    }

    async fn start(&self, store: &Store) -> AppResult<()> {
        // Only the first take of the start step acts; a retry after a crash that got
        // further finds the run waiting and stops.
        if self.exec.status == "PAUSED" {
            return Ok(());
        }
        executions::set_status(&store.db, self.exec.id, "RUNNING", None).await?;
        let Some(overview) = self.overview(store, "start").await? else {
            return Ok(());
        };
        let txn = store.begin_write().await?;
        set_output(
            &txn,
            &self.exec,
            json!({ "overview": overview, "notes": [] }),
        )
        .await?;
        self.ask_menu(&txn).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Fetches the ticket, finds its organization, and moves the run (and its reference)
    /// there. `None` when the run failed (the reason is recorded).
    async fn overview(&self, store: &Store, step: &str) -> AppResult<Option<Value>> {
        let path = format!("GET service/tickets/{}", self.ticket_id);
        let ticket = match self
            .log
            .timed(store, step, &path, self.client.ticket(self.ticket_id))
            .await?
        {
            Ok(t) => t,
            Err(CwError::NotFound(_)) => {
                let msg = format!(
                    "Ticket #{} was not found in ConnectWise (config \"{}\")",
                    self.ticket_id, self.config.name
                );
                fail(store, &self.log, step, &msg).await?;
                return Ok(None);
            }
            Err(e) => {
                self.cw_failed(store, step, "Fetching the ticket failed", e)
                    .await?;
                return Ok(None);
            }
        };
        let company = &ticket["company"];
        let Some(company_id) = company["id"].as_i64() else {
            let msg = format!(
                "Ticket #{} has no company in ConnectWise; set its company, then restart the run",
                self.ticket_id
            );
            fail(store, &self.log, step, &msg).await?;
            return Ok(None);
        };
        let company_name = company["name"].as_str().unwrap_or("(no name)");
        let started = std::time::Instant::now();
        let org = self.mapped_org(store, company_id).await?;
        let Some(org) = org else {
            let msg = format!(
                "The ConnectWise company \"{company_name}\" (id {company_id}) is not mapped to an organization in orghub. \
                 Map it under Integrations → ConnectWise PSA → \"{}\" → Organization mapping \
                 (saveOrgMappings with packConfigId {}), then restart the run from the ticket.",
                self.config.name, self.config.id
            );
            self.log
                .line(
                    &store.db,
                    step,
                    &format!("find the organization mapped to company {company_id}"),
                    Err("not mapped"),
                    started.elapsed(),
                    None,
                )
                .await?;
            fail(store, &self.log, step, &msg).await?;
            return Ok(None);
        };
        if !org.is_enabled {
            let msg = format!(
                "The organization \"{}\" (mapped to company \"{company_name}\") is disabled; enable it, then restart the run",
                org.name
            );
            fail(store, &self.log, step, &msg).await?;
            return Ok(None);
        }
        self.log
            .line(
                &store.db,
                step,
                &format!("find the organization mapped to company {company_id}"),
                Ok(()),
                started.elapsed(),
                Some(&format!("{} ({})", org.name, org.id)),
            )
            .await?;
        if org.id != self.exec.org_id {
            let txn = store.begin_write().await?;
            entity::workflow_execution::Entity::update_many()
                .col_expr(
                    entity::workflow_execution::Column::OrgId,
                    Expr::value(org.id),
                )
                .filter(entity::workflow_execution::Column::Id.eq(self.exec.id))
                .exec(&txn)
                .await?;
            reference::Entity::update_many()
                .col_expr(reference::Column::OrgId, Expr::value(org.id))
                .col_expr(reference::Column::UpdatedAt, Expr::value(now()))
                .filter(reference::Column::WorkflowExecutionId.eq(self.exec.id))
                .exec(&txn)
                .await?;
            txn.commit().await?;
        }
        let tag_list = tags::of_orgs(store, &[org.id])
            .await?
            .remove(&org.id)
            .unwrap_or_default();
        let var_ids = variables::resolved_ids(store, &org).await?;
        let vars = org_variable::Entity::find()
            .filter(org_variable::Column::Id.is_in(var_ids))
            .order_by_asc(org_variable::Column::Name)
            .all(&store.db)
            .await?;
        let shown_vars: Vec<Value> = vars
            .iter()
            .filter(|v| !variables::is_secret(v))
            .map(|v| json!({ "name": v.name, "value": v.value, "category": v.category, "inherited": v.org_id != org.id }))
            .collect();
        let name_of = |v: &Value| v["name"].as_str().map(str::to_owned);
        let contact = &ticket["contact"];
        Ok(Some(json!({
            "organization": { "id": org.id, "name": org.name, "domain": org.domain },
            "tags": tag_list.iter().map(|t| json!({ "id": t.id, "name": t.name, "color": t.color })).collect::<Vec<_>>(),
            "ticket": {
                "id": self.ticket_id,
                "summary": ticket["summary"].as_str(),
                "status": name_of(&ticket["status"]),
                "priority": name_of(&ticket["priority"]),
                "board": name_of(&ticket["board"]),
                "contact": if contact.is_object() { name_of(contact) } else { None },
                "company": { "id": company_id, "name": company_name, "identifier": company["identifier"].as_str() },
            },
            "variables": shown_vars,
            "packConfig": { "id": self.config.id, "name": self.config.name },
            "fetchedAt": crate::graphql::rfc3339(&now()),
        })))
    }

    /// The organization mapped to `company_id` through this config, at or below the
    /// trigger's org (a link of one MSP never reaches into another tree).
    async fn mapped_org(&self, store: &Store, company_id: i64) -> AppResult<Option<Org>> {
        let Some(spec) = crate::domain::packs::spec(&self.config.pack_id) else {
            return Ok(None);
        };
        let Some(trigger_org) = organization::Entity::find_by_id(self.trigger_org)
            .one(&store.db)
            .await?
        else {
            return Ok(None);
        };
        let vars = org_variable::Entity::find()
            .filter(org_variable::Column::Name.eq(spec.mapping_variable))
            .filter(org_variable::Column::Value.eq(company_id.to_string()))
            .filter(org_variable::Column::PackConfigId.eq(self.config.id))
            .order_by_asc(org_variable::Column::CreatedAt)
            .all(&store.db)
            .await?;
        let ids: Vec<Uuid> = vars.iter().map(|v| v.org_id).collect();
        let orgs: HashMap<Uuid, Org> = organization::Entity::find()
            .filter(organization::Column::Id.is_in(ids.iter().copied()))
            .filter(organization::Column::DeletedAt.is_null())
            .filter(organization::Column::Path.starts_with(&trigger_org.path))
            .all(&store.db)
            .await?
            .into_iter()
            .map(|o| (o.id, o))
            .collect();
        Ok(ids.iter().find_map(|id| orgs.get(id).cloned()))
    }

    async fn ask_menu<C: sea_orm::ConnectionTrait>(&self, conn: &C) -> AppResult<()> {
        executions::ask_question(
            conn,
            self.exec.id,
            &Question {
                step: Some("menu"),
                kind: "button",
                label: "What would you like to do?",
                fields: Some(json!([
                    { "value": ADD_NOTE, "label": "Add internal note" },
                    { "value": SHOW_CONFIGURATIONS, "label": "Show configurations" },
                    { "value": REFRESH, "label": "Refresh" },
                ])),
                ttl: menu_ttl(),
            },
        )
        .await?;
        Ok(())
    }

    /// The current output, with `key` set to `value`.
    fn output_with(&self, changes: &[(&str, Value)]) -> Value {
        let mut out = self.exec.output.clone().unwrap_or_else(|| json!({}));
        if !out.is_object() {
            out = json!({});
        }
        for (k, v) in changes {
            out[*k] = v.clone();
        }
        out
    }

    async fn answer(&self, store: &Store, t: PendingTask) -> AppResult<()> {
        let response = t.response.clone().unwrap_or(Value::Null);
        match (t.step.as_deref(), response["value"].as_str()) {
            (Some("menu"), Some(ADD_NOTE)) => {
                let txn = store.begin_write().await?;
                handled(&txn, &t).await?;
                executions::ask_question(
                    &txn,
                    self.exec.id,
                    &Question {
                        step: Some(ADD_NOTE),
                        kind: "prompt",
                        label: &format!("Add an internal note to ticket #{}", self.ticket_id),
                        fields: Some(json!([{
                            "name": "text", "label": "Note", "type": "textarea",
                            "required": true, "maxLength": NOTE_MAX
                        }])),
                        ttl: prompt_ttl(),
                    },
                )
                .await?;
                txn.commit().await?;
                Ok(())
            }
            (Some("menu"), Some(SHOW_CONFIGURATIONS)) => self.configurations(store, &t).await,
            (Some("menu"), Some(REFRESH)) => {
                let Some(overview) = self.overview(store, REFRESH).await? else {
                    return Ok(());
                };
                let txn = store.begin_write().await?;
                handled(&txn, &t).await?;
                let out = self.output_with(&[
                    ("overview", overview),
                    ("notice", json!({ "level": "info", "text": "Refreshed" })),
                ]);
                set_output(&txn, &self.exec, out).await?;
                self.ask_menu(&txn).await?;
                txn.commit().await?;
                Ok(())
            }
            (Some(ADD_NOTE), _) => self.add_note(store, &t, &response).await,
            _ => {
                // An answer this workflow does not know: show the menu again.
                let txn = store.begin_write().await?;
                handled(&txn, &t).await?;
                self.ask_menu(&txn).await?;
                txn.commit().await?;
                Ok(())
            }
        }
    }

    async fn configurations(&self, store: &Store, t: &PendingTask) -> AppResult<()> {
        let company_id = self
            .exec
            .output
            .as_ref()
            .and_then(|o| o["overview"]["ticket"]["company"]["id"].as_i64());
        let Some(company_id) = company_id else {
            return fail(
                store,
                &self.log,
                SHOW_CONFIGURATIONS,
                "The run has no company to list configurations of; restart it",
            )
            .await;
        };
        let conditions = format!("company/id = {company_id}");
        let action = format!("GET company/configurations?conditions={conditions}");
        let list = match self
            .log
            .timed(
                store,
                SHOW_CONFIGURATIONS,
                &action,
                self.client.configurations(Some(&conditions)),
            )
            .await?
        {
            Ok(l) => l,
            Err(e) if transient(&e) => {
                return Err(AppError::Conflict(format!(
                    "Listing configurations failed: {e}"
                )));
            }
            Err(e) => {
                return self
                    .menu_with_notice(store, t, &format!("Listing configurations failed: {e}"))
                    .await;
            }
        };
        let items: Vec<Value> = list
            .iter()
            .map(|c| {
                json!({
                    "id": c["id"], "name": c["name"].as_str(),
                    "type": c["type"]["name"].as_str(), "status": c["status"]["name"].as_str(),
                    "active": c["activeFlag"].as_bool(),
                })
            })
            .collect();
        let txn = store.begin_write().await?;
        handled(&txn, t).await?;
        let out = self.output_with(&[
            (
                "configurations",
                json!({ "fetchedAt": crate::graphql::rfc3339(&now()), "items": items }),
            ),
            (
                "notice",
                json!({ "level": "info", "text": format!("{} configurations", items.len()) }),
            ),
        ]);
        set_output(&txn, &self.exec, out).await?;
        self.ask_menu(&txn).await?;
        txn.commit().await?;
        Ok(())
    }

    async fn add_note(&self, store: &Store, t: &PendingTask, response: &Value) -> AppResult<()> {
        if response["cancel"].as_bool() == Some(true) {
            let txn = store.begin_write().await?;
            handled(&txn, t).await?;
            self.ask_menu(&txn).await?;
            txn.commit().await?;
            return Ok(());
        }
        let text = response["text"].as_str().unwrap_or("").trim().to_owned();
        if text.is_empty() {
            return self.menu_with_notice(store, t, "The note was empty").await;
        }
        let action = format!("POST service/tickets/{}/notes (internal)", self.ticket_id);
        let created = match self
            .log
            .timed(
                store,
                ADD_NOTE,
                &action,
                self.client.add_ticket_note(self.ticket_id, &text, true),
            )
            .await?
        {
            Ok(n) => n,
            Err(e) if transient(&e) => {
                return Err(AppError::Conflict(format!("Adding the note failed: {e}")));
            }
            Err(e) => {
                return self
                    .menu_with_notice(store, t, &format!("Adding the note failed: {e}"))
                    .await;
            }
        };
        let mut notes = self
            .exec
            .output
            .as_ref()
            .and_then(|o| o["notes"].as_array().cloned())
            .unwrap_or_default();
        notes.push(
            json!({ "id": created["id"], "text": text, "at": crate::graphql::rfc3339(&now()) }),
        );
        let txn = store.begin_write().await?;
        handled(&txn, t).await?;
        let out = self.output_with(&[
            ("notes", Value::Array(notes)),
            (
                "notice",
                json!({ "level": "info", "text": format!("Note added to ticket #{}", self.ticket_id) }),
            ),
        ]);
        set_output(&txn, &self.exec, out).await?;
        self.ask_menu(&txn).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Shows the menu again with an error the technician can read.
    async fn menu_with_notice(&self, store: &Store, t: &PendingTask, text: &str) -> AppResult<()> {
        let txn = store.begin_write().await?;
        handled(&txn, t).await?;
        let out = self.output_with(&[("notice", json!({ "level": "error", "text": text }))]);
        set_output(&txn, &self.exec, out).await?;
        self.ask_menu(&txn).await?;
        txn.commit().await?;
        Ok(())
    }
}
