//! `schema.graphql` is what `orghub schema` prints.
#[test]
fn checked_in_schema_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    let current = orghub::graphql::sdl();
    assert!(
        checked_in == current,
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql` and commit it"
    );
}
