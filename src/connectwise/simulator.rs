//! A local ConnectWise PSA for tests and the demo: an axum app on a loopback port that
//! speaks the wire format the client uses — company-info discovery, Basic auth with
//! `company+public:private`, the `clientId` header, `conditions`, `orderBy`, `page`/`pageSize`
//! with `Link` headers, `/count`, and ConnectWise's error bodies — over deterministic seeded
//! data, with switches for faults (slow, 429, 500, wrong credentials).
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::conditions;

pub const CODEBASE: &str = "v4_6_release/";

/// Credentials the simulator accepts.
#[derive(Clone, Debug)]
pub struct SimCredentials {
    pub company_id: String,
    pub public_key: String,
    pub private_key: String,
    pub client_id: String,
}

impl Default for SimCredentials {
    fn default() -> Self {
        SimCredentials {
            company_id: "acme".into(),
            public_key: "sim-public".into(),
            private_key: "sim-private".into(),
            client_id: "sim-client".into(),
        }
    }
}

/// Faults the next requests meet.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Every response waits this long.
    pub delay: Option<Duration>,
    /// The next N requests get 429 with `Retry-After: 1`.
    pub rate_limited: u32,
    /// The next N requests get 500.
    pub server_errors: u32,
    /// Every request is refused as unauthenticated.
    pub reject_credentials: bool,
    /// Requests to the companies list are refused as forbidden (a role without rights).
    pub forbid_companies: bool,
    /// Changes to configurations are refused as forbidden.
    pub forbid_configuration_updates: bool,
    /// Changes to these configurations fail with 500, every time.
    pub failing_configurations: Vec<i64>,
}

#[derive(Default)]
struct Data {
    collections: HashMap<String, Vec<Value>>,
    next_id: i64,
}

impl Data {
    fn new_id(&mut self) -> i64 {
        self.next_id += 1;
        900_000 + self.next_id
    }
}

/// The key the simulator signs its callbacks with, served at `system/callbackkeys/1`.
pub const SIGNING_KEY: &str = "sim-signing-key";

#[derive(Clone)]
struct Sim {
    creds: SimCredentials,
    data: Arc<Mutex<Data>>,
    faults: Arc<Mutex<Faults>>,
    requests: Arc<Mutex<u64>>,
    base: Arc<Mutex<String>>,
    /// Member sessions of the hosted API: (memberHash, memberContext) → member identifier.
    members: Arc<Mutex<HashMap<(String, String), String>>>,
}

/// A running simulator.
pub struct Simulator {
    pub addr: SocketAddr,
    pub credentials: SimCredentials,
    sim: Sim,
}

const STATUSES: [(i64, &str); 3] = [(1, "Active"), (2, "Inactive"), (3, "Not Approved")];
const TYPES: [(i64, &str); 4] = [
    (1, "Client"),
    (2, "Prospect"),
    (3, "Vendor"),
    (4, "Partner"),
];
const WORDS: [&str; 24] = [
    "Contoso",
    "Fabrikam",
    "Northwind",
    "Tailspin",
    "Litware",
    "Adventure",
    "Wingtip",
    "Proseware",
    "Alpine",
    "Blue Yonder",
    "Coho",
    "Fourth Coffee",
    "Lucerne",
    "Margie's",
    "Relecloud",
    "Trey",
    "Woodgrove",
    "Humongous",
    "Graphic",
    "Wide World",
    "VanArsdel",
    "Datum",
    "Bellows",
    "Southridge",
];
const SUFFIXES: [&str; 6] = ["", " Inc", " LLC", " Ltd", " GmbH", " Co."];

/// The name of seeded company `id` (1-based): "Contoso", "Fabrikam Inc", "Northwind LLC"…,
/// then "Contoso 1 …". Every simulator names its companies so, so tests hold for each PSA.
pub(crate) fn company_name(id: i64) -> String {
    let i = (id - 1).max(0) as usize;
    let word = WORDS[i % WORDS.len()];
    if i < WORDS.len() {
        format!("{word}{}", SUFFIXES[i % SUFFIXES.len()])
    } else {
        format!("{word} {}{}", i / WORDS.len(), SUFFIXES[i % SUFFIXES.len()])
    }
}

