//! ConnectWise PSA: the `conditions` query language (more to come: the REST client,
//! hosted-API member verification, callback signatures, and the simulator).
pub mod callbacks;
pub mod client;
pub mod conditions;
pub mod simulator;
