//! The client of a custom integration: every request goes to the spec's base URL (paths
//! confined under it, next-page URLs too), with its default headers and authentication —
//! an API key, Basic, Bearer, or an OAuth2 client-credentials token cached until a minute
//! before it expires and renewed once when the API answers 401 — and the retries on 429
//! and 5xx the PSA clients have. It answers with the same `CwError` they do.
use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, HeaderMap, HeaderName, HeaderValue, LINK};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use super::{
    Auth, CustomSpec, JsonPath, KeyLocation, ListRequest, ListedItem, Paging, method_error,
    path_error, scalar_text,
};
use crate::connectwise::client::{CwError, FieldProblem};
use crate::psa::autotask::{REQUEST_TIMEOUT, body_excerpt, error_for, send_with_retries};
use crate::psa::oauth::{Token, TokenAnswer, TokenCache};

/// Pages followed before a listing is taken for a loop.
pub const MAX_PAGES: usize = 1000;
/// The largest answer read, in bytes.
pub const MAX_BODY_BYTES: usize = 20 << 20;

/// The HTTP client custom integrations should use: as [`crate::http_client`], but it does
/// not follow redirects. A redirect would carry an API key header to wherever the tool
/// points, and a health check expecting a 3xx must see it.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    use anyhow::Context;
    // Installing twice is harmless: the first provider stays.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("orghub/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot build the HTTP client")
}

/// What a valid spec gives, parsed once.
struct Ready {
    base: Url,
    /// `https://api.tool.example/v2`: the base without a trailing slash.
    base_text: String,
    /// `/v2`, or empty for a base at the root.
    base_path: String,
    headers: HeaderMap,
}

pub struct CustomClient {
    http: reqwest::Client,
    spec: CustomSpec,
    /// An invalid spec makes every call fail with `INVALID_SPEC` before anything is sent.
    ready: Result<Ready, CwError>,
    token: TokenCache,
}

fn rejected(code: &str, message: impl Into<String>) -> CwError {
    CwError::Rejected {
        status: 400,
        code: code.into(),
        message: message.into(),
        problems: vec![],
    }
}

impl CustomClient {
    /// A client for `spec`. `http` should not follow redirects: see [`http_client`]. The
    /// spec is validated here; when it breaks a rule, every call answers
    /// `Rejected { code: "INVALID_SPEC" }` with the problems, and nothing is sent.
    pub fn new(http: reqwest::Client, spec: CustomSpec) -> Self {
        let ready = Self::prepare(&spec);
        CustomClient {
            http,
            spec,
            ready,
            token: TokenCache::default(),
        }
    }

