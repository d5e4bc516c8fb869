//! `cargo bench --bench psa_import`: the whole PSA import through the HTTP API against the
//! ConnectWise simulator with 1,500 companies — list them (`psaOrganizations(refresh: true)`),
//! then import 1,000 and wait for the job to finish. On SQLite, and on PostgreSQL when
//! `ORGHUB_BENCH_DATABASE_URL` names a server (a fresh database is created there).
use std::time::{Duration, Instant};

use orghub::config::Secret;
use orghub::connectwise::simulator::{SimCredentials, Simulator};
use orghub::domain::users;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

async fn database_urls() -> Vec<(&'static str, String)> {
    let dir = std::env::temp_dir().join(format!("orghub-bench-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let mut out = vec![(
        "SQLite",
        format!("sqlite://{}", dir.join("bench.db").display()),
    )];
    if let Ok(base) = std::env::var("ORGHUB_BENCH_DATABASE_URL") {
        let name = format!("orghub_bench_{}", uuid::Uuid::now_v7().simple());
        let admin = sea_orm::Database::connect(&base)
            .await
            .expect("the PostgreSQL server");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        let (head, _) = base.split_at(base.rfind('/').expect("a /database part"));
        out.push(("PostgreSQL", format!("{head}/{name}")));
    }
    out
}

struct Client {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Client {
    async fn gql(&self, query: &str, variables: Value) -> Value {
        let body: Value = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("an answer")
            .json()
            .await
            .expect("JSON");
        assert!(body.get("errors").is_none(), "{body}");
        body["data"].clone()
    }
}

#[tokio::main]
async fn main() {
    let sim = Simulator::start(1500, SimCredentials::default())
        .await
        .expect("the simulator");
    for (label, url) in database_urls().await {
        let mut config = orghub::Config::defaults();
        config.database_url = url;
        config.jwt_secret = Some(Secret::new("bench-secret-bench-secret-bench-secret"));
        config.secret_key = Some(Secret::new(
            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        ));
        let app = orghub::build(&config).await.expect("the app");
        let (msp, admin) = users::bootstrap(&app.state.store, "Bench MSP", "bench@example.com")
            .await
            .ok()
            .flatten()
            .expect("a fresh database");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let addr = listener.local_addr().expect("an address");
        let router = app.router.clone();
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let runner = orghub::jobs::Runner::start(
            app.state.store.clone(),
            orghub::jobs::RunnerSettings::from_config(&config),
        );
        let client = Client {
            http: orghub::http_client().expect("a client"),
            url: format!("http://{addr}/graphql"),
            token: app
                .state
                .auth
                .tokens
                .mint(admin.id, &admin.username, Duration::from_secs(3600))
                .expect("a token"),
        };
        let c = &sim.credentials;
        let created = client
            .gql(
                "mutation($c: PackConfigCreateInput!) { createPackConfig(packConfig: $c) { id } }",
                json!({ "c": { "orgId": msp.id, "packId": "connectwise-psa", "name": "CW", "config": {
                    "hostname": sim.host(), "company_id": c.company_id, "public_key": c.public_key,
                    "private_key": c.private_key, "client_id": c.client_id } } }),
            )
            .await;
        let config_id = created["createPackConfig"]["id"].clone();
        client
            .gql(
                "mutation($id: ID!) { testPackConfig(packConfig: {id: $id}) { executionId } }",
                json!({ "id": config_id }),
            )
            .await;

        let started = Instant::now();
        let listed = client
            .gql(
                "query($o: ID!, $c: ID!) { psaOrganizations(orgId: $o, psaPackConfigId: $c, psaRef: \"connectwise_psa\", refresh: true) { id name existsInOrghub } }",
                json!({ "o": msp.id, "c": config_id }),
            )
            .await;
        let list_secs = started.elapsed().as_secs_f64();
        let companies = listed["psaOrganizations"].as_array().expect("a list");

        let records: Vec<Value> = companies
            .iter()
            .take(1000)
            .map(|c| json!({ "organizationName": c["name"], "externalId": c["id"] }))
            .collect();
        let started = Instant::now();
        let import = client
            .gql(
                "mutation($i: OrganizationImportInput!) { processOrganizationImport(input: $i) { import { id status } } }",
                json!({ "i": { "defaultManagingOrgId": msp.id, "importType": "PSA", "psaPackConfigId": config_id, "records": records } }),
            )
            .await;
        let accepted_ms = started.elapsed().as_millis();
        let id = import["processOrganizationImport"]["import"]["id"].clone();
        let state = loop {
            let s = client
                .gql(
                    "query($id: ID!) { organizationImport(id: $id) { status successfulCount skippedCount failedCount } }",
                    json!({ "id": id }),
                )
                .await;
            if s["organizationImport"]["status"] != "PROCESSING" {
                break s["organizationImport"].clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{label}: listed {} companies (refresh from the PSA) in {list_secs:.2} s; import of 1,000 accepted in {accepted_ms} ms, {} in {secs:.2} s = {:.0} orgs/s (created {}, skipped {}, failed {})",
            companies.len(),
            state["status"],
            1000.0 / secs,
            state["successfulCount"],
            state["skippedCount"],
            state["failedCount"],
        );
        runner.shutdown(Duration::from_secs(5)).await;
        server.abort();
    }
}
