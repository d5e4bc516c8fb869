//! The Datto Autotask PSA REST client (`ATServicesRest/V1.0`): zone discovery with
//! `zoneInformation`, the `ApiIntegrationCode`/`UserName`/`Secret` headers, `POST …/query`
//! with paging by `nextPageUrl`, the `companyType` picklist from `entityInformation/fields`,
//! Autotask's `{"errors": [...]}` bodies as typed errors, and retries on 429 and 5xx.
//!
//! The HTTP plumbing at the end of this file (site URLs, retries, status mapping) is shared
//! with the HaloPSA client, so both answer with the same `CwError` the ConnectWise client
//! uses.
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::connectwise::client::CwError;

/// The most records Autotask returns in one page.
pub const MAX_RECORDS: u32 = 500;
/// Where `zoneInformation` is asked when the credentials name no discovery URL.
pub const DEFAULT_DISCOVERY_URL: &str = "https://webservices.autotask.net";
/// Pages followed before the listing is taken for a loop.
const MAX_PAGES: usize = 10_000;

#[derive(Clone)]
pub struct AutotaskCredentials {
    /// The zone's API URL (`https://webservices5.autotask.net/ATServicesRest/`, with or
    /// without the `ATServicesRest/V1.0` path). Empty: discovered with `zoneInformation`.
    pub zone_url: String,
    /// Where `zoneInformation` is asked (`https://webservices.autotask.net`); empty means
    /// that default.
    pub discovery_url: String,
    /// The API user (its key, an email address).
    pub username: String,
    pub secret: String,
    /// The API tracking identifier of the integration.
    pub integration_code: String,
}

impl std::fmt::Debug for AutotaskCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutotaskCredentials")
            .field("zone_url", &self.zone_url)
            .field("discovery_url", &self.discovery_url)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// An Autotask company (the `Companies` entity), with the fields orghub reads.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AtCompany {
    pub id: i64,
    pub company_name: String,
    #[serde(default)]
    pub company_number: Option<String>,
    /// A value of the `companyType` picklist (see [`AutotaskClient::company_types`]).
    #[serde(default)]
    pub company_type: Option<i64>,
    pub is_active: bool,
    #[serde(default)]
    pub web_address: Option<String>,
}

/// One choice of a picklist field, e.g. a company type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AtPicklistValue {
    pub value: String,
    pub label: String,
    pub is_active: bool,
}

