//! `orghub demo`: the whole product on one machine — the server on SQLite in a temporary
//! directory, the ConnectWise simulator with a few hundred companies, a healthy ConnectWise
//! config, organizations imported from it and mapped, tags, cascading variables, a live link,
//! a Toolbox run, and the simulator's ConnectWise ticket screen with the pod in it. Seeded
//! through the public API, as a person would.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow};
use serde_json::{Value, json};

use crate::config::Secret;
use crate::connectwise::simulator::{SimCredentials, Simulator};

/// Where the demo lives, and what it prints.
pub struct Demo {
    pub dir: PathBuf,
    /// Removed when the demo stops.
    pub temporary: bool,
    pub addr: SocketAddr,
    pub token: String,
    pub msp_id: String,
    pub graphiql: String,
    pub ticket_page: String,
    pub live_link: String,
    pub sim: Simulator,
    server: tokio::task::JoinHandle<()>,
    runner: Option<crate::jobs::Runner>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Example queries the demo prints (and its test runs).
pub const EXAMPLES: [(&str, &str); 3] = [
    (
        "The imported customers, their tags and variables",
        "{ organizations(limit: 5, order: [[\"name\"]]) { name tags { name } variables { name value } } }",
    ),
    (
        "Where customers can be imported from, and how healthy it is",
        "{ psaImportSources(orgId: \"{msp}\") { name psaRef health { status reason } selectable } }",
    ),
    (
        "The Toolbox run behind the pod",
        "{ workflowExecutions(limit: 1) { status workflowName output } }",
    ),
];

struct Api {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Api {
    async fn call(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let body: Value = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await?
            .json()
            .await?;
        if let Some(errors) = body.get("errors") {
            return Err(anyhow!("seeding failed: {errors}"));
        }
        Ok(body["data"].clone())
    }
}

use crate::progress::step;

/// Starts the demo: `data` keeps the database there (else a temporary directory),
/// `bind` is where the server listens (`127.0.0.1:0` for any free port).
pub async fn start(data: Option<PathBuf>, bind: SocketAddr) -> anyhow::Result<Demo> {
    let (dir, temporary) = match data {
        Some(d) => (d, false),
        None => (
            std::env::temp_dir().join(format!("orghub-demo-{}", uuid::Uuid::now_v7().simple())),
            true,
        ),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let total = crate::progress::steps(7);
    step(&total, "starting the ConnectWise simulator (300 companies)");
    let sim = Simulator::start(300, SimCredentials::default()).await?;
    step(&total, "starting orghub on SQLite");
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    let addr = listener.local_addr()?;
    let mut config = crate::Config::defaults();
    config.database_url = format!("sqlite://{}", dir.join("orghub.db").display());
    config.bind = addr;
    config.public_url = Some(format!("http://localhost:{}", addr.port()));
    config.jwt_secret = Some(Secret::new("orghub-demo-secret-orghub-demo-secret"));
    config.secret_key = Some(Secret::new(
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    ));
    config.job_poll_ms = 200;
    let app = crate::build(&config).await?;
    let fresh = crate::domain::users::bootstrap(&app.state.store, "Demo MSP", "admin@demo.example")
        .await
        .map_err(|e| anyhow!(e.client_message()))?;
    let is_fresh = fresh.is_some();
    let admin = match fresh {
        Some((_, admin)) => admin,
        None => crate::domain::users::by_email(&app.state.store, "admin@demo.example")
            .await
            .map_err(|e| anyhow!(e.client_message()))?
            .ok_or_else(|| anyhow!("the demo database in {} has no demo admin", dir.display()))?,
    };
    let token =
        app.state
            .auth
            .tokens
            .mint(admin.id, &admin.username, Duration::from_secs(24 * 3600))?;
    let runner = crate::jobs::Runner::start(
        app.state.store.clone(),
        crate::jobs::RunnerSettings::from_config(&config),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = app.router.clone();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    let api = Api {
        http: crate::http_client()?,
        url: format!("http://{addr}/graphql"),
        token: token.clone(),
    };
    let msp_id = admin.org_id.to_string();
    let seeded = seed(&api, &sim, &msp_id, is_fresh, &total).await?;
    total.finish_and_clear();
    Ok(Demo {
        dir,
        temporary,
        addr,
        graphiql: format!("http://localhost:{}/graphql", addr.port()),
        ticket_page: format!(
            "http://{}/cw/ticket/1001?pod=http://localhost:{}/organizations/{msp_id}/integrations/embed/ticket/1001",
            sim.host(),
            addr.port()
        ),
        live_link: seeded,
        token,
        msp_id,
        sim,
        server,
        runner: Some(runner),
        stop: Some(stop),
    })
}

/// What a newcomer would do by hand; returns the live link.
async fn seed(
    api: &Api,
    sim: &Simulator,
    msp: &str,
    fresh: bool,
    total: &indicatif::ProgressBar,
) -> anyhow::Result<String> {
    let c = &sim.credentials;
    let config = if fresh {
        step(total, "configuring ConnectWise and checking its health");
        let made = api
            .call(
                "mutation($c: PackConfigCreateInput!) { createPackConfig(packConfig: $c) { id } }",
                json!({ "c": { "orgId": msp, "packId": "connectwise-psa", "name": "ConnectWise (simulated)", "config": {
                    "hostname": sim.host(), "company_id": c.company_id, "public_key": c.public_key,
                    "private_key": c.private_key, "client_id": c.client_id } } }),
            )
            .await?;
        made["createPackConfig"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    } else {
        let list = api
            .call("query($o: ID!) { packConfigsForOrg(orgId: $o, packIds: [\"connectwise-psa\"]) { id } }", json!({ "o": msp }))
            .await?;
        list["packConfigsForOrg"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    // The simulator's port changes between runs: point the config at this one.
    api.call(
        "mutation($c: PackConfigUpdateInput!) { updatePackConfig(packConfig: $c) { id } }",
        json!({ "c": { "id": config, "config": { "hostname": sim.host() } } }),
    )
    .await?;
    api.call(
        "mutation($c: ID!) { testPackConfig(packConfig: {id: $c}) { executionId } }",
        json!({ "c": config }),
    )
    .await?;
    if fresh {
        step(
            total,
            "importing 12 customers from ConnectWise (a background job)",
        );
        let companies = api
            .call(
                "query($o: ID!, $c: ID!) { psaOrganizations(orgId: $o, psaPackConfigId: $c, psaRef: \"connectwise-psa\", refresh: true, statuses: [\"1\"], accountTypes: [\"1\"]) { id name } }",
                json!({ "o": msp, "c": config }),
            )
            .await?;
        let records: Vec<Value> = companies["psaOrganizations"]
            .as_array()
            .into_iter()
            .flatten()
            .take(12)
            .map(|c| json!({ "organizationName": c["name"], "externalId": c["id"] }))
            .collect();
        let started = api
            .call(
                "mutation($i: OrganizationImportInput!) { processOrganizationImport(input: $i) { import { id } } }",
                json!({ "i": { "defaultManagingOrgId": msp, "importType": "PSA", "psaPackConfigId": config, "records": records } }),
            )
            .await?;
        let import = started["processOrganizationImport"]["import"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        for _ in 0..300 {
            let s = api
                .call(
                    "query($i: ID!) { organizationImport(id: $i) { status } }",
                    json!({ "i": import }),
                )
                .await?;
            if s["organizationImport"]["status"] != "PROCESSING" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        step(total, "tags and cascading variables");
        let orgs = api
            .call(
                "{ organizations(limit: 20, order: [[\"name\"]]) { id name } }",
                json!({}),
            )
            .await?;
        let ids: Vec<String> = orgs["organizations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|o| o["id"] != msp)
            .filter_map(|o| o["id"].as_str().map(str::to_owned))
            .collect();
        let mut tags = Vec::new();
        for (name, color) in [("VIP", "#D64545"), ("Managed Services", "#2680C2")] {
            let t = api
                .call(
                    "mutation($t: TagCreateInput!) { createTag(tag: $t) { id } }",
                    json!({ "t": { "name": name, "color": color, "orgId": msp } }),
                )
                .await?;
            tags.push(t["createTag"]["id"].as_str().unwrap_or_default().to_owned());
        }
        for (i, org) in ids.iter().enumerate() {
            let chosen: Vec<&String> = if i % 3 == 0 {
                tags.iter().collect()
            } else {
                tags.iter().skip(1).collect()
            };
            api.call(
                "mutation($o: ID!, $t: [ID!]!) { setOrganizationTags(orgId: $o, tagIds: $t) { id } }",
                json!({ "o": org, "t": chosen }),
            )
            .await?;
        }
        let mut vars = vec![
            json!({ "orgId": msp, "name": "support_email", "value": "help@demo-msp.example", "category": "contact", "cascade": true }),
            json!({ "orgId": msp, "name": "default_rmm", "value": "ninjaone", "category": "general", "cascade": true }),
        ];
        if let Some(first) = ids.first() {
            vars.push(json!({ "orgId": first, "name": "site_code", "value": "HQ-01", "category": "general", "cascade": false }));
            vars.push(json!({ "orgId": first, "name": "wifi_password", "value": "correct horse battery", "category": "secret", "cascade": false }));
        }
        api.call(
            "mutation($v: [OrgVariableUpdateInput!]!) { bulkUpdateOrgVariables(orgVariables: $v) { id } }",
            json!({ "v": vars }),
        )
        .await?;
    }
    step(total, "a live link, and a Toolbox run for ticket #1001");
    let link = api
        .call(
            "mutation($o: ID!, $c: ID!) { createLiveLink(orgId: $o, packConfigId: $c) { url } }",
            json!({ "o": msp, "c": config }),
        )
        .await?;
    let link = link["createLiveLink"]["url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let click = link.replace("http://localhost:", "http://127.0.0.1:");
    api.http
        .get(format!("{click}&ticketId=1001"))
        .send()
        .await
        .context("starting the Toolbox run")?;
    step(total, "ready");
    Ok(link)
}

impl Demo {
    /// What the demo prints once it runs.
    pub fn banner(&self) -> String {
        let mut out = format!(
            "\norghub demo is running (data in {}{}).\n\n\
             GraphiQL:    {}\n\
             Admin token: {}\n             (in GraphiQL: Headers → {{\"Authorization\": \"Bearer <token>\"}})\n\n\
             A ConnectWise ticket with the orghub pod in it:\n  {}\n\n\
             The live link (ConnectWise's Links table), here for ticket #1002:\n  {}&ticketId=1002\n\n\
             Try, with the token:\n",
            self.dir.display(),
            if self.temporary {
                "; removed on Ctrl-C"
            } else {
                ""
            },
            self.graphiql,
            self.token,
            self.ticket_page,
            self.live_link,
        );
        for (what, query) in self.examples() {
            out.push_str(&format!("  # {what}\n  {query}\n"));
        }
        out.push_str("\nCtrl-C stops everything.\n");
        out
    }

    /// The example queries, with this demo's ids in them.
    pub fn examples(&self) -> Vec<(&'static str, String)> {
        EXAMPLES
            .iter()
            .map(|(what, q)| (*what, q.replace("{msp}", &self.msp_id)))
            .collect()
    }

    /// Stops the server and the runner; removes the temporary data.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = (&mut self.server).await;
        if let Some(r) = self.runner.take() {
            r.shutdown(Duration::from_secs(5)).await;
        }
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
