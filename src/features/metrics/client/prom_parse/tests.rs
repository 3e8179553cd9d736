//! Tests of the Prometheus answer parser (`mod.rs` and its parts).

#[test]
fn a_server_without_the_api_says_so() {
    let e = parse_body(404, Some("text/plain"), b"404 page not found\n", 10).unwrap_err();
    assert_eq!(
        e.message,
        "not a Prometheus API (no /api/v1 here: 404 page not found)"
    );
}

#[test]
fn secrets_are_masked_before_bodies_are_cut() {
    let tok = "tOkEn-Sup3rSecret-9f8e7d6c5b4a";
    crate::text::redact::register_secret(tok);
    // split across the first line break of a plain-text body
    let body = format!("bad token {}\n{} end", &tok[..12], &tok[12..]);
    let e = parse_body(503, Some("text/plain"), body.as_bytes(), 10).unwrap_err();
    assert!(!e.message.contains(&tok[..6]), "{}", e.message);
    // at the edge of the JSON error cut (500 chars)
    let long = format!("{}{tok}", "x".repeat(490));
    let body = format!(r#"{{"status":"error","errorType":"x","error":"{long}"}}"#);
    let e = parse_body(400, None, body.as_bytes(), 10).unwrap_err();
    assert!(!e.message.contains(&tok[..6]), "{}", e.message);
    // at the edge of the HTML title cut (60 chars)
    let body = format!("<html><title>{}{tok}</title>", "t".repeat(40));
    let e = parse_body(200, Some("text/html"), body.as_bytes(), 10).unwrap_err();
    assert!(!e.message.contains(&tok[..6]), "{}", e.message);
}

use crate::features::metrics::client::prom_parse::messages::fmt_size;
use crate::features::metrics::client::prom_parse::*;
use crate::store::Series;

fn ok(body: &str) -> Parsed {
    parse_body(200, Some("application/json"), body.as_bytes(), 500).unwrap()
}
fn err_ct(status: u16, ct: Option<&str>, body: &[u8]) -> SourceError {
    parse_body(status, ct, body, 500).unwrap_err()
}
fn err(body: &[u8]) -> SourceError {
    err_ct(200, None, body)
}
fn bad_shape(body: &str) -> String {
    let e = err(body.as_bytes());
    assert_eq!(e.kind, ErrorKind::BadAnswer, "{body}: {e}");
    e.message
}
fn points(s: &Series) -> Vec<(i64, f64)> {
    s.points.iter().copied().collect()
}
fn matrix(n: usize, pts: usize) -> String {
    let one = |i: usize| {
        let v: Vec<String> = (0..pts).map(|j| format!("[{j},\"{j}\"]")).collect();
        format!(r#"{{"metric":{{"i":"{i}"}},"values":[{}]}}"#, v.join(","))
    };
    let all: Vec<String> = (0..n).map(one).collect();
    let r = all.join(",");
    format!(r#"{{"status":"success","data":{{"resultType":"matrix","result":[{r}]}}}}"#)
}

#[test]
fn matrix_with_special_values_and_warnings() {
    let p = ok(
        r#"{"status":"success","warnings":["partial response"],"infos":["info\u001b[31m x"],
      "data":{"resultType":"matrix","result":[{"metric":{"pod":"app-1"},"values":[[1700000000,"1.5"],
      [1700000010.5,"NaN"],[1700000020.0004,"+Inf"],[1700000030,"-Inf"],[1700000040,"Inf"],[3,"-2e3"]]}]}}"#,
    );
    assert_eq!(p.result_type, ResultKind::Matrix);
    assert_eq!(p.fetched.warnings, vec!["partial response", "info x"]);
    let s = &p.fetched.series[0];
    assert_eq!(s.labels.get("pod").map(String::as_str), Some("app-1"));
    let pts = points(s);
    assert_eq!(pts[0], (1_700_000_000_000, 1.5));
    assert_eq!(pts[1].0, 1_700_000_010_500);
    assert!(pts[1].1.is_nan());
    assert_eq!(pts[2], (1_700_000_020_000, f64::INFINITY));
    assert_eq!(pts[3].1, f64::NEG_INFINITY);
    assert_eq!(pts[4].1, f64::INFINITY);
    assert_eq!(pts[5], (3000, -2000.0));
}

#[test]
fn vector_scalar_string() {
    let v = ok(
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1.0,"42"]}]}}"#,
    );
    assert_eq!(v.result_type, ResultKind::Vector);
    assert_eq!(points(&v.fetched.series[0]), vec![(1000, 42.0)]);
    let s = ok(r#"{"status":"success","data":{"resultType":"scalar","result":[2,"7"]}}"#);
    assert_eq!(s.result_type, ResultKind::Scalar);
    assert!(s.fetched.series[0].labels.is_empty());
    assert_eq!(points(&s.fetched.series[0]), vec![(2000, 7.0)]);
    let t = ok(r#"{"status":"success","data":{"resultType":"string","result":[2,"hello"]}}"#);
    assert_eq!(
        (t.result_type, t.fetched.series.len()),
        (ResultKind::String, 0)
    );
    let e = ok(r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#);
    assert_eq!(
        (e.result_type, e.fetched.series.len()),
        (ResultKind::Matrix, 0)
    );
}

#[test]
fn label_values_and_their_cap() {
    let body = br#"{"status":"success","data":["up","go_gc","a$b","x","y"]}"#;
    let (v, rest) = parse_strings(200, None, body, 3).unwrap();
    assert_eq!(
        (v, rest),
        (vec!["up".to_string(), "go_gc".into(), "a$b".into()], 2)
    );
    let (v, rest) = parse_strings(200, None, body, 10).unwrap();
    assert_eq!((v.len(), rest), (5, 0));
    let p = parse_body(200, None, body, 10).unwrap();
    assert_eq!(
        (p.result_type, p.fetched.series.len()),
        (ResultKind::Strings, 0)
    );
    let m = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
    let e = parse_strings(200, None, m, 3).unwrap_err();
    assert_eq!(e.message, "data is not a list of strings");
    let e = parse_strings(400, None, br#"{"status":"error","error":"no"}"#, 3).unwrap_err();
    assert_eq!(e.to_string(), "HTTP 400: no");
}

#[test]
fn key_order_and_unknown_fields_do_not_matter() {
    let p = ok(
        r#"{"data":{"result":[{"value":[1,"2"],"histogram":{"x":[1]},"metric":{"a":"b"}}],
      "stats":{"timings":{}},"resultType":"vector"},"warnings":null,"extra":[1,{"y":null}],"status":"success"}"#,
    );
    assert_eq!(p.result_type, ResultKind::Vector);
    assert_eq!(points(&p.fetched.series[0]), vec![(1000, 2.0)]);
    assert_eq!(
        p.fetched.series[0].labels.get("a").map(String::as_str),
        Some("b")
    );
    let p = ok(r#"{"data":{"result":[5,"6"],"resultType":"scalar"},"status":"success"}"#);
    assert_eq!(points(&p.fetched.series[0]), vec![(5000, 6.0)]);
    let p = ok(
        r#"{"data":{"result":[{"values":[[1,"1"]],"metric":{}}],"resultType":"matrix"},"status":"success"}"#,
    );
    assert_eq!(p.result_type, ResultKind::Matrix);
    let e = err(br#"{"error":"boom","data":{"result":7},"errorType":"internal","status":"error"}"#);
    assert_eq!(e.to_string(), "HTTP 200 internal: boom");
}

#[test]
fn series_cap_keeps_the_first_in_body_order() {
    let body = matrix(1000, 2);
    let p = parse_body(200, None, body.as_bytes(), 10).unwrap();
    assert_eq!((p.fetched.series.len(), p.dropped_series), (10, 990));
    for (i, s) in p.fetched.series.iter().enumerate() {
        assert_eq!(s.labels.get("i"), Some(&i.to_string()));
        assert_eq!(points(s), vec![(0, 0.0), (1000, 1.0)]);
    }
    let p = parse_body(200, None, body.as_bytes(), 0).unwrap();
    assert_eq!((p.fetched.series.len(), p.dropped_series), (0, 1000));
    assert_eq!(p.fetched.bytes, body.len());
}

#[test]
fn points_and_warnings_are_capped() {
    let p = ok(&matrix(1, MAX_POINTS + 50));
    let pts = points(&p.fetched.series[0]);
    assert_eq!(pts.len(), MAX_POINTS);
    assert_eq!(pts.last(), Some(&(10_999_000, 10_999.0)));
    let w: Vec<String> = (0..30).map(|i| format!("\"w{i}\"")).collect();
    let body = format!(
        r#"{{"status":"success","infos":["i"],"warnings":[{}],"data":[]}}"#,
        w.join(",")
    );
    assert_eq!(ok(&body).fetched.warnings.len(), MAX_WARNINGS);
}

#[test]
fn label_sets_are_bounded_while_parsed() {
    // one series with more labels than kept: the smallest names
    let labels: Vec<String> = (0..MAX_SERIES_LABELS + 30)
        .rev()
        .map(|i| format!(r#""l{i:04}":"v""#))
        .collect();
    let body = format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{{}}},"value":[1,"1"]}}]}}}}"#,
        labels.join(",")
    );
    let p = ok(&body);
    let l = &p.fetched.series[0].labels;
    assert_eq!(l.len(), MAX_SERIES_LABELS);
    assert!(l.contains_key("l0000") && !l.contains_key(&format!("l{MAX_SERIES_LABELS:04}")));
    // past the answer's label budget, series are dropped and counted
    let per = MAX_SERIES_LABELS;
    let n = MAX_LABEL_PAIRS / per + 5;
    let one: Vec<String> = (0..per).map(|i| format!(r#""l{i}":"v""#)).collect();
    let one = format!(r#"{{"metric":{{{}}},"value":[1,"1"]}}"#, one.join(","));
    let body = format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
        vec![one; n].join(",")
    );
    let p = parse_body(200, None, body.as_bytes(), usize::MAX).unwrap();
    assert_eq!(p.fetched.series.len(), MAX_LABEL_PAIRS / per);
    assert_eq!(p.dropped_series, 5);
}

#[test]
fn raw_label_values_are_kept_exactly() {
    let p = ok(
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":
      {"q":"a$b \"c\" \\d","esc":"x\u001b]0;t\u0007\u001b[2Jy","u":"é\t"},"value":[1,"1"]}]}}"#,
    );
    let l = &p.fetched.series[0].labels;
    assert_eq!(l["q"], "a$b \"c\" \\d");
    assert_eq!(l["esc"], "x\u{1b}]0;t\u{7}\u{1b}[2Jy");
    assert_eq!(l["u"], "é\t");
}

