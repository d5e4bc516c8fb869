//! The pod over HTTP (the browser tests drive the page itself): the page's headers, the
//! member sign-in verified with ConnectWise, sessions by cookie and by token, what the pod
//! shows, answering and restarting, the event stream, and the refusals.
use std::time::Duration;

use serde_json::{Value, json};

use crate::toolbox::{Setup, cw, setup};

fn page_url(s: &Setup, org: &str, ticket: i64) -> String {
    s.app.url(&format!(
        "/organizations/{org}/integrations/embed/ticket/{ticket}"
    ))
}

/// Signs `member` in as the pod page would; returns the HTTP status, body and cookie.
async fn sign_in(
    s: &Setup,
    org: &str,
    member: &str,
    forge_hash: bool,
) -> (u16, Value, Option<String>) {
    let (hash, context) = s.sim.sign_in_member(member);
    let hash = if forge_hash {
        "h-forged".to_owned()
    } else {
        hash
    };
    let res = s
        .app
        .client
        .post(s.app.url("/api/embed/session"))
        .json(&json!({ "orgId": org, "ticketId": 1001, "auth": {
            "site": "x", "companyid": "acme", "memberid": member, "memberHash": hash,
            "memberContext": context, "memberEmail": "jane@msp.example" } }))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("orghub_pod="));
    (status, res.json().await.unwrap_or(Value::Null), cookie)
}

fn api(s: &Setup, org: &str, path: &str) -> String {
    s.app.url(&format!("/api/embed/organizations/{org}{path}"))
}