    fn prepare(spec: &CustomSpec) -> Result<Ready, CwError> {
        let errors = spec.validate("");
        if !errors.is_empty() {
            return Err(CwError::Rejected {
                status: 400,
                code: "INVALID_SPEC".into(),
                message: errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
                problems: errors
                    .into_iter()
                    .map(|e| FieldProblem {
                        code: e.code.into(),
                        message: e.message,
                        field: Some(e.field),
                    })
                    .collect(),
            });
        }
        let base_text = spec.base_url.trim().trim_end_matches('/').to_owned();
        let base = Url::parse(&base_text)
            .map_err(|e| rejected("INVALID_SPEC", format!("baseUrl: {e}")))?;
        let base_path = base.path().trim_end_matches('/').to_owned();
        let mut headers = HeaderMap::new();
        for (name, value) in &spec.default_headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| rejected("INVALID_SPEC", format!("defaultHeaders.{name}: {e}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| rejected("INVALID_SPEC", format!("defaultHeaders.{name}: {e}")))?;
            headers.insert(name, value);
        }
        if !headers.contains_key(ACCEPT) {
            headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        }
        Ok(Ready {
            base,
            base_text,
            base_path,
            headers,
        })
    }

    pub fn spec(&self) -> &CustomSpec {
        &self.spec
    }

    fn ready(&self) -> Result<&Ready, CwError> {
        self.ready.as_ref().map_err(Clone::clone)
    }

    /// Whether `url` stays on the base URL's origin and under its path.
    fn confined(ready: &Ready, url: &Url) -> bool {
        let base = &ready.base;
        let path = url.path();
        url.scheme() == base.scheme()
            && url.host_str() == base.host_str()
            && url.port_or_known_default() == base.port_or_known_default()
            && url.username().is_empty()
            && url.password().is_none()
            && (ready.base_path.is_empty()
                || path == ready.base_path
                || path
                    .strip_prefix(ready.base_path.as_str())
                    .is_some_and(|rest| rest.starts_with('/')))
    }

    /// The URL of `path` under the base; refused (`INVALID_PATH`) when it would leave it.
    fn url_for(&self, path: &str) -> Result<Url, CwError> {
        let ready = self.ready()?;
        if let Some(e) = path_error("path", path) {
            return Err(rejected("INVALID_PATH", format!("`{path}`: {}", e.message)));
        }
        let url = Url::parse(&format!("{}{path}", ready.base_text))
            .map_err(|e| rejected("INVALID_PATH", format!("`{path}`: {e}")))?;
        if !Self::confined(ready, &url) {
            return Err(rejected(
                "INVALID_PATH",
                format!("`{path}` leaves the base URL"),
            ));
        }
        Ok(url)
    }

    /// A request with the query, the default headers and the credentials.
    fn build(
        &self,
        ready: &Ready,
        method: &Method,
        url: &Url,
        query: &[(String, String)],
        body: Option<&Value>,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut url = url.clone();
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        if let Auth::ApiKey {
            name,
            location: KeyLocation::Query,
            value,
        } = &self.spec.auth
        {
            // A next-page URL may carry the key already: ours replaces it.
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| k != name.as_str())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            url.query_pairs_mut()
                .clear()
                .extend_pairs(kept)
                .append_pair(name, value);
        }
        let mut req = self
            .http
            .request(method.clone(), url)
            .headers(ready.headers.clone());
        req = match &self.spec.auth {
            Auth::None => req,
            Auth::ApiKey {
                name,
                location: KeyLocation::Header,
                value,
            } => req.header(name.as_str(), value.as_str()),
            Auth::ApiKey { .. } => req,
            Auth::Basic { username, password } => req.basic_auth(username, Some(password)),
            Auth::Bearer { token } => req.bearer_auth(token),
            Auth::OAuth2 { .. } => req.bearer_auth(token.unwrap_or_default()),
        };
        if let Some(body) = body {
            req = req.json(body);
        }
        req
    }

