//! Self-test of the fake Loki (tests/common/loki.rs): each test pins one wire
//! shape the client relies on. The shapes were checked against grafana/loki:
//! - query_range envelopes, `stats`, value order and limits:
//!   docs/sources/reference/loki-http-api.md, pkg/util/marshal/query.go,
//!   pkg/logql/engine.go (streams sorted by labels), pkg/loghttp/params.go;
//! - categorize-labels: pkg/util/httpreq/encoding_flags.go,
//!   pkg/util/marshal/query.go (3rd element always present, `{}` when empty;
//!   `data.encodingFlags`), pkg/iter/categorized_labels_iterator.go
//!   (without the flag metadata and parsed labels are stream labels);
//! - errors: pkg/util/server/error.go (plain text), pkg/logqlmodel/error.go
//!   and pkg/logql/syntax/{parser.go,parser_test.go} (messages, positions),
//!   pkg/util/validation/validate.go (max entries), dskit middleware/http_auth.go (401);
//! - tail: pkg/loghttp/tail.go, pkg/util/marshal/{marshal,tail}.go,
//!   pkg/querier/tail/{http,tail,querier}.go (history, dropped_entries,
//!   close 1011 "reached tail max duration limit");
//! - volume: pkg/querier/queryrange/{volume,prometheus}.go; patterns:
//!   pkg/util/marshal/marshal.go WriteQueryPatternsResponseJSON.
mod common;

use std::time::Duration;

use common::loki::{Loki, LokiOptions};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

