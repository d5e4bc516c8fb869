//! sea-orm entities: one module per table, no logic.
pub mod api_client;
pub mod organization;
pub mod permission_audit;
pub mod reserved_organization_name;
pub mod user;
