use sea_orm::entity::prelude::*;

/// The companies a PSA listed at the last refresh of a pack config.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "psa_company_cache")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub pack_config_id: Uuid,
    pub refresh_id: Uuid,
    pub fetched_at: DateTimeUtc,
    /// `[{id, name, identifier, website, status, types}]`
    pub companies: Json,
    /// `{statuses: [{id, label}], accountTypes: [{id, label}]}`
    pub filter_options: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
