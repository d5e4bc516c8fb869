//! Database migrations: one file per change, never edited once landed.
pub use sea_orm_migration::prelude::*;

mod m20261123_000001_organizations_users;
mod m20261123_000002_access;
mod m20261123_000003_tags_variables;
mod m20261123_000004_packs;
mod m20261123_000005_pack_test_runs;
mod m20261123_000006_psa_company_cache;
mod m20261123_000007_executions;
mod m20261123_000008_imports;
mod m20261123_000009_jobs;
mod m20261123_000010_workflows;
mod m20261123_000011_retention_runs;
mod m20261123_000012_sessions;
mod m20261123_000013_trigger_schedules;
mod m20261123_000014_custom_packs;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_organizations_users::Migration),
            Box::new(m20261123_000002_access::Migration),
            Box::new(m20261123_000003_tags_variables::Migration),
            Box::new(m20261123_000004_packs::Migration),
            Box::new(m20261123_000005_pack_test_runs::Migration),
            Box::new(m20261123_000006_psa_company_cache::Migration),
            Box::new(m20261123_000007_executions::Migration),
            Box::new(m20261123_000008_imports::Migration),
            Box::new(m20261123_000009_jobs::Migration),
            Box::new(m20261123_000010_workflows::Migration),
            Box::new(m20261123_000011_retention_runs::Migration),
            Box::new(m20261123_000012_sessions::Migration),
            Box::new(m20261123_000013_trigger_schedules::Migration),
            Box::new(m20261123_000014_custom_packs::Migration),
        ]
    }
}
