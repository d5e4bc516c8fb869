//! The ConnectWise PSA REST client: codebase discovery, Basic auth with
//! `company+public:private`, the `clientId` header, a versioned `Accept`, pagination that
//! follows `Link: rel="next"`, ConnectWise's error bodies as typed errors, and retries with
//! backoff on 429 and 5xx that honour `Retry-After`.
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::OnceCell;

const ACCEPT: &str = "application/vnd.connectwise.com+json; version=2022.1";
const MAX_RETRIES: u32 = 3;
/// The longest wait a `Retry-After` may ask of us before we give up instead.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
pub const MAX_PAGE_SIZE: u32 = 1000;

#[derive(Clone)]
pub struct Credentials {
    /// `na.myconnectwise.net`, or `host:port`.
    pub host: String,
    pub company_id: String,
    pub public_key: String,
    pub private_key: String,
    pub client_id: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("host", &self.host)
            .field("company_id", &self.company_id)
            .finish_non_exhaustive()
    }
}

/// One problem ConnectWise found with a request.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct FieldProblem {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub field: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CwError {
    /// 401: the keys, company or client id are wrong.
    Unauthorized(String),
    /// 403: the API member's role may not do this.
    Forbidden(String),
    NotFound(String),
    /// 400 and other client errors, with ConnectWise's code and field problems.
    Rejected {
        status: u16,
        code: String,
        message: String,
        problems: Vec<FieldProblem>,
    },
    /// 429 after every retry.
    RateLimited,
    /// 5xx after every retry.
    Server {
        status: u16,
        message: String,
    },
    /// No answer: DNS, connection, TLS.
    Unreachable(String),
    Timeout,
    /// An answer we cannot read.
    Protocol(String),
}

impl std::fmt::Display for CwError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe("ConnectWise"))
    }
}

impl CwError {
    /// The error in words, naming the PSA that answered (the Autotask and HaloPSA clients
    /// answer with the same errors).
    pub fn describe(&self, psa: &str) -> String {
        match self {
            CwError::Unauthorized(m) => format!("{psa} refused the credentials: {m}"),
            CwError::Forbidden(m) => format!("the {psa} API user may not do this: {m}"),
            CwError::NotFound(m) => format!("not found in {psa}: {m}"),
            CwError::Rejected { code, message, .. } => {
                format!("{psa} rejected the request ({code}): {message}")
            }
            CwError::RateLimited => format!("{psa} kept answering 429 (too many requests)"),
            CwError::Server { status, message } => {
                format!("{psa} failed with {status}: {message}")
            }
            CwError::Unreachable(m) => format!("{psa} is unreachable: {m}"),
            CwError::Timeout => format!("{psa} did not answer in time"),
            CwError::Protocol(m) => format!("unexpected answer from {psa}: {m}"),
        }
    }

    /// Credentials or permissions: the config must change.
    pub fn is_access(&self) -> bool {
        matches!(self, CwError::Unauthorized(_) | CwError::Forbidden(_))
    }
}

/// `{id, name}` references (statuses, types, boards…).
#[derive(Clone, Debug, Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct Ref {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
}

/// A company status: `inactiveFlag` marks the statuses of former customers.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CompanyStatus {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub inactive_flag: bool,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    pub id: i64,
    #[serde(default)]
    pub identifier: Option<String>,
    pub name: String,
    #[serde(default)]
    pub status: Option<Ref>,
    #[serde(default)]
    pub types: Vec<Ref>,
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub deleted_flag: bool,
}

/// Configuration statuses use `description`, not `name`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationStatus {
    pub id: i64,
    pub description: String,
    #[serde(default)]
    pub closed_flag: bool,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<FieldProblem>,
}

#[derive(Deserialize)]
struct CompanyInfo {
    #[serde(rename = "Codebase")]
    codebase: String,
}

/// What ConnectWise answered to a raw request.
#[derive(Clone, Debug)]
pub struct RawAnswer {
    pub status: u16,
    pub link: Option<String>,
    pub body: Value,
}

pub struct CwClient {
    http: reqwest::Client,
    creds: Credentials,
    base: OnceCell<String>,
}

fn is_loopback(host: &str) -> bool {
    let h = host.split(':').next().unwrap_or(host);
    h == "localhost" || h.starts_with("127.") || host.starts_with("[::1]")
}

