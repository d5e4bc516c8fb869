//! A local tool for tests and the demo of custom integrations: an axum app on a loopback
//! port with one authentication scheme of [`ToolAuth`] (serving its own OAuth2 token
//! endpoint when it uses OAuth2), a health endpoint, 57 seeded clients listed four ways
//! (page/size, offset/limit, a next URL in the body, a `Link` header), a `POST` that
//! echoes, and its own OpenAPI description in JSON and YAML — with switches for faults.
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{Value, json};

use super::{Auth, CustomSpec, HealthCheck, KeyLocation, ListRequest, Paging};
use crate::psa::autotask_sim::{company_name, seeded_active, website};

/// The seeded clients: ids 1 to 57, every tenth inactive.
pub const CLIENTS: usize = 57;
/// Items per page of `/api/v3/clients` and the default of `/api/v4/clients`.
pub const CURSOR_PAGE: usize = 20;
/// The name of the security scheme in the OpenAPI documents.
pub const SCHEME: &str = "toolAuth";

/// What the tool accepts.
#[derive(Clone, Debug)]
pub enum ToolAuth {
    None,
    /// An API key in this header.
    ApiKeyHeader(String, String),
    /// An API key in this query parameter.
    ApiKeyQuery(String, String),
    /// User and password.
    Basic(String, String),
    Bearer(String),
    /// Client credentials at `/oauth/token`; tokens need `scope` when it is not empty.
    OAuth2 {
        client_id: String,
        client_secret: String,
        scope: String,
    },
}

/// The four list endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolListing {
    /// `/api/v1/clients?page=&pageSize=`: `{"data": [...]}`.
    PageSize,
    /// `/api/v2/clients?offset=&limit=`: a bare array, ids `"C-1"`, an `archived` flag.
    OffsetLimit,
    /// `/api/v3/clients?cursor=`: `{"results": [...], "next": url}`.
    NextInBody,
    /// `/api/v4/clients?page=`: a bare array and `Link: <…>; rel="next"`.
    LinkHeader,
}

struct Seeded {
    id: i64,
    name: String,
    website: Option<String>,
    active: bool,
}

#[derive(Clone)]
struct Sim {
    auth: ToolAuth,
    site: String,
    clients: Arc<Vec<Seeded>>,
    requests: Arc<AtomicU64>,
    /// (429s, 500s) still to answer.
    faults: Arc<Mutex<(u32, u32)>>,
    healthy: Arc<AtomicBool>,
    tokens: Arc<Mutex<HashSet<String>>>,
    issued: Arc<AtomicU64>,
    /// Where next-page URLs point instead of the tool itself.
    next_origin: Arc<Mutex<Option<String>>>,
}

/// A running tool.
pub struct ToolSim {
    pub addr: SocketAddr,
    sim: Sim,
}

type Params = Vec<(String, String)>;

fn param<'a>(q: &'a Params, name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn number(q: &Params, name: &str, default: usize) -> usize {
    param(q, name)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn unauthorized(challenge: &'static str) -> Response {
    let mut r = (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "error": "unauthorized", "message": "missing or wrong credentials" })),
    )
        .into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    r
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

