use sea_orm::entity::prelude::*;

/// One run of a built-in workflow for an organization.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "workflow_executions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub workflow_id: String,
    /// Rewst's statuses, upper case: PENDING, RUNNING, PAUSED, SUCCEEDED, FAILED, CANCELED, TIMEOUT…
    pub status: String,
    pub message: Option<String>,
    pub input: Option<Json>,
    /// What the run shows (the Toolbox's overview, configurations…).
    pub output: Option<Json>,
    pub parent_execution_id: Option<Uuid>,
    pub originating_execution_id: Option<Uuid>,
    pub parent_task_execution_id: Option<Uuid>,
    pub completion_handled_execution_id: Option<Uuid>,
    pub num_successful_tasks: i32,
    pub processed_completion_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
