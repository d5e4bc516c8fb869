//! orghub's built-in workflows: Rust code, each with a stable id and name, not a general
//! engine. A run is an execution row; each of its steps is a job (`workflow`), so a run
//! survives restarts and is never run by two replicas at once. A step that waits for a
//! person asks a pending task; the answer queues the next step. Every step writes task log
//! lines: what was called, how long it took, how it ended, with secrets redacted.
pub mod cron;
pub mod offboarding;
pub mod toolbox;

use std::time::Instant;

use chrono::Duration;
use entity::{pending_task as task, workflow_execution as execution, workflow_task_log as log};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::executions::{self, Execution, FINAL, PendingTask};
use crate::domain::{Store, now};
use crate::error::{AppError, AppResult};
use crate::jobs::{self, JobContext, Outcome};

/// A built-in workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Workflow {
    /// Stable across versions: executions and triggers point at it.
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
}

pub const ALL: &[Workflow] = &[toolbox::WORKFLOW, offboarding::WORKFLOW];

pub fn find(id: &str) -> Option<&'static Workflow> {
    ALL.iter().find(|w| w.id == id)
}

pub const JOB_KIND: &str = "workflow";

/// A step to take: the first one, or acting on the answer to a task.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StepPayload {
    execution_id: Uuid,
    #[serde(default)]
    task_id: Option<Uuid>,
}

/// Queues the next step of a run (in the caller's transaction). One job per step: the
/// unique key makes a second answer to the same task queue nothing.
pub async fn enqueue_step<C: ConnectionTrait>(
    conn: &C,
    execution_id: Uuid,
    task_id: Option<Uuid>,
) -> AppResult<Uuid> {
    let key = format!(
        "workflow:{execution_id}:{}",
        task_id.map_or_else(|| "start".to_owned(), |t| t.to_string())
    );
    jobs::enqueue(
        conn,
        JOB_KIND,
        json!(StepPayload {
            execution_id,
            task_id
        }),
        Some(key),
        3,
    )
    .await
}

/// The job handler: takes one step of a run.
pub async fn run(store: &Store, payload: &Value, ctx: &JobContext) -> AppResult<Outcome> {
    let step: StepPayload = serde_json::from_value(payload.clone())
        .map_err(|e| AppError::internal(anyhow::anyhow!("bad workflow step payload: {e}")))?;
    // Deleted meanwhile (by a person or retention): nothing left to do.
    let Some(exec) = execution::Entity::find_by_id(step.execution_id)
        .one(&store.db)
        .await?
    else {
        return Ok(Outcome::Done);
    };
    if FINAL.contains(&exec.status.as_str()) {
        return Ok(Outcome::Done);
    }
    if ctx.should_stop() {
        return Ok(Outcome::Interrupted);
    }
    let task = match step.task_id {
        None => None,
        Some(id) => match task::Entity::find_by_id(id).one(&store.db).await? {
            Some(t) if t.handled_at.is_none() && t.status == "success" => Some(t),
            // Already acted on, or no longer answerable: the step is done.
            _ => return Ok(Outcome::Done),
        },
    };
    match exec.workflow_id.as_str() {
        toolbox::ID => toolbox::step(store, exec, task).await?,
        offboarding::ID => offboarding::step(store, exec, task).await?,
        other => {
            executions::set_status(
                &store.db,
                exec.id,
                "FAILED",
                Some(&format!("orghub has no built-in workflow {other}")),
            )
            .await?
        }
    }
    Ok(Outcome::Done)
}

/// When a step failed for good (ConnectWise kept failing): the run fails with the reason.
pub async fn job_failed(store: &Store, payload: &Value, reason: &str) -> AppResult<()> {
    let Ok(step) = serde_json::from_value::<StepPayload>(payload.clone()) else {
        return Ok(());
    };
    if let Some(e) = execution::Entity::find_by_id(step.execution_id)
        .one(&store.db)
        .await?
        && !FINAL.contains(&e.status.as_str())
    {
        executions::set_status(
            &store.db,
            e.id,
            "FAILED",
            Some(&format!("The run could not go on: {reason}")),
        )
        .await?;
    }
    Ok(())
}

