//! Reading an OpenAPI 3.0 or 3.1 document (JSON or YAML) into what a custom integration
//! starts from: the server URL, the security schemes orghub can use (secrets left empty
//! for the user), and every operation with its parameters and a hint of which ones list
//! things. Documents orghub cannot use are refused with reasons, as validation errors on
//! the field `document` (or `document.<where>`).
use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Parser, Tag};
use yaml_rust2::scanner::TScalarStyle;
use yaml_rust2::{Event, Yaml};

use super::{Auth, KeyLocation};
use crate::error::ValidationError;

/// The largest document read.
pub const MAX_DOCUMENT_BYTES: usize = 5 << 20;
/// Nesting deeper than this is refused (the JSON parser's own limit is 128 too).
const MAX_DEPTH: usize = 128;
/// Values a YAML document may expand to, aliases included ("billion laughs").
const MAX_NODES: usize = 1_000_000;
/// `$ref`s followed one after another before giving up on a loop.
const MAX_REF_HOPS: usize = 32;
/// The methods read, in this order, for every path.
const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// What an OpenAPI document tells about a tool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    pub title: String,
    pub version: String,
    /// The first absolute server URL, variables replaced by their defaults, without a
    /// trailing slash.
    pub base_url: String,
    pub security_schemes: Vec<SecurityScheme>,
    pub operations: Vec<Operation>,
}

/// A security scheme orghub can use, named as in the document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityScheme {
    pub name: String,
    /// With empty secret values: the user fills them in.
    pub auth: Auth,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// The document's, or generated from the method and path (`get_clients_id`).
    pub operation_id: String,
    /// Upper case: `GET`, `POST`…
    pub method: String,
    /// The path template under the base URL, e.g. `/clients/{id}`.
    pub path: String,
    pub summary: Option<String>,
    /// The path's parameters, then the operation's own (which replace a path's one of the
    /// same name and location).
    pub parameters: Vec<Parameter>,
    /// Its 200 JSON answer is an array or has an array property: a hint for list requests.
    pub returns_array: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Parameter {
    pub name: String,
    /// `path`, `query` or `header` (cookie parameters are left out).
    pub location: String,
    pub required: bool,
}

type Errors = Vec<ValidationError>;

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ValidationError {
    ValidationError::new(field, "INVALID_FORMAT", message)
}

fn unsupported(field: impl Into<String>, message: impl Into<String>) -> ValidationError {
    ValidationError::new(field, "UNSUPPORTED", message)
}

/// Reads a document: JSON when it starts with `{` or `[`, else YAML; UTF-8, at most
/// [`MAX_DOCUMENT_BYTES`]. Every reason to refuse it is returned.
pub fn parse(bytes: &[u8]) -> Result<Document, Vec<ValidationError>> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(vec![ValidationError::new(
            "document",
            "MAX_LENGTH_EXCEEDED",
            format!("a document of at most {} MiB", MAX_DOCUMENT_BYTES >> 20),
        )]);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| {
        vec![invalid(
            "document",
            "not UTF-8 text: a JSON or YAML document is needed",
        )]
    })?;
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(vec![invalid("document", "the document is empty")]);
    }
    let root = if trimmed.starts_with(['{', '[']) {
        serde_json::from_str::<Value>(text)
            .map_err(|e| vec![invalid("document", format!("not valid JSON: {e}"))])?
    } else {
        yaml_to_json(text).map_err(|e| vec![invalid("document", format!("not valid YAML: {e}"))])?
    };
    Reader {
        root: &root,
        errors: vec![],
    }
    .document()
}

struct Reader<'a> {
    root: &'a Value,
    errors: Errors,
}

/// A value's text when it is a string or a number (`openapi: 3.1` in YAML is a number).
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn str_at<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str).map(str::trim)
}

/// Whether a security requirement list demands credentials: `None` when absent, false when
/// empty or when it offers `{}` (anonymous access).
fn demands(requirements: Option<&Value>) -> Option<bool> {
    let list = requirements?.as_array()?;
    Some(
        !list.is_empty()
            && list
                .iter()
                .all(|r| r.as_object().is_some_and(|o| !o.is_empty())),
    )
}

/// `get_clients_id` for `GET /clients/{id}`.
fn generated_id(method: &str, path: &str) -> String {
    let mut id = method.to_owned();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        let cleaned: String = segment
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        for part in cleaned.split('_').filter(|p| !p.is_empty()) {
            id.push('_');
            id.push_str(part);
        }
    }
    if id == method {
        id.push_str("_root");
    }
    id
}

