//! A local Datto Autotask PSA for tests and the demo: an axum app on a loopback port that
//! speaks the REST wire format the client uses — `zoneInformation`, the
//! `ApiIntegrationCode`/`UserName`/`Secret` headers (401 with an empty body when wrong),
//! `POST Companies/query` with `MaxRecords` and a filter, paging by an absolute
//! `nextPageUrl`, `Companies/{id}` as `{"item": …}`, the `companyType` picklist,
//! `ThresholdInformation` and `{"errors": [...]}` bodies — over deterministic seeded
//! companies, with switches for faults (slow, 429, 500, wrong credentials).
//!
//! Paths are matched case-insensitively, as Autotask's are.
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{Value, json};

use super::autotask::{AutotaskCredentials, MAX_RECORDS};

/// Credentials the simulator accepts.
#[derive(Clone, Debug)]
pub struct AutotaskSimCredentials {
    pub username: String,
    pub secret: String,
    pub integration_code: String,
}

impl Default for AutotaskSimCredentials {
    fn default() -> Self {
        AutotaskSimCredentials {
            username: "sim-api-user@msp.example".into(),
            secret: "sim-autotask-secret".into(),
            integration_code: "SIMINTEGRATIONCODE".into(),
        }
    }
}

/// Faults the next requests meet (the HaloPSA simulator takes the same).
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
}

/// The `companyType` picklist: (value, label).
pub const COMPANY_TYPES: [(i64, &str); 6] = [
    (1, "Customer"),
    (2, "Lead"),
    (3, "Prospect"),
    (4, "Dead"),
    (5, "Vendor"),
    (7, "Partner"),
];

pub(crate) use crate::connectwise::simulator::company_name;

/// `www.<letters of the name>.example`.
pub(crate) fn website(name: &str) -> String {
    let host: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    format!("www.{host}.example")
}

/// Seeded company `id` is inactive when `id % 10 == 0`.
pub(crate) fn seeded_active(id: i64) -> bool {
    id % 10 != 0
}

fn seed(companies: usize) -> Vec<Value> {
    (1..=companies as i64)
        .map(|id| {
            let name = company_name(id);
            let (company_type, _) = COMPANY_TYPES[(id as usize - 1) % COMPANY_TYPES.len()];
            json!({
                "id": id,
                "companyName": name,
                "companyNumber": format!("C{id:06}"),
                "companyType": company_type,
                "isActive": seeded_active(id),
                "webAddress": website(&name),
                "phone": format!("555-{:04}", id % 10_000),
                "city": "Springfield",
                "countryID": 237,
                "ownerResourceID": 29_682_885,
                "parentCompanyID": null,
                "createDate": format!("2023-{:02}-{:02}T10:00:00Z", 1 + id % 12, 1 + id % 28),
                "lastActivityDate": format!("2024-{:02}-{:02}T10:00:00Z", 1 + id % 12, 1 + id % 28),
                "userDefinedFields": [],
            })
        })
        .collect()
}

#[derive(Clone)]
struct Sim {
    creds: AutotaskSimCredentials,
    companies: Arc<Vec<Value>>,
    faults: Arc<Mutex<Faults>>,
    requests: Arc<Mutex<u64>>,
    zone_lookups: Arc<Mutex<u64>>,
    site: String,
}

/// A running simulator.
pub struct AutotaskSimulator {
    pub addr: SocketAddr,
    pub credentials: AutotaskSimCredentials,
    sim: Sim,
}

/// Autotask's error body.
fn errors(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "errors": [message] }))).into_response()
}

fn header_is(headers: &HeaderMap, name: &str, expected: &str) -> bool {
    headers.get(name).and_then(|v| v.to_str().ok()) == Some(expected)
}