    /// Sends one request with retries, renewing an OAuth2 token once when it is refused.
    /// Any status is returned; only failing to get an answer is an error.
    async fn send(
        &self,
        method: &Method,
        url: &Url,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<reqwest::Response, CwError> {
        let ready = self.ready()?;
        let oauth = matches!(self.spec.auth, Auth::OAuth2 { .. });
        let token = if oauth {
            Some(self.token().await?)
        } else {
            None
        };
        let mut res = send_with_retries(
            self.build(ready, method, url, query, body, token.as_deref()),
            || {},
        )
        .await?;
        if let Some(refused) = token
            && res.status() == StatusCode::UNAUTHORIZED
        {
            let renewed = self.renew(&refused).await?;
            res = send_with_retries(
                self.build(ready, method, url, query, body, Some(&renewed)),
                || {},
            )
            .await?;
        }
        // A client that follows redirects may have left the base URL.
        if !Self::confined(ready, res.url()) {
            return Err(CwError::Protocol(format!(
                "the tool redirected to {}: redirects are not followed",
                res.url().origin().ascii_serialization()
            )));
        }
        Ok(res)
    }

    /// A new OAuth2 token. The token endpoint's 400, 401 and 403 are refused credentials.
    async fn fetch_token(&self) -> Result<Token, CwError> {
        let Auth::OAuth2 {
            token_url,
            client_id,
            client_secret,
            scopes,
        } = &self.spec.auth
        else {
            return Err(CwError::Protocol("no OAuth2 credentials".into()));
        };
        let scope = scopes.join(" ");
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.as_str()),
        ];
        if !scope.is_empty() {
            form.push(("scope", scope.as_str()));
        }
        let req = self
            .http
            .post(token_url.trim())
            .header(ACCEPT, "application/json")
            .form(&form);
        let res = send_with_retries(req, || {}).await?;
        let status = res.status();
        if matches!(
            status,
            StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ) {
            let text = read_text(res).await.unwrap_or_default();
            return Err(CwError::Unauthorized(format!(
                "the token endpoint refused the client credentials: {}",
                message_of(status, &text)
            )));
        }
        if !status.is_success() {
            return Err(tool_error(res).await);
        }
        let answer: TokenAnswer = serde_json::from_slice(&read_body(res).await?)
            .map_err(|e| CwError::Protocol(format!("token: {e}")))?;
        answer.into_token()
    }

    /// The kept token, or a new one when there is none or it expires within a minute.
    async fn token(&self) -> Result<String, CwError> {
        self.token.get(|| self.fetch_token()).await
    }

    /// A token to replace `refused`; one already renewed by another call is reused.
    async fn renew(&self, refused: &str) -> Result<String, CwError> {
        self.token.renew(refused, || self.fetch_token()).await
    }

    /// The health check: its status must be the expected one. Returns how long it took.
    pub async fn check(&self) -> Result<Duration, CwError> {
        let started = Instant::now();
        let health = &self.spec.health;
        let method = parse_method(&health.method)?;
        let url = self.url_for(&health.path)?;
        let res = self.send(&method, &url, &[], None).await?;
        let status = res.status();
        if status.as_u16() == health.expected_status {
            return Ok(started.elapsed());
        }
        if status.is_success() || status.is_redirection() {
            return Err(CwError::Rejected {
                status: status.as_u16(),
                code: "UNEXPECTED_STATUS".into(),
                message: format!(
                    "expected {}, got {}",
                    health.expected_status,
                    status.as_u16()
                ),
                problems: vec![],
            });
        }
        Err(tool_error(res).await)
    }

    /// Every item of the list request, page after page; an id seen again is skipped.
    pub async fn list(&self) -> Result<Vec<ListedItem>, CwError> {
        let Some(list) = &self.spec.list else {
            return Err(rejected(
                "NO_LIST_REQUEST",
                "the integration has no list request",
            ));
        };
        let ready = self.ready()?;
        let first = self.url_for(&list.path)?;
        let fixed: Vec<(String, String)> = list
            .query
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut out: Vec<ListedItem> = vec![];
        let mut seen: HashSet<String> = HashSet::new();
        let mut visited: HashSet<String> = HashSet::new();
        let mut next_url: Option<Url> = None;
        let mut offset: usize = 0;
        let mut index = 0usize;
        for page in 0..MAX_PAGES {
            let mut query = fixed.clone();
            match &list.paging {
                Paging::None => {}
                Paging::PageSize {
                    page_param,
                    size_param,
                    size,
                    first_page,
                } => {
                    let number = u64::from(*first_page) + page as u64;
                    query.push((page_param.clone(), number.to_string()));
                    query.push((size_param.clone(), size.to_string()));
                }
                Paging::OffsetLimit {
                    offset_param,
                    limit_param,
                    limit,
                } => {
                    query.push((offset_param.clone(), offset.to_string()));
                    query.push((limit_param.clone(), limit.to_string()));
                }
                Paging::NextLink { .. } => {
                    // A next URL carries its own query.
                    if next_url.is_some() {
                        query.clear();
                    }
                }
            }
            let url = next_url.take().unwrap_or_else(|| first.clone());
            let res = self.send(&Method::GET, &url, &query, None).await?;
            if !res.status().is_success() {
                return Err(tool_error(res).await);
            }
            let requested = res.url().clone();
            let link = res
                .headers()
                .get(LINK)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body: Value = serde_json::from_slice(&read_body(res).await?).map_err(|e| {
                CwError::Protocol(format!("page {} of `{}`: {e}", page + 1, list.path))
            })?;
            let items = page_items(&body, list, page)?;
            let count = items.len();
            let mut fresh = 0;
            for item in items {
                let listed = read_item(item, list, index)?;
                index += 1;
                if seen.insert(listed.id.clone()) {
                    out.push(listed);
                    fresh += 1;
                }
            }
            let full = |size: u32| count >= size as usize && count > 0;
            let more = match &list.paging {
                Paging::None => false,
                Paging::PageSize { size, .. } => full(*size),
                Paging::OffsetLimit { limit, .. } => {
                    offset += count;
                    full(*limit)
                }
                Paging::NextLink { next_path } => {
                    let next = next_of(&body, next_path.as_deref(), link.as_deref(), page)?;
                    if let Some(next) = next {
                        let resolved = requested.join(&next).map_err(|e| {
                            CwError::Protocol(format!("the next page `{next}`: {e}"))
                        })?;
                        // The next page gets our credentials: only under the base URL.
                        if !Self::confined(ready, &resolved) {
                            return Err(CwError::Protocol(format!(
                                "a next page outside the base URL: {next}"
                            )));
                        }
                        if !visited.insert(resolved.to_string()) || resolved == requested {
                            return Err(CwError::Protocol(format!(
                                "the next page repeats an earlier one: {next}"
                            )));
                        }
                        next_url = Some(resolved);
                    }
                    next_url.is_some()
                }
            };
            if !more {
                return Ok(out);
            }
            if fresh == 0 {
                return Err(CwError::Protocol(format!(
                    "page {} of `{}` repeats earlier items: does the tool read the paging parameters?",
                    page + 1,
                    list.path
                )));
            }
        }
        Err(CwError::Protocol(format!(
            "too many pages: more than {MAX_PAGES} of `{}`",
            list.path
        )))
    }

    /// One call with the stored credentials, its path confined under the base URL. Answers
    /// the tool's status, `Link` header and body (JSON, else the text as a JSON string, null
    /// when empty), client errors included; only 401, 403, 429 and 5xx (after retries) are
    /// errors.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        body: Option<Value>,
    ) -> Result<(u16, Option<String>, Value), CwError> {
        let method = parse_method(method)?;
        let url = self.url_for(path)?;
        let res = self.send(&method, &url, query, body.as_ref()).await?;
        let status = res.status();
        if matches!(
            status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
        ) || status.is_server_error()
        {
            return Err(tool_error(res).await);
        }
        let link = res
            .headers()
            .get(LINK)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = read_body(res).await?;
        let body = if bytes.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Ok((status.as_u16(), link, body))
    }
}

