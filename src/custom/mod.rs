//! Custom integrations: any tool with an HTTP API described by a [`CustomSpec`] — its base
//! URL, how to authenticate, a health check, and the list request that reads the tool's
//! companies so organizations can be mapped to them. The spec is stored as JSON (camelCase,
//! tagged enums); [`client::CustomClient`] speaks to the tool, [`openapi`] reads an OpenAPI
//! document into a starting point for a spec, and [`tool_sim`] is a local tool for tests.
pub mod client;
pub mod openapi;
pub mod tool_sim;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ValidationError;
use crate::psa::autotask::is_loopback;

/// The longest string any field of a spec may hold.
pub const MAX_LEN: usize = 2000;
/// The most default headers or fixed query parameters.
const MAX_ENTRIES: usize = 50;
/// Page sizes and limits a list request may ask for.
pub const PAGE_SIZES: std::ops::RangeInclusive<u32> = 1..=1000;
/// The methods of health checks and operation calls (lists are always `GET`).
pub const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
/// Headers the client sets itself: a spec may not name them.
const RESERVED_HEADERS: [&str; 3] = ["authorization", "host", "content-length"];

/// Where an API key travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyLocation {
    Header,
    Query,
}

/// How the tool authenticates us. `Debug` masks the secrets.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "SCREAMING_SNAKE_CASE",
    rename_all_fields = "camelCase"
)]
pub enum Auth {
    None,
    /// A key in a header (`X-Api-Key: …`, or `Authorization: …` verbatim) or a query
    /// parameter.
    ApiKey {
        name: String,
        location: KeyLocation,
        value: String,
    },
    /// HTTP Basic; the password may be empty (tools that take a key as the user name).
    Basic {
        username: String,
        password: String,
    },
    Bearer {
        token: String,
    },
    /// OAuth2 client credentials; the token URL may be on another host than the API.
    #[serde(rename = "OAUTH2")]
    OAuth2 {
        token_url: String,
        client_id: String,
        client_secret: String,
        #[serde(default)]
        scopes: Vec<String>,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::ApiKey { name, location, .. } => f
                .debug_struct("ApiKey")
                .field("name", name)
                .field("location", location)
                .finish_non_exhaustive(),
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .finish_non_exhaustive(),
            Auth::Bearer { .. } => f.debug_struct("Bearer").finish_non_exhaustive(),
            Auth::OAuth2 {
                token_url,
                client_id,
                scopes,
                ..
            } => f
                .debug_struct("OAuth2")
                .field("token_url", token_url)
                .field("client_id", client_id)
                .field("scopes", scopes)
                .finish_non_exhaustive(),
        }
    }
}

impl Auth {
    /// The secret strings (API key value, password, token, client secret), so they can be
    /// sealed before storage, opened after, or masked in answers.
    pub fn secrets_mut(&mut self) -> Vec<&mut String> {
        match self {
            Auth::None => vec![],
            Auth::ApiKey { value, .. } => vec![value],
            Auth::Basic { password, .. } => vec![password],
            Auth::Bearer { token } => vec![token],
            Auth::OAuth2 { client_secret, .. } => vec![client_secret],
        }
    }

    /// The `kind` tag as stored: `NONE`, `API_KEY`, `BASIC`, `BEARER` or `OAUTH2`.
    pub fn kind(&self) -> &'static str {
        match self {
            Auth::None => "NONE",
            Auth::ApiKey { .. } => "API_KEY",
            Auth::Basic { .. } => "BASIC",
            Auth::Bearer { .. } => "BEARER",
            Auth::OAuth2 { .. } => "OAUTH2",
        }
    }
}

fn get() -> String {
    "GET".into()
}

fn status_ok() -> u16 {
    200
}

/// The request that tells whether the tool is up and accepts our credentials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    #[serde(default = "get")]
    pub method: String,
    pub path: String,
    #[serde(default = "status_ok")]
    pub expected_status: u16,
}

fn page() -> String {
    "page".into()
}
fn page_size() -> String {
    "pageSize".into()
}
fn offset() -> String {
    "offset".into()
}
fn limit() -> String {
    "limit".into()
}
fn hundred() -> u32 {
    100
}
fn one() -> u32 {
    1
}