impl Sim {
    /// Faults and authentication every API call goes through. `ThresholdInformation` does
    /// not count against Autotask's threshold, so it meets no 429 or 500.
    async fn gate(&self, headers: &HeaderMap, exempt: bool) -> Result<(), Response> {
        *self.requests.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let faults = self
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(d) = faults.delay {
            tokio::time::sleep(d).await;
        }
        if !exempt {
            let mut f = self.faults.lock().unwrap_or_else(|e| e.into_inner());
            if f.rate_limited > 0 {
                f.rate_limited -= 1;
                let mut r = errors(
                    StatusCode::TOO_MANY_REQUESTS,
                    "The request threshold has been exceeded; try again later.",
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return Err(r);
            }
            if f.server_errors > 0 {
                f.server_errors -= 1;
                return Err(errors(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "An unexpected error has occurred.",
                ));
            }
        }
        let c = &self.creds;
        let valid = header_is(headers, "ApiIntegrationCode", &c.integration_code)
            && header_is(headers, "UserName", &c.username)
            && header_is(headers, "Secret", &c.secret);
        if faults.reject_credentials || !valid {
            return Err(StatusCode::UNAUTHORIZED.into_response());
        }
        Ok(())
    }

    fn api_base(&self) -> String {
        format!("{}/ATServicesRest/V1.0", self.site)
    }
}

/// Every route: Autotask's paths are case-insensitive, so they are matched by hand.
async fn dispatch(
    State(sim): State<Sim>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let path = uri.path().trim_end_matches('/').to_ascii_lowercase();
    let Some(rest) = path.strip_prefix("/atservicesrest/v1.0/") else {
        return errors(StatusCode::NOT_FOUND, "No such resource.");
    };
    if method == Method::GET && rest == "zoneinformation" {
        return zone_information(&sim, &q);
    }
    if let Err(r) = sim.gate(&headers, rest == "thresholdinformation").await {
        return r;
    }
    match (method, rest) {
        (Method::GET, "thresholdinformation") => {
            let used = *sim.requests.lock().unwrap_or_else(|e| e.into_inner());
            Json(json!({ "externalRequestThreshold": 10_000, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": used })).into_response()
        }
        (Method::POST, "companies/query") => {
            let query: Value = match serde_json::from_slice(&body) {
                Ok(v) => v,
                Err(e) => {
                    return errors(
                        StatusCode::BAD_REQUEST,
                        &format!("The request body is not valid JSON: {e}"),
                    );
                }
            };
            let Some(filter) = member(&query, "filter").cloned() else {
                return errors(StatusCode::INTERNAL_SERVER_ERROR, "A filter is required.");
            };
            let max = member(&query, "MaxRecords")
                .and_then(Value::as_u64)
                .unwrap_or(u64::from(MAX_RECORDS))
                .clamp(1, u64::from(MAX_RECORDS));
            page(&sim, &filter, 0, max)
        }
        (Method::GET, "companies/query/next") => {
            let token = q.get("paging").map(String::as_str).unwrap_or_default();
            match Paging::decode(token) {
                Some(p) => page(&sim, &p.filter, p.offset, p.max),
                None => errors(StatusCode::BAD_REQUEST, "The paging token is not valid."),
            }
        }
        (Method::GET, "companies/entityinformation") => Json(json!({ "info": {
            "name": "Company", "canCreate": true, "canDelete": false, "canQuery": true,
            "canUpdate": true, "hasUserDefinedFields": true, "supportsWebhookCallouts": true,
            "userAccessForCreate": "Allowed", "userAccessForDelete": "Disallowed",
            "userAccessForQuery": "Allowed", "userAccessForUpdate": "Allowed"
        } }))
        .into_response(),
        (Method::GET, "companies/entityinformation/fields") => Json(fields()).into_response(),
        (Method::GET, r) if r.starts_with("companies/") => {
            let Ok(id) = r["companies/".len()..].parse::<i64>() else {
                return errors(StatusCode::NOT_FOUND, "No such resource.");
            };
            let item = sim
                .companies
                .iter()
                .find(|c| c["id"].as_i64() == Some(id))
                .cloned();
            Json(json!({ "item": item })).into_response()
        }
        _ => errors(StatusCode::NOT_FOUND, "No such resource."),
    }
}

/// Unauthenticated: the zone of an API user, this simulator for ours.
fn zone_information(sim: &Sim, q: &HashMap<String, String>) -> Response {
    *sim.zone_lookups.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    let known = q
        .get("user")
        .is_some_and(|u| u.eq_ignore_ascii_case(&sim.creds.username));
    if !known {
        return errors(
            StatusCode::NOT_FOUND,
            "Zone information could not be determined for the user.",
        );
    }
    Json(json!({
        "zoneName": "Simulated zone",
        "url": format!("{}/ATServicesRest/", sim.site),
        "webUrl": format!("{}/", sim.site),
        "ci": 0,
    }))
    .into_response()
}

/// A member of an object by case-insensitive name (Autotask reads `maxRecords` as
/// `MaxRecords`).
fn member<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    object
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Where a query continues: opaque to clients (base64 of JSON).
struct Paging {
    filter: Value,
    offset: usize,
    max: u64,
}

impl Paging {
    fn encode(&self) -> String {
        let raw = json!({ "f": self.filter, "o": self.offset, "m": self.max }).to_string();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    fn decode(token: &str) -> Option<Paging> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.trim())
            .ok()?;
        let v: Value = serde_json::from_slice(&raw).ok()?;
        Some(Paging {
            filter: v.get("f")?.clone(),
            offset: usize::try_from(v.get("o")?.as_u64()?).ok()?,
            max: v.get("m")?.as_u64()?.clamp(1, u64::from(MAX_RECORDS)),
        })
    }
}

/// One page of the companies meeting `filter`, from `offset`.
fn page(sim: &Sim, filter: &Value, offset: usize, max: u64) -> Response {
    let mut matching = Vec::new();
    for c in sim.companies.iter() {
        match matches_all(c, filter) {
            Ok(true) => matching.push(c),
            Ok(false) => {}
            Err(m) => return errors(StatusCode::INTERNAL_SERVER_ERROR, &m),
        }
    }
    let size = max as usize;
    let items: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(size)
        .map(|c| (*c).clone())
        .collect();
    let url = |offset: usize| {
        let token = Paging {
            filter: filter.clone(),
            offset,
            max,
        }
        .encode();
        format!("{}/Companies/query/next?paging={token}", sim.api_base())
    };
    let next = (offset + size < matching.len()).then(|| url(offset + size));
    let prev = (offset > 0).then(|| url(offset.saturating_sub(size)));
    Json(json!({
        "items": items,
        "pageDetails": { "count": items.len(), "requestCount": max, "prevPageUrl": prev, "nextPageUrl": next },
    }))
    .into_response()
}

/// A filter is a list of conditions, all of which must hold.
fn matches_all(item: &Value, filter: &Value) -> Result<bool, String> {
    match filter {
        Value::Array(conditions) => {
            for c in conditions {
                if !matches(item, c)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Value::Object(_) => matches(item, filter),
        _ => Err("The filter must be a list of conditions.".into()),
    }
}

/// One condition: `{"op", "field", "value"}`, or `{"op": "and"|"or", "items": [...]}`.
fn matches(item: &Value, condition: &Value) -> Result<bool, String> {
    let op = member(condition, "op")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if op == "and" || op == "or" {
        let items = member(condition, "items")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("The '{op}' operation needs items."))?;
        let mut results = Vec::with_capacity(items.len());
        for c in items {
            results.push(matches(item, c)?);
        }
        return Ok(if op == "and" {
            results.iter().all(|r| *r)
        } else {
            results.iter().any(|r| *r)
        });
    }
    let field = member(condition, "field")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("The '{op}' operation needs a field."))?;
    let actual = member(item, field).filter(|v| !v.is_null());
    let expected = member(condition, "value").unwrap_or(&Value::Null);
    let list = || expected.as_array().cloned().unwrap_or_default();
    Ok(match op.as_str() {
        "exist" => actual.is_some(),
        "notexist" => actual.is_none(),
        "eq" => actual.is_some_and(|a| compare(a, expected) == Some(std::cmp::Ordering::Equal)),
        "noteq" => actual.is_none_or(|a| compare(a, expected) != Some(std::cmp::Ordering::Equal)),
        "gt" => actual.is_some_and(|a| compare(a, expected).is_some_and(|o| o.is_gt())),
        "gte" => actual.is_some_and(|a| compare(a, expected).is_some_and(|o| o.is_ge())),
        "lt" => actual.is_some_and(|a| compare(a, expected).is_some_and(|o| o.is_lt())),
        "lte" => actual.is_some_and(|a| compare(a, expected).is_some_and(|o| o.is_le())),
        "beginswith" => actual.is_some_and(|a| text(a).starts_with(&text(expected))),
        "endswith" => actual.is_some_and(|a| text(a).ends_with(&text(expected))),
        "contains" => actual.is_some_and(|a| text(a).contains(&text(expected))),
        "in" => actual.is_some_and(|a| {
            list()
                .iter()
                .any(|e| compare(a, e) == Some(std::cmp::Ordering::Equal))
        }),
        "notin" => actual.is_none_or(|a| {
            list()
                .iter()
                .all(|e| compare(a, e) != Some(std::cmp::Ordering::Equal))
        }),
        other => return Err(format!("Unknown filter operation: '{other}'.")),
    })
}

/// Lower-case text of a value (strings compare case-insensitively in Autotask).
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_lowercase(),
        other => other.to_string().to_lowercase(),
    }
}

/// Numbers (or numeric strings) compare as numbers, anything else as text.
fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    let number = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    };
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y),
        _ => Some(text(a).cmp(&text(b))),
    }
}

