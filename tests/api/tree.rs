//! Changing organizations: updates, enabling down the tree, retention, delete and restore.
use serde_json::{Value, json};

use crate::helpers::{TestApp, code, names, rule, spawn_app};

const UPDATE: &str = "mutation($o: OrganizationUpdateInput, $c: Boolean) {
    updateOrganization(organization: $o, cascadeChildOrgReenable: $c) { id name domain orgSlug isEnabled resultsRetentionDays tid } }";

/// MSP > A > A1 > A1x, MSP > B
async fn tree(app: &TestApp) -> (String, String, String, String) {
    let a = app.create_org(&app.admin, "A", &app.msp_id).await;
    let a1 = app.create_org(&app.admin, "A1", &a).await;
    let a1x = app.create_org(&app.admin, "A1x", &a1).await;
    let b = app.create_org(&app.admin, "B", &app.msp_id).await;
    (a, a1, a1x, b)
}

async fn enabled(app: &TestApp, id: &str) -> bool {
    let data = app
        .ok(
            &app.admin,
            "query($id: ID) { organization(where: {id: $id}) { isEnabled } }",
            json!({ "id": id }),
        )
        .await;
    data["organization"]["isEnabled"].as_bool().unwrap()
}

#[tokio::test]
async fn update_changes_fields_and_checks_rules() {
    let app = spawn_app().await;
    let (a, _, _, _) = tree(&app).await;
    let data = app.ok(&app.admin, UPDATE, json!({ "o": { "id": a, "name": "A Renamed", "domain": "a.example", "orgSlug": "a-new", "tid": "6f9619ff-8b86-d011-b42d-00c04fc964ff" } })).await;
    let org = &data["updateOrganization"];
    assert_eq!(
        (
            org["name"].as_str(),
            org["domain"].as_str(),
            org["orgSlug"].as_str()
        ),
        (Some("A Renamed"), Some("a.example"), Some("a-new"))
    );
    // null clears an optional field; absent leaves it.
    let data = app
        .ok(
            &app.admin,
            UPDATE,
            json!({ "o": { "id": a, "domain": null } }),
        )
        .await;
    assert_eq!(data["updateOrganization"]["domain"], Value::Null);
    assert_eq!(
        data["updateOrganization"]["tid"],
        "6f9619ff-8b86-d011-b42d-00c04fc964ff"
    );
    // Changing only the case of its own name is fine.
    app.ok(
        &app.admin,
        UPDATE,
        json!({ "o": { "id": a, "name": "a renamed" } }),
    )
    .await;

    for (input, expected) in [
        (json!({ "name": "b" }), ("name", "DUPLICATE_IN_DATABASE")),
        (json!({ "name": " " }), ("name", "REQUIRED_FIELD")),
        (
            json!({ "orgSlug": "b" }),
            ("orgSlug", "DUPLICATE_IN_DATABASE"),
        ),
        (json!({ "orgSlug": "B!" }), ("orgSlug", "INVALID_SLUG")),
        (json!({ "domain": "x" }), ("domain", "INVALID_FORMAT")),
        (
            json!({ "resultsRetentionDays": 0 }),
            ("resultsRetentionDays", "OUT_OF_RANGE"),
        ),
        (
            json!({ "resultsRetentionDays": 31 }),
            ("resultsRetentionDays", "OUT_OF_RANGE"),
        ),
        (json!({ "isDeleted": true }), ("isDeleted", "NOT_UPDATABLE")),
    ] {
        let mut o = input.clone();
        o["id"] = json!(a);
        let body = app.gql(&app.admin, UPDATE, json!({ "o": o })).await;
        assert_eq!(rule(&body), expected, "{input}: {body}");
    }
    let data = app
        .ok(
            &app.admin,
            UPDATE,
            json!({ "o": { "id": a, "resultsRetentionDays": 30 } }),
        )
        .await;
    assert_eq!(data["updateOrganization"]["resultsRetentionDays"], 30);
    let body = app
        .gql(&app.admin, UPDATE, json!({ "o": { "id": "not-an-id" } }))
        .await;
    assert_eq!(rule(&body), ("id", "INVALID_FORMAT"));
}