#[derive(Deserialize)]
struct ZoneInformation {
    #[serde(default)]
    url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryPage {
    #[serde(default)]
    items: Vec<Value>,
    #[serde(default)]
    page_details: Option<PageDetails>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageDetails {
    #[serde(default)]
    next_page_url: Option<String>,
}

/// `GET Entity/{id}` answers `{"item": {...}}`, and `{"item": null}` for an unknown id.
#[derive(Deserialize)]
struct ItemAnswer {
    #[serde(default)]
    item: Option<Value>,
}

#[derive(Deserialize)]
struct FieldsAnswer {
    #[serde(default)]
    fields: Vec<FieldInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FieldInfo {
    name: String,
    #[serde(default)]
    picklist_values: Option<Vec<PicklistEntry>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PicklistEntry {
    value: Value,
    #[serde(default)]
    label: String,
    #[serde(default = "active")]
    is_active: bool,
}

fn active() -> bool {
    true
}

pub struct AutotaskClient {
    http: reqwest::Client,
    creds: AutotaskCredentials,
    base: OnceCell<String>,
}

impl AutotaskClient {
    pub fn new(http: reqwest::Client, creds: AutotaskCredentials) -> Self {
        AutotaskClient {
            http,
            creds,
            base: OnceCell::new(),
        }
    }

    /// `https://webservicesN.autotask.net/ATServicesRest/V1.0`: the configured zone, or the
    /// one `zoneInformation` names for the API user, asked once.
    pub async fn api_base(&self) -> Result<&str, CwError> {
        self.base
            .get_or_try_init(|| async {
                if !self.creds.zone_url.trim().is_empty() {
                    return Ok(api_base_of(&self.creds.zone_url));
                }
                let discovery = match self.creds.discovery_url.trim() {
                    "" => DEFAULT_DISCOVERY_URL,
                    url => url,
                };
                // Unauthenticated: the secret goes only to the zone the answer names.
                let url = format!("{}/zoneInformation", api_base_of(discovery));
                let req = self
                    .http
                    .get(&url)
                    .query(&[("user", self.creds.username.as_str())]);
                let res = self.send(req).await?;
                let zone: ZoneInformation = decode(res, "zone information").await?;
                if zone.url.trim().is_empty() {
                    return Err(CwError::Protocol("zone information without a url".into()));
                }
                Ok(api_base_of(&zone.url))
            })
            .await
            .map(String::as_str)
    }

    /// A request carrying the API user's headers.
    fn authed(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        let c = &self.creds;
        self.http
            .request(method, url)
            .header("ApiIntegrationCode", &c.integration_code)
            .header("UserName", &c.username)
            .header("Secret", &c.secret)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
    }

    /// Sends with retries; any answer but a success becomes a `CwError`.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, CwError> {
        let res = send_with_retries(request, || self.log_threshold()).await?;
        if res.status().is_success() {
            Ok(res)
        } else {
            Err(autotask_error(res).await)
        }
    }

    /// On a 429, and only when debug logging is on, logs how much of the request threshold
    /// is used (`ThresholdInformation` does not count against it). Runs on the side, once.
    fn log_threshold(&self) {
        if !tracing::enabled!(tracing::Level::DEBUG) {
            return;
        }
        let Some(base) = self.base.get() else {
            return;
        };
        let req = self
            .authed(Method::GET, &format!("{base}/ThresholdInformation"))
            .timeout(REQUEST_TIMEOUT);
        tokio::spawn(async move {
            match req.send().await {
                Ok(res) if res.status().is_success() => match res.json::<Value>().await {
                    Ok(threshold) => {
                        tracing::debug!(%threshold, "Autotask answered 429 (over its request threshold)");
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "unreadable Autotask threshold information")
                    }
                },
                Ok(res) => {
                    tracing::debug!(
                        status = res.status().as_u16(),
                        "no Autotask threshold information"
                    )
                }
                Err(e) => tracing::debug!(error = %e, "no Autotask threshold information"),
            }
        });
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, what: &str) -> Result<T, CwError> {
        let url = format!(
            "{}/{}",
            self.api_base().await?,
            path.trim_start_matches('/')
        );
        let res = self.send(self.authed(Method::GET, &url)).await?;
        decode(res, what).await
    }

    /// Every item of `POST {entity}/query` with `filter`, page by page (`MaxRecords` up to
    /// 500), following `pageDetails.nextPageUrl`.
    pub async fn query(
        &self,
        entity: &str,
        filter: Value,
        max_records: u32,
    ) -> Result<Vec<Value>, CwError> {
        let base = self.api_base().await?;
        let body = json!({ "MaxRecords": max_records.clamp(1, MAX_RECORDS), "filter": filter });
        let mut next = Some(
            self.authed(Method::POST, &format!("{base}/{entity}/query"))
                .json(&body),
        );
        let mut out = Vec::new();
        let mut pages = 0;
        while let Some(req) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(CwError::Protocol(format!(
                    "more than {MAX_PAGES} pages of {entity}"
                )));
            }
            let page: QueryPage = decode(self.send(req).await?, entity).await?;
            out.extend(page.items);
            let url = page
                .page_details
                .and_then(|d| d.next_page_url)
                .filter(|u| !u.trim().is_empty());
            if let Some(url) = url {
                // Absolute as Autotask sends it; a relative one is read against the zone.
                let resolved = reqwest::Url::parse(base)
                    .and_then(|b| b.join(url.trim()))
                    .map_err(|e| CwError::Protocol(format!("next page {url}: {e}")))?;
                // The next page gets our secret: only from the zone we asked.
                if !same_origin(resolved.as_str(), base) {
                    return Err(CwError::Protocol(format!(
                        "a next page outside the zone: {url}"
                    )));
                }
                next = Some(self.authed(Method::GET, resolved.as_str()));
            }
        }
        Ok(out)
    }

