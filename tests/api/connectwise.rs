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
