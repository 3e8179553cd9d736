//! `k8s://NAMESPACE/svc|pod/NAME:PORT[/path][?context=CTX]`: an endpoint
//! reached through a Kubernetes port-forward (served by the kube feature).

/// What a forward points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Service,
    Pod,
}

/// A port by number or by name (a service port's or a container port's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRef {
    Number(u16),
    Name(String),
}

impl std::fmt::Display for PortRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortRef::Number(n) => write!(f, "{n}"),
            PortRef::Name(n) => f.write_str(n),
        }
    }
}

/// `k8s://NAMESPACE/svc/NAME:PORT[/path][?context=CTX]`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardTarget {
    pub namespace: String,
    pub kind: Kind,
    pub name: String,
    pub port: PortRef,
    /// None: `--context`, else the kubeconfig's current one.
    pub context: Option<String>,
    /// A path prefix kept for the HTTP client (`/prometheus`).
    pub path: String,
}

impl std::fmt::Display for ForwardTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            Kind::Service => "svc",
            Kind::Pod => "pod",
        };
        write!(f, "{}/{kind}/{}:{}", self.namespace, self.name, self.port)
    }
}

pub const SCHEME: &str = "k8s://";

/// A DNS-1123 label or subdomain (what namespaces, services and pods are named).
fn dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !s.starts_with(['-', '.'])
        && !s.ends_with(['-', '.'])
}

/// Parses `k8s://NAMESPACE/svc|service|pod/NAME:PORT[/path][?context=CTX]`;
/// the error says which part is wrong.
pub fn parse(url: &str) -> Result<ForwardTarget, String> {
    let rest = url
        .strip_prefix(SCHEME)
        .ok_or_else(|| format!("must start with {SCHEME}"))?;
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let mut context = None;
    for kv in query.into_iter().flat_map(|q| q.split('&')) {
        match kv.split_once('=') {
            Some(("context", v)) if !v.is_empty() => context = Some(v.to_string()),
            _ => {
                return Err(format!(
                    "unknown parameter `{kv}` (only ?context=NAME is understood)"
                ))
            }
        }
    }
    let shape = "expected k8s://NAMESPACE/svc/NAME:PORT or k8s://NAMESPACE/pod/NAME:PORT";
    let mut parts = rest.splitn(4, '/');
    let (Some(ns), Some(kind), Some(name_port)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(shape.into());
    };
    let path = parts
        .next()
        .map(|p| format!("/{}", p.trim_end_matches('/')))
        .unwrap_or_default();
    let kind = match kind {
        "svc" | "service" | "services" => Kind::Service,
        "pod" | "pods" => Kind::Pod,
        other => return Err(format!("`{other}`: {shape}")),
    };
    let (name, port) = name_port
        .split_once(':')
        .ok_or_else(|| format!("no port: {shape}"))?;
    for (what, v) in [("namespace", ns), ("name", name)] {
        if !dns_name(v) {
            return Err(format!("{what} `{v}` is not a Kubernetes name"));
        }
    }
    let port = match port.parse::<u16>() {
        Ok(0) => return Err("port 0".into()),
        Ok(n) => PortRef::Number(n),
        // an IANA service name: up to 15 characters, at least one letter
        Err(_)
            if dns_name(port)
                && port.len() <= 15
                && port.bytes().any(|b| b.is_ascii_lowercase()) =>
        {
            PortRef::Name(port.to_string())
        }
        Err(_) => return Err(format!("port `{port}` is neither a number nor a port name")),
    };
    Ok(ForwardTarget {
        namespace: ns.to_string(),
        kind,
        name: name.to_string(),
        port,
        context,
        path: if path == "/" { String::new() } else { path },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_bad_ones_say_why() {
        let t = parse("k8s://monitoring/svc/prometheus:9090").unwrap();
        assert_eq!(
            (t.namespace.as_str(), &t.kind, t.name.as_str(), &t.port),
            (
                "monitoring",
                &Kind::Service,
                "prometheus",
                &PortRef::Number(9090)
            )
        );
        assert_eq!(t.context, None);
        let t = parse("k8s://obs/pod/loki-0:http-metrics/loki?context=prod").unwrap();
        assert_eq!(t.kind, Kind::Pod);
        assert_eq!(t.port, PortRef::Name("http-metrics".into()));
        assert_eq!(t.path, "/loki");
        assert_eq!(t.context.as_deref(), Some("prod"));
        for (bad, says) in [
            ("k8s://monitoring/svc/prometheus", "no port"),
            ("k8s://monitoring/deploy/prometheus:9090", "deploy"),
            ("k8s://Monitoring/svc/prometheus:9090", "namespace"),
            ("k8s://monitoring/svc/prometheus:0", "port 0"),
            ("k8s://monitoring/svc/prometheus:99999", "port `99999`"),
            (
                "k8s://monitoring/svc/prometheus:9090?ctx=a",
                "unknown parameter",
            ),
            ("k8s://monitoring", "expected"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