    /// Every company, active or not.
    pub async fn companies(&self) -> Result<Vec<AtCompany>, CwError> {
        let items = self
            .query(
                "Companies",
                json!([{ "op": "exist", "field": "id" }]),
                MAX_RECORDS,
            )
            .await?;
        items
            .into_iter()
            .map(|v| {
                serde_json::from_value(v).map_err(|e| CwError::Protocol(format!("company: {e}")))
            })
            .collect()
    }

    pub async fn company(&self, id: i64) -> Result<AtCompany, CwError> {
        let answer: ItemAnswer = self.get(&format!("Companies/{id}"), "company").await?;
        match answer.item {
            Some(item) if !item.is_null() => {
                serde_json::from_value(item).map_err(|e| CwError::Protocol(format!("company: {e}")))
            }
            _ => Err(CwError::NotFound(format!("Autotask has no company {id}"))),
        }
    }

    /// The choices of the company `companyType` picklist (Customer, Lead, Prospect…).
    pub async fn company_types(&self) -> Result<Vec<AtPicklistValue>, CwError> {
        let answer: FieldsAnswer = self
            .get("Companies/entityInformation/fields", "company fields")
            .await?;
        let field = answer
            .fields
            .into_iter()
            .find(|f| f.name.eq_ignore_ascii_case("companyType"))
            .ok_or_else(|| CwError::Protocol("companies without a companyType field".into()))?;
        Ok(field
            .picklist_values
            .unwrap_or_default()
            .into_iter()
            .map(|p| AtPicklistValue {
                value: match p.value {
                    Value::String(s) => s,
                    other => other.to_string(),
                },
                label: p.label,
                is_active: p.is_active,
            })
            .collect())
    }

    /// The health check: the zone, the credentials and the right to read companies, in one
    /// query of a single company. Returns how long it took.
    pub async fn check(&self) -> Result<Duration, CwError> {
        let started = Instant::now();
        let base = self.api_base().await?;
        let body = json!({ "MaxRecords": 1, "filter": [{ "op": "exist", "field": "id" }] });
        let req = self
            .authed(Method::POST, &format!("{base}/Companies/query"))
            .json(&body);
        let _: QueryPage = decode(self.send(req).await?, "Companies").await?;
        Ok(started.elapsed())
    }
}

/// The API base of a zone URL given with or without `/ATServicesRest` or `/V1.0`.
fn api_base_of(zone: &str) -> String {
    let site = site_url(zone);
    let lower = site.to_ascii_lowercase();
    if lower.ends_with("/atservicesrest/v1.0") {
        site
    } else if lower.ends_with("/atservicesrest") {
        format!("{site}/V1.0")
    } else {
        format!("{site}/ATServicesRest/V1.0")
    }
}

