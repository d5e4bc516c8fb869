//! Reading the tree: lists with where/search/order/limit, search, breadcrumbs, relations.
use serde_json::{Value, json};

use crate::helpers::{TestApp, code, names, rule, spawn_app};

/// MSP > Contoso (contoso.com) > {Contoso East, Contoso West}; MSP > Fabrikam (fabrikam.net) > Fab 50%_off
async fn seed(app: &TestApp) -> Vec<String> {
    let create = "mutation($o: OrganizationInput) { createOrganization(organization: $o) { id } }";
    let mut ids: Vec<String> = Vec::new();
    for (name, domain, parent) in [
        ("Contoso", Some("contoso.com"), None),
        ("Contoso East", None, Some(0)),
        ("Contoso West", None, Some(0)),
        ("Fabrikam", Some("fabrikam.net"), None),
        ("Fab 50%_off", None, Some(3)),
    ] {
        let parent = parent
            .map(|i: usize| ids[i].clone())
            .unwrap_or_else(|| app.msp_id.clone());
        let data = app
            .ok(
                &app.admin,
                create,
                json!({ "o": { "name": name, "domain": domain, "managingOrgId": parent } }),
            )
            .await;
        ids.push(
            data["createOrganization"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    ids
}

async fn list(app: &TestApp, args: &str) -> Vec<String> {
    let data = app
        .ok(
            &app.admin,
            &format!("{{ organizations{args} {{ name }} }}"),
            json!({}),
        )
        .await;
    names(&data["organizations"])
}

#[tokio::test]
async fn where_search_order_and_paging() {
    let app = spawn_app().await;
    let ids = seed(&app).await;
    assert_eq!(
        list(&app, "").await,
        [
            "Acme MSP",
            "Contoso",
            "Contoso East",
            "Contoso West",
            "Fab 50%_off",
            "Fabrikam"
        ]
    );
    assert_eq!(
        list(&app, r#"(order: [["name", "DESC"]], limit: 2)"#).await,
        ["Fabrikam", "Fab 50%_off"]
    );
    assert_eq!(
        list(&app, r#"(order: [["name"]], limit: 2, offset: 2)"#).await,
        ["Contoso East", "Contoso West"]
    );
    assert_eq!(
        list(&app, r#"(where: {domain: "contoso.com"})"#).await,
        ["Contoso"]
    );
    assert_eq!(
        list(
            &app,
            &format!(r#"(where: {{managingOrgId: "{}"}})"#, ids[0])
        )
        .await,
        ["Contoso East", "Contoso West"]
    );
    assert_eq!(
        list(&app, r#"(where: {managingOrg: {name: "Fabrikam"}})"#).await,
        ["Fab 50%_off"]
    );
    assert_eq!(
        list(&app, r#"(where: {managedOrgs: {name: "Contoso West"}})"#).await,
        ["Contoso"]
    );
    assert_eq!(
        list(&app, r#"(where: {users: {username: "admin@acme.test"}})"#).await,
        ["Acme MSP"]
    );
    assert_eq!(
        list(&app, r#"(search: {users: {roleIds: {_eq: "admin"}}})"#).await,
        ["Acme MSP"]
    );
    assert_eq!(
        list(&app, r#"(search: {name: {_ilike: "contoso %"}})"#).await,
        ["Contoso East", "Contoso West"]
    );
    assert_eq!(
        list(&app, r#"(search: {name: {_like: "contoso%"}})"#).await,
        Vec::<String>::new(),
        "_like is case-sensitive"
    );
    assert_eq!(
        list(&app, r#"(search: {name: {_like: "Contoso%"}})"#).await,
        ["Contoso", "Contoso East", "Contoso West"]
    );
    assert_eq!(
        list(&app, r#"(search: {name: {_nilike: "%contoso%"}})"#).await,
        ["Acme MSP", "Fab 50%_off", "Fabrikam"]
    );
    assert_eq!(
        list(&app, r#"(search: {name: {_substr: "50%_"}})"#).await,
        ["Fab 50%_off"],
        "_substr matches % and _ literally"
    );
    assert_eq!(
        list(&app, r#"(search: {name: {_substr: "0%o"}})"#).await,
        Vec::<String>::new()
    );
    assert_eq!(
        list(&app, r#"(search: {name: {_in: ["Contoso", "Fabrikam"]}})"#).await,
        ["Contoso", "Fabrikam"]
    );
    assert_eq!(
        list(
            &app,
            r#"(search: {name: {_nin: ["Contoso", "Fabrikam"], _neq: "Acme MSP"}})"#
        )
        .await,
        ["Contoso East", "Contoso West", "Fab 50%_off"]
    );
    assert_eq!(
        list(&app, r#"(search: {name: {_gte: "F"}})"#).await,
        ["Fab 50%_off", "Fabrikam"]
    );
    assert_eq!(
        list(&app, r#"(search: {managingOrg: {name: {_eq: "Contoso"}}})"#).await,
        ["Contoso East", "Contoso West"]
    );
    assert_eq!(
        list(
            &app,
            &format!(r#"(search: {{id: {{_in: ["{}", "{}"]}}}})"#, ids[1], ids[3])
        )
        .await,
        ["Contoso East", "Fabrikam"]
    );
    assert_eq!(
        list(
            &app,
            r#"(search: {resultsRetentionDays: {_gte: 21, _lt: 22}}, limit: 1)"#
        )
        .await,
        ["Acme MSP"]
    );
    assert_eq!(
        list(&app, r#"(search: {isEnabled: {_eq: false}})"#).await,
        Vec::<String>::new()
    );
    assert_eq!(
        list(
            &app,
            r#"(search: {createdAt: {_gt: "2000-01-01T00:00:00Z"}}, limit: 1)"#
        )
        .await,
        ["Acme MSP"]
    );
    assert_eq!(
        list(
            &app,
            r#"(where: {name: "Contoso"}, search: {name: {_ilike: "fab%"}})"#
        )
        .await,
        Vec::<String>::new(),
        "where and search both hold"
    );
    assert_eq!(
        list(
            &app,
            r#"(where: {tags: {id: ["0191f1c6-0000-7000-8000-000000000000"]}})"#
        )
        .await,
        Vec::<String>::new(),
        "no org has that tag"
    );
    let _ = ids;

    let bad = [
        (r#"(order: [["password"]])"#, "order.0"),
        (r#"(order: [["name", "SIDEWAYS"]])"#, "order.0"),
        ("(limit: 101)", "limit"),
        ("(limit: -1)", "limit"),
        ("(offset: -5)", "offset"),
        (
            r#"(search: {createdAt: {_gt: "yesterday"}})"#,
            "search.createdAt",
        ),
        (r#"(search: {id: {_eq: "x"}})"#, "search.id"),
    ];
    for (args, field) in bad {
        let body = app
            .gql(
                &app.admin,
                &format!("{{ organizations{args} {{ name }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(rule(&body).0, field, "{args}: {body}");
    }
}

#[tokio::test]
async fn managed_and_sub_organizations_and_relations() {
    let app = spawn_app().await;
    let ids = seed(&app).await;
    let q = "query($p: ID!, $s: OrganizationSearchInput, $l: Int, $o: Int) {
        managedAndSubOrganizations(parentOrgId: $p, search: $s, limit: $l, offset: $o) { name descendantOrgCount managingOrg { name } managedOrgs { name } } }";
    let data = app.ok(&app.admin, q, json!({ "p": ids[0] })).await;
    assert_eq!(
        names(&data["managedAndSubOrganizations"]),
        ["Contoso East", "Contoso West"]
    );
    let data = app.ok(&app.admin, q, json!({ "p": app.msp_id })).await;
    let all = &data["managedAndSubOrganizations"];
    assert_eq!(
        names(all),
        [
            "Contoso",
            "Contoso East",
            "Contoso West",
            "Fab 50%_off",
            "Fabrikam"
        ]
    );
    assert_eq!(all[0]["descendantOrgCount"], 2);
    assert_eq!(all[0]["managingOrg"]["name"], "Acme MSP");
    assert_eq!(
        names(&all[0]["managedOrgs"]),
        ["Contoso East", "Contoso West"]
    );
    assert_eq!(all[4]["descendantOrgCount"], 1);
    let data = app
        .ok(
            &app.admin,
            q,
            json!({ "p": app.msp_id, "s": { "name": { "_ilike": "%west" } } }),
        )
        .await;
    assert_eq!(names(&data["managedAndSubOrganizations"]), ["Contoso West"]);
    let data = app
        .ok(&app.admin, q, json!({ "p": app.msp_id, "l": 2, "o": 1 }))
        .await;
    assert_eq!(
        names(&data["managedAndSubOrganizations"]),
        ["Contoso East", "Contoso West"]
    );
    let data = app
        .ok(&app.admin, "query($p: ID!) { managedAndSubOrganizations(parentOrgId: $p, hasTagIds: [\"0191f1c6-0000-7000-8000-000000000000\"]) { name } }", json!({ "p": app.msp_id }))
        .await;
    assert_eq!(data["managedAndSubOrganizations"], json!([]));

    let data = app
        .ok(&app.admin, r#"query($id: ID) { organization(where: {id: $id}) { managedAndSubOrgs(order: [["name", "DESC"]]) { name } } }"#, json!({ "id": ids[3] }))
        .await;
    assert_eq!(
        names(&data["organization"]["managedAndSubOrgs"]),
        ["Fab 50%_off"]
    );
}

#[tokio::test]
async fn search_breadcrumbs_and_membership() {
    let app = spawn_app().await;
    let ids = seed(&app).await;
    let data = app
        .ok(
            &app.admin,
            "query($r: ID!, $b: ID!) { orgSearch(rootOrgId: $r, breadcrumbRootOrgId: $b, search: \"contoso\") { id name hasChildren managingOrgId isInternal breadcrumbs { id name } } }",
            json!({ "r": app.msp_id, "b": app.msp_id }),
        )
        .await;
    let hits = data["orgSearch"].as_array().unwrap();
    assert_eq!(
        names(&data["orgSearch"]),
        ["Contoso", "Contoso East", "Contoso West"]
    );
    assert_eq!(hits[0]["hasChildren"], true);
    assert_eq!(hits[1]["hasChildren"], false);
    assert_eq!(hits[1]["managingOrgId"], ids[0].as_str());
    assert_eq!(
        names(&hits[1]["breadcrumbs"]),
        ["Acme MSP", "Contoso", "Contoso East"]
    );
    // Breadcrumbs start at the breadcrumb root.
    let data = app
        .ok(&app.admin, "query($r: ID!, $b: ID!) { orgSearch(rootOrgId: $r, breadcrumbRootOrgId: $b, search: \"east\") { breadcrumbs { name } } }", json!({ "r": ids[0], "b": ids[0] }))
        .await;
    assert_eq!(
        names(&data["orgSearch"][0]["breadcrumbs"]),
        ["Contoso", "Contoso East"]
    );

    let data = app
        .ok(
            &app.admin,
            "query($o: ID!, $r: ID!) { orgBreadcrumb(orgId: $o, rootOrgId: $r) { id name } }",
            json!({ "o": ids[4], "r": app.msp_id }),
        )
        .await;
    assert_eq!(
        names(&data["orgBreadcrumb"]),
        ["Acme MSP", "Fabrikam", "Fab 50%_off"]
    );
    let data = app
        .ok(
            &app.admin,
            "query($o: ID!, $r: ID!) { orgBreadcrumb(orgId: $o, rootOrgId: $r) { name } }",
            json!({ "o": ids[4], "r": ids[0] }),
        )
        .await;
    assert_eq!(data["orgBreadcrumb"], json!([]), "Contoso is not above Fab");

    let managed = "query($o: ID!, $p: ID!) { isOrgManagedBy(orgId: $o, parentOrgId: $p) }";
    assert_eq!(
        app.ok(&app.admin, managed, json!({ "o": ids[1], "p": app.msp_id }))
            .await["isOrgManagedBy"],
        true
    );
    assert_eq!(
        app.ok(&app.admin, managed, json!({ "o": ids[1], "p": ids[3] }))
            .await["isOrgManagedBy"],
        false
    );
    assert_eq!(
        app.ok(&app.admin, managed, json!({ "o": ids[1], "p": ids[1] }))
            .await["isOrgManagedBy"],
        false
    );

    let data = app
        .ok(
            &app.admin,
            "{ searchManagedOrgs(input: {search: \"FAB\"}) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(
        names(&data["searchManagedOrgs"]),
        ["Fab 50%_off", "Fabrikam"]
    );
    let data = app
        .ok(
            &app.admin,
            "{ searchManagedOrgs(input: {limit: 2, offset: 1}) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(
        names(&data["searchManagedOrgs"]),
        ["Contoso East", "Contoso West"],
        "the caller's own org is not listed"
    );

    let data = app.ok(&app.admin, "{ userOrganization { name isMsp } myAccessibleOrganizations { name } me { username roleIds roles isSuperuser organization { name } managedOrgs { name } } }", json!({})).await;
    assert_eq!(
        data["userOrganization"],
        json!({ "name": "Acme MSP", "isMsp": true })
    );
    assert_eq!(names(&data["myAccessibleOrganizations"]).len(), 6);
    assert_eq!(data["me"]["username"], "admin@acme.test");
    assert_eq!(data["me"]["roleIds"], json!(["admin"]));
    assert_eq!(
        data["me"]["roles"],
        json!([{ "id": "admin", "name": "Admin" }])
    );
    assert_eq!(data["me"]["isSuperuser"], true);
    assert_eq!(names(&data["me"]["managedOrgs"]), ["Contoso", "Fabrikam"]);

    let check = "query($o: ID!) { checkUserManagesOrg(orgId: $o) }";
    assert_eq!(
        app.ok(&app.admin, check, json!({ "o": ids[2] })).await["checkUserManagesOrg"],
        true
    );
    assert_eq!(
        app.ok(
            &app.admin,
            check,
            json!({ "o": "0191f1c6-0000-7000-8000-000000000000" })
        )
        .await["checkUserManagesOrg"],
        false
    );
    let body = app.gql(&app.admin, check, json!({ "o": "zzz" })).await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn nested_fields_of_a_page_are_batched_correctly() {
    // A page of orgs with their parents, children, users and counts, all answered
    // through the per-request DataLoaders.
    let app = spawn_app().await;
    let create = "mutation($os: [OrganizationInput!]!) { bulkCreateOrganizations(organizations: $os) { id } }";
    let rows: Vec<Value> = (0..60)
        .map(|i| json!({ "name": format!("Client {i:02}") }))
        .collect();
    app.ok(&app.admin, create, json!({ "os": rows })).await;
    let data = app
        .ok(&app.admin, "{ organizations(limit: 100) { name descendantOrgCount managingOrg { name } managedOrgs { name } users { username } } }", json!({}))
        .await;
    let list = data["organizations"].as_array().unwrap();
    assert_eq!(list.len(), 61);
    assert_eq!(list[0]["descendantOrgCount"], 60);
    assert!(
        list[1..]
            .iter()
            .all(|o| o["managingOrg"]["name"] == "Acme MSP" && o["descendantOrgCount"] == 0)
    );
}