fn parse_method(method: &str) -> Result<Method, CwError> {
    if let Some(e) = method_error("method", method) {
        return Err(rejected(
            "INVALID_METHOD",
            format!("`{method}`: {}", e.message),
        ));
    }
    Method::from_bytes(method.trim().to_ascii_uppercase().as_bytes())
        .map_err(|e| rejected("INVALID_METHOD", e.to_string()))
}

/// The array of a page: the body itself for `""` or `$`, else what `items_path` finds
/// (null is an empty page).
fn page_items<'v>(
    body: &'v Value,
    list: &ListRequest,
    page: usize,
) -> Result<&'v [Value], CwError> {
    let path = list.items_path.trim();
    let found = JsonPath::parse(path).map_err(CwError::Protocol)?.find(body);
    match found {
        Some(Value::Array(items)) => Ok(items),
        Some(Value::Null) => Ok(&[]),
        _ => Err(CwError::Protocol(format!(
            "page {} has no array at `{}`",
            page + 1,
            if path.is_empty() { "$" } else { path }
        ))),
    }
}

/// An item of the listing (`index` counts from 0 over every page).
fn read_item(item: &Value, list: &ListRequest, index: usize) -> Result<ListedItem, CwError> {
    let text_at = |path: &str, what: &str| {
        json_at(item, path)
            .and_then(scalar_text)
            .ok_or_else(|| CwError::Protocol(format!("item {index} has no {what} at `{path}`")))
    };
    let id = text_at(&list.id_path, "id")?;
    let name = text_at(&list.name_path, "name")?;
    let website = list
        .website_path
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .and_then(|p| json_at(item, p))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_owned);
    let active = match list.active_path.as_deref().map(str::trim) {
        Some(p) if !p.is_empty() => {
            let (inverted, path) = match p.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, p),
            };
            let flag = match json_at(item, path) {
                None | Some(Value::Null) => None,
                Some(Value::Bool(b)) => Some(*b),
                Some(Value::Number(n)) if n.as_u64() == Some(0) => Some(false),
                Some(Value::Number(n)) if n.as_u64() == Some(1) => Some(true),
                Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
                Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
                Some(other) => {
                    return Err(CwError::Protocol(format!(
                        "item {index}: `{path}` is {other}, not a boolean"
                    )));
                }
            };
            // Absent means active, whichever way the flag reads.
            flag.is_none_or(|f| f != inverted)
        }
        _ => true,
    };
    Ok(ListedItem {
        id,
        name,
        website,
        active,
    })
}