fn info(id: i64) -> Value {
    json!({ "lastUpdated": format!("2024-{:02}-{:02}T10:00:00Z", 1 + id % 12, 1 + id % 28), "updatedBy": "sim" })
}

/// Deterministic data: `companies` companies with statuses and types, two configurations and
/// one ticket per company, a few members.
fn seed(companies: usize) -> Data {
    let mut d = Data::default();
    let mut list = Vec::new();
    let mut configs = Vec::new();
    let mut tickets = Vec::new();
    for i in 0..companies {
        let id = i as i64 + 1;
        let name = company_name(id);
        let (sid, sname) = STATUSES[if i % 10 == 9 { 1 } else { 0 }];
        let (tid, tname) = TYPES[i % TYPES.len()];
        let identifier: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(20)
            .collect();
        list.push(json!({
            "id": id, "identifier": format!("{identifier}{id}"), "name": name,
            "status": { "id": sid, "name": sname }, "types": [{ "id": tid, "name": tname }],
            "website": format!("www.{}.example", identifier.to_lowercase()), "deletedFlag": false, "_info": info(id)
        }));
        for k in 0..2 {
            let cid = id * 10 + k;
            configs.push(json!({
                "id": cid, "name": format!("{name} device {k}"), "type": { "id": 1, "name": "Workstation" },
                "status": { "id": 1, "name": "Active" }, "company": { "id": id, "identifier": format!("{identifier}{id}"), "name": name },
                "activeFlag": true, "_info": info(cid)
            }));
        }
        tickets.push(json!({
            "id": 1000 + id, "summary": format!("Onboarding for {name}"), "board": { "id": 1, "name": "Service" },
            "status": { "id": 1, "name": "New" }, "company": { "id": id, "identifier": format!("{identifier}{id}"), "name": name },
            "contact": null, "owner": null, "priority": { "id": 3, "name": "Medium" }, "closedFlag": false, "_info": info(1000 + id)
        }));
    }
    d.collections.insert("company/companies".into(), list);
    d.collections.insert(
        "company/companies/statuses".into(),
        STATUSES
            .iter()
            .map(|(id, n)| json!({ "id": id, "name": n, "inactiveFlag": *id != 1 }))
            .collect(),
    );
    d.collections.insert(
        "company/companies/types".into(),
        TYPES
            .iter()
            .map(|(id, n)| json!({ "id": id, "name": n }))
            .collect(),
    );
    d.collections
        .insert("company/configurations".into(), configs);
    d.collections.insert(
        "company/configurations/statuses".into(),
        vec![
            json!({ "id": 1, "description": "Active", "closedFlag": false }),
            json!({ "id": 2, "description": "Inactive", "closedFlag": true }),
        ],
    );
    d.collections.insert("service/tickets".into(), tickets);
    d.collections.insert(
        "service/boards".into(),
        vec![
            json!({ "id": 1, "name": "Service", "inactiveFlag": false }),
            json!({ "id": 2, "name": "Projects", "inactiveFlag": false }),
        ],
    );
    for (board, names) in [
        (1, ["New", "In Progress", "Waiting Customer", "Completed"]),
        (2, ["Scheduled", "Working", "On Hold", "Done"]),
    ] {
        d.collections.insert(
            format!("service/boards/{board}/statuses"),
            names
                .iter()
                .enumerate()
                .map(|(i, n)| json!({ "id": board * 10 + i as i64 + 1, "name": n, "board": { "id": board } }))
                .collect(),
        );
    }
    d.collections.insert(
        "service/priorities".into(),
        ["Critical", "High", "Medium", "Low"]
            .iter()
            .enumerate()
            .map(|(i, n)| json!({ "id": i as i64 + 1, "name": n }))
            .collect(),
    );
    d.collections.insert(
        "company/contacts/types".into(),
        vec![
            json!({ "id": 1, "description": "Employee" }),
            json!({ "id": 2, "description": "VIP" }),
            json!({ "id": 3, "description": "Vendor Contact" }),
        ],
    );
    d.collections.insert("system/callbacks".into(), Vec::new());
    d.collections.insert(
        "system/members".into(),
        vec![
            json!({ "id": 1, "identifier": "jdoe", "firstName": "Jane", "lastName": "Doe", "officeEmail": "jane@msp.example", "inactiveFlag": false }),
            json!({ "id": 2, "identifier": "bsmith", "firstName": "Bob", "lastName": "Smith", "officeEmail": "bob@msp.example", "inactiveFlag": false }),
        ],
    );
    d
}

