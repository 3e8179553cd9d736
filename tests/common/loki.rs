//! A loopback fake Loki for integration tests (no Loki package exists here).
//!
//! It speaks Loki's HTTP API on one port: query_range, query, labels, label
//! values, series, index/volume, patterns (plain HTTP/1.1) and tail
//! (WebSocket). Shapes were checked against grafana/loki:
//! docs/sources/reference/loki-http-api.md, pkg/util/marshal/{marshal,query,
//! tail}.go and their tests (stream values, `encodingFlags`, the
//! categorize-labels 3-tuple, tail messages, `dropped_entries`),
//! pkg/loghttp/{params,query,tail,labels,series,patterns}.go (parameters,
//! defaults and their error texts), pkg/querier/http.go (max entries limit,
//! instant log queries), pkg/querier/tail/{http,tail,querier}.go (history:
//! the newest `limit` entries since `start`, sent oldest first; one stream
//! object per entry; 1 s pings; close 1011 "reached tail max duration limit"),
//! pkg/querier/queryrange/{volume,prometheus}.go (volume vector),
//! pkg/util/server/error.go (plain-text errors), dskit's http_auth.go
//! ("no org id" 401) and pkg/logql/syntax (see loki/logql.rs).
//!
//! Simplifications: entries are kept in memory and scanned; `interval` is
//! ignored; `detected_level` is derived at query time for `by
//! (detected_level)` and `| detected_level=...` but not stored as structured
//! metadata (real Loki 3 adds it at ingest when discover_log_levels is on);
//! every connection is closed after one answer.

mod api;
mod logql;
mod tail;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct LokiOptions {
    /// Some(t): requests need `X-Scope-OrgID` (else 401 "no org id\n"); another tenant sees no data.
    pub tenant: Option<String>,
    /// false: /loki/api/v1/tail answers `tail_refusal` (400 like a proxy that
    /// will not upgrade, 404 like a gateway that does not route it).
    pub websocket: bool,
    pub tail_refusal: u16,
    /// Every tail is closed (1011, as Loki) after this long.
    pub tail_max_duration: Option<Duration>,
    /// /loki/api/v1/index/volume exists (else 404, as an older Loki).
    pub volume: bool,
    /// /loki/api/v1/patterns exists (else 404).
    pub patterns: bool,
    /// max_entries_limit_per_query.
    pub max_entries_limit: usize,
    /// false: the tail sends an entry as soon as it is pushed, even one
    /// stamped ahead of the clock (a Loki-compatible server or a proxy that
    /// does not hold them as Loki's tailer does until their time).
    pub tail_holds_future: bool,
}

impl Default for LokiOptions {
    fn default() -> Self {
        LokiOptions {
            tenant: None,
            websocket: true,
            tail_refusal: 400,
            tail_max_duration: None,
            volume: true,
            patterns: true,
            max_entries_limit: 5000,
            tail_holds_future: true,
        }
    }
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct LokiRequest {
    pub method: String,
    pub path: String,
    /// Decoded query pairs (and form body pairs for POST), in order.
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
}

impl LokiRequest {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug)]
struct Entry {
    labels: BTreeMap<String, String>,
    ts: i64,
    line: String,
    meta: Vec<(String, String)>,
    seq: u64,
}

struct Store {
    entries: Vec<Arc<Entry>>,
    /// (timestamp, line, stream) of every entry, for the ingester's dedupe.
    keys: HashSet<(i64, String, BTreeMap<String, String>)>,
    drop_next: usize,
    tails: Vec<tail::Sub>,
    next_id: u64,
}

struct Shared {
    opts: LokiOptions,
    store: Mutex<Store>,
    requests: Mutex<Vec<LokiRequest>>,
    opened: AtomicUsize,
    open: AtomicUsize,
    /// Until then every request (tail upgrades too) gets a 503.
    failing_until: Mutex<Option<std::time::Instant>>,
}

