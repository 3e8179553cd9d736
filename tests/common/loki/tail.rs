//! /loki/api/v1/tail: the handshake checks Loki (and gorilla's upgrader) make
//! before answering 101, then the tailer loop of pkg/querier/tail: history
//! first, live entries batched (up to 100 a message, one stream object per
//! entry), `dropped_entries` riding on the next message, a ping each second.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::api::{bounds, js, limit, obj, stream_value};
use super::logql::{parse, Expr, LogQuery, Row};
use super::{now_ns, text, write_resp, Entry, Req, Shared};

pub enum Msg {
    Entry(Arc<Entry>, Row),
    Dropped(Arc<Entry>, Row),
    Kill,
}

/// An open tail as the store sees it.
pub struct Sub {
    id: u64,
    query: LogQuery,
    visible: bool,
    tx: mpsc::UnboundedSender<Msg>,
}

impl Sub {
    /// Hands a pushed entry over; false once the tail is gone.
    pub fn deliver(&self, e: &Arc<Entry>, dropped: bool) -> bool {
        if !self.visible {
            return !self.tx.is_closed();
        }
        let Some(row) = self.query.process(&e.labels, &e.line, &e.meta) else {
            return !self.tx.is_closed();
        };
        let m = if dropped {
            Msg::Dropped(e.clone(), row)
        } else {
            Msg::Entry(e.clone(), row)
        };
        self.tx.send(m).is_ok()
    }

    pub fn kill(self) {
        let _ = self.tx.send(Msg::Kill);
    }
}

/// Counts an open tail and forgets it when the task ends (or is cancelled).
struct Open(Arc<Shared>, u64);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
        self.0
            .store
            .lock()
            .unwrap()
            .tails
            .retain(|t| t.id != self.1);
    }
}

