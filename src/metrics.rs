//! Prometheus metrics, kept in process (no extra dependency): HTTP requests by route and
//! status, GraphQL operations by name, ConnectWise calls by endpoint and outcome, and at
//! scrape time the job queue by kind and status. `GET /metrics` renders them.
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += secs;
    }
}

type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
pub struct Metrics {
    http: Mutex<BTreeMap<Labels, Histogram>>,
    graphql: Mutex<BTreeMap<Labels, Histogram>>,
    connectwise: Mutex<BTreeMap<Labels, Histogram>>,
}

static GLOBAL: OnceLock<Metrics> = OnceLock::new();

pub fn global() -> &'static Metrics {
    GLOBAL.get_or_init(Metrics::default)
}

fn record(map: &Mutex<BTreeMap<Labels, Histogram>>, labels: Labels, took: Duration) {
    map.lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(labels)
        .or_default()
        .observe(took.as_secs_f64());
}

/// A path with its ids replaced, so labels stay few (`service/tickets/:id/notes`).
pub fn route_of(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            let id = !seg.is_empty()
                && (seg.chars().all(|c| c.is_ascii_digit())
                    || (seg.len() >= 32 && seg.chars().all(|c| c.is_ascii_hexdigit() || c == '-')));
            if id { ":id" } else { seg }
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl Metrics {
    pub fn http(&self, method: &str, route: &str, status: u16, took: Duration) {
        record(
            &self.http,
            vec![
                ("method", method.to_owned()),
                ("route", route.to_owned()),
                ("status", status.to_string()),
            ],
            took,
        );
    }

    pub fn graphql(&self, operation: &str, errors: bool, took: Duration) {
        record(
            &self.graphql,
            vec![
                ("operation", operation.chars().take(64).collect()),
                ("outcome", if errors { "error" } else { "ok" }.to_owned()),
            ],
            took,
        );
    }

    pub fn connectwise(&self, method: &str, path: &str, outcome: &str, took: Duration) {
        // Only the part after `apis/3.0/`, with ids folded.
        let endpoint = path.split_once("apis/3.0/").map_or(path, |(_, rest)| rest);
        record(
            &self.connectwise,
            vec![
                ("method", method.to_owned()),
                ("endpoint", route_of(endpoint)),
                ("outcome", outcome.to_owned()),
            ],
            took,
        );
    }

    /// The Prometheus text format; `jobs` are `(kind, status, count)` read at scrape time.
    pub fn render(&self, jobs: &[(String, String, i64)]) -> String {
        let mut out = String::new();
        let family =
            |out: &mut String, name: &str, help: &str, map: &Mutex<BTreeMap<Labels, Histogram>>| {
                let _ = writeln!(out, "# HELP {name} {help}");
                let _ = writeln!(out, "# TYPE {name} histogram");
                let map = map.lock().unwrap_or_else(|e| e.into_inner());
                for (labels, h) in map.iter() {
                    let base: Vec<String> = labels
                        .iter()
                        .map(|(k, v)| {
                            format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
                        })
                        .collect();
                    for (i, b) in BUCKETS.iter().enumerate() {
                        let _ = writeln!(
                            out,
                            "{name}_bucket{{{},le=\"{b}\"}} {}",
                            base.join(","),
                            h.counts[i]
                        );
                    }
                    let _ = writeln!(
                        out,
                        "{name}_bucket{{{},le=\"+Inf\"}} {}",
                        base.join(","),
                        h.count
                    );
                    let _ = writeln!(out, "{name}_sum{{{}}} {}", base.join(","), h.sum);
                    let _ = writeln!(out, "{name}_count{{{}}} {}", base.join(","), h.count);
                }
            };
        family(
            &mut out,
            "orghub_http_request_duration_seconds",
            "HTTP requests by method, route and status.",
            &self.http,
        );
        family(
            &mut out,
            "orghub_graphql_operation_duration_seconds",
            "GraphQL operations by name and outcome.",
            &self.graphql,
        );
        family(
            &mut out,
            "orghub_connectwise_call_duration_seconds",
            "ConnectWise API calls by endpoint and outcome.",
            &self.connectwise,
        );
        let _ = writeln!(
            out,
            "# HELP orghub_jobs Background jobs by kind and status."
        );
        let _ = writeln!(out, "# TYPE orghub_jobs gauge");
        for (kind, status, n) in jobs {
            let _ = writeln!(
                out,
                "orghub_jobs{{kind=\"{kind}\",status=\"{status}\"}} {n}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_fold_ids_and_histograms_render() {
        assert_eq!(
            route_of("service/tickets/1001/notes"),
            "service/tickets/:id/notes"
        );
        assert_eq!(
            route_of("/api/embed/organizations/0193f1a2-7c4e-7d10-9a6b-2f5e8c1d4b01/tickets/5"),
            "/api/embed/organizations/:id/tickets/:id"
        );
        let m = Metrics::default();
        m.graphql("Me", false, Duration::from_millis(7));
        m.graphql("Me", false, Duration::from_millis(300));
        let text = m.render(&[("workflow".into(), "queued".into(), 2)]);
        assert!(text.contains("orghub_graphql_operation_duration_seconds_bucket{operation=\"Me\",outcome=\"ok\",le=\"0.01\"} 1"), "{text}");
        assert!(text.contains(
            "orghub_graphql_operation_duration_seconds_count{operation=\"Me\",outcome=\"ok\"} 2"
        ));
        assert!(text.contains("orghub_jobs{kind=\"workflow\",status=\"queued\"} 2"));
    }
}