fn cw_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "code": code, "message": message, "errors": [] })),
    )
        .into_response()
}

fn decode_basic(headers: &HeaderMap) -> Option<String> {
    use base64::Engine;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?,
    )
    .ok()
}

impl Sim {
    /// Faults and authentication every API call goes through.
    async fn gate(&self, headers: &HeaderMap) -> Result<(), Response> {
        *self.requests.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let faults = self
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(d) = faults.delay {
            tokio::time::sleep(d).await;
        }
        {
            let mut f = self.faults.lock().unwrap_or_else(|e| e.into_inner());
            if f.rate_limited > 0 {
                f.rate_limited -= 1;
                let mut r = cw_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequests",
                    "Too many requests",
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return Err(r);
            }
            if f.server_errors > 0 {
                f.server_errors -= 1;
                return Err(cw_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "UnexpectedError",
                    "An unexpected error occurred",
                ));
            }
        }
        let c = &self.creds;
        let expected = format!("{}+{}:{}", c.company_id, c.public_key, c.private_key);
        if faults.reject_credentials || decode_basic(headers).as_deref() != Some(expected.as_str())
        {
            return Err(cw_error(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "The credentials are not valid",
            ));
        }
        if headers.get("clientId").and_then(|v| v.to_str().ok()) != Some(c.client_id.as_str()) {
            return Err(cw_error(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "A valid clientId header is required",
            ));
        }
        Ok(())
    }
}

async fn company_info(State(sim): State<Sim>, Path(company): Path<String>) -> Response {
    if !company.eq_ignore_ascii_case(&sim.creds.company_id) {
        return cw_error(StatusCode::NOT_FOUND, "NotFound", "Company not found");
    }
    let site = sim.base.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Json(json!({ "CompanyName": "Simulated MSP", "Codebase": CODEBASE, "VersionCode": "v2025.1", "VersionNumber": "v4.6", "CompanyID": company, "IsCloud": false, "SiteUrl": site }))
        .into_response()
}

/// `(page, pageSize)`, or the message of a 400 `InvalidObject`.
fn page_params(q: &HashMap<String, String>) -> Result<(usize, usize), String> {
    let number = |key: &str, default: usize| -> Result<usize, String> {
        q.get(key)
            .map(|p| p.parse::<usize>())
            .transpose()
            .map(|v| v.unwrap_or(default))
            .map_err(|_| format!("{key} must be a number"))
    };
    Ok((
        number("page", 1)?.max(1),
        number("pageSize", 25)?.clamp(1, 1000),
    ))
}

/// The items meeting `conditions`, in `orderBy` order, or the message of a 400 `InvalidObject`.
fn filtered(items: &[Value], q: &HashMap<String, String>) -> Result<Vec<Value>, String> {
    let cond = match q
        .get("conditions")
        .map(String::as_str)
        .filter(|c| !c.trim().is_empty())
    {
        None => None,
        Some(text) => {
            Some(conditions::parse(text).map_err(|e| format!("Expected conditions {e}"))?)
        }
    };
    let mut out: Vec<Value> = items
        .iter()
        .filter(|v| cond.as_ref().is_none_or(|c| c.matches(v)))
        .cloned()
        .collect();
    if let Some(order) = q.get("orderBy") {
        let mut parts = order.split_whitespace();
        let field = parts.next().unwrap_or("id").to_owned();
        let desc = parts.next().is_some_and(|d| d.eq_ignore_ascii_case("desc"));
        out.sort_by(|a, b| {
            let (x, y) = (&a[&field], &b[&field]);
            let o = match (x.as_i64(), y.as_i64()) {
                (Some(i), Some(j)) => i.cmp(&j),
                _ => x
                    .as_str()
                    .unwrap_or("")
                    .to_lowercase()
                    .cmp(&y.as_str().unwrap_or("").to_lowercase()),
            };
            if desc { o.reverse() } else { o }
        });
    }
    Ok(out)
}