fn json_at<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    JsonPath::parse(path).ok()?.find(v)
}

/// The next page's URL: the string at `next_path` in the body, else the `Link` header's
/// `rel="next"`; `None` when there is none (null, absent or empty).
fn next_of(
    body: &Value,
    next_path: Option<&str>,
    link: Option<&str>,
    page: usize,
) -> Result<Option<String>, CwError> {
    match next_path.map(str::trim).filter(|p| !p.is_empty()) {
        Some(path) => match json_at(body, path) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
            Some(other) => Err(CwError::Protocol(format!(
                "page {}: the next page at `{path}` is {other}, not a URL",
                page + 1
            ))),
        },
        None => Ok(link.and_then(next_link)),
    }
}

/// The `rel="next"` URL of a `Link` header.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
        });
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        next.then(|| target.to_owned())
    })
}

/// A body, at most [`MAX_BODY_BYTES`].
async fn read_body(mut res: reqwest::Response) -> Result<Vec<u8>, CwError> {
    let mut out = Vec::new();
    loop {
        match res.chunk().await {
            Ok(Some(chunk)) => {
                if out.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(CwError::Protocol(format!(
                        "an answer larger than {} MiB",
                        MAX_BODY_BYTES >> 20
                    )));
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(out),
            Err(e) if e.is_timeout() => return Err(CwError::Timeout),
            Err(e) => return Err(CwError::Protocol(format!("reading the answer: {e}"))),
        }
    }
}

async fn read_text(res: reqwest::Response) -> Result<String, CwError> {
    read_body(res)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// The message of an error body: a JSON string, an OAuth `error` with its
/// `error_description`, or an object's `message`, `error`, `title` or `detail`; else the
/// body itself, shortened.
fn message_of(status: StatusCode, text: &str) -> String {
    let field = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let found = match serde_json::from_str::<Value>(text) {
        Ok(Value::String(s)) => Some(s),
        Ok(v @ Value::Object(_)) => match (field(&v, "error"), field(&v, "error_description")) {
            (Some(e), Some(d)) => Some(format!("{e}: {d}")),
            (e, d) => d.or_else(|| {
                ["message", "detail", "title"]
                    .iter()
                    .find_map(|k| field(&v, k))
                    .or(e)
            }),
        },
        _ => None,
    };
    found
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| body_excerpt(status, text))
}

/// A final non-success answer as the PSA clients map them.
async fn tool_error(res: reqwest::Response) -> CwError {
    let status = res.status();
    let text = read_text(res).await.unwrap_or_default();
    let message = if status == StatusCode::UNAUTHORIZED && text.trim().is_empty() {
        "the tool refused the credentials".to_owned()
    } else {
        message_of(status, &text)
    };
    error_for(status, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::custom::tool_sim::{CLIENTS, ToolAuth, ToolListing, ToolSim};
    use crate::psa::autotask_sim::company_name;
    use serde_json::json;

    fn client(spec: CustomSpec) -> CustomClient {
        CustomClient::new(http_client().unwrap(), spec)
    }

    async fn sim(auth: ToolAuth) -> ToolSim {
        ToolSim::start(auth).await.unwrap()
    }

    fn oauth() -> ToolAuth {
        ToolAuth::OAuth2 {
            client_id: "orghub".into(),
            client_secret: "cc-secret".into(),
            scope: "clients.read".into(),
        }
    }

    /// The auth with its secret changed.
    fn wrong(mut auth: Auth) -> Auth {
        for s in auth.secrets_mut() {
            s.push_str("-wrong");
        }
        auth
    }

    fn assert_all_57(items: &[ListedItem], ids: impl Fn(i64) -> String) {
        assert_eq!(items.len(), CLIENTS, "{items:?}");
        for (i, item) in items.iter().enumerate() {
            let id = i as i64 + 1;
            assert_eq!(item.id, ids(id));
            assert_eq!(item.name, company_name(id));
        }
    }

    #[tokio::test]
    async fn every_auth_kind_lists_with_the_right_secret_only() {
        for auth in [
            ToolAuth::None,
            ToolAuth::ApiKeyHeader("X-Api-Key".into(), "key-123".into()),
            ToolAuth::ApiKeyQuery("api_key".into(), "key-456".into()),
            ToolAuth::Basic("orghub".into(), "pa:ss word".into()),
            ToolAuth::Bearer("static-token".into()),
            oauth(),
        ] {
            let sim = sim(auth.clone()).await;
            let spec = sim.spec(ToolListing::PageSize);
            let tool = client(spec.clone());
            let items = tool
                .list()
                .await
                .unwrap_or_else(|e| panic!("{auth:?}: {e:?}"));
            assert_all_57(&items, |id| id.to_string());
            tool.check().await.unwrap();
            if matches!(auth, ToolAuth::None) {
                continue;
            }
            let refused = client(CustomSpec {
                auth: wrong(spec.auth.clone()),
                ..spec
            });
            let err = refused.list().await.unwrap_err();
            assert!(matches!(err, CwError::Unauthorized(_)), "{auth:?}: {err:?}");
            assert!(matches!(
                refused.check().await,
                Err(CwError::Unauthorized(_))
            ));
        }
    }

    #[tokio::test]
    async fn four_paging_styles_read_all_57() {
        let sim = sim(ToolAuth::ApiKeyQuery("api_key".into(), "k".into())).await;
        let before = sim.requests();
        let v1 = client(sim.spec(ToolListing::PageSize))
            .list()
            .await
            .unwrap();
        assert_eq!(
            sim.requests() - before,
            6,
            "pages of 10: 5 full and one of 7"
        );
        assert_all_57(&v1, |id| id.to_string());
        assert_eq!(v1.iter().filter(|i| !i.active).count(), 5);
        assert!(!v1[9].active && v1[10].active);
        assert!(v1[6].website.is_none() && v1[0].website.as_deref() == Some("www.contoso.example"));

        let v2 = client(sim.spec(ToolListing::OffsetLimit))
            .list()
            .await
            .unwrap();
        assert_all_57(&v2, |id| format!("C-{id}"));
        assert_eq!(
            v2.iter().filter(|i| !i.active).count(),
            5,
            "from `!archived`"
        );
        assert!(!v2[19].active);

        let v3 = client(sim.spec(ToolListing::NextInBody))
            .list()
            .await
            .unwrap();
        assert_all_57(&v3, |id| id.to_string());
        assert!(v3.iter().all(|i| i.active), "no active path: all active");
        assert_eq!(v3[0].website.as_deref(), Some("www.contoso.example"));

        let before = sim.requests();
        let v4 = client(sim.spec(ToolListing::LinkHeader))
            .list()
            .await
            .unwrap();
        assert_eq!(sim.requests() - before, 3, "pages of 20, 20 and 17");
        assert_all_57(&v4, |id| id.to_string());
        assert_eq!(v4, v1);
    }

    #[tokio::test]
    async fn a_next_page_elsewhere_is_refused() {
        let sim = sim(ToolAuth::Bearer("t".into())).await;
        for (origin, listing) in [
            ("http://evil.test", ToolListing::NextInBody),
            ("http://127.0.0.1:9", ToolListing::LinkHeader),
        ] {
            sim.set_next_origin(Some(origin));
            let before = sim.requests();
            let err = client(sim.spec(listing)).list().await.unwrap_err();
            assert!(
                matches!(&err, CwError::Protocol(m) if m.contains("outside the base URL")),
                "{err:?}"
            );
            assert_eq!(sim.requests() - before, 1, "the first page only");
        }
        // Same origin, outside the base path.
        sim.set_next_origin(None);
        let mut spec = sim.spec(ToolListing::NextInBody);
        spec.base_url = format!("{}/api/v3", sim.url());
        spec.list.as_mut().unwrap().path = "/clients".into();
        spec.health.path = "/x".into();
        let items = client(spec).list().await.unwrap();
        assert_eq!(items.len(), CLIENTS, "next pages under /api/v3 are fine");
    }

    #[tokio::test]
    async fn health_green_down_and_unexpected() {
        let sim = sim(ToolAuth::ApiKeyHeader("X-Api-Key".into(), "k".into())).await;
        let spec = sim.spec(ToolListing::PageSize);
        let took = client(spec.clone()).check().await.unwrap();
        assert!(took < Duration::from_secs(5));

        sim.set_healthy(false);
        let err = client(spec.clone()).check().await.unwrap_err();
        assert!(
            matches!(&err, CwError::Server { status: 503, message } if message.contains("maintenance")),
            "{err:?}"
        );
        sim.set_healthy(true);

        let mut expecting = spec.clone();
        expecting.health.expected_status = 204;
        match client(expecting).check().await {
            Err(CwError::Rejected {
                status,
                code,
                message,
                ..
            }) => {
                assert_eq!((status, code.as_str()), (200, "UNEXPECTED_STATUS"));
                assert_eq!(message, "expected 204, got 200");
            }
            other => panic!("{other:?}"),
        }
        let mut missing = spec.clone();
        missing.health.path = "/nothing".into();
        assert!(matches!(
            client(missing).check().await,
            Err(CwError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn oauth2_tokens_are_cached_and_renewed() {
        let sim = sim(oauth()).await;
        let tool = client(sim.spec(ToolListing::LinkHeader));
        tool.check().await.unwrap();
        assert_eq!(tool.list().await.unwrap().len(), CLIENTS);
        let (status, _, _) = tool.request("GET", "/health", &[], None).await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(sim.tokens_issued(), 1, "one grant for several calls");

        sim.expire_tokens();
        let before = sim.requests();
        tool.check().await.unwrap();
        assert_eq!(sim.tokens_issued(), 2);
        assert_eq!(
            sim.requests() - before,
            3,
            "refused, a new token, the retry"
        );
        tool.check().await.unwrap();
        assert_eq!(sim.tokens_issued(), 2);

        // A scope the tool does not grant: the token endpoint's 400 is refused credentials.
        let mut spec = sim.spec(ToolListing::LinkHeader);
        if let Auth::OAuth2 { scopes, .. } = &mut spec.auth {
            *scopes = vec!["other".into()];
        }
        let err = client(spec).check().await.unwrap_err();
        assert!(
            matches!(&err, CwError::Unauthorized(m) if m.contains("invalid_scope")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn requests_are_confined_and_answer_client_errors() {
        let sim = sim(ToolAuth::Basic("u".into(), "p".into())).await;
        let tool = client(sim.spec(ToolListing::PageSize));
        let before = sim.requests();
        for path in [
            "../x",
            "/../x",
            "/v1/../../x",
            "/%2e%2e/x",
            "//evil.test/x",
            "http://x",
            "https://evil.test/api/health",
            "/health?x=1",
            "",
        ] {
            match tool.request("GET", path, &[], None).await {
                Err(CwError::Rejected {
                    status: 400, code, ..
                }) => {
                    assert_eq!(code, "INVALID_PATH", "{path}")
                }
                other => panic!("{path}: {other:?}"),
            }
        }
        assert!(matches!(
            tool.request("TRACE", "/health", &[], None).await,
            Err(CwError::Rejected { code, .. }) if code == "INVALID_METHOD"
        ));
        assert_eq!(sim.requests(), before, "nothing was sent");

        let (status, _, body) = tool
            .request(
                "post",
                "/v1/clients/3/notes",
                &[],
                Some(json!({ "text": "hi" })),
            )
            .await
            .unwrap();
        assert_eq!(
            (status, body),
            (201, json!({ "clientId": 3, "note": { "text": "hi" } }))
        );
        let (status, _, body) = tool
            .request("POST", "/v1/clients/99/notes", &[], Some(json!({})))
            .await
            .unwrap();
        assert_eq!(status, 404);
        assert_eq!(body["error"], "not_found");
        let (status, link, body) = tool
            .request("GET", "/v4/clients", &[("page".into(), "2".into())], None)
            .await
            .unwrap();
        assert_eq!(status, 200);
        assert_eq!(body.as_array().unwrap()[0]["id"], 21);
        assert_eq!(
            link.as_deref().and_then(next_link).as_deref(),
            Some("/api/v4/clients?page=3&per_page=20")
        );
        let refused = client(CustomSpec {
            auth: wrong(tool.spec().auth.clone()),
            ..tool.spec().clone()
        });
        assert!(matches!(
            refused.request("GET", "/health", &[], None).await,
            Err(CwError::Unauthorized(_))
        ));
    }

    #[tokio::test]
    async fn rate_limits_are_waited_out_and_server_errors_retried() {
        let sim = sim(ToolAuth::None).await;
        let tool = client(sim.spec(ToolListing::LinkHeader));
        sim.set_faults(1, 1);
        let before = sim.requests();
        let started = Instant::now();
        assert_eq!(tool.list().await.unwrap().len(), CLIENTS);
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "Retry-After: 1"
        );
        assert_eq!(sim.requests() - before, 5, "a 429, a 500, then 3 pages");
        sim.set_faults(0, 3);
        let err = tool.check().await.unwrap_err();
        assert!(
            matches!(err, CwError::Server { status: 500, .. }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn listing_problems_are_named() {
        let sim = sim(ToolAuth::None).await;
        let mut spec = sim.spec(ToolListing::PageSize);
        let list = spec.list.as_mut().unwrap();
        list.name_path = "title".into();
        let err = client(spec.clone()).list().await.unwrap_err();
        assert!(
            matches!(&err, CwError::Protocol(m) if m == "item 0 has no name at `title`"),
            "{err:?}"
        );
        let list = spec.list.as_mut().unwrap();
        list.name_path = "name".into();
        list.items_path = "items".into();
        let err = client(spec.clone()).list().await.unwrap_err();
        assert!(
            matches!(&err, CwError::Protocol(m) if m.contains("no array at `items`")),
            "{err:?}"
        );

        // A tool that ignores the page parameter would loop: caught.
        let list = spec.list.as_mut().unwrap();
        list.items_path = "data".into();
        list.paging = Paging::PageSize {
            page_param: "p".into(),
            size_param: "pageSize".into(),
            size: 10,
            first_page: 1,
        };
        let err = client(spec.clone()).list().await.unwrap_err();
        assert!(
            matches!(&err, CwError::Protocol(m) if m.contains("repeats")),
            "{err:?}"
        );

        spec.list = None;
        assert!(matches!(
            client(spec.clone()).list().await,
            Err(CwError::Rejected { code, .. }) if code == "NO_LIST_REQUEST"
        ));
        let before = sim.requests();
        spec.base_url = "http://tool.example/api".into();
        match client(spec).check().await {
            Err(CwError::Rejected { code, problems, .. }) => {
                assert_eq!(code, "INVALID_SPEC");
                assert_eq!(problems[0].field.as_deref(), Some("baseUrl"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(sim.requests(), before);
    }

    #[test]
    fn items_read_from_paths() {
        let list = ListRequest {
            path: "/x".into(),
            query: Default::default(),
            paging: Paging::None,
            items_path: String::new(),
            id_path: "ref.id".into(),
            name_path: "name".into(),
            website_path: Some("site".into()),
            active_path: Some("!inactive".into()),
        };
        let item = |v: Value| read_item(&v, &list, 4);
        assert_eq!(
            item(
                json!({ "ref": { "id": 12.0 }, "name": " A ", "site": "a.example", "inactive": 1 })
            )
            .unwrap(),
            ListedItem {
                id: "12".into(),
                name: "A".into(),
                website: Some("a.example".into()),
                active: false
            }
        );
        assert!(
            item(json!({ "ref": { "id": "x" }, "name": "A" }))
                .unwrap()
                .active
        );
        assert!(
            item(json!({ "ref": { "id": "x" }, "name": "A", "inactive": "false" }))
                .unwrap()
                .active
        );
        let err =
            item(json!({ "ref": { "id": "x" }, "name": "A", "inactive": "maybe" })).unwrap_err();
        assert!(
            matches!(&err, CwError::Protocol(m) if m.contains("item 4")),
            "{err:?}"
        );
        let err = item(json!({ "ref": {}, "name": "A" })).unwrap_err();
        assert_eq!(
            err,
            CwError::Protocol("item 4 has no id at `ref.id`".into())
        );
        assert_eq!(
            next_link(r#"<https://x/a?page=1>; rel="first", <https://x/a?page=2>; rel="next""#),
            Some("https://x/a?page=2".into())
        );
        assert_eq!(next_link(r#"<https://x/a?page=9>; rel="last""#), None);
    }
}
