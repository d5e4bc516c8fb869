use sea_orm::entity::prelude::*;

/// One change to an organization variable; secret values are never stored here.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "org_variable_history")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub variable_id: Uuid,
    pub name: String,
    pub action: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub old_category: Option<String>,
    pub new_category: Option<String>,
    pub actor_user_id: Option<Uuid>,
    pub actor_username: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
