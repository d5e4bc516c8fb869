//! Input fuzzing without extra tools: for each target, inputs grown from valid seeds by
//! random mutation (bit flips, byte insertions and deletions, splices of grammar tokens) and
//! pure noise. The property: no panic; over HTTP, no 500.
//!
//! `cargo test --test fuzz` runs a quick round (a few thousand inputs per target);
//! `ORGHUB_FUZZ_SECS=30 cargo test --test fuzz` runs each target for 30 seconds (`.ci/run`
//! does so with a bounded time). A failing input is printed, to be added to the seeds.
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::time::{Duration, Instant};

use orghub::connectwise::{callbacks, conditions};
use orghub::domain::imports;
use orghub::workflows::{cron::Cron, offboarding::Params};

/// xorshift64*: deterministic for a seed, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, seed: &[u8], dictionary: &[&str]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(6) {
        match rng.below(6) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(v.len() + 1);
                v.insert(i, rng.next() as u8);
            }
            2 if !v.is_empty() => {
                let i = rng.below(v.len());
                let j = (i + 1 + rng.below(8)).min(v.len());
                v.drain(i..j);
            }
            3 => {
                let i = rng.below(v.len() + 1);
                let word = dictionary[rng.below(dictionary.len())].as_bytes();
                v.splice(i..i, word.iter().copied());
            }
            4 if !v.is_empty() => {
                // Repeat a slice: long and nested inputs.
                let i = rng.below(v.len());
                let j = (i + 1 + rng.below(16)).min(v.len());
                let part = v[i..j].to_vec();
                for _ in 0..rng.below(50) {
                    v.splice(i..i, part.iter().copied());
                }
            }
            _ => {
                let n = rng.below(32);
                v.extend((0..n).map(|_| rng.next() as u8));
            }
        }
    }
    v
}

/// Runs `check` on mutated inputs for the configured time (or `quick` inputs).
fn fuzz(name: &str, seeds: &[&str], dictionary: &[&str], quick: usize, check: impl Fn(&[u8])) {
    let budget = std::env::var("ORGHUB_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs);
    let started = Instant::now();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ name.len() as u64);
    let mut n = 0usize;
    loop {
        let done = match budget {
            Some(b) => started.elapsed() >= b,
            None => n >= quick,
        };
        if done {
            break;
        }
        let seed = seeds[rng.below(seeds.len())].as_bytes();
        let input = mutate(&mut rng, seed, dictionary);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&input)));
        assert!(
            outcome.is_ok(),
            "{name} panicked on {:?}",
            String::from_utf8_lossy(&input)
        );
        n += 1;
    }
    eprintln!(
        "{name}: {n} inputs in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn csv_parser() {
    fuzz(
        "csv",
        &[
            "organizationName,domain,orgSlug,isEnabled,tagNames\nAcme,acme.com,acme,true,\"a,b\"\n",
            "\u{feff}organizationName;domain\r\n\"Quoted \"\"name\"\"\",x.com\r\n",
            "organizationName,managingOrgId\nA,\nB,0193f1a2-7c4e-7d10-9a6b-2f5e8c1d4b01\n",
        ],
        &[
            ",",
            "\"",
            "\n",
            "\r\n",
            "organizationName",
            "isEnabled",
            "yes",
            "\u{feff}",
            "\u{0}",
            "é",
        ],
        3000,
        |b| {
            let _ = imports::parse_csv(b, 1000);
        },
    );
}

#[test]
fn conditions_parser() {
    fuzz(
        "conditions",
        &[
            "status/name = \"Active\" and (types/name = 'Client' or id in (1, 2))",
            "name like \"Contoso%\" and not deletedFlag = true",
            "lastUpdated > [2024-01-01T00:00:00Z] or name contains \"x\"",
        ],
        &[
            "(", ")", "and", "or", "not", "in", "like", "contains", "\"", "'", "[", "]", "=", "!=",
            ">=", "1.5", "/",
        ],
        5000,
        |b| {
            if let Ok(text) = std::str::from_utf8(b)
                && let Ok(c) = conditions::parse(text)
            {
                let _ = c.matches(&serde_json::json!({ "id": 1, "name": "Contoso", "status": { "name": "Active" } }));
            }
        },
    );
}

