//! `spawn_app()`: the real router on 127.0.0.1:<random>, a fresh database (SQLite file,
//! or a new PostgreSQL database when `ORGHUB_TEST_DATABASE_URL` is set), an MSP and its admin.
use std::net::SocketAddr;
use std::time::Duration;

use orghub::auth::Role;
use orghub::config::Secret;
use orghub::domain::users;
use orghub::{AppState, Config};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use uuid::Uuid;

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub state: AppState,
    pub config: Config,
    /// The MSP created on start.
    pub msp_id: String,
    /// Its admin, who is also staff (the operator of the instance).
    pub admin: String,
    /// The app's job runner (stop it gracefully, or kill it as a crash would).
    pub runner: std::sync::Mutex<Option<orghub::jobs::Runner>>,
}

/// A database URL of its own for one test.
pub async fn fresh_database_url() -> String {
    match std::env::var("ORGHUB_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            let name = format!("orghub_test_{}", Uuid::now_v7().simple());
            let admin = sea_orm::Database::connect(&base)
                .await
                .expect("cannot reach ORGHUB_TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("cannot create a test database");
            admin.close().await.ok();
            let (head, tail) = base.split_at(
                base.rfind('/')
                    .expect("a database URL with a /database part"),
            );
            let query = tail.find('?').map(|i| &tail[i..]).unwrap_or("");
            format!("{head}/{name}{query}")
        }
        _ => {
            let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("orghub-tests");
            std::fs::create_dir_all(&dir).expect("cannot create the test directory");
            format!(
                "sqlite://{}",
                dir.join(format!("{}.db", Uuid::now_v7())).display()
            )
        }
    }
}

pub fn test_config(database_url: String) -> Config {
    let mut config = Config::defaults();
    config.database_url = database_url;
    config.jwt_secret = Some(Secret::new("test-secret-test-secret-test-secret!"));
    config.secret_key = Some(Secret::new(
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    ));
    config.max_page_size = 100;
    config.max_body_bytes = 256 * 1024;
    config.job_poll_ms = 100;
    // Short, so a test of a change made behind the server's back waits little.
    config.actor_cache_secs = 1;
    config
}

pub async fn spawn_app() -> TestApp {
    spawn_with(test_config(fresh_database_url().await)).await
}

pub async fn spawn_with(config: Config) -> TestApp {
    start(config, true).await
}

/// Another instance on the database of an earlier one (a restart, or a second replica).
pub async fn spawn_again(config: Config) -> TestApp {
    start(config, false).await
}

async fn start(mut config: Config, fresh: bool) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a port");
    let addr = listener.local_addr().expect("a local address");
    // Links and callback URLs point at this instance.
    config.public_url = Some(format!("http://{addr}"));
    let app = orghub::build(&config).await.expect("the app builds");
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await.expect("server runs") });
    let (msp_id, admin) = if fresh {
        let (msp, admin) = users::bootstrap(&app.state.store, "Acme MSP", "admin@acme.test")
            .await
            .unwrap_or_else(|e| panic!("bootstrap failed: {}", e.client_message()))
            .expect("an empty database bootstraps");
        (msp.id, admin)
    } else {
        let admin = users::by_email(&app.state.store, "admin@acme.test")
            .await
            .ok()
            .flatten()
            .expect("the first instance's admin");
        (admin.org_id, admin)
    };
    let client = orghub::http_client().expect("a client");
    let token = app
        .state
        .auth
        .tokens
        .mint(admin.id, &admin.username, Duration::from_secs(3600))
        .expect("a token");
    let runner = orghub::jobs::Runner::start(
        app.state.store.clone(),
        orghub::jobs::RunnerSettings::from_config(&config),
    );
    TestApp {
        addr,
        client,
        state: app.state,
        config,
        msp_id: msp_id.to_string(),
        admin: token,
        runner: std::sync::Mutex::new(Some(runner)),
    }
}

impl TestApp {
    /// Stops the job runner at once, as a crash would: its claims stay until their leases expire.
    pub fn kill_runner(&self) {
        if let Some(r) = self.runner.lock().expect("the runner lock").take() {
            r.abort();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// POSTs a GraphQL request and returns the whole response body.
    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let mut req = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.expect("the request is answered");
        let status = res.status();
        let body: Value = res.json().await.expect("a JSON body");
        assert!(status.is_success(), "HTTP {status}: {body}");
        body
    }

    /// Like `gql`, and the response must carry no error.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = self.gql(token, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// A user of `org_id` with `role`, and a token for them.
    pub async fn user(&self, org_id: &str, role: Role, staff: bool) -> (Uuid, String) {
        let org = Uuid::parse_str(org_id).expect("an org id");
        let email = format!("{}@{}.test", role.as_str(), Uuid::now_v7().simple());
        let user = users::insert(&self.state.store.db, org, &email, role, staff)
            .await
            .unwrap_or_else(|e| panic!("insert user: {}", e.client_message()));
        (user.id, self.token_for(user.id, &user.username))
    }

    /// Another MSP (its own tree), onboarded by staff through `createMspOrganization`,
    /// and a token for its invited admin, who is not staff.
    pub async fn other_msp(&self, name: &str) -> (String, String) {
        let email = format!("admin@{}.test", Uuid::now_v7().simple());
        let data = self
            .ok(
                &self.admin,
                "mutation($n: String!, $e: String!) { createMspOrganization(name: $n, adminEmail: $e) { id } }",
                json!({ "n": name, "e": email }),
            )
            .await;
        let id = data["createMspOrganization"]["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        let admin = users::by_email(&self.state.store, &email)
            .await
            .ok()
            .flatten()
            .expect("the invited admin");
        (id, self.token_for(admin.id, &admin.username))
    }

    pub fn token_for(&self, user_id: Uuid, email: &str) -> String {
        self.state
            .auth
            .tokens
            .mint(user_id, email, Duration::from_secs(3600))
            .expect("a token")
    }

    /// Creates an org through the API and returns its id.
    pub async fn create_org(&self, token: &str, name: &str, parent: &str) -> String {
        let data = self
            .ok(
                token,
                "mutation($o: OrganizationInput) { createOrganization(organization: $o) { id } }",
                json!({ "o": { "name": name, "managingOrgId": parent } }),
            )
            .await;
        data["createOrganization"]["id"]
            .as_str()
            .expect("an id")
            .to_owned()
    }
}

/// The `extensions.code` of the first error.
pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

/// The `(field, validationCode)` of the first error.
pub fn rule(body: &Value) -> (&str, &str) {
    assert_eq!(code(body), "BAD_USER_INPUT", "{body}");
    let ext = &body["errors"][0]["extensions"];
    (
        ext["field"].as_str().unwrap_or(""),
        ext["validationCode"].as_str().unwrap_or(""),
    )
}

/// Names in a list of `{ name }` objects.
pub fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|o| o["name"].as_str().expect("a name").to_owned())
        .collect()
}

/// Asserts that `token` (another tenant) gets FORBIDDEN for `vars`, with exactly the answer it
/// gets for ids that do not exist (`missing`): no probing of other tenants.
pub async fn assert_forbidden_as_missing(
    app: &TestApp,
    token: &str,
    query: &str,
    vars: Value,
    missing: Value,
) {
    let theirs = app.gql(token, query, vars).await;
    let nothing = app.gql(token, query, missing).await;
    assert_eq!(code(&theirs), "FORBIDDEN", "{query}: {theirs}");
    assert_eq!(
        theirs["errors"][0]["message"], nothing["errors"][0]["message"],
        "{query}"
    );
}