/// How a list request reads every page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "style",
    rename_all = "SCREAMING_SNAKE_CASE",
    rename_all_fields = "camelCase"
)]
pub enum Paging {
    /// One request answers everything.
    None,
    /// `?page=1&pageSize=100`, then page 2…, until a page has fewer than `size` items.
    PageSize {
        #[serde(default = "page")]
        page_param: String,
        #[serde(default = "page_size")]
        size_param: String,
        #[serde(default = "hundred")]
        size: u32,
        #[serde(default = "one")]
        first_page: u32,
    },
    /// `?offset=0&limit=100`, then offset 100…, until a page has fewer than `limit` items.
    OffsetLimit {
        #[serde(default = "offset")]
        offset_param: String,
        #[serde(default = "limit")]
        limit_param: String,
        #[serde(default = "hundred")]
        limit: u32,
    },
    /// Follows the next page's URL until there is none: the string at `next_path` in the
    /// body, or (`None`) the `Link` header's `rel="next"`.
    NextLink {
        #[serde(default)]
        next_path: Option<String>,
    },
}

/// The request listing the tool's companies (clients, customers, accounts…) and where each
/// item keeps what orghub reads. Paths in the body are JSON paths (see [`json_path`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListRequest {
    /// Under the base URL, e.g. `/v1/clients`.
    pub path: String,
    /// Fixed query parameters (filters, conditions), sent with the first page.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    pub paging: Paging,
    /// Where the page's array is: `""` or `$` when the body is the array, else e.g.
    /// `data.items`.
    #[serde(default)]
    pub items_path: String,
    /// The item's id (a string or a number).
    pub id_path: String,
    pub name_path: String,
    #[serde(default)]
    pub website_path: Option<String>,
    /// A boolean telling the item is active; `!archived` reads an inverted flag. Items
    /// without it (or with null) are active.
    #[serde(default)]
    pub active_path: Option<String>,
}

/// Everything orghub needs to speak to a tool. Secrets are in [`Auth`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomSpec {
    /// `https://api.tool.example/v2` (plain `http` only for loopback hosts).
    pub base_url: String,
    pub auth: Auth,
    /// Sent with every API request (not to an OAuth2 token URL).
    #[serde(default)]
    pub default_headers: BTreeMap<String, String>,
    pub health: HealthCheck,
    #[serde(default)]
    pub list: Option<ListRequest>,
}

/// One company of the tool, as a list request read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedItem {
    pub id: String,
    pub name: String,
    pub website: Option<String>,
    pub active: bool,
}

impl CustomSpec {
    /// Every rule the spec breaks, fields named `{prefix}baseUrl`, `{prefix}auth.tokenUrl`,
    /// `{prefix}list.idPath`, `{prefix}defaultHeaders.X-Foo`…; empty when it is usable.
    pub fn validate(&self, prefix: &str) -> Vec<ValidationError> {
        let mut v = Rules {
            prefix,
            errors: vec![],
        };
        if let Some((code, message)) = url_problem(&self.base_url, true) {
            v.error("baseUrl", code, message);
        }
        v.auth(&self.auth);
        if self.default_headers.len() > MAX_ENTRIES {
            v.error(
                "defaultHeaders",
                "MAX_LENGTH_EXCEEDED",
                format!("at most {MAX_ENTRIES} headers"),
            );
        }
        for (name, value) in &self.default_headers {
            let field = format!("defaultHeaders.{name}");
            let key_header = matches!(
                &self.auth,
                Auth::ApiKey { name: key, location: KeyLocation::Header, .. }
                    if key.eq_ignore_ascii_case(name)
            );
            if let Some(problem) = header_name_problem(name, false) {
                v.error(&field, "INVALID_FORMAT", problem);
            } else if key_header {
                v.error(
                    &field,
                    "INVALID_FORMAT",
                    format!("`{name}` carries the API key"),
                );
            } else if let Some((code, problem)) = header_value_problem(value) {
                v.error(&field, code, problem);
            }
        }
        v.method("health.method", &self.health.method);
        v.path("health.path", &self.health.path);
        if !(100..=599).contains(&self.health.expected_status) {
            v.error(
                "health.expectedStatus",
                "INVALID_FORMAT",
                "an HTTP status, 100 to 599",
            );
        }
        if let Some(list) = &self.list {
            v.list(list);
        }
        v.errors
    }
}