/// Decodes the `%xx` of a URI fragment (JSON pointers in `$ref`s may be encoded).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl<'a> Reader<'a> {
    fn document(mut self) -> Result<Document, Errors> {
        let root = self.root;
        if !root.is_object() {
            return Err(vec![invalid(
                "document",
                "not an OpenAPI document: an object with `openapi`, `info` and `paths` is needed",
            )]);
        }
        if let Some(swagger) = root.get("swagger") {
            let version = text_of(swagger).unwrap_or_default();
            return Err(vec![unsupported(
                "document.swagger",
                format!(
                    "only OpenAPI 3.0 and 3.1 are supported, this is Swagger {version}: convert it to OpenAPI 3 first"
                ),
            )]);
        }
        match root.get("openapi").and_then(text_of) {
            None => self.errors.push(invalid(
                "document.openapi",
                "`openapi` (the version, 3.0.x or 3.1.x) is missing: not an OpenAPI document",
            )),
            Some(v) if v.starts_with("3.0") || v.starts_with("3.1") => {}
            Some(v) => self.errors.push(unsupported(
                "document.openapi",
                format!("only OpenAPI 3.0 and 3.1 are supported, not {v}"),
            )),
        }
        let info = root.get("info").filter(|i| i.is_object());
        if info.is_none() {
            self.errors.push(invalid(
                "document.info",
                "`info` (title and version) is missing",
            ));
        }
        let paths = root.get("paths").and_then(Value::as_object);
        if paths.is_none() {
            self.errors.push(invalid(
                "document.paths",
                "`paths` (the operations) is missing",
            ));
        }
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        let (Some(info), Some(paths)) = (info, paths) else {
            return Err(self.errors);
        };
        let base_url = self.base_url();
        let operations = self.operations(paths);
        let security_schemes = self.security_schemes(base_url.as_deref(), paths);
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        Ok(Document {
            title: info.get("title").and_then(text_of).unwrap_or_default(),
            version: info.get("version").and_then(text_of).unwrap_or_default(),
            base_url: base_url.unwrap_or_default(),
            security_schemes,
            operations,
        })
    }

    /// Follows `$ref`s inside the document; refs to other files or URLs are refused.
    fn resolve(&self, v: &'a Value, field: &str) -> Result<&'a Value, ValidationError> {
        let mut current = v;
        for _ in 0..MAX_REF_HOPS {
            let Some(reference) = current.get("$ref") else {
                return Ok(current);
            };
            let Some(r) = reference.as_str() else {
                return Err(invalid(field, "a `$ref` that is not a string"));
            };
            let Some(pointer) = r.strip_prefix('#') else {
                return Err(unsupported(
                    field,
                    format!("only references inside the document (`#/…`) are supported, not `{r}`"),
                ));
            };
            current = self
                .root
                .pointer(&percent_decode(pointer))
                .ok_or_else(|| invalid(field, format!("cannot resolve the `$ref` `{r}`")))?;
        }
        Err(invalid(field, "a loop of `$ref`s"))
    }

    fn base_url(&mut self) -> Option<String> {
        let servers = self.root.get("servers").and_then(Value::as_array);
        for (i, server) in servers.into_iter().flatten().enumerate() {
            let Some(template) = str_at(server, "url") else {
                continue;
            };
            let mut url = String::new();
            let mut rest = template;
            let mut broken = false;
            while let Some(open) = rest.find('{') {
                url.push_str(&rest[..open]);
                let Some(close) = rest[open..].find('}') else {
                    broken = true;
                    break;
                };
                let name = &rest[open + 1..open + close];
                let default = server
                    .get("variables")
                    .and_then(|v| v.get(name))
                    .and_then(|v| v.get("default"))
                    .and_then(text_of);
                match default {
                    Some(d) => url.push_str(&d),
                    None => {
                        self.errors.push(invalid(
                            format!("document.servers.{i}.url"),
                            format!("the server variable `{name}` has no default"),
                        ));
                        broken = true;
                        break;
                    }
                }
                rest = &rest[open + close + 1..];
            }
            if broken {
                continue;
            }
            url.push_str(rest);
            let absolute = reqwest::Url::parse(&url).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some_and(|h| !h.is_empty())
            });
            if absolute {
                return Some(url.trim_end_matches('/').to_owned());
            }
        }
        if !self
            .errors
            .iter()
            .any(|e| e.field.starts_with("document.servers"))
        {
            self.errors.push(invalid(
                "document.servers",
                "an absolute server URL is needed (`servers` is missing or relative): add one, e.g. https://api.tool.example/v1",
            ));
        }
        None
    }

    fn parameters(&mut self, list: Option<&'a Value>, field: &str) -> Vec<Parameter> {
        let mut out = vec![];
        let Some(list) = list else {
            return out;
        };
        let Some(items) = list.as_array() else {
            self.errors
                .push(invalid(field, "`parameters` is not a list"));
            return out;
        };
        for (i, p) in items.iter().enumerate() {
            let f = format!("{field}.{i}");
            let p = match self.resolve(p, &f) {
                Ok(p) => p,
                Err(e) => {
                    self.errors.push(e);
                    continue;
                }
            };
            let Some(name) = str_at(p, "name").filter(|n| !n.is_empty()) else {
                self.errors.push(invalid(&f, "a parameter without a name"));
                continue;
            };
            let location = match str_at(p, "in") {
                Some(l @ ("path" | "query" | "header")) => l,
                Some("cookie") => continue,
                other => {
                    self.errors.push(invalid(
                        &f,
                        format!("the parameter `{name}` is in `{}`", other.unwrap_or("")),
                    ));
                    continue;
                }
            };
            let required =
                location == "path" || p.get("required").and_then(Value::as_bool) == Some(true);
            let parameter = Parameter {
                name: name.to_owned(),
                location: location.to_owned(),
                required,
            };
            match out.iter_mut().find(|q: &&mut Parameter| {
                q.name == parameter.name && q.location == parameter.location
            }) {
                Some(existing) => *existing = parameter,
                None => out.push(parameter),
            }
        }
        out
    }

    /// Whether a schema is an array, or (`shallow` false) an object with an array property.
    fn is_array(
        &self,
        schema: &'a Value,
        field: &str,
        shallow: bool,
        depth: usize,
    ) -> Result<bool, ValidationError> {
        let schema = self.resolve(schema, field)?;
        let typed_array = match schema.get("type") {
            Some(Value::String(t)) => t == "array",
            Some(Value::Array(types)) => types.iter().any(|t| t == "array"),
            _ => false,
        };
        if typed_array || schema.get("items").is_some() {
            return Ok(true);
        }
        if depth > 8 {
            return Ok(false);
        }
        for combinator in ["allOf", "oneOf", "anyOf"] {
            for member in schema
                .get(combinator)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if self.is_array(member, field, shallow, depth + 1)? {
                    return Ok(true);
                }
            }
        }
        if !shallow && let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for property in properties.values() {
                if self.is_array(property, field, true, depth + 1)? {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    fn returns_array(&self, op: &'a Value, field: &str) -> Result<bool, ValidationError> {
        let Some(responses) = op.get("responses").and_then(Value::as_object) else {
            return Ok(false);
        };
        let Some(ok) = ["200", "2XX", "2xx"].iter().find_map(|s| responses.get(*s)) else {
            return Ok(false);
        };
        let field = format!("{field}.responses.200");
        let ok = self.resolve(ok, &field)?;
        let Some(content) = ok.get("content").and_then(Value::as_object) else {
            return Ok(false);
        };
        let media = content.get("application/json").or_else(|| {
            content
                .iter()
                .find(|(k, _)| k.contains("json"))
                .map(|(_, v)| v)
        });
        match media.and_then(|m| m.get("schema")) {
            Some(schema) => self.is_array(schema, &field, false, 0),
            None => Ok(false),
        }
    }

    fn operations(&mut self, paths: &'a Map<String, Value>) -> Vec<Operation> {
        // (operation, whether its id was generated, the field of its id)
        let mut found: Vec<(Operation, bool, String)> = vec![];
        for (path, item) in paths {
            let field = format!("document.paths.{path}");
            if !path.starts_with('/') {
                self.errors
                    .push(invalid(&field, "a path that does not start with `/`"));
                continue;
            }
            let item = match self.resolve(item, &field) {
                Ok(i) => i,
                Err(e) => {
                    self.errors.push(e);
                    continue;
                }
            };
            let shared = self.parameters(item.get("parameters"), &format!("{field}.parameters"));
            for method in METHODS {
                let Some(op) = item.get(method) else {
                    continue;
                };
                let op_field = format!("{field}.{method}");
                if !op.is_object() {
                    self.errors
                        .push(invalid(&op_field, "an operation that is not an object"));
                    continue;
                }
                let mut parameters = shared.clone();
                for p in self.parameters(op.get("parameters"), &format!("{op_field}.parameters")) {
                    match parameters
                        .iter_mut()
                        .find(|q: &&mut Parameter| q.name == p.name && q.location == p.location)
                    {
                        Some(existing) => *existing = p,
                        None => parameters.push(p),
                    }
                }
                let returns_array = self.returns_array(op, &op_field).unwrap_or_else(|e| {
                    self.errors.push(e);
                    false
                });
                let declared = str_at(op, "operationId").filter(|id| !id.is_empty());
                found.push((
                    Operation {
                        operation_id: declared.map(str::to_owned).unwrap_or_default(),
                        method: method.to_ascii_uppercase(),
                        path: path.clone(),
                        summary: str_at(op, "summary")
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned),
                        parameters,
                        returns_array,
                    },
                    declared.is_none(),
                    format!("{op_field}.operationId"),
                ));
            }
        }
        // Declared ids must be unique; generated ones avoid them.
        let mut owners: HashMap<String, String> = HashMap::new();
        for (op, generated, field) in &found {
            if *generated {
                continue;
            }
            let at = format!("{} {}", op.method, op.path);
            if let Some(first) = owners.get(&op.operation_id) {
                self.errors.push(invalid(
                    field,
                    format!("the operationId `{}` is also {first}", op.operation_id),
                ));
            } else {
                owners.insert(op.operation_id.clone(), at);
            }
        }
        let mut taken: HashSet<String> = owners.into_keys().collect();
        let mut out = Vec::with_capacity(found.len());
        for (mut op, generated, _) in found {
            if generated {
                let stem = generated_id(&op.method.to_ascii_lowercase(), &op.path);
                let mut id = stem.clone();
                let mut n = 2;
                while taken.contains(&id) {
                    id = format!("{stem}_{n}");
                    n += 1;
                }
                taken.insert(id.clone());
                op.operation_id = id;
            }
            out.push(op);
        }
        if out.is_empty()
            && !self
                .errors
                .iter()
                .any(|e| e.field.starts_with("document.paths"))
        {
            self.errors.push(invalid(
                "document.paths",
                "no operations: the document describes no get, put, post, delete or patch",
            ));
        }
        out
    }

    /// The scopes asked of scheme `name` by the document's and its operations' security
    /// requirements, in order.
    fn scopes_of(&self, name: &str, paths: &'a Map<String, Value>) -> Vec<String> {
        let mut lists = vec![self.root.get("security")];
        for item in paths.values() {
            for method in METHODS {
                lists.push(item.get(method).and_then(|op| op.get("security")));
            }
        }
        let mut scopes: Vec<String> = vec![];
        for requirement in lists
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
        {
            for scope in requirement
                .get(name)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !scope.is_empty() && !scopes.iter().any(|s| s == scope) {
                    scopes.push(scope.to_owned());
                }
            }
        }
        scopes
    }

    /// Whether the document or one of its operations demands credentials.
    fn requires_security(&self, paths: &'a Map<String, Value>) -> bool {
        let global = demands(self.root.get("security")).unwrap_or(false);
        paths.values().any(|item| {
            METHODS.iter().any(|m| {
                item.get(*m)
                    .is_some_and(|op| demands(op.get("security")).unwrap_or(global))
            })
        })
    }

    /// A scheme as orghub's [`Auth`] with empty secrets, or why it cannot be used.
    fn scheme(&self, s: &Value, base_url: Option<&str>) -> Result<Auth, String> {
        match str_at(s, "type").unwrap_or("") {
            "apiKey" => {
                let name = str_at(s, "name")
                    .filter(|n| !n.is_empty())
                    .ok_or("an API key without a name")?;
                let location = match str_at(s, "in") {
                    Some("header") => KeyLocation::Header,
                    Some("query") => KeyLocation::Query,
                    Some("cookie") => return Err("an API key in a cookie".into()),
                    other => return Err(format!("an API key in `{}`", other.unwrap_or(""))),
                };
                Ok(Auth::ApiKey {
                    name: name.to_owned(),
                    location,
                    value: String::new(),
                })
            }
            "http" => match str_at(s, "scheme")
                .unwrap_or("")
                .to_ascii_lowercase()
                .as_str()
            {
                "basic" => Ok(Auth::Basic {
                    username: String::new(),
                    password: String::new(),
                }),
                "bearer" => Ok(Auth::Bearer {
                    token: String::new(),
                }),
                other => Err(format!("HTTP `{other}` authentication")),
            },
            "oauth2" => {
                let flow = s
                    .get("flows")
                    .and_then(|f| f.get("clientCredentials"))
                    .ok_or("OAuth2 without a client-credentials flow (the other flows need a person to sign in)")?;
                let token_url = str_at(flow, "tokenUrl")
                    .filter(|u| !u.is_empty())
                    .ok_or("an OAuth2 client-credentials flow without a tokenUrl")?;
                // A relative token URL is read against the server.
                let resolved = match base_url.map(|b| format!("{b}/")) {
                    Some(base) => reqwest::Url::parse(&base).and_then(|b| b.join(token_url)),
                    None => reqwest::Url::parse(token_url),
                }
                .map_err(|e| format!("the tokenUrl `{token_url}` is not a URL: {e}"))?;
                Ok(Auth::OAuth2 {
                    token_url: resolved.to_string(),
                    client_id: String::new(),
                    client_secret: String::new(),
                    scopes: vec![],
                })
            }
            "openIdConnect" => Err("OpenID Connect".into()),
            "mutualTLS" => Err("mutual TLS".into()),
            other => Err(format!("the security type `{other}`")),
        }
    }

    fn security_schemes(
        &mut self,
        base_url: Option<&str>,
        paths: &'a Map<String, Value>,
    ) -> Vec<SecurityScheme> {
        let schemes = self
            .root
            .get("components")
            .and_then(|c| c.get("securitySchemes"))
            .and_then(Value::as_object);
        let mut supported = vec![];
        let mut refused = vec![];
        for (name, raw) in schemes.into_iter().flatten() {
            let field = format!("document.components.securitySchemes.{name}");
            let scheme = match self.resolve(raw, &field) {
                Ok(s) => s,
                Err(e) => {
                    self.errors.push(e);
                    continue;
                }
            };
            match self.scheme(scheme, base_url) {
                Ok(mut auth) => {
                    if let Auth::OAuth2 { scopes, .. } = &mut auth {
                        *scopes = self.scopes_of(name, paths);
                    }
                    supported.push(SecurityScheme {
                        name: name.clone(),
                        auth,
                    });
                }
                Err(why) => refused.push(unsupported(
                    field,
                    format!("{why} is not supported: use an API key, Basic, Bearer or OAuth2 client credentials"),
                )),
            }
        }
        if supported.is_empty() && self.requires_security(paths) {
            self.errors.extend(refused);
        }
        supported
    }
}

