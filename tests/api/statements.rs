//! N+1-free loading, proven by counting SQL statements (a count, not a timing).
use serde_json::{Value, json};

use crate::helpers::{fresh_database_url, spawn_with, test_config};

const PAGE: &str = "query($l: Int) { organizations(limit: $l) {
    name tags { name } createdTags { name } variables { name value } managingOrg { name }
    managedOrgs { name } users { username } descendantOrgCount } }";

#[tokio::test]
async fn a_page_costs_the_same_number_of_statements_whatever_its_size() {
    // The caller is loaded on every request, so whether the actor cache has expired between
    // the two pages cannot change the counts.
    let mut config = test_config(fresh_database_url().await);
    config.actor_cache_secs = 0;
    let app = spawn_with(config).await;
    // The job runner's polling would count too.
    app.kill_runner();
    let tag = app
        .ok(
            &app.admin,
            "mutation($o: ID!) { createTag(tag: {orgId: $o, name: \"Managed\"}) { id } }",
            json!({ "o": app.msp_id }),
        )
        .await;
    let tag = tag["createTag"]["id"].as_str().unwrap().to_owned();
    let rows: Vec<Value> = (0..110)
        .map(|i| json!({ "name": format!("Client {i:03}"), "tagIds": [tag] }))
        .collect();
    let created = app.ok(&app.admin, "mutation($os: [OrganizationInput!]!) { bulkCreateOrganizations(organizations: $os) { id } }", json!({ "os": rows })).await;
    let vars: Vec<Value> = created["bulkCreateOrganizations"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| {
            let id = o["id"].as_str().unwrap();
            [
                json!({ "orgId": id, "name": "site", "value": "HQ" }),
                json!({ "orgId": id, "name": "secret", "value": "s", "category": "secret" }),
            ]
        })
        .collect();
    app.ok(&app.admin, "mutation($vs: [OrgVariableUpdateInput!]!) { bulkUpdateOrgVariables(orgVariables: $vs) { id } }", json!({ "vs": vars })).await;

    let mut counts = Vec::new();
    for limit in [10, 100] {
        let before = app.state.store.statement_count();
        let data = app.ok(&app.admin, PAGE, json!({ "l": limit })).await;
        counts.push(app.state.store.statement_count() - before);
        let page = data["organizations"].as_array().unwrap();
        assert_eq!(page.len(), limit);
        let client = page
            .iter()
            .find(|o| o["name"] == "Client 005")
            .expect("a client on the page");
        assert_eq!(client["tags"], json!([{ "name": "Managed" }]));
        assert_eq!(
            client["variables"],
            json!([{ "name": "secret", "value": "********" }, { "name": "site", "value": "HQ" }])
        );
        assert_eq!(client["managingOrg"]["name"], "Acme MSP");
    }
    assert_eq!(
        counts[0], counts[1],
        "statements for 10 and 100 organizations: {counts:?}"
    );
    assert!(counts[1] <= 12, "a constant, and a small one: {counts:?}");
}