/// Collects the errors of one spec.
struct Rules<'a> {
    prefix: &'a str,
    errors: Vec<ValidationError>,
}

impl Rules<'_> {
    fn error(&mut self, field: &str, code: &'static str, message: impl Into<String>) {
        self.errors.push(ValidationError::new(
            format!("{}{field}", self.prefix),
            code,
            message,
        ));
    }

    /// A required string of at most [`MAX_LEN`]; false when it broke a rule.
    fn required(&mut self, field: &str, value: &str) -> bool {
        if value.trim().is_empty() {
            self.error(field, "REQUIRED_FIELD", REQUIRED);
            false
        } else {
            self.short(field, value)
        }
    }

    fn short(&mut self, field: &str, value: &str) -> bool {
        if value.len() > MAX_LEN {
            self.error(
                field,
                "MAX_LENGTH_EXCEEDED",
                format!("at most {MAX_LEN} characters"),
            );
            false
        } else {
            true
        }
    }

    fn method(&mut self, field: &str, method: &str) {
        if let Some(e) = method_error(field, method) {
            self.error(&e.field, e.code, e.message);
        }
    }

    fn path(&mut self, field: &str, path: &str) {
        if let Some(e) = path_error(field, path) {
            self.error(&e.field, e.code, e.message);
        }
    }

    /// A JSON path; `required` ones need a name (not only `$`).
    fn json_path(&mut self, field: &str, path: &str, required: bool) {
        let fine = if required {
            self.required(field, path)
        } else {
            self.short(field, path)
        };
        if !fine {
            return;
        }
        match JsonPath::parse(path) {
            Ok(p) if required && p.steps.is_empty() => {
                self.error(field, "INVALID_FORMAT", "a path to a field, e.g. `id`")
            }
            Ok(_) => {}
            Err(problem) => self.error(field, "INVALID_FORMAT", problem),
        }
    }

    fn auth(&mut self, auth: &Auth) {
        match auth {
            Auth::None => {}
            Auth::ApiKey {
                name,
                location,
                value,
            } => {
                if self.required("auth.name", name) {
                    let problem = match location {
                        KeyLocation::Header => header_name_problem(name, true),
                        KeyLocation::Query => name
                            .chars()
                            .any(|c| c.is_control() || c.is_whitespace() || "&=#".contains(c))
                            .then(|| "a query parameter name without spaces, & = or #".into()),
                    };
                    if let Some(problem) = problem {
                        self.error("auth.name", "INVALID_FORMAT", problem);
                    }
                }
                if self.required("auth.value", value)
                    && *location == KeyLocation::Header
                    && let Some((code, problem)) = header_value_problem(value)
                {
                    self.error("auth.value", code, problem);
                }
            }
            Auth::Basic { username, password } => {
                if self.required("auth.username", username) && username.contains(':') {
                    self.error("auth.username", "INVALID_FORMAT", "no `:` in a user name");
                }
                self.short("auth.password", password);
            }
            Auth::Bearer { token } => {
                if self.required("auth.token", token)
                    && let Some((code, problem)) = header_value_problem(token)
                {
                    self.error("auth.token", code, problem);
                }
            }
            Auth::OAuth2 {
                token_url,
                client_id,
                client_secret,
                scopes,
            } => {
                if let Some((code, message)) = url_problem(token_url, false) {
                    self.error("auth.tokenUrl", code, message);
                }
                self.required("auth.clientId", client_id);
                self.required("auth.clientSecret", client_secret);
                if scopes.len() > MAX_ENTRIES {
                    self.error(
                        "auth.scopes",
                        "MAX_LENGTH_EXCEEDED",
                        format!("at most {MAX_ENTRIES} scopes"),
                    );
                }
                for (i, scope) in scopes.iter().enumerate() {
                    let field = format!("auth.scopes.{i}");
                    if self.required(&field, scope) && scope.chars().any(char::is_whitespace) {
                        self.error(&field, "INVALID_FORMAT", "one scope, without spaces");
                    }
                }
            }
        }
    }

    fn list(&mut self, list: &ListRequest) {
        self.path("list.path", &list.path);
        if list.query.len() > MAX_ENTRIES {
            self.error(
                "list.query",
                "MAX_LENGTH_EXCEEDED",
                format!("at most {MAX_ENTRIES} parameters"),
            );
        }
        for (name, value) in &list.query {
            let field = format!("list.query.{name}");
            if self.required(&field, name) {
                self.short(&field, value);
            }
        }
        let mut params: Vec<(&str, &str)> = vec![];
        match &list.paging {
            Paging::None => {}
            Paging::PageSize {
                page_param,
                size_param,
                size,
                ..
            } => {
                params.push(("list.paging.pageParam", page_param));
                params.push(("list.paging.sizeParam", size_param));
                self.size("list.paging.size", *size);
            }
            Paging::OffsetLimit {
                offset_param,
                limit_param,
                limit,
            } => {
                params.push(("list.paging.offsetParam", offset_param));
                params.push(("list.paging.limitParam", limit_param));
                self.size("list.paging.limit", *limit);
            }
            Paging::NextLink { next_path } => {
                if let Some(p) = next_path.as_deref().filter(|p| !p.trim().is_empty()) {
                    self.json_path("list.paging.nextPath", p, true);
                }
            }
        }
        for (i, (field, name)) in params.iter().enumerate() {
            if !self.required(field, name) {
                continue;
            }
            if list.query.contains_key(*name) || params[..i].iter().any(|(_, n)| n == name) {
                self.error(
                    field,
                    "INVALID_FORMAT",
                    format!("`{name}` is already a parameter of the request"),
                );
            }
        }
        let items = list.items_path.trim();
        if !items.is_empty() {
            self.json_path("list.itemsPath", items, false);
        }
        self.json_path("list.idPath", &list.id_path, true);
        self.json_path("list.namePath", &list.name_path, true);
        if let Some(p) = list
            .website_path
            .as_deref()
            .filter(|p| !p.trim().is_empty())
        {
            self.json_path("list.websitePath", p, true);
        }
        if let Some(p) = list.active_path.as_deref().filter(|p| !p.trim().is_empty()) {
            let bare = p.strip_prefix('!').unwrap_or(p);
            if bare.trim().is_empty() {
                self.error("list.activePath", "INVALID_FORMAT", "a path after `!`");
            } else {
                self.json_path("list.activePath", bare, true);
            }
        }
    }

    fn size(&mut self, field: &str, size: u32) {
        if !PAGE_SIZES.contains(&size) {
            self.error(
                field,
                "INVALID_FORMAT",
                format!("from {} to {}", PAGE_SIZES.start(), PAGE_SIZES.end()),
            );
        }
    }
}

