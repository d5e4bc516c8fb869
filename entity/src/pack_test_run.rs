use sea_orm::entity::prelude::*;

/// One health check of a pack config.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pack_test_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pack_config_id: Uuid,
    pub is_passing: bool,
    /// `GREEN`, `ORANGE` or `RED`.
    pub status: String,
    pub response_time_ms: Option<i32>,
    pub error_msg: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
