//! A local HaloPSA for tests and the demo: an axum app on a loopback port that speaks the
//! wire format the client uses — the client-credentials token endpoint (`/auth/token`,
//! with a `tenant` when configured), bearer tokens that can be expired at will, `/api/Client`
//! paged with `pageinate`/`page_size`/`page_no` and `includeinactive`, `/api/Client/{id}`
//! and the customer types — over deterministic seeded clients, with the same fault
//! switches as the Autotask simulator.
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

pub use super::autotask_sim::Faults;
use super::autotask_sim::{company_name, seeded_active, website};
use super::halo::HaloCredentials;

/// Credentials the simulator accepts, and how long its tokens live.
#[derive(Clone, Debug)]
pub struct HaloSimCredentials {
    pub client_id: String,
    pub client_secret: String,
    /// When set, the token endpoint requires `?tenant=` with this value (hosted Halo).
    pub tenant: Option<String>,
    /// `expires_in` of the tokens issued, in seconds.
    pub expires_in: u64,
}

impl Default for HaloSimCredentials {
    fn default() -> Self {
        HaloSimCredentials {
            client_id: "sim-halo-client".into(),
            client_secret: "sim-halo-secret".into(),
            tenant: None,
            expires_in: 3600,
        }
    }
}

/// The customer types: (id, name).
pub const CUSTOMER_TYPES: [(i64, &str); 4] = [
    (1, "Managed"),
    (2, "Break/Fix"),
    (3, "Project"),
    (4, "Prospect"),
];

fn seed(clients: usize) -> Vec<Value> {
    (1..=clients as i64)
        .map(|id| {
            let name = company_name(id);
            let (customer_type, type_name) =
                CUSTOMER_TYPES[(id as usize - 1) % CUSTOMER_TYPES.len()];
            json!({
                "id": id,
                "name": name,
                "toplevel_id": 1,
                "toplevel_name": "Customers",
                "inactive": !seeded_active(id),
                "colour": "#2bd3c6",
                "website": if id % 7 == 0 { Value::Null } else { json!(website(&name)) },
                "customertype": customer_type,
                "customertype_name": type_name,
                "main_site_id": id * 10,
                "main_site_name": "Main",
                "client_to_invoice": 0,
                "is_vip": false,
                "datecreated": format!("2023-{:02}-{:02}T10:00:00Z", 1 + id % 12, 1 + id % 28),
            })
        })
        .collect()
}

#[derive(Clone)]
struct Sim {
    creds: HaloSimCredentials,
    clients: Arc<Vec<Value>>,
    faults: Arc<Mutex<Faults>>,
    requests: Arc<Mutex<u64>>,
    /// Valid tokens and when they expire.
    tokens: Arc<Mutex<HashMap<String, Instant>>>,
    issued: Arc<Mutex<u64>>,
    site: String,
}

/// A running simulator.
pub struct HaloSimulator {
    pub addr: SocketAddr,
    pub credentials: HaloSimCredentials,
    sim: Sim,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

fn unauthorized() -> Response {
    let mut r = StatusCode::UNAUTHORIZED.into_response();
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

impl Sim {
    /// Counting, delay, 429 and 500 for every request; the faults in force.
    async fn gate(&self) -> Result<Faults, Response> {
        *self.requests.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let faults = self
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(d) = faults.delay {
            tokio::time::sleep(d).await;
        }
        let mut f = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        if f.rate_limited > 0 {
            f.rate_limited -= 1;
            let mut r = (StatusCode::TOO_MANY_REQUESTS, "Too many requests").into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return Err(r);
        }
        if f.server_errors > 0 {
            f.server_errors -= 1;
            return Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!("An unexpected error occurred")),
            )
                .into_response());
        }
        Ok(faults)
    }

    /// The gate, then a valid bearer token.
    async fn api_gate(&self, headers: &HeaderMap) -> Result<(), Response> {
        let faults = self.gate().await?;
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let valid = token.is_some_and(|t| {
            self.tokens
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(t)
                .is_some_and(|expiry| Instant::now() < *expiry)
        });
        if faults.reject_credentials || !valid {
            return Err(unauthorized());
        }
        Ok(())
    }
}

async fn token(
    State(sim): State<Sim>,
    Query(q): Query<HashMap<String, String>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let faults = match sim.gate().await {
        Ok(f) => f,
        Err(r) => return r,
    };
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Only client_credentials is supported",
        );
    }
    if let Some(tenant) = &sim.creds.tenant
        && !q
            .get("tenant")
            .is_some_and(|t| t.eq_ignore_ascii_case(tenant))
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The tenant is not known",
        );
    }
    let c = &sim.creds;
    let valid = form.get("client_id") == Some(&c.client_id)
        && form.get("client_secret") == Some(&c.client_secret);
    if faults.reject_credentials || !valid {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The client credentials are not valid",
        );
    }
    let value = format!("sim-{}", uuid::Uuid::now_v7().simple());
    sim.tokens.lock().unwrap_or_else(|e| e.into_inner()).insert(
        value.clone(),
        Instant::now() + Duration::from_secs(c.expires_in),
    );
    *sim.issued.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    Json(json!({
        "scope": form.get("scope").cloned().unwrap_or_else(|| "all".into()),
        "token_type": "Bearer",
        "access_token": value,
        "expires_in": c.expires_in,
    }))
    .into_response()
}

