//! One integration-test binary: every test boots the real app on a random port with
//! its own database and talks HTTP to it.
mod access;
mod api_clients;
mod cli;
mod concurrency;
mod connectwise;
mod executions;
mod health;
mod helpers;
mod http;
mod imports;
mod mapping;
mod oidc;
mod organizations;
mod packs;
mod pods;
mod psa_import;
mod queries;
mod reserved_names;
mod retention;
mod schema;
mod statements;
mod tags;
mod toolbox;
mod tree;
mod users;
mod variables;
