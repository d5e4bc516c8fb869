//! Packs (the catalog), installations, tags on packs, and pack configs with secrets.
use orghub::auth::Role;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, code, names, rule, spawn_app};

const CREATE: &str = "mutation($c: PackConfigCreateInput!) { createPackConfig(packConfig: $c) { id name default config missingFields packId pack { name } organization { name } } }";
const UPDATE: &str = "mutation($c: PackConfigUpdateInput!) { updatePackConfig(packConfig: $c) { id name default config } }";

fn cw_config() -> Value {
    json!({ "hostname": "na.myconnectwise.net", "company_id": "acme", "public_key": "pub", "private_key": "s3cr3t-key", "client_id": "cid",
            "company_conditions": "status/name = \"Active\" and type/name != 'Vendor'" })
}

async fn create(app: &TestApp, token: &str, org: &str, name: &str, default: Option<bool>) -> Value {
    app.ok(token, CREATE, json!({ "c": { "orgId": org, "packId": "connectwise-psa", "name": name, "config": cw_config(), "default": default } }))
        .await["createPackConfig"]
        .clone()
}

#[tokio::test]
async fn the_catalog_and_installations() {
    let app = spawn_app().await;
    let data = app
        .ok(
            &app.admin,
            "{ packs { id name ref packType status } }",
            json!({}),
        )
        .await;
    assert_eq!(
        names(&data["packs"]),
        ["ConnectWise PSA", "Datto Autotask PSA", "HaloPSA"]
    );
    let cw = app
        .ok(&app.admin, "{ pack(where: {ref: \"connectwise_psa\"}) { id configSchema orgVariables setupInstructions } }", json!({}))
        .await["pack"]
        .clone();
    assert_eq!(cw["id"], "connectwise-psa");
    assert_eq!(
        cw["configSchema"]["properties"]["private_key"]["x-secret"],
        true
    );
    assert!(
        cw["configSchema"]["required"]
            .as_array()
            .unwrap()
            .contains(&json!("client_id"))
    );
    assert_eq!(cw["orgVariables"][0]["name"], "cw_manage_company_id");
    let data = app
        .ok(
            &app.admin,
            "{ packs(search: {name: {_ilike: \"%psa\"}}, order: [[\"name\", \"DESC\"]]) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(
        names(&data["packs"]),
        ["HaloPSA", "Datto Autotask PSA", "ConnectWise PSA"]
    );

    let client = app.create_org(&app.admin, "Client", &app.msp_id).await;
    let install = "mutation($o: ID!, $p: ID!) { installPack(orgId: $o, packId: $p) { installedPacks { name } } }";
    let data = app
        .ok(
            &app.admin,
            install,
            json!({ "o": app.msp_id, "p": "connectwise-psa" }),
        )
        .await;
    assert_eq!(
        names(&data["installPack"]["installedPacks"]),
        ["ConnectWise PSA"]
    );
    app.ok(
        &app.admin,
        install,
        json!({ "o": app.msp_id, "p": "connectwise-psa" }),
    )
    .await; // idempotent
    assert_eq!(
        rule(
            &app.gql(&app.admin, install, json!({ "o": app.msp_id, "p": "nope" }))
                .await
        ),
        ("packId", "NOT_FOUND")
    );
    let data = app
        .ok(
            &app.admin,
            "query($o: ID) { packsForOrg(orgId: $o) { name installedBy { name } } }",
            json!({ "o": client }),
        )
        .await;
    assert_eq!(
        names(&data["packsForOrg"]),
        ["ConnectWise PSA"],
        "installed above the client"
    );
    assert_eq!(names(&data["packsForOrg"][0]["installedBy"]), ["Acme MSP"]);
    let data = app
        .ok(
            &app.admin,
            "{ integrations { name numInstalled tags { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["integrations"][0],
        json!({ "name": "ConnectWise PSA", "numInstalled": 1, "tags": [{ "name": "PSA" }] })
    );

    // Uninstalling keeps the configs: a reinstall finds them.
    create(&app, &app.admin, &app.msp_id, "Main", None).await;
    let uninstall = "mutation($o: [ID!], $p: ID!) { uninstallPack(orgIds: $o, packId: $p) }";
    app.ok(
        &app.admin,
        uninstall,
        json!({ "o": [app.msp_id], "p": "connectwise-psa" }),
    )
    .await;
    let data = app
        .ok(
            &app.admin,
            "query($o: ID) { packsForOrg(orgId: $o) { name } }",
            json!({ "o": client }),
        )
        .await;
    assert_eq!(data["packsForOrg"], json!([]));
    app.ok(
        &app.admin,
        install,
        json!({ "o": app.msp_id, "p": "connectwise-psa" }),
    )
    .await;
    let data = app.ok(&app.admin, "query($o: ID!) { packConfigsForOrg(orgId: $o, packIds: [\"connectwise-psa\"]) { name } }", json!({ "o": client })).await;
    assert_eq!(names(&data["packConfigsForOrg"]), ["Main"]);

    // Tags on packs, both ways.
    let tag = app
        .ok(
            &app.admin,
            "mutation($o: ID!) { createTag(tag: {orgId: $o, name: \"Core stack\"}) { id } }",
            json!({ "o": app.msp_id }),
        )
        .await;
    let tag = tag["createTag"]["id"].as_str().unwrap().to_owned();
    let data = app.ok(&app.admin, "mutation($t: [ID!]!) { setPackTags(packId: \"halopsa\", tagIds: $t) { tags { name } } }", json!({ "t": [tag] })).await;
    assert_eq!(names(&data["setPackTags"]["tags"]), ["Core stack"]);
    let data = app
        .ok(
            &app.admin,
            "query($t: ID) { tag(where: {id: $t}) { packs { name } } }",
            json!({ "t": tag }),
        )
        .await;
    assert_eq!(names(&data["tag"]["packs"]), ["HaloPSA"]);
}

