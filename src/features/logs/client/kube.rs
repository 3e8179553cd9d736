//! Pod logs from the Kubernetes API, for a kubeconfig without a Loki: the
//! same `LogsBackend` as Loki's, so every line goes through the same engine
//! (dedupe, resume), store, pane, sanitiser and redactor.
//!
//! - The query is the LogQL selector the engine builds, read back
//!   (`selector`): namespace (the context's own when the selector has none,
//!   as kubectl; every namespace with `-A`), pods, container; `|=`, `!=`
//!   and label filters are applied to each line here; anything else is
//!   refused with a message naming what needs Loki.
//! - Bounded like `kubectl logs --max-log-requests` (default 5): at most
//!   [`MAX_STREAMS`] container logs per query or tail, from the pods that
//!   restarted most recently (`streams::choose`).
//! - query_range: `GET …/pods/NAME/log?container=C&timestamps=true&
//!   sinceTime=…&limitBytes=…` per stream (with `tailLines` for the newest
//!   lines). The newest page of a backfill also reads each restarted
//!   container's previous instance (`previous=true`, its last
//!   [`PREVIOUS_LINES`] lines), labelled `previous="true"`.
//! - tail: one `follow=true` stream per container, merged. A stream that
//!   ends (the container restarted, the API server dropped it) is reopened
//!   with backoff from `sinceTime` of the last line it gave; the API counts
//!   whole seconds, so the lines of that second come again and are dropped
//!   here (and by the engine's dedupe). When the pods chosen change (a
//!   rollout, a pod deleted) the tail ends, and the engine re-reads and
//!   opens a new one over the new pods.
//! - Volume and patterns: the API has neither (`Ok(None)`: the pane counts
//!   and clusters retained lines).

mod selector;
mod streams;
mod tail;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::core::kube::pod::Pod;
use kube::api::{ListParams, LogParams};
use kube::{Api, Client};
use tokio::sync::mpsc;

use crate::core::kube::ClientOptions;
use crate::core::{now_ms, BoxFut, Slot, SourceError};
use crate::features::logs::client::wire::{Entry, Labels, MatrixSeries, ServerPattern};
use crate::features::logs::client::{LogsBackend, TailOpenError, TailStream};
use selector::{parse, Selection};
use streams::{choose, parse_line, since_time, LineReader, StreamRef};
use tail::{follow, relist, KubeTail};

/// The header's name of this source.
pub const NAME: &str = "k8s logs";
/// Container logs read at once (kubectl's `--max-log-requests` default).
pub const MAX_STREAMS: usize = 5;
/// Lines of a restarted container's previous instance read.
pub const PREVIOUS_LINES: i64 = 200;
/// `limitBytes` of one read (the server stops there); what is read is
/// capped the same way.
pub const LIMIT_BYTES: i64 = 4 << 20;
/// Longest line kept while read (the engine cuts at the same size).
const LINE_BYTES: usize = crate::features::logs::events::LINE_CAP + 64;
/// While tailing, the pods are listed again this often: a changed choice
/// (a rollout) ends the tail so the engine opens one over the new pods.
const RELIST_EVERY: Duration = Duration::from_secs(15);
/// Pods per list page.
const LIST_PAGE: u32 = 500;

/// Lines batched into one tail message (for at most [`BATCH_WAIT`]).
const BATCH_LINES: usize = 1000;
const BATCH_WAIT: Duration = Duration::from_millis(50);

pub struct KubeLogs {
    opts: ClientOptions,
    context: Option<String>,
    all_namespaces: bool,
    conn: tokio::sync::OnceCell<Conn>,
    /// The last choice of streams, shared with the tail's relist.
    chosen: Arc<std::sync::Mutex<Option<Chosen>>>,
}

/// Streams chosen at `at` for a selection's namespace, pods and container.
struct Chosen {
    at: Instant,
    key: ChoiceKey,
    streams: Vec<StreamRef>,
    left: usize,
}

/// What the choice of streams depends on (not the line filters).
type ChoiceKey = (Option<String>, Option<Vec<String>>, Option<String>);

fn choice_key(sel: &Selection) -> ChoiceKey {
    (
        sel.namespace.clone(),
        sel.pods.clone(),
        sel.container.clone(),
    )
}

/// A choice this recent is reused: the engine opens a backfill and a tail
/// together (and again when the relist found a new choice), and each would
/// list every pod of the namespace once more.
const CHOICE_FRESH: Duration = Duration::from_secs(3);

#[derive(Clone)]
struct Conn {
    client: Client,
    /// The context's namespace.
    namespace: String,
}

fn now_ns() -> i64 {
    now_ms() * 1_000_000
}

fn api_error(e: &kube::Error) -> SourceError {
    crate::core::kube::client_error(e)
}

