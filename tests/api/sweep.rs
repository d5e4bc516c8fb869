//! The authorization sweep: every root query and mutation of the schema (read by
//! introspection, so none can be forgotten) is called with arguments pointing into another
//! MSP's tree ("the victim"), as: no token, an expired token, a token with a wrong signature,
//! and `read_only`, `forms`, `member`, `admin` of the attacker's tree, then as staff. Without a
//! valid token every operation is UNAUTHENTICATED; with one, no answer carries the victim's
//! data and the victim's rows do not change; no answer is an INTERNAL error.
//!
//! `OPERATIONS` lists every operation; one missing from it (a new one) fails the test, so it
//! is looked at when it lands.
use std::collections::{BTreeMap, HashMap};

use orghub::auth::Role;
use orghub::domain::executions;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

/// Every root operation, and what may be called without a token (nothing may).
const OPERATIONS: &[&str] = &[
    // Queries.
    "organization",
    "organizations",
    "managedAndSubOrganizations",
    "orgSearch",
    "searchManagedOrgs",
    "orgBreadcrumb",
    "isOrgManagedBy",
    "checkUserManagesOrg",
    "softDeletedOrgs",
    "userOrganization",
    "myAccessibleOrganizations",
    "me",
    "users",
    "user",
    "permissionAuditLog",
    "reservedOrganizationName",
    "reservedOrganizationNames",
    "organizationApiClients",
    "apiClient",
    "tag",
    "tags",
    "orgVariable",
    "orgVariables",
    "visibleOrgVariables",
    "visibleOrgVariablesCount",
    "orgVariableHistory",
    "pack",
    "packs",
    "packsForOrg",
    "integrations",
    "packConfig",
    "packConfigs",
    "packConfigsForOrg",
    "orgMappings",
    "workflowExecution",
    "workflowExecutions",
    "latestWorkflowExecution",
    "foreignObjectReference",
    "foreignObjectReferences",
    "organizationImport",
    "organizationImports",
    "psaImportSources",
    "psaFilterOptions",
    "psaOrganizations",
    "liveLinks",
    "builtinWorkflows",
    "offboardingTriggers",
    "orgVariableDefinitions",
    "orgSettingsForm",
    // Mutations.
    "createOrganization",
    "createOrganizations",
    "bulkCreateOrganizations",
    "updateOrganization",
    "updateManagedAndSubOrganizations",
    "deleteOrganization",
    "bulkDeleteOrganizations",
    "restoreOrganization",
    "createReservedOrganizationName",
    "updateReservedOrganizationName",
    "deleteReservedOrganizationName",
    "createUser",
    "updateUserRoles",
    "deleteUser",
    "createMspOrganization",
    "createOrganizationApiClient",
    "updateOrganizationApiClient",
    "deleteOrganizationApiClient",
    "rotateApiClientSecret",
    "createTag",
    "createGlobalTag",
    "updateTag",
    "updateTags",
    "deleteTag",
    "setOrganizationTags",
    "createOrgVariable",
    "updateOrgVariables",
    "bulkUpdateOrgVariables",
    "deleteOrgVariable",
    "installPack",
    "uninstallPack",
    "setPackTags",
    "createPackConfig",
    "updatePackConfig",
    "testPackConfig",
    "deletePackConfig",
    "refetchPackConfigRefOptions",
    "suggestOrgVarMatches",
    "saveOrgMappings",
    "killWorkflowExecution",
    "deleteWorkflowExecution",
    "submitPendingTaskResponse",
    "createForeignObjectReference",
    "createOrUpdateForeignObjectReference",
    "previewOrganizationImport",
    "processOrganizationImport",
    "uploadOrganizationImportCsv",
    "previewOrganizationImportCsv",
    "cancelOrganizationImport",
    "createLiveLink",
    "deleteLiveLink",
    "registerConnectWiseCallbacks",
    "runOffboardingConfigDeactivation",
    "createOffboardingTrigger",
    "deleteOffboardingTrigger",
    "saveOrgSettings",
    "connectWiseRequest",
    "customPacks",
    "createCustomPack",
    "createOpenApiPack",
    "updateCustomPack",
    "deleteCustomPack",
    "customPackRequest",
];

