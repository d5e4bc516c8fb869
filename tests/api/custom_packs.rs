//! Custom packs against a small HTTP tool written for the tests (`orghub::custom::tool_sim`):
//! each authentication kind, the four paging styles, a failing health check, and the same
//! tool read from its OpenAPI document — created, tested, refreshed, suggested and mapped
//! through the code the built-in packs use; `customPackRequest` confined to the base URL.
use orghub::auth::Role;
use orghub::custom::tool_sim::{ToolAuth, ToolListing, ToolSim};
use serde_json::{Value, json};

use crate::helpers::{TestApp, code, rule, spawn_app};

const CREATE: &str = "mutation($o: ID!, $i: CustomPackInput!) { createCustomPack(orgId: $o, input: $i) { id ref name packType orgId configSchema orgVariables customSpec } }";
const CONFIG: &str = "mutation($o: ID!, $p: ID!, $c: JSON) { createPackConfig(packConfig: {orgId: $o, packId: $p, name: \"Tool\", config: $c}) { id missingFields } }";
const TEST: &str = "mutation($id: ID!) { testPackConfig(packConfig: {id: $id}) { executionId } }";
const HEALTH: &str = "query($id: ID) { packConfig(where: {id: $id}) { health { status reason } } }";
const REFRESH: &str =
    "mutation($c: ID!) { refetchPackConfigRefOptions(packConfigId: $c) { executionId } }";
const SUGGEST: &str = "mutation($c: ID!) { suggestOrgVarMatches(packConfigId: $c) }";
const SAVE: &str = "mutation($c: ID!, $m: [OrgMappingInput!]!) { saveOrgMappings(packConfigId: $c, mappings: $m) }";
const MAPPINGS: &str = "query($c: ID!) { orgMappings(packConfigId: $c, limit: 50) { totalCount mappings { organization { name } companyId companyName } } }";

/// The GraphQL input for a pack of `sim` read through `listing`.
fn input(sim: &ToolSim, listing: ToolListing, name: &str, variable: &str) -> Value {
    let mut i = serde_json::to_value(sim.spec(listing)).unwrap();
    i["name"] = json!(name);
    i["mappingVariable"] = json!(variable);
    i
}

async fn health(app: &TestApp, config: &str) -> Value {
    app.ok(&app.admin, TEST, json!({ "id": config })).await;
    app.ok(&app.admin, HEALTH, json!({ "id": config })).await["packConfig"]["health"].clone()
}

/// Creates the pack and a config of it; tests it GREEN; refreshes, suggests and saves the
/// automatic matches; returns the config.
async fn pack_mapped(app: &TestApp, sim: &ToolSim, listing: ToolListing, n: usize) -> String {
    let variable = format!("tool_{n}_client_id");
    let pack = app
        .ok(
            &app.admin,
            CREATE,
            json!({ "o": app.msp_id, "i": input(sim, listing, &format!("Tool {n}"), &variable) }),
        )
        .await["createCustomPack"]
        .clone();
    assert_eq!(pack["packType"], "custom");
    assert_eq!(pack["orgId"], json!(app.msp_id));
    assert_eq!(pack["orgVariables"][0]["name"], json!(variable));
    // Secrets are never shown again.
    let spec = pack["customSpec"].to_string();
    for secret in ["tool-secret", "tool-key", "tool-token", "tool-pass"] {
        assert!(!spec.contains(secret), "{spec}");
    }
    let config = app
        .ok(
            &app.admin,
            CONFIG,
            json!({ "o": app.msp_id, "p": pack["id"], "c": {} }),
        )
        .await["createPackConfig"]
        .clone();
    assert_eq!(config["missingFields"], json!([]));
    let config = config["id"].as_str().unwrap().to_owned();
    let h = health(app, &config).await;
    assert_eq!(h["status"], "GREEN", "{listing:?}: {h}");

    app.ok(&app.admin, REFRESH, json!({ "c": config })).await;
    let s =
        app.ok(&app.admin, SUGGEST, json!({ "c": config })).await["suggestOrgVarMatches"].clone();
    let contoso = s
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["orgName"] == "Contoso")
        .unwrap_or_else(|| panic!("{s}"));
    assert_eq!(contoso["reason"], "name", "{listing:?}: {contoso}");
    assert_eq!(contoso["companyName"], "Contoso");
    let blue = s
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["orgName"] == "Blue Yonder")
        .unwrap();
    if ToolSim::list_request(listing).active_path.is_some() {
        assert_ne!(
            blue["companyName"], "Blue Yonder Ltd",
            "{listing:?}: inactive clients are not offered: {blue}"
        );
    }
    let automatic: Vec<Value> = s
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["companyId"].is_string() && x["needsReview"] == false)
        .map(|x| json!({ "orgId": x["orgId"], "companyId": x["companyId"] }))
        .collect();
    // Without an active flag every client counts as active: Blue Yonder Ltd is offered.
    let knows_inactive = ToolSim::list_request(listing).active_path.is_some();
    assert_eq!(
        app.ok(&app.admin, SAVE, json!({ "c": config, "m": automatic }))
            .await["saveOrgMappings"],
        if knows_inactive { 2 } else { 3 },
        "{listing:?}: Contoso and Fabrikam"
    );
    let vars = app
        .ok(
            &app.admin,
            "query($n: String) { orgVariables(where: {name: $n}) { value organization { name } packConfigId } }",
            json!({ "n": variable }),
        )
        .await;
    let mut mapped: Vec<String> = vars["orgVariables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            format!(
                "{}={}",
                v["organization"]["name"].as_str().unwrap(),
                v["value"].as_str().unwrap()
            )
        })
        .collect();
    mapped.sort();
    let id = |n: u32| {
        if listing == ToolListing::OffsetLimit {
            format!("C-{n}")
        } else {
            n.to_string()
        }
    };
    let mut expected = vec![format!("Contoso={}", id(1)), format!("Fabrikam={}", id(2))];
    if !knows_inactive {
        expected.insert(0, format!("Blue Yonder={}", id(10)));
    }
    assert_eq!(mapped, expected);
    config
}

