//! Reserved organization names: staff manage them, everyone signed in reads them.
use orghub::auth::Role;
use serde_json::json;

use crate::helpers::{code, names, rule, spawn_app};

#[tokio::test]
async fn staff_manage_reserved_names() {
    let app = spawn_app().await;
    let create = "mutation($n: String!) { createReservedOrganizationName(name: $n) { id name createdAt createdBy { username } updatedBy { username } } }";
    let data = app
        .ok(&app.admin, create, json!({ "n": " Microsoft " }))
        .await;
    let created = &data["createReservedOrganizationName"];
    assert_eq!(created["name"], "Microsoft");
    assert_eq!(created["createdBy"]["username"], "admin@acme.test");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        rule(
            &app.gql(&app.admin, create, json!({ "n": "MICROSOFT" }))
                .await
        ),
        ("name", "DUPLICATE_IN_DATABASE")
    );
    assert_eq!(
        rule(&app.gql(&app.admin, create, json!({ "n": "" })).await),
        ("name", "REQUIRED_FIELD")
    );

    let list = app
        .ok(
            &app.admin,
            "{ reservedOrganizationNames { name } }",
            json!({}),
        )
        .await;
    assert_eq!(
        names(&list["reservedOrganizationNames"]),
        ["Microsoft", "orghub"]
    );
    let list = app
        .ok(
            &app.admin,
            r#"{ reservedOrganizationNames(order: [["name", "DESC"]], limit: 1) { name } }"#,
            json!({}),
        )
        .await;
    assert_eq!(names(&list["reservedOrganizationNames"]), ["orghub"]);
    let one = app
        .ok(
            &app.admin,
            "{ reservedOrganizationName(where: {name: \"microsoft\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(one["reservedOrganizationName"]["id"], id.as_str());

    // A non-staff admin reads but cannot change the list, and is held to it.
    let (other_msp, other_admin) = app.other_msp("Other").await;
    let list = app
        .ok(
            &other_admin,
            "{ reservedOrganizationNames { name createdBy { username } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        list["reservedOrganizationNames"][0]["createdBy"],
        serde_json::Value::Null,
        "staff users of another tree stay hidden"
    );
    assert_eq!(
        code(&app.gql(&other_admin, create, json!({ "n": "Mine" })).await),
        "FORBIDDEN"
    );
    let body = app.gql(&other_admin, "mutation($p: ID) { createOrganization(organization: {name: \"Microsoft Partner\", managingOrgId: $p}) { id } }", json!({ "p": other_msp })).await;
    assert_eq!(rule(&body), ("name", "RESERVED_NAME"));

    let update = "mutation($id: ID!, $n: String!) { updateReservedOrganizationName(id: $id, name: $n) { name updatedBy { username } } }";
    assert_eq!(
        code(
            &app.gql(&other_admin, update, json!({ "id": id, "n": "Macrosoft" }))
                .await
        ),
        "FORBIDDEN"
    );
    let data = app
        .ok(&app.admin, update, json!({ "id": id, "n": "Macrosoft" }))
        .await;
    assert_eq!(data["updateReservedOrganizationName"]["name"], "Macrosoft");
    assert_eq!(
        rule(
            &app.gql(&app.admin, update, json!({ "id": id, "n": "ORGHUB" }))
                .await
        ),
        ("name", "DUPLICATE_IN_DATABASE")
    );

    let delete = "mutation($id: ID!) { deleteReservedOrganizationName(id: $id) }";
    let (_, member) = app.user(&app.msp_id, Role::Member, false).await;
    assert_eq!(
        code(&app.gql(&member, delete, json!({ "id": id })).await),
        "FORBIDDEN"
    );
    assert_eq!(
        app.ok(&app.admin, delete, json!({ "id": id })).await["deleteReservedOrganizationName"],
        1
    );
    assert_eq!(
        code(&app.gql(&app.admin, delete, json!({ "id": id })).await),
        "NOT_FOUND"
    );
    // Released: the name is usable again.
    app.ok(&other_admin, "mutation($p: ID) { createOrganization(organization: {name: \"Macrosoft Partner\", managingOrgId: $p}) { id } }", json!({ "p": other_msp })).await;
}