#[tokio::test]
async fn configs_keep_secrets_encrypted_redacted_and_kept_on_update() {
    let app = spawn_app().await;
    let main = create(&app, &app.admin, &app.msp_id, "Main", None).await;
    assert_eq!(main["default"], true, "the first config is the default");
    assert_eq!(main["config"]["private_key"], "********");
    assert_eq!(main["config"]["public_key"], "pub");
    assert_eq!(main["missingFields"], json!([]));
    let id = main["id"].as_str().unwrap().to_owned();

    let backend = app.state.store.db.get_database_backend();
    let stored = |app: &TestApp| {
        let db = app.state.store.db.clone();
        async move {
            let row = db
                .query_one_raw(Statement::from_string(
                    backend,
                    "SELECT config FROM pack_configs WHERE name = 'Main'",
                ))
                .await
                .unwrap()
                .unwrap();
            let v: Value = row.try_get("", "config").unwrap();
            v
        }
    };
    let at_rest = stored(&app).await;
    assert!(
        at_rest["private_key"].as_str().unwrap().starts_with("v1:")
            && !at_rest.to_string().contains("s3cr3t-key")
    );

    // Omitting the secret, or sending the mask back, keeps it; null clears a plain field.
    app.ok(&app.admin, UPDATE, json!({ "c": { "id": id, "config": { "public_key": "pub2", "private_key": "********", "member_id": null } } })).await;
    let cfg = orghub::domain::pack_configs::by_ids(
        &app.state.store,
        &[uuid::Uuid::parse_str(&id).unwrap()],
    )
    .await
    .unwrap_or_default();
    let clear =
        orghub::domain::pack_configs::clear_config(&app.state.store, cfg.values().next().unwrap())
            .unwrap();
    assert_eq!(
        (clear["private_key"].as_str(), clear["public_key"].as_str()),
        ("s3cr3t-key", "pub2")
    );
    app.ok(
        &app.admin,
        UPDATE,
        json!({ "c": { "id": id, "config": { "private_key": "rotated" } } }),
    )
    .await;
    let cfg = orghub::domain::pack_configs::by_ids(
        &app.state.store,
        &[uuid::Uuid::parse_str(&id).unwrap()],
    )
    .await
    .unwrap_or_default();
    assert_eq!(
        orghub::domain::pack_configs::clear_config(&app.state.store, cfg.values().next().unwrap())
            .unwrap()["private_key"],
        "rotated"
    );

    for (config, field) in [
        (json!({ "password": "x" }), "config.password"),
        (
            json!({ "hostname": "https://na.myconnectwise.net/" }),
            "config.hostname",
        ),
        (
            json!({ "company_conditions": "name = \"unclosed" }),
            "config.company_conditions",
        ),
        (json!({ "client_id": 42 }), "config.client_id"),
    ] {
        let body = app
            .gql(
                &app.admin,
                UPDATE,
                json!({ "c": { "id": id, "config": config } }),
            )
            .await;
        assert_eq!(rule(&body), (field, "INVALID_FORMAT"), "{config}");
    }
    let body = app
        .gql(
            &app.admin,
            CREATE,
            json!({ "c": { "orgId": app.msp_id, "packId": "connectwise-psa", "name": "main" } }),
        )
        .await;
    assert_eq!(rule(&body), ("name", "DUPLICATE_IN_DATABASE"));

    // An incomplete config is saved and says what it lacks.
    let partial = app.ok(&app.admin, CREATE, json!({ "c": { "orgId": app.msp_id, "packId": "halopsa", "name": "Halo", "config": { "client_id": "x" } } })).await;
    assert_eq!(
        partial["createPackConfig"]["missingFields"],
        json!(["resource_server_url", "client_secret"])
    );

    // Exactly one default.
    let second = create(&app, &app.admin, &app.msp_id, "Second", Some(true)).await;
    assert_eq!(second["default"], true);
    let list = app
        .ok(
            &app.admin,
            "{ packConfigs(where: {packId: \"connectwise-psa\"}) { name default } }",
            json!({}),
        )
        .await;
    assert_eq!(
        list["packConfigs"],
        json!([{ "name": "Main", "default": false }, { "name": "Second", "default": true }])
    );
    let body = app
        .gql(
            &app.admin,
            UPDATE,
            json!({ "c": { "id": second["id"], "default": false } }),
        )
        .await;
    assert_eq!(rule(&body), ("default", "NOT_UPDATABLE"));
    app.ok(
        &app.admin,
        "mutation($id: ID!, $o: ID!) { deletePackConfig(id: $id, orgId: $o) }",
        json!({ "id": second["id"], "o": app.msp_id }),
    )
    .await;
    let list = app
        .ok(
            &app.admin,
            "{ packConfigs(where: {packId: \"connectwise-psa\"}) { name default } }",
            json!({}),
        )
        .await;
    assert_eq!(
        list["packConfigs"],
        json!([{ "name": "Main", "default": true }]),
        "the remaining one became the default"
    );
}