#[tokio::test]
async fn disabling_cascades_and_reenabling_cascades_on_request() {
    let app = spawn_app().await;
    let (a, a1, a1x, b) = tree(&app).await;
    app.ok(
        &app.admin,
        UPDATE,
        json!({ "o": { "id": a, "isEnabled": false } }),
    )
    .await;
    assert!(!enabled(&app, &a).await && !enabled(&app, &a1).await && !enabled(&app, &a1x).await);
    assert!(enabled(&app, &b).await, "siblings are untouched");

    // A child cannot be enabled below a disabled parent.
    let body = app
        .gql(
            &app.admin,
            UPDATE,
            json!({ "o": { "id": a1, "isEnabled": true } }),
        )
        .await;
    assert_eq!(rule(&body), ("isEnabled", "PARENT_DISABLED"));
    // A new org below a disabled one starts disabled.
    let c = app.create_org(&app.admin, "A2", &a).await;
    assert!(!enabled(&app, &c).await);

    app.ok(
        &app.admin,
        UPDATE,
        json!({ "o": { "id": a, "isEnabled": true } }),
    )
    .await;
    assert!(
        enabled(&app, &a).await && !enabled(&app, &a1).await,
        "without cascade the children stay disabled"
    );
    app.ok(
        &app.admin,
        UPDATE,
        json!({ "o": { "id": a, "isEnabled": false } }),
    )
    .await;
    app.ok(
        &app.admin,
        UPDATE,
        json!({ "o": { "id": a, "isEnabled": true }, "c": true }),
    )
    .await;
    assert!(enabled(&app, &a1).await && enabled(&app, &a1x).await && enabled(&app, &c).await);
}