async fn customers(app: &TestApp) {
    for name in ["Contoso", "Fabrikam", "Blue Yonder", "Unrelated Corp"] {
        app.create_org(&app.admin, name, &app.msp_id).await;
    }
}

#[tokio::test]
async fn every_auth_kind_and_paging_style_is_created_tested_refreshed_suggested_and_mapped() {
    let app = spawn_app().await;
    customers(&app).await;
    let cases = [
        (ToolAuth::None, ToolListing::PageSize),
        (
            ToolAuth::ApiKeyHeader("X-Api-Key".into(), "tool-key".into()),
            ToolListing::OffsetLimit,
        ),
        (
            ToolAuth::ApiKeyQuery("api_key".into(), "tool-key".into()),
            ToolListing::NextInBody,
        ),
        (
            ToolAuth::Basic("tool-user".into(), "tool-pass".into()),
            ToolListing::LinkHeader,
        ),
        (ToolAuth::Bearer("tool-token".into()), ToolListing::PageSize),
        (
            ToolAuth::OAuth2 {
                client_id: "tool-client".into(),
                client_secret: "tool-secret".into(),
                scope: "clients:read".into(),
            },
            ToolListing::NextInBody,
        ),
    ];
    for (n, (auth, listing)) in cases.into_iter().enumerate() {
        let sim = ToolSim::start(auth.clone()).await.unwrap();
        let config = pack_mapped(&app, &sim, listing, n).await;
        let page = app.ok(&app.admin, MAPPINGS, json!({ "c": config })).await;
        let rows = page["orgMappings"]["mappings"].as_array().unwrap();
        assert!(
            rows.iter()
                .any(|r| r["organization"]["name"] == "Contoso" && r["companyName"] == "Contoso"),
            "{page}"
        );

        if matches!(auth, ToolAuth::None) {
            continue;
        }
        // A wrong secret in the config (it overrides the pack's): ORANGE, named.
        let secret = match auth {
            ToolAuth::ApiKeyHeader(..) | ToolAuth::ApiKeyQuery(..) => "api_key",
            ToolAuth::Basic(..) => "password",
            ToolAuth::Bearer(..) => "token",
            _ => "client_secret",
        };
        app.ok(
            &app.admin,
            "mutation($id: ID!, $c: JSON) { updatePackConfig(packConfig: {id: $id, config: $c}) { id } }",
            json!({ "id": config, "c": { secret: "wrong" } }),
        )
        .await;
        let h = health(&app, &config).await;
        assert_eq!(h["status"], "ORANGE", "{auth:?}: {h}");
        assert!(
            h["reason"]
                .as_str()
                .unwrap()
                .contains("refused the credentials"),
            "{h}"
        );
        app.ok(
            &app.admin,
            "mutation($id: ID!, $c: JSON) { updatePackConfig(packConfig: {id: $id, config: $c}) { id } }",
            json!({ "id": config, "c": { secret: null } }),
        )
        .await;
        assert_eq!(health(&app, &config).await["status"], "GREEN");
    }
}