#[test]
fn callback_bodies_and_signatures() {
    fuzz(
        "callback",
        &[
            r#"{"MessageId":"m","FromUrl":"x","CompanyId":"acme","MemberId":"jdoe","Action":"added","Type":"ticket","ID":1001,"Entity":null,"Metadata":{"key_url":"https://na.myconnectwise.net/k"},"CallbackObjectRecId":1}"#,
        ],
        &[
            "\"",
            "{",
            "}",
            "null",
            "-1",
            "99999999999999999999",
            "\\u0000",
            "true",
            ",",
        ],
        5000,
        |b| {
            if let Ok(p) = serde_json::from_slice::<callbacks::CallbackPayload>(b) {
                let _ = callbacks::key_url_allowed(&p.metadata.key_url, "na.myconnectwise.net");
            }
            let sig = String::from_utf8_lossy(b);
            let _ = callbacks::verify(b, &sig, "key");
        },
    );
}

#[test]
fn graphql_limits_cron_and_workflow_inputs() {
    let limits = orghub::graphql::limits::QueryLimits::default();
    fuzz(
        "graphql-limits",
        &[
            "query Q($a: Int = 1) { organizations(limit: $a) { id tags { name } ...F } } fragment F on Organization { name }",
            "{ a: me { id } b: __typename \"\"\"doc\"\"\" }",
        ],
        &[
            "{",
            "}",
            "...",
            "F",
            "a:",
            "\"\"\"",
            "#",
            "$",
            "(",
            ")",
            "@skip(if: true)",
        ],
        3000,
        |b| {
            if let Ok(q) = std::str::from_utf8(b) {
                let _ = orghub::graphql::limits::check(q, &limits);
            }
        },
    );
    fuzz(
        "cron",
        &["*/15 2-4 1,15 * 1-5", "0 0 29 2 *"],
        &["*", "/", "-", ",", " ", "0", "59", "99999999999"],
        3000,
        |b| {
            if let Ok(text) = std::str::from_utf8(b)
                && let Ok(c) = Cron::parse(text)
            {
                let _ = c.next_after(chrono::Utc::now());
            }
        },
    );
    fuzz(
        "offboarding-input",
        &[r#"{"client_id":"10","offboarded_statuses":["Inactive"],"dry_run":true,"reason":"x"}"#],
        &["\"", "[", "]", "null", "-", "1e999", "{", "}"],
        3000,
        |b| {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(b) {
                let _ = Params::parse(&v, true);
            }
        },
    );
}

/// Over HTTP: the pod's sign-in (the hosted-API member payload) and a callback URL never
/// answer 500.
#[tokio::test]
async fn hosted_api_member_payloads_over_http() {
    let app = helpers::spawn_app().await;
    let budget = std::env::var("ORGHUB_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs);
    let seeds = [
        format!(
            r#"{{"orgId":"{}","ticketId":1001,"auth":{{"site":"x","companyid":"acme","memberid":"jdoe","memberHash":"h","memberContext":"c","memberEmail":"j@x"}}}}"#,
            app.msp_id
        ),
        r#"{"orgId":"nope","auth":{}}"#.to_owned(),
    ];
    let dictionary = [
        "\"",
        "{",
        "}",
        "null",
        "[]",
        "memberid",
        "\\u0000",
        "0193f1a2-7c4e-7d10-9a6b-2f5e8c1d4b01",
    ];
    let mut rng = Rng(42);
    let started = Instant::now();
    let mut n = 0;
    while budget.map_or(n < 300, |b| started.elapsed() < b) {
        let seed = &seeds[rng.below(seeds.len())];
        let body = mutate(&mut rng, seed.as_bytes(), &dictionary);
        let res = app
            .client
            .post(app.url("/api/embed/session"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("an answer");
        assert!(
            res.status().as_u16() < 500,
            "{} on {:?}",
            res.status(),
            String::from_utf8_lossy(&body)
        );
        n += 1;
    }
    eprintln!("member payloads: {n} requests");
}
