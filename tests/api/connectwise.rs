//! The ConnectWise client against the in-repo simulator, over real HTTP on loopback.
use std::time::Duration;

use orghub::connectwise::client::{Credentials, CwClient, CwError};
use orghub::connectwise::simulator::{Faults, SimCredentials, Simulator};

fn creds(sim: &Simulator) -> Credentials {
    let c = &sim.credentials;
    Credentials {
        host: sim.host(),
        company_id: c.company_id.clone(),
        public_key: c.public_key.clone(),
        private_key: c.private_key.clone(),
        client_id: c.client_id.clone(),
    }
}

fn client(sim: &Simulator) -> CwClient {
    CwClient::new(orghub::http_client().unwrap(), creds(sim))
}

#[tokio::test]
async fn discovery_auth_and_pagination_past_1000() {
    let sim = Simulator::start(2_500, SimCredentials::default())
        .await
        .unwrap();
    let cw = client(&sim);
    assert!(
        cw.api_base()
            .await
            .unwrap()
            .ends_with("/v4_6_release/apis/3.0")
    );
    let info = cw.get("system/info", &[]).await.unwrap();
    assert!(info["version"].as_str().unwrap().starts_with("v2025"));

    let before = sim.requests();
    let all = cw.get_all("company/companies", None, 1000).await.unwrap();
    assert_eq!(all.len(), 2_500);
    assert_eq!(sim.requests() - before, 3, "three pages of at most 1000");
    let ids: std::collections::HashSet<i64> =
        all.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 2_500, "no company twice, none missed");

    let active = cw
        .get_all(
            "company/companies",
            Some("status/name = \"Active\" and types/name != 'Vendor'"),
            250,
        )
        .await
        .unwrap();
    let counted = cw
        .count(
            "company/companies",
            Some("status/name = \"Active\" and types/name != 'Vendor'"),
        )
        .await
        .unwrap();
    assert_eq!(active.len() as u64, counted);
    assert!(
        active
            .iter()
            .all(|c| c["status"]["name"] == "Active" && c["types"][0]["name"] != "Vendor")
    );
    assert!(counted > 1_000 && counted < 2_500);
    let one = cw.get("company/companies/250", &[]).await.unwrap();
    assert_eq!(one["id"], 250);
    assert!(matches!(
        cw.get("company/companies/999999", &[]).await,
        Err(CwError::NotFound(_))
    ));
}

