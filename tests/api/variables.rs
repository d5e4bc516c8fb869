//! Organization variables: cascade down the tree, encrypted and masked secrets, upserts,
//! history, and who may do what.
use orghub::auth::Role;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::helpers::{TestApp, code, rule, spawn_app};

const CREATE: &str = "mutation($v: OrgVariableCreateInput!) { createOrgVariable(orgVariable: $v) { id name value category cascade orgId } }";
const VISIBLE: &str = "query($o: ID!) { visibleOrgVariables(visibleForOrgId: $o) { name value orgId } visibleOrgVariablesCount(visibleForOrgId: $o) }";

async fn var(
    app: &TestApp,
    token: &str,
    org: &str,
    name: &str,
    value: &str,
    category: &str,
    cascade: bool,
) -> String {
    let v = json!({ "v": { "orgId": org, "name": name, "value": value, "category": category, "cascade": cascade } });
    app.ok(token, CREATE, v).await["createOrgVariable"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `(name, value, source org)` of an org's resolved set.
async fn resolved(app: &TestApp, org: &str) -> (Vec<(String, String, String)>, i64) {
    let data = app.ok(&app.admin, VISIBLE, json!({ "o": org })).await;
    let rows = data["visibleOrgVariables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().into(),
                v["value"].as_str().unwrap().into(),
                v["orgId"].as_str().unwrap().into(),
            )
        })
        .collect();
    (rows, data["visibleOrgVariablesCount"].as_i64().unwrap())
}

#[tokio::test]
async fn values_cascade_down_three_levels() {
    let app = spawn_app().await;
    let msp = app.msp_id.clone();
    let client = app.create_org(&app.admin, "Client", &msp).await;
    let site = app.create_org(&app.admin, "Site", &client).await;
    var(&app, &app.admin, &msp, "timezone", "UTC", "general", true).await;
    var(&app, &app.admin, &msp, "msp_only", "m", "general", false).await;
    var(
        &app,
        &app.admin,
        &msp,
        "escalation",
        "msp-desk",
        "contact",
        true,
    )
    .await;
    // The client overrides `timezone` for itself only, and `escalation` for itself and below.
    var(
        &app,
        &app.admin,
        &client,
        "timezone",
        "Europe/Paris",
        "general",
        false,
    )
    .await;
    var(
        &app,
        &app.admin,
        &client,
        "escalation",
        "client-desk",
        "contact",
        true,
    )
    .await;
    var(&app, &app.admin, &site, "site_code", "S1", "general", false).await;

    let s = |n: &str, v: &str, o: &str| (n.to_owned(), v.to_owned(), o.to_owned());
    assert_eq!(
        resolved(&app, &msp).await,
        (
            vec![
                s("escalation", "msp-desk", &msp),
                s("msp_only", "m", &msp),
                s("timezone", "UTC", &msp)
            ],
            3
        )
    );
    assert_eq!(
        resolved(&app, &client).await,
        (
            vec![
                s("escalation", "client-desk", &client),
                s("timezone", "Europe/Paris", &client)
            ],
            2
        )
    );
    assert_eq!(
        resolved(&app, &site).await,
        (
            vec![
                s("escalation", "client-desk", &client),
                s("site_code", "S1", &site),
                s("timezone", "UTC", &msp)
            ],
            3
        ),
        "the client's timezone does not cascade, so the MSP's does"
    );
    let data = app
        .ok(&app.admin, "query($o: ID!) { visibleOrgVariables(visibleForOrgId: $o, search: {name: {_ilike: \"%zone\"}}) { value } visibleOrgVariablesCount(visibleForOrgId: $o, search: {category: {_eq: contact}}) }", json!({ "o": site }))
        .await;
    assert_eq!(data["visibleOrgVariables"], json!([{ "value": "UTC" }]));
    assert_eq!(data["visibleOrgVariablesCount"], 1);

    // Each org's own variables.
    let own = app
        .ok(
            &app.admin,
            "query($id: ID) { organization(where: {id: $id}) { variables { name value } } }",
            json!({ "id": client }),
        )
        .await;
    assert_eq!(
        own["organization"]["variables"],
        json!([{ "name": "escalation", "value": "client-desk" }, { "name": "timezone", "value": "Europe/Paris" }])
    );
}