#[tokio::test]
async fn a_failing_health_check_is_red_or_orange_with_the_reason() {
    let app = spawn_app().await;
    let sim = ToolSim::start(ToolAuth::Bearer("tool-token".into()))
        .await
        .unwrap();
    let pack = app
        .ok(&app.admin, CREATE, json!({ "o": app.msp_id, "i": input(&sim, ToolListing::PageSize, "Tool", "tool_client_id") }))
        .await["createCustomPack"]["id"]
        .clone();
    let config = app
        .ok(
            &app.admin,
            CONFIG,
            json!({ "o": app.msp_id, "p": pack, "c": {} }),
        )
        .await["createPackConfig"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    sim.set_healthy(false);
    let h = health(&app, &config).await;
    assert_eq!(h["status"], "RED", "{h}");
    assert!(h["reason"].as_str().unwrap().contains("503"), "{h}");
    sim.set_healthy(true);
    assert_eq!(health(&app, &config).await["status"], "GREEN");
    // A health request answering another status than expected.
    let mut i = input(&sim, ToolListing::PageSize, "Tool", "tool_client_id");
    i["health"]["expectedStatus"] = json!(204);
    app.ok(
        &app.admin,
        "mutation($p: ID!, $i: CustomPackInput!) { updateCustomPack(packId: $p, input: $i) { id } }",
        json!({ "p": pack, "i": i }),
    )
    .await;
    let h = health(&app, &config).await;
    assert_ne!(h["status"], "GREEN", "{h}");
    assert!(h["reason"].as_str().unwrap().contains("204"), "{h}");
    // Nothing answers at all.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    app.ok(
        &app.admin,
        "mutation($id: ID!, $c: JSON) { updatePackConfig(packConfig: {id: $id, config: $c}) { id } }",
        json!({ "id": config, "c": { "base_url": format!("http://{closed}/api") } }),
    )
    .await;
    let h = health(&app, &config).await;
    assert_eq!(h["status"], "RED", "{h}");
    assert!(h["reason"].as_str().unwrap().contains("unreachable"), "{h}");
}