impl KubeLogs {
    /// `context`: the kubeconfig's context (None: its current one).
    pub fn new(opts: ClientOptions, context: Option<String>, all_namespaces: bool) -> KubeLogs {
        KubeLogs {
            opts,
            context,
            all_namespaces,
            conn: tokio::sync::OnceCell::new(),
            chosen: Arc::default(),
        }
    }

    /// Where the lines come from, for the header and help.
    pub fn describe(&self) -> String {
        match &self.context {
            Some(c) => format!("the Kubernetes API (context {c})"),
            None => "the Kubernetes API (current context)".to_string(),
        }
    }

    /// The client, built once (the same rules as the Kubernetes pane's:
    /// credentials registered with the redactor, exec plugins never
    /// interactive); a failure is tried again at the next ask.
    async fn conn(&self) -> Result<&Conn, SourceError> {
        self.conn
            .get_or_try_init(|| async {
                let (client, _, _, _, namespace) =
                    crate::core::kube::client(&self.opts, self.context.as_deref()).await?;
                Ok(Conn { client, namespace })
            })
            .await
    }

    /// The namespace a selection reads (None: every namespace).
    fn namespace(&self, conn: &Conn, sel: &Selection) -> Option<String> {
        match &sel.namespace {
            Some(n) => Some(n.clone()),
            None if self.all_namespaces => None,
            None => Some(conn.namespace.clone()),
        }
    }

    /// The pods of the selection's namespace, listed in pages of
    /// [`LIST_PAGE`], each decoded lean (`core::kube::pod`: names, container
    /// statuses, nothing else).
    async fn pods(&self, conn: &Conn, sel: &Selection) -> Result<Vec<Pod>, SourceError> {
        let api: Api<Pod> = match self.namespace(conn, sel) {
            Some(ns) => Api::namespaced(conn.client.clone(), &ns),
            None => Api::all(conn.client.clone()),
        };
        let mut out = vec![];
        let mut params = ListParams::default().limit(LIST_PAGE);
        loop {
            let page = api.list(&params).await.map_err(|e| api_error(&e))?;
            out.extend(page.items);
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(c) => params = params.continue_token(&c),
                None => return Ok(out),
            }
        }
    }

    /// The streams a selection reads now, and how many more match: the
    /// choice of the last [`CHOICE_FRESH`], else a new one.
    async fn streams(&self, sel: &Selection) -> Result<(Conn, Vec<StreamRef>, usize), SourceError> {
        let conn = self.conn().await?.clone();
        if let Some(c) = self.chosen.lock().unwrap().as_ref() {
            if c.key == choice_key(sel) && c.at.elapsed() < CHOICE_FRESH {
                return Ok((conn, c.streams.clone(), c.left));
            }
        }
        let (streams, left) = self.choose_now(&conn, sel).await?;
        Ok((conn, streams, left))
    }

    /// A new choice, kept for the next [`CHOICE_FRESH`].
    async fn choose_now(
        &self,
        conn: &Conn,
        sel: &Selection,
    ) -> Result<(Vec<StreamRef>, usize), SourceError> {
        let (streams, left) = self.list_streams(conn, sel).await?;
        *self.chosen.lock().unwrap() = Some(Chosen {
            at: Instant::now(),
            key: choice_key(sel),
            streams: streams.clone(),
            left,
        });
        Ok((streams, left))
    }

    /// The streams a selection reads now, and how many more match. The
    /// pods are listed in pages; of each page only the pods that could be
    /// among the first `MAX_STREAMS` are kept (the best of all pages are
    /// among the best of their own page), so a namespace of 5,000 pods is
    /// never held whole.
    async fn list_streams(
        &self,
        conn: &Conn,
        sel: &Selection,
    ) -> Result<(Vec<StreamRef>, usize), SourceError> {
        let api: Api<Pod> = match self.namespace(conn, sel) {
            Some(ns) => Api::namespaced(conn.client.clone(), &ns),
            None => Api::all(conn.client.clone()),
        };
        let (mut kept, mut matching) = (vec![], 0usize);
        let mut params = ListParams::default().limit(LIST_PAGE);
        loop {
            let page = api.list(&params).await.map_err(|e| api_error(&e))?;
            let pods = page.items;
            let (best, left) = choose(&pods, sel, MAX_STREAMS);
            matching += best.len() + left;
            kept.extend(pods.into_iter().filter(|p| {
                best.iter()
                    .any(|s| Some(&s.pod) == p.metadata.name.as_ref())
            }));
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(c) => params = params.continue_token(&c),
                None => break,
            }
        }
        let (streams, _) = choose(&kept, sel, MAX_STREAMS);
        let left = matching - streams.len();
        Ok((streams, left))
    }

    /// [`streams`](Self::streams), saying in the log file what the bound
    /// left out.
    async fn streams_said(&self, sel: &Selection) -> Result<(Conn, Vec<StreamRef>), SourceError> {
        let (conn, streams, left) = self.streams(sel).await?;
        if left > 0 {
            crate::info!(
                "k8s logs: {left} more container logs match; reading the {MAX_STREAMS} of the pods restarted most recently"
            );
        }
        Ok((conn, streams))
    }
}