/// Autotask's error bodies: `{"errors": ["message", ...]}` (entries may also be objects
/// with a `message`), or nothing at all on a 401.
async fn autotask_error(res: reqwest::Response) -> CwError {
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    let listed = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.get("errors").and_then(Value::as_array).cloned())
        .map(|errors| {
            errors
                .iter()
                .map(|e| match e {
                    Value::String(s) => s.clone(),
                    other => other
                        .get("message")
                        .and_then(Value::as_str)
                        .map_or_else(|| other.to_string(), str::to_owned),
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|m| !m.is_empty());
    let message = match listed {
        Some(m) => m,
        None if status == StatusCode::UNAUTHORIZED && text.trim().is_empty() => {
            "Autotask refused the API user, secret or integration code".to_owned()
        }
        None => body_excerpt(status, &text),
    };
    error_for(status, message)
}

// ---- HTTP plumbing shared with the HaloPSA client ----

/// The most attempts of one request (the first and two retries) on 429 and 5xx.
pub(crate) const MAX_ATTEMPTS: u32 = 3;
/// The longest `Retry-After` we wait for; asked for longer, we give up at once.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);
/// Each attempt's bound, as the ConnectWise client's HTTP client has.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Whether `host` (`name`, `name:port`, `[v6]:port`) is this machine.
pub(crate) fn is_loopback(host: &str) -> bool {
    let host = host.trim();
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => host.split(':').next().unwrap_or(host),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `scheme://host[:port][/path]` without a trailing slash, from a host or a URL: `https`
/// always (credentials never travel in the clear), except `http` for loopback hosts (the
/// simulators).
pub(crate) fn site_url(input: &str) -> String {
    let s = input.trim().trim_end_matches('/');
    let lower = s.to_ascii_lowercase();
    let (explicit, rest) = if lower.starts_with("https://") {
        (Some("https"), &s["https://".len()..])
    } else if lower.starts_with("http://") {
        (Some("http"), &s["http://".len()..])
    } else {
        (None, s)
    };
    let host = rest.split('/').next().unwrap_or(rest);
    let scheme = if is_loopback(host) {
        explicit.unwrap_or("http")
    } else {
        "https"
    };
    format!("{scheme}://{rest}")
}

/// Whether two URLs share scheme, host and port.
pub(crate) fn same_origin(a: &str, b: &str) -> bool {
    match (reqwest::Url::parse(a), reqwest::Url::parse(b)) {
        (Ok(a), Ok(b)) => {
            a.scheme() == b.scheme()
                && a.host_str() == b.host_str()
                && a.port_or_known_default() == b.port_or_known_default()
        }
        _ => false,
    }
}

/// Sends `request` (bounded by [`REQUEST_TIMEOUT`]) and retries 429 and 5xx answers up to
/// [`MAX_ATTEMPTS`] in all, waiting `Retry-After` seconds when given (at most
/// [`MAX_RETRY_AFTER`]) and 200 ms, 400 ms… otherwise. Returns the last answer, whatever
/// its status; only a failure to get one is an error. `on_rate_limited` runs on every 429.
pub(crate) async fn send_with_retries(
    request: reqwest::RequestBuilder,
    on_rate_limited: impl Fn() + Sync,
) -> Result<reqwest::Response, CwError> {
    let request = request.timeout(REQUEST_TIMEOUT);
    let mut attempt = 1;
    loop {
        let req = request
            .try_clone()
            .ok_or_else(|| CwError::Protocol("a request body that cannot be retried".into()))?;
        let res = match req.send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Err(CwError::Timeout),
            Err(e) => return Err(CwError::Unreachable(error_chain(&e))),
        };
        let status = res.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            on_rate_limited();
        }
        let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
        if !retryable || attempt >= MAX_ATTEMPTS {
            return Ok(res);
        }
        let wait = match retry_after(res.headers()) {
            Some(asked) if asked > MAX_RETRY_AFTER => return Ok(res),
            Some(asked) => asked,
            None => Duration::from_millis(200 * 2u64.pow(attempt - 1)),
        };
        tracing::debug!(
            status = status.as_u16(),
            url = %res.url(),
            wait_ms = wait.as_millis() as u64,
            attempt,
            "retrying a PSA request"
        );
        drop(res);
        attempt += 1;
        tokio::time::sleep(wait).await;
    }
}

/// `Retry-After` in seconds (an HTTP date is ignored: we back off on our own).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// An error with its causes (`reqwest` keeps the interesting part in the sources).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The error for a final non-success status, as the ConnectWise client maps them.
pub(crate) fn error_for(status: StatusCode, message: String) -> CwError {
    match status {
        StatusCode::UNAUTHORIZED => CwError::Unauthorized(message),
        StatusCode::FORBIDDEN => CwError::Forbidden(message),
        StatusCode::NOT_FOUND => CwError::NotFound(message),
        StatusCode::TOO_MANY_REQUESTS => CwError::RateLimited,
        s if s.is_server_error() => CwError::Server {
            status: s.as_u16(),
            message,
        },
        s => CwError::Rejected {
            status: s.as_u16(),
            code: s.canonical_reason().unwrap_or("").replace(' ', ""),
            message,
            problems: vec![],
        },
    }
}

/// A body that is no known error format, shortened for a message; the status when empty.
pub(crate) fn body_excerpt(status: StatusCode, text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return status.to_string();
    }
    let mut excerpt: String = text.chars().take(300).collect();
    if excerpt.len() < text.len() {
        excerpt.push('…');
    }
    excerpt
}