#[tokio::test]
async fn errors_are_typed() {
    let sim = Simulator::start(10, SimCredentials::default())
        .await
        .unwrap();
    let mut wrong = creds(&sim);
    wrong.private_key = "nope".into();
    let cw = CwClient::new(orghub::http_client().unwrap(), wrong);
    assert!(matches!(
        cw.get("system/info", &[]).await,
        Err(CwError::Unauthorized(_))
    ));
    let mut no_client = creds(&sim);
    no_client.client_id = "other".into();
    let cw = CwClient::new(orghub::http_client().unwrap(), no_client);
    assert!(matches!(cw.get("system/info", &[]).await, Err(e) if e.is_access()));
    let mut bad_company = creds(&sim);
    bad_company.company_id = "elsewhere".into();
    let cw = CwClient::new(orghub::http_client().unwrap(), bad_company);
    assert!(matches!(cw.api_base().await, Err(CwError::NotFound(_))));

    let cw = client(&sim);
    match cw
        .get_all("company/companies", Some("name = \"unclosed"), 10)
        .await
    {
        Err(CwError::Rejected {
            status: 400,
            code,
            message,
            ..
        }) => {
            assert_eq!(code, "InvalidObject");
            assert!(message.contains("position"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    sim.set_faults(Faults {
        forbid_companies: true,
        ..Default::default()
    });
    assert!(matches!(cw.check().await, Err(CwError::Forbidden(_))));

    // Nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut gone = creds(&sim);
    gone.host = closed.to_string();
    assert!(matches!(
        CwClient::new(orghub::http_client().unwrap(), gone)
            .get("system/info", &[])
            .await,
        Err(CwError::Unreachable(_))
    ));
}

#[tokio::test]
async fn retries_honour_retry_after_then_give_up() {
    let sim = Simulator::start(10, SimCredentials::default())
        .await
        .unwrap();
    let cw = client(&sim);
    cw.api_base().await.unwrap();
    sim.set_faults(Faults {
        rate_limited: 2,
        ..Default::default()
    });
    let before = sim.requests();
    let started = std::time::Instant::now();
    cw.get("system/info", &[]).await.unwrap();
    assert_eq!(sim.requests() - before, 3, "two 429s, then success");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited as Retry-After asked"
    );

    sim.set_faults(Faults {
        server_errors: 10,
        ..Default::default()
    });
    let before = sim.requests();
    assert!(matches!(
        cw.get("system/info", &[]).await,
        Err(CwError::Server { status: 500, .. })
    ));
    assert_eq!(sim.requests() - before, 4, "one try and three retries");

    // A ConnectWise that does not answer in time.
    sim.set_faults(Faults {
        delay: Some(Duration::from_secs(2)),
        ..Default::default()
    });
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let slow = CwClient::new(http, creds(&sim));
    assert_eq!(
        slow.get("system/info", &[]).await.unwrap_err(),
        CwError::Timeout
    );
}

#[tokio::test]
async fn typed_calls_patch_and_notes() {
    let sim = Simulator::start(20, SimCredentials::default())
        .await
        .unwrap();
    let cw = client(&sim);
    let clients = cw.companies(Some("types/name = 'Client'")).await.unwrap();
    assert_eq!(clients.len(), 5);
    assert!(
        clients
            .iter()
            .all(|c| c.types.iter().any(|t| t.name.as_deref() == Some("Client")))
    );
    assert_eq!(cw.company_statuses().await.unwrap().len(), 3);
    assert_eq!(cw.company_types().await.unwrap().len(), 4);
    let statuses = cw.configuration_statuses().await.unwrap();
    assert_eq!(statuses[1].description, "Inactive");

    let configs = cw.configurations(Some("company/id = 3")).await.unwrap();
    assert_eq!(configs.len(), 2);
    let id = configs[0]["id"].as_i64().unwrap();
    let patched = cw.update_configuration(id, &serde_json::json!([{ "op": "replace", "path": "/status/id", "value": 2 }, { "op": "replace", "path": "activeFlag", "value": false }])).await.unwrap();
    assert_eq!(
        (
            patched["status"]["id"].as_i64(),
            patched["activeFlag"].as_bool()
        ),
        (Some(2), Some(false))
    );
    let again = cw
        .get(&format!("company/configurations/{id}"), &[])
        .await
        .unwrap();
    assert_eq!(again["status"]["id"], 2, "the change is kept");
    assert!(matches!(
        cw.update_configuration(id, &serde_json::json!([{ "op": "remove", "path": "name" }]))
            .await,
        Err(CwError::Rejected { status: 400, .. })
    ));

    let ticket = cw
        .tickets(Some("summary contains 'Onboarding'"))
        .await
        .unwrap()[0]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(cw.ticket(ticket).await.unwrap()["id"], ticket);
    let note = cw
        .add_ticket_note(ticket, "Offboarding started by orghub", true)
        .await
        .unwrap();
    assert_eq!(note["internalAnalysisFlag"], true);
    let notes = cw.ticket_notes(ticket).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["text"], "Offboarding started by orghub");
    assert!(matches!(
        cw.add_ticket_note(424242, "x", true).await,
        Err(CwError::NotFound(_))
    ));
}

#[tokio::test]
async fn callbacks_are_registered_signed_and_verified() {
    use axum::routing::post;
    use orghub::connectwise::callbacks::{CallbackPayload, fetch_signing_key, verify};
    use std::sync::{Arc, Mutex};

    // A receiver standing in for orghub's callback route.
    /// Each callback received: its raw body and its signature header.
    type Received = Arc<Mutex<Vec<(Vec<u8>, String)>>>;
    let got: Received = Arc::default();
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/cw",
        post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let sink = sink.clone();
                async move {
                    let sig = headers
                        .get("x-content-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    sink.lock().unwrap().push((body.to_vec(), sig));
                    axum::http::StatusCode::OK
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cw", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let sim = Simulator::start(5, SimCredentials::default())
        .await
        .unwrap();
    let cw = client(&sim);
    match cw.create_callback("", "ticket", "x").await {
        Err(CwError::Rejected { problems, .. }) => {
            assert_eq!(problems[0].field.as_deref(), Some("url"))
        }
        other => panic!("{other:?}"),
    }
    let cb = cw
        .create_callback(&url, "ticket", "orghub pods")
        .await
        .unwrap();
    assert_eq!(cw.callbacks().await.unwrap().len(), 1);

    let sent = sim.emit("ticket", "updated", 1001).await;
    assert_eq!(sent, vec![(url.clone(), 200)]);
    let (body, signature) = got.lock().unwrap()[0].clone();
    let payload: CallbackPayload = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (payload.action.as_str(), payload.kind.as_str(), payload.id),
        ("updated", "ticket", 1001)
    );
    let entity: serde_json::Value =
        serde_json::from_str(payload.entity.as_deref().unwrap()).unwrap();
    assert_eq!(entity["id"], 1001);
    let http = orghub::http_client().unwrap();
    let key = fetch_signing_key(&http, &payload.metadata.key_url, &sim.host())
        .await
        .unwrap();
    assert!(verify(&body, &signature, &key));
    let mut forged = body.clone();
    forged[10] ^= 1;
    assert!(!verify(&forged, &signature, &key));
    assert!(
        fetch_signing_key(&http, "http://127.0.0.1:1/key", &sim.host())
            .await
            .is_err(),
        "only the configured host"
    );

    cw.delete_callback(cb["id"].as_i64().unwrap())
        .await
        .unwrap();
    assert!(cw.callbacks().await.unwrap().is_empty());
    assert!(sim.emit("ticket", "updated", 1001).await.is_empty());
}

#[tokio::test]
async fn member_sessions_of_the_hosted_api() {
    let sim = Simulator::start(3, SimCredentials::default())
        .await
        .unwrap();
    let cw = client(&sim);
    let (hash, context) = sim.sign_in_member("jdoe");
    let me = cw.my_member_info("jdoe", &hash, &context).await.unwrap();
    assert_eq!(me["identifier"], "jdoe");
    assert!(matches!(
        cw.my_member_info("jdoe", &hash, "forged").await,
        Err(CwError::Unauthorized(_))
    ));
    assert!(matches!(
        cw.my_member_info("jdoe", "forged", &context).await,
        Err(CwError::Unauthorized(_))
    ));
}