/// `Companies/entityInformation/fields`: a few fields and the `companyType` picklist.
fn fields() -> Value {
    let plain = |name: &str, data_type: &str, required: bool| {
        json!({ "name": name, "dataType": data_type, "length": 0, "isRequired": required, "isReadOnly": name == "id",
                "isQueryable": true, "isReference": false, "referenceEntityType": "", "isPickList": false,
                "picklistValues": null, "picklistParentValueField": "", "isSupportedWebhookField": true })
    };
    let types: Vec<Value> = COMPANY_TYPES
        .iter()
        .enumerate()
        .map(|(i, (value, label))| {
            json!({ "value": value.to_string(), "label": label, "isDefaultValue": *value == 1, "sortOrder": i,
                    "parentValue": "", "isActive": true, "isSystem": true })
        })
        .collect();
    json!({ "fields": [
        plain("id", "long", true),
        plain("companyName", "string", true),
        plain("companyNumber", "string", false),
        { "name": "companyType", "dataType": "short", "length": 0, "isRequired": true, "isReadOnly": false,
          "isQueryable": true, "isReference": false, "referenceEntityType": "", "isPickList": true,
          "picklistValues": types, "picklistParentValueField": "", "isSupportedWebhookField": true },
        plain("isActive", "boolean", false),
        plain("webAddress", "string", false),
    ] })
}

