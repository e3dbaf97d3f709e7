//! Prometheus metrics kept in-process and rendered in the text exposition format. Small enough that a
//! metrics crate would cost more to build than it saves.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// One route's counts: by method and status (a handful each), and its latency.
#[derive(Default)]
struct RouteStats {
    requests: BTreeMap<(String, u16), u64>,
    latency: Histogram,
}

#[derive(Default)]
pub struct Metrics {
    /// By matched route: one lock and one look-up per request, and nothing allocated once a route,
    /// method and status have been seen.
    routes: Mutex<BTreeMap<String, RouteStats>>,
    orders: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let Ok(mut routes) = self.routes.lock() else { return };
        if !routes.contains_key(route) {
            routes.insert(route.to_owned(), RouteStats::default());
        }
        let Some(stats) = routes.get_mut(route) else { return };
        match stats.requests.iter_mut().find(|((m, s), _)| m == method && *s == status) {
            Some((_, n)) => *n += 1,
            None => {
                stats.requests.insert((method.to_owned(), status), 1);
            }
        }
        let h = &mut stats.latency;
        let secs = elapsed.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    /// Orders by what intake did with them: created, duplicate, invalid, or imported.
    pub fn order_outcome(&self, outcome: &'static str, n: u64) {
        if let Ok(mut o) = self.orders.lock() {
            *o.entry(outcome).or_default() += n;
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP codflow_http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE codflow_http_requests_total counter\n");
        let routes = self.routes.lock().ok();
        for (route, stats) in routes.iter().flat_map(|r| r.iter()) {
            for ((m, s), n) in &stats.requests {
                let _ =
                    writeln!(out, "codflow_http_requests_total{{method=\"{m}\",route=\"{route}\",status=\"{s}\"}} {n}");
            }
        }
        out.push_str("# HELP codflow_http_request_duration_seconds Request latency by route.\n");
        out.push_str("# TYPE codflow_http_request_duration_seconds histogram\n");
        for (route, stats) in routes.iter().flat_map(|r| r.iter()) {
            let h = &stats.latency;
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "codflow_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "codflow_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "codflow_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", h.sum);
            let _ = writeln!(out, "codflow_http_request_duration_seconds_count{{route=\"{route}\"}} {}", h.count);
        }
        drop(routes);
        out.push_str("# HELP codflow_orders_total Orders received, by intake outcome.\n");
        out.push_str("# TYPE codflow_orders_total counter\n");
        if let Ok(o) = self.orders.lock() {
            for (outcome, n) in o.iter() {
                let _ = writeln!(out, "codflow_orders_total{{outcome=\"{outcome}\"}} {n}");
            }
        }
        out
    }
}
