//! Which preset fits the metric names a Prometheus exposes.

use super::model::Dashboard;

/// Scores each preset by how many of its `detect` names are present and picks
/// the best; ties go to the earlier preset. None when nothing matches.
pub fn detect<'a>(presets: &'a [Dashboard], metric_names: &[String]) -> Option<&'a Dashboard> {
    let names: std::collections::HashSet<&str> = metric_names.iter().map(String::as_str).collect();
    let mut best: Option<(&Dashboard, usize)> = None;
    for d in presets {
        let score = d
            .detect
            .iter()
            .filter(|m| names.contains(m.as_str()))
            .count();
        if score > 0 && best.is_none_or(|(_, s)| score > s) {
            best = Some((d, score));
        }
    }
    best.map(|(d, _)| d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn picks_beam_go_http_or_none() {
        let p = Dashboard::builtins();
        let beam = names(&[
            "up",
            "vm_memory_total_bytes",
            "vm_memory_binary_bytes",
            "http_requests_total",
        ]);
        assert_eq!(detect(&p, &beam).unwrap().name, "beam");
        let go = names(&[
            "go_goroutines",
            "go_memstats_heap_inuse_bytes",
            "coderd_api_concurrent_requests",
        ]);
        assert_eq!(detect(&p, &go).unwrap().name, "go");
        let http = names(&["http_requests_total", "node_cpu_seconds_total"]);
        assert_eq!(detect(&p, &http).unwrap().name, "http");
        assert!(detect(&p, &names(&["up"])).is_none());
    }
}