#[tokio::test]
async fn variables_point_at_configs_of_their_tree() {
    let app = spawn_app().await;
    let client = app.create_org(&app.admin, "Client", &app.msp_id).await;
    let sibling = app.create_org(&app.admin, "Sibling", &app.msp_id).await;
    let msp_config = create(&app, &app.admin, &app.msp_id, "Main", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sibling_config = create(&app, &app.admin, &sibling, "Theirs", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let var = "mutation($v: OrgVariableCreateInput!) { createOrgVariable(orgVariable: $v) { id packConfig { name } } }";
    let data = app
        .ok(&app.admin, var, json!({ "v": { "orgId": client, "name": "cw_manage_company_id", "value": "250", "category": "system", "cascade": false, "packConfigId": msp_config } }))
        .await;
    assert_eq!(data["createOrgVariable"]["packConfig"]["name"], "Main");
    let body = app
        .gql(&app.admin, var, json!({ "v": { "orgId": client, "name": "other", "value": "1", "cascade": false, "packConfigId": sibling_config } }))
        .await;
    assert_eq!(rule(&body), ("packConfigId", "NOT_FOUND"));
    let found = app
        .ok(
            &app.admin,
            "query($c: ID) { orgVariables(where: {packConfig: {id: $c}}) { name } }",
            json!({ "c": msp_config }),
        )
        .await;
    assert_eq!(
        found["orgVariables"],
        json!([{ "name": "cw_manage_company_id" }])
    );
    let data = app.ok(&app.admin, "query($c: ID) { packConfig(where: {id: $c}) { orgVariables { name } visibleForOrganizations { name } } }", json!({ "c": msp_config })).await;
    assert_eq!(
        names(&data["packConfig"]["orgVariables"]),
        ["cw_manage_company_id"]
    );
    assert_eq!(
        names(&data["packConfig"]["visibleForOrganizations"]),
        ["Acme MSP", "Client", "Sibling"]
    );
    // Deleting the config keeps the value, without the link.
    app.ok(
        &app.admin,
        "mutation($id: ID!, $o: ID!) { deletePackConfig(id: $id, orgId: $o) }",
        json!({ "id": msp_config, "o": app.msp_id }),
    )
    .await;
    let data = app
        .ok(
            &app.admin,
            "{ orgVariables(where: {name: \"cw_manage_company_id\"}) { value packConfigId } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["orgVariables"],
        json!([{ "value": "250", "packConfigId": null }])
    );
}

#[tokio::test]
async fn who_may_see_and_change_configs() {
    let app = spawn_app().await;
    let client = app.create_org(&app.admin, "Client", &app.msp_id).await;
    let id = create(&app, &app.admin, &app.msp_id, "Main", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, reader) = app.user(&client, Role::ReadOnly, false).await;
    let (_, member) = app.user(&app.msp_id, Role::Member, false).await;
    // A client user sees the MSP's config (the client uses it), secrets redacted, and cannot change it.
    let data = app
        .ok(
            &reader,
            "query($c: ID) { packConfig(where: {id: $c}) { name config } }",
            json!({ "c": id }),
        )
        .await;
    assert_eq!(data["packConfig"]["config"]["private_key"], "********");
    assert_eq!(
        code(
            &app.gql(
                &reader,
                UPDATE,
                json!({ "c": { "id": id, "name": "Mine" } })
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
                json!({ "c": { "orgId": client, "packId": "halopsa", "name": "x" } })
            )
            .await
        ),
        "FORBIDDEN"
    );
    app.ok(
        &member,
        UPDATE,
        json!({ "c": { "id": id, "name": "Renamed" } }),
    )
    .await;

    let (_, other) = app.other_msp("Globex").await;
    let missing = "0191f1c6-0000-7000-8000-000000000000";
    for (query, vars, none) in [
        (
            "query($c: ID) { packConfig(where: {id: $c}) { name } }",
            json!({ "c": id }),
            json!({ "c": missing }),
        ),
        (
            UPDATE,
            json!({ "c": { "id": id, "name": "x" } }),
            json!({ "c": { "id": missing, "name": "x" } }),
        ),
        (
            "mutation($id: ID!, $o: ID!) { deletePackConfig(id: $id, orgId: $o) }",
            json!({ "id": id, "o": app.msp_id }),
            json!({ "id": missing, "o": app.msp_id }),
        ),
        (
            "mutation($o: ID!) { installPack(orgId: $o, packId: \"halopsa\") { id } }",
            json!({ "o": client }),
            json!({ "o": missing }),
        ),
        (
            "query($o: ID!) { packConfigsForOrg(orgId: $o, packIds: [\"connectwise-psa\"]) { id } }",
            json!({ "o": client }),
            json!({ "o": missing }),
        ),
        (
            CREATE,
            json!({ "c": { "orgId": client, "packId": "halopsa", "name": "x" } }),
            json!({ "c": { "orgId": missing, "packId": "halopsa", "name": "x" } }),
        ),
    ] {
        crate::helpers::assert_forbidden_as_missing(&app, &other, query, vars, none).await;
    }
    let data = app
        .ok(
            &other,
            "{ packConfigs { id } integrations { name numInstalled } }",
            json!({}),
        )
        .await;
    assert_eq!(data["packConfigs"], json!([]));
    assert!(
        data["integrations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["numInstalled"] == 0)
    );
}