#[tokio::test]
async fn secrets_are_encrypted_masked_and_never_in_the_history() {
    let app = spawn_app().await;
    let client = app.create_org(&app.admin, "Client", &app.msp_id).await;
    let id = var(
        &app, &app.admin, &client, "api_key", "hunter2", "secret", false,
    )
    .await;

    // At rest: not the clear value.
    let backend = app.state.store.db.get_database_backend();
    let row = app
        .state
        .store
        .db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT value FROM org_variables WHERE name = 'api_key'",
        ))
        .await
        .unwrap()
        .unwrap();
    let stored: String = row.try_get("", "value").unwrap();
    assert!(
        stored.starts_with("v1:") && !stored.contains("hunter2"),
        "{stored}"
    );

    let q = "query($m: Boolean) { orgVariables(maskSecrets: $m, where: {name: \"api_key\"}) { value } }";
    assert_eq!(
        app.ok(&app.admin, q, json!({})).await["orgVariables"],
        json!([{ "value": "********" }]),
        "masked by default"
    );
    assert_eq!(
        app.ok(&app.admin, q, json!({ "m": false })).await["orgVariables"],
        json!([{ "value": "hunter2" }])
    );
    let (_, member) = app.user(&app.msp_id, Role::Member, false).await;
    let (_, reader) = app.user(&app.msp_id, Role::ReadOnly, false).await;
    assert_eq!(
        app.ok(&member, q, json!({ "m": false })).await["orgVariables"],
        json!([{ "value": "hunter2" }])
    );
    assert_eq!(
        app.ok(&reader, q, json!({ "m": false })).await["orgVariables"],
        json!([{ "value": "********" }]),
        "read_only never sees secrets"
    );
    let data = app.ok(&app.admin, VISIBLE, json!({ "o": client })).await;
    assert_eq!(data["visibleOrgVariables"][0]["value"], "********");
    let one = app
        .ok(
            &app.admin,
            "{ orgVariable(maskSecrets: false, where: {name: \"api_key\"}) { value } }",
            json!({}),
        )
        .await;
    assert_eq!(one["orgVariable"]["value"], "hunter2");
    let found = app
        .ok(
            &app.admin,
            "{ orgVariables(search: {value: {_ilike: \"%hunter%\"}}) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(
        found["orgVariables"],
        json!([]),
        "values of secrets are never searched"
    );

    // A secret made ordinary needs a new value: the old one is never revealed.
    let update = "mutation($vs: [OrgVariableUpdateInput!]!) { updateOrgVariables(orgVariables: $vs) { value category } }";
    let body = app
        .gql(
            &app.admin,
            update,
            json!({ "vs": [{ "id": id, "name": "api_key", "category": "general" }] }),
        )
        .await;
    assert_eq!(rule(&body), ("orgVariables.0.value", "REQUIRED_FIELD"));
    app.ok(
        &app.admin,
        update,
        json!({ "vs": [{ "id": id, "name": "api_key", "value": "rotated-2" }] }),
    )
    .await;
    let data = app.ok(&app.admin, update, json!({ "vs": [{ "id": id, "name": "api_key", "category": "general", "value": "public" }] })).await;
    assert_eq!(
        data["updateOrgVariables"],
        json!([{ "value": "public", "category": "general" }])
    );
    // …and an ordinary value made secret is encrypted from then on.
    let data = app
        .ok(
            &app.admin,
            update,
            json!({ "vs": [{ "id": id, "name": "api_key", "category": "secret" }] }),
        )
        .await;
    assert_eq!(
        data["updateOrgVariables"],
        json!([{ "value": "public", "category": "secret" }]),
        "the caller is an admin: shown in clear"
    );
    assert_eq!(
        app.ok(&app.admin, q, json!({})).await["orgVariables"],
        json!([{ "value": "********" }])
    );

    let history = app.gql(&app.admin, "query($o: ID!) { orgVariableHistory(orgId: $o, name: \"api_key\") { action oldValue newValue oldCategory newCategory actorUsername } }", json!({ "o": client })).await;
    let text = history.to_string();
    assert!(
        !text.contains("hunter2") && !text.contains("rotated-2"),
        "{text}"
    );
    let entries = history["data"]["orgVariableHistory"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["update", "update", "update", "create"]);
    assert_eq!(entries[3]["newValue"], "********");
    assert_eq!(
        entries[1],
        json!({ "action": "update", "oldValue": "********", "newValue": "public", "oldCategory": "secret", "newCategory": "general", "actorUsername": "admin@acme.test" })
    );
}