async fn list(
    State(sim): State<Sim>,
    Path(rest): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let path = rest.trim_end_matches('/');
    // The callback signing key is fetched without credentials, as from ConnectWise.
    if path == "system/callbackkeys/1" {
        return Json(json!({ "signing_key": SIGNING_KEY })).into_response();
    }
    // The hosted API: a member signed in to ConnectWise, by the cookies of their session.
    if path == "system/myMembers/info" {
        return member_info(&sim, &headers);
    }
    if let Err(r) = sim.gate(&headers).await {
        return r;
    }
    if path == "system/info" {
        return Json(json!({ "version": "v2025.1.12345", "isCloud": false, "serverTimeZone": "UTC", "licenseBits": [] })).into_response();
    }
    if path.starts_with("company/companies")
        && sim
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .forbid_companies
    {
        return cw_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "You do not have access to companies",
        );
    }
    let (collection, counting) = match path.strip_suffix("/count") {
        Some(c) => (c, true),
        None => (path, false),
    };
    let data = sim.data.lock().unwrap_or_else(|e| e.into_inner());
    // `company/companies/250` is one item.
    let (base, id) = match collection.rsplit_once('/') {
        Some((b, last)) if last.parse::<i64>().is_ok() && data.collections.contains_key(b) => {
            (b, last.parse::<i64>().ok())
        }
        _ => (collection, None),
    };
    let Some(items) = data.collections.get(base) else {
        return cw_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("No route for {path}"),
        );
    };
    if let Some(id) = id {
        return match items.iter().find(|v| v["id"].as_i64() == Some(id)) {
            Some(v) => Json(v.clone()).into_response(),
            None => cw_error(
                StatusCode::NOT_FOUND,
                "NotFound",
                &format!("Object {id} was not found"),
            ),
        };
    }
    let matching = match filtered(items, &q) {
        Ok(m) => m,
        Err(m) => return cw_error(StatusCode::BAD_REQUEST, "InvalidObject", &m),
    };
    if counting {
        return Json(json!({ "count": matching.len() })).into_response();
    }
    let (page, size) = match page_params(&q) {
        Ok(p) => p,
        Err(m) => return cw_error(StatusCode::BAD_REQUEST, "InvalidObject", &m),
    };
    let body: Vec<Value> = matching
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .cloned()
        .collect();
    let mut res = Json(Value::Array(body)).into_response();
    let last = matching.len().div_ceil(size).max(1);
    let site = sim.base.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut others: Vec<String> = q
        .iter()
        .filter(|(k, _)| *k != "page" && *k != "pageSize")
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    others.sort();
    let link = |p: usize, rel: &str| {
        let mut params = others.clone();
        params.push(format!("page={p}"));
        params.push(format!("pageSize={size}"));
        format!(
            "<{site}/{CODEBASE}apis/3.0/{path}?{}>; rel=\"{rel}\"",
            params.join("&")
        )
    };
    let mut links = Vec::new();
    if page < last {
        links.push(link(page + 1, "next"));
    }
    links.push(link(last, "last"));
    if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
        res.headers_mut().insert(header::LINK, v);
    }
    res
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Splits `company/configurations/250` into the collection and the id.
fn item_path(path: &str) -> Option<(&str, i64)> {
    let (collection, last) = path.trim_end_matches('/').rsplit_once('/')?;
    Some((collection, last.parse().ok()?))
}