/// One non-follow read of a stream.
struct Read {
    previous: bool,
    since_ns: i64,
    tail_lines: Option<i64>,
    limit_bytes: i64,
}

/// Reads one container log whole (bounded): its lines with timestamps.
async fn read(client: &Client, s: &StreamRef, r: &Read) -> Result<Vec<(i64, String)>, SourceError> {
    let api: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), &s.namespace);
    let lp = LogParams {
        container: Some(s.container.clone()),
        timestamps: true,
        previous: r.previous,
        since_time: Some(since_time(r.since_ns)),
        tail_lines: r.tail_lines,
        limit_bytes: Some(r.limit_bytes),
        ..Default::default()
    };
    let body = api
        .log_stream(&s.pod, &lp)
        .await
        .map_err(|e| api_error(&e))?;
    let mut lines = LineReader::new(body, LINE_BYTES);
    let mut out = Vec::new();
    loop {
        match lines.next().await {
            Ok(Some(raw)) => out.extend(parse_line(&raw)),
            Ok(None) => break,
            Err(e) => {
                return Err(SourceError::msg(format!(
                    "reading the log of {}: {e}",
                    s.pod
                )))
            }
        }
        if lines.bytes > r.limit_bytes as u64 {
            break;
        }
    }
    Ok(out)
}

/// The reads of a query_range: each stream's current log (its newest
/// `limit` lines when reading backward), and, for the streams `previous`
/// says, the last lines of the restarted container's previous instance.
fn reads_for(
    streams: &[StreamRef],
    since_ns: i64,
    limit: usize,
    forward: bool,
    previous: impl Fn(&StreamRef) -> bool,
) -> Vec<(Labels, &StreamRef, Read)> {
    let mut asks = Vec::new();
    for s in streams {
        let current = Read {
            previous: false,
            since_ns,
            tail_lines: (!forward).then_some(limit as i64),
            limit_bytes: LIMIT_BYTES,
        };
        asks.push((s.labels(false), s, current));
        if s.has_previous && previous(s) {
            let last = Read {
                previous: true,
                since_ns,
                tail_lines: Some(PREVIOUS_LINES.min(limit as i64)),
                limit_bytes: LIMIT_BYTES / 4,
            };
            asks.push((s.labels(true), s, last));
        }
    }
    asks
}