const INTROSPECT: &str = "{ __schema { queryType { name } mutationType { name } types { name kind
  fields { name args { name type { ...T } } type { ...T } }
  inputFields { name type { ...T } } enumValues { name } } } }
  fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }";

/// A type reference, unwrapped: (list?, named type).
fn named(t: &Value) -> (bool, String, bool) {
    let mut t = t;
    let mut list = false;
    let required = t["kind"] == "NON_NULL";
    loop {
        match t["kind"].as_str() {
            Some("NON_NULL") => t = &t["ofType"],
            Some("LIST") => {
                list = true;
                t = &t["ofType"];
            }
            _ => return (list, t["name"].as_str().unwrap_or("").to_owned(), required),
        }
    }
}

/// The victim's objects, by kind.
struct Victim {
    org: String,
    child: String,
    ids: HashMap<&'static str, String>,
}

impl Victim {
    fn id_for(&self, arg: &str, op: &str) -> Value {
        let kind = match arg {
            "packId" if op.contains("CustomPack") => "custom_pack",
            "packConfigId" if op.contains("CustomPack") => "custom_config",
            "orgId"
            | "managingOrgId"
            | "defaultManagingOrgId"
            | "organizationId"
            | "parentOrgId" => "org",
            "packConfigId" | "psaPackConfigId" => "config",
            "tagId" | "tagIds" => "tag",
            "userId" => "user",
            "pendingTaskId" => "task",
            "workflowExecutionId" | "executionId" => "execution",
            "importId" => "import",
            "roleId" => return json!("admin"),
            "packId" => return json!("connectwise-psa"),
            "roleIds" => return json!(["admin"]),
            _ => {
                let o = op.to_ascii_lowercase();
                if o.contains("tag") {
                    "tag"
                } else if o.contains("user") {
                    "user"
                } else if o.contains("variable") {
                    "variable"
                } else if o.contains("packconfig") || o.contains("connectwise") {
                    "config"
                } else if o.contains("apiclient") {
                    "client"
                } else if o.contains("execution") {
                    "execution"
                } else if o.contains("reference") {
                    "reference"
                } else if o.contains("livelink") || o.contains("trigger") {
                    "trigger"
                } else if o.contains("import") {
                    "import"
                } else {
                    "org"
                }
            }
        };
        json!(
            self.ids
                .get(kind)
                .cloned()
                .unwrap_or_else(|| self.child.clone())
        )
    }
}

fn id_like(name: &str) -> bool {
    name == "id" || name == "ids" || name.ends_with("Id") || name.ends_with("Ids")
}

struct Schema {
    types: HashMap<String, Value>,
}

impl Schema {
    /// A value for an argument or input field.
    fn value(&self, t: &Value, name: &str, op: &str, v: &Victim, depth: usize) -> Value {
        let (list, ty, _) = named(t);
        let one = match ty.as_str() {
            "ID" => {
                let id = v.id_for(name, op);
                if list {
                    return if id.is_array() { id } else { json!([id]) };
                }
                id
            }
            "String" if id_like(name) => {
                let id = v.id_for(name, op);
                if id.is_array() {
                    return id;
                }
                id
            }
            "String" => json!(match name {
                "method" => "GET",
                "path" => "system/info",
                "psaRef" => "connectwise-psa",
                "packId" => "connectwise-psa",
                "name" | "organizationName" => "sweep-name",
                "adminEmail" | "username" => "sweep@sweep.test",
                "cron" => "0 2 * * *",
                _ => "sweep",
            }),
            "Int" => json!(1),
            "Float" => json!(1.0),
            "Boolean" => json!(false),
            "JSON" | "json" | "JSONObject" => json!({}),
            "Upload" => Value::Null,
            other => {
                let def = &self.types[other];
                match def["kind"].as_str() {
                    Some("ENUM") => def["enumValues"][0]["name"].clone(),
                    Some("INPUT_OBJECT") if depth < 4 => {
                        let mut obj = serde_json::Map::new();
                        for f in def["inputFields"].as_array().into_iter().flatten() {
                            let fname = f["name"].as_str().unwrap_or("");
                            let (_, fty, required) = named(&f["type"]);
                            if required || (id_like(fname) && (fty == "ID" || fty == "String")) {
                                obj.insert(
                                    fname.to_owned(),
                                    self.value(&f["type"], fname, op, v, depth + 1),
                                );
                            }
                        }
                        Value::Object(obj)
                    }
                    _ => Value::Null,
                }
            }
        };
        if list { json!([one]) } else { one }
    }