pub struct Loki {
    pub url: String,
    shared: Arc<Shared>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

impl Loki {
    /// Serves on a free loopback port from a thread and runtime of its own,
    /// until dropped.
    pub fn start(opts: LokiOptions) -> Loki {
        let shared = Arc::new(Shared {
            opts,
            store: Mutex::new(Store {
                entries: Vec::new(),
                keys: HashSet::new(),
                drop_next: 0,
                tails: Vec::new(),
                next_id: 0,
            }),
            requests: Mutex::new(Vec::new()),
            opened: AtomicUsize::new(0),
            open: AtomicUsize::new(0),
            failing_until: Mutex::new(None),
        });
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let sh = shared.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                url_tx
                    .send(format!("http://{}", listener.local_addr().unwrap()))
                    .unwrap();
                let accept = async {
                    while let Ok((sock, _)) = listener.accept().await {
                        tokio::spawn(connection(sh.clone(), sock));
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stop_rx => {}
                }
            });
            rt.shutdown_background();
        });
        Loki {
            url: url_rx.recv().unwrap(),
            shared,
            _stop: stop,
        }
    }

    /// Stores one entry (ns timestamp) and delivers it to open tails whose query matches.
    pub fn push(&self, labels: &[(&str, &str)], ts_ns: i64, line: &str) {
        self.push_meta(labels, ts_ns, line, &[]);
    }

    /// `push` with structured metadata: in categorize-labels answers it is the
    /// 3rd element's `structuredMetadata`; otherwise Loki merges it into the
    /// stream labels (so entries with different metadata are different streams).
    pub fn push_meta(
        &self,
        labels: &[(&str, &str)],
        ts_ns: i64,
        line: &str,
        meta: &[(&str, &str)],
    ) {
        let own = |xs: &[(&str, &str)]| -> Vec<(String, String)> {
            xs.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let mut st = self.shared.store.lock().unwrap();
        let labels: BTreeMap<String, String> = own(labels).into_iter().collect();
        // the ingester drops an exact duplicate (same stream, timestamp and line)
        if !st.keys.insert((ts_ns, line.to_string(), labels.clone())) {
            return;
        }
        let e = Arc::new(Entry {
            labels,
            ts: ts_ns,
            line: line.into(),
            meta: own(meta),
            seq: st.entries.len() as u64,
        });
        let dropped = st.drop_next > 0;
        st.drop_next = st.drop_next.saturating_sub(1);
        st.entries.push(e.clone());
        st.tails.retain(|t| t.deliver(&e, dropped));
    }

    /// The next `n` pushed entries are not sent to open tails: each matching
    /// tail reports them in `dropped_entries` with its next message. They stay queryable.
    pub fn drop_next(&self, n: usize) {
        self.shared.store.lock().unwrap().drop_next = n;
    }

    /// Drops every open tail's TCP connection now, with no close frame (a proxy going away).
    pub fn close_tails(&self) {
        for t in self.shared.store.lock().unwrap().tails.drain(..) {
            t.kill();
        }
    }

    /// For `d` from now every request, tail upgrades included, is answered
    /// 503 as a Loki behind a restarting gateway is.
    pub fn fail_for(&self, d: Duration) {
        *self.shared.failing_until.lock().unwrap() = Some(std::time::Instant::now() + d);
    }

    /// Tail WebSockets accepted so far.
    pub fn tails_opened(&self) -> usize {
        self.shared.opened.load(Ordering::SeqCst)
    }

    /// Tail WebSockets open now.
    pub fn tails_open(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<LokiRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn entries(&self) -> usize {
        self.shared.store.lock().unwrap().entries.len()
    }
}

// ---------------------------------------------------------------- HTTP

struct Req {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    form: Vec<(String, String)>,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// Go's Form.Get: the first value, "" if none.
    fn get(&self, k: &str) -> &str {
        self.form
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
    fn categorize(&self) -> bool {
        self.header("X-Loki-Response-Encoding-Flags")
            .is_some_and(|v| v.split(',').any(|f| f == "categorize-labels"))
    }
}

struct Resp {
    status: u16,
    ctype: &'static str,
    body: String,
}

fn json(body: String) -> Resp {
    Resp {
        status: 200,
        ctype: "application/json; charset=UTF-8",
        body,
    }
}

fn text(status: u16, body: impl Into<String>) -> Resp {
    Resp {
        status,
        ctype: "text/plain; charset=utf-8",
        body: body.into(),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

async fn write_resp(sock: &mut TcpStream, r: Resp) {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        r.status,
        reason(r.status),
        r.ctype,
        r.body.len()
    );
    if r.ctype.starts_with("text/plain") {
        head.push_str("X-Content-Type-Options: nosniff\r\n");
    }
    head.push_str("\r\n");
    let _ = sock.write_all(head.as_bytes()).await;
    let _ = sock.write_all(r.body.as_bytes()).await;
    let _ = sock.shutdown().await;
}

fn form_decode(s: &str) -> Vec<(String, String)> {
    let dec = |t: &str| {
        let b = t.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => {
                    match u8::from_str_radix(
                        std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"),
                        16,
                    ) {
                        Ok(v) => {
                            out.push(v);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (dec(k), dec(v)),
            None => (dec(p), String::new()),
        })
        .collect()
}

async fn read_request(sock: &mut TcpStream) -> Option<Req> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let (path, qs) = target.split_once('?').unwrap_or((&target, ""));
    let mut form = Vec::new();
    let is_form = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("content-type") && v.starts_with("application/x-www-form-urlencoded")
    });
    if method == "POST" && is_form {
        form = form_decode(&String::from_utf8_lossy(&body));
    }
    form.extend(form_decode(qs));
    Some(Req {
        method,
        path: path.to_string(),
        headers,
        form,
    })
}

async fn connection(sh: Arc<Shared>, mut sock: TcpStream) {
    let Some(req) = read_request(&mut sock).await else {
        return;
    };
    sh.requests.lock().unwrap().push(LokiRequest {
        method: req.method.clone(),
        path: req.path.clone(),
        query: req.form.clone(),
        headers: req.headers.clone(),
    });
    let not_found = || text(404, "404 page not found\n");
    let p = req.path.as_str();
    let known = matches!(
        p,
        "/loki/api/v1/query_range"
            | "/loki/api/v1/query"
            | "/loki/api/v1/labels"
            | "/loki/api/v1/series"
            | "/loki/api/v1/tail"
    ) || (p == "/loki/api/v1/index/volume" && sh.opts.volume)
        || (p == "/loki/api/v1/patterns" && sh.opts.patterns)
        || label_values_name(p).is_some();
    if p == "/ready" {
        return write_resp(&mut sock, text(200, "ready\n")).await;
    }
    let failing = sh
        .failing_until
        .lock()
        .unwrap()
        .is_some_and(|t| std::time::Instant::now() < t);
    if failing {
        return write_resp(&mut sock, text(503, "no healthy upstream\n")).await;
    }
    if !known {
        return write_resp(&mut sock, not_found()).await;
    }
    if p == "/loki/api/v1/tail" && !sh.opts.websocket {
        let r = match sh.opts.tail_refusal {
            404 => not_found(),
            s => text(s, "Bad Request\n"),
        };
        return write_resp(&mut sock, r).await;
    }
    // dskit's AuthenticateUser: http.Error(w, "no org id", 401)
    let org = req.header("X-Scope-OrgID").map(str::to_string);
    let visible = match (&sh.opts.tenant, &org) {
        (None, _) => true,
        (Some(_), None) => return write_resp(&mut sock, text(401, "no org id\n")).await,
        (Some(t), Some(o)) => t == o,
    };
    if p == "/loki/api/v1/tail" {
        return tail::serve(sh, sock, req, visible).await;
    }
    let r = match p {
        "/loki/api/v1/query_range" => api::query_range(&sh, &req, visible),
        "/loki/api/v1/query" => api::query_instant(&sh, &req, visible),
        "/loki/api/v1/labels" => api::labels(&sh, &req, visible, None),
        "/loki/api/v1/series" => api::series(&sh, &req, visible),
        "/loki/api/v1/index/volume" => api::volume(&sh, &req, visible),
        "/loki/api/v1/patterns" => api::patterns(&sh, &req, visible),
        _ => api::labels(&sh, &req, visible, label_values_name(p)),
    };
    write_resp(&mut sock, r.unwrap_or_else(|e| text(400, e))).await;
}

fn label_values_name(p: &str) -> Option<&str> {
    p.strip_prefix("/loki/api/v1/label/")?
        .strip_suffix("/values")
        .filter(|n| !n.contains('/'))
}
