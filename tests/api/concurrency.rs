//! The database, not the code, guarantees uniqueness under concurrent writers.
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn twenty_simultaneous_creates_of_one_name_create_exactly_one() {
    let app = spawn_app().await;
    let create = "mutation($o: OrganizationInput) { createOrganization(organization: $o) { id } }";
    let names: Vec<String> = (0..20)
        .map(|i| {
            // "Race Corp" in a different mix of cases each time.
            "Race Corp"
                .chars()
                .enumerate()
                .map(|(j, c)| {
                    if (i >> (j % 5)) & 1 == 1 {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect()
        })
        .collect();
    let calls = names
        .iter()
        .map(|name| app.gql(&app.admin, create, json!({ "o": { "name": name } })));
    let results = futures::future::join_all(calls).await;

    let created = results
        .iter()
        .filter(|r| r["data"]["createOrganization"]["id"].is_string())
        .count();
    assert_eq!(created, 1, "exactly one create wins");
    for r in results.iter().filter(|r| r.get("errors").is_some()) {
        assert_eq!(
            r["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{r}"
        );
        assert_eq!(
            r["errors"][0]["extensions"]["validationCode"], "DUPLICATE_IN_DATABASE",
            "{r}"
        );
    }
    let data = app
        .ok(
            &app.admin,
            "{ organizations(search: {name: {_ilike: \"race corp\"}}) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(data["organizations"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn concurrent_creates_of_different_names_all_succeed_with_distinct_slugs() {
    let app = spawn_app().await;
    let create =
        "mutation($o: OrganizationInput) { createOrganization(organization: $o) { orgSlug } }";
    // Names that all map to the slug "dup-co".
    let names = [
        "Dup Co", "Dup, Co", "Dup-Co", "Dup  Co", "Dup.Co", "Dup/Co", "Dup_Co", "Dup & Co",
    ];
    let calls = names
        .iter()
        .map(|name| app.gql(&app.admin, create, json!({ "o": { "name": name } })));
    let results = futures::future::join_all(calls).await;
    let mut slugs: Vec<String> = results
        .iter()
        .map(|r| {
            r["data"]["createOrganization"]["orgSlug"]
                .as_str()
                .unwrap_or_else(|| panic!("{r}"))
                .to_owned()
        })
        .collect();
    slugs.sort();
    slugs.dedup();
    assert_eq!(slugs.len(), names.len(), "{slugs:?}");
}
