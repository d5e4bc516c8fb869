use sea_orm::entity::prelude::*;

/// What starts a built-in workflow from outside: a live link (GET from a ConnectWise ticket's
/// Links menu) or a ConnectWise callback (POST when a ticket is added or deleted).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "triggers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub pack_config_id: Uuid,
    /// `live_link`, `cw_callback`, `offboarding_webhook`, `offboarding_schedule` or
    /// `offboarding_company`.
    pub kind: String,
    pub workflow_id: String,
    pub is_enabled: bool,
    /// The callback's id in ConnectWise, once registered.
    pub cw_callback_id: Option<i64>,
    /// Scheduled triggers: a five-field cron expression (UTC) and when it fires next.
    pub cron: Option<String>,
    pub next_run_at: Option<DateTimeUtc>,
    /// The inputs the trigger's runs start with.
    pub inputs: Option<Json>,
    /// Webhooks: SHA-256 of the secret callers send as `x-rewst-secret`.
    pub secret_hash: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