// ---- YAML to JSON ----

/// A mapping or sequence being read.
enum Open {
    Seq(Vec<Value>),
    Map {
        map: Map<String, Value>,
        key: Option<String>,
        /// Keys that came from a `<<` merge: an explicit key may replace them.
        merged: HashSet<String>,
    },
}

struct Frame {
    open: Open,
    anchor: usize,
    /// Values inside, itself included.
    size: usize,
}

/// A plain scalar as the YAML 1.2 core schema reads it.
fn plain(text: &str) -> Value {
    match Yaml::from_str(text) {
        Yaml::Integer(i) => Value::from(i),
        Yaml::Real(r) => r
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or_else(|| Value::String(text.to_owned()), Value::Number),
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Null => Value::Null,
        _ => Value::String(text.to_owned()),
    }
}

fn scalar(text: &str, style: TScalarStyle, tag: Option<&Tag>) -> Value {
    if style != TScalarStyle::Plain {
        return Value::String(text.to_owned());
    }
    match tag {
        None => plain(text),
        Some(t) if t.handle == "tag:yaml.org,2002:" && t.suffix != "str" => plain(text),
        Some(_) => Value::String(text.to_owned()),
    }
}

/// Reads the first document of a YAML stream as JSON: keys as text (`200:` is `"200"`),
/// aliases expanded within [`MAX_NODES`], `<<` merges applied, at most [`MAX_DEPTH`] deep.
fn yaml_to_json(text: &str) -> Result<Value, String> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = vec![];
    let mut anchors: HashMap<usize, (Value, usize)> = HashMap::new();
    let mut nodes = 0usize;
    let mut document = None;
    loop {
        let (event, mark) = parser.next_token().map_err(|e| e.to_string())?;
        let at = |what: &str| format!("{what} at line {}", mark.line());
        // The value completed by this event: (value, its key text, anchor, size).
        let (value, key_text, anchor, size) = match event {
            Event::StreamEnd => break,
            Event::DocumentEnd if document.is_some() => break,
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => {
                continue;
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(at(&format!("nested deeper than {MAX_DEPTH} levels")));
                }
                let open = if matches!(event, Event::SequenceStart(..)) {
                    Open::Seq(vec![])
                } else {
                    Open::Map {
                        map: Map::new(),
                        key: None,
                        merged: HashSet::new(),
                    }
                };
                stack.push(Frame {
                    open,
                    anchor,
                    size: 1,
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = stack.pop().ok_or_else(|| at("an unbalanced end"))?;
                let value = match frame.open {
                    Open::Seq(items) => Value::Array(items),
                    Open::Map { map, key: None, .. } => Value::Object(map),
                    Open::Map { key: Some(k), .. } => {
                        return Err(at(&format!("the key `{k}` has no value")));
                    }
                };
                (value, None, frame.anchor, 0)
            }
            Event::Scalar(text, style, anchor, tag) => {
                let value = scalar(&text, style, tag.as_ref());
                (value, Some(text), anchor, 1)
            }
            Event::Alias(id) => {
                let (value, size) = anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| at("an alias to an unknown anchor"))?;
                let key = match &value {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    Value::Bool(b) => Some(b.to_string()),
                    _ => None,
                };
                (value, key, 0, size)
            }
        };
        // A closed container counted itself and its content already.
        nodes += size;
        if nodes > MAX_NODES {
            return Err(at("too many values (aliases expanding too far?)"));
        }
        let size = if size == 0 { count(&value) } else { size };
        if anchor > 0 {
            anchors.insert(anchor, (value.clone(), size));
        }
        let Some(parent) = stack.last_mut() else {
            document = Some(value);
            continue;
        };
        parent.size += size;
        match &mut parent.open {
            Open::Seq(items) => items.push(value),
            Open::Map { map, key, merged } => match key.take() {
                None => {
                    let k = key_text.ok_or_else(|| at("a mapping or a list as a key"))?;
                    *key = Some(k);
                }
                Some(k) if k == "<<" => {
                    let sources = match value {
                        Value::Object(m) => vec![m],
                        Value::Array(list) => list
                            .into_iter()
                            .map(|v| match v {
                                Value::Object(m) => Ok(m),
                                _ => Err(at("a merge (`<<`) of something else than mappings")),
                            })
                            .collect::<Result<_, _>>()?,
                        _ => return Err(at("a merge (`<<`) of something else than a mapping")),
                    };
                    for source in sources {
                        for (k, v) in source {
                            if !map.contains_key(&k) {
                                merged.insert(k.clone());
                                map.insert(k, v);
                            }
                        }
                    }
                }
                Some(k) => {
                    if map.contains_key(&k) && !merged.remove(&k) {
                        return Err(at(&format!("the key `{k}` appears twice")));
                    }
                    map.insert(k, value);
                }
            },
        }
    }
    document.ok_or_else(|| "an empty document".to_owned())
}