fn flag(q: &HashMap<String, String>, key: &str, default: bool) -> bool {
    q.get(key)
        .map(|v| v.eq_ignore_ascii_case("true") || v == "1")
        .unwrap_or(default)
}

fn number(q: &HashMap<String, String>, key: &str) -> Option<usize> {
    q.get(key).and_then(|v| v.trim().parse().ok())
}

async fn list_clients(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = sim.api_gate(&headers).await {
        return r;
    }
    let (active, inactive) = (
        flag(&q, "includeactive", true),
        flag(&q, "includeinactive", false),
    );
    let matching: Vec<&Value> = sim
        .clients
        .iter()
        .filter(|c| {
            if c["inactive"] == true {
                inactive
            } else {
                active
            }
        })
        .collect();
    let total = matching.len();
    if flag(&q, "pageinate", false) {
        let size = number(&q, "page_size").unwrap_or(50).clamp(1, 1000);
        let page = number(&q, "page_no").unwrap_or(1).max(1);
        let items: Vec<&Value> = matching
            .into_iter()
            .skip((page - 1) * size)
            .take(size)
            .collect();
        Json(json!({ "page_no": page, "page_size": size, "record_count": total, "clients": items }))
            .into_response()
    } else {
        let count = number(&q, "count").unwrap_or(usize::MAX);
        let items: Vec<&Value> = matching.into_iter().take(count).collect();
        Json(json!({ "record_count": total, "clients": items })).into_response()
    }
}

async fn one_client(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = sim.api_gate(&headers).await {
        return r;
    }
    let found = id
        .parse::<i64>()
        .ok()
        .and_then(|id| sim.clients.iter().find(|c| c["id"].as_i64() == Some(id)));
    match found {
        Some(c) => Json(c).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!(format!("Client {id} was not found"))),
        )
            .into_response(),
    }
}

async fn customer_types(State(sim): State<Sim>, headers: HeaderMap) -> Response {
    if let Err(r) = sim.api_gate(&headers).await {
        return r;
    }
    let list: Vec<Value> = CUSTOMER_TYPES
        .iter()
        .map(|(id, name)| json!({ "id": id, "name": name }))
        .collect();
    Json(list).into_response()
}

impl HaloSimulator {
    /// Starts a simulator with `clients` seeded clients on a loopback port.
    pub async fn start(
        clients: usize,
        credentials: HaloSimCredentials,
    ) -> std::io::Result<HaloSimulator> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let sim = Sim {
            creds: credentials.clone(),
            clients: Arc::new(seed(clients)),
            faults: Arc::new(Mutex::new(Faults::default())),
            requests: Arc::new(Mutex::new(0)),
            tokens: Arc::new(Mutex::new(HashMap::new())),
            issued: Arc::new(Mutex::new(0)),
            site: format!("http://{addr}"),
        };
        let router = Router::new()
            .route("/auth/token", post(token))
            .route("/api/Client", get(list_clients))
            .route("/api/Client/{id}", get(one_client))
            .route("/api/CustomerType", get(customer_types))
            .with_state(sim.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!(error = %e, "the HaloPSA simulator stopped");
            }
        });
        Ok(HaloSimulator {
            addr,
            credentials,
            sim,
        })
    }

    /// `http://127.0.0.1:PORT`: resource and authorisation server alike.
    pub fn url(&self) -> String {
        self.sim.site.clone()
    }

    /// Client credentials for this simulator (its tenant, if it has one).
    pub fn client_credentials(&self) -> HaloCredentials {
        let c = &self.credentials;
        HaloCredentials {
            resource_server: self.url(),
            auth_server: String::new(),
            client_id: c.client_id.clone(),
            client_secret: c.client_secret.clone(),
            tenant: c.tenant.clone(),
            on_premise: false,
        }
    }

    pub fn set_faults(&self, faults: Faults) {
        *self.sim.faults.lock().unwrap_or_else(|e| e.into_inner()) = faults;
    }

    /// Requests served so far, token requests included.
    pub fn requests(&self) -> u64 {
        *self.sim.requests.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tokens granted so far.
    pub fn tokens_issued(&self) -> u64 {
        *self.sim.issued.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes every token granted so far invalid: the next API call with one gets 401.
    pub fn expire_tokens(&self) {
        self.sim
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}
