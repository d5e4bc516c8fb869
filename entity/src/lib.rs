//! sea-orm entities: one module per table, no logic.
pub mod organization;
pub mod reserved_organization_name;
pub mod user;