const REQUIRED: &str = "required";

/// What is wrong with a base URL (`base`) or a token URL, as (code, message): absolute
/// `https` with a host, no credentials or fragment (nor query for a base URL); plain `http`
/// only for loopback hosts.
fn url_problem(url: &str, base: bool) -> Option<(&'static str, String)> {
    let url = url.trim();
    if url.is_empty() {
        return Some(("REQUIRED_FIELD", REQUIRED.into()));
    }
    if url.len() > MAX_LEN {
        return Some((
            "MAX_LENGTH_EXCEEDED",
            format!("at most {MAX_LEN} characters"),
        ));
    }
    let invalid = |m: String| Some(("INVALID_FORMAT", m));
    let parsed = match reqwest::Url::parse(url) {
        Ok(u) => u,
        Err(e) => return invalid(format!("not an absolute URL: {e}")),
    };
    let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) else {
        return invalid("a URL with a host".into());
    };
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => return invalid("https is required (plain http only for this machine)".into()),
        other => return invalid(format!("an http(s) URL, not {other}")),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return invalid("no credentials in the URL: put them in the authentication".into());
    }
    if parsed.fragment().is_some() {
        return invalid("no fragment (`#…`)".into());
    }
    if base && parsed.query().is_some() {
        return invalid("no query (`?…`): give fixed parameters to the requests".into());
    }
    None
}

