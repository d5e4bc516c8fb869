//! Users: inviting, listing, roles, removal, the rules around admins; MSP onboarding;
//! the audit log of access changes.
use orghub::auth::Role;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{TestApp, code, rule, spawn_app};

const CREATE: &str = "mutation($u: CreateUserInput!) { createUser(user: $u) { id username roleIds sub isApiUser isTestUser orgId } }";
const ROLES: &str = "mutation($id: ID!, $r: [String!]!) { updateUserRoles(user: {id: $id, roleIds: $r}) { roleIds } }";
const DELETE: &str = "mutation($id: ID!) { deleteUser(id: $id) }";

async fn invite(app: &TestApp, token: &str, org: &str, email: &str, role: &str) -> Value {
    app.gql(
        token,
        CREATE,
        json!({ "u": { "orgId": org, "username": email, "roleIds": [role] } }),
    )
    .await
}

fn usernames(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn admins_invite_list_change_and_remove_users() {
    let app = spawn_app().await;
    let client = app.create_org(&app.admin, "Client", &app.msp_id).await;
    let body = invite(&app, &app.admin, &client, " Tech@Client.test ", "member").await;
    let tech = &body["data"]["createUser"];
    assert_eq!(tech["username"], "Tech@Client.test");
    assert_eq!(tech["roleIds"], json!(["member"]));
    assert_eq!(
        tech["sub"],
        Value::Null,
        "an invitation: no identity linked yet"
    );
    assert_eq!(
        (tech["isApiUser"].as_bool(), tech["isTestUser"].as_bool()),
        (Some(false), Some(false))
    );
    let tech_id = tech["id"].as_str().unwrap().to_owned();
    let boss = invite(&app, &app.admin, &client, "boss@client.test", "admin").await;
    let boss_id = boss["data"]["createUser"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    for (email, roles, expected) in [
        (
            "TECH@client.test",
            json!(["member"]),
            ("username", "DUPLICATE_IN_DATABASE"),
        ),
        (
            "not-an-email",
            json!(["member"]),
            ("username", "INVALID_FORMAT"),
        ),
        ("", json!(["member"]), ("username", "REQUIRED_FIELD")),
        (
            "x@client.test",
            json!(["owner"]),
            ("roleIds", "INVALID_FORMAT"),
        ),
        ("x@client.test", json!([]), ("roleIds", "REQUIRED_FIELD")),
        (
            "x@client.test",
            json!(["admin", "member"]),
            ("roleIds", "INVALID_FORMAT"),
        ),
    ] {
        let body = app
            .gql(
                &app.admin,
                CREATE,
                json!({ "u": { "orgId": client, "username": email, "roleIds": roles } }),
            )
            .await;
        assert_eq!(rule(&body), expected, "{email} {roles}");
    }

    let list = "query($o: ID!, $s: UserSearchInput, $order: [[String!]!]) { users(where: {orgId: $o}, search: $s, order: $order) { username } }";
    let data = app.ok(&app.admin, list, json!({ "o": client })).await;
    assert_eq!(
        usernames(&data["users"]),
        ["boss@client.test", "Tech@Client.test"]
    );
    let data = app
        .ok(
            &app.admin,
            list,
            json!({ "o": client, "s": { "roleIds": { "_eq": "member" } } }),
        )
        .await;
    assert_eq!(usernames(&data["users"]), ["Tech@Client.test"]);
    let data = app
        .ok(
            &app.admin,
            list,
            json!({ "o": client, "order": [["username", "DESC"]] }),
        )
        .await;
    assert_eq!(
        usernames(&data["users"]),
        ["Tech@Client.test", "boss@client.test"]
    );
    let one = app
        .ok(
            &app.admin,
            "query($o: ID!) { user(where: {orgId: $o, username: \"tech@client.test\"}) { id } }",
            json!({ "o": client }),
        )
        .await;
    assert_eq!(one["user"]["id"], tech_id.as_str());
    let body = app.gql(&app.admin, "{ users { id } }", json!({})).await;
    assert_eq!(rule(&body), ("where.orgId", "REQUIRED_FIELD"));

    let data = app
        .ok(
            &app.admin,
            ROLES,
            json!({ "id": tech_id, "r": ["read_only"] }),
        )
        .await;
    assert_eq!(data["updateUserRoles"]["roleIds"], json!(["read_only"]));

    // The client's own admin: cannot change their own role, cannot remove themselves,
    // and the org's last admin cannot be demoted or removed.
    let boss_token = app.token_for(uuid::Uuid::parse_str(&boss_id).unwrap(), "boss@client.test");
    assert_eq!(
        rule(
            &app.gql(
                &boss_token,
                ROLES,
                json!({ "id": boss_id, "r": ["member"] })
            )
            .await
        ),
        ("id", "NOT_UPDATABLE")
    );
    assert_eq!(
        rule(&app.gql(&boss_token, DELETE, json!({ "id": boss_id })).await),
        ("id", "NOT_DELETABLE")
    );
    assert_eq!(
        rule(
            &app.gql(&app.admin, ROLES, json!({ "id": boss_id, "r": ["member"] }))
                .await
        ),
        ("roleIds", "LAST_ADMIN")
    );
    assert_eq!(
        rule(&app.gql(&app.admin, DELETE, json!({ "id": boss_id })).await),
        ("id", "LAST_ADMIN")
    );
    // With a second admin, the first may go.
    let data = app
        .ok(&boss_token, ROLES, json!({ "id": tech_id, "r": ["admin"] }))
        .await;
    assert_eq!(data["updateUserRoles"]["roleIds"], json!(["admin"]));
    app.ok(&app.admin, DELETE, json!({ "id": boss_id })).await;
    let body = app.gql(&boss_token, "{ me { id } }", json!({})).await;
    assert_eq!(
        code(&body),
        "UNAUTHENTICATED",
        "a removed user's tokens stop working"
    );

    // Everything above is in the audit log, newest first.
    let log = app
        .ok(&app.admin, "query($o: ID!) { permissionAuditLog(orgId: $o) { action actorUsername targetType targetId before after } }", json!({ "o": client }))
        .await;
    let entries = log["permissionAuditLog"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "user.delete",
            "user.roles",
            "user.roles",
            "user.create",
            "user.create"
        ]
    );
    assert_eq!(entries[0]["actorUsername"], "admin@acme.test");
    assert_eq!(entries[0]["targetId"], boss_id.as_str());
    assert_eq!(entries[0]["after"], Value::Null);
    assert_eq!(entries[2]["before"]["role"], "member");
    assert_eq!(entries[2]["after"]["role"], "read_only");
}

#[tokio::test]
async fn only_admins_manage_users_and_only_in_their_tree() {
    let app = spawn_app().await;
    let client = app.create_org(&app.admin, "Client", &app.msp_id).await;
    let (_, member) = app.user(&app.msp_id, Role::Member, false).await;
    let (_, reader) = app.user(&app.msp_id, Role::ReadOnly, false).await;
    assert_eq!(
        code(&invite(&app, &member, &client, "new@client.test", "admin").await),
        "FORBIDDEN",
        "a member cannot create an admin"
    );
    assert_eq!(
        code(&invite(&app, &member, &client, "new@client.test", "read_only").await),
        "FORBIDDEN"
    );
    assert_eq!(
        code(&invite(&app, &reader, &client, "new@client.test", "read_only").await),
        "FORBIDDEN"
    );
    let (tech_id, _) = app.user(&client, Role::Member, false).await;
    assert_eq!(
        code(
            &app.gql(&member, ROLES, json!({ "id": tech_id, "r": ["admin"] }))
                .await
        ),
        "FORBIDDEN"
    );
    assert_eq!(
        code(&app.gql(&member, DELETE, json!({ "id": tech_id })).await),
        "FORBIDDEN"
    );
    assert_eq!(
        code(
            &app.gql(
                &member,
                "query($o: ID!) { permissionAuditLog(orgId: $o) { id } }",
                json!({ "o": client })
            )
            .await
        ),
        "FORBIDDEN"
    );
    // Reading the users is fine for any role.
    app.ok(
        &reader,
        "query($o: ID!) { users(where: {orgId: $o}) { username } }",
        json!({ "o": client }),
    )
    .await;

    // A client admin manages their org, not the MSP above it.
    let (_, client_admin) = app.user(&client, Role::Admin, false).await;
    assert_eq!(
        code(&invite(&app, &client_admin, &app.msp_id, "x@msp.test", "member").await),
        "FORBIDDEN"
    );

    // Another MSP's admin: FORBIDDEN for everything here, exactly as for ids that do not exist.
    let (other_msp, other_admin) = app.other_msp("Globex").await;
    let missing = "0191f1c6-0000-7000-8000-000000000000";
    for (query, vars, vars_missing) in [
        (
            "query($o: ID!) { users(where: {orgId: $o}) { id } }",
            json!({ "o": client }),
            json!({ "o": missing }),
        ),
        (
            "query($o: ID!) { user(where: {orgId: $o}) { id } }",
            json!({ "o": client }),
            json!({ "o": missing }),
        ),
        (
            CREATE,
            json!({ "u": { "orgId": client, "username": "spy@globex.test", "roleIds": ["admin"] } }),
            json!({ "u": { "orgId": missing, "username": "spy@globex.test", "roleIds": ["admin"] } }),
        ),
        (
            ROLES,
            json!({ "id": tech_id, "r": ["read_only"] }),
            json!({ "id": missing, "r": ["read_only"] }),
        ),
        (DELETE, json!({ "id": tech_id }), json!({ "id": missing })),
        (
            "query($o: ID!) { permissionAuditLog(orgId: $o) { id } }",
            json!({ "o": client }),
            json!({ "o": missing }),
        ),
    ] {
        crate::helpers::assert_forbidden_as_missing(&app, &other_admin, query, vars, vars_missing)
            .await;
    }
    // Their own tree works, of course.
    let body = invite(&app, &other_admin, &other_msp, "tech@globex.test", "member").await;
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn staff_onboard_a_new_msp() {
    let app = spawn_app().await;
    let create = "mutation($n: String!, $e: String!) { createMspOrganization(name: $n, adminEmail: $e) { id name isMsp managingOrgId users { username roleIds sub isSuperuser } } }";
    let data = app
        .ok(
            &app.admin,
            create,
            json!({ "n": "Initech", "e": "ceo@initech.test" }),
        )
        .await;
    let msp = &data["createMspOrganization"];
    assert_eq!(msp["isMsp"], true);
    assert_eq!(msp["managingOrgId"], Value::Null);
    assert_eq!(
        msp["users"],
        json!([{ "username": "ceo@initech.test", "roleIds": ["admin"], "sub": null, "isSuperuser": false }])
    );

    assert_eq!(
        rule(
            &app.gql(
                &app.admin,
                create,
                json!({ "n": "INITECH", "e": "x@initech.test" })
            )
            .await
        ),
        ("name", "DUPLICATE_IN_DATABASE")
    );
    // A failed onboarding leaves nothing behind.
    let body = app
        .gql(
            &app.admin,
            create,
            json!({ "n": "Half Done", "e": "ceo@initech.test" }),
        )
        .await;
    assert_eq!(rule(&body), ("username", "DUPLICATE_IN_DATABASE"));
    let all = app
        .ok(
            &app.admin,
            "{ organizations(where: {name: \"Half Done\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(all["organizations"], json!([]));

    let (_, not_staff) = app.user(&app.msp_id, Role::Admin, false).await;
    assert_eq!(
        code(
            &app.gql(
                &not_staff,
                create,
                json!({ "n": "Rogue", "e": "r@rogue.test" })
            )
            .await
        ),
        "FORBIDDEN"
    );

    let msp_id = msp["id"].as_str().unwrap();
    let log = app
        .ok(
            &app.admin,
            "query($o: ID!) { permissionAuditLog(orgId: $o) { action } }",
            json!({ "o": msp_id }),
        )
        .await;
    let actions: Vec<&str> = log["permissionAuditLog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"msp.create") && actions.contains(&"user.create"),
        "{actions:?}"
    );
}

/// Signed-in actors are kept a few seconds (ORGHUB_ACTOR_CACHE_SECS), but a change of role,
/// a removal or a moved organization on this replica takes effect on the next request;
/// a change made past this replica (straight in the database) within the TTL.
#[tokio::test]
async fn role_changes_and_removals_take_effect_at_once_despite_the_actor_cache() {
    let app = spawn_app().await;
    let org = app.create_org(&app.admin, "Kept", &app.msp_id).await;
    let (id, token) = app.user(&app.msp_id, Role::Admin, false).await;
    let admin_only =
        "{ permissionAuditLog(orgId: \"ORG\", limit: 1) { id } }".replace("ORG", &app.msp_id);
    // Signed in and kept.
    app.ok(&token, &admin_only, json!({})).await;
    app.ok(&token, &admin_only, json!({})).await;

    app.ok(&app.admin, ROLES, json!({ "id": id, "r": ["read_only"] }))
        .await;
    let body = app.gql(&token, &admin_only, json!({})).await;
    assert_eq!(code(&body), "FORBIDDEN", "demoted at once: {body}");
    let me = app.ok(&token, "{ me { roleIds } }", json!({})).await;
    assert_eq!(me["me"]["roleIds"], json!(["read_only"]));

    app.ok(&app.admin, DELETE, json!({ "id": id })).await;
    let body = app.gql(&token, "{ me { id } }", json!({})).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "removed at once: {body}");

    // Changed behind the server's back: seen once the entry expires.
    let (id, token) = app.user(&org, Role::Admin, false).await;
    app.ok(&token, &admin_only.replace(&app.msp_id, &org), json!({}))
        .await;
    entity::user::Entity::update_many()
        .col_expr(
            entity::user::Column::Role,
            sea_orm::sea_query::Expr::value("read_only"),
        )
        .filter(entity::user::Column::Id.eq(id))
        .exec(&app.state.store.db)
        .await
        .unwrap();
    let ttl = std::time::Duration::from_secs(app.config.actor_cache_secs);
    tokio::time::sleep(ttl + std::time::Duration::from_millis(200)).await;
    let body = app
        .gql(&token, &admin_only.replace(&app.msp_id, &org), json!({}))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
}
