//! Pod logs on the fake API server, in the documented wire format
//! (core/v1 `PodLogOptions`, `GET /api/v1/namespaces/{ns}/pods/{name}/log`):
//! - params `container`, `follow`, `previous`, `sinceSeconds`, `sinceTime`
//!   (RFC 3339), `timestamps`, `tailLines`, `limitBytes`;
//! - the body is `text/plain`, one line per entry; with `timestamps=true`
//!   each starts with its RFC 3339 timestamp with nine fraction digits
//!   (kubelet's RFC3339NanoFixed) and a space; `tailLines` picks the last N
//!   lines first, then `sinceTime` filters them; `limitBytes` cuts the body
//!   (mid-line if it falls there);
//! - `follow=true` answers a chunked stream that stays open and writes new
//!   lines as they are added, until [`FakeKube::end_log_streams`] (as an
//!   API server restart or kubelet's stream timeout does);
//! - errors are `Status` objects as the API server writes them: an unknown
//!   pod 404 `pods "x" not found`; a pod of several containers without
//!   `container` 400 `a container name must be specified for pod x, choose
//!   one of: [a b]`; an unknown container 400 `container c is not valid for
//!   pod x`; `previous=true` on a container that never restarted 400
//!   `previous terminated container "app" in pod "x" not found`.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use super::{send, status, FakeKube};

/// (namespace, pod, container, previous).
type LogKey = (String, String, String, bool);

/// Each log's lines (ns timestamp, text), in the order they were written.
#[derive(Default)]
pub struct Logs {
    lines: BTreeMap<LogKey, Vec<(i64, String)>>,
    /// Bumped to end every open follow stream.
    ends: u64,
}

/// `/api/v1/namespaces/NS/pods/NAME/log` → (NS, NAME).
pub fn route(path: &str) -> Option<(String, String)> {
    let p: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match p.as_slice() {
        ["api", "v1", "namespaces", ns, "pods", name, "log"] => {
            Some((ns.to_string(), name.to_string()))
        }
        _ => None,
    }
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A request target's query, percent-decoded.
pub fn params(target: &str) -> BTreeMap<String, String> {
    target
        .split_once('?')
        .map(|(_, q)| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (decode(k), decode(v)))
                .collect()
        })
        .unwrap_or_default()
}

fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap()
}

/// RFC3339NanoFixed, UTC.
pub fn stamp(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns)
        .format("%Y-%m-%dT%H:%M:%S%.9fZ")
        .to_string()
}

struct Ask {
    key: LogKey,
    follow: bool,
    timestamps: bool,
    since_ns: Option<i64>,
    tail: Option<usize>,
    limit: Option<usize>,
}

impl Ask {
    fn render(&self, lines: &[(i64, String)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (ts, l) in lines {
            if self.since_ns.is_some_and(|s| *ts < s) {
                continue;
            }
            if self.timestamps {
                out.extend_from_slice(stamp(*ts).as_bytes());
                out.push(b' ');
            }
            out.extend_from_slice(l.as_bytes());
            out.push(b'\n');
        }
        out
    }
}

impl FakeKube {
    /// Writes `line` to a container's log now (`previous`: its last
    /// terminated instance's log).
    pub fn add_log(&self, ns: &str, pod: &str, container: &str, previous: bool, line: &str) {
        self.add_log_at(ns, pod, container, previous, now_ns(), line);
    }

    /// Writes `line` stamped `ts_ns`.
    pub fn add_log_at(
        &self,
        ns: &str,
        pod: &str,
        container: &str,
        previous: bool,
        ts_ns: i64,
        line: &str,
    ) {
        let mut s = self.state.lock().unwrap();
        let key = (ns.into(), pod.into(), container.into(), previous);
        s.logs
            .lines
            .entry(key)
            .or_default()
            .push((ts_ns, line.into()));
        drop(s);
        self.changed.send_modify(|v| *v += 1);
    }

    /// Ends every open `follow=true` stream (the client reopens).
    pub fn end_log_streams(&self) {
        self.state.lock().unwrap().logs.ends += 1;
        self.changed.send_modify(|v| *v += 1);
    }

    /// The log requests seen, decoded: (pod, params).
    pub fn log_requests(&self) -> Vec<(String, BTreeMap<String, String>)> {
        self.requests()
            .iter()
            .filter_map(|r| {
                let target = r.split_once(' ')?.1;
                let (_, pod) = route(target.split('?').next()?)?;
                Some((pod, params(target)))
            })
            .collect()
    }