#[test]
fn api_error_envelope() {
    let body = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#;
    let e = err_ct(400, Some("application/json"), body);
    assert_eq!(e.kind, ErrorKind::Api("bad_data".into()));
    assert_eq!(e.to_string(), "HTTP 400 bad_data: parse error at char 5");
    let e = err(b"{\"status\":\"error\",\"error\":\"a\\u001b]0;x\\u0007b\\u001b[1mc\\nd\\u0085\"}");
    // the title sequence goes whole and leaves a mark; colour codes silently
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::Unspecified, "a�bc d")
    );
    // a stray C1 introducer (mojibake) drops only itself
    let e = err(br#"{"status":"error","error":"said \u00f0\u009f\u0098\u0080 then DELETED"}"#);
    assert_eq!(e.message, "said ð then DELETED");
    assert_eq!(err(br#"{"status":"error"}"#).message, "unknown error");
}

#[test]
fn html_pages_are_named_with_their_title() {
    let page = format!(
        "\n <!DOCTYPE html><html><head><title>\n Grafana &amp; co </title></head>{}</html>",
        "x".repeat(1200)
    );
    let e = err_ct(200, Some("text/html"), page.as_bytes());
    assert_eq!(
        e.message,
        "not a Prometheus API response (HTML, 1.2 KiB) titled \"Grafana & co\""
    );
    let e = err(b"<HTML><body>502 Bad Gateway</body></HTML>");
    assert_eq!(e.message, "not a Prometheus API response (HTML, 41 B)");
    let e = err_ct(502, Some("text/html; charset=utf-8"), b"oops");
    assert_eq!(
        e.to_string(),
        "HTTP 502: not a Prometheus API response (HTML, 4 B)"
    );
    let long = format!("<html><title>{}\u{1b}[2J</title>", "t".repeat(100));
    let m = err(long.as_bytes()).message;
    let title = m.split('"').nth(1).unwrap();
    assert_eq!(title.chars().count(), 60);
    assert!(title.ends_with('…') && !m.contains('\u{1b}'));
}

#[test]
fn exposition_pages_are_named() {
    let want = "not a Prometheus API response (metrics exposition: this URL is an exporter's \
                /metrics page, not a Prometheus server)";
    let body = b"# HELP go_goroutines Number of goroutines.\n# TYPE go_goroutines gauge\ngo_goroutines 8\n";
    assert_eq!(err(body).message, want);
    assert_eq!(
        err_ct(200, Some("text/plain; version=0.0.4"), b"up 1\n").message,
        want
    );
    let om = Some("application/openmetrics-text; version=1.0.0");
    assert_eq!(err_ct(200, om, b"up 1\n# EOF\n").message, want);
}

#[test]
fn empty_binary_and_text_bodies() {
    assert_eq!(err(b"").message, "empty response");
    assert_eq!(err(b" \r\n\t").to_string(), "HTTP 200: empty response");
    let mut gz = vec![0x1f, 0x8b, 0x08, 0x00];
    gz.extend((0..3478u32).map(|i| (i * 7 % 256) as u8));
    assert_eq!(
        err(&gz).message,
        "not a Prometheus API response (binary, 3.4 KiB)"
    );
    assert!(err(b"\x01\x02\x03abc").message.contains("binary, 6 B"));
    let e = err_ct(
        503,
        Some("text/plain"),
        b"Service Unavailable\x1b]0;x\x07\n",
    );
    assert_eq!(e.to_string(), "HTTP 503: Service Unavailable�");
    let e = err_ct(
        502,
        None,
        b"\n upstream connect error or disconnect/reset before headers\nmore",
    );
    assert_eq!(
        e.message,
        "upstream connect error or disconnect/reset before headers"
    );
    let long = "y".repeat(5000);
    assert_eq!(err(long.as_bytes()).message.chars().count(), 200);
}

#[test]
fn invalid_json_names_the_byte() {
    assert_eq!(err(br#"{"a":x}"#).message, "invalid JSON at byte 5");
    assert_eq!(
        err(b"{\n\"status\":\n nope}").message,
        "invalid JSON at byte 14"
    );
    let cut = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"#;
    assert_eq!(
        err(cut).message,
        format!("invalid JSON at byte {} (truncated?)", cut.len())
    );
    assert_eq!(
        err(br#"{"status":"success","data":[]} x"#).message,
        "invalid JSON at byte 31"
    );
    // invalid UTF-8 inside a kept string is an error, not a panic
    let b = b"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"a\":\"\xff\"}}]}}";
    let e = err(b);
    assert!(e.message.starts_with("invalid JSON at byte "), "{e}");
    assert!(parse_strings(
        200,
        None,
        b"{\"status\":\"success\",\"data\":[\"\xfe\"]}",
        9
    )
    .is_err());
}

#[test]
fn json_that_is_not_the_api() {
    let want = "not a Prometheus API response (JSON without \"status\")";
    for body in [
        &br#"{"foo":1}"#[..],
        b"[1,2]",
        b"[]",
        br#"{"data":{"result":5}}"#,
        br#"{"status":1}"#,
    ] {
        assert_eq!(err(body).message, want, "{}", String::from_utf8_lossy(body));
    }
    let e = err(br#"{"status":"success"}"#);
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::BadAnswer, "success without data")
    );
    assert_eq!(
        bad_shape(r#"{"status":"success","data":null}"#),
        "success without data"
    );
}

#[test]
fn malformed_shapes_are_bad_responses() {
    let m = |s: &str| {
        format!(r#"{{"status":"success","data":{{"resultType":"matrix","result":[{s}]}}}}"#)
    };
    let d = |data: &str| format!(r#"{{"status":"success","data":{data}}}"#);
    let cases = [
        (m(r#"{"values":[[1,"x"]]}"#), "bad sample value \"x\""),
        (m(r#"{"values":{"a":1}}"#), "\"values\" as a list"),
        (m(r#"{"values":"[1,2]"}"#), "got a string"),
        (m(r#"{"values":[[1]]}"#), NOT_PAIR),
        (m(r#"{"values":[[1,"2",3]]}"#), NOT_PAIR),
        (m(r#"{"values":[5]}"#), "sample, got a number"),
        (m(r#"{"values":[["1","2"]]}"#), "sample time, got a"),
        (m(r#"{"value":[1,2]}"#), "sample value, got a"),
        (m(r#"{"metric":[],"values":[]}"#), "\"metric\" as"),
        (m(r#"{"metric":{"a":1}}"#), "expected a string"),
        (m(r#"[1,"2"]"#), "got a list"),
        (m(r#"{},1"#), "neither a list of series"),
        (m("true"), "got a boolean"),
        (d(r#"{"resultType":"x","result":5}"#), "\"result\" as"),
        (d(r#""x""#), "expected \"data\" as an"),
        (
            d(r#"{"resultType":"scalar","result":[]}"#),
            "scalar result is not",
        ),
        (
            d(r#"{"resultType":"vector","result":[1,"2"]}"#),
            "vector result",
        ),
        (
            d(r#"{"resultType":"scalar","result":[1,"2",3]}"#),
            "neither",
        ),
        (
            d(r#"{"resultType":"scalar","result":[1,"v"]}"#),
            "value \"v\"",
        ),
        (
            d(r#"{"resultType":"x\u001b[1m","result":[]}"#),
            "resultType \"x\"",
        ),
        (d(r#"{"result":[]}"#), "data without resultType"),
        (d(r#"{"resultType":"matrix"}"#), "data without result"),
        (
            r#"{"status":"success","warnings":"w","data":[]}"#.into(),
            "warn",
        ),
    ];
    assert_eq!(
        bad_shape(&cases[5].0),
        "expected a [time, value] sample, got a number"
    );
    for (body, want) in &cases {
        let got = bad_shape(body);
        assert!(got.contains(want), "{body}: {got}");
    }
    let long = format!("{}\\u001b[2J", "9".repeat(300));
    let msg = bad_shape(&m(&format!(r#"{{"values":[[1,"z{long}"]]}}"#)));
    assert!(msg.chars().count() <= 60 && msg.ends_with("…\""), "{msg}");
    let e = err(br#"{"status":"error","errorType":5,"error":{"x":"y"},"data":{"result":7}}"#);
    assert_eq!(e.to_string(), "HTTP 200: unknown error");
}

#[test]
fn sizes_are_human() {
    let f: Vec<String> = [0, 1023, 1024, 1229, 16 << 20]
        .into_iter()
        .map(fmt_size)
        .collect();
    assert_eq!(f, ["0 B", "1023 B", "1.0 KiB", "1.2 KiB", "16.0 MiB"]);
}

#[test]
fn no_panic_on_cut_or_corrupted_bodies() {
    let body = r#"{"status":"success","warnings":["w"],"data":{"resultType":"matrix","result":[
      {"metric":{"a":"b\u00e9"},"values":[[1.5,"1"],[2,"NaN"]]},{"metric":{},"value":[1,"2"]}]}}"#;
    let b = body.as_bytes();
    for cut in 0..b.len() {
        let _ = parse_body(200, None, &b[..cut], 1);
        let _ = parse_strings(200, None, &b[..cut], 1);
    }
    for i in 0..b.len() {
        for x in [0u8, b'"', b'[', b'}', 0xff, b'1', b'\\'] {
            let mut c = b.to_vec();
            c[i] = x;
            let _ = parse_body(200, Some("text/html"), &c, 1);
        }
    }
}
