//! Health as data: `testPackConfig` checks a ConnectWise config against the simulator and
//! the health colour follows — GREEN, ORANGE, RED.
use orghub::connectwise::simulator::{Faults, SimCredentials, Simulator};
use serde_json::{Value, json};

use crate::helpers::{TestApp, code, rule, spawn_app};

const TEST: &str = "mutation($id: ID!) { testPackConfig(packConfig: {id: $id}) { executionId } }";
const HEALTH: &str = "query($id: ID) { packConfig(where: {id: $id}) { health { status reason checkedAt lastSuccessAt } testActionRun { id executionId isPassing status responseTimeMs errorMsg packConfig { name } } } }";

async fn config(app: &TestApp, sim: &Simulator, private_key: &str) -> String {
    let c = &sim.credentials;
    let data = app
        .ok(
            &app.admin,
            "mutation($c: PackConfigCreateInput!) { createPackConfig(packConfig: $c) { id } }",
            json!({ "c": { "orgId": app.msp_id, "packId": "connectwise-psa", "name": format!("CW {private_key}"), "config": {
                "hostname": sim.host(), "company_id": c.company_id, "public_key": c.public_key, "private_key": private_key, "client_id": c.client_id } } }),
        )
        .await;
    data["createPackConfig"]["id"].as_str().unwrap().to_owned()
}

async fn health(app: &TestApp, id: &str) -> Value {
    app.ok(&app.admin, HEALTH, json!({ "id": id })).await["packConfig"].clone()
}

async fn test_now(app: &TestApp, id: &str) -> Value {
    let data = app.ok(&app.admin, TEST, json!({ "id": id })).await;
    assert!(data["testPackConfig"]["executionId"].is_string());
    health(app, id).await
}

#[tokio::test]
async fn green_then_orange_when_the_key_is_wrong() {
    let app = spawn_app().await;
    let sim = Simulator::start(5, SimCredentials::default())
        .await
        .unwrap();
    let id = config(&app, &sim, &sim.credentials.private_key.clone()).await;
    let h = health(&app, &id).await;
    assert_eq!(h["health"]["status"], "ORANGE");
    assert_eq!(h["health"]["reason"], "not tested yet");

    let h = test_now(&app, &id).await;
    assert_eq!(h["health"]["status"], "GREEN", "{h}");
    let run = &h["testActionRun"];
    assert_eq!(
        (run["isPassing"].as_bool(), run["status"].as_str()),
        (Some(true), Some("GREEN"))
    );
    assert!(run["responseTimeMs"].as_i64().unwrap() >= 0);
    assert_eq!(run["executionId"], run["id"]);
    let first_success = h["health"]["lastSuccessAt"].as_str().unwrap().to_owned();

    app.ok(&app.admin, "mutation($id: ID!) { updatePackConfig(packConfig: {id: $id, config: {private_key: \"wrong\"}}) { id } }", json!({ "id": id })).await;
    let h = health(&app, &id).await;
    assert_eq!(h["health"]["status"], "ORANGE");
    assert!(
        h["health"]["reason"]
            .as_str()
            .unwrap()
            .contains("changed since the last test")
    );
    let h = test_now(&app, &id).await;
    assert_eq!(h["health"]["status"], "ORANGE");
    assert!(
        h["health"]["reason"]
            .as_str()
            .unwrap()
            .contains("refused the credentials"),
        "{h}"
    );
    assert_eq!(
        h["health"]["lastSuccessAt"],
        first_success.as_str(),
        "the last success is remembered"
    );
    assert_eq!(h["testActionRun"]["isPassing"], false);
}

#[tokio::test]
async fn orange_for_missing_fields_and_permissions() {
    let app = spawn_app().await;
    let sim = Simulator::start(5, SimCredentials::default())
        .await
        .unwrap();
    let data = app
        .ok(&app.admin, "mutation($o: ID!) { createPackConfig(packConfig: {orgId: $o, packId: \"connectwise-psa\", name: \"Half\", config: {hostname: \"na.myconnectwise.net\"}}) { id } }", json!({ "o": app.msp_id }))
        .await;
    let half = data["createPackConfig"]["id"].as_str().unwrap().to_owned();
    let before = sim.requests();
    let h = test_now(&app, &half).await;
    assert_eq!(h["health"]["status"], "ORANGE");
    assert!(
        h["health"]["reason"]
            .as_str()
            .unwrap()
            .contains("company_id, public_key, private_key, client_id")
    );
    assert_eq!(
        sim.requests(),
        before,
        "an incomplete config is not sent anywhere"
    );

    let id = config(&app, &sim, &sim.credentials.private_key.clone()).await;
    sim.set_faults(Faults {
        forbid_companies: true,
        ..Default::default()
    });
    let h = test_now(&app, &id).await;
    assert_eq!(h["health"]["status"], "ORANGE");
    assert!(
        h["health"]["reason"].as_str().unwrap().contains("may not"),
        "{h}"
    );
}

#[tokio::test]
async fn red_when_connectwise_is_unreachable() {
    let app = spawn_app().await;
    let sim = Simulator::start(5, SimCredentials::default())
        .await
        .unwrap();
    let id = config(&app, &sim, &sim.credentials.private_key.clone()).await;
    test_now(&app, &id).await;
    sim.set_faults(Faults {
        server_errors: 100,
        ..Default::default()
    });
    let h = test_now(&app, &id).await;
    assert_eq!(h["health"]["status"], "RED", "{h}");
    assert!(h["health"]["reason"].as_str().unwrap().contains("500"));

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    app.ok(&app.admin, "mutation($id: ID!, $h: String) { updatePackConfig(packConfig: {id: $id, config: {hostname: $h}}) { id } }", json!({ "id": id, "h": closed.to_string() }))
        .await;
    let h = test_now(&app, &id).await;
    assert_eq!(h["health"]["status"], "RED");
    assert!(
        h["health"]["reason"]
            .as_str()
            .unwrap()
            .contains("unreachable")
    );
}

#[tokio::test]
async fn who_may_test_and_what_cannot_be_tested_yet() {
    let app = spawn_app().await;
    let data = app
        .ok(&app.admin, "mutation($o: ID!) { createPackConfig(packConfig: {orgId: $o, packId: \"halopsa\", name: \"Halo\"}) { id } }", json!({ "o": app.msp_id }))
        .await;
    let halo = data["createPackConfig"]["id"].as_str().unwrap().to_owned();
    let data = app
        .ok(&app.admin, "mutation($id: ID!) { updatePackConfig(packConfig: {id: $id, config: {resource_server_url: \"https://x.halopsa.com/api\", authorisation_server_url: \"https://x.halopsa.com/auth\", client_id: \"c\", client_secret: \"s\"}}) { id } }", json!({ "id": halo }))
        .await;
    assert!(data["updatePackConfig"]["id"].is_string());
    assert_eq!(
        rule(&app.gql(&app.admin, TEST, json!({ "id": halo })).await),
        ("packConfig.id", "NOT_SUPPORTED")
    );
    let (_, other) = app.other_msp("Globex").await;
    assert_eq!(
        code(&app.gql(&other, TEST, json!({ "id": halo })).await),
        "FORBIDDEN"
    );
    assert_eq!(
        code(
            &app.gql(
                &other,
                TEST,
                json!({ "id": "0191f1c6-0000-7000-8000-000000000000" })
            )
            .await
        ),
        "FORBIDDEN"
    );
}