#[tokio::test]
async fn create_update_upsert_delete_and_history() {
    let app = spawn_app().await;
    let client = app.create_org(&app.admin, "Client", &app.msp_id).await;
    let id = var(
        &app,
        &app.admin,
        &client,
        "psa_board",
        "Service",
        "general",
        false,
    )
    .await;
    for (input, expected) in [
        (
            json!({ "orgId": client, "name": "psa_board", "value": "x", "cascade": false }),
            ("name", "DUPLICATE_IN_DATABASE"),
        ),
        (
            json!({ "orgId": client, "name": "has space", "value": "x", "cascade": false }),
            ("name", "INVALID_FORMAT"),
        ),
        (
            json!({ "orgId": client, "name": "", "value": "x", "cascade": false }),
            ("name", "REQUIRED_FIELD"),
        ),
        (
            json!({ "orgId": client, "name": "pc", "value": "x", "cascade": false, "packConfigId": "0191f1c6-0000-7000-8000-000000000000" }),
            ("packConfigId", "NOT_FOUND"),
        ),
        (
            json!({ "orgId": client, "name": "big", "value": "x".repeat(70_000), "cascade": false }),
            ("value", "MAX_LENGTH_EXCEEDED"),
        ),
    ] {
        assert_eq!(
            rule(&app.gql(&app.admin, CREATE, json!({ "v": input })).await),
            expected
        );
    }

    let update = "mutation($vs: [OrgVariableUpdateInput!]!) { updateOrgVariables(orgVariables: $vs) { name value cascade } }";
    let data = app.ok(&app.admin, update, json!({ "vs": [{ "orgId": client, "name": "psa_board", "value": "Projects", "cascade": true }] })).await;
    assert_eq!(
        data["updateOrgVariables"],
        json!([{ "name": "psa_board", "value": "Projects", "cascade": true }])
    );
    // All or nothing: the second one does not exist.
    let body = app.gql(&app.admin, update, json!({ "vs": [{ "id": id, "name": "psa_board", "value": "Changed" }, { "orgId": client, "name": "missing", "value": "x" }] })).await;
    assert_eq!(code(&body), "NOT_FOUND");
    let one = app
        .ok(
            &app.admin,
            "query($id: ID) { orgVariable(where: {id: $id}) { value } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(one["orgVariable"]["value"], "Projects");

    let bulk = "mutation($vs: [OrgVariableUpdateInput!]!) { bulkUpdateOrgVariables(orgVariables: $vs) { name value category } }";
    let data = app
        .ok(&app.admin, bulk, json!({ "vs": [{ "orgId": client, "name": "psa_board", "value": "Help Desk" }, { "orgId": client, "name": "psa_status", "value": "New", "category": "system" }] }))
        .await;
    assert_eq!(
        data["bulkUpdateOrgVariables"],
        json!([{ "name": "psa_board", "value": "Help Desk", "category": "general" }, { "name": "psa_status", "value": "New", "category": "system" }])
    );
    let body = app
        .gql(
            &app.admin,
            bulk,
            json!({ "vs": [{ "orgId": client, "name": "no_value" }] }),
        )
        .await;
    assert_eq!(rule(&body), ("orgVariables.0.value", "REQUIRED_FIELD"));

    let list = app.ok(&app.admin, r#"query($o: ID) { orgVariables(where: {orgId: $o}, order: [["name", "DESC"]]) { name } }"#, json!({ "o": client })).await;
    assert_eq!(
        list["orgVariables"],
        json!([{ "name": "psa_status" }, { "name": "psa_board" }])
    );

    let data = app
        .ok(
            &app.admin,
            "mutation($id: ID!) { deleteOrgVariable(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data["deleteOrgVariable"], id.as_str());
    let history = app.ok(&app.admin, "query($o: ID!) { orgVariableHistory(orgId: $o, name: \"psa_board\") { action oldValue newValue } }", json!({ "o": client })).await;
    assert_eq!(
        history["orgVariableHistory"],
        json!([
            { "action": "delete", "oldValue": "Help Desk", "newValue": null },
            { "action": "update", "oldValue": "Projects", "newValue": "Help Desk" },
            { "action": "update", "oldValue": "Service", "newValue": "Projects" },
            { "action": "create", "oldValue": null, "newValue": "Service" }
        ])
    );
}

#[tokio::test]
async fn who_may_read_and_write_variables() {
    let app = spawn_app().await;
    let client = app.create_org(&app.admin, "Client", &app.msp_id).await;
    let id = var(&app, &app.admin, &client, "x", "1", "general", true).await;
    let (_, reader) = app.user(&client, Role::ReadOnly, false).await;
    app.ok(
        &reader,
        "query($o: ID!) { visibleOrgVariables(visibleForOrgId: $o) { name } }",
        json!({ "o": client }),
    )
    .await;
    let update = "mutation($vs: [OrgVariableUpdateInput!]!) { updateOrgVariables(orgVariables: $vs) { name } }";
    assert_eq!(
        code(
            &app.gql(
                &reader,
                CREATE,
                json!({ "v": { "orgId": client, "name": "y", "value": "2", "cascade": false } })
            )
            .await
        ),
        "FORBIDDEN"
    );
    assert_eq!(
        code(
            &app.gql(
                &reader,
                update,
                json!({ "vs": [{ "id": id, "name": "x", "value": "2" }] })
            )
            .await
        ),
        "FORBIDDEN"
    );
    assert_eq!(
        code(
            &app.gql(
                &reader,
                "mutation($id: ID!) { deleteOrgVariable(id: $id) }",
                json!({ "id": id })
            )
            .await
        ),
        "FORBIDDEN"
    );

    let (_, other) = app.other_msp("Globex").await;
    let missing = "0191f1c6-0000-7000-8000-000000000000";
    let data = app.ok(&other, "{ orgVariables { id } }", json!({})).await;
    assert_eq!(data["orgVariables"], json!([]));
    for (query, vars, none) in [
        (
            "query($id: ID) { orgVariable(where: {id: $id}) { value } }",
            json!({ "id": id }),
            json!({ "id": missing }),
        ),
        (
            "query($id: ID) { orgVariables(where: {id: $id}) { value } }",
            json!({ "id": id }),
            json!({ "id": missing }),
        ),
        (
            "query($o: ID!) { visibleOrgVariables(visibleForOrgId: $o) { value } }",
            json!({ "o": client }),
            json!({ "o": missing }),
        ),
        (
            "query($o: ID!) { visibleOrgVariablesCount(visibleForOrgId: $o) }",
            json!({ "o": client }),
            json!({ "o": missing }),
        ),
        (
            "query($o: ID!) { orgVariableHistory(orgId: $o) { id } }",
            json!({ "o": client }),
            json!({ "o": missing }),
        ),
        (
            CREATE,
            json!({ "v": { "orgId": client, "name": "y", "value": "2", "cascade": false } }),
            json!({ "v": { "orgId": missing, "name": "y", "value": "2", "cascade": false } }),
        ),
        (
            update,
            json!({ "vs": [{ "id": id, "name": "x", "value": "2" }] }),
            json!({ "vs": [{ "id": missing, "name": "x", "value": "2" }] }),
        ),
        (
            "mutation($vs: [OrgVariableUpdateInput!]!) { bulkUpdateOrgVariables(orgVariables: $vs) { id } }",
            json!({ "vs": [{ "orgId": client, "name": "x", "value": "2" }] }),
            json!({ "vs": [{ "orgId": missing, "name": "x", "value": "2" }] }),
        ),
        (
            "mutation($id: ID!) { deleteOrgVariable(id: $id) }",
            json!({ "id": id }),
            json!({ "id": missing }),
        ),
    ] {
        crate::helpers::assert_forbidden_as_missing(&app, &other, query, vars, none).await;
    }
}