#[tokio::test]
async fn retention_is_set_for_a_whole_tree() {
    let app = spawn_app().await;
    let (a, a1, a1x, b) = tree(&app).await;
    let tree_update = "mutation($o: OrganizationUpdateInput!) { updateManagedAndSubOrganizations(organization: $o) }";
    let data = app
        .ok(
            &app.admin,
            tree_update,
            json!({ "o": { "id": a, "resultsRetentionDays": 7 } }),
        )
        .await;
    assert_eq!(data["updateManagedAndSubOrganizations"], 3);
    let q = "query($p: ID!) { managedAndSubOrganizations(parentOrgId: $p) { name resultsRetentionDays } }";
    let data = app.ok(&app.admin, q, json!({ "p": app.msp_id })).await;
    let days: Vec<(String, i64)> = data["managedAndSubOrganizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap().to_owned(),
                o["resultsRetentionDays"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        days,
        [
            ("A".into(), 7),
            ("A1".into(), 7),
            ("A1x".into(), 7),
            ("B".into(), 21)
        ]
    );
    let _ = (a1, a1x, b);

    let body = app
        .gql(
            &app.admin,
            tree_update,
            json!({ "o": { "id": a, "name": "Same for all" } }),
        )
        .await;
    assert_eq!(rule(&body), ("name", "NOT_UPDATABLE"));
    let body = app
        .gql(
            &app.admin,
            tree_update,
            json!({ "o": { "id": a, "resultsRetentionDays": 99 } }),
        )
        .await;
    assert_eq!(rule(&body), ("resultsRetentionDays", "OUT_OF_RANGE"));
}

#[tokio::test]
async fn delete_and_restore_a_subtree() {
    let app = spawn_app().await;
    let (a, a1, a1x, _b) = tree(&app).await;
    let delete = "mutation($id: ID!) { deleteOrganization(id: $id) }";
    let data = app.ok(&app.admin, delete, json!({ "id": a1 })).await;
    assert_eq!(data["deleteOrganization"], Value::Null);

    let list = app
        .ok(&app.admin, "{ organizations { name } }", json!({}))
        .await;
    assert_eq!(names(&list["organizations"]), ["A", "Acme MSP", "B"]);
    let deleted = app
        .ok(
            &app.admin,
            "{ organizations(search: {isDeleted: {_eq: true}}) { name isDeleted deletedAt } }",
            json!({}),
        )
        .await;
    assert_eq!(names(&deleted["organizations"]), ["A1", "A1x"]);
    assert_eq!(deleted["organizations"][0]["isDeleted"], true);
    let soft = app
        .ok(
            &app.admin,
            "query($p: ID!) { softDeletedOrgs(managingOrgId: $p) { name } }",
            json!({ "p": app.msp_id }),
        )
        .await;
    assert_eq!(names(&soft["softDeletedOrgs"]), ["A1", "A1x"]);
    // Asked for by id, a deleted org is still found, marked deleted.
    let one = app
        .ok(
            &app.admin,
            "query($id: ID) { organization(where: {id: $id}) { isDeleted } }",
            json!({ "id": a1x }),
        )
        .await;
    assert_eq!(one["organization"]["isDeleted"], true);
    let count = app
        .ok(
            &app.admin,
            "query($id: ID) { organization(where: {id: $id}) { descendantOrgCount } }",
            json!({ "id": a }),
        )
        .await;
    assert_eq!(count["organization"]["descendantOrgCount"], 0);
    // Changing a deleted org is refused; deleting it again too.
    let body = app
        .gql(
            &app.admin,
            UPDATE,
            json!({ "o": { "id": a1, "name": "Zombie" } }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    assert_eq!(
        code(&app.gql(&app.admin, delete, json!({ "id": a1 })).await),
        "NOT_FOUND"
    );

    // The name is free again; restoring then clashes until the new one is renamed.
    let again = app.create_org(&app.admin, "a1", &a).await;
    let restore = "mutation($id: ID!) { restoreOrganization(id: $id) { name isDeleted orgSlug } }";
    let body = app.gql(&app.admin, restore, json!({ "id": a1 })).await;
    assert_eq!(rule(&body), ("name", "DUPLICATE_IN_DATABASE"));
    // Restoring a child whose parent is deleted names the parent.
    assert_eq!(
        code(&app.gql(&app.admin, restore, json!({ "id": a1x })).await),
        "CONFLICT"
    );
    app.ok(
        &app.admin,
        UPDATE,
        json!({ "o": { "id": again, "name": "A1 new" } }),
    )
    .await;
    let data = app.ok(&app.admin, restore, json!({ "id": a1 })).await;
    assert_eq!(
        data["restoreOrganization"],
        json!({ "name": "A1", "isDeleted": false, "orgSlug": "a1-2" }),
        "its slug was reused meanwhile, so it gets a new one"
    );
    let list = app
        .ok(
            &app.admin,
            "query($p: ID!) { managedAndSubOrganizations(parentOrgId: $p) { name } }",
            json!({ "p": a }),
        )
        .await;
    assert_eq!(
        names(&list["managedAndSubOrganizations"]),
        ["A1", "A1 new", "A1x"],
        "the subtree came back with it"
    );
    assert_eq!(
        code(&app.gql(&app.admin, restore, json!({ "id": a1 })).await),
        "CONFLICT",
        "not deleted"
    );
}

#[tokio::test]
async fn own_and_top_level_orgs_cannot_be_deleted_and_bulk_delete_is_atomic() {
    let app = spawn_app().await;
    let (a, a1, _, b) = tree(&app).await;
    let body = app
        .gql(
            &app.admin,
            "mutation($id: ID!) { deleteOrganization(id: $id) }",
            json!({ "id": app.msp_id }),
        )
        .await;
    assert_eq!(rule(&body), ("id", "NOT_DELETABLE"));

    let bulk = "mutation($ids: [ID!]!) { bulkDeleteOrganizations(organizationIds: $ids) }";
    let body = app
        .gql(&app.admin, bulk, json!({ "ids": [a1, app.msp_id] }))
        .await;
    assert_eq!(rule(&body), ("organizationIds.1.id", "NOT_DELETABLE"));
    let list = app
        .ok(&app.admin, "{ organizations { name } }", json!({}))
        .await;
    assert_eq!(
        names(&list["organizations"]).len(),
        5,
        "nothing was deleted"
    );

    app.ok(&app.admin, bulk, json!({ "ids": [a, b] })).await;
    let list = app
        .ok(&app.admin, "{ organizations { name } }", json!({}))
        .await;
    assert_eq!(names(&list["organizations"]), ["Acme MSP"]);
}