impl Sim {
    /// Counts the request; the answer of a fault still to come, if any.
    fn count(&self) -> Option<Response> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        if faults.0 > 0 {
            faults.0 -= 1;
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({ "error": "slow down" })),
            )
                .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return Some(r);
        }
        if faults.1 > 0 {
            faults.1 -= 1;
            return Some(
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(json!({ "error": "internal", "message": "something broke" })),
                )
                    .into_response(),
            );
        }
        None
    }

    /// The faults, then the configured authentication: the refusal, if any.
    fn gate(&self, headers: &HeaderMap, q: &Params) -> Option<Response> {
        if let Some(fault) = self.count() {
            return Some(fault);
        }
        let header_is = |name: &str, expected: &str| {
            headers.get(name).and_then(|v| v.to_str().ok()) == Some(expected)
        };
        let bearer = || {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
        };
        let (ok, challenge) = match &self.auth {
            ToolAuth::None => (true, ""),
            ToolAuth::ApiKeyHeader(name, value) => (header_is(name, value), "ApiKey"),
            ToolAuth::ApiKeyQuery(name, value) => {
                (param(q, name) == Some(value.as_str()), "ApiKey")
            }
            ToolAuth::Basic(user, password) => {
                let expected = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
                );
                (
                    header_is(header::AUTHORIZATION.as_str(), &expected),
                    "Basic realm=\"tool\"",
                )
            }
            ToolAuth::Bearer(token) => (bearer() == Some(token.as_str()), "Bearer"),
            ToolAuth::OAuth2 { .. } => {
                let known = bearer().is_some_and(|t| {
                    self.tokens
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .contains(t)
                });
                (known, "Bearer error=\"invalid_token\"")
            }
        };
        (!ok).then(|| unauthorized(challenge))
    }

    fn next_origin(&self) -> Option<String> {
        self.next_origin
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

async fn token(State(sim): State<Sim>, Form(form): Form<Params>) -> Response {
    let ToolAuth::OAuth2 {
        client_id,
        client_secret,
        scope,
    } = &sim.auth
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Some(r) = sim.count() {
        return r;
    }
    if param(&form, "grant_type") != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials",
        );
    }
    if param(&form, "client_id") != Some(client_id.as_str())
        || param(&form, "client_secret") != Some(client_secret.as_str())
    {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        );
    }
    let asked = param(&form, "scope").unwrap_or("");
    if !scope.is_empty() && !asked.split_whitespace().any(|s| s == scope) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("the scope {scope} is required"),
        );
    }
    let value = format!("tool-{}", uuid::Uuid::now_v7().simple());
    sim.tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(value.clone());
    sim.issued.fetch_add(1, Ordering::SeqCst);
    Json(json!({
        "access_token": value,
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": asked,
    }))
    .into_response()
}

async fn health(State(sim): State<Sim>, headers: HeaderMap, Query(q): Query<Params>) -> Response {
    if let Some(r) = sim.gate(&headers, &q) {
        return r;
    }
    if sim.healthy.load(Ordering::SeqCst) {
        Json(json!({ "ok": true })).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "ok": false, "message": "down for maintenance" })),
        )
            .into_response()
    }
}

