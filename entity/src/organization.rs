use sea_orm::entity::prelude::*;

/// One organization in an MSP's tree. `path` is "/<root id>/…/<own id>/".
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub name_key: String,
    pub domain: Option<String>,
    pub domain_key: Option<String>,
    pub org_slug: String,
    pub managing_org_id: Option<Uuid>,
    pub root_org_id: Uuid,
    pub path: String,
    pub is_enabled: bool,
    pub is_internal: bool,
    pub is_onboarding: bool,
    pub is_msp: bool,
    pub is_staff: bool,
    pub tid: Option<String>,
    pub roc_site_id: Option<String>,
    pub results_retention_days: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
