//! Tags: owned by an org (usable at it and below) or global; names unique per owner.
use orghub::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, code, names, rule, spawn_app};

const CREATE: &str = "mutation($t: TagCreateInput!) { createTag(tag: $t) { id name color description orgId organization { name } } }";
const SET: &str = "mutation($o: ID!, $t: [ID!]!) { setOrganizationTags(orgId: $o, tagIds: $t) { tags { name } } }";

async fn tag(app: &TestApp, token: &str, org: &str, name: &str) -> String {
    let data = app
        .ok(
            token,
            CREATE,
            json!({ "t": { "orgId": org, "name": name } }),
        )
        .await;
    data["createTag"]["id"].as_str().unwrap().to_owned()
}

/// MSP > Client > Site, MSP > Sibling
async fn tree(app: &TestApp) -> (String, String, String) {
    let client = app.create_org(&app.admin, "Client", &app.msp_id).await;
    let site = app.create_org(&app.admin, "Site", &client).await;
    let sibling = app.create_org(&app.admin, "Sibling", &app.msp_id).await;
    (client, site, sibling)
}

#[tokio::test]
async fn create_update_and_delete_tags() {
    let app = spawn_app().await;
    let data = app
        .ok(
            &app.admin,
            CREATE,
            json!({ "t": { "orgId": app.msp_id, "name": " VIP ", "description": "top" } }),
        )
        .await;
    let vip = &data["createTag"];
    assert_eq!(vip["name"], "VIP");
    assert!(
        orghub::domain::tags::PALETTE.contains(&vip["color"].as_str().unwrap()),
        "a pleasant colour: {vip}"
    );
    assert_eq!(vip["organization"]["name"], "Acme MSP");
    let vip_id = vip["id"].as_str().unwrap().to_owned();
    let data = app
        .ok(
            &app.admin,
            CREATE,
            json!({ "t": { "orgId": app.msp_id, "name": "Managed", "color": "#abcdef" } }),
        )
        .await;
    assert_eq!(data["createTag"]["color"], "#ABCDEF");
    let managed_id = data["createTag"]["id"].as_str().unwrap().to_owned();

    assert_eq!(
        rule(
            &app.gql(
                &app.admin,
                CREATE,
                json!({ "t": { "orgId": app.msp_id, "name": "vip" } })
            )
            .await
        ),
        ("name", "DUPLICATE_IN_DATABASE")
    );
    assert_eq!(
        rule(
            &app.gql(
                &app.admin,
                CREATE,
                json!({ "t": { "orgId": app.msp_id, "name": "x", "color": "red" } })
            )
            .await
        ),
        ("color", "INVALID_FORMAT")
    );
    assert_eq!(
        rule(
            &app.gql(&app.admin, CREATE, json!({ "t": { "orgId": app.msp_id } }))
                .await
        ),
        ("name", "REQUIRED_FIELD")
    );
    // The same name under another owner is fine.
    let client = app.create_org(&app.admin, "Client", &app.msp_id).await;
    tag(&app, &app.admin, &client, "VIP").await;

    let list = app
        .ok(
            &app.admin,
            r#"{ tags(order: [["name", "DESC"]]) { name orgId } }"#,
            json!({}),
        )
        .await;
    assert_eq!(names(&list["tags"]), ["VIP", "VIP", "Managed"]);
    let one = app
        .ok(
            &app.admin,
            "query($o: ID) { tag(where: {name: \"vip\", orgId: $o}) { id } }",
            json!({ "o": app.msp_id }),
        )
        .await;
    assert_eq!(one["tag"]["id"], vip_id.as_str());
    let found = app
        .ok(
            &app.admin,
            "{ tags(search: {name: {_ilike: \"man%\"}}) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(names(&found["tags"]), ["Managed"]);

    let update = "mutation($t: TagUpdateInput!) { updateTag(tag: $t) { name color description } }";
    let data = app.ok(&app.admin, update, json!({ "t": { "id": vip_id, "orgId": app.msp_id, "name": "Gold", "color": "#000000", "description": null } })).await;
    assert_eq!(
        data["updateTag"],
        json!({ "name": "Gold", "color": "#000000", "description": null })
    );
    let body = app
        .gql(
            &app.admin,
            update,
            json!({ "t": { "id": vip_id, "orgId": client, "name": "Gold" } }),
        )
        .await;
    assert_eq!(rule(&body), ("orgId", "NOT_UPDATABLE"));

    // updateTags: all or nothing.
    let many = "mutation($ts: [TagUpdateInput!]!) { updateTags(tags: $ts) { name } }";
    let body = app
        .gql(&app.admin, many, json!({ "ts": [{ "id": vip_id, "orgId": app.msp_id, "name": "Platinum" }, { "id": managed_id, "orgId": app.msp_id, "name": "platinum" }] }))
        .await;
    assert_eq!(rule(&body), ("tags.1.name", "DUPLICATE_IN_DATABASE"));
    let one = app
        .ok(
            &app.admin,
            "query($id: ID) { tag(where: {id: $id}) { name } }",
            json!({ "id": vip_id }),
        )
        .await;
    assert_eq!(
        one["tag"]["name"], "Gold",
        "the first change was rolled back"
    );
    let data = app.ok(&app.admin, many, json!({ "ts": [{ "id": vip_id, "orgId": app.msp_id, "name": "Platinum" }, { "id": managed_id, "orgId": app.msp_id, "name": "Managed+" }] })).await;
    assert_eq!(names(&data["updateTags"]), ["Platinum", "Managed+"]);

    // Deleting a tag takes it off every organization.
    app.ok(
        &app.admin,
        SET,
        json!({ "o": client, "t": [vip_id, managed_id] }),
    )
    .await;
    let data = app
        .ok(
            &app.admin,
            "mutation($id: ID!) { deleteTag(id: $id) }",
            json!({ "id": vip_id }),
        )
        .await;
    assert_eq!(data["deleteTag"], vip_id.as_str());
    let org = app
        .ok(
            &app.admin,
            "query($id: ID) { organization(where: {id: $id}) { tags { name } } }",
            json!({ "id": client }),
        )
        .await;
    assert_eq!(names(&org["organization"]["tags"]), ["Managed+"]);
}

#[tokio::test]
async fn an_org_carries_tags_from_its_own_tree_only() {
    let app = spawn_app().await;
    let (client, site, sibling) = tree(&app).await;
    let msp_tag = tag(&app, &app.admin, &app.msp_id, "Managed").await;
    let client_tag = tag(&app, &app.admin, &client, "Client only").await;
    let sibling_tag = tag(&app, &app.admin, &sibling, "Sibling only").await;
    let global = app
        .ok(
            &app.admin,
            "mutation { createGlobalTag(name: \"Everywhere\") { id orgId } }",
            json!({}),
        )
        .await;
    assert_eq!(global["createGlobalTag"]["orgId"], Value::Null);
    let global_tag = global["createGlobalTag"]["id"].as_str().unwrap().to_owned();

    let data = app
        .ok(
            &app.admin,
            SET,
            json!({ "o": site, "t": [msp_tag, client_tag, global_tag] }),
        )
        .await;
    assert_eq!(
        names(&data["setOrganizationTags"]["tags"]),
        ["Client only", "Everywhere", "Managed"]
    );
    for (org, tags) in [
        (&app.msp_id, vec![client_tag.clone()]),
        (&site, vec![sibling_tag.clone()]),
        (
            &site,
            vec!["0191f1c6-0000-7000-8000-000000000000".to_owned()],
        ),
    ] {
        let body = app
            .gql(&app.admin, SET, json!({ "o": org, "t": tags }))
            .await;
        assert_eq!(rule(&body), ("tagIds", "INVALID_TAGS"));
    }
    let data = app.ok(&app.admin, SET, json!({ "o": site, "t": [] })).await;
    assert_eq!(data["setOrganizationTags"]["tags"], json!([]), "[] clears");

    // tagIds when creating and updating organizations.
    let created = app
        .ok(&app.admin, "mutation($p: ID, $t: [ID!]) { createOrganization(organization: {name: \"Branch\", managingOrgId: $p, tagIds: $t}) { id tags { name } } }", json!({ "p": client, "t": [msp_tag, client_tag] }))
        .await;
    assert_eq!(
        names(&created["createOrganization"]["tags"]),
        ["Client only", "Managed"]
    );
    let body = app.gql(&app.admin, "mutation($p: ID, $t: [ID!]) { createOrganization(organization: {name: \"Bad\", managingOrgId: $p, tagIds: $t}) { id } }", json!({ "p": sibling, "t": [client_tag] })).await;
    assert_eq!(rule(&body), ("tagIds", "INVALID_TAGS"));
    let updated = app.ok(&app.admin, "mutation($id: ID!, $t: [ID!]) { updateOrganization(organization: {id: $id, tagIds: $t}) { tags { name } } }", json!({ "id": sibling, "t": [sibling_tag, global_tag] })).await;
    assert_eq!(
        names(&updated["updateOrganization"]["tags"]),
        ["Everywhere", "Sibling only"]
    );

    // Filters: hasTagIds, where.tags, search.tags; relations both ways.
    let q = "query($p: ID!, $t: [ID]) { managedAndSubOrganizations(parentOrgId: $p, hasTagIds: $t) { name } }";
    let data = app
        .ok(
            &app.admin,
            q,
            json!({ "p": app.msp_id, "t": [msp_tag, sibling_tag] }),
        )
        .await;
    assert_eq!(
        names(&data["managedAndSubOrganizations"]),
        ["Branch", "Sibling"],
        "any of the tags"
    );
    let data = app
        .ok(
            &app.admin,
            "query($t: ID!) { organizations(where: {tags: {id: [$t]}}) { name } }",
            json!({ "t": global_tag }),
        )
        .await;
    assert_eq!(names(&data["organizations"]), ["Sibling"]);
    let data = app
        .ok(
            &app.admin,
            "{ organizations(search: {tags: {name: {_ilike: \"%only\"}}}) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(names(&data["organizations"]), ["Branch", "Sibling"]);
    let data = app
        .ok(
            &app.admin,
            "query($t: ID) { tag(where: {id: $t}) { organizations { name } } }",
            json!({ "t": msp_tag }),
        )
        .await;
    assert_eq!(names(&data["tag"]["organizations"]), ["Branch"]);
    let data = app
        .ok(
            &app.admin,
            "query($o: [ID]) { tags(where: {organizations: {id: $o}}) { name } }",
            json!({ "o": [sibling] }),
        )
        .await;
    assert_eq!(
        names(&data["tags"]),
        ["Sibling only"],
        "global tags only with includeTagsWithNoOwner"
    );
    let data = app.ok(&app.admin, "query($o: [ID]) { tags(includeTagsWithNoOwner: true, where: {organizations: {id: $o}}) { name } }", json!({ "o": [sibling] })).await;
    assert_eq!(names(&data["tags"]), ["Everywhere", "Sibling only"]);
    let data = app
        .ok(
            &app.admin,
            "query($id: ID) { organization(where: {id: $id}) { createdTags { name } } }",
            json!({ "id": client }),
        )
        .await;
    assert_eq!(names(&data["organization"]["createdTags"]), ["Client only"]);
}

#[tokio::test]
async fn who_may_see_and_change_tags() {
    let app = spawn_app().await;
    let (client, _site, sibling) = tree(&app).await;
    let msp_tag = tag(&app, &app.admin, &app.msp_id, "Managed").await;
    let sibling_tag = tag(&app, &app.admin, &sibling, "Sibling only").await;
    let (_, member) = app.user(&client, Role::Member, false).await;
    let (_, reader) = app.user(&client, Role::ReadOnly, false).await;

    // A client user sees the MSP's tags (they can be on the client) but not a sibling's.
    let data = app.ok(&member, "{ tags { name } }", json!({})).await;
    assert_eq!(names(&data["tags"]), ["Managed"]);
    assert_eq!(
        code(
            &app.gql(
                &member,
                "query($id: ID) { tag(where: {id: $id}) { name } }",
                json!({ "id": sibling_tag })
            )
            .await
        ),
        "FORBIDDEN"
    );
    // They may put the MSP's tag on their org, not change the tag itself.
    app.ok(&member, SET, json!({ "o": client, "t": [msp_tag] }))
        .await;
    let update = "mutation($t: TagUpdateInput!) { updateTag(tag: $t) { name } }";
    let body = app
        .gql(
            &member,
            update,
            json!({ "t": { "id": msp_tag, "orgId": app.msp_id, "name": "Mine" } }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    assert_eq!(
        code(
            &app.gql(
                &member,
                "mutation($id: ID!) { deleteTag(id: $id) }",
                json!({ "id": msp_tag })
            )
            .await
        ),
        "FORBIDDEN"
    );
    assert_eq!(
        code(
            &app.gql(
                &reader,
                CREATE,
                json!({ "t": { "orgId": client, "name": "x" } })
            )
            .await
        ),
        "FORBIDDEN"
    );
    assert_eq!(
        code(&app.gql(&reader, SET, json!({ "o": client, "t": [] })).await),
        "FORBIDDEN"
    );
    assert_eq!(
        code(
            &app.gql(
                &member,
                "mutation { createGlobalTag(name: \"Mine\") { id } }",
                json!({})
            )
            .await
        ),
        "FORBIDDEN"
    );

    // Another MSP: FORBIDDEN everywhere, the same as for ids that do not exist.
    let (_, other) = app.other_msp("Globex").await;
    let missing = "0191f1c6-0000-7000-8000-000000000000";
    for (query, vars, none) in [
        (
            "query($id: ID) { tag(where: {id: $id}) { name } }",
            json!({ "id": msp_tag }),
            json!({ "id": missing }),
        ),
        (
            "query($id: ID) { tags(where: {id: $id}) { name } }",
            json!({ "id": msp_tag }),
            json!({ "id": missing }),
        ),
        (
            CREATE,
            json!({ "t": { "orgId": client, "name": "x" } }),
            json!({ "t": { "orgId": missing, "name": "x" } }),
        ),
        (
            update,
            json!({ "t": { "id": msp_tag, "orgId": app.msp_id, "name": "x" } }),
            json!({ "t": { "id": missing, "orgId": app.msp_id, "name": "x" } }),
        ),
        (
            "mutation($id: ID!) { deleteTag(id: $id) }",
            json!({ "id": msp_tag }),
            json!({ "id": missing }),
        ),
        (
            SET,
            json!({ "o": client, "t": [] }),
            json!({ "o": missing, "t": [] }),
        ),
    ] {
        crate::helpers::assert_forbidden_as_missing(&app, &other, query, vars, none).await;
    }
    let data = app
        .ok(
            &other,
            "{ tags(includeTagsWithNoOwner: true) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(data["tags"], json!([]));
}
