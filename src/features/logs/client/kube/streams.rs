//! Which pod logs to read (the pods restarted most recently first, a bounded
//! number of streams), the labels each stream carries, and reading the
//! API's `timestamps=true` text: one RFC 3339 (nano) timestamp, a space and
//! the line, each line cut at the engine's cap while it is read.

use std::collections::BTreeMap;

use crate::core::kube::pod::Pod;
use futures_util::io::{AsyncBufRead, AsyncBufReadExt};

use super::selector::Selection;
use crate::features::logs::client::wire::{labels_of, Labels};

/// One container's log: its current instance, or the previous one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StreamRef {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    /// The container restarted and its last instance terminated: its last
    /// lines are there with `previous=true`.
    pub has_previous: bool,
    /// When that instance ended (ns), if the API says.
    pub previous_ended_ns: Option<i64>,
}

impl StreamRef {
    /// `namespace`, `pod`, `container` (and `previous="true"`).
    pub fn labels(&self, previous: bool) -> Labels {
        let mut m = BTreeMap::new();
        m.insert("namespace".to_string(), self.namespace.clone());
        m.insert("pod".to_string(), self.pod.clone());
        m.insert("container".to_string(), self.container.clone());
        if previous {
            m.insert("previous".to_string(), "true".to_string());
        }
        labels_of(m)
    }
}

/// When a container's last instance ended (ns), if the API says.
fn ended_ns(s: &crate::core::kube::pod::ContainerStatus) -> Option<i64> {
    let t = s
        .last_state
        .as_ref()?
        .terminated
        .as_ref()?
        .finished_at
        .as_ref()?;
    Some(t.0.as_nanosecond() as i64)
}

/// A pod's sort key: its newest termination (ns) and its restarts.
type RestartKey = (Option<i64>, i64);

/// When a pod's containers last terminated (ns; newest of them), and
/// their restarts: the sort key of "restarted most recently".
fn restart_key(p: &Pod) -> RestartKey {
    let statuses = p
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    let finished = statuses.iter().filter_map(ended_ns).max();
    let restarts = statuses.iter().map(|s| s.restart_count as i64).sum();
    (finished, restarts)
}

/// The streams to read, at most `max`: the selected pods ordered by their
/// most recent container termination (newest first; never-terminated pods
/// after), then restarts (most first), then name; within a pod its
/// containers in spec order. Containers that never ran (still creating)
/// have no log and are skipped. Returns the streams and how many were left
/// out by `max`.
pub fn choose(pods: &[Pod], sel: &Selection, max: usize) -> (Vec<StreamRef>, usize) {
    let mut ordered: Vec<(&Pod, RestartKey, &str)> = pods
        .iter()
        .filter_map(|p| {
            let name = p.metadata.name.as_deref()?;
            sel.has_pod(name).then(|| (p, restart_key(p), name))
        })
        .collect();
    ordered.sort_by(|a, b| {
        // None (never terminated) sorts after any time
        b.1 .0
            .cmp(&a.1 .0)
            .then(b.1 .1.cmp(&a.1 .1))
            .then(a.2.cmp(b.2))
    });
    let mut out = Vec::new();
    let mut left = 0;
    for (p, _, name) in ordered {
        let statuses = p
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or_default();
        let containers = p.spec.as_ref().map(|s| s.containers.as_slice());
        for c in containers.unwrap_or_default() {
            if sel.container.as_ref().is_some_and(|x| *x != c.name) {
                continue;
            }
            let st = statuses.iter().find(|s| s.name == c.name);
            let terminated_before = st
                .and_then(|s| s.last_state.as_ref())
                .is_some_and(|l| l.terminated.is_some());
            let ran = st.is_some_and(|s| {
                let now = s.state.as_ref();
                s.restart_count > 0
                    || terminated_before
                    || now.is_some_and(|n| n.running.is_some() || n.terminated.is_some())
            });
            if !ran {
                continue;
            }
            if out.len() >= max {
                left += 1;
                continue;
            }
            let previous_ended_ns = st.and_then(ended_ns);
            out.push(StreamRef {
                namespace: p.metadata.namespace.clone().unwrap_or_default(),
                pod: name.to_string(),
                container: c.name.clone(),
                has_previous: terminated_before && st.is_some_and(|s| s.restart_count > 0),
                previous_ended_ns,
            });
        }
    }
    (out, left)
}

/// `2026-12-06T01:00:00.123456789Z text` → (ns, text). The API writes
/// RFC 3339 with nanoseconds (fixed or trimmed digits); a line without a
/// timestamp is None.
pub fn parse_line(raw: &[u8]) -> Option<(i64, String)> {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    let sp = raw.iter().position(|&b| b == b' ');
    let (ts, text) = match sp {
        Some(i) => (&raw[..i], &raw[i + 1..]),
        None => (raw, &b""[..]),
    };
    let ts = std::str::from_utf8(ts).ok()?;
    let ns = chrono::DateTime::parse_from_rfc3339(ts)
        .ok()?
        .timestamp_nanos_opt()?;
    Some((ns, String::from_utf8_lossy(text).into_owned()))
}

/// `sinceTime` for lines from `ns` on: whole seconds (what the API takes),
/// rounded down so no line at or after `ns` is left out.
pub fn since_time(ns: i64) -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::from_second(ns.div_euclid(1_000_000_000))
        .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)
}

