//! Every GraphQL example of `docs/` runs against the demo's data (`{msp}` and `{config}`
//! replaced by its ids) without error, except those the text says are refused.
use serde_json::{Value, json};

#[tokio::test]
async fn every_example_in_the_docs_runs() {
    let demo = orghub::demo::start(None, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("the demo starts");
    let http = orghub::http_client().unwrap();
    let ask = |q: String| {
        let http = &http;
        let demo = &demo;
        async move {
            http.post(&demo.graphiql)
                .bearer_auth(&demo.token)
                .json(&json!({ "query": q }))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let config = ask(format!(
        "{{ packConfigsForOrg(orgId: \"{}\", packIds: [\"connectwise-psa\"]) {{ id }} }}",
        demo.msp_id
    ))
    .await["data"]["packConfigsForOrg"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut ran = 0;
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/docs")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut blocks = text.split("```graphql\n").skip(1);
        for block in blocks.by_ref() {
            let query = block.split("```").next().unwrap().trim();
            let query = query
                .replace("{msp}", &demo.msp_id)
                .replace("{config}", &config);
            let body = ask(query.clone()).await;
            if query.contains("name: \"  \"") {
                assert_eq!(
                    body["errors"][0]["extensions"]["validationCode"], "REQUIRED_FIELD",
                    "{query}: {body}"
                );
            } else {
                assert!(
                    body.get("errors").is_none(),
                    "{}: {query}: {body}",
                    path.display()
                );
            }
            ran += 1;
        }
    }
    assert!(ran >= 10, "only {ran} examples found");
    demo.stop().await;
}
