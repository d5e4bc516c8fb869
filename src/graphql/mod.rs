//! The GraphQL API: thin adapters that read arguments, take the `Actor` from the
//! context, call one domain function and convert the result.
mod api_clients;
mod custom_packs;
mod executions;
mod imports;
mod inputs;
pub mod limits;
mod loaders;
mod mapping;
mod offboarding;
mod organizations;
mod packs;
mod psa_import;
mod reserved_names;
mod scalars;
mod settings;
mod tags;
pub mod triggers;
mod users;
mod variables;

use async_graphql::{Context, MergedObject, MergedSubscription, Schema, SchemaBuilder};

pub use loaders::Loaders;

use crate::auth::Actor;
use crate::domain::Store;
use crate::error::AppError;

#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    organizations::OrganizationQuery,
    users::UserQuery,
    reserved_names::ReservedNameQuery,
    api_clients::ApiClientQuery,
    tags::TagQuery,
    variables::VariableQuery,
    packs::PackQuery,
    mapping::MappingQuery,
    executions::ExecutionQuery,
    imports::ImportQuery,
    psa_import::PsaQuery,
    triggers::TriggerQuery,
    offboarding::OffboardingQuery,
    settings::SettingsQuery,
    custom_packs::CustomPackQuery,
);

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    organizations::OrganizationMutation,
    reserved_names::ReservedNameMutation,
    users::UserMutation,
    api_clients::ApiClientMutation,
    tags::TagMutation,
    variables::VariableMutation,
    packs::PackMutation,
    mapping::MappingMutation,
    executions::ExecutionMutation,
    imports::ImportMutation,
    psa_import::PsaMutation,
    triggers::TriggerMutation,
    offboarding::OffboardingMutation,
    settings::SettingsMutation,
    custom_packs::CustomPackMutation,
);

#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct SubscriptionRoot(psa_import::ImportSubscription);

pub type OrghubSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Who sent the request: resolved once per request by the HTTP layer.
pub enum Caller {
    Known(Actor),
    /// Why the request carries no usable identity.
    Anonymous(String),
}

pub fn builder() -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    // A backstop: our own limits (`limits.rs`) count depth without introspection.
    .limit_depth(24)
    .limit_recursive_depth(32)
    .disable_suggestions()
}

pub fn build(
    store: Store,
    import_max_rows: usize,
    public_url: String,
    max_complexity: usize,
) -> OrghubSchema {
    builder()
        .limit_complexity(max_complexity.max(1))
        .data(store)
        .data(imports::ImportLimit(import_max_rows))
        .data(triggers::PublicUrl(public_url))
        .finish()
}

/// The SDL checked in as `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}

fn store<'a>(ctx: &Context<'a>) -> &'a Store {
    ctx.data_unchecked::<Store>()
}

/// The authenticated caller, or `UNAUTHENTICATED`.
fn actor<'a>(ctx: &Context<'a>) -> Result<&'a Actor, AppError> {
    match ctx.data_opt::<Caller>() {
        Some(Caller::Known(actor)) => Ok(actor),
        Some(Caller::Anonymous(why)) => Err(AppError::Unauthenticated(why.clone())),
        None => Err(AppError::Unauthenticated("Authentication required".into())),
    }
}

fn loaders<'a>(ctx: &Context<'a>) -> &'a Loaders {
    ctx.data_unchecked::<Loaders>()
}

pub fn rfc3339(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