async fn clients_v1(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Response {
    if let Some(r) = sim.gate(&headers, &q) {
        return r;
    }
    let page = number(&q, "page", 1).max(1);
    let size = number(&q, "pageSize", 25).clamp(1, 1000);
    let data: Vec<Value> = sim
        .clients
        .iter()
        .skip((page - 1).saturating_mul(size))
        .take(size)
        .map(|c| json!({ "id": c.id, "name": c.name, "web": c.website, "active": c.active }))
        .collect();
    Json(json!({ "data": data, "page": page, "pageSize": size, "total": sim.clients.len() }))
        .into_response()
}

async fn clients_v2(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Response {
    if let Some(r) = sim.gate(&headers, &q) {
        return r;
    }
    let offset = number(&q, "offset", 0);
    let limit = number(&q, "limit", 20).clamp(1, 1000);
    let items: Vec<Value> = sim
        .clients
        .iter()
        .skip(offset)
        .take(limit)
        .map(|c| {
            json!({
                "id": format!("C-{}", c.id),
                "name": c.name,
                "url": c.website,
                "archived": !c.active,
            })
        })
        .collect();
    Json(items).into_response()
}

async fn clients_v3(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Response {
    if let Some(r) = sim.gate(&headers, &q) {
        return r;
    }
    let cursor = number(&q, "cursor", 0);
    let results: Vec<Value> = sim
        .clients
        .iter()
        .skip(cursor)
        .take(CURSOR_PAGE)
        .map(|c| {
            json!({
                "clientId": c.id,
                "attributes": { "displayName": c.name, "homepage": c.website },
                "status": if c.active { "active" } else { "inactive" },
            })
        })
        .collect();
    let after = cursor + CURSOR_PAGE;
    let next = if after < sim.clients.len() {
        let origin = sim.next_origin().unwrap_or_else(|| sim.site.clone());
        json!(format!("{origin}/api/v3/clients?cursor={after}"))
    } else {
        Value::Null
    };
    Json(json!({ "results": results, "next": next })).into_response()
}

async fn clients_v4(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Response {
    if let Some(r) = sim.gate(&headers, &q) {
        return r;
    }
    let page = number(&q, "page", 1).max(1);
    let per_page = number(&q, "per_page", CURSOR_PAGE).clamp(1, 100);
    let items: Vec<Value> = sim
        .clients
        .iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .map(|c| json!({ "id": c.id, "name": c.name, "homepage": c.website, "active": c.active }))
        .collect();
    let last = sim.clients.len().div_ceil(per_page).max(1);
    // Relative links, as some tools send them; absolute when pointed elsewhere.
    let origin = sim.next_origin().unwrap_or_default();
    let link = |p: usize, rel: &str| {
        format!("<{origin}/api/v4/clients?page={p}&per_page={per_page}>; rel=\"{rel}\"")
    };
    let mut links = vec![link(1, "first")];
    if page < last {
        links.push(link(page + 1, "next"));
    }
    links.push(link(last, "last"));
    let mut r = Json(items).into_response();
    if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
        r.headers_mut().insert(header::LINK, v);
    }
    r
}

async fn add_note(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Params>,
    body: axum::body::Bytes,
) -> Response {
    if let Some(r) = sim.gate(&headers, &q) {
        return r;
    }
    let known = id
        .parse::<i64>()
        .ok()
        .filter(|id| sim.clients.iter().any(|c| c.id == *id));
    let Some(id) = known else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "not_found", "message": format!("no client {id}") })),
        )
            .into_response();
    };
    let note: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (
        StatusCode::CREATED,
        Json(json!({ "clientId": id, "note": note })),
    )
        .into_response()
}

async fn openapi_json(State(sim): State<Sim>) -> Response {
    Json(openapi_document(&sim.auth, &sim.site)).into_response()
}

async fn openapi_yaml(State(sim): State<Sim>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/yaml")],
        openapi_yaml_text(&sim.auth, &sim.site),
    )
        .into_response()
}

/// The security scheme of the documents, and the scopes the document requires.
fn scheme(auth: &ToolAuth, site: &str) -> Option<(Value, Vec<String>)> {
    Some(match auth {
        ToolAuth::None => return None,
        ToolAuth::ApiKeyHeader(name, _) => (
            json!({ "type": "apiKey", "in": "header", "name": name }),
            vec![],
        ),
        ToolAuth::ApiKeyQuery(name, _) => (
            json!({ "type": "apiKey", "in": "query", "name": name }),
            vec![],
        ),
        ToolAuth::Basic(..) => (json!({ "type": "http", "scheme": "basic" }), vec![]),
        ToolAuth::Bearer(_) => (
            json!({ "type": "http", "scheme": "bearer", "bearerFormat": "opaque" }),
            vec![],
        ),
        ToolAuth::OAuth2 { scope, .. } => {
            let scopes: Vec<String> = Some(scope.clone())
                .filter(|s| !s.is_empty())
                .into_iter()
                .collect();
            let declared: serde_json::Map<String, Value> = scopes
                .iter()
                .map(|s| (s.clone(), json!("what the tool requires")))
                .collect();
            (
                json!({
                    "type": "oauth2",
                    "flows": { "clientCredentials": {
                        "tokenUrl": format!("{site}/oauth/token"),
                        "scopes": declared,
                    }},
                }),
                scopes,
            )
        }
    })
}