#[tokio::test]
async fn bad_definitions_are_refused_with_their_fields() {
    let app = spawn_app().await;
    let sim = ToolSim::start(ToolAuth::None).await.unwrap();
    let mut i = input(&sim, ToolListing::PageSize, "Tool", "cw_manage_company_id");
    let body = app
        .gql(
            &app.admin,
            CREATE,
            json!({ "o": app.msp_id, "i": i.clone() }),
        )
        .await;
    assert_eq!(
        rule(&body),
        ("input.mappingVariable", "RESERVED_NAME"),
        "{body}"
    );
    i["mappingVariable"] = json!("Not Snake");
    i["baseUrl"] = json!("ftp://x");
    i["health"]["path"] = json!("../etc");
    let body = app
        .gql(
            &app.admin,
            CREATE,
            json!({ "o": app.msp_id, "i": i.clone() }),
        )
        .await;
    let fields: Vec<&str> = body["errors"][0]["extensions"]["validationErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in [
        "input.mappingVariable",
        "input.baseUrl",
        "input.health.path",
    ] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    let ok = input(&sim, ToolListing::PageSize, "Tool", "tool_client_id");
    app.ok(
        &app.admin,
        CREATE,
        json!({ "o": app.msp_id, "i": ok.clone() }),
    )
    .await;
    let mut same_name = ok.clone();
    same_name["mappingVariable"] = json!("other_tool_id");
    let body = app
        .gql(
            &app.admin,
            CREATE,
            json!({ "o": app.msp_id, "i": same_name }),
        )
        .await;
    assert_eq!(rule(&body), ("input.name", "DUPLICATE_IN_DATABASE"));
    let mut same_var = ok.clone();
    same_var["name"] = json!("Tool again");
    let body = app
        .gql(
            &app.admin,
            CREATE,
            json!({ "o": app.msp_id, "i": same_var }),
        )
        .await;
    assert_eq!(
        rule(&body),
        ("input.mappingVariable", "DUPLICATE_IN_DATABASE")
    );
    // Only admins make packs; other trees see none of it.
    let (_, member) = app.user(&app.msp_id, Role::Member, false).await;
    let mut other = ok.clone();
    other["name"] = json!("Members' tool");
    other["mappingVariable"] = json!("members_tool_id");
    let body = app
        .gql(&member, CREATE, json!({ "o": app.msp_id, "i": other }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let (other_msp, other_admin) = app.other_msp("Globex").await;
    let list = app
        .ok(
            &other_admin,
            "query($o: ID!) { customPacks(orgId: $o) { id } }",
            json!({ "o": other_msp }),
        )
        .await;
    assert_eq!(list["customPacks"], json!([]));
    let mine = app
        .ok(
            &app.admin,
            "query($o: ID!) { customPacks(orgId: $o) { name } }",
            json!({ "o": app.msp_id }),
        )
        .await;
    assert_eq!(mine["customPacks"], json!([{ "name": "Tool" }]));
}

/// The tool's own OpenAPI document (`openapi.json` or `openapi.yaml`).
async fn document(app: &TestApp, sim: &ToolSim, name: &str) -> String {
    app.client
        .get(format!("{}/{name}", sim.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// POSTs `createOpenApiPack` with the document as a multipart upload.
async fn upload_document(app: &TestApp, token: &str, doc: &str, filename: &str) -> Value {
    let boundary = "----orghubopenapi";
    let operations = json!({
        "query": "mutation($f: Upload!, $o: ID!) { createOpenApiPack(orgId: $o, document: $f, name: \"Tool from OpenAPI\", mappingVariable: \"tool_api_client_id\") { id packType name description configSchema customSpec actions { operationId method path parameters { name in required } returnsList } } }",
        "variables": { "f": null, "o": app.msp_id }
    });
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{operations}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{{\"0\": [\"variables.f\"]}}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n{doc}\r\n\
         --{boundary}--\r\n"
    );
    app.client
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_pack_from_an_openapi_document_is_configured_mapped_and_called() {
    let app = spawn_app().await;
    customers(&app).await;
    let sim = ToolSim::start(ToolAuth::ApiKeyHeader(
        "X-Api-Key".into(),
        "tool-key".into(),
    ))
    .await
    .unwrap();
    let doc = document(&app, &sim, "openapi.yaml").await;
    // Another tree cannot put a pack in this one, nor can a member.
    let (_, other_admin) = app.other_msp("Initech").await;
    let refused = upload_document(&app, &other_admin, &doc, "tool.yaml").await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    let (_, member) = app.user(&app.msp_id, Role::Member, false).await;
    let refused = upload_document(&app, &member, &doc, "tool.yaml").await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    assert_eq!(
        app.ok(
            &app.admin,
            "query($o: ID!) { customPacks(orgId: $o) { id } }",
            json!({ "o": app.msp_id })
        )
        .await["customPacks"],
        json!([])
    );
    let made = upload_document(&app, &app.admin, &doc, "tool.yaml").await;
    let pack = made["data"]["createOpenApiPack"].clone();
    assert!(pack.is_object(), "{made}");
    assert_eq!(pack["packType"], "openapi");
    let ops: Vec<&str> = pack["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["operationId"].as_str().unwrap())
        .collect();
    for op in ["getHealth", "listClientsV1", "listClientsV2"] {
        assert!(ops.contains(&op), "{ops:?}");
    }
    assert!(
        pack["customSpec"]["baseUrl"]
            .as_str()
            .unwrap()
            .starts_with(&sim.url())
    );
    assert_eq!(pack["customSpec"]["auth"]["kind"], "API_KEY");
    assert_eq!(pack["customSpec"]["health"]["path"], "/health");
    // The key is not in the document: each config brings it.
    let config = app
        .ok(
            &app.admin,
            CONFIG,
            json!({ "o": app.msp_id, "p": pack["id"], "c": {} }),
        )
        .await["createPackConfig"]
        .clone();
    assert_eq!(config["missingFields"], json!(["api_key"]));
    let config = config["id"].as_str().unwrap().to_owned();
    assert_eq!(health(&app, &config).await["status"], "ORANGE");
    app.ok(
        &app.admin,
        "mutation($id: ID!) { updatePackConfig(packConfig: {id: $id, config: {api_key: \"tool-key\"}}) { id } }",
        json!({ "id": config }),
    )
    .await;
    assert_eq!(health(&app, &config).await["status"], "GREEN");

    // Pick the list operation, then map.
    let mut i = serde_json::to_value(&pack["customSpec"]).unwrap();
    i["name"] = json!("Tool from OpenAPI");
    i["mappingVariable"] = json!("tool_api_client_id");
    i["auth"]["value"] = Value::Null;
    i["list"] = json!({ "operationId": "listClientsV1", "paging": { "style": "PAGE_SIZE", "size": 10 },
                        "itemsPath": "data", "idPath": "id", "namePath": "name", "activePath": "active" });
    let updated = app
        .ok(
            &app.admin,
            "mutation($p: ID!, $i: CustomPackInput!) { updateCustomPack(packId: $p, input: $i) { customSpec } }",
            json!({ "p": pack["id"], "i": i }),
        )
        .await;
    assert_eq!(
        updated["updateCustomPack"]["customSpec"]["list"]["path"],
        "/v1/clients"
    );
    app.ok(&app.admin, REFRESH, json!({ "c": config })).await;
    let s =
        app.ok(&app.admin, SUGGEST, json!({ "c": config })).await["suggestOrgVarMatches"].clone();
    let contoso = s
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["orgName"] == "Contoso")
        .unwrap();
    app.ok(
        &app.admin,
        SAVE,
        json!({ "c": config, "m": [{ "orgId": contoso["orgId"], "companyId": contoso["companyId"] }] }),
    )
    .await;
    let page = app.ok(&app.admin, MAPPINGS, json!({ "c": config })).await;
    assert!(
        page["orgMappings"]["mappings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["organization"]["name"] == "Contoso" && r["companyId"] == "1"),
        "{page}"
    );

    // One call with the stored key, by operation and by path.
    let call = "mutation($c: ID!, $op: String, $m: String, $p: String, $params: JSON, $b: JSON) { customPackRequest(packConfigId: $c, operationId: $op, method: $m, path: $p, params: $params, body: $b) { status body } }";
    let answer = app
        .ok(
            &member,
            call,
            json!({ "c": config, "op": "createNote", "params": { "id": 3 }, "b": { "text": "hello" } }),
        )
        .await;
    assert_eq!(answer["customPackRequest"]["status"], 201, "{answer}");
    let answer = app
        .ok(
            &member,
            call,
            json!({ "c": config, "m": "GET", "p": "/v1/clients", "params": { "page": 2, "pageSize": 5 } }),
        )
        .await;
    assert_eq!(answer["customPackRequest"]["status"], 200);
    assert_eq!(answer["customPackRequest"]["body"]["data"][0]["id"], 6);
    let before = sim.requests();
    for bad in ["/../admin", "//evil.test/x", "http://evil.test/x"] {
        let body = app
            .gql(&member, call, json!({ "c": config, "m": "GET", "p": bad }))
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{bad}: {body}");
    }
    assert_eq!(
        sim.requests(),
        before,
        "nothing was sent for a path outside the base URL"
    );
    let body = app
        .gql(&member, call, json!({ "c": config, "op": "createNote" }))
        .await;
    assert_eq!(rule(&body), ("params.id", "REQUIRED_FIELD"));
    let (_, reader) = app.user(&app.msp_id, Role::ReadOnly, false).await;
    let body = app
        .gql(
            &reader,
            call,
            json!({ "c": config, "m": "GET", "p": "/v1/clients" }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let (_, other) = app.other_msp("Globex").await;
    let body = app
        .gql(
            &other,
            call,
            json!({ "c": config, "m": "GET", "p": "/v1/clients" }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");

    // Documents that cannot be used are refused with the reason.
    let swagger = r#"{"swagger": "2.0", "info": {"title": "x", "version": "1"}, "paths": {}}"#;
    let body = upload_document(&app, &app.admin, swagger, "old.json").await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("3.0"),
        "{body}"
    );
    let body = upload_document(&app, &app.admin, "not: [valid", "bad.yaml").await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );

    // A pack in use cannot be deleted.
    let body = app
        .gql(
            &app.admin,
            "mutation($p: ID!) { deleteCustomPack(packId: $p) }",
            json!({ "p": pack["id"] }),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT");
}

#[tokio::test]
async fn an_oauth2_document_leaves_the_client_credentials_to_the_configs() {
    let app = spawn_app().await;
    let sim = ToolSim::start(ToolAuth::OAuth2 {
        client_id: "tool-client".into(),
        client_secret: "tool-secret".into(),
        scope: String::new(),
    })
    .await
    .unwrap();
    let doc = document(&app, &sim, "openapi.json").await;
    let made = upload_document(&app, &app.admin, &doc, "tool.json").await;
    let pack = made["data"]["createOpenApiPack"].clone();
    assert_eq!(pack["customSpec"]["auth"]["kind"], "OAUTH2", "{made}");
    let config = app
        .ok(
            &app.admin,
            CONFIG,
            json!({ "o": app.msp_id, "p": pack["id"], "c": {} }),
        )
        .await["createPackConfig"]
        .clone();
    assert_eq!(
        config["missingFields"],
        json!(["client_id", "client_secret"])
    );
    let config = config["id"].as_str().unwrap().to_owned();
    app.ok(
        &app.admin,
        "mutation($id: ID!) { updatePackConfig(packConfig: {id: $id, config: {client_id: \"tool-client\", client_secret: \"tool-secret\"}}) { id } }",
        json!({ "id": config }),
    )
    .await;
    let h = health(&app, &config).await;
    assert_eq!(h["status"], "GREEN", "{h}");
}
