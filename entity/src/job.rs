use sea_orm::entity::prelude::*;

/// A unit of background work. A replica claims it under a lease; an unfinished job whose
/// lease ran out is claimed again.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// What runs it, e.g. `psa_import`.
    pub kind: String,
    pub payload: Json,
    /// At most one job per key (e.g. one retention run per night).
    pub unique_key: Option<String>,
    /// `queued`, `running`, `succeeded`, `failed`, `canceled`.
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_after: DateTimeUtc,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
