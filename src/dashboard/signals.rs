//! What a signal needs: the metric names an expression selects, and the
//! collector that provides each, so an empty row can say why it is empty.

/// Metric names an expression selects: identifiers written as `name{`, and
/// name patterns written as `{__name__=~".+_suffix"}` or `"prefix_.+"` (for
/// conventions whose names carry the application, such as PromEx's
/// `<app>_prom_ex_beam_*`). See [`name_matches`] for the patterns understood.
pub fn metric_names(expr: &str) -> Vec<String> {
    let b = expr.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut push = |n: &str| {
        if !out.iter().any(|x| x == n) {
            out.push(n.to_string());
        }
    };
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_alphabetic() || c == b'_' || c == b':' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
                i += 1;
            }
            // inside a quoted string? count quotes before: an even number means outside
            let quotes = b[..start].iter().filter(|&&q| q == b'"').count();
            if quotes % 2 != 0 {
                continue;
            }
            let name = &expr[start..i];
            if b.get(i) == Some(&b'{') {
                push(name);
            } else if name == "__name__" && expr[i..].starts_with("=~\"") {
                let rest = &expr[i + 3..];
                if let Some(end) = rest.find('"') {
                    if is_pattern(&rest[..end]) {
                        push(&rest[..end]);
                    }
                    i += 3 + end + 1;
                }
            }
        } else {
            i += 1;
        }
    }
    out
}

/// A name pattern this module understands: `.+suffix` or `prefix.+`, the
/// fixed part a plain metric-name fragment.
pub fn is_pattern(p: &str) -> bool {
    let fixed = p
        .strip_prefix(".+")
        .or_else(|| p.strip_suffix(".+"))
        .unwrap_or("");
    !fixed.is_empty()
        && fixed
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

/// Whether `name` is `pattern`: equal, or for `.+suffix` / `prefix.+`
/// (anchored, like PromQL's `=~`) a longer name with that end or start.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    if let Some(suffix) = pattern.strip_prefix(".+").filter(|_| is_pattern(pattern)) {
        return name.len() > suffix.len() && name.ends_with(suffix);
    }
    if let Some(prefix) = pattern.strip_suffix(".+").filter(|_| is_pattern(pattern)) {
        return name.len() > prefix.len() && name.starts_with(prefix);
    }
    pattern == name
}

/// A name or pattern as people write it: `.+_prom_ex_beam_x` → `<app>_prom_ex_beam_x`.
pub fn display_name(n: &str) -> String {
    if !is_pattern(n) {
        return n.to_string();
    }
    match n.strip_prefix(".+") {
        Some(s) => format!("<app>{s}"),
        None => format!("{}*", n.trim_end_matches(".+")),
    }
}

/// Who exposes a metric, by its name's convention.
pub fn collector(metric: &str) -> &'static str {
    // conventions recognised anywhere in the name (service prefixes vary)
    const BY_PART: [(&str, &str); 4] = [
        ("_prom_ex_beam_", "PromEx"),
        ("http_server_requests_seconds", "Micrometer"),
        ("http_server_request_duration_seconds", "OpenTelemetry"),
        ("http_server_duration_milliseconds", "OpenTelemetry"),
    ];
    const BY_PREFIX: [(&str, &str); 11] = [
        ("container_", "cAdvisor"),
        ("kube_", "kube-state-metrics"),
        ("node_", "node_exporter"),
        ("erlang_vm_", "prometheus.erl"),
        ("vm_", "telemetry_poller"),
        ("go_sql_", "the go_sql collector"),
        ("go_", "client_golang"),
        ("process_", "the process collector"),
        ("coderd_", "coderd"),
        ("grpc_", "go-grpc-prometheus"),
        ("http_", "HTTP instrumentation"),
    ];
    if let Some((_, c)) = BY_PART.iter().find(|(p, _)| metric.contains(p)) {
        return c;
    }
    if metric.starts_with(".+") {
        return "its exporter";
    }
    BY_PREFIX
        .iter()
        .find(|(p, _)| metric.starts_with(p))
        .map(|(_, c)| *c)
        .unwrap_or("its exporter")
}

/// "needs container_memory_working_set_bytes (cAdvisor)" for an expression,
/// or None when it names no metric plainly.
pub fn needs(expr: &str) -> Option<String> {
    let m = metric_names(expr);
    let first = m.first()?;
    Some(format!(
        "needs {} ({})",
        display_name(first),
        collector(first)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_selected_metrics_not_label_values() {
        let e = r#"clamp_min(max by (pod) (container_memory_working_set_bytes{pod=~"x{y", image!=""}) - on (pod) sum by (pod) (erlang_vm_memory_bytes_total{job="a"}), 0)"#;
        assert_eq!(
            metric_names(e),
            vec![
                "container_memory_working_set_bytes",
                "erlang_vm_memory_bytes_total"
            ]
        );
        assert_eq!(
            collector("kube_pod_container_status_restarts_total"),
            "kube-state-metrics"
        );
        assert_eq!(
            collector("go_sql_in_use_connections"),
            "the go_sql collector"
        );
        assert_eq!(
            needs("sum(rate(vm_total_run_queue_lengths_total{a=\"b\"}[1m]))").unwrap(),
            "needs vm_total_run_queue_lengths_total (telemetry_poller)"
        );
        assert_eq!(needs(r#"{__name__=~"a|b"}"#), None);
        assert_eq!(
            needs(r#"max({__name__=~".+_prom_ex_beam_memory_allocated_bytes", job=~"a"})"#)
                .unwrap(),
            "needs <app>_prom_ex_beam_memory_allocated_bytes (PromEx)"
        );
    }

    #[test]
    fn name_patterns_are_anchored_like_promql() {
        let e = r#"sum(rate({__name__=~".+_http_requests_total", code=~"5.."}[1m])) + count({__name__=~"coderd_workspace_.+", a="__name__=~\"x.+\""})"#;
        assert_eq!(
            metric_names(e),
            vec![".+_http_requests_total", "coderd_workspace_.+"]
        );
        assert!(name_matches(
            ".+_http_requests_total",
            "prometheus_http_requests_total"
        ));
        assert!(!name_matches(
            ".+_http_requests_total",
            "http_requests_total"
        ));
        assert!(!name_matches(
            ".+_http_requests_total",
            "x_http_requests_total_2"
        ));
        assert!(name_matches(
            "coderd_workspace_.+",
            "coderd_workspace_builds_total"
        ));
        assert!(!name_matches("coderd_workspace_.+", "coderd_workspace_"));
        assert!(name_matches("go_goroutines", "go_goroutines"));
        assert!(!name_matches("go_.*", "go_goroutines"), "only .+ patterns");
        assert_eq!(display_name("coderd_workspace_.+"), "coderd_workspace_*");
        assert_eq!(collector("myapp_prom_ex_beam_stats_port_count"), "PromEx");
        assert_eq!(
            collector("http_server_requests_seconds_bucket"),
            "Micrometer"
        );
    }
}
