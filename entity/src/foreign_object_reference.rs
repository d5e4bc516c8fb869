use sea_orm::entity::prelude::*;

/// Links an outside object (e.g. `cw_ticket` 1001) to an org, a pack config, an execution.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "foreign_object_references")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub identifier: String,
    pub reference_id: String,
    pub pack_config_id: Option<Uuid>,
    pub workflow_execution_id: Option<Uuid>,
    pub action_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