const S: i64 = 1_000_000_000;

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn get(
    loki: &Loki,
    path: &str,
    params: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .get(format!("{}{path}", loki.url))
        .query(params);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn get_json(
    loki: &Loki,
    path: &str,
    params: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Value {
    let (status, body) = get(loki, path, params, headers).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn tail(loki: &Loki, query: &str, start_ns: i64) -> Ws {
    let url = format!(
        "{}/loki/api/v1/tail?query={}&start={start_ns}",
        loki.url.replace("http://", "ws://"),
        query
            .replace('{', "%7B")
            .replace('}', "%7D")
            .replace('"', "%22")
            .replace('=', "%3D")
    );
    let before = loki.tails_opened();
    let ws = tokio_tungstenite::connect_async(url).await.unwrap().0;
    // the client has the 101 a moment before the server has registered
    // the tail (and counted it)
    for _ in 0..200 {
        if loki.tails_opened() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    ws
}

/// The next text message as JSON (pings skipped), within 2 s.
async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(2), ws.next())
            .await
            .unwrap();
        match m.unwrap().unwrap() {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn query_range_limits_directions_and_twins() {
    let loki = Loki::start(LokiOptions::default());
    let b = (now_s() - 60) * S;
    loki.push(&[("app", "a")], b + S, "a1");
    loki.push(&[("app", "a")], b + 2 * S, "a2");
    loki.push(&[("app", "b")], b + 2 * S, "b2"); // a twin of a2 in another stream
    loki.push(&[("app", "a")], b + 3 * S, "a3");
    loki.push(&[("app", "a")], b + 3 * S, "a3"); // an exact duplicate: dropped
    assert_eq!(loki.entries(), 4);
    let (start, end) = (b.to_string(), (b + 3 * S).to_string()); // end is exclusive
    let q = |limit: &'static str, dir: &'static str| {
        let (start, end) = (start.clone(), end.clone());
        let loki = &loki;
        async move {
            let p = [
                ("query", r#"{app=~"a|b"}"#),
                ("start", &start),
                ("end", &end),
                ("limit", limit),
                ("direction", dir),
            ];
            get_json(loki, "/loki/api/v1/query_range", &p, &[]).await
        }
    };
    let ts = |n: i64| (b + n * S).to_string();
    let v = q("3", "backward").await;
    assert_eq!(v["status"], "success");
    assert_eq!(v["data"]["resultType"], "streams");
    assert!(v["data"]["stats"]["summary"]["totalLinesProcessed"].is_number());
    assert_eq!(
        v["data"]["result"],
        json!([
            {"stream": {"app": "a"}, "values": [[ts(2), "a2"], [ts(1), "a1"]]},
            {"stream": {"app": "b"}, "values": [[ts(2), "b2"]]},
        ])
    );
    let v = q("2", "forward").await;
    assert_eq!(
        v["data"]["result"],
        json!([{"stream": {"app": "a"}, "values": [[ts(1), "a1"], [ts(2), "a2"]]}])
    );
    let v = q("1", "backward").await;
    assert_eq!(
        v["data"]["result"],
        json!([{"stream": {"app": "b"}, "values": [[ts(2), "b2"]]}])
    );
    // RFC3339 and float seconds are accepted too
    let start = chrono::DateTime::from_timestamp(b / S, 0)
        .unwrap()
        .to_rfc3339();
    let p = [
        ("query", r#"{app="a"} |= "3""#),
        ("start", start.as_str()),
        ("end", &format!("{}.5", b / S + 3)),
    ];
    let v = get_json(&loki, "/loki/api/v1/query_range", &p, &[]).await;
    assert_eq!(
        v["data"]["result"],
        json!([{"stream": {"app": "a"}, "values": [[ts(3), "a3"]]}])
    );
}

#[tokio::test]
async fn categorize_labels_three_tuples() {
    let loki = Loki::start(LokiOptions::default());
    let b = (now_s() - 60) * S;
    loki.push_meta(
        &[("app", "a")],
        b + S,
        "level=error msg=boom",
        &[("trace_id", "t1")],
    );
    loki.push(&[("app", "a")], b + 2 * S, "plain");
    let ts = |n: i64| (b + n * S).to_string();
    let p = [
        ("query", r#"{app="a"}"#),
        ("start", &b.to_string()),
        ("direction", "forward"),
    ];
    let cat = [("X-Loki-Response-Encoding-Flags", "categorize-labels")];
    let v = get_json(&loki, "/loki/api/v1/query_range", &p, &cat).await;
    assert_eq!(v["data"]["encodingFlags"], json!(["categorize-labels"]));
    assert_eq!(
        v["data"]["result"],
        json!([{"stream": {"app": "a"}, "values": [
            [ts(1), "level=error msg=boom", {"structuredMetadata": {"trace_id": "t1"}}],
            [ts(2), "plain", {}],
        ]}])
    );
    // without the flag, metadata is part of the stream's labels; streams are
    // ordered by their label string, `{app="a", trace_id="t1"}` < `{app="a"}`
    let v = get_json(&loki, "/loki/api/v1/query_range", &p, &[]).await;
    assert!(v["data"].get("encodingFlags").is_none());
    assert_eq!(
        v["data"]["result"],
        json!([
            {"stream": {"app": "a", "trace_id": "t1"}, "values": [[ts(1), "level=error msg=boom"]]},
            {"stream": {"app": "a"}, "values": [[ts(2), "plain"]]},
        ])
    );
    let p = [
        ("query", r#"{app="a"} | logfmt | level="error""#),
        ("start", &b.to_string()),
    ];
    let v = get_json(&loki, "/loki/api/v1/query_range", &p, &cat).await;
    assert_eq!(
        v["data"]["result"][0]["values"][0][2],
        json!({"structuredMetadata": {"trace_id": "t1"}, "parsed": {"level": "error", "msg": "boom"}})
    );
}

#[tokio::test]
async fn errors_are_plain_text_as_loki() {
    let loki = Loki::start(LokiOptions {
        volume: false,
        max_entries_limit: 50,
        ..Default::default()
    });
    let qr = "/loki/api/v1/query_range";
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("query", r#"{app="a""#)], "parse error at line 1, col 9: syntax error: unexpected $end, expecting } or ,"),
        (&[("query", r#"{app="a"} |~"#)], "parse error at line 1, col 13: syntax error: unexpected $end, expecting STRING or ip"),
        (&[("query", r#"{app="a"} foo"#)], "parse error at line 1, col 11: syntax error: unexpected IDENTIFIER"),
        (&[("query", r#"{app=~".*"}"#)], "parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will"),
        (&[("query", r#"{app="a"}"#), ("limit", "51")], "max entries limit per query exceeded, limit > max_entries_limit_per_query (51 > 50)"),
    ];
    for (params, want) in cases {
        assert_eq!(get(&loki, qr, params, &[]).await, (400, want.to_string()));
    }
    assert_eq!(
        get(&loki, "/loki/api/v1/nope", &[], &[]).await,
        (404, "404 page not found\n".into())
    );
    assert_eq!(
        get(&loki, "/loki/api/v1/index/volume", &[], &[]).await.0,
        404
    );
    let resp = reqwest::get(format!("{}{qr}?query=%7B%7D", loki.url))
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
}

#[tokio::test]
async fn tenant_is_required_and_isolates() {
    let loki = Loki::start(LokiOptions {
        tenant: Some("team-a".into()),
        ..Default::default()
    });
    loki.push(&[("app", "a")], (now_s() - 5) * S, "hello");
    let p = [("query", r#"{app="a"}"#)];
    let path = "/loki/api/v1/query_range";
    assert_eq!(get(&loki, path, &p, &[]).await, (401, "no org id\n".into()));
    let other = get_json(&loki, path, &p, &[("X-Scope-OrgID", "team-b")]).await;
    assert_eq!(other["data"]["result"], json!([]));
    let own = get_json(&loki, path, &p, &[("X-Scope-OrgID", "team-a")]).await;
    assert_eq!(own["data"]["result"][0]["values"][0][1], "hello");
    assert_eq!(loki.requests()[0].path, path);
    assert_eq!(loki.requests()[2].header("x-scope-orgid"), Some("team-a"));
}

#[tokio::test]
async fn metrics_labels_series_volume_patterns() {
    let loki = Loki::start(LokiOptions::default());
    let b = (now_s() / 60 - 10) * 60;
    loki.push(
        &[("app", "a")],
        (b + 10) * S,
        r#"{"level":"error","msg":"took 12ms"}"#,
    );
    loki.push(
        &[("app", "a")],
        (b + 20) * S,
        r#"{"level":"info","msg":"took 7ms"}"#,
    );
    loki.push(&[("app", "b")], (b + 70) * S, "ERROR took 30ms");
    let (start, end) = (b.to_string(), (b + 120).to_string());
    let p = [
        (
            "query",
            r#"sum by (detected_level) (count_over_time({app=~"a|b"} [1m]))"#,
        ),
        ("start", start.as_str()),
        ("end", end.as_str()),
        ("step", "60"),
    ];
    let v = get_json(&loki, "/loki/api/v1/query_range", &p, &[]).await;
    assert_eq!(v["data"]["resultType"], "matrix");
    assert_eq!(
        v["data"]["result"],
        json!([
            {"metric": {"detected_level": "error"}, "values": [[b + 60, "1"], [b + 120, "1"]]},
            {"metric": {"detected_level": "info"}, "values": [[b + 60, "1"]]},
        ])
    );
    let since = [("start", start.as_str())];
    let v = get_json(&loki, "/loki/api/v1/labels", &since, &[]).await;
    assert_eq!(v, json!({"status": "success", "data": ["app"]}));
    let v = get_json(&loki, "/loki/api/v1/label/app/values", &since, &[]).await;
    assert_eq!(v["data"], json!(["a", "b"]));
    let v = get_json(&loki, "/loki/api/v1/label/nope/values", &since, &[]).await;
    assert_eq!(v, json!({"status": "success"}), "Loki omits empty data");
    let p = [("match[]", r#"{app="b"}"#), ("start", start.as_str())];
    let v = get_json(&loki, "/loki/api/v1/series", &p, &[]).await;
    assert_eq!(v, json!({"status": "success", "data": [{"app": "b"}]}));
    let p = [
        ("query", r#"{app=~".+"}"#),
        ("start", start.as_str()),
        ("end", end.as_str()),
    ];
    let v = get_json(&loki, "/loki/api/v1/index/volume", &p, &[]).await;
    assert_eq!(v["data"]["resultType"], "vector");
    assert_eq!(
        v["data"]["result"][0],
        json!({"metric": {"app": "a"}, "value": [b + 120, "68"]})
    );
    let v = get_json(
        &loki,
        "/loki/api/v1/patterns",
        &[("query", r#"{app="b"}"#), ("start", &start), ("step", "60")],
        &[],
    )
    .await;
    assert_eq!(
        v,
        json!({"status": "success", "data": [{"pattern": "ERROR took <_>", "level": "error", "samples": [[b + 60, 1]]}]})
    );
}

#[tokio::test]
async fn tail_history_then_live_then_dropped() {
    let loki = Loki::start(LokiOptions::default());
    let now = now_s() * S;
    loki.push(&[("app", "a")], now - 10 * S, "old");
    loki.push(&[("app", "a")], now - 5 * S, "newer");
    loki.push(&[("app", "x")], now - 5 * S, "other app");
    let mut ws = tail(&loki, r#"{app="a"}"#, now - 60 * S).await;
    assert_eq!(loki.tails_opened(), 1);
    let m = next_json(&mut ws).await;
    assert_eq!(
        m,
        json!({"streams": [
            {"stream": {"app": "a"}, "values": [[(now - 10 * S).to_string(), "old"]]},
            {"stream": {"app": "a"}, "values": [[(now - 5 * S).to_string(), "newer"]]},
        ]})
    );
    loki.push(&[("app", "a")], now_s() * S - S, "live");
    let m = next_json(&mut ws).await;
    assert_eq!(m["streams"][0]["values"][0][1], "live");
    assert!(m.get("dropped_entries").is_none());
    loki.drop_next(2);
    loki.push(&[("app", "a")], now - 3 * S, "lost 1");
    loki.push(&[("app", "a")], now - 2 * S, "lost 2");
    loki.push(&[("app", "a")], now - S, "after");
    let m = next_json(&mut ws).await;
    assert_eq!(m["streams"][0]["values"][0][1], "after");
    assert_eq!(
        m["dropped_entries"],
        json!([
            {"labels": {"app": "a"}, "timestamp": (now - 3 * S).to_string()},
            {"labels": {"app": "a"}, "timestamp": (now - 2 * S).to_string()},
        ])
    );
    assert_eq!(loki.entries(), 7, "dropped entries stay queryable");
}

#[tokio::test]
async fn tail_closes() {
    let loki = Loki::start(LokiOptions {
        tail_max_duration: Some(Duration::from_millis(300)),
        ..Default::default()
    });
    let mut ws = tail(&loki, r#"{app="a"}"#, now_s() * S).await;
    let m = tokio::time::timeout(Duration::from_secs(2), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Message::Close(Some(frame)) = m else {
        panic!("{m:?}")
    };
    assert_eq!(
        (frame.code, frame.reason.as_ref()),
        (CloseCode::Error, "reached tail max duration limit")
    );

    let loki = Loki::start(LokiOptions::default());
    let mut ws = tail(&loki, r#"{app="a"}"#, now_s() * S).await;
    assert_eq!(loki.tails_open(), 1);
    loki.close_tails();
    let m = tokio::time::timeout(Duration::from_secs(2), ws.next())
        .await
        .unwrap();
    assert!(matches!(m, None | Some(Err(_))), "no close frame: {m:?}");
    for _ in 0..50 {
        if loki.tails_open() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!((loki.tails_open(), loki.tails_opened()), (0, 1));
}

#[tokio::test]
async fn tail_refusals() {
    let loki = Loki::start(LokiOptions {
        websocket: false,
        ..Default::default()
    });
    let url = format!(
        "{}/loki/api/v1/tail?query=%7Bapp%3D%22a%22%7D",
        loki.url.replace("http://", "ws://")
    );
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 400),
        other => panic!("{other:?}"),
    }
    let loki = Loki::start(LokiOptions {
        tenant: Some("t".into()),
        ..Default::default()
    });
    let p = [("query", r#"{app="a"}"#), ("delay_for", "6")];
    assert_eq!(
        get(&loki, "/loki/api/v1/tail", &p, &[]).await,
        (401, "no org id\n".into())
    );
    let t = [("X-Scope-OrgID", "t")];
    assert_eq!(
        get(&loki, "/loki/api/v1/tail", &p, &t).await,
        (400, "delay_for can't be greater than 5".into())
    );
    assert_eq!(loki.tails_opened(), 0);
}