/// The tool's OpenAPI 3.0 description (as `/openapi.json` serves it).
pub fn openapi_document(auth: &ToolAuth, site: &str) -> Value {
    let client = json!({
        "type": "object",
        "properties": {
            "id": { "type": "integer" },
            "name": { "type": "string" },
            "web": { "type": "string", "nullable": true },
            "active": { "type": "boolean" },
        },
    });
    let json_of = |schema: Value| json!({ "application/json": { "schema": schema } });
    let query =
        |name: &str| json!({ "name": name, "in": "query", "schema": { "type": "integer" } });
    let mut doc = json!({
        "openapi": "3.0.3",
        "info": { "title": "Tool Sim", "version": "1.4.0" },
        "servers": [{ "url": format!("{site}/api") }],
        "paths": {
            "/health": { "get": {
                "operationId": "getHealth",
                "summary": "Whether the tool is up",
                "responses": {
                    "200": { "description": "up", "content": json_of(json!({
                        "type": "object", "properties": { "ok": { "type": "boolean" } },
                    })) },
                    "503": { "description": "down" },
                },
            }},
            "/v1/clients": { "get": {
                "operationId": "listClientsV1",
                "summary": "Clients, page by page",
                "parameters": [query("page"), query("pageSize")],
                "responses": { "200": { "description": "a page", "content": json_of(json!({
                    "type": "object",
                    "properties": {
                        "data": { "$ref": "#/components/schemas/ClientList" },
                        "total": { "type": "integer" },
                    },
                })) } },
            }},
            "/v2/clients": { "get": {
                "operationId": "listClientsV2",
                "summary": "Clients by offset",
                "parameters": [query("offset"), query("limit")],
                "responses": { "200": { "description": "a page", "content": json_of(json!({
                    "type": "array", "items": { "type": "object" },
                })) } },
            }},
            "/v3/clients": { "get": {
                "operationId": "listClientsV3",
                "summary": "Clients with a cursor",
                "parameters": [{ "name": "cursor", "in": "query", "schema": { "type": "string" } }],
                "responses": { "200": { "description": "a page", "content": json_of(json!({
                    "type": "object",
                    "properties": {
                        "results": { "type": "array", "items": { "type": "object" } },
                        "next": { "type": "string", "nullable": true },
                    },
                })) } },
            }},
            "/v4/clients": { "get": {
                "summary": "Clients with a Link header",
                "parameters": [query("page"), query("per_page")],
                "responses": { "200": { "description": "a page", "content": json_of(json!({
                    "$ref": "#/components/schemas/ClientList",
                })) } },
            }},
            "/v1/clients/{id}/notes": {
                "parameters": [{ "$ref": "#/components/parameters/ClientId" }],
                "post": {
                    "operationId": "createNote",
                    "summary": "Adds a note to a client",
                    "parameters": [{
                        "name": "X-Request-Id", "in": "header", "required": false,
                        "schema": { "type": "string" },
                    }],
                    "requestBody": { "content": json_of(json!({ "type": "object" })) },
                    "responses": {
                        "201": { "description": "the note", "content": json_of(json!({ "type": "object" })) },
                        "404": { "description": "no such client" },
                    },
                },
            },
        },
        "components": {
            "parameters": {
                "ClientId": {
                    "name": "id", "in": "path", "required": true,
                    "schema": { "type": "integer" },
                },
            },
            "schemas": {
                "Client": client,
                "ClientList": { "type": "array", "items": { "$ref": "#/components/schemas/Client" } },
            },
        },
    });
    if let Some((scheme, scopes)) = scheme(auth, site) {
        doc["components"]["securitySchemes"] = json!({ SCHEME: scheme });
        doc["security"] = json!([{ SCHEME: scopes }]);
    }
    doc
}