/// Reads lines of at most `cap` bytes (the rest of a longer line is
/// skipped). Cancel-safe: a partial line stays in the reader.
pub struct LineReader<R> {
    r: R,
    buf: Vec<u8>,
    cap: usize,
    skipping: bool,
    /// Bytes read so far.
    pub bytes: u64,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    pub fn new(r: R, cap: usize) -> LineReader<R> {
        LineReader {
            r,
            buf: Vec::new(),
            cap,
            skipping: false,
            bytes: 0,
        }
    }

    /// The next line (without its newline); None at the end.
    pub async fn next(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        loop {
            let avail = self.r.fill_buf().await?;
            if avail.is_empty() {
                self.skipping = false;
                return Ok((!self.buf.is_empty()).then(|| std::mem::take(&mut self.buf)));
            }
            let (take, end) = match avail.iter().position(|&b| b == b'\n') {
                Some(i) => (i, Some(i + 1)),
                None => (avail.len(), None),
            };
            if !self.skipping {
                let room = self.cap.saturating_sub(self.buf.len());
                self.buf.extend_from_slice(&avail[..take.min(room)]);
                if take > room {
                    self.skipping = true;
                }
            }
            let used = end.unwrap_or(take);
            self.r.consume_unpin(used);
            self.bytes += used as u64;
            if end.is_some() {
                self.skipping = false;
                return Ok(Some(std::mem::take(&mut self.buf)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, restarts: i32, finished: Option<&str>, containers: &[&str]) -> Pod {
        let statuses: Vec<_> = containers
            .iter()
            .map(|c| {
                let mut s = json!({"name": c, "image": "i", "imageID": "", "ready": true,
                    "restartCount": restarts, "state": {"running": {}}});
                if let Some(f) = finished {
                    s["lastState"] = json!({"terminated": {"exitCode": 137, "finishedAt": f}});
                }
                s
            })
            .collect();
        let spec: Vec<_> = containers.iter().map(|c| json!({"name": c})).collect();
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {"containers": spec},
            "status": {"containerStatuses": statuses}
        }))
        .unwrap()
    }

    fn names(s: &[StreamRef]) -> Vec<String> {
        s.iter()
            .map(|s| format!("{}/{}", s.pod, s.container))
            .collect()
    }

    #[test]
    fn pods_restarted_most_recently_come_first_then_by_name() {
        let pods = vec![
            pod("c-healthy", 0, None, &["app"]),
            pod("a-healthy", 0, None, &["app"]),
            pod("old-crash", 9, Some("2026-12-06T00:00:00Z"), &["app"]),
            pod(
                "new-crash",
                1,
                Some("2026-12-06T01:00:00Z"),
                &["app", "side"],
            ),
            pod("restarted-no-state", 3, None, &["app"]),
        ];
        let (s, left) = choose(&pods, &Selection::default(), 5);
        assert_eq!(
            names(&s),
            [
                "new-crash/app",
                "new-crash/side",
                "old-crash/app",
                "restarted-no-state/app",
                "a-healthy/app"
            ]
        );
        assert_eq!(left, 1, "c-healthy left out by the bound");
        assert!(s[0].has_previous && s[2].has_previous && !s[3].has_previous);
        // the selection narrows pods and container
        let sel = Selection {
            pods: Some(vec!["c-healthy".into(), "new-crash".into()]),
            container: Some("app".into()),
            ..Default::default()
        };
        assert_eq!(
            names(&choose(&pods, &sel, 5).0),
            ["new-crash/app", "c-healthy/app"]
        );
    }

    #[test]
    fn a_container_still_creating_has_no_log_to_read() {
        let mut p = pod("p", 0, None, &["app"]);
        let st = &mut p
            .status
            .as_mut()
            .unwrap()
            .container_statuses
            .as_mut()
            .unwrap()[0];
        st.state =
            serde_json::from_value(json!({"waiting": {"reason": "ContainerCreating"}})).unwrap();
        assert!(choose(&[p], &Selection::default(), 5).0.is_empty());
    }

    #[test]
    fn timestamps_are_rfc3339_nano_in_either_form() {
        assert_eq!(
            parse_line(b"2026-12-06T01:00:00.123456789Z hello world\n"),
            Some((1_796_518_800_123_456_789, "hello world".into()))
        );
        // Go's RFC3339Nano trims zeros; an offset is honoured
        assert_eq!(
            parse_line(b"2026-12-06T02:00:00.5+01:00 x"),
            Some((1_796_518_800_500_000_000, "x".into()))
        );
        assert_eq!(
            parse_line(b"2026-12-06T01:00:00Z"),
            Some((1_796_518_800_000_000_000, "".into()))
        );
        assert_eq!(parse_line(b"no timestamp here"), None);
        assert_eq!(
            since_time(1_796_518_800_999_999_999).to_string(),
            "2026-12-06T01:00:00Z"
        );
        assert_eq!(since_time(-1).as_second(), -1);
    }

    #[tokio::test]
    async fn long_lines_are_cut_while_read() {
        let text = format!("short\n{}\nnext\nlast", "x".repeat(100));
        let mut r = LineReader::new(futures_util::io::Cursor::new(text.into_bytes()), 10);
        let mut got = vec![];
        while let Some(l) = r.next().await.unwrap() {
            got.push(String::from_utf8(l).unwrap());
        }
        assert_eq!(got, ["short", "xxxxxxxxxx", "next", "last"]);
    }
}