/// Applies JSON-Patch `replace`/`add` operations (paths like `/status/id` or `status`).
fn apply_patch(item: &mut Value, ops: &Value) -> Result<(), String> {
    let ops = ops
        .as_array()
        .ok_or("the body must be a JSON-Patch array")?;
    for op in ops {
        let kind = op["op"].as_str().unwrap_or("");
        if !kind.eq_ignore_ascii_case("replace") && !kind.eq_ignore_ascii_case("add") {
            return Err(format!("unsupported operation `{kind}`"));
        }
        let path = op["path"].as_str().ok_or("every operation needs a path")?;
        let steps: Vec<&str> = path
            .trim_start_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let Some((last, parents)) = steps.split_last() else {
            return Err("an empty path".into());
        };
        let mut target = &mut *item;
        for step in parents {
            if !target.get(*step).is_some_and(Value::is_object) {
                target[*step] = json!({});
            }
            target = &mut target[*step];
        }
        target[*last] = op.get("value").cloned().unwrap_or(Value::Null);
    }
    Ok(())
}

async fn patch_item(
    State(sim): State<Sim>,
    Path(rest): Path<String>,
    headers: HeaderMap,
    Json(ops): Json<Value>,
) -> Response {
    if let Err(r) = sim.gate(&headers).await {
        return r;
    }
    let Some((collection, id)) = item_path(&rest) else {
        return cw_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "PATCH needs an object id",
        );
    };
    if collection == "company/configurations" {
        let f = sim.faults.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if f.forbid_configuration_updates {
            return cw_error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "You do not have access to change configurations",
            );
        }
        if f.failing_configurations.contains(&id) {
            return cw_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "UnexpectedError",
                "An unexpected error occurred",
            );
        }
    }
    let mut data = sim.data.lock().unwrap_or_else(|e| e.into_inner());
    let Some(item) = data
        .collections
        .get_mut(collection)
        .and_then(|items| items.iter_mut().find(|v| v["id"].as_i64() == Some(id)))
    else {
        return cw_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("Object {id} was not found"),
        );
    };
    let mut changed = item.clone();
    if let Err(m) = apply_patch(&mut changed, &ops) {
        return cw_error(StatusCode::BAD_REQUEST, "InvalidObject", &m);
    }
    *item = changed.clone();
    Json(changed).into_response()
}

async fn create_item(
    State(sim): State<Sim>,
    Path(rest): Path<String>,
    headers: HeaderMap,
    Json(mut body): Json<Value>,
) -> Response {
    if let Err(r) = sim.gate(&headers).await {
        return r;
    }
    let path = rest.trim_end_matches('/').to_owned();
    let mut data = sim.data.lock().unwrap_or_else(|e| e.into_inner());
    let valid = match path.as_str() {
        "system/callbacks" => {
            if body["url"].as_str().is_none_or(str::is_empty)
                || body["type"].as_str().is_none_or(str::is_empty)
            {
                return (StatusCode::BAD_REQUEST, Json(json!({ "code": "InvalidObject", "message": "callback is invalid",
                    "errors": [{ "code": "MissingRequiredField", "message": "url and type are required", "resource": "callback", "field": "url" }] }))).into_response();
            }
            true
        }
        p => {
            p.starts_with("service/tickets/") && p.ends_with("/notes") && {
                let ticket = p
                    .trim_start_matches("service/tickets/")
                    .trim_end_matches("/notes")
                    .parse::<i64>()
                    .ok();
                let exists = ticket.is_some_and(|t| {
                    data.collections
                        .get("service/tickets")
                        .is_some_and(|ts| ts.iter().any(|v| v["id"].as_i64() == Some(t)))
                });
                if exists {
                    body["ticketId"] = json!(ticket);
                }
                exists
            }
        }
    };
    if !valid {
        return cw_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("No route for POST {path}"),
        );
    }
    body["id"] = json!(data.new_id());
    data.collections.entry(path).or_default().push(body.clone());
    (StatusCode::CREATED, Json(body)).into_response()
}

async fn delete_item(
    State(sim): State<Sim>,
    Path(rest): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = sim.gate(&headers).await {
        return r;
    }
    let Some((collection, id)) = item_path(&rest) else {
        return cw_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "DELETE needs an object id",
        );
    };
    let mut data = sim.data.lock().unwrap_or_else(|e| e.into_inner());
    match data.collections.get_mut(collection) {
        Some(items) if items.iter().any(|v| v["id"].as_i64() == Some(id)) => {
            items.retain(|v| v["id"].as_i64() != Some(id));
            StatusCode::NO_CONTENT.into_response()
        }
        _ => cw_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("Object {id} was not found"),
        ),
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