/// The same description written by hand in YAML (as `/openapi.yaml` serves it): block
/// style, unquoted keys and status codes, a server variable, an anchor and comments.
pub fn openapi_yaml_text(auth: &ToolAuth, site: &str) -> String {
    let (scheme_text, security) = match scheme(auth, site) {
        None => (String::new(), String::new()),
        Some((scheme, scopes)) => {
            let mut lines = format!("  securitySchemes:\n    {SCHEME}:\n");
            if let Some(fields) = scheme.as_object() {
                for (k, v) in fields {
                    match v {
                        Value::String(s) => lines.push_str(&format!("      {k}: {s}\n")),
                        _ => {
                            // The OAuth2 flows, as flow-style JSON (valid YAML).
                            lines.push_str(&format!("      {k}: {v}\n"));
                        }
                    }
                }
            }
            let list = scopes
                .iter()
                .map(|s| format!("\"{s}\""))
                .collect::<Vec<_>>()
                .join(", ");
            (lines, format!("security:\n  - {SCHEME}: [{list}]\n"))
        }
    };
    let (scheme, rest) = site.split_once("://").unwrap_or(("http", site));
    let (host, port) = rest.rsplit_once(':').unwrap_or((rest, "80"));
    format!(
        r##"# The Tool Sim API, written by hand.
openapi: 3.0.3
info:
  title: Tool Sim
  version: "1.4.0"
servers:
  - url: "{{scheme}}://{host}:{{port}}/api"
    variables:
      scheme:
        default: {scheme}
        enum: [http, https]
      port:
        default: "{port}"
{security}paths:
  /health:
    get:
      operationId: getHealth
      summary: Whether the tool is up
      responses:
        200:
          description: up
          content:
            application/json:
              schema:
                type: object
                properties:
                  ok: {{type: boolean}}
        503:
          description: down
  /v1/clients:
    get:
      operationId: listClientsV1
      summary: Clients, page by page
      parameters:
        - &page
          name: page
          in: query
          schema: {{type: integer}}
        - name: pageSize
          in: query
          schema:
            type: integer
      responses:
        "200":
          description: a page
          content:
            application/json:
              schema:
                type: object
                properties:
                  data:
                    $ref: '#/components/schemas/ClientList'
                  total:
                    type: integer
  /v2/clients:
    get:
      operationId: listClientsV2
      summary: Clients by offset
      parameters:
        - {{name: offset, in: query, schema: {{type: integer}}}}
        - {{name: limit, in: query, schema: {{type: integer}}}}
      responses:
        200:
          description: a page
          content:
            application/json:
              schema:
                type: array
                items: {{type: object}}
  /v3/clients:
    get:
      operationId: listClientsV3
      summary: Clients with a cursor
      parameters:
        - name: cursor
          in: query
          schema:
            type: string
      responses:
        200:
          description: a page
          content:
            application/json:
              schema:
                type: object
                properties:
                  results:
                    type: array
                    items:
                      type: object
                  next:
                    type: string
                    nullable: true
  /v4/clients:
    get:
      summary: Clients with a Link header
      parameters:
        - *page
        - name: per_page
          in: query
          schema: {{type: integer}}
      responses:
        200:
          description: a page
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/ClientList"
  "/v1/clients/{{id}}/notes":
    parameters:
      - $ref: "#/components/parameters/ClientId"
    post:
      operationId: createNote
      summary: Adds a note to a client
      parameters:
        - name: X-Request-Id
          in: header
          required: false
          schema:
            type: string
      requestBody:
        content:
          application/json:
            schema:
              type: object
      responses:
        201:
          description: the note
          content:
            application/json:
              schema:
                type: object
        404:
          description: no such client
components:
{scheme_text}  parameters:
    ClientId:
      name: id
      in: path
      required: true
      schema:
        type: integer
  schemas:
    Client:
      type: object
      properties:
        id: {{type: integer}}
        name: {{type: string}}
        web:
          type: string
          nullable: true
        active: {{type: boolean}}
    ClientList:
      type: array
      items:
        $ref: "#/components/schemas/Client"
"##
    )
}