    /// Checks a log request against the pod as the API server does.
    fn log_ask(&self, ns: &str, name: &str, target: &str) -> Result<Ask, (u16, Value)> {
        let q = params(target);
        let s = self.state.lock().unwrap();
        let Some(pod) = s
            .objects
            .get(&("pods".to_string(), ns.to_string(), name.to_string()))
        else {
            let msg = format!("pods \"{name}\" not found");
            return Err((404, status(404, "NotFound", &msg)));
        };
        let names: Vec<String> = pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str().map(str::to_string))
            .collect();
        let container = match q.get("container") {
            Some(c) => c.clone(),
            None if names.len() == 1 => names[0].clone(),
            None => {
                let msg = format!(
                    "a container name must be specified for pod {name}, choose one of: [{}]",
                    names.join(" ")
                );
                return Err((400, status(400, "BadRequest", &msg)));
            }
        };
        if !names.contains(&container) {
            let msg = format!("container {container} is not valid for pod {name}");
            return Err((400, status(400, "BadRequest", &msg)));
        }
        let yes = |k: &str| q.get(k).is_some_and(|v| v == "true" || v == "1");
        let previous = yes("previous");
        if previous {
            let restarted = pod["status"]["containerStatuses"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["name"] == json!(container) && c["lastState"]["terminated"].is_object());
            if !restarted {
                let msg = format!(
                    "previous terminated container \"{container}\" in pod \"{name}\" not found"
                );
                return Err((400, status(400, "BadRequest", &msg)));
            }
        }
        let since_ns = match (q.get("sinceTime"), q.get("sinceSeconds")) {
            (Some(t), _) => Some(
                chrono::DateTime::parse_from_rfc3339(t)
                    .map_err(|_| {
                        let msg = format!("parsing time \"{t}\" as RFC3339: cannot parse");
                        (400, status(400, "BadRequest", &msg))
                    })?
                    .timestamp_nanos_opt()
                    .unwrap(),
            ),
            (None, Some(sec)) => sec
                .parse::<i64>()
                .ok()
                .map(|s| now_ns() - s * 1_000_000_000),
            _ => None,
        };
        Ok(Ask {
            key: (ns.into(), name.into(), container, previous),
            follow: yes("follow") && !previous,
            timestamps: yes("timestamps"),
            since_ns,
            tail: q.get("tailLines").and_then(|v| v.parse().ok()),
            limit: q.get("limitBytes").and_then(|v| v.parse().ok()),
        })
    }

    /// Serves one log request (routed by `connection`).
    pub(super) async fn serve_log(
        &self,
        sock: &mut tokio::net::TcpStream,
        (ns, name): (String, String),
        target: &str,
    ) {
        let ask = match self.log_ask(&ns, &name, target) {
            Ok(a) => a,
            Err((code, body)) => return send(sock, code, &body).await,
        };
        let lines = |from: usize| -> Vec<(i64, String)> {
            let s = self.state.lock().unwrap();
            s.logs
                .lines
                .get(&ask.key)
                .map_or(vec![], |v| v[from.min(v.len())..].to_vec())
        };
        let all = lines(0);
        let first = all.len().saturating_sub(ask.tail.unwrap_or(usize::MAX));
        let mut body = ask.render(&all[first..]);
        if !ask.follow {
            body.truncate(ask.limit.unwrap_or(usize::MAX));
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(&body).await;
            let _ = sock.shutdown().await;
            return;
        }
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
        if sock.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let mut rx = self.changed.subscribe();
        let ends = self.state.lock().unwrap().logs.ends;
        let mut sent = all.len();
        let mut left = ask.limit.unwrap_or(usize::MAX);
        loop {
            body.truncate(left);
            left -= body.len();
            if !body.is_empty() && chunk(sock, &body).await.is_err() {
                return;
            }
            if left == 0 || rx.changed().await.is_err() {
                break;
            }
            // ended before anything written since: those lines are for
            // the next stream
            if self.state.lock().unwrap().logs.ends != ends {
                break;
            }
            let new = lines(sent);
            sent += new.len();
            body = ask.render(&new);
        }
        let _ = sock.write_all(b"0\r\n\r\n").await;
        let _ = sock.shutdown().await;
    }
}

async fn chunk(sock: &mut tokio::net::TcpStream, b: &[u8]) -> std::io::Result<()> {
    sock.write_all(format!("{:x}\r\n", b.len()).as_bytes())
        .await?;
    sock.write_all(b).await?;
    sock.write_all(b"\r\n").await?;
    sock.flush().await
}
