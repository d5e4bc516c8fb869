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
    /// `live_link` or `cw_callback`.
    pub kind: String,
    pub workflow_id: String,
    pub is_enabled: bool,
    /// The callback's id in ConnectWise, once registered.
    pub cw_callback_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