    /// The scalar fields of a type, and those of its object fields one level down.
    fn selection(&self, ty: &str, depth: usize) -> String {
        let Some(def) = self.types.get(ty) else {
            return String::new();
        };
        if def["kind"] != "OBJECT" {
            return String::new();
        }
        let mut parts = vec!["__typename".to_owned()];
        for f in def["fields"].as_array().into_iter().flatten() {
            if f["args"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| named(&x["type"]).2))
            {
                continue;
            }
            let (_, fty, _) = named(&f["type"]);
            let name = f["name"].as_str().unwrap_or("");
            match self.types.get(&fty).and_then(|d| d["kind"].as_str()) {
                Some("OBJECT") if depth < 1 => {
                    let inner = self.selection(&fty, depth + 1);
                    if !inner.is_empty() {
                        parts.push(format!("{name} {inner}"));
                    }
                }
                Some("OBJECT") | Some("INTERFACE") | Some("UNION") => {}
                _ => parts.push(name.to_owned()),
            }
        }
        format!("{{ {} }}", parts.join(" "))
    }
}

/// The victim's rows, as text: what must not change.
async fn snapshot(app: &TestApp, v: &Victim) -> String {
    let db = &app.state.store.db;
    let backend = app.state.store.backend();
    let path_like = format!("%/{}/%", v.org);
    let mut out = String::new();
    for sql in [
        "SELECT CAST(id AS TEXT) || name || CAST(is_enabled AS TEXT) || COALESCE(CAST(deleted_at AS TEXT), '') || CAST(updated_at AS TEXT) FROM organizations WHERE path LIKE $1 ORDER BY id",
        "SELECT t.name || t.color || CAST(t.updated_at AS TEXT) FROM tags t WHERE t.org_id IN (SELECT id FROM organizations WHERE path LIKE $1) ORDER BY t.id",
        "SELECT v.name || COALESCE(v.value, '') || CAST(v.updated_at AS TEXT) FROM org_variables v WHERE v.org_id IN (SELECT id FROM organizations WHERE path LIKE $1) ORDER BY v.id",
        "SELECT u.username || u.role FROM users u WHERE u.org_id IN (SELECT id FROM organizations WHERE path LIKE $1) ORDER BY u.id",
        "SELECT p.name || CAST(p.updated_at AS TEXT) FROM pack_configs p WHERE p.org_id IN (SELECT id FROM organizations WHERE path LIKE $1) ORDER BY p.id",
        "SELECT e.status || CAST(e.updated_at AS TEXT) FROM workflow_executions e WHERE e.org_id IN (SELECT id FROM organizations WHERE path LIKE $1) ORDER BY e.id",
        "SELECT pt.status FROM pending_tasks pt WHERE pt.execution_id IN (SELECT e.id FROM workflow_executions e WHERE e.org_id IN (SELECT id FROM organizations WHERE path LIKE $1)) ORDER BY pt.id",
        "SELECT CAST(t.id AS TEXT) FROM triggers t WHERE t.org_id IN (SELECT id FROM organizations WHERE path LIKE $1) ORDER BY t.id",
        "SELECT f.reference_id FROM foreign_object_references f WHERE f.org_id IN (SELECT id FROM organizations WHERE path LIKE $1) ORDER BY f.id",
        "SELECT a.name || CAST(a.updated_at AS TEXT) FROM api_clients a WHERE a.org_id IN (SELECT id FROM organizations WHERE path LIKE $1) ORDER BY a.id",
        "SELECT c.name || c.mapping_variable || CAST(c.updated_at AS TEXT) FROM custom_packs c WHERE c.org_id IN (SELECT id FROM organizations WHERE path LIKE $1) ORDER BY c.id",
    ] {
        let sql = if backend == sea_orm::DbBackend::Sqlite {
            sql.replace("$1", "?")
        } else {
            sql.to_owned()
        };
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [path_like.clone().into()],
            ))
            .await
            .unwrap_or_else(|e| panic!("snapshot: {e}"));
        for r in rows {
            let s: String = r.try_get_by_index(0).unwrap_or_default();
            out.push_str(&s);
            out.push('\n');
        }
    }
    out
}