impl AutotaskSimulator {
    /// Starts a simulator with `companies` seeded companies on a loopback port.
    pub async fn start(
        companies: usize,
        credentials: AutotaskSimCredentials,
    ) -> std::io::Result<AutotaskSimulator> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let sim = Sim {
            creds: credentials.clone(),
            companies: Arc::new(seed(companies)),
            faults: Arc::new(Mutex::new(Faults::default())),
            requests: Arc::new(Mutex::new(0)),
            zone_lookups: Arc::new(Mutex::new(0)),
            site: format!("http://{addr}"),
        };
        let router = Router::new().fallback(dispatch).with_state(sim.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!(error = %e, "the Autotask simulator stopped");
            }
        });
        Ok(AutotaskSimulator {
            addr,
            credentials,
            sim,
        })
    }

    /// `http://127.0.0.1:PORT`: the discovery URL (or zone URL) to configure.
    pub fn url(&self) -> String {
        self.sim.site.clone()
    }

    /// Client credentials for this simulator: its secret, zone found by discovery.
    pub fn client_credentials(&self) -> AutotaskCredentials {
        let c = &self.credentials;
        AutotaskCredentials {
            zone_url: String::new(),
            discovery_url: self.url(),
            username: c.username.clone(),
            secret: c.secret.clone(),
            integration_code: c.integration_code.clone(),
        }
    }

    pub fn set_faults(&self, faults: Faults) {
        *self.sim.faults.lock().unwrap_or_else(|e| e.into_inner()) = faults;
    }

    /// API requests served so far (`zoneInformation` excluded).
    pub fn requests(&self) -> u64 {
        *self.sim.requests.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `zoneInformation` requests served so far.
    pub fn zone_lookups(&self) -> u64 {
        *self
            .sim
            .zone_lookups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn post_query(sim: &AutotaskSimulator, body: Value) -> (u16, Value) {
        let c = &sim.credentials;
        let res = crate::http_client()
            .unwrap()
            .post(format!("{}/atservicesrest/v1.0/companies/query", sim.url()))
            .header("ApiIntegrationCode", &c.integration_code)
            .header("UserName", &c.username)
            .header("Secret", &c.secret)
            .json(&body)
            .send()
            .await
            .unwrap();
        (
            res.status().as_u16(),
            res.json().await.unwrap_or(Value::Null),
        )
    }

    #[tokio::test]
    async fn filters_and_an_unknown_operation() {
        let sim = AutotaskSimulator::start(50, AutotaskSimCredentials::default())
            .await
            .unwrap();
        let (status, body) = post_query(
            &sim,
            json!({ "maxRecords": 10, "filter": [
                { "op": "eq", "field": "isActive", "value": true },
                { "op": "or", "items": [
                    { "op": "in", "field": "companyType", "value": [1, 7] },
                    { "op": "beginsWith", "field": "companyName", "value": "north" },
                ] },
            ] }),
        )
        .await;
        assert_eq!(status, 200);
        let items = body["items"].as_array().unwrap();
        assert!(!items.is_empty() && items.len() <= 10);
        assert!(items.iter().all(|c| c["isActive"] == true));
        assert!(body["pageDetails"]["nextPageUrl"].as_str().is_some());

        let (status, body) = post_query(
            &sim,
            json!({ "filter": [{ "op": "like", "field": "id", "value": 1 }] }),
        )
        .await;
        assert_eq!(status, 500);
        assert!(body["errors"][0].as_str().unwrap().contains("like"));
    }

    #[tokio::test]
    async fn wrong_headers_get_an_empty_401() {
        let sim = AutotaskSimulator::start(1, AutotaskSimCredentials::default())
            .await
            .unwrap();
        let res = crate::http_client()
            .unwrap()
            .get(format!("{}/ATServicesRest/V1.0/Companies/1", sim.url()))
            .header("UserName", &sim.credentials.username)
            .header("Secret", "wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 401);
        assert!(res.text().await.unwrap().is_empty());
    }
}