/// A header name problem: not a token, or one the client sets itself (`Authorization` is
/// allowed to an API key, which may be sent verbatim in it).
fn header_name_problem(name: &str, api_key: bool) -> Option<String> {
    let token = !name.is_empty()
        && name.len() <= 200
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token {
        return Some("a header name: letters, digits and -_.!#$%&'*+^`|~".into());
    }
    let lower = name.to_ascii_lowercase();
    let reserved = RESERVED_HEADERS
        .iter()
        .any(|r| *r == lower && !(api_key && lower == "authorization"));
    reserved.then(|| format!("`{name}` is set by orghub"))
}

fn header_value_problem(value: &str) -> Option<(&'static str, String)> {
    if value.len() > MAX_LEN {
        return Some((
            "MAX_LENGTH_EXCEEDED",
            format!("at most {MAX_LEN} characters"),
        ));
    }
    reqwest::header::HeaderValue::from_str(value)
        .is_err()
        .then(|| {
            (
                "INVALID_FORMAT",
                "no line breaks or control characters".into(),
            )
        })
}

/// The error of a method for a health check or an operation call, if any.
pub fn method_error(field: &str, method: &str) -> Option<ValidationError> {
    let known = METHODS
        .iter()
        .any(|m| m.eq_ignore_ascii_case(method.trim()));
    (!known)
        .then(|| ValidationError::new(field, "INVALID_FORMAT", "GET, POST, PUT, PATCH or DELETE"))
}

/// The error of a request path, if any: it starts with `/`, names no host (`//`), has no
/// `.` or `..` segment (plain or percent-encoded), no query or fragment (query parameters
/// are given apart), no backslash, space or control character, and at most [`MAX_LEN`]
/// characters. Such a path stays under the base URL.
pub fn path_error(field: &str, path: &str) -> Option<ValidationError> {
    let invalid = |m: &str| Some(ValidationError::new(field, "INVALID_FORMAT", m));
    if path.is_empty() {
        return Some(ValidationError::new(field, "REQUIRED_FIELD", REQUIRED));
    }
    if path.len() > MAX_LEN {
        return Some(ValidationError::new(
            field,
            "MAX_LENGTH_EXCEEDED",
            format!("at most {MAX_LEN} characters"),
        ));
    }
    if !path.starts_with('/') {
        return invalid("a path starting with `/`, under the base URL (no scheme or host)");
    }
    if path.starts_with("//") {
        return invalid("a path, not `//host`");
    }
    if path.contains(['?', '#']) {
        return invalid("no `?` or `#` in a path: give query parameters apart");
    }
    if path
        .chars()
        .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
    {
        return invalid("no spaces, backslashes or control characters in a path");
    }
    let dotted = path.split('/').any(|segment| {
        let lower = segment.to_ascii_lowercase().replace("%2e", ".");
        lower == "." || lower == ".."
    });
    if dotted {
        return invalid("no `.` or `..` segments in a path");
    }
    if path.to_ascii_lowercase().contains("%2f") || path.to_ascii_lowercase().contains("%5c") {
        return invalid("no encoded slashes in a path");
    }
    None
}

/// One step of a [`JsonPath`].
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A parsed JSON path: dotted names with `[n]` indexes, an optional leading `$` or `$.`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct JsonPath {
    steps: Vec<Step>,
}