async fn victim(app: &TestApp) -> Victim {
    let (org, admin) = app.other_msp("VICTIM MSP").await;
    let ok = |q: &'static str, vars: Value| {
        let admin = admin.clone();
        async move { app.ok(&admin, q, vars).await }
    };
    let child = app.create_org(&admin, "VICTIM Child", &org).await;
    let mut ids: HashMap<&'static str, String> = HashMap::new();
    ids.insert("org", child.clone());
    let tag = ok(
        "mutation($o: ID!) { createTag(tag: {name: \"VICTIM tag\", orgId: $o}) { id } }",
        json!({ "o": org }),
    )
    .await;
    ids.insert("tag", tag["createTag"]["id"].as_str().unwrap().to_owned());
    let var = ok(
        "mutation($o: ID!) { createOrgVariable(orgVariable: {orgId: $o, name: \"victim_var\", value: \"VICTIM value\", category: general, cascade: true}) { id } }",
        json!({ "o": child }),
    )
    .await;
    ids.insert(
        "variable",
        var["createOrgVariable"]["id"].as_str().unwrap().to_owned(),
    );
    ok(
        "mutation($o: ID!) { installPack(orgId: $o, packId: \"connectwise-psa\") { id } }",
        json!({ "o": org }),
    )
    .await;
    let config = ok(
        "mutation($o: ID!) { createPackConfig(packConfig: {orgId: $o, packId: \"connectwise-psa\", name: \"VICTIM config\", config: {hostname: \"127.0.0.1:9\", company_id: \"victim\", public_key: \"p\", private_key: \"VICTIM-secret-key\", client_id: \"c\"}}) { id } }",
        json!({ "o": org }),
    )
    .await;
    ids.insert(
        "config",
        config["createPackConfig"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let client = ok(
        "mutation($o: ID!) { createOrganizationApiClient(input: {orgId: $o, name: \"VICTIM client\"}) { id } }",
        json!({ "o": org }),
    )
    .await;
    if let Some(id) = client["createOrganizationApiClient"]["id"].as_str() {
        ids.insert("client", id.to_owned());
    }
    let user = ok(
        "mutation($o: ID!) { createUser(user: {orgId: $o, username: \"victim-user@victim.test\", roleIds: [\"member\"]}) { id } }",
        json!({ "o": org }),
    )
    .await;
    if let Some(id) = user["createUser"]["id"].as_str() {
        ids.insert("user", id.to_owned());
    }
    let e = executions::start(
        &app.state.store.db,
        Uuid::parse_str(&child).unwrap(),
        "VICTIM-workflow",
        Some(json!({ "secret": "VICTIM input" })),
        None,
    )
    .await
    .unwrap_or_else(|e| panic!("{}", e.client_message()));
    ids.insert("execution", e.id.to_string());
    let t = executions::ask(
        &app.state.store.db,
        e.id,
        "text",
        "VICTIM question",
        None,
        chrono::Duration::hours(1),
    )
    .await
    .unwrap_or_else(|e| panic!("{}", e.client_message()));
    ids.insert("task", t.id.to_string());
    let r = ok(
        "mutation($o: ID!, $e: ID) { createForeignObjectReference(foreignObjectReference: {orgId: $o, identifier: \"cw_ticket\", referenceId: \"VICTIM-ref\", workflowExecutionId: $e}) { id } }",
        json!({ "o": child, "e": e.id }),
    )
    .await;
    ids.insert(
        "reference",
        r["createForeignObjectReference"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let link = ok(
        "mutation($o: ID!, $c: ID!) { createLiveLink(orgId: $o, packConfigId: $c) { id } }",
        json!({ "o": org, "c": ids["config"] }),
    )
    .await;
    ids.insert(
        "trigger",
        link["createLiveLink"]["id"].as_str().unwrap().to_owned(),
    );
    ids.insert("import", Uuid::now_v7().to_string());
    let pack = ok(
        "mutation($o: ID!) { createCustomPack(orgId: $o, input: {name: \"VICTIM tool\", baseUrl: \"http://127.0.0.1:9/api\", auth: {kind: BEARER, token: \"VICTIM-token\"}, health: {path: \"/health\"}, mappingVariable: \"victim_tool_id\"}) { id } }",
        json!({ "o": org }),
    )
    .await;
    let pack = pack["createCustomPack"]["id"].as_str().unwrap().to_owned();
    let config = ok(
        "mutation($o: ID!, $p: ID!) { createPackConfig(packConfig: {orgId: $o, packId: $p, name: \"VICTIM tool config\"}) { id } }",
        json!({ "o": org, "p": pack }),
    )
    .await;
    ids.insert(
        "custom_config",
        config["createPackConfig"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    ids.insert("custom_pack", pack);
    Victim { org, child, ids }
}

fn bad_tokens() -> Vec<(&'static str, String)> {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    let now = chrono::Utc::now().timestamp();
    let claims = |secret: &str, exp: i64| {
        encode(
            &Header::new(Algorithm::HS256),
            &json!({ "sub": Uuid::now_v7().to_string(), "iss": "orghub", "aud": "orghub", "exp": exp, "iat": now - 7200 }),
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    vec![
        ("no token", String::new()),
        (
            "expired token",
            claims("test-secret-test-secret-test-secret!", now - 3600),
        ),
        (
            "wrong signature",
            claims("another-secret-another-secret-another", now + 3600),
        ),
    ]
}

#[tokio::test]
async fn no_operation_reaches_another_tree() {
    let app = spawn_app().await;
    let v = victim(&app).await;
    let schema = app.ok(&app.admin, INTROSPECT, json!({})).await;
    let types: HashMap<String, Value> = schema["__schema"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_owned(), t.clone()))
        .collect();
    let s = Schema { types };
    let mut ops: BTreeMap<String, (&str, Value)> = BTreeMap::new();
    for (root, keyword) in [("Query", "query"), ("Mutation", "mutation")] {
        for f in s.types[root]["fields"].as_array().unwrap() {
            ops.insert(f["name"].as_str().unwrap().to_owned(), (keyword, f.clone()));
        }
    }
    let unlisted: Vec<&String> = ops
        .keys()
        .filter(|k| !OPERATIONS.contains(&k.as_str()))
        .collect();
    assert!(
        unlisted.is_empty(),
        "operations missing from the sweep's table: {unlisted:?}"
    );
    let gone: Vec<&&str> = OPERATIONS
        .iter()
        .filter(|k| !ops.contains_key(**k))
        .collect();
    assert!(
        gone.is_empty(),
        "the sweep lists operations the schema no longer has: {gone:?}"
    );

    // Each operation as a document with its arguments as variables.
    let calls: Vec<(String, String, Value)> = ops
        .iter()
        .map(|(name, (keyword, f))| {
            let mut decls = Vec::new();
            let mut args = Vec::new();
            let mut vars = serde_json::Map::new();
            for a in f["args"].as_array().into_iter().flatten() {
                let an = a["name"].as_str().unwrap();
                let (_, ty, required) = named(&a["type"]);
                let is_input = s
                    .types
                    .get(&ty)
                    .is_some_and(|d| d["kind"] == "INPUT_OBJECT");
                if !(required || id_like(an) || is_input) {
                    continue;
                }
                decls.push(format!("${an}: {}", type_text(&a["type"])));
                args.push(format!("{an}: ${an}"));
                vars.insert(an.to_owned(), s.value(&a["type"], an, name, &v, 0));
            }
            let (_, ret, _) = named(&f["type"]);
            let sel = s.selection(&ret, 0);
            let decl = if decls.is_empty() {
                String::new()
            } else {
                format!("({})", decls.join(", "))
            };
            let arg = if args.is_empty() {
                String::new()
            } else {
                format!("({})", args.join(", "))
            };
            (
                name.clone(),
                format!("{keyword} Sweep{decl} {{ {name}{arg} {sel} }}"),
                Value::Object(vars),
            )
        })
        .collect();

    // Without a valid token: UNAUTHENTICATED, every time.
    for (who, token) in bad_tokens() {
        for (name, doc, vars) in &calls {
            let body = app.gql(&token, doc, vars.clone()).await;
            let code = body["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("");
            assert!(
                code == "UNAUTHENTICATED"
                    || (body["data"].is_object()
                        && no_victim(&body["data"], &v)
                        && body.get("errors").is_none()
                        && public(name)),
                "{who}: {name} answered {body}"
            );
        }
    }

    // With the attacker's roles: nothing of the victim read or changed, never INTERNAL.
    let mut tokens = Vec::new();
    for role in [Role::ReadOnly, Role::Forms, Role::Member, Role::Admin] {
        tokens.push((role.as_str(), app.user(&app.msp_id, role, false).await.1));
    }
    for (who, token) in &tokens {
        for (name, doc, vars) in &calls {
            let before = snapshot(&app, &v).await;
            let body = app.gql(token, doc, vars.clone()).await;
            let after = snapshot(&app, &v).await;
            assert_eq!(
                before, after,
                "{who}: {name} changed the victim's data: {body}"
            );
            assert!(
                no_victim(&body["data"], &v),
                "{who}: {name} read the victim's data: {body}"
            );
            assert!(!internal(&body), "{who}: {name} failed inside: {body}");
            // A call the schema refuses tests nothing: the generated arguments must be valid.
            let coded = body["errors"]
                .as_array()
                .is_none_or(|e| e.iter().all(|x| x["extensions"]["code"].is_string()));
            // (Uploads cannot be sent as JSON: their own tests check them across trees.)
            assert!(
                coded || name.ends_with("Csv") || *name == "createOpenApiPack",
                "{who}: {name}: the sweep's call is not valid: {doc} {vars} => {body}"
            );
            if std::env::var("SWEEP_DEBUG").is_ok() && *who == "admin" {
                eprintln!(
                    "{name}: {} {doc} {vars} => {body}",
                    body["errors"][0]["extensions"]["code"]
                        .as_str()
                        .unwrap_or("ok")
                );
            }
        }
    }

    // Staff reach every tree; still never INTERNAL.
    let (_, staff) = app.user(&app.msp_id, Role::Admin, true).await;
    for (name, doc, vars) in &calls {
        let body = app.gql(&staff, doc, vars.clone()).await;
        assert!(!internal(&body), "staff: {name} failed inside: {body}");
    }
}

/// Operations anyone may call (catalogs, nothing of a tree).
fn public(name: &str) -> bool {
    matches!(
        name,
        "packs" | "pack" | "integrations" | "orgVariableDefinitions" | "builtinWorkflows"
    )
}

fn internal(body: &Value) -> bool {
    body["errors"]
        .as_array()
        .is_some_and(|e| e.iter().any(|x| x["extensions"]["code"] == "INTERNAL"))
}

fn no_victim(data: &Value, v: &Victim) -> bool {
    let text = data.to_string();
    !text.contains("VICTIM")
        && !text.contains(&v.org)
        && !v
            .ids
            .values()
            .any(|id| id.len() > 30 && text.contains(id.as_str()))
}

fn type_text(t: &Value) -> String {
    match t["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", type_text(&t["ofType"])),
        Some("LIST") => format!("[{}]", type_text(&t["ofType"])),
        _ => t["name"].as_str().unwrap_or("String").to_owned(),
    }
}