/// A success body as `T`.
pub(crate) async fn decode<T: DeserializeOwned>(
    res: reqwest::Response,
    what: &str,
) -> Result<T, CwError> {
    let bytes = res
        .bytes()
        .await
        .map_err(|e| CwError::Protocol(format!("{what}: {}", error_chain(&e))))?;
    serde_json::from_slice(&bytes).map_err(|e| CwError::Protocol(format!("{what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::psa::autotask_sim::{AutotaskSimCredentials, AutotaskSimulator, Faults};

    fn client(creds: AutotaskCredentials) -> AutotaskClient {
        AutotaskClient::new(crate::http_client().unwrap(), creds)
    }

    async fn sim(companies: usize) -> AutotaskSimulator {
        AutotaskSimulator::start(companies, AutotaskSimCredentials::default())
            .await
            .unwrap()
    }

    #[test]
    fn zone_urls_become_api_bases() {
        for zone in [
            "https://webservices5.autotask.net/ATServicesRest/",
            "https://webservices5.autotask.net/ATServicesRest",
            "https://webservices5.autotask.net/atservicesrest/v1.0/",
            "webservices5.autotask.net",
            "http://webservices5.autotask.net/",
        ] {
            let base = api_base_of(zone);
            assert!(
                base.eq_ignore_ascii_case("https://webservices5.autotask.net/ATServicesRest/V1.0"),
                "{zone} → {base}"
            );
        }
        assert_eq!(
            api_base_of("127.0.0.1:4000"),
            "http://127.0.0.1:4000/ATServicesRest/V1.0"
        );
    }

    #[test]
    fn only_loopback_gets_plain_http() {
        assert!(
            is_loopback("127.0.0.1:4000") && is_loopback("localhost") && is_loopback("[::1]:80")
        );
        assert!(!is_loopback("127evil.example") && !is_loopback("webservices.autotask.net"));
        assert_eq!(site_url("http://127.0.0.1:9/"), "http://127.0.0.1:9");
        assert_eq!(site_url("acme.halopsa.com"), "https://acme.halopsa.com");
        assert_eq!(
            site_url("http://acme.halopsa.com/x/"),
            "https://acme.halopsa.com/x"
        );
        assert!(same_origin(
            "http://127.0.0.1:9/a?b=c",
            "http://127.0.0.1:9/ATServicesRest"
        ));
        assert!(!same_origin(
            "https://evil.example/a",
            "https://webservices5.autotask.net/x"
        ));
    }

    #[tokio::test]
    async fn discovers_the_zone_and_reads_every_company_over_three_pages() {
        let sim = sim(1_234).await;
        let at = client(sim.client_credentials());
        assert!(at.api_base().await.unwrap().starts_with(&sim.url()));
        let before = sim.requests();
        let all = at.companies().await.unwrap();
        assert_eq!(sim.requests() - before, 3, "pages of 500, 500 and 234");
        assert_eq!(all.len(), 1_234);
        assert!(all.iter().enumerate().all(|(i, c)| c.id == i as i64 + 1));
        assert_eq!(all.iter().filter(|c| !c.is_active).count(), 123);
        assert!(!all[9].is_active && all[10].is_active);
        assert!(all.iter().all(|c| c.company_type.is_some()));
    }

    #[tokio::test]
    async fn one_company_and_a_missing_one() {
        let sim = sim(20).await;
        let at = client(sim.client_credentials());
        let five = at.company(5).await.unwrap();
        assert_eq!(five.id, 5);
        assert!(five.is_active && !five.company_name.is_empty());
        assert!(five.web_address.as_deref().is_some_and(|w| w.contains('.')));
        assert!(five.company_number.is_some());
        assert!(!at.company(10).await.unwrap().is_active);
        assert!(matches!(at.company(999).await, Err(CwError::NotFound(_))));
    }

    #[tokio::test]
    async fn company_types_come_from_the_picklist() {
        let sim = sim(5).await;
        let at = client(sim.client_credentials());
        let types = at.company_types().await.unwrap();
        let customer = types.iter().find(|t| t.value == "1").unwrap();
        assert_eq!(customer.label, "Customer");
        assert!(customer.is_active);
        assert!(types.iter().any(|t| t.value == "7" && t.label == "Partner"));
        let companies = at.companies().await.unwrap();
        assert!(companies.iter().all(|c| {
            let t = c.company_type.unwrap().to_string();
            types.iter().any(|p| p.value == t)
        }));
        assert!(at.check().await.is_ok());
    }

    #[tokio::test]
    async fn a_wrong_secret_is_unauthorized() {
        let sim = sim(5).await;
        let mut creds = sim.client_credentials();
        creds.secret = "wrong".into();
        let at = client(creds);
        let err = at.companies().await.unwrap_err();
        assert!(matches!(err, CwError::Unauthorized(_)), "{err:?}");
        assert!(err.is_access());
        assert!(matches!(at.check().await, Err(CwError::Unauthorized(_))));
    }

    #[tokio::test]
    async fn rate_limits_are_waited_out() {
        let sim = sim(30).await;
        let at = client(sim.client_credentials());
        at.api_base().await.unwrap();
        sim.set_faults(Faults {
            rate_limited: 2,
            ..Faults::default()
        });
        let before = sim.requests();
        let started = Instant::now();
        assert_eq!(at.companies().await.unwrap().len(), 30);
        assert_eq!(sim.requests() - before, 3);
        assert!(
            started.elapsed() >= Duration::from_secs(2),
            "Retry-After: 1, twice"
        );
    }

    #[tokio::test]
    async fn server_errors_fail_after_three_attempts() {
        let sim = sim(30).await;
        let at = client(sim.client_credentials());
        at.api_base().await.unwrap();
        sim.set_faults(Faults {
            server_errors: 5,
            ..Faults::default()
        });
        let before = sim.requests();
        match at.companies().await {
            Err(CwError::Server { status, message }) => {
                assert_eq!(status, 500);
                assert!(message.contains("unexpected"), "{message}");
            }
            other => panic!("expected a server error, got {other:?}"),
        }
        assert_eq!(sim.requests() - before, u64::from(MAX_ATTEMPTS));
    }

    #[tokio::test]
    async fn a_given_zone_skips_discovery() {
        let sim = sim(3).await;
        for zone in [format!("{}/ATServicesRest/", sim.url()), sim.url()] {
            let mut creds = sim.client_credentials();
            creds.zone_url = zone;
            // Nothing listens there: asking it would fail.
            creds.discovery_url = "http://127.0.0.1:9".into();
            let at = client(creds);
            assert_eq!(at.companies().await.unwrap().len(), 3);
        }
        assert_eq!(sim.zone_lookups(), 0);
    }

    #[tokio::test]
    async fn an_unknown_api_user_has_no_zone() {
        let sim = sim(3).await;
        let mut creds = sim.client_credentials();
        creds.username = "nobody@example.com".into();
        let err = client(creds).companies().await.unwrap_err();
        assert!(matches!(err, CwError::NotFound(_)), "{err:?}");
    }

    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_429_logs_the_threshold_when_debugging() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let sim = sim(3).await;
        let at = client(sim.client_credentials());
        at.api_base().await.unwrap();
        sim.set_faults(Faults {
            rate_limited: 1,
            ..Faults::default()
        });
        assert_eq!(at.companies().await.unwrap().len(), 3);
        let logged = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
        assert!(logged.contains("externalRequestThreshold"), "{logged}");
    }
}