fn has_token(r: &Req, header: &str, token: &str) -> bool {
    r.header(header)
        .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

pub async fn serve(sh: Arc<Shared>, mut sock: TcpStream, r: Req, visible: bool) {
    // loghttp.ParseTailQuery, then the upgrader
    let parsed = (|| -> Result<(LogQuery, usize, i64, i64), String> {
        let q = match parse(r.get("query"))? {
            Expr::Log(q) => q,
            Expr::Metric(_) => return Err("tail supports log queries only".into()),
        };
        let lim = limit(&r, 100)?;
        let (start, _) = bounds(&r, 3_600_000_000_000)?;
        let delay = match r.get("delay_for") {
            "" => 0,
            s => s
                .parse::<i64>()
                .map_err(|_| format!("strconv.Atoi: parsing {s:?}: invalid syntax"))?,
        };
        if delay > 5 {
            return Err("delay_for can't be greater than 5".into());
        }
        Ok((q, lim, start, delay))
    })();
    let (query, lim, start, delay) = match parsed {
        Ok(p) => p,
        Err(e) => return write_resp(&mut sock, text(400, e)).await,
    };
    let key = r.header("Sec-WebSocket-Key").map(str::to_string);
    let upgrade = r.method == "GET"
        && has_token(&r, "Connection", "upgrade")
        && has_token(&r, "Upgrade", "websocket")
        && r.header("Sec-WebSocket-Version") == Some("13");
    let (true, Some(key)) = (upgrade, key) else {
        return write_resp(&mut sock, text(400, "Bad Request\n")).await;
    };
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    if sock.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let ws = WebSocketStream::from_raw_socket(sock, Role::Server, None).await;

    // history and subscription under one lock, so no push falls between them
    let (tx, rx) = mpsc::unbounded_channel();
    let (history, id) = {
        let mut st = sh.store.lock().unwrap();
        let now = now_ns();
        let mut hist: Vec<(Arc<Entry>, Row)> = if visible {
            st.entries
                .iter()
                .filter(|e| e.ts >= start && e.ts < now)
                .filter_map(|e| {
                    query
                        .process(&e.labels, &e.line, &e.meta)
                        .map(|row| (e.clone(), row))
                })
                .collect()
        } else {
            Vec::new()
        };
        // a BACKWARD query with the limit, then reversed
        hist.sort_by_key(|(e, _)| (e.ts, e.seq));
        let hist = hist.split_off(hist.len().saturating_sub(lim));
        st.next_id += 1;
        let id = st.next_id;
        st.tails.push(Sub {
            id,
            query,
            visible,
            tx,
        });
        (hist, id)
    };
    sh.opened.fetch_add(1, Ordering::SeqCst);
    sh.open.fetch_add(1, Ordering::SeqCst);
    let _open = Open(sh.clone(), id);
    run(
        ws,
        rx,
        history,
        r.categorize(),
        delay * 1_000_000_000,
        sh.opts.tail_max_duration,
        sh.opts.tail_holds_future,
    )
    .await;
}

async fn run(
    mut ws: WebSocketStream<TcpStream>,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    history: Vec<(Arc<Entry>, Row)>,
    cats: bool,
    delay_ns: i64,
    max: Option<Duration>,
    hold: bool,
) {
    // the tailer releases an entry once now > timestamp + delay_for
    let mut pending: Vec<(Arc<Entry>, Row)> = history;
    let mut dropped: Vec<(BTreeMap<String, String>, i64)> = Vec::new();
    let mut flush = tokio::time::interval(Duration::from_millis(20));
    let mut ping = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(1),
        Duration::from_secs(1),
    );
    let deadline = async {
        match max {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            m = rx.recv() => match m {
                Some(Msg::Entry(e, row)) => pending.push((e, row)),
                Some(Msg::Dropped(e, row)) => {
                    let (labels, _) = stream_value(&e, &row, cats);
                    dropped.push((labels, e.ts));
                }
                // close_tails: the connection just goes away
                Some(Msg::Kill) | None => return,
            },
            _ = flush.tick() => {
                let now = now_ns();
                pending.sort_by_key(|(e, _)| (e.ts, e.seq));
                let ready = pending
                    .iter()
                    .take(if hold { 100 } else { 5000 })
                    .take_while(|(e, _)| !hold || now > e.ts + delay_ns)
                    .count();
                if ready == 0 {
                    continue;
                }
                let batch: Vec<_> = pending.drain(..ready).collect();
                let msg = message(&batch, &dropped, cats);
                dropped.clear();
                if ws.send(Message::Text(msg)).await.is_err() {
                    return;
                }
            }
            _ = ping.tick() => {
                if ws.send(Message::Ping(Vec::new())).await.is_err() {
                    return;
                }
            }
            _ = &mut deadline => {
                let frame = CloseFrame { code: CloseCode::Error, reason: "reached tail max duration limit".into() };
                let _ = ws.send(Message::Close(Some(frame))).await;
                return;
            }
            m = ws.next() => match m {
                Some(Ok(Message::Close(_))) => {
                    let _ = ws.close(None).await;
                    return;
                }
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    }
}

/// marshal.EncodeTailResult: `streams`, `dropped_entries` when any, `encodingFlags` when set.
fn message(
    batch: &[(Arc<Entry>, Row)],
    dropped: &[(BTreeMap<String, String>, i64)],
    cats: bool,
) -> String {
    let streams: Vec<String> = batch
        .iter()
        .map(|(e, row)| {
            let (labels, v) = stream_value(e, row, cats);
            format!("{{\"stream\":{},\"values\":[{v}]}}", obj(&labels))
        })
        .collect();
    let mut m = format!("{{\"streams\":[{}]", streams.join(","));
    if !dropped.is_empty() {
        let d: Vec<String> = dropped
            .iter()
            .map(|(l, ts)| {
                format!(
                    "{{\"timestamp\":{},\"labels\":{}}}",
                    js(&ts.to_string()),
                    obj(l)
                )
            })
            .collect();
        m.push_str(&format!(",\"dropped_entries\":[{}]", d.join(",")));
    }
    if cats {
        m.push_str(",\"encodingFlags\":[\"categorize-labels\"]");
    }
    m.push('}');
    m
}
