//! `orghub demo`: started in-process on a free port, every printed URL answers and every
//! printed example query runs; stopping removes the temporary data.
use serde_json::json;

#[tokio::test]
async fn the_demo_answers_every_url_it_prints() {
    let demo = orghub::demo::start(None, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("the demo starts");
    let http = orghub::http_client().unwrap();
    let dir = demo.dir.clone();
    assert!(dir.join("orghub.db").exists());
    let banner = demo.banner();
    for url in [&demo.graphiql, &demo.ticket_page] {
        assert!(banner.contains(url.as_str()));
        let res = http.get(url).send().await.unwrap();
        assert_eq!(res.status(), 200, "{url}");
    }
    let page = http
        .get(&demo.ticket_page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let pod = demo.ticket_page.split("pod=").nth(1).unwrap();
    assert!(page.contains(pod));
    let pod_page = http.get(pod).send().await.unwrap();
    assert_eq!(pod_page.status(), 200);
    let click = http
        .get(format!("{}&ticketId=1002", demo.live_link))
        .send()
        .await
        .unwrap();
    assert_eq!(click.status(), 200);
    for (what, query) in demo.examples() {
        assert!(banner.contains(&query), "{what}");
        let body: serde_json::Value = http
            .post(&demo.graphiql)
            .bearer_auth(&demo.token)
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(body.get("errors").is_none(), "{what}: {body}");
        assert!(
            !body["data"].to_string().contains("\"[]\""),
            "{what}: {body}"
        );
    }
    // The seeded tree: imported customers, tagged, with cascading variables.
    let orgs: serde_json::Value = http
        .post(&demo.graphiql)
        .bearer_auth(&demo.token)
        .json(&json!({ "query": "{ organizations(limit: 50) { name tags { name } variables { name } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = orgs["data"]["organizations"].as_array().unwrap();
    assert!(list.len() >= 12, "{orgs}");
    assert!(list.iter().any(|o| o["tags"].to_string().contains("VIP")));
    assert!(
        list.iter()
            .any(|o| o["variables"].to_string().contains("support_email"))
    );
    demo.stop().await;
    assert!(!dir.exists(), "the temporary data is removed");
}
