//! Health as data: `testPackConfig` checks a config against its PSA's simulator and the
//! health colour follows — GREEN, ORANGE, RED — for ConnectWise, Autotask and HaloPSA.
use orghub::connectwise::simulator::{Faults, SimCredentials, Simulator};
use orghub::psa::autotask_sim::{AutotaskSimCredentials, AutotaskSimulator};
use orghub::psa::halo_sim::{HaloSimCredentials, HaloSimulator};
use serde_json::{Value, json};

use crate::for_each_psa;
use crate::helpers::{TestApp, code, fresh_database_url, spawn_app, spawn_with, test_config};
use crate::psas::{AnyPsa, Kind};

for_each_psa!(green_orange_red_for_every_psa);

const UPDATE: &str =
    "mutation($id: ID!, $c: JSON) { updatePackConfig(packConfig: {id: $id, config: $c}) { id } }";

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

/// A port nothing listens on.
fn closed_port() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

async fn green_orange_red_for_every_psa(kind: Kind) {
    let app = spawn_app().await;
    let psa = AnyPsa::start(kind, 5).await;
    let id = psa.green_config(&app, "PSA").await;

    // ORANGE: the secret is wrong.
    let right = psa.config()[psa.secret_field()].clone();
    app.ok(
        &app.admin,
        UPDATE,
        json!({ "id": id, "c": { psa.secret_field(): "wrong" } }),
    )
    .await;
    let h = test_now(&app, &id).await;
    assert_eq!(h["health"]["status"], "ORANGE", "{h}");
    let reason = h["health"]["reason"].as_str().unwrap();
    assert!(reason.contains("refused the credentials"), "{reason}");
    let name = match kind {
        Kind::ConnectWise => "ConnectWise",
        Kind::Autotask => "Autotask",
        Kind::Halo => "HaloPSA",
    };
    assert!(reason.starts_with(name), "the PSA is named: {reason}");

    // RED: the PSA fails.
    app.ok(
        &app.admin,
        UPDATE,
        json!({ "id": id, "c": { psa.secret_field(): right } }),
    )
    .await;
    assert_eq!(test_now(&app, &id).await["health"]["status"], "GREEN");
    psa.server_errors(100);
    let h = test_now(&app, &id).await;
    assert_eq!(h["health"]["status"], "RED", "{h}");
    assert!(
        h["health"]["reason"].as_str().unwrap().contains("500"),
        "{h}"
    );
    psa.server_errors(0);

    // RED: nothing answers.
    let (field, value) = psa.address_of(closed_port());
    app.ok(
        &app.admin,
        UPDATE,
        json!({ "id": id, "c": { field: value } }),
    )
    .await;
    let h = test_now(&app, &id).await;
    assert_eq!(h["health"]["status"], "RED", "{h}");
    assert!(
        h["health"]["reason"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{h}"
    );
}

#[tokio::test]
async fn autotask_finds_its_zone_and_halopsa_sends_its_tenant() {
    let autotask = AutotaskSimulator::start(3, AutotaskSimCredentials::default())
        .await
        .unwrap();
    let mut config = test_config(fresh_database_url().await);
    config.autotask_discovery_url = autotask.url();
    let app = spawn_with(config).await;
    let c = autotask.client_credentials();
    let data = app
        .ok(
            &app.admin,
            "mutation($c: PackConfigCreateInput!) { createPackConfig(packConfig: $c) { id } }",
            json!({ "c": { "orgId": app.msp_id, "packId": "datto-autotask-psa", "name": "Autotask", "config": {
                "username": c.username, "secret": c.secret, "integration_code": c.integration_code } } }),
        )
        .await;
    let id = data["createPackConfig"]["id"].as_str().unwrap().to_owned();
    let h = test_now(&app, &id).await;
    assert_eq!(h["health"]["status"], "GREEN", "{h}");
    assert_eq!(
        autotask.zone_lookups(),
        1,
        "the zone was found by zoneInformation"
    );

    let halo = HaloSimulator::start(
        3,
        HaloSimCredentials {
            tenant: Some("acme".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let c = halo.client_credentials();
    let make = |tenant: Option<&str>, on_premise: &str| {
        json!({ "c": { "orgId": app.msp_id, "packId": "halopsa", "name": format!("Halo {tenant:?} {on_premise}"), "config": {
            "resource_server_url": halo.url(), "client_id": c.client_id, "client_secret": c.client_secret,
            "tenant": tenant, "on_premise": on_premise } } })
    };
    let create = "mutation($c: PackConfigCreateInput!) { createPackConfig(packConfig: $c) { id } }";
    let with = app
        .ok(&app.admin, create, make(Some("acme"), "false"))
        .await;
    let with = with["createPackConfig"]["id"].as_str().unwrap().to_owned();
    assert_eq!(test_now(&app, &with).await["health"]["status"], "GREEN");
    let without = app.ok(&app.admin, create, make(None, "false")).await;
    let without = without["createPackConfig"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let h = test_now(&app, &without).await;
    assert_eq!(h["health"]["status"], "ORANGE", "the tenant is needed: {h}");
    // On premises no tenant is sent, even when one is filled in.
    let on_prem = app.ok(&app.admin, create, make(Some("acme"), "true")).await;
    let on_prem = on_prem["createPackConfig"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(test_now(&app, &on_prem).await["health"]["status"], "ORANGE");
    let body = app.gql(&app.admin, create, make(None, "maybe")).await;
    assert_eq!(
        crate::helpers::rule(&body),
        ("config.on_premise", "INVALID_FORMAT"),
        "{body}"
    );
}

#[tokio::test]
async fn who_may_test() {
    let app = spawn_app().await;
    let data = app
        .ok(&app.admin, "mutation($o: ID!) { createPackConfig(packConfig: {orgId: $o, packId: \"halopsa\", name: \"Halo\"}) { id } }", json!({ "o": app.msp_id }))
        .await;
    let halo = data["createPackConfig"]["id"].as_str().unwrap().to_owned();
    let data = app
        .ok(&app.admin, "mutation($id: ID!, $u: String) { updatePackConfig(packConfig: {id: $id, config: {resource_server_url: $u, client_id: \"c\", client_secret: \"s\"}}) { id } }", json!({ "id": halo, "u": format!("http://{}", closed_port()) }))
        .await;
    assert!(data["updatePackConfig"]["id"].is_string());
    let h = test_now(&app, &halo).await;
    assert_eq!(h["health"]["status"], "RED", "{h}");
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