impl JsonPath {
    fn parse(path: &str) -> Result<JsonPath, String> {
        let path = path.trim();
        let rest = path.strip_prefix('$').unwrap_or(path);
        let rest = rest.strip_prefix('.').unwrap_or(rest);
        let mut steps = vec![];
        let bad = |why: &str| {
            Err(format!(
                "`{path}` is not a JSON path like `data.items[0].id`: {why}"
            ))
        };
        if rest.is_empty() {
            if path.ends_with('.') {
                return bad("a name after `.`");
            }
            return Ok(JsonPath { steps });
        }
        let mut chars = rest.chars().peekable();
        let mut expect_name = true;
        loop {
            if expect_name && chars.peek() != Some(&'[') {
                let mut name = String::new();
                while let Some(&c) = chars.peek() {
                    if c == '.' || c == '[' {
                        break;
                    }
                    if c == ']' || c.is_control() {
                        return bad("an unexpected character");
                    }
                    name.push(c);
                    chars.next();
                }
                if name.trim().is_empty() {
                    return bad("an empty name");
                }
                steps.push(Step::Key(name));
            }
            while chars.peek() == Some(&'[') {
                chars.next();
                let mut digits = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == ']' {
                        closed = true;
                        break;
                    }
                    digits.push(c);
                }
                match digits.parse::<usize>() {
                    Ok(i) if closed => steps.push(Step::Index(i)),
                    _ => return bad("`[n]` with a number"),
                }
            }
            match chars.next() {
                None => return Ok(JsonPath { steps }),
                Some('.') => {
                    if chars.peek().is_none() || chars.peek() == Some(&'[') {
                        return bad("a name after `.`");
                    }
                    expect_name = true;
                }
                Some(_) => return bad("`.` or `[` after a name"),
            }
        }
    }

    /// The value at this path. A name missing from an object is also tried joined with the
    /// names after it, so `@odata.nextLink` finds the key with a dot in it.
    fn find<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        let mut current = root;
        let mut i = 0;
        while i < self.steps.len() {
            match &self.steps[i] {
                Step::Index(n) => {
                    current = current.as_array()?.get(*n)?;
                    i += 1;
                }
                Step::Key(key) => {
                    let object = current.as_object()?;
                    if let Some(v) = object.get(key) {
                        current = v;
                        i += 1;
                        continue;
                    }
                    let mut joined = key.clone();
                    let mut j = i + 1;
                    let mut found = None;
                    while let Some(Step::Key(next)) = self.steps.get(j) {
                        joined.push('.');
                        joined.push_str(next);
                        j += 1;
                        if let Some(v) = object.get(&joined) {
                            found = Some(v);
                            break;
                        }
                    }
                    current = found?;
                    i = j;
                }
            }
        }
        Some(current)
    }
}

/// The value at a JSON path (`data.items[0].id`, `$.name`, `$` or `""` for `v` itself);
/// `None` when the path is invalid or leads nowhere.
pub fn json_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    JsonPath::parse(path).ok()?.find(v)
}