/// The `next` URL of a `Link` header.
fn next_link(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let link = headers.get(reqwest::header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, params) = part.trim().split_once(';')?;
        let rel_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        rel_next.then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

impl CwClient {
    pub fn new(http: reqwest::Client, creds: Credentials) -> Self {
        CwClient {
            http,
            creds,
            base: OnceCell::new(),
        }
    }

    /// `https` always, except for loopback hosts (the simulator).
    fn site(&self) -> String {
        let scheme = if is_loopback(&self.creds.host) {
            "http"
        } else {
            "https"
        };
        format!(
            "{scheme}://{}",
            self.creds.host.trim().trim_end_matches('/')
        )
    }

    /// `https://host/{codebase}apis/3.0`, discovered once.
    pub async fn api_base(&self) -> Result<&str, CwError> {
        self.base
            .get_or_try_init(|| async {
                let url = format!(
                    "{}/login/companyinfo/{}",
                    self.site(),
                    self.creds.company_id
                );
                let res = self.execute(self.http.get(&url)).await?;
                let info: CompanyInfo = res
                    .json()
                    .await
                    .map_err(|e| CwError::Protocol(format!("company info: {e}")))?;
                let codebase = info.codebase.trim_matches('/');
                Ok(format!("{}/{codebase}/apis/3.0", self.site()))
            })
            .await
            .map(String::as_str)
    }

    fn authorization(&self) -> String {
        let c = &self.creds;
        let raw = format!("{}+{}:{}", c.company_id, c.public_key, c.private_key);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    /// Sends with retries on 429 and 5xx; maps every failure to a `CwError`.
    async fn execute(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, CwError> {
        let label = request
            .try_clone()
            .and_then(|r| r.build().ok())
            .map(|r| (r.method().to_string(), r.url().path().to_owned()));
        let started = std::time::Instant::now();
        let result = self.execute_inner(request).await;
        if let Some((method, path)) = label {
            let outcome = match &result {
                Ok(r) => r.status().as_u16().to_string(),
                Err(CwError::Unauthorized(_)) => "401".into(),
                Err(CwError::Forbidden(_)) => "403".into(),
                Err(CwError::NotFound(_)) => "404".into(),
                Err(CwError::Rejected { status, .. }) => status.to_string(),
                Err(CwError::RateLimited) => "429".into(),
                Err(CwError::Server { status, .. }) => status.to_string(),
                Err(CwError::Unreachable(_)) => "unreachable".into(),
                Err(CwError::Timeout) => "timeout".into(),
                Err(CwError::Protocol(_)) => "protocol".into(),
            };
            crate::metrics::global().connectwise(&method, &path, &outcome, started.elapsed());
        }
        result
    }

    async fn execute_inner(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, CwError> {
        let mut attempt = 0;
        loop {
            let req = request
                .try_clone()
                .ok_or_else(|| CwError::Protocol("a request body that cannot be retried".into()))?;
            let res = match req.send().await {
                Ok(r) => r,
                Err(e) if e.is_timeout() => return Err(CwError::Timeout),
                Err(e) => return Err(CwError::Unreachable(e.to_string())),
            };
            let status = res.status();
            if status.is_success() {
                return Ok(res);
            }
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            if retryable && attempt < MAX_RETRIES {
                let asked = res
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let wait = asked.unwrap_or(Duration::from_millis(200 * 2u64.pow(attempt)));
                if wait <= MAX_RETRY_AFTER {
                    attempt += 1;
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            let body: ErrorBody = res.json().await.unwrap_or(ErrorBody {
                code: String::new(),
                message: status.to_string(),
                errors: Vec::new(),
            });
            return Err(match status {
                StatusCode::UNAUTHORIZED => CwError::Unauthorized(body.message),
                StatusCode::FORBIDDEN => CwError::Forbidden(body.message),
                StatusCode::NOT_FOUND => CwError::NotFound(body.message),
                StatusCode::TOO_MANY_REQUESTS => CwError::RateLimited,
                s if s.is_server_error() => CwError::Server {
                    status: s.as_u16(),
                    message: body.message,
                },
                s => CwError::Rejected {
                    status: s.as_u16(),
                    code: body.code,
                    message: body.message,
                    problems: body.errors,
                },
            });
        }
    }

    fn request(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, url)
            .header(reqwest::header::AUTHORIZATION, self.authorization())
            .header("clientId", &self.creds.client_id)
            .header(reqwest::header::ACCEPT, ACCEPT)
    }

    /// GET `path` (e.g. `system/info`) as JSON.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, CwError> {
        let url = format!(
            "{}/{}",
            self.api_base().await?,
            path.trim_start_matches('/')
        );
        let res = self
            .execute(self.request(Method::GET, &url).query(query))
            .await?;
        res.json()
            .await
            .map_err(|e| CwError::Protocol(e.to_string()))
    }

    /// Every item of a list, page by page (`pageSize` up to 1000), following `Link: rel="next"`.
    pub async fn get_all(
        &self,
        path: &str,
        conditions: Option<&str>,
        page_size: u32,
    ) -> Result<Vec<Value>, CwError> {
        let mut query = vec![
            ("pageSize", page_size.clamp(1, MAX_PAGE_SIZE).to_string()),
            ("page", "1".to_owned()),
        ];
        if let Some(c) = conditions.filter(|c| !c.trim().is_empty()) {
            query.push(("conditions", c.to_owned()));
        }
        let first = format!(
            "{}/{}",
            self.api_base().await?,
            path.trim_start_matches('/')
        );
        let mut next = Some(self.request(Method::GET, &first).query(&query));
        let mut out = Vec::new();
        let mut pages = 0;
        while let Some(req) = next.take() {
            pages += 1;
            if pages > 10_000 {
                return Err(CwError::Protocol("more than 10,000 pages".into()));
            }
            let res = self.execute(req).await?;
            let link = next_link(res.headers());
            match res
                .json::<Value>()
                .await
                .map_err(|e| CwError::Protocol(e.to_string()))?
            {
                Value::Array(items) => out.extend(items),
                other => return Err(CwError::Protocol(format!("expected a list, got {}", other))),
            }
            next = link.map(|url| self.request(Method::GET, &url));
        }
        Ok(out)
    }

    /// `path/count` with conditions.
    pub async fn count(&self, path: &str, conditions: Option<&str>) -> Result<u64, CwError> {
        let mut query = Vec::new();
        if let Some(c) = conditions.filter(|c| !c.trim().is_empty()) {
            query.push(("conditions", c.to_owned()));
        }
        let v = self
            .get(&format!("{}/count", path.trim_end_matches('/')), &query)
            .await?;
        v["count"]
            .as_u64()
            .ok_or_else(|| CwError::Protocol("count without a number".into()))
    }

    /// PATCH with a JSON-Patch array (e.g. a configuration's status).
    pub async fn patch(&self, path: &str, operations: &Value) -> Result<Value, CwError> {
        let url = format!(
            "{}/{}",
            self.api_base().await?,
            path.trim_start_matches('/')
        );
        let res = self
            .execute(self.request(Method::PATCH, &url).json(operations))
            .await?;
        res.json()
            .await
            .map_err(|e| CwError::Protocol(e.to_string()))
    }

    async fn send_json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Option<Value>, CwError> {
        let url = format!(
            "{}/{}",
            self.api_base().await?,
            path.trim_start_matches('/')
        );
        let mut req = self.request(method, &url);
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = self.execute(req).await?;
        if res.status() == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        res.json()
            .await
            .map(Some)
            .map_err(|e| CwError::Protocol(e.to_string()))
    }

    /// Any request under the API base, answered as ConnectWise answered it (status, `Link`,
    /// body — its error bodies included). Only a failure to get an answer is an error.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<RawAnswer, CwError> {
        let url = format!(
            "{}/{}",
            self.api_base().await?,
            path.trim_start_matches('/')
        );
        let mut req = self.request(method, &url).query(query);
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = match req.send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Err(CwError::Timeout),
            Err(e) => return Err(CwError::Unreachable(e.to_string())),
        };
        let status = res.status().as_u16();
        let link = res
            .headers()
            .get(reqwest::header::LINK)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = res
            .text()
            .await
            .map_err(|e| CwError::Protocol(e.to_string()))?;
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(RawAnswer { status, link, body })
    }

    fn typed<T: serde::de::DeserializeOwned>(items: Vec<Value>) -> Result<Vec<T>, CwError> {
        items
            .into_iter()
            .map(|v| serde_json::from_value(v).map_err(|e| CwError::Protocol(e.to_string())))
            .collect()
    }

    /// Companies matching `conditions` (all pages).
    pub async fn companies(&self, conditions: Option<&str>) -> Result<Vec<Company>, CwError> {
        Self::typed(
            self.get_all("company/companies", conditions, MAX_PAGE_SIZE)
                .await?,
        )
    }

    pub async fn company_statuses(&self) -> Result<Vec<CompanyStatus>, CwError> {
        Self::typed(
            self.get_all("company/companies/statuses", None, MAX_PAGE_SIZE)
                .await?,
        )
    }

    pub async fn company_types(&self) -> Result<Vec<Ref>, CwError> {
        Self::typed(
            self.get_all("company/companies/types", None, MAX_PAGE_SIZE)
                .await?,
        )
    }

    pub async fn configurations(&self, conditions: Option<&str>) -> Result<Vec<Value>, CwError> {
        self.get_all("company/configurations", conditions, MAX_PAGE_SIZE)
            .await
    }

    pub async fn configuration_statuses(&self) -> Result<Vec<ConfigurationStatus>, CwError> {
        Self::typed(
            self.get_all("company/configurations/statuses", None, MAX_PAGE_SIZE)
                .await?,
        )
    }

    /// Changes a configuration with JSON-Patch operations, e.g.
    /// `[{"op": "replace", "path": "status/id", "value": 2}]`.
    pub async fn update_configuration(
        &self,
        id: i64,
        operations: &Value,
    ) -> Result<Value, CwError> {
        self.patch(&format!("company/configurations/{id}"), operations)
            .await
    }

    pub async fn tickets(&self, conditions: Option<&str>) -> Result<Vec<Value>, CwError> {
        self.get_all("service/tickets", conditions, MAX_PAGE_SIZE)
            .await
    }

    pub async fn ticket(&self, id: i64) -> Result<Value, CwError> {
        self.get(&format!("service/tickets/{id}"), &[]).await
    }

    /// Adds a note to a ticket: internal (analysis) or on the discussion.
    pub async fn add_ticket_note(
        &self,
        ticket_id: i64,
        text: &str,
        internal: bool,
    ) -> Result<Value, CwError> {
        let body = serde_json::json!({ "text": text, "internalAnalysisFlag": internal, "detailDescriptionFlag": !internal });
        let created = self
            .send_json(
                Method::POST,
                &format!("service/tickets/{ticket_id}/notes"),
                Some(&body),
            )
            .await?;
        created.ok_or_else(|| CwError::Protocol("no note in the answer".into()))
    }

    pub async fn ticket_notes(&self, ticket_id: i64) -> Result<Vec<Value>, CwError> {
        self.get_all(
            &format!("service/tickets/{ticket_id}/notes"),
            None,
            MAX_PAGE_SIZE,
        )
        .await
    }

    pub async fn callbacks(&self) -> Result<Vec<Value>, CwError> {
        self.get_all("system/callbacks", None, MAX_PAGE_SIZE).await
    }

    /// Registers a callback: ConnectWise POSTs to `url` when a record of `kind` changes.
    pub async fn create_callback(
        &self,
        url: &str,
        kind: &str,
        description: &str,
    ) -> Result<Value, CwError> {
        let body = serde_json::json!({ "url": url, "type": kind, "level": "owner", "objectId": 1, "description": description, "inactiveFlag": false });
        let created = self
            .send_json(Method::POST, "system/callbacks", Some(&body))
            .await?;
        created.ok_or_else(|| CwError::Protocol("no callback in the answer".into()))
    }

    pub async fn delete_callback(&self, id: i64) -> Result<(), CwError> {
        self.send_json(Method::DELETE, &format!("system/callbacks/{id}"), None)
            .await
            .map(|_| ())
    }

    /// The member behind a hosted-API session (`memberHash`, `memberContext` from the pod's
    /// `getMemberAuthentication`), asked as that member: their cookies and our client id, no
    /// API keys. The caller compares the answer's `identifier` with the member it was told.
    pub async fn my_member_info(
        &self,
        member_id: &str,
        member_hash: &str,
        member_context: &str,
    ) -> Result<Value, CwError> {
        let url = format!("{}/system/myMembers/info", self.api_base().await?);
        // Cookie values from the browser: nothing that could end the header or add a cookie.
        let clean = |s: &str| -> String {
            s.chars()
                .filter(|c| c.is_ascii_graphic() && *c != ';' && *c != ',')
                .collect()
        };
        let cookie = format!(
            "companyName={}; memberId={}; memberHash={}; memberContext={}",
            clean(&self.creds.company_id),
            clean(member_id),
            clean(member_hash),
            clean(member_context)
        );
        let req = self
            .http
            .get(&url)
            .header(reqwest::header::COOKIE, cookie)
            .header("clientId", &self.creds.client_id)
            .header(reqwest::header::ACCEPT, ACCEPT);
        let res = self.execute(req).await?;
        res.json()
            .await
            .map_err(|e| CwError::Protocol(e.to_string()))
    }

    /// The health check: credentials (`system/info`), then permissions (one company).
    /// Returns how long it took.
    pub async fn check(&self) -> Result<Duration, CwError> {
        let started = Instant::now();
        self.get("system/info", &[]).await?;
        self.get("company/companies", &[("pageSize", "1".into())])
            .await?;
        Ok(started.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::LINK, "<https://x/apis/3.0/a?page=2&pageSize=25>; rel=\"next\", <https://x/apis/3.0/a?page=9>; rel=\"last\"".parse().unwrap());
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://x/apis/3.0/a?page=2&pageSize=25")
        );
        h.insert(
            reqwest::header::LINK,
            "<https://x/a?page=9>; rel=\"last\"".parse().unwrap(),
        );
        assert_eq!(next_link(&h), None);
    }

    #[test]
    fn loopback_only_gets_plain_http() {
        assert!(is_loopback("127.0.0.1:4000") && is_loopback("localhost:80"));
        assert!(!is_loopback("na.myconnectwise.net") && !is_loopback("127evil.example"));
    }
}