/// Values in `v`, itself included (for the sizes of closed containers).
fn count(v: &Value) -> usize {
    let mut n = 0;
    let mut pending = vec![v];
    while let Some(v) = pending.pop() {
        n += 1;
        match v {
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => pending.extend(map.values()),
            _ => {}
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::custom::tool_sim::{SCHEME, ToolAuth, ToolSim, openapi_document, openapi_yaml_text};
    use serde_json::json;

    fn fields(errors: &[ValidationError]) -> Vec<(&str, &str)> {
        errors.iter().map(|e| (e.field.as_str(), e.code)).collect()
    }

    fn minimal() -> Value {
        json!({
            "openapi": "3.1.0",
            "info": { "title": "T", "version": "1" },
            "servers": [{ "url": "https://api.tool.example/v1/" }],
            "paths": { "/things": { "get": { "responses": {} } } },
        })
    }

    fn parse_value(v: &Value) -> Result<Document, Vec<ValidationError>> {
        parse(&serde_json::to_vec(v).unwrap())
    }

    #[tokio::test]
    async fn the_tools_json_and_yaml_documents_read_the_same() {
        for auth in [
            ToolAuth::ApiKeyHeader("X-Api-Key".into(), "k".into()),
            ToolAuth::OAuth2 {
                client_id: "c".into(),
                client_secret: "s".into(),
                scope: "clients.read".into(),
            },
            ToolAuth::None,
        ] {
            let sim = ToolSim::start(auth.clone()).await.unwrap();
            let http = crate::http_client().unwrap();
            let json_doc = http
                .get(format!("{}/openapi.json", sim.url()))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            let yaml_doc = http
                .get(format!("{}/openapi.yaml", sim.url()))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            let from_json = parse(&json_doc).unwrap();
            let from_yaml = parse(&yaml_doc).unwrap_or_else(|e| panic!("{e:?}"));
            assert_eq!(from_json, from_yaml);
            let doc = from_json;
            assert_eq!(doc.title, "Tool Sim");
            assert_eq!(doc.version, "1.4.0");
            assert_eq!(doc.base_url, format!("{}/api", sim.url()));
            match &auth {
                ToolAuth::None => assert!(doc.security_schemes.is_empty()),
                ToolAuth::OAuth2 { .. } => assert_eq!(
                    doc.security_schemes,
                    vec![SecurityScheme {
                        name: SCHEME.into(),
                        auth: Auth::OAuth2 {
                            token_url: format!("{}/oauth/token", sim.url()),
                            client_id: String::new(),
                            client_secret: String::new(),
                            scopes: vec!["clients.read".into()],
                        },
                    }]
                ),
                _ => assert_eq!(
                    doc.security_schemes,
                    vec![SecurityScheme {
                        name: SCHEME.into(),
                        auth: Auth::ApiKey {
                            name: "X-Api-Key".into(),
                            location: KeyLocation::Header,
                            value: String::new(),
                        },
                    }]
                ),
            }
            let op = |id: &str| {
                doc.operations
                    .iter()
                    .find(|o| o.operation_id == id)
                    .unwrap_or_else(|| panic!("no {id} in {:?}", doc.operations))
            };
            assert_eq!(doc.operations.len(), 6);
            for list in [
                "listClientsV1",
                "listClientsV2",
                "listClientsV3",
                "get_v4_clients",
            ] {
                assert!(op(list).returns_array, "{list}");
                assert_eq!(op(list).method, "GET");
            }
            assert!(!op("getHealth").returns_array);
            assert_eq!(op("getHealth").path, "/health");
            assert_eq!(
                op("get_v4_clients").summary.as_deref(),
                Some("Clients with a Link header")
            );
            assert_eq!(
                op("get_v4_clients").parameters,
                vec![
                    Parameter {
                        name: "page".into(),
                        location: "query".into(),
                        required: false
                    },
                    Parameter {
                        name: "per_page".into(),
                        location: "query".into(),
                        required: false
                    },
                ]
            );
            let note = op("createNote");
            assert_eq!(
                (note.method.as_str(), note.path.as_str()),
                ("POST", "/v1/clients/{id}/notes")
            );
            assert!(!note.returns_array);
            assert_eq!(
                note.parameters,
                vec![
                    Parameter {
                        name: "id".into(),
                        location: "path".into(),
                        required: true
                    },
                    Parameter {
                        name: "X-Request-Id".into(),
                        location: "header".into(),
                        required: false
                    },
                ]
            );
        }
    }

    #[test]
    fn every_scheme_kind_of_the_tool() {
        let site = "http://127.0.0.1:9";
        for (auth, expected) in [
            (
                ToolAuth::ApiKeyQuery("api_key".into(), "k".into()),
                Auth::ApiKey {
                    name: "api_key".into(),
                    location: KeyLocation::Query,
                    value: String::new(),
                },
            ),
            (
                ToolAuth::Basic("u".into(), "p".into()),
                Auth::Basic {
                    username: String::new(),
                    password: String::new(),
                },
            ),
            (
                ToolAuth::Bearer("t".into()),
                Auth::Bearer {
                    token: String::new(),
                },
            ),
        ] {
            let from_json = parse_value(&openapi_document(&auth, site)).unwrap();
            let from_yaml = parse(openapi_yaml_text(&auth, site).as_bytes()).unwrap();
            assert_eq!(from_json, from_yaml);
            assert_eq!(from_json.security_schemes[0].auth, expected);
        }
    }

    #[test]
    fn the_petstore() {
        let yaml = r##"openapi: "3.0.0"
info:
  version: 1.0.0
  title: Swagger Petstore
  license:
    name: MIT
servers:
  - url: http://petstore.swagger.io/v1
paths:
  /pets:
    get:
      summary: List all pets
      operationId: listPets
      tags:
        - pets
      parameters:
        - name: limit
          in: query
          description: How many items to return at one time (max 100)
          required: false
          schema:
            type: integer
            maximum: 100
            format: int32
      responses:
        '200':
          description: A paged array of pets
          headers:
            x-next:
              description: A link to the next page of responses
              schema:
                type: string
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Pets"
        default:
          description: unexpected error
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Error"
    post:
      summary: Create a pet
      operationId: createPets
      tags:
        - pets
      responses:
        '201':
          description: Null response
  /pets/{petId}:
    get:
      summary: Info for a specific pet
      operationId: showPetById
      tags:
        - pets
      parameters:
        - name: petId
          in: path
          required: true
          description: The id of the pet to retrieve
          schema:
            type: string
      responses:
        '200':
          description: Expected response to a valid request
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Pet"
components:
  schemas:
    Pet:
      type: object
      required:
        - id
        - name
      properties:
        id:
          type: integer
          format: int64
        name:
          type: string
        tag:
          type: string
    Pets:
      type: array
      maxItems: 100
      items:
        $ref: "#/components/schemas/Pet"
    Error:
      type: object
      required:
        - code
        - message
      properties:
        code:
          type: integer
          format: int32
        message:
          type: string
"##;
        let doc = parse(yaml.as_bytes()).unwrap();
        assert_eq!(
            (
                doc.title.as_str(),
                doc.version.as_str(),
                doc.base_url.as_str()
            ),
            ("Swagger Petstore", "1.0.0", "http://petstore.swagger.io/v1")
        );
        assert!(doc.security_schemes.is_empty());
        let summary: Vec<(&str, &str, bool)> = doc
            .operations
            .iter()
            .map(|o| (o.operation_id.as_str(), o.method.as_str(), o.returns_array))
            .collect();
        assert_eq!(
            summary,
            [
                ("listPets", "GET", true),
                ("createPets", "POST", false),
                ("showPetById", "GET", false)
            ]
        );
    }

    #[test]
    fn swagger_2_is_refused() {
        let errors =
            parse(br#"{"swagger": "2.0", "info": {"title": "x"}, "paths": {}}"#).unwrap_err();
        assert_eq!(fields(&errors), [("document.swagger", "UNSUPPORTED")]);
        assert!(
            errors[0].message.contains("only OpenAPI 3.0 and 3.1"),
            "{}",
            errors[0].message
        );
        let errors = parse(b"swagger: '2.0'\ninfo: {title: x}\npaths: {}\n").unwrap_err();
        assert_eq!(fields(&errors), [("document.swagger", "UNSUPPORTED")]);
        let mut v = minimal();
        v["openapi"] = json!("4.0.0");
        assert_eq!(
            fields(&parse_value(&v).unwrap_err()),
            [("document.openapi", "UNSUPPORTED")]
        );
        // `openapi: 3.1` unquoted is a number in YAML: still fine.
        let yaml = "openapi: 3.1\ninfo: {title: T, version: 1}\nservers: [{url: 'https://x.example'}]\npaths: {/a: {get: {}}}\n";
        let doc = parse(yaml.as_bytes()).unwrap();
        assert_eq!(
            (
                doc.version.as_str(),
                doc.operations[0].operation_id.as_str()
            ),
            ("1", "get_a")
        );
    }

    #[test]
    fn missing_parts_are_all_named() {
        let errors = parse(br#"{"title": "not openapi"}"#).unwrap_err();
        assert_eq!(
            fields(&errors),
            [
                ("document.openapi", "INVALID_FORMAT"),
                ("document.info", "INVALID_FORMAT"),
                ("document.paths", "INVALID_FORMAT")
            ]
        );
        let mut v = minimal();
        v["paths"] = json!({ "/things": { "head": {} } });
        assert_eq!(
            fields(&parse_value(&v).unwrap_err()),
            [("document.paths", "INVALID_FORMAT")]
        );
    }

    #[test]
    fn a_relative_or_missing_server_is_refused() {
        let mut v = minimal();
        v["servers"] = json!([{ "url": "/api/v1" }]);
        let errors = parse_value(&v).unwrap_err();
        assert_eq!(fields(&errors), [("document.servers", "INVALID_FORMAT")]);
        assert!(
            errors[0]
                .message
                .contains("an absolute server URL is needed")
        );
        v.as_object_mut().unwrap().remove("servers");
        assert_eq!(
            fields(&parse_value(&v).unwrap_err()),
            [("document.servers", "INVALID_FORMAT")]
        );
        // Variables take their defaults; a relative server before an absolute one is skipped.
        v["servers"] = json!([
            { "url": "/relative" },
            { "url": "https://{tenant}.tool.example/{v}/", "variables": {
                "tenant": { "default": "acme" }, "v": { "default": "v2", "enum": ["v1", "v2"] } } },
        ]);
        assert_eq!(
            parse_value(&v).unwrap().base_url,
            "https://acme.tool.example/v2"
        );
        v["servers"] = json!([{ "url": "https://{tenant}.tool.example" }]);
        assert_eq!(
            fields(&parse_value(&v).unwrap_err()),
            [("document.servers.0.url", "INVALID_FORMAT")]
        );
    }

    #[test]
    fn references() {
        let mut v = minimal();
        v["paths"]["/things/{id}"] = json!({ "get": { "parameters": [
            { "$ref": "#/components/parameters/Missing" },
        ] } });
        let errors = parse_value(&v).unwrap_err();
        assert_eq!(
            fields(&errors),
            [(
                "document.paths./things/{id}.get.parameters.0",
                "INVALID_FORMAT"
            )]
        );
        assert!(
            errors[0]
                .message
                .contains("#/components/parameters/Missing"),
            "{}",
            errors[0].message
        );

        v["paths"]["/things/{id}"]["get"]["parameters"] = json!([{ "$ref": "other.yaml#/P" }]);
        assert_eq!(
            fields(&parse_value(&v).unwrap_err()),
            [(
                "document.paths./things/{id}.get.parameters.0",
                "UNSUPPORTED"
            )]
        );

        // Elsewhere in the document (encoded pointer), and through a chain.
        v["paths"]["/things/{id}"]["get"]["parameters"] = json!([
            { "$ref": "#/x-shared/by~1id" },
            { "$ref": "#/components/parameters/Limit" },
        ]);
        v["x-shared"] = json!({ "by/id": { "name": "id", "in": "path" } });
        v["components"] = json!({ "parameters": {
            "Limit": { "$ref": "#/components/parameters/RealLimit" },
            "RealLimit": { "name": "limit", "in": "query", "required": true },
        }});
        let doc = parse_value(&v).unwrap();
        let op = doc
            .operations
            .iter()
            .find(|o| o.path == "/things/{id}")
            .unwrap();
        assert_eq!(op.operation_id, "get_things_id");
        assert_eq!(
            op.parameters,
            vec![
                Parameter {
                    name: "id".into(),
                    location: "path".into(),
                    required: true
                },
                Parameter {
                    name: "limit".into(),
                    location: "query".into(),
                    required: true
                },
            ]
        );

        // A loop.
        v["components"]["parameters"]["RealLimit"] =
            json!({ "$ref": "#/components/parameters/Limit" });
        assert!(parse_value(&v).is_err());

        // A dangling schema in a response.
        let mut v = minimal();
        v["paths"]["/things"]["get"]["responses"] = json!({ "200": { "content": {
            "application/json": { "schema": { "$ref": "#/components/schemas/Nope" } } } } });
        assert_eq!(
            fields(&parse_value(&v).unwrap_err()),
            [("document.paths./things.get.responses.200", "INVALID_FORMAT")]
        );
    }

    #[test]
    fn operation_ids() {
        let mut v = minimal();
        v["paths"] = json!({
            "/a": { "get": { "operationId": "same" }, "post": { "operationId": "same" } },
            "/b": { "get": {} },
        });
        let errors = parse_value(&v).unwrap_err();
        assert_eq!(
            fields(&errors),
            [("document.paths./a.post.operationId", "INVALID_FORMAT")]
        );
        assert!(
            errors[0].message.contains("GET /a"),
            "{}",
            errors[0].message
        );

        v["paths"] = json!({
            "/": { "get": {} },
            "/b": { "get": { "operationId": "get_c" }, "delete": {} },
            "/c": { "get": {} },
            "/{Tenant-Id}/users.json": { "patch": {} },
        });
        let doc = parse_value(&v).unwrap();
        let ids: Vec<&str> = doc
            .operations
            .iter()
            .map(|o| o.operation_id.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "get_root",
                "get_c",
                "delete_b",
                "get_c_2",
                "patch_tenant_id_users_json"
            ]
        );
    }

    #[test]
    fn unsupported_security_only_matters_when_nothing_else_remains() {
        let mut v = minimal();
        v["components"] = json!({ "securitySchemes": {
            "oidc": { "type": "openIdConnect", "openIdConnectUrl": "https://x/.well-known" },
            "cookie": { "type": "apiKey", "in": "cookie", "name": "sid" },
            "user": { "type": "oauth2", "flows": { "authorizationCode": {
                "authorizationUrl": "https://x/a", "tokenUrl": "https://x/t", "scopes": {} } } },
            "mtls": { "type": "mutualTLS" },
        }});
        // Not required: nothing to refuse, nothing to offer.
        assert!(parse_value(&v).unwrap().security_schemes.is_empty());
        v["security"] = json!([{ "oidc": [] }]);
        let errors = parse_value(&v).unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors.iter().all(|e| e.code == "UNSUPPORTED"));
        assert!(
            errors
                .iter()
                .any(|e| e.field == "document.components.securitySchemes.cookie"
                    && e.message.contains("cookie"))
        );
        // An optional requirement (`{}`) does not require credentials.
        v["security"] = json!([{ "oidc": [] }, {}]);
        assert!(parse_value(&v).is_ok());
        // One usable scheme is enough; a relative token URL is read against the server URL
        // (RFC 3986: `/oauth/token` replaces its path).
        v["security"] = json!([{ "cc": ["read", "write"] }]);
        v["components"]["securitySchemes"]["cc"] = json!({ "type": "oauth2", "flows": {
            "clientCredentials": { "tokenUrl": "/oauth/token", "scopes": { "read": "", "write": "" } } } });
        let doc = parse_value(&v).unwrap();
        assert_eq!(
            doc.security_schemes,
            vec![SecurityScheme {
                name: "cc".into(),
                auth: Auth::OAuth2 {
                    token_url: "https://api.tool.example/oauth/token".into(),
                    client_id: String::new(),
                    client_secret: String::new(),
                    scopes: vec!["read".into(), "write".into()],
                },
            }]
        );
    }

    #[test]
    fn garbage_is_refused() {
        for garbage in [
            &b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xfe"[..],
            b"",
            b"   \n",
            b"{\"openapi\": ",
            b"just some words",
            b"- a\n- b\n",
            b"key: [unclosed",
            b"a: 1\na: 2\n",
        ] {
            let errors = parse(garbage).unwrap_err();
            assert_eq!(
                fields(&errors),
                [("document", "INVALID_FORMAT")],
                "{garbage:?}"
            );
        }
        let big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
        assert_eq!(
            fields(&parse(&big).unwrap_err()),
            [("document", "MAX_LENGTH_EXCEEDED")]
        );
    }

    #[test]
    fn yaml_reads_as_json() {
        let v = yaml_to_json(
            "a: 1\nb: 1.5\nc: yes\nd: true\ne: ~\nf: '2'\n200: x\ng: !!str 3\nh: 0x1F\n\
             base: &base {x: 1, y: 2}\nderived:\n  <<: *base\n  y: 3\nlist: [*base]\n",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({
                "a": 1, "b": 1.5, "c": "yes", "d": true, "e": null, "f": "2", "200": "x",
                "g": "3", "h": 31,
                "base": { "x": 1, "y": 2 },
                "derived": { "x": 1, "y": 3 },
                "list": [{ "x": 1, "y": 2 }],
            })
        );
        assert_eq!(yaml_to_json("--- a\n--- b\n").unwrap(), json!("a"));
        assert!(yaml_to_json("[a, b]: 1\n").is_err());
    }

    #[test]
    fn yaml_bombs_and_deep_nesting_are_refused() {
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = yaml_to_json(&bomb).unwrap_err();
        assert!(e.contains("too many values"), "{e}");
        let deep = format!("{}x{}", "[".repeat(200), "]".repeat(200));
        assert!(yaml_to_json(&deep).is_err());
        let mut block = String::new();
        for i in 0..300 {
            block.push_str(&" ".repeat(i));
            block.push_str("k:\n");
        }
        let e = yaml_to_json(&block).unwrap_err();
        assert!(e.contains("nested deeper"), "{e}");
    }
}
