//! The tail of pod logs: one `follow=true` stream per chosen container,
//! reopened from the last line's second when it ends, and the relist that
//! ends the tail when the choice of pods changes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::LogParams;
use kube::{Api, Client};
use tokio::sync::mpsc;

use super::selector::Selection;
use super::streams::{parse_line, since_time, LineReader, StreamRef};
use super::{api_error, Chosen, KubeLogs, BATCH_LINES, BATCH_WAIT, LINE_BYTES, RELIST_EVERY};
use crate::core::{BoxFut, Slot, SourceError};
use crate::features::logs::client::wire::{Entry, TailMessage};
use crate::features::logs::client::TailStream;

/// What the tail's tasks send.
pub(super) enum Msg {
    Lines(Vec<Entry>),
    /// The pods to read changed: the tail ends, the engine opens another
    /// (over the choice the relist just made).
    End,
    /// A pod followed is gone: the tail ends, and the next one chooses anew.
    Gone,
    Failed(SourceError),
}

pub(super) struct KubeTail {
    pub(super) rx: mpsc::Receiver<Msg>,
    /// The follow and relist tasks, aborted with the tail.
    pub(super) _tasks: Slot,
    /// The backend's last choice: forgotten when a pod followed is gone
    /// or a stream failed, so the next tail lists the pods again.
    pub(super) chosen: Arc<std::sync::Mutex<Option<Chosen>>>,
}

impl TailStream for KubeTail {
    fn next(&mut self) -> BoxFut<'_, Option<Result<TailMessage, SourceError>>> {
        Box::pin(async move {
            match self.rx.recv().await? {
                Msg::Lines(entries) => Some(Ok(TailMessage {
                    entries,
                    dropped: vec![],
                })),
                Msg::End => None,
                Msg::Gone => {
                    self.chosen.lock().unwrap().take();
                    None
                }
                Msg::Failed(e) => {
                    self.chosen.lock().unwrap().take();
                    Some(Err(e))
                }
            }
        })
    }
}

/// Lists the pods every [`RELIST_EVERY`] (longer in a large namespace: a
/// second more per 100 pods, at most two minutes); ends the tail when the
/// streams chosen now differ from those followed.
pub(super) async fn relist(
    b: KubeLogs,
    sel: Arc<Selection>,
    chosen: Vec<StreamRef>,
    tx: mpsc::Sender<Msg>,
) {
    let key = |v: &[StreamRef]| {
        let mut k: Vec<(String, String, String)> = v
            .iter()
            .map(|s| (s.namespace.clone(), s.pod.clone(), s.container.clone()))
            .collect();
        k.sort();
        k
    };
    let before = key(&chosen);
    let mut every = RELIST_EVERY;
    loop {
        tokio::time::sleep(every).await;
        let Ok(conn) = b.conn().await.cloned() else {
            continue;
        };
        if let Ok((now, n)) = b.choose_now(&conn, &sel).await {
            let pods = (now.len() + n) as u64;
            every = (RELIST_EVERY + Duration::from_secs(pods / 100)).min(Duration::from_secs(120));
            if key(&now) != before {
                crate::info!("k8s logs: the pods to read changed; reopening the tail");
                let _ = tx.send(Msg::End).await;
                return;
            }
        }
    }
}

/// 0.5 s, 1, 2 … 30 s between reopens of one stream.
fn reopen_delay(attempt: u32) -> Duration {
    Duration::from_millis((500u64 << attempt.min(6)).min(30_000))
}

/// One container's `follow=true` log, reopened from the last line's
/// second whenever it ends, until the tail is dropped. A pod that is gone
/// (404) ends the tail (the engine re-chooses); a container not running
/// yet (400) is waited for; other failures end the tail with the error
/// (the engine shows it and reconnects with backoff).
pub(super) async fn follow(
    client: Client,
    s: StreamRef,
    sel: Arc<Selection>,
    start_ns: i64,
    tx: mpsc::Sender<Msg>,
) {
    let api: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client, &s.namespace);
    let labels = s.labels(false);
    // the last timestamp given, and the lines given at it: a reopen from
    // its second sends them again
    let mut last: (i64, Vec<String>) = (start_ns, vec![]);
    let mut attempt = 0u32;
    loop {
        let lp = LogParams {
            container: Some(s.container.clone()),
            follow: true,
            timestamps: true,
            since_time: Some(since_time(last.0)),
            ..Default::default()
        };
        let opened = Instant::now();
        match api.log_stream(&s.pod, &lp).await {
            Ok(body) => {
                let mut lines = LineReader::new(body, LINE_BYTES);
                loop {
                    let Some(batch) = next_batch(&mut lines).await else {
                        break;
                    };
                    let mut entries = Vec::with_capacity(batch.len());
                    for (ts, line) in batch.iter().filter_map(|raw| parse_line(raw)) {
                        if ts < last.0 || (ts == last.0 && last.1.contains(&line)) {
                            continue;
                        }
                        if ts > last.0 {
                            last = (ts, vec![]);
                        }
                        last.1.push(line.clone());
                        if sel.keeps(&labels, &line) {
                            entries.push(Entry {
                                ts_ns: ts,
                                labels: labels.clone(),
                                line,
                                meta: vec![],
                            });
                        }
                    }
                    if !entries.is_empty() && tx.send(Msg::Lines(entries)).await.is_err() {
                        return;
                    }
                }
            }
            Err(kube::Error::Api(st)) if st.code == 404 => {
                let _ = tx.send(Msg::Gone).await;
                return;
            }
            Err(kube::Error::Api(st)) if st.code == 400 => {}
            Err(e) => {
                let _ = tx.send(Msg::Failed(api_error(&e))).await;
                return;
            }
        }
        // a stream that lived a while ended (a restart): reopen at once;
        // one that ends as it opens (a crash loop) backs off
        if opened.elapsed() >= Duration::from_secs(10) {
            attempt = 0;
        }
        tokio::time::sleep(reopen_delay(attempt)).await;
        attempt += 1;
        if tx.is_closed() {
            return;
        }
    }
}

/// The lines available now (at least one, waiting for it; then what comes
/// within [`BATCH_WAIT`], at most [`BATCH_LINES`]); None at the end.
async fn next_batch<R>(lines: &mut LineReader<R>) -> Option<Vec<Vec<u8>>>
where
    R: futures_util::io::AsyncBufRead + Unpin,
{
    let first = lines.next().await.ok()??;
    let mut batch = vec![first];
    let deadline = tokio::time::Instant::now() + BATCH_WAIT;
    while batch.len() < BATCH_LINES {
        match tokio::time::timeout_at(deadline, lines.next()).await {
            Ok(Ok(Some(l))) => batch.push(l),
            // the end (or an error) comes back at the next call
            _ => break,
        }
    }
    Some(batch)
}
