//! Who may do what: tenants never see each other, the same FORBIDDEN for "not yours"
//! and "does not exist", roles, and authentication failures.
use std::time::Duration;

use orghub::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, code, names, spawn_app};

/// What a FORBIDDEN error looks like, minus its location.
fn forbidden_shape(body: &Value) -> (String, String) {
    let e = &body["errors"][0];
    (
        e["message"].as_str().unwrap_or("").to_owned(),
        e["extensions"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

async fn two_tenants(app: &TestApp) -> (String, String, String) {
    let (other_msp, other_admin) = app.other_msp("Globex MSP").await;
    let other_client = app
        .create_org(&other_admin, "Globex Client", &other_msp)
        .await;
    (other_msp, other_admin, other_client)
}

#[tokio::test]
async fn a_tenant_cannot_read_or_write_another_tree() {
    let app = spawn_app().await;
    let (other_msp, other_admin, other_client) = two_tenants(&app).await;
    let mine = app.create_org(&app.admin, "Mine", &app.msp_id).await;
    let missing = "0191f1c6-0000-7000-8000-000000000000";

    let calls = [
        "query($id: ID) { organization(where: {id: $id}) { name } }",
        "query($id: ID) { organizations(where: {id: $id}) { name } }",
        "query($id: ID!) { managedAndSubOrganizations(parentOrgId: $id) { name } }",
        "query($id: ID!) { softDeletedOrgs(managingOrgId: $id) { name } }",
        "query($id: ID!) { orgSearch(rootOrgId: $id, breadcrumbRootOrgId: $id) { name } }",
        "query($id: ID!, $mine: ID!) { orgBreadcrumb(orgId: $id, rootOrgId: $mine) { name } }",
        "query($id: ID!, $mine: ID!) { isOrgManagedBy(orgId: $mine, parentOrgId: $id) }",
        "mutation($id: ID!) { updateOrganization(organization: {id: $id, name: \"Mine now\"}) { id } }",
        "mutation($id: ID!) { updateManagedAndSubOrganizations(organization: {id: $id, resultsRetentionDays: 3}) }",
        "mutation($id: ID!) { deleteOrganization(id: $id) }",
        "mutation($id: ID!) { bulkDeleteOrganizations(organizationIds: [$id]) }",
        "mutation($id: ID!) { restoreOrganization(id: $id) { id } }",
        "mutation($id: ID) { createOrganization(organization: {name: \"Sneaky\", managingOrgId: $id}) { id } }",
        "mutation($id: ID) { createOrganizations(organizations: [{name: \"Sneaky\", managingOrgId: $id}]) { id } }",
        "mutation($id: ID) { bulkCreateOrganizations(organizations: [{name: \"Sneaky\", managingOrgId: $id}]) { id } }",
    ];
    // The other tenant's admin (not staff) against our tree.
    for query in calls {
        let theirs = app
            .gql(
                &other_admin,
                query,
                json!({ "id": mine, "mine": other_client }),
            )
            .await;
        let nothing = app
            .gql(
                &other_admin,
                query,
                json!({ "id": missing, "mine": other_client }),
            )
            .await;
        assert_eq!(code(&theirs), "FORBIDDEN", "{query}: {theirs}");
        assert_eq!(
            forbidden_shape(&theirs),
            forbidden_shape(&nothing),
            "{query}: existing and missing look the same"
        );
    }
    let check = app
        .ok(
            &other_admin,
            "query($id: ID!) { checkUserManagesOrg(orgId: $id) }",
            json!({ "id": mine }),
        )
        .await;
    assert_eq!(check["checkUserManagesOrg"], false);

    // Lists and searches never show the other tree.
    let data = app
        .ok(&other_admin, "{ organizations { name } myAccessibleOrganizations { name } searchManagedOrgs(input: {}) { name } userOrganization { name } }", json!({}))
        .await;
    assert_eq!(
        names(&data["organizations"]),
        ["Globex Client", "Globex MSP"]
    );
    assert_eq!(
        names(&data["myAccessibleOrganizations"]),
        ["Globex Client", "Globex MSP"]
    );
    assert_eq!(names(&data["searchManagedOrgs"]), ["Globex Client"]);
    let data = app
        .ok(
            &other_admin,
            "{ organizations(where: {users: {username: \"admin@acme.test\"}}) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(data["organizations"], json!([]));
    // Names are unique per tree, not across trees.
    app.create_org(&other_admin, "Mine", &other_msp).await;
    // Nothing of theirs changed.
    let data = app
        .ok(
            &app.admin,
            "query($id: ID) { organization(where: {id: $id}) { name isDeleted } }",
            json!({ "id": mine }),
        )
        .await;
    assert_eq!(
        data["organization"],
        json!({ "name": "Mine", "isDeleted": false })
    );
}

#[tokio::test]
async fn staff_see_every_tree() {
    let app = spawn_app().await;
    let (_, _, other_client) = two_tenants(&app).await;
    let data = app
        .ok(
            &app.admin,
            "query($id: ID) { organization(where: {id: $id}) { name } }",
            json!({ "id": other_client }),
        )
        .await;
    assert_eq!(data["organization"]["name"], "Globex Client");
}

#[tokio::test]
async fn a_customer_user_sees_only_their_org_and_below() {
    let app = spawn_app().await;
    let client = app.create_org(&app.admin, "Client", &app.msp_id).await;
    let site = app.create_org(&app.admin, "Client Site", &client).await;
    let sibling = app.create_org(&app.admin, "Sibling", &app.msp_id).await;
    let (_, member) = app.user(&client, Role::Member, false).await;
    let data = app.ok(&member, "{ organizations { name managingOrg { name } } userOrganization { name managingOrgId managingOrg { name } } }", json!({})).await;
    assert_eq!(names(&data["organizations"]), ["Client", "Client Site"]);
    assert_eq!(
        data["userOrganization"]["managingOrg"],
        Value::Null,
        "the MSP above is out of reach"
    );
    assert_eq!(
        data["userOrganization"]["managingOrgId"],
        app.msp_id.as_str()
    );
    for id in [&app.msp_id, &sibling] {
        let body = app
            .gql(
                &member,
                "query($id: ID) { organization(where: {id: $id}) { name } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(code(&body), "FORBIDDEN");
    }
    // They may create below their own org, not beside it.
    let id = app.create_org(&member, "Client Branch", &client).await;
    let data = app
        .ok(
            &member,
            "query($id: ID) { organization(where: {id: $id}) { managingOrg { name } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data["organization"]["managingOrg"]["name"], "Client");
    let body = app.gql(&member, "mutation($p: ID) { createOrganization(organization: {name: \"X\", managingOrgId: $p}) { id } }", json!({ "p": app.msp_id })).await;
    assert_eq!(code(&body), "FORBIDDEN");
    let _ = site;
}

#[tokio::test]
async fn authentication_failures() {
    let app = spawn_app().await;
    let q = "{ organizations { name } }";
    assert_eq!(code(&app.gql("", q, json!({})).await), "UNAUTHENTICATED");
    assert_eq!(
        code(&app.gql("not-a-jwt", q, json!({})).await),
        "UNAUTHENTICATED"
    );

    // A token signed with another secret, or for another audience.
    let other = orghub::auth::TokenService::new(
        b"another-secret-another-secret-another",
        None,
        "orghub".into(),
        "orghub".into(),
    )
    .unwrap();
    let (user_id, _) = app.user(&app.msp_id, Role::Member, false).await;
    let forged = other
        .mint(user_id, "x@y.z", Duration::from_secs(60))
        .unwrap();
    assert_eq!(
        code(&app.gql(&forged, q, json!({})).await),
        "UNAUTHENTICATED"
    );
    let secret = app
        .config
        .jwt_secret
        .as_ref()
        .unwrap()
        .expose()
        .as_bytes()
        .to_vec();
    let wrong_aud =
        orghub::auth::TokenService::new(&secret, None, "orghub".into(), "someone-else".into())
            .unwrap();
    let token = wrong_aud
        .mint(user_id, "x@y.z", Duration::from_secs(60))
        .unwrap();
    assert_eq!(
        code(&app.gql(&token, q, json!({})).await),
        "UNAUTHENTICATED"
    );

    // A valid token whose user is gone.
    let ghost = app
        .state
        .auth
        .tokens
        .mint(
            uuid::Uuid::now_v7(),
            "ghost@acme.test",
            Duration::from_secs(60),
        )
        .unwrap();
    let body = app.gql(&ghost, q, json!({})).await;
    assert_eq!(code(&body), "UNAUTHENTICATED");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("ask an admin")
    );

    // Introspection needs no token (tooling relies on it).
    let data = app
        .ok("", "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(data["__schema"]["queryType"]["name"], "Query");
}

#[tokio::test]
async fn rs256_tokens_from_the_configured_key_are_accepted() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api/fixtures");
    let mut config = crate::helpers::test_config(crate::helpers::fresh_database_url().await);
    config.jwt_public_key_file = Some(fixtures.join("rs256-public.pem"));
    let app = crate::helpers::spawn_with(config).await;
    let (user_id, hs256) = app.user(&app.msp_id, Role::ReadOnly, false).await;

    let sign = |key_file: &str, aud: &str, exp_in: i64| {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({ "sub": user_id.to_string(), "iss": "orghub", "aud": aud, "iat": now, "exp": now + exp_in });
        let pem = std::fs::read(fixtures.join(key_file)).unwrap();
        jsonwebtoken::encode(
            &Header::new(Algorithm::RS256),
            &claims,
            &EncodingKey::from_rsa_pem(&pem).unwrap(),
        )
        .unwrap()
    };
    let q = "{ me { roleIds } }";
    assert_eq!(
        app.ok(&sign("rs256-private.pem", "orghub", 300), q, json!({}))
            .await["me"]["roleIds"],
        json!(["read_only"])
    );
    assert_eq!(
        app.ok(&hs256, q, json!({})).await["me"]["roleIds"],
        json!(["read_only"]),
        "HS256 keeps working"
    );
    for bad in [
        sign("rs256-other-private.pem", "orghub", 300),
        sign("rs256-private.pem", "elsewhere", 300),
        sign("rs256-private.pem", "orghub", -600),
    ] {
        assert_eq!(code(&app.gql(&bad, q, json!({})).await), "UNAUTHENTICATED");
    }
}
