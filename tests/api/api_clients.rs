//! API clients: created by admins, exchanged at `POST /oauth/token` for short-lived
//! tokens acting with the client's role; rotation and deletion revoke at once.
use orghub::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, code, rule, spawn_app};

const CREATE: &str = "mutation($i: CreateApiClientInput!) { createOrganizationApiClient(input: $i) {
    id name description auth0ClientId auth0ClientSecret clientType orgId impersonationUserId
    impersonationUser { username isApiUser roleIds } organization { name } secretRotatedAt createdAt } }";

async fn create(
    app: &TestApp,
    org: &str,
    name: &str,
    role: Option<&str>,
) -> (String, String, String) {
    let data = app
        .ok(
            &app.admin,
            CREATE,
            json!({ "i": { "orgId": org, "name": name, "roleId": role } }),
        )
        .await;
    let c = &data["createOrganizationApiClient"];
    (
        c["id"].as_str().unwrap().into(),
        c["auth0ClientId"].as_str().unwrap().into(),
        c["auth0ClientSecret"].as_str().unwrap().into(),
    )
}

async fn exchange(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let res = app
        .client
        .post(app.url("/oauth/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    assert_eq!(
        res.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("no-store")
    );
    (status, res.json().await.unwrap())
}

async fn token(app: &TestApp, client_id: &str, secret: &str) -> String {
    let (status, body) = exchange(
        app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_client_gets_tokens_that_act_with_its_role() {
    let app = spawn_app().await;
    let data = app.ok(&app.admin, CREATE, json!({ "i": { "orgId": app.msp_id, "name": "  PSA sync ", "description": "nightly" } })).await;
    let c = &data["createOrganizationApiClient"];
    assert_eq!(c["name"], "PSA sync");
    assert_eq!(c["clientType"], "ORGANIZATION");
    assert_eq!(c["impersonationUser"]["isApiUser"], true);
    assert_eq!(
        c["impersonationUser"]["roleIds"],
        json!(["member"]),
        "member unless set"
    );
    assert_eq!(c["organization"]["name"], "Acme MSP");
    assert_eq!(c["secretRotatedAt"], Value::Null);
    let (id, client_id, secret) = (
        c["id"].as_str().unwrap(),
        c["auth0ClientId"].as_str().unwrap(),
        c["auth0ClientSecret"].as_str().unwrap(),
    );
    assert!(client_id.starts_with("ohc_") && secret.starts_with("ohs_") && secret.len() > 60);

    let t = token(&app, client_id, secret).await;
    let me = app
        .ok(
            &t,
            "{ me { isApiUser isTokenUser roleIds tokenApiClient { id name } parentUsername } }",
            json!({}),
        )
        .await;
    assert_eq!(me["me"]["isApiUser"], true);
    assert_eq!(me["me"]["tokenApiClient"]["id"], id);
    assert_eq!(me["me"]["parentUsername"], "admin@acme.test");
    // As a member: may create organizations, may not change retention.
    let org = app.create_org(&t, "Made by a script", &app.msp_id).await;
    let body = app
        .gql(&t, "mutation($id: ID!) { updateOrganization(organization: {id: $id, resultsRetentionDays: 5}) { id } }", json!({ "id": org }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN");

    // HTTP Basic works too.
    let res = app
        .client
        .post(app.url("/oauth/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // The secret is never shown again.
    let body = app
        .gql(
            &app.admin,
            "query($id: ID!) { apiClient(id: $id) { auth0ClientSecret } }",
            json!({ "id": id }),
        )
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("auth0ClientSecret"),
        "{body}"
    );

    // An admin client, on request.
    let (_, admin_client, admin_secret) =
        create(&app, &app.msp_id, "Admin bot", Some("admin")).await;
    let t = token(&app, &admin_client, &admin_secret).await;
    assert_eq!(
        app.ok(&t, "{ me { roleIds } }", json!({})).await["me"]["roleIds"],
        json!(["admin"])
    );
    let body = app
        .gql(
            &app.admin,
            CREATE,
            json!({ "i": { "orgId": app.msp_id, "name": "x", "roleId": "owner" } }),
        )
        .await;
    assert_eq!(rule(&body), ("roleId", "INVALID_FORMAT"));
    let body = app
        .gql(
            &app.admin,
            CREATE,
            json!({ "i": { "orgId": app.msp_id, "name": " " } }),
        )
        .await;
    assert_eq!(rule(&body), ("name", "REQUIRED_FIELD"));
}

#[tokio::test]
async fn the_token_endpoint_speaks_rfc_6749() {
    let app = spawn_app().await;
    let (_, client_id, secret) = create(&app, &app.msp_id, "Bot", None).await;
    type Case<'a> = (&'a [(&'a str, &'a str)], u16, &'a str);
    let cases: [Case; 5] = [
        (
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", "ohs_wrong"),
            ],
            401,
            "invalid_client",
        ),
        (
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "ohc_unknown"),
                ("client_secret", &secret),
            ],
            401,
            "invalid_client",
        ),
        (
            &[("grant_type", "client_credentials")],
            401,
            "invalid_client",
        ),
        (
            &[
                ("grant_type", "password"),
                ("client_id", &client_id),
                ("client_secret", &secret),
            ],
            400,
            "unsupported_grant_type",
        ),
        (
            &[("client_id", &client_id), ("client_secret", &secret)],
            400,
            "invalid_request",
        ),
    ];
    for (form, status, error) in cases {
        let (got, body) = exchange(&app, form).await;
        assert_eq!(
            (got, body["error"].as_str().unwrap()),
            (status, error),
            "{form:?}"
        );
    }
    let res = app
        .client
        .post(app.url("/oauth/token"))
        .json(&json!({ "grant_type": "client_credentials" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
}

#[tokio::test]
async fn rotating_or_deleting_revokes_at_once() {
    let app = spawn_app().await;
    let (id, client_id, secret) = create(&app, &app.msp_id, "Bot", None).await;
    let old_token = token(&app, &client_id, &secret).await;
    app.ok(&old_token, "{ me { id } }", json!({})).await;

    let data = app
        .ok(&app.admin, "mutation($id: ID!) { rotateApiClientSecret(id: $id) { id auth0ClientId auth0ClientSecret secretRotatedAt } }", json!({ "id": id }))
        .await;
    let rotation = &data["rotateApiClientSecret"];
    assert_eq!(rotation["auth0ClientId"], client_id.as_str());
    assert!(
        rotation["secretRotatedAt"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    let new_secret = rotation["auth0ClientSecret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    let (status, _) = exchange(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(status, 401, "the old secret is revoked");
    let body = app.gql(&old_token, "{ me { id } }", json!({})).await;
    assert_eq!(
        code(&body),
        "UNAUTHENTICATED",
        "tokens of the old secret are revoked"
    );
    let new_token = token(&app, &client_id, new_secret).await;
    app.ok(&new_token, "{ me { id } }", json!({})).await;

    let data = app
        .ok(
            &app.admin,
            "mutation($id: ID!) { deleteOrganizationApiClient(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data["deleteOrganizationApiClient"], true);
    assert_eq!(
        code(&app.gql(&new_token, "{ me { id } }", json!({})).await),
        "UNAUTHENTICATED"
    );
    let (status, _) = exchange(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", new_secret),
        ],
    )
    .await;
    assert_eq!(status, 401);

    let log = app
        .ok(
            &app.admin,
            "query($o: ID!) { permissionAuditLog(orgId: $o) { action } }",
            json!({ "o": app.msp_id }),
        )
        .await;
    let actions: Vec<&str> = log["permissionAuditLog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "api_client.delete",
            "api_client.rotate_secret",
            "api_client.create"
        ]
    );
}

#[tokio::test]
async fn listing_updating_and_who_may() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for name in ["One", "Two", "Three"] {
        ids.push(create(&app, &app.msp_id, name, None).await.0);
    }
    let list = "query($o: ID!, $p: ApiClientListInput) { organizationApiClients(orgId: $o, pagination: $p) { totalCount hasMore apiClients { name } } }";
    let data = app
        .ok(
            &app.admin,
            list,
            json!({ "o": app.msp_id, "p": { "limit": 2 } }),
        )
        .await;
    assert_eq!(data["organizationApiClients"]["totalCount"], 3);
    assert_eq!(data["organizationApiClients"]["hasMore"], true);
    assert_eq!(
        data["organizationApiClients"]["apiClients"],
        json!([{ "name": "One" }, { "name": "Two" }])
    );
    let data = app
        .ok(
            &app.admin,
            list,
            json!({ "o": app.msp_id, "p": { "limit": 2, "offset": 2 } }),
        )
        .await;
    assert_eq!(data["organizationApiClients"]["hasMore"], false);

    let update = "mutation($i: UpdateApiClientInput!) { updateOrganizationApiClient(input: $i) { name description } }";
    let data = app
        .ok(
            &app.admin,
            update,
            json!({ "i": { "id": ids[0], "name": "Uno", "description": "first" } }),
        )
        .await;
    assert_eq!(
        data["updateOrganizationApiClient"],
        json!({ "name": "Uno", "description": "first" })
    );
    let data = app
        .ok(
            &app.admin,
            update,
            json!({ "i": { "id": ids[0], "description": null } }),
        )
        .await;
    assert_eq!(
        data["updateOrganizationApiClient"],
        json!({ "name": "Uno", "description": null })
    );

    // The client's user is managed through the client, not as a user.
    let user_id = app
        .ok(
            &app.admin,
            "query($id: ID!) { apiClient(id: $id) { impersonationUserId } }",
            json!({ "id": ids[1] }),
        )
        .await["apiClient"]["impersonationUserId"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = app
        .gql(
            &app.admin,
            "mutation($id: ID!) { deleteUser(id: $id) }",
            json!({ "id": user_id }),
        )
        .await;
    assert_eq!(rule(&body), ("id", "NOT_UPDATABLE"));

    let (_, member) = app.user(&app.msp_id, Role::Member, false).await;
    let (_, other_admin) = app.other_msp("Globex").await;
    let missing = "0191f1c6-0000-7000-8000-000000000000";
    for token in [&member, &other_admin] {
        for (query, vars) in [
            (list, json!({ "o": app.msp_id })),
            (
                "query($id: ID!) { apiClient(id: $id) { id } }",
                json!({ "id": ids[2] }),
            ),
            (
                "mutation($id: ID!) { rotateApiClientSecret(id: $id) { id } }",
                json!({ "id": ids[2] }),
            ),
            (
                "mutation($id: ID!) { deleteOrganizationApiClient(id: $id) }",
                json!({ "id": ids[2] }),
            ),
            (update, json!({ "i": { "id": ids[2], "name": "Mine" } })),
            (
                CREATE,
                json!({ "i": { "orgId": app.msp_id, "name": "Sneaky" } }),
            ),
        ] {
            assert_eq!(
                code(&app.gql(token, query, vars).await),
                "FORBIDDEN",
                "{query}"
            );
        }
    }
    let body = app
        .gql(
            &other_admin,
            "query($id: ID!) { apiClient(id: $id) { id } }",
            json!({ "id": missing }),
        )
        .await;
    assert_eq!(
        code(&body),
        "FORBIDDEN",
        "missing looks the same as not yours"
    );
}