/// An id or name as text: a non-blank string (trimmed), or a number's decimal text
/// (`12`, not `12.0`, for whole numbers).
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{f:.0}"),
            _ => n.to_string(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> CustomSpec {
        CustomSpec {
            base_url: "https://api.tool.example/api".into(),
            auth: Auth::OAuth2 {
                token_url: "https://login.tool.example/oauth/token".into(),
                client_id: "orghub".into(),
                client_secret: "s3cret".into(),
                scopes: vec!["clients.read".into()],
            },
            default_headers: BTreeMap::from([("Accept".into(), "application/json".into())]),
            health: HealthCheck {
                method: "GET".into(),
                path: "/health".into(),
                expected_status: 200,
            },
            list: Some(ListRequest {
                path: "/v1/clients".into(),
                query: BTreeMap::from([("status".into(), "all".into())]),
                paging: Paging::PageSize {
                    page_param: "page".into(),
                    size_param: "pageSize".into(),
                    size: 100,
                    first_page: 1,
                },
                items_path: "data".into(),
                id_path: "id".into(),
                name_path: "name".into(),
                website_path: Some("web".into()),
                active_path: Some("!archived".into()),
            }),
        }
    }

    #[test]
    fn a_spec_round_trips_as_camel_case_json() {
        let s = spec();
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["baseUrl"], "https://api.tool.example/api");
        assert_eq!(v["auth"]["kind"], "OAUTH2");
        assert_eq!(
            v["auth"]["tokenUrl"],
            "https://login.tool.example/oauth/token"
        );
        assert_eq!(v["auth"]["clientSecret"], "s3cret");
        assert_eq!(v["health"]["expectedStatus"], 200);
        assert_eq!(v["list"]["paging"]["style"], "PAGE_SIZE");
        assert_eq!(v["list"]["paging"]["pageParam"], "page");
        assert_eq!(v["list"]["idPath"], "id");
        assert_eq!(serde_json::from_value::<CustomSpec>(v).unwrap(), s);
        assert!(
            s.validate("input.").is_empty(),
            "{:?}",
            s.validate("input.")
        );

        // Defaults: GET, 200, page/pageSize/100/1.
        let short: CustomSpec = serde_json::from_value(json!({
            "baseUrl": "http://127.0.0.1:8080",
            "auth": {"kind": "API_KEY", "name": "X-Api-Key", "location": "HEADER", "value": "k"},
            "health": {"path": "/ping"},
            "list": {"path": "/c", "paging": {"style": "PAGE_SIZE"}, "idPath": "id", "namePath": "name"}
        }))
        .unwrap();
        assert_eq!(short.health.method, "GET");
        assert_eq!(short.health.expected_status, 200);
        assert_eq!(
            short.list.as_ref().unwrap().paging,
            Paging::PageSize {
                page_param: "page".into(),
                size_param: "pageSize".into(),
                size: 100,
                first_page: 1
            }
        );
        assert!(short.validate("").is_empty(), "{:?}", short.validate(""));
        let none: Auth = serde_json::from_value(json!({"kind": "NONE"})).unwrap();
        assert_eq!(none, Auth::None);
        let next: Paging = serde_json::from_value(json!({"style": "NEXT_LINK"})).unwrap();
        assert_eq!(next, Paging::NextLink { next_path: None });
    }

    #[test]
    fn secrets_are_reachable_and_never_printed() {
        let mut s = spec();
        assert_eq!(s.auth.kind(), "OAUTH2");
        for secret in s.auth.secrets_mut() {
            *secret = "sealed".into();
        }
        assert!(matches!(&s.auth, Auth::OAuth2 { client_secret, .. } if client_secret == "sealed"));
        let printed = format!("{:?}", s);
        assert!(
            !printed.contains("sealed") && printed.contains("orghub"),
            "{printed}"
        );
        let mut basic = Auth::Basic {
            username: "u".into(),
            password: "pw".into(),
        };
        assert_eq!(basic.secrets_mut().len(), 1);
        assert!(Auth::None.secrets_mut().is_empty());
    }

    #[test]
    fn a_bad_spec_has_every_error_with_its_field() {
        let mut s = spec();
        s.base_url = "http://api.tool.example/api?x=1".into();
        s.auth = Auth::OAuth2 {
            token_url: "http://login.tool.example/token".into(),
            client_id: "".into(),
            client_secret: "x".into(),
            scopes: vec!["a b".into()],
        };
        s.default_headers = BTreeMap::from([
            ("Authorization".into(), "x".into()),
            ("Bad Header".into(), "x".into()),
            ("X-Ok".into(), "line\nbreak".into()),
        ]);
        s.health = HealthCheck {
            method: "TRACE".into(),
            path: "health/../x".into(),
            expected_status: 42,
        };
        s.list = Some(ListRequest {
            path: "/v1/../admin".into(),
            query: BTreeMap::from([("page".into(), "1".into())]),
            paging: Paging::PageSize {
                page_param: "page".into(),
                size_param: "".into(),
                size: 0,
                first_page: 1,
            },
            items_path: "data..items".into(),
            id_path: "".into(),
            name_path: "a[x]".into(),
            website_path: None,
            active_path: Some("!".into()),
        });
        let errors = s.validate("input.");
        let fields: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        for expected in [
            ("input.baseUrl", "INVALID_FORMAT"),
            ("input.auth.tokenUrl", "INVALID_FORMAT"),
            ("input.auth.clientId", "REQUIRED_FIELD"),
            ("input.auth.scopes.0", "INVALID_FORMAT"),
            ("input.defaultHeaders.Authorization", "INVALID_FORMAT"),
            ("input.defaultHeaders.Bad Header", "INVALID_FORMAT"),
            ("input.defaultHeaders.X-Ok", "INVALID_FORMAT"),
            ("input.health.method", "INVALID_FORMAT"),
            ("input.health.path", "INVALID_FORMAT"),
            ("input.health.expectedStatus", "INVALID_FORMAT"),
            ("input.list.path", "INVALID_FORMAT"),
            ("input.list.paging.pageParam", "INVALID_FORMAT"),
            ("input.list.paging.sizeParam", "REQUIRED_FIELD"),
            ("input.list.paging.size", "INVALID_FORMAT"),
            ("input.list.itemsPath", "INVALID_FORMAT"),
            ("input.list.idPath", "REQUIRED_FIELD"),
            ("input.list.namePath", "INVALID_FORMAT"),
            ("input.list.activePath", "INVALID_FORMAT"),
        ] {
            assert!(
                fields.contains(&expected),
                "{expected:?} missing from {fields:?}"
            );
        }
        assert_eq!(errors.len(), 18, "{fields:?}");
    }

    #[test]
    fn base_urls() {
        let problem = |url: &str| url_problem(url, true).map(|(_, m)| m);
        assert_eq!(problem("https://api.tool.example/v2/"), None);
        for ok in [
            "http://127.0.0.1:9/api",
            "http://localhost:80",
            "http://[::1]:8080",
        ] {
            assert_eq!(problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "api.tool.example",
            "/api",
            "http://api.tool.example",
            "ftp://api.tool.example",
            "https://u:p@api.tool.example",
            "https://api.tool.example/#x",
            "https://api.tool.example/?a=b",
            "http://127evil.example",
        ] {
            assert!(problem(bad).is_some(), "{bad}");
        }
        assert_eq!(url_problem("https://x.example/?a=b", false), None);
        assert_eq!(url_problem("", true).unwrap().0, "REQUIRED_FIELD");
    }

    #[test]
    fn paths_stay_under_the_base() {
        for ok in ["/", "/v1/clients", "/v1/clients/{id}", "/a.b/c..d/%20"] {
            assert!(path_error("p", ok).is_none(), "{ok}");
        }
        for bad in [
            "",
            "v1",
            "//evil.test/x",
            "http://x",
            "/../x",
            "/a/..",
            "/a/%2e%2E/b",
            "/./a",
            "/a?b=c",
            "/a#b",
            "/a\\b",
            "/a b",
            "/a%2Fb",
        ] {
            assert!(path_error("p", bad).is_some(), "{bad}");
        }
        assert_eq!(path_error("p", "").unwrap().code, "REQUIRED_FIELD");
        assert!(method_error("m", "patch").is_none());
        assert!(method_error("m", "HEAD").is_some());
    }

    #[test]
    fn json_paths() {
        let v = json!({
            "data": {"items": [{"id": 7, "name": "A"}, {"id": "C-2"}]},
            "@odata.nextLink": "https://x/next",
            "n": 12.0,
        });
        assert_eq!(json_path(&v, "data.items[0].id"), Some(&json!(7)));
        assert_eq!(json_path(&v, "$.data.items[1].id"), Some(&json!("C-2")));
        assert_eq!(json_path(&v, "$data.items[1].id"), Some(&json!("C-2")));
        assert_eq!(json_path(&v, "$"), Some(&v));
        assert_eq!(json_path(&v, ""), Some(&v));
        assert_eq!(
            json_path(&v, "@odata.nextLink"),
            Some(&json!("https://x/next"))
        );
        assert_eq!(json_path(&v, "data.items[2]"), None);
        assert_eq!(json_path(&v, "data.nothing"), None);
        assert_eq!(json_path(&json!([[1, 2]]), "[0][1]"), Some(&json!(2)));
        assert_eq!(json_path(&json!([[1, 2]]), "$[0][1]"), Some(&json!(2)));
        for bad in ["a..b", "a.", "a[x]", "a[1", "a]", "a[0]b", "$.", "."] {
            assert!(JsonPath::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(scalar_text(&json!(7)), Some("7".into()));
        assert_eq!(scalar_text(&v["n"]), Some("12".into()));
        assert_eq!(scalar_text(&json!(" C-2 ")), Some("C-2".into()));
        assert_eq!(scalar_text(&json!("  ")), None);
        assert_eq!(scalar_text(&json!(true)), None);
    }
}