impl ToolSim {
    /// Starts a tool with 57 seeded clients on a loopback port.
    pub async fn start(auth: ToolAuth) -> std::io::Result<ToolSim> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let clients = (1..=CLIENTS as i64)
            .map(|id| {
                let name = company_name(id);
                Seeded {
                    id,
                    website: (id % 7 != 0).then(|| website(&name)),
                    name,
                    active: seeded_active(id),
                }
            })
            .collect();
        let sim = Sim {
            auth,
            site: format!("http://{addr}"),
            clients: Arc::new(clients),
            requests: Arc::new(AtomicU64::new(0)),
            faults: Arc::new(Mutex::new((0, 0))),
            healthy: Arc::new(AtomicBool::new(true)),
            tokens: Arc::new(Mutex::new(HashSet::new())),
            issued: Arc::new(AtomicU64::new(0)),
            next_origin: Arc::new(Mutex::new(None)),
        };
        let router = Router::new()
            .route("/oauth/token", post(token))
            .route("/api/health", get(health))
            .route("/api/v1/clients", get(clients_v1))
            .route("/api/v2/clients", get(clients_v2))
            .route("/api/v3/clients", get(clients_v3))
            .route("/api/v4/clients", get(clients_v4))
            .route("/api/v1/clients/{id}/notes", post(add_note))
            .route("/openapi.json", get(openapi_json))
            .route("/openapi.yaml", get(openapi_yaml))
            .with_state(sim.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!(error = %e, "the tool simulator stopped");
            }
        });
        Ok(ToolSim { addr, sim })
    }

    /// `http://127.0.0.1:PORT` (the API is under `/api`).
    pub fn url(&self) -> String {
        self.sim.site.clone()
    }

    /// The authentication that the tool accepts, as a spec gives it.
    pub fn auth(&self) -> Auth {
        match &self.sim.auth {
            ToolAuth::None => Auth::None,
            ToolAuth::ApiKeyHeader(name, value) => Auth::ApiKey {
                name: name.clone(),
                location: KeyLocation::Header,
                value: value.clone(),
            },
            ToolAuth::ApiKeyQuery(name, value) => Auth::ApiKey {
                name: name.clone(),
                location: KeyLocation::Query,
                value: value.clone(),
            },
            ToolAuth::Basic(user, password) => Auth::Basic {
                username: user.clone(),
                password: password.clone(),
            },
            ToolAuth::Bearer(token) => Auth::Bearer {
                token: token.clone(),
            },
            ToolAuth::OAuth2 {
                client_id,
                client_secret,
                scope,
            } => Auth::OAuth2 {
                token_url: format!("{}/oauth/token", self.url()),
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                scopes: Some(scope.clone())
                    .filter(|s| !s.is_empty())
                    .into_iter()
                    .collect(),
            },
        }
    }

    /// How to read one of the list endpoints.
    pub fn list_request(listing: ToolListing) -> ListRequest {
        let base = |path: &str, paging: Paging, items: &str, id: &str, name: &str| ListRequest {
            path: path.into(),
            query: Default::default(),
            paging,
            items_path: items.into(),
            id_path: id.into(),
            name_path: name.into(),
            website_path: None,
            active_path: None,
        };
        match listing {
            ToolListing::PageSize => ListRequest {
                website_path: Some("web".into()),
                active_path: Some("active".into()),
                ..base(
                    "/v1/clients",
                    Paging::PageSize {
                        page_param: "page".into(),
                        size_param: "pageSize".into(),
                        size: 10,
                        first_page: 1,
                    },
                    "data",
                    "id",
                    "name",
                )
            },
            ToolListing::OffsetLimit => ListRequest {
                website_path: Some("url".into()),
                active_path: Some("!archived".into()),
                ..base(
                    "/v2/clients",
                    Paging::OffsetLimit {
                        offset_param: "offset".into(),
                        limit_param: "limit".into(),
                        limit: 25,
                    },
                    "$",
                    "id",
                    "name",
                )
            },
            ToolListing::NextInBody => ListRequest {
                website_path: Some("attributes.homepage".into()),
                ..base(
                    "/v3/clients",
                    Paging::NextLink {
                        next_path: Some("next".into()),
                    },
                    "results",
                    "clientId",
                    "$.attributes.displayName",
                )
            },
            ToolListing::LinkHeader => ListRequest {
                website_path: Some("homepage".into()),
                active_path: Some("active".into()),
                ..base(
                    "/v4/clients",
                    Paging::NextLink { next_path: None },
                    "",
                    "id",
                    "name",
                )
            },
        }
    }

    /// A spec for this tool: its URL and authentication, `/health`, and `listing`.
    pub fn spec(&self, listing: ToolListing) -> CustomSpec {
        CustomSpec {
            base_url: format!("{}/api", self.url()),
            auth: self.auth(),
            default_headers: Default::default(),
            health: HealthCheck {
                method: "GET".into(),
                path: "/health".into(),
                expected_status: 200,
            },
            list: Some(Self::list_request(listing)),
        }
    }

    /// Requests answered so far (API and token requests; not the OpenAPI documents).
    pub fn requests(&self) -> u64 {
        self.sim.requests.load(Ordering::SeqCst)
    }

    /// The next `rate_limited` requests get 429 (`Retry-After: 1`), then the next
    /// `server_errors` get 500.
    pub fn set_faults(&self, rate_limited: u32, server_errors: u32) {
        *self.sim.faults.lock().unwrap_or_else(|e| e.into_inner()) = (rate_limited, server_errors);
    }

    /// When false, `/api/health` answers 503.
    pub fn set_healthy(&self, healthy: bool) {
        self.sim.healthy.store(healthy, Ordering::SeqCst);
    }

    /// Next-page URLs point to this origin (`http://elsewhere.test`) instead of the tool.
    pub fn set_next_origin(&self, origin: Option<&str>) {
        *self
            .sim
            .next_origin
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = origin.map(str::to_owned);
    }

    /// OAuth2 tokens granted so far.
    pub fn tokens_issued(&self) -> u64 {
        self.sim.issued.load(Ordering::SeqCst)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_api_needs_the_credentials_and_the_documents_do_not() {
        let sim = ToolSim::start(ToolAuth::OAuth2 {
            client_id: "id".into(),
            client_secret: "secret".into(),
            scope: String::new(),
        })
        .await
        .unwrap();
        let http = crate::http_client().unwrap();
        let url = sim.url();
        let res = http.get(format!("{url}/api/health")).send().await.unwrap();
        assert_eq!(res.status(), 401);
        assert!(res.headers().contains_key(header::WWW_AUTHENTICATE));
        for doc in ["openapi.json", "openapi.yaml"] {
            let res = http.get(format!("{url}/{doc}")).send().await.unwrap();
            assert_eq!(res.status(), 200, "{doc}");
        }
        assert_eq!(sim.requests(), 1, "the documents are not counted");

        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", "id"),
            ("client_secret", "secret"),
        ];
        let answer: Value = http
            .post(format!("{url}/oauth/token"))
            .form(&form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = answer["access_token"].as_str().unwrap();
        let ok = http
            .get(format!("{url}/api/v2/clients?offset=50&limit=100"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        let page: Value = ok.json().await.unwrap();
        assert_eq!(page.as_array().unwrap().len(), 7);
        assert_eq!(page[0]["id"], "C-51");
        assert_eq!(sim.tokens_issued(), 1);
        sim.expire_tokens();
        let expired = http
            .get(format!("{url}/api/health"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(expired.status(), 401);

        sim.set_faults(1, 1);
        let statuses = [
            http.post(format!("{url}/oauth/token"))
                .form(&form)
                .send()
                .await
                .unwrap()
                .status(),
            http.post(format!("{url}/oauth/token"))
                .form(&form)
                .send()
                .await
                .unwrap()
                .status(),
        ];
        assert_eq!(statuses, [429, 500]);
    }
}