/// Replaces every secret in `text` by the mask, and the credentials of `Basic`/`Bearer`
/// authorizations, so no log line carries one.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(s.as_str(), "********");
    }
    for scheme in ["Basic ", "Bearer "] {
        let mut from = 0;
        while let Some(i) = out[from..].find(scheme) {
            let start = from + i + scheme.len();
            let end = out[start..]
                .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',')
                .map_or(out.len(), |j| start + j);
            out.replace_range(start..end, "********");
            from = start + "********".len();
        }
    }
    out
}

/// Writes task log lines for one run.
pub struct TaskLogger {
    pub execution_id: Uuid,
    /// Values never to appear in a line (the config's keys).
    pub secrets: Vec<String>,
}

impl TaskLogger {
    pub async fn line<C: ConnectionTrait>(
        &self,
        conn: &C,
        step: &str,
        action: &str,
        outcome: Result<(), &str>,
        took: std::time::Duration,
        message: Option<&str>,
    ) -> AppResult<()> {
        let message = match outcome {
            Ok(()) => message.map(str::to_owned),
            Err(e) => Some(match message {
                Some(m) => format!("{m}: {e}"),
                None => e.to_owned(),
            }),
        };
        log::ActiveModel {
            id: Set(Uuid::now_v7()),
            execution_id: Set(self.execution_id),
            step: Set(step.chars().take(64).collect()),
            action: Set(redact(action, &self.secrets)),
            status: Set(if outcome.is_ok() {
                "succeeded"
            } else {
                "failed"
            }
            .into()),
            duration_ms: Set(took.as_millis().min(i64::MAX as u128) as i64),
            message: Set(message.map(|m| redact(&m, &self.secrets))),
            created_at: Set(now()),
        }
        .insert(conn)
        .await?;
        Ok(())
    }

    /// Runs `call`, timing it, and logs its outcome.
    pub async fn timed<T, E: std::fmt::Display>(
        &self,
        store: &Store,
        step: &str,
        action: &str,
        call: impl std::future::Future<Output = Result<T, E>>,
    ) -> AppResult<Result<T, E>> {
        let started = Instant::now();
        let result = call.await;
        let error = result.as_ref().err().map(|e| e.to_string());
        self.line(
            &store.db,
            step,
            action,
            match &error {
                None => Ok(()),
                Some(e) => Err(e.as_str()),
            },
            started.elapsed(),
            None,
        )
        .await?;
        Ok(result)
    }
}

/// Ends a run as failed with a message a person can act on, logged as the step's outcome.
pub async fn fail(store: &Store, logger: &TaskLogger, step: &str, message: &str) -> AppResult<()> {
    logger
        .line(
            &store.db,
            step,
            "fail the run",
            Err(message),
            std::time::Duration::ZERO,
            None,
        )
        .await?;
    executions::set_status(&store.db, logger.execution_id, "FAILED", Some(message)).await
}

/// How long a person has to answer.
pub fn ttl_hours(hours: i64) -> Duration {
    Duration::hours(hours)
}

/// Marks a task's answer as acted on (in the transaction that acts on it).
pub async fn handled<C: ConnectionTrait>(conn: &C, t: &PendingTask) -> AppResult<()> {
    let mut m: task::ActiveModel = t.clone().into();
    m.handled_at = Set(Some(now()));
    m.update(conn).await?;
    Ok(())
}

/// Saves what the run shows.
pub async fn set_output<C: ConnectionTrait>(
    conn: &C,
    e: &Execution,
    output: Value,
) -> AppResult<()> {
    let mut m: execution::ActiveModel = e.clone().into();
    m.output = Set(Some(output));
    m.updated_at = Set(now());
    m.update(conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_authorizations_are_redacted() {
        let s = redact(
            "GET with key sim-private and Authorization: Basic YWNtZStwdWI6cHJpdg== then Bearer abc.def",
            &["sim-private".into(), "ab".into()],
        );
        assert_eq!(
            s,
            "GET with key ******** and Authorization: Basic ******** then Bearer ********"
        );
    }

    #[test]
    fn workflows_have_stable_unique_ids() {
        let mut ids: Vec<&str> = ALL.iter().map(|w| w.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len());
        assert_eq!(
            find(toolbox::ID).map(|w| w.name),
            Some("Pods: Technician Toolbox")
        );
    }
}
