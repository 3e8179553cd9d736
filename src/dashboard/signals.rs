//! What a signal needs: the metric names an expression selects, and the
//! collector that provides each, so an empty row can say why it is empty.

/// Metric names an expression selects (identifiers written as `name{`).
pub fn metric_names(expr: &str) -> Vec<String> {
    let b = expr.as_bytes();
    let mut out: Vec<String> = Vec::new();
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
            if b.get(i) == Some(&b'{') && quotes % 2 == 0 {
                let name = &expr[start..i];
                if !out.iter().any(|n| n == name) {
                    out.push(name.to_string());
                }
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Who exposes a metric, by its name's convention.
pub fn collector(metric: &str) -> &'static str {
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
    Some(format!("needs {first} ({})", collector(first)))
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
        assert_eq!(needs(r#"{__name__=~".+_x"}"#), None);
    }
}
