//! sea-orm entities: one module per table, no logic.
pub mod api_client;
pub mod foreign_object_reference;
pub mod org_variable;
pub mod org_variable_history;
pub mod organization;
pub mod organization_tag;
pub mod pack_config;
pub mod pack_installation;
pub mod pack_tag;
pub mod pack_test_run;
pub mod pending_task;
pub mod permission_audit;
pub mod psa_company_cache;
pub mod reserved_organization_name;
pub mod tag;
pub mod user;
pub mod workflow_execution;