/// The entries of the reads that answered, inside `window` and passing
/// the query's stages. A container between instances has no log for a
/// moment, so one failed read is logged and the others count; when none
/// answered, the first error is the answer.
fn gather(
    asks: &[(Labels, &StreamRef, Read)],
    results: Vec<Result<Vec<(i64, String)>, SourceError>>,
    sel: &Selection,
    window: std::ops::Range<i64>,
) -> Result<Vec<Entry>, SourceError> {
    let mut out = Vec::new();
    let mut first_error = None;
    let mut answered = 0;
    for ((labels, s, r), res) in asks.iter().zip(results) {
        match res {
            Ok(lines) => {
                answered += 1;
                out.extend(
                    lines
                        .into_iter()
                        .filter(|(ts, line)| window.contains(ts) && sel.keeps(labels, line))
                        .map(|(ts_ns, line)| Entry {
                            ts_ns,
                            labels: labels.clone(),
                            line,
                            meta: vec![],
                        }),
                );
            }
            Err(e) => {
                let which = if r.previous { " (previous)" } else { "" };
                crate::info!("k8s logs: {}/{}{which}: {e}", s.pod, s.container);
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) if answered == 0 => Err(e),
        _ => Ok(out),
    }
}

impl LogsBackend for KubeLogs {
    /// `:ctx`: a new client for that context (the plan's generation
    /// drops what the old one still sends).
    fn in_context(&self, context: Option<&str>) -> Option<std::sync::Arc<dyn LogsBackend>> {
        let want = context.map(str::to_string).or_else(|| self.context.clone());
        if want == self.context {
            return None;
        }
        Some(std::sync::Arc::new(KubeLogs::new(
            self.opts.clone(),
            want,
            self.all_namespaces,
        )))
    }

    fn name(&self) -> &'static str {
        NAME
    }

    fn query_range<'a>(
        &'a self,
        query: &'a str,
        start_ns: i64,
        end_ns: i64,
        limit: usize,
        forward: bool,
    ) -> BoxFut<'a, Result<Vec<Entry>, SourceError>> {
        Box::pin(async move {
            let sel = parse(query)?;
            let (conn, streams) = self.streams_said(&sel).await?;
            // the newest page of a backfill (not a re-read after a
            // reconnect, whose lines were already shown as the current
            // container's) also reads the previous instances; so does a
            // backfill of a past window the previous instance ended in
            // (the logs around a kill)
            let newest_page = !forward && end_ns >= now_ns() - 1_000_000_000;
            let ended_inside = |s: &StreamRef| {
                !forward
                    && s.previous_ended_ns
                        .is_some_and(|t| t >= start_ns && t < end_ns)
            };
            let asks = reads_for(&streams, start_ns, limit, forward, |s| {
                newest_page || ended_inside(s)
            });
            let reads = asks.iter().map(|(_, s, r)| read(&conn.client, s, r));
            let results = futures_util::future::join_all(reads).await;
            let mut out = gather(&asks, results, &sel, start_ns..end_ns)?;
            out.sort_by_key(|e| e.ts_ns);
            if forward {
                out.truncate(limit);
            } else {
                let skip = out.len().saturating_sub(limit);
                out.drain(..skip);
            }
            Ok(out)
        })
    }

    fn volume<'a>(
        &'a self,
        _query: &'a str,
        _start_ns: i64,
        _end_ns: i64,
        _step_secs: u64,
    ) -> BoxFut<'a, Result<Option<Vec<MatrixSeries>>, SourceError>> {
        Box::pin(async { Ok(None) })
    }

    fn patterns<'a>(
        &'a self,
        _query: &'a str,
        _start_ns: i64,
        _end_ns: i64,
    ) -> BoxFut<'a, Result<Option<Vec<ServerPattern>>, SourceError>> {
        Box::pin(async { Ok(None) })
    }

    fn labels(&self, _start_ns: i64, _end_ns: i64) -> BoxFut<'_, Result<Vec<String>, SourceError>> {
        Box::pin(async { Ok(selector::LABELS.iter().map(|s| s.to_string()).collect()) })
    }

    fn label_values<'a>(
        &'a self,
        name: &'a str,
        _start_ns: i64,
        _end_ns: i64,
    ) -> BoxFut<'a, Result<Vec<String>, SourceError>> {
        Box::pin(async move {
            if !["namespace", "pod", "container"].contains(&name) {
                return Ok(vec![]);
            }
            let conn = self.conn().await?;
            let pods = self.pods(conn, &Selection::default()).await?;
            let mut v: Vec<String> = pods
                .iter()
                .flat_map(|p| match name {
                    "namespace" => p.metadata.namespace.clone().into_iter().collect(),
                    "pod" => p.metadata.name.clone().into_iter().collect(),
                    _ => p
                        .spec
                        .iter()
                        .flat_map(|s| s.containers.iter().map(|c| c.name.clone()))
                        .collect::<Vec<_>>(),
                })
                .collect();
            v.sort_unstable();
            v.dedup();
            Ok(v)
        })
    }

    fn series<'a>(
        &'a self,
        selector: &'a str,
        _start_ns: i64,
        _end_ns: i64,
    ) -> BoxFut<'a, Result<Vec<Labels>, SourceError>> {
        Box::pin(async move {
            let sel = parse(selector)?;
            let conn = self.conn().await?;
            let pods = self.pods(conn, &sel).await?;
            let (streams, _) = choose(&pods, &sel, crate::features::logs::client::wire::MAX_SERIES);
            Ok(streams.iter().map(|s| s.labels(false)).collect())
        })
    }

    fn tail<'a>(
        &'a self,
        query: &'a str,
        start_ns: i64,
        _limit: usize,
    ) -> BoxFut<'a, Result<Box<dyn TailStream>, TailOpenError>> {
        Box::pin(async move {
            let sel = Arc::new(parse(query).map_err(TailOpenError::Failed)?);
            let (conn, chosen) = self
                .streams_said(&sel)
                .await
                .map_err(TailOpenError::Failed)?;
            let (tx, rx) = mpsc::channel(64);
            let mut tasks = Slot::default();
            for s in &chosen {
                tasks.push(tokio::spawn(follow(
                    conn.client.clone(),
                    s.clone(),
                    sel.clone(),
                    start_ns,
                    tx.clone(),
                )));
            }
            let pods = KubeLogs {
                opts: self.opts.clone(),
                context: self.context.clone(),
                all_namespaces: self.all_namespaces,
                conn: tokio::sync::OnceCell::new_with(Some(conn)),
                chosen: self.chosen.clone(),
            };
            tasks.push(tokio::spawn(relist(pods, sel, chosen, tx)));
            Ok(Box::new(KubeTail {
                rx,
                _tasks: tasks,
                chosen: self.chosen.clone(),
            }) as Box<dyn TailStream>)
        })
    }
}