async fn get_state(
    s: &Setup,
    org: &str,
    token: Option<&str>,
    cookie: Option<&str>,
) -> (u16, Value) {
    let mut req = s.app.client.get(api(s, org, "/tickets/1001"));
    if let Some(t) = token {
        req = req.header("x-pod-token", t);
    }
    if let Some(c) = cookie {
        req = req.header("cookie", c).header("x-orghub-pod", "1");
    }
    let res = req.send().await.unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

/// Polls the pod state until `ready` holds (at most 20 s).
async fn until(s: &Setup, org: &str, token: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..400 {
        let (_, v) = get_state(s, org, Some(token), None).await;
        if ready(&v) {
            return v;
        }
        last = v;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the pod never got there: {last}");
}

#[tokio::test]
async fn the_pod_signs_in_through_connectwise_and_works_the_ticket() {
    let s = setup(&[1]).await;
    let msp = s.app.msp_id.clone();
    let origin = format!("http://{}", s.sim.host());

    // The page: framed only by ConnectWise's origin.
    let res = s
        .app
        .client
        .get(page_url(&s, &msp, 1001))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        res.headers()["content-security-policy"],
        format!("frame-ancestors {origin}").as_str()
    );
    assert!(res.headers().get("x-frame-options").is_none());
    let html = res.text().await.unwrap();
    assert!(
        html.contains(&format!("\"cwOrigin\":\"{origin}\"")),
        "{html}"
    );
    assert!(html.contains("getMemberAuthentication"));
    // An org without ConnectWise: a clear page, framed by nobody.
    let (other, _) = s.app.other_msp("Elsewhere").await;
    let res = s
        .app
        .client
        .get(page_url(&s, &other, 1001))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    assert_eq!(
        res.headers()["content-security-policy"],
        "frame-ancestors 'none'"
    );

    // A forged member hash is refused by ConnectWise, and so by us.
    let (status, body, cookie) = sign_in(&s, &msp, "jdoe", true).await;
    assert_eq!(status, 401, "{body}");
    assert!(cookie.is_none());
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ConnectWise did not confirm")
    );
    // Claiming to be another member with Jane's session is refused too.
    let (hash, context) = s.sim.sign_in_member("jdoe");
    let res = s
        .app
        .client
        .post(s.app.url("/api/embed/session"))
        .json(&json!({ "orgId": msp, "auth": { "memberid": "bsmith", "memberHash": hash, "memberContext": context } }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);

    // Jane signs in: a partitioned cookie and a token.
    let (status, body, cookie) = sign_in(&s, &msp, "jdoe", false).await;
    assert_eq!(status, 200, "{body}");
    let cookie = cookie.expect("a session cookie");
    for attr in ["HttpOnly", "Secure", "SameSite=None", "Partitioned"] {
        assert!(cookie.contains(attr), "{attr} in {cookie}");
    }
    let token = body["token"].as_str().unwrap().to_owned();
    let cookie_pair = cookie.split(';').next().unwrap().to_owned();

    // No run yet; the state says so by token and by cookie alike.
    let (status, by_token) = get_state(&s, &msp, Some(&token), None).await;
    assert_eq!(status, 200, "{by_token}");
    assert_eq!(by_token["state"], "no_run");
    assert_eq!(by_token["canRestart"], true);
    assert_eq!(by_token["member"], "jdoe");
    let (status, by_cookie) = get_state(&s, &msp, None, Some(&cookie_pair)).await;
    assert_eq!((status, by_cookie["state"].clone()), (200, json!("no_run")));

    // Refusals: cookie without the pod header, a forged session, a tampered or foreign token.
    let res = s
        .app
        .client
        .get(api(&s, &msp, "/tickets/1001"))
        .header("cookie", &cookie_pair)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status().as_u16(),
        403,
        "a cookie alone could be a cross-site request"
    );
    let (status, _) = get_state(&s, &msp, None, Some("orghub_pod=AAAAAAAAAAAAAAAAAAAAAA")).await;
    assert_eq!(status, 401);
    let mut parts: Vec<&str> = token.split('.').collect();
    let later = (parts[1].parse::<i64>().unwrap() + 3600).to_string();
    parts[1] = &later;
    let (status, _) = get_state(&s, &msp, Some(&parts.join(".")), None).await;
    assert_eq!(status, 401, "a token whose expiry was pushed");
    let (status, _) = get_state(&s, &s.client_org, Some(&token), None).await;
    assert_eq!(
        status, 403,
        "the token is for the MSP's pod, not the client's"
    );

    // Start the Toolbox from the pod; the run shows up with its buttons.
    let res = s
        .app
        .client
        .post(api(&s, &msp, "/tickets/1001/restart"))
        .header("x-pod-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let v = until(&s, &msp, &token, |v| v["state"] == "waiting").await;
    assert_eq!(
        v["run"]["output"]["overview"]["organization"]["name"],
        "Client A"
    );
    assert_eq!(v["canRestart"], false);
    assert_eq!(v["integration"]["name"], "Main CW");
    let menu = v["run"]["tasks"][0].clone();

    // The event stream delivers the state, and again when the run moves on.
    let mut events = s
        .app
        .client
        .get(api(&s, &msp, "/tickets/1001/events"))
        .header("x-pod-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status().as_u16(), 200);
    let first = String::from_utf8(events.chunk().await.unwrap().unwrap().to_vec()).unwrap();
    assert!(
        first.starts_with("event: state") && first.contains("\"waiting\""),
        "{first}"
    );

    // Add a note through the pod.
    let answer = |task: Value, values: Value| {
        let req = s
            .app
            .client
            .post(api(
                &s,
                &msp,
                &format!("/tasks/{}", task["id"].as_str().unwrap()),
            ))
            .header("x-pod-token", &token)
            .json(&json!({ "values": values }));
        async move { req.send().await.unwrap() }
    };
    assert_eq!(
        answer(menu.clone(), json!({ "value": "add_note" }))
            .await
            .status()
            .as_u16(),
        200
    );
    let moved = tokio::time::timeout(Duration::from_secs(10), events.chunk())
        .await
        .expect("an event within the time")
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&moved).contains("event: state"));
    let v = until(&s, &msp, &token, |v| {
        v["run"]["tasks"][0]["kind"] == "prompt"
    })
    .await;
    let prompt = v["run"]["tasks"][0].clone();
    let bad = answer(prompt.clone(), json!({ "text": "" })).await;
    assert_eq!(bad.status().as_u16(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"]["validationErrors"][0]["field"], "values.text");
    assert_eq!(
        answer(prompt, json!({ "text": "Checked from the pod" }))
            .await
            .status()
            .as_u16(),
        200
    );
    until(&s, &msp, &token, |v| {
        v["run"]["output"]["notice"]["text"] == "Note added to ticket #1001"
    })
    .await;
    let notes = cw(&s.sim).ticket_notes(1001).await.unwrap();
    assert!(notes.iter().any(|n| n["text"] == "Checked from the pod"));

    // Logging out deletes the session: the cookie stops working, and so does the token.
    let res = s
        .app
        .client
        .post(s.app.url("/api/embed/logout"))
        .header("cookie", &cookie_pair)
        .send()
        .await
        .unwrap();
    let deletion = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("orghub_pod="))
        .expect("a deletion cookie");
    assert!(
        deletion.contains("Partitioned") && deletion.contains("SameSite=None"),
        "{deletion}"
    );
    let (status, _) = get_state(&s, &msp, None, Some(&cookie_pair)).await;
    assert_eq!(status, 401);
    let (status, _) = get_state(&s, &msp, Some(&token), None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_simulated_connectwise_screen_frames_the_pod() {
    let s = setup(&[1]).await;
    let pod = page_url(&s, &s.app.msp_id, 1001);
    let screen = format!("http://{}/cw/ticket/1001?pod={}", s.sim.host(), pod);
    let res = s.app.client.get(&screen).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let html = res.text().await.unwrap();
    assert!(
        html.contains(&pod) && html.contains("getmemberauthentication"),
        "{html}"
    );
}
