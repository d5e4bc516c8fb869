//! Creating organizations and every rule that guards it.
use orghub::auth::Role;
use serde_json::json;

use crate::helpers::{code, names, rule, spawn_app};

const CREATE: &str = "mutation($o: OrganizationInput) { createOrganization(organization: $o) {
    id name domain orgSlug isEnabled isOnboarding isDeleted isMsp resultsRetentionDays tid rocSiteId
    managingOrgId managingOrg { id name } createdAt updatedAt deletedAt descendantOrgCount } }";

#[tokio::test]
async fn create_returns_every_field_and_reads_back() {
    let app = spawn_app().await;
    let data = app
        .ok(
            &app.admin,
            CREATE,
            json!({ "o": { "name": "  Contoso Ltd ", "domain": "Contoso.com", "tid": "6F9619FF-8B86-D011-B42D-00C04FC964FF", "rocSiteId": "site-1", "isOnboarding": true } }),
        )
        .await;
    let org = &data["createOrganization"];
    assert_eq!(org["name"], "Contoso Ltd");
    assert_eq!(org["domain"], "Contoso.com");
    assert_eq!(org["orgSlug"], "contoso-ltd");
    assert_eq!(org["isEnabled"], true);
    assert_eq!(org["isOnboarding"], true);
    assert_eq!(org["isDeleted"], false);
    assert_eq!(org["isMsp"], false);
    assert_eq!(org["resultsRetentionDays"], 21);
    assert_eq!(org["tid"], "6f9619ff-8b86-d011-b42d-00c04fc964ff");
    assert_eq!(org["rocSiteId"], "site-1");
    assert_eq!(org["managingOrgId"], app.msp_id.as_str());
    assert_eq!(org["managingOrg"]["name"], "Acme MSP");
    assert_eq!(org["deletedAt"], serde_json::Value::Null);
    assert_eq!(org["descendantOrgCount"], 0);
    assert!(chrono::DateTime::parse_from_rfc3339(org["createdAt"].as_str().unwrap()).is_ok());

    let id = org["id"].as_str().unwrap();
    let read = app
        .ok(
            &app.admin,
            "query($id: ID) { organization(where: {id: $id}) { name domain users { username } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read["organization"]["name"], "Contoso Ltd");
    assert_eq!(read["organization"]["users"], json!([]));

    let msp = app
        .ok(&app.admin, "query($id: ID) { organization(where: {id: $id}) { isMsp isStaff descendantOrgCount managedOrgs { name } users { username roleIds } } }", json!({ "id": app.msp_id }))
        .await;
    assert_eq!(msp["organization"]["isMsp"], true);
    assert_eq!(msp["organization"]["descendantOrgCount"], 1);
    assert_eq!(names(&msp["organization"]["managedOrgs"]), ["Contoso Ltd"]);
    assert_eq!(
        msp["organization"]["users"],
        json!([{ "username": "admin@acme.test", "roleIds": ["admin"] }])
    );
}

#[tokio::test]
async fn slugs_are_generated_unique_and_validated() {
    let app = spawn_app().await;
    let slug = |body: serde_json::Value| {
        body["createOrganization"]["orgSlug"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let a = app
        .ok(&app.admin, CREATE, json!({ "o": { "name": "Acme, Inc." } }))
        .await;
    let b = app
        .ok(&app.admin, CREATE, json!({ "o": { "name": "Acme Inc" } }))
        .await;
    let c = app
        .ok(&app.admin, CREATE, json!({ "o": { "name": "Admin" } }))
        .await;
    assert_eq!(
        (slug(a), slug(b), slug(c)),
        ("acme-inc".into(), "acme-inc-2".into(), "admin-org".into())
    );
    let given = app
        .ok(
            &app.admin,
            CREATE,
            json!({ "o": { "name": "Given", "orgSlug": "my-slug-1" } }),
        )
        .await;
    assert_eq!(slug(given), "my-slug-1");

    for (bad, expected) in [
        ("Bad Slug", "INVALID_SLUG"),
        ("acme--x", "INVALID_SLUG"),
        ("graphql", "INVALID_SLUG"),
        ("my-slug-1", "DUPLICATE_IN_DATABASE"),
    ] {
        let body = app
            .gql(
                &app.admin,
                CREATE,
                json!({ "o": { "name": format!("Org {bad}"), "orgSlug": bad } }),
            )
            .await;
        assert_eq!(rule(&body), ("orgSlug", expected), "{bad}: {body}");
    }
    let long = "a".repeat(256);
    let body = app
        .gql(
            &app.admin,
            CREATE,
            json!({ "o": { "name": "Long slug", "orgSlug": long } }),
        )
        .await;
    assert_eq!(rule(&body), ("orgSlug", "MAX_LENGTH_EXCEEDED"));
}

#[tokio::test]
async fn names_and_domains_follow_the_rules() {
    let app = spawn_app().await;
    app.ok(
        &app.admin,
        CREATE,
        json!({ "o": { "name": "Fabrikam", "domain": "fabrikam.com" } }),
    )
    .await;
    let cases = [
        (json!({ "name": "   " }), ("name", "REQUIRED_FIELD")),
        (
            json!({ "name": "x".repeat(256) }),
            ("name", "MAX_LENGTH_EXCEEDED"),
        ),
        (
            json!({ "name": " FABRIKAM " }),
            ("name", "DUPLICATE_IN_DATABASE"),
        ),
        (
            json!({ "name": "Other", "domain": "not a domain" }),
            ("domain", "INVALID_FORMAT"),
        ),
        (
            json!({ "name": "Other", "domain": format!("{}.com", "a.".repeat(130)) }),
            ("domain", "MAX_LENGTH_EXCEEDED"),
        ),
        (
            json!({ "name": "Other", "domain": "FABRIKAM.COM" }),
            ("domain", "DUPLICATE_DOMAIN_IN_DATABASE"),
        ),
        (
            json!({ "name": "Other", "tid": "not-a-guid" }),
            ("tid", "INVALID_FORMAT"),
        ),
        (
            json!({ "name": "Other", "managingOrgId": "nope" }),
            ("managingOrgId", "INVALID_FORMAT"),
        ),
        (
            json!({ "name": "Other", "tagIds": ["0191f1c6-0000-7000-8000-000000000000"] }),
            ("tagIds", "INVALID_TAGS"),
        ),
    ];
    for (input, expected) in cases {
        let body = app.gql(&app.admin, CREATE, json!({ "o": input })).await;
        assert_eq!(rule(&body), expected, "{input}: {body}");
        assert_eq!(body["data"]["createOrganization"], serde_json::Value::Null);
    }
    // 255 characters is fine; several broken rules are all reported.
    app.ok(
        &app.admin,
        CREATE,
        json!({ "o": { "name": "y".repeat(255) } }),
    )
    .await;
    let body = app
        .gql(
            &app.admin,
            CREATE,
            json!({ "o": { "name": "", "domain": "bad", "orgSlug": "Bad" } }),
        )
        .await;
    let errors = body["errors"][0]["extensions"]["validationErrors"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(errors, 3, "{body}");
    // A missing input is a clear error, not a crash.
    let body = app
        .gql(
            &app.admin,
            "mutation { createOrganization { id } }",
            json!({}),
        )
        .await;
    assert_eq!(rule(&body), ("organization", "REQUIRED_FIELD"));
}

#[tokio::test]
async fn reserved_names_are_for_staff_only() {
    let app = spawn_app().await;
    let (other_id, other_admin) = app.other_msp("Other MSP").await;
    // "orghub" is reserved on a fresh instance; a name containing it is refused for non-staff.
    let body = app
        .gql(
            &other_admin,
            CREATE,
            json!({ "o": { "name": "The OrgHub Team" } }),
        )
        .await;
    assert_eq!(rule(&body), ("name", "RESERVED_NAME"));
    // Staff may.
    app.ok(
        &app.admin,
        CREATE,
        json!({ "o": { "name": "The OrgHub Team" } }),
    )
    .await;
    // Renaming into a reserved name is refused too.
    let id = app.create_org(&other_admin, "Plain", &other_id).await;
    let body = app
        .gql(&other_admin, "mutation($id: ID!) { updateOrganization(organization: {id: $id, name: \"orghub clone\"}) { id } }", json!({ "id": id }))
        .await;
    assert_eq!(rule(&body), ("name", "RESERVED_NAME"));
}

#[tokio::test]
async fn create_organizations_keeps_the_good_rows() {
    let app = spawn_app().await;
    let body = app
        .gql(
            &app.admin,
            "mutation($os: [OrganizationInput!]!) { createOrganizations(organizations: $os) { name } }",
            json!({ "os": [{ "name": "One" }, { "name": "" }, { "name": "Two" }, { "name": "one" }] }),
        )
        .await;
    let list = &body["data"]["createOrganizations"];
    assert_eq!(list[0]["name"], "One");
    assert_eq!(list[1], serde_json::Value::Null);
    assert_eq!(list[2]["name"], "Two");
    assert_eq!(list[3], serde_json::Value::Null);
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{body}");
    assert_eq!(errors[0]["path"], json!(["createOrganizations", 1]));
    assert_eq!(errors[0]["extensions"]["validationCode"], "REQUIRED_FIELD");
    assert_eq!(errors[0]["extensions"]["field"], "organizations.1.name");
    assert_eq!(errors[1]["path"], json!(["createOrganizations", 3]));
    assert_eq!(
        errors[1]["extensions"]["validationCode"],
        "DUPLICATE_IN_DATABASE"
    );
}

#[tokio::test]
async fn bulk_create_is_all_or_nothing() {
    let app = spawn_app().await;
    let bulk = "mutation($os: [OrganizationInput!]!) { bulkCreateOrganizations(organizations: $os) { name orgSlug } }";
    let body = app.gql(&app.admin, bulk, json!({ "os": [{ "name": "A1" }, { "name": "a1" }, { "name": "A3", "domain": "x.com" }, { "name": "A4", "domain": "X.com" }] })).await;
    let errors: Vec<(String, String)> = body["errors"][0]["extensions"]["validationErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            ("organizations.1.name".into(), "DUPLICATE_IN_FILE".into()),
            (
                "organizations.3.domain".into(),
                "DUPLICATE_DOMAIN_IN_FILE".into()
            )
        ]
    );
    let list = app
        .ok(&app.admin, "{ organizations { name } }", json!({}))
        .await;
    assert_eq!(
        names(&list["organizations"]),
        ["Acme MSP"],
        "nothing was created"
    );

    let data = app
        .ok(
            &app.admin,
            bulk,
            json!({ "os": [{ "name": "B One" }, { "name": "B-One" }, { "name": "C" }] }),
        )
        .await;
    assert_eq!(
        data["bulkCreateOrganizations"],
        json!([
            { "name": "B One", "orgSlug": "b-one" }, { "name": "B-One", "orgSlug": "b-one-2" }, { "name": "C", "orgSlug": "c" }
        ])
    );
}

#[tokio::test]
async fn roles_gate_writes() {
    let app = spawn_app().await;
    for role in [Role::ReadOnly, Role::Forms] {
        let (_, token) = app.user(&app.msp_id, role, false).await;
        let body = app
            .gql(
                &token,
                CREATE,
                json!({ "o": { "name": format!("By {}", role.as_str()) } }),
            )
            .await;
        assert_eq!(code(&body), "FORBIDDEN", "{role:?}");
        // Reading is fine.
        app.ok(&token, "{ organizations { id } }", json!({})).await;
    }
    let (_, member) = app.user(&app.msp_id, Role::Member, false).await;
    let data = app
        .ok(&member, CREATE, json!({ "o": { "name": "By member" } }))
        .await;
    let id = data["createOrganization"]["id"].as_str().unwrap();
    let body = app
        .gql(&member, "mutation($id: ID!) { updateOrganization(organization: {id: $id, resultsRetentionDays: 7}) { id } }", json!({ "id": id }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "a member cannot change retention");
    let body = app
        .gql(
            &member,
            "mutation($id: ID!) { deleteOrganization(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "a member cannot delete");
    let body = app
        .gql(&member, "mutation($id: ID!) { updateManagedAndSubOrganizations(organization: {id: $id, resultsRetentionDays: 7}) }", json!({ "id": id }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    // A member may rename.
    app.ok(&member, "mutation($id: ID!) { updateOrganization(organization: {id: $id, name: \"Renamed\"}) { id } }", json!({ "id": id })).await;
}