fn member_info(sim: &Sim, headers: &HeaderMap) -> Response {
    if headers.get("clientId").and_then(|v| v.to_str().ok()) != Some(sim.creds.client_id.as_str()) {
        return cw_error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "A valid clientId header is required",
        );
    }
    let (Some(hash), Some(context)) = (
        cookie(headers, "memberHash"),
        cookie(headers, "memberContext"),
    ) else {
        return cw_error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "No member session",
        );
    };
    let identifier = sim
        .members
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&(hash.to_owned(), context.to_owned()))
        .cloned();
    let Some(identifier) = identifier else {
        return cw_error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "The member session is not valid",
        );
    };
    let data = sim.data.lock().unwrap_or_else(|e| e.into_inner());
    match data
        .collections
        .get("system/members")
        .and_then(|m| m.iter().find(|m| m["identifier"] == identifier.as_str()))
    {
        Some(m) => Json(m.clone()).into_response(),
        None => cw_error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "The member no longer exists",
        ),
    }
}

/// A ConnectWise ticket screen (for browser tests and the demo): it frames the pod given
/// as `?pod=<url>` and answers its hosted-API messages as ConnectWise does, for the member
/// `?member=` (default `jdoe`, signed in now). `?hash=` replaces the member hash (a forged
/// session); `?silent=1` answers nothing. Every message from the pod is listed in `#log`.
async fn ticket_screen(
    State(sim): State<Sim>,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(pod) = q.get("pod").filter(|p| p.starts_with("http")) else {
        return (StatusCode::BAD_REQUEST, "?pod=<the pod URL> is required").into_response();
    };
    let member = q.get("member").cloned().unwrap_or_else(|| "jdoe".into());
    let hash = format!("h{}", uuid::Uuid::now_v7().simple());
    let context = format!("c{}", uuid::Uuid::now_v7().simple());
    sim.members
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert((hash.clone(), context.clone()), member.clone());
    let site = sim.base.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let auth = json!({
        "site": site, "companyid": sim.creds.company_id, "memberid": member,
        "memberHash": q.get("hash").cloned().unwrap_or(hash), "memberContext": context,
        "memberEmail": format!("{member}@msp.example"),
    });
    let boot = json!({ "pod": pod, "auth": auth, "silent": q.contains_key("silent") })
        .to_string()
        .replace("</", "<\\/");
    let html = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Service Ticket #{id}</title>
<style>body{{font:13px sans-serif;margin:0;background:#f4f5f7}} .bar{{background:#003764;color:#fff;padding:8px 12px}} .pod{{margin:12px;background:#fff;border:1px solid #ccd}} iframe{{border:0;width:420px;height:520px;display:block}}</style></head>
<body><div class="bar">ConnectWise PSA (simulated) · Service Ticket #{id}</div>
<div class="pod"><iframe id="pod" title="orghub pod"></iframe></div><pre id="log"></pre>
<script>
var BOOT = {boot};
var frame = document.getElementById("pod");
var podOrigin = new URL(BOOT.pod).origin;
var log = [];
function reply(o) {{ frame.contentWindow.postMessage(JSON.stringify(o), podOrigin); }}
window.addEventListener("message", function (ev) {{
  if (ev.origin !== podOrigin) return;
  var m; try {{ m = JSON.parse(ev.data); }} catch (e) {{ return; }}
  log.push(m); document.getElementById("log").textContent = JSON.stringify(log);
  if (BOOT.silent) return;
  if (m.message === "ready") reply({{ MessageFrameID: "frame-1" }});
  else if (m.hosted_request === "getMemberAuthentication") {{
    reply({{ response: "getmemberauthentication", data: BOOT.auth, frameID: m.frameID }});
    setTimeout(function () {{ reply({{ event: "onLoad", _id: "evt-1", frameID: m.frameID }}); }}, 200);
  }}
}});
frame.src = BOOT.pod;
</script></body></html>"#
    );
    axum::response::Html(html).into_response()
}

impl Simulator {
    /// Starts a simulator with `companies` seeded companies on a loopback port.
    pub async fn start(
        companies: usize,
        credentials: SimCredentials,
    ) -> std::io::Result<Simulator> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let sim = Sim {
            creds: credentials.clone(),
            data: Arc::new(Mutex::new(seed(companies))),
            faults: Arc::new(Mutex::new(Faults::default())),
            requests: Arc::new(Mutex::new(0)),
            base: Arc::new(Mutex::new(format!("http://{addr}"))),
            members: Arc::new(Mutex::new(HashMap::new())),
        };
        let router = Router::new()
            .route("/login/companyinfo/{company}", get(company_info))
            .route("/cw/ticket/{id}", get(ticket_screen))
            .route(
                &format!("/{CODEBASE}apis/3.0/{{*rest}}"),
                get(list)
                    .patch(patch_item)
                    .post(create_item)
                    .delete(delete_item),
            )
            .with_state(sim.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!(error = %e, "the ConnectWise simulator stopped");
            }
        });
        Ok(Simulator {
            addr,
            credentials,
            sim,
        })
    }

    /// The host to put in a ConnectWise config (`127.0.0.1:PORT`).
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn set_faults(&self, faults: Faults) {
        *self.sim.faults.lock().unwrap_or_else(|e| e.into_inner()) = faults;
    }

    /// Sends ConnectWise's callback for a record to every registered callback of its type,
    /// signed as ConnectWise signs them. Returns each callback URL's HTTP status.
    pub async fn emit(&self, kind: &str, action: &str, id: i64) -> Vec<(String, u16)> {
        let (callbacks, entity) = {
            let data = self.sim.data.lock().unwrap_or_else(|e| e.into_inner());
            let callbacks: Vec<Value> = data
                .collections
                .get("system/callbacks")
                .cloned()
                .unwrap_or_default();
            let collection = match kind {
                "ticket" => "service/tickets",
                "company" => "company/companies",
                "configuration" => "company/configurations",
                _ => "",
            };
            let entity = data
                .collections
                .get(collection)
                .and_then(|items| items.iter().find(|v| v["id"].as_i64() == Some(id)).cloned());
            (callbacks, entity)
        };
        let site = self
            .sim
            .base
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        let mut out = Vec::new();
        for cb in callbacks.iter().filter(|c| {
            c["type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(kind))
        }) {
            let url = cb["url"].as_str().unwrap_or_default().to_owned();
            let payload = super::callbacks::CallbackPayload {
                message_id: uuid::Uuid::now_v7().to_string(),
                from_url: site.clone(),
                company_id: self.credentials.company_id.clone(),
                member_id: "jdoe".into(),
                action: action.to_owned(),
                kind: kind.to_lowercase(),
                id,
                entity: if action == "deleted" {
                    None
                } else {
                    entity.as_ref().map(|e| e.to_string())
                },
                metadata: super::callbacks::CallbackMetadata {
                    key_url: format!("{site}/{CODEBASE}apis/3.0/system/callbackkeys/1"),
                },
                callback_object_rec_id: cb["objectId"].as_i64().unwrap_or(0),
            };
            let body = serde_json::to_vec(&payload).unwrap_or_default();
            let signature = super::callbacks::sign(&body, SIGNING_KEY);
            let status = match http
                .post(&url)
                .header("content-type", "application/json")
                .header("x-content-signature", signature)
                .body(body)
                .send()
                .await
            {
                Ok(r) => r.status().as_u16(),
                Err(_) => 0,
            };
            out.push((url, status));
        }
        out
    }

    /// Signs a member in (as ConnectWise does when a technician opens a ticket) and returns
    /// the `(memberHash, memberContext)` the hosted API hands to a pod.
    pub fn sign_in_member(&self, identifier: &str) -> (String, String) {
        let hash = format!("h{}", uuid::Uuid::now_v7().simple());
        let context = format!("c{}", uuid::Uuid::now_v7().simple());
        self.sim
            .members
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((hash.clone(), context.clone()), identifier.to_owned());
        (hash, context)
    }

    /// API requests served so far (discovery excluded).
    pub fn requests(&self) -> u64 {
        *self.sim.requests.lock().unwrap_or_else(|e| e.into_inner())
    }
}
