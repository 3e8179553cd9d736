//! Tests of the Loki wire format (`mod.rs` and its parse stages).

use std::sync::Arc;

use crate::features::logs::client::wire::*;

#[test]
fn streams_envelope_merges_streams_oldest_first_and_keeps_twins() {
    let body = br#"{"status":"success","data":{"resultType":"streams","result":[
        {"stream":{"pod":"a","namespace":"n"},"values":[["1700000000000000002","a2"],["1700000000000000001","a1"]]},
        {"stream":{"pod":"b"},"values":[["1700000000000000001","b1"]]}],
        "stats":{"summary":{"bytesProcessedPerSecond":1}}}}"#;
    let QueryAnswer::Streams(e) = parse_query(body).unwrap() else {
        panic!()
    };
    let got: Vec<_> = e.iter().map(|e| (e.ts_ns, e.line.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (1700000000000000001, "a1"),
            (1700000000000000001, "b1"),
            (1700000000000000002, "a2")
        ]
    );
    assert_eq!(
        &*e[0].labels,
        &[("namespace".into(), "n".into()), ("pod".into(), "a".into())]
    );
}

#[test]
fn categorized_entries_carry_structured_metadata() {
    let body = br#"{"status":"success","data":{"resultType":"streams","encodingFlags":["categorize-labels"],"result":[
        {"stream":{"app":"x"},"values":[["5","l1",{"structuredMetadata":{"trace_id":"abc"},"parsed":{"level":"error"}}],["6","l2",{}],["7","l3"]]}]}}"#;
    let QueryAnswer::Streams(e) = parse_query(body).unwrap() else {
        panic!()
    };
    assert_eq!(
        e[0].meta,
        vec![
            ("trace_id".into(), "abc".into()),
            ("level".into(), "error".into())
        ]
    );
    assert!(e[1].meta.is_empty() && e[2].meta.is_empty());
}

#[test]
fn matrix_envelope_has_seconds_and_string_values() {
    let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{"level":"error"},"values":[[1700000000,"3"],[1700000060.5,"4"]]}]}}"#;
    let QueryAnswer::Matrix(m) = parse_query(body).unwrap() else {
        panic!()
    };
    assert_eq!(
        m[0].points,
        vec![(1700000000000, 3.0), (1700000060500, 4.0)]
    );
}

#[test]
fn tail_message_with_dropped_entries_in_either_timestamp_form() {
    let m = parse_tail(
        r#"{"streams":[{"stream":{"a":"b"},"values":[["10","x"]]}],
           "dropped_entries":[{"labels":{"a":"b"},"timestamp":"9"},
                              {"labels":{"a":"c"},"timestamp":"1970-01-01T00:00:00.000000008Z"}]}"#,
    )
    .unwrap();
    assert_eq!(m.entries.len(), 1);
    assert_eq!(m.dropped[0].ts_ns, 9);
    assert_eq!(m.dropped[1].ts_ns, 8);
    assert!(parse_tail(r#"{"streams":[]}"#).unwrap().dropped.is_empty());
}

#[test]
fn invalid_utf8_in_a_line_does_not_lose_the_answer() {
    let mut body = br#"{"status":"success","data":{"resultType":"streams","result":[{"stream":{"a":"b"},"values":[["1","bad "#.to_vec();
    body.extend_from_slice(&[0xff, 0xfe]);
    body.extend_from_slice(br#" end"]]}]}}"#);
    let QueryAnswer::Streams(e) = parse_query(&body).unwrap() else {
        panic!()
    };
    assert_eq!(e[0].line, "bad \u{fffd}\u{fffd} end");
}

#[test]
fn labels_are_capped_like_lines() {
    let big = "x".repeat(100_000);
    let body = format!(r#"{{"streams":[{{"stream":{{"big":"{big}"}},"values":[["1","l"]]}}]}}"#);
    let m = parse_tail(&body).unwrap();
    assert!(m.entries[0].labels[0].1.len() <= MAX_LABEL_BYTES + 3);
}

#[test]
fn errors_and_garbage_say_what_went_wrong() {
    assert!(parse_query(b"<html>").unwrap_err().contains("invalid JSON"));
    assert_eq!(
        parse_query(br#"{"status":"error","error":"boom"}"#).unwrap_err(),
        "boom"
    );
    assert!(
        parse_query(br#"{"status":"success","data":{"resultType":"scalar","result":[]}}"#).is_err()
    );
}

/// Two streams interleaved in time, a tie at 20 across them, sent as
/// Loki would for a query that ignored `limit`.
const TWO_STREAMS: &str = r#"{"status":"success","data":{"resultType":"streams","result":[
    {"stream":{"s":"a"},"values":[["40","a40"],["20","a20"],["10","a10"]]},
    {"values":[["50","b50"],["20","b20"],["30","b30"]],"stream":{"s":"b"}}]}}"#;

fn lines(a: QueryAnswer) -> Vec<String> {
    let QueryAnswer::Streams(e) = a else { panic!() };
    e.into_iter().map(|e| e.line).collect()
}

#[test]
fn a_limit_keeps_the_oldest_forward_and_counts_the_rest() {
    let (a, left) = parse_query_limited(TWO_STREAMS.as_bytes(), 2, true).unwrap();
    // the tie at 20 is cut: the first sent wins
    assert_eq!((lines(a), left), (vec!["a10".to_string(), "a20".into()], 4));
    let (a, left) = parse_query_limited(TWO_STREAMS.as_bytes(), 3, true).unwrap();
    assert_eq!(
        (lines(a), left),
        (vec!["a10".into(), "a20".into(), "b20".into()], 3)
    );
    let (a, left) = parse_query_limited(TWO_STREAMS.as_bytes(), 100, true).unwrap();
    assert_eq!(left, 0);
    assert_eq!(
        lines(a),
        lines(parse_query(TWO_STREAMS.as_bytes()).unwrap()),
        "a limit above the answer keeps everything, as parse_query"
    );
    let (a, left) = parse_query_limited(TWO_STREAMS.as_bytes(), 0, true).unwrap();
    assert_eq!((lines(a).len(), left), (0, 6));
}

#[test]
fn a_limit_keeps_the_newest_backward_oldest_first() {
    let (a, left) = parse_query_limited(TWO_STREAMS.as_bytes(), 3, false).unwrap();
    assert_eq!(
        (lines(a), left),
        (vec!["b30".into(), "a40".into(), "b50".into()], 3)
    );
    let (a, left) = parse_query_limited(TWO_STREAMS.as_bytes(), 4, false).unwrap();
    // at the tie the first sent is kept
    assert_eq!(
        (lines(a), left),
        (
            vec!["a20".into(), "b30".into(), "a40".into(), "b50".into()],
            2
        )
    );
    // labels follow their entries whichever key came first
    let (QueryAnswer::Streams(e), _) =
        parse_query_limited(TWO_STREAMS.as_bytes(), 1, false).unwrap()
    else {
        panic!()
    };
    assert_eq!(&*e[0].labels, &[("s".to_string(), "b".to_string())]);
}

#[test]
fn entries_beyond_the_limit_are_skipped_unread() {
    // a line that is not a string fails only if it is read
    let body = br#"{"status":"success","data":{"resultType":"streams","result":[
        {"stream":{"s":"a"},"values":[["1","kept"],["2",{"not":"a line"},{"structuredMetadata":7}]]}]}}"#;
    let (a, left) = parse_query_limited(body, 1, true).unwrap();
    assert_eq!((lines(a), left), (vec!["kept".to_string()], 1));
    assert!(parse_query(body).is_err());
}

#[test]
fn raw_label_texts_share_one_labels_per_stream() {
    let m = parse_tail(
        r#"{"streams":[
          {"stream":{"pod":"a\"b","ns":"n"},"values":[["1","l1"]]},
          {"stream":{"pod":"x"},"values":[["2","l2"]]},
          {"stream":{"pod":"a\"b","ns":"n"},"values":[["3","l3"]]},
          {"stream":{ "ns" : "\u006e", "pod":"a\u0022b" },"values":[["4","l4"]]},
          {"stream":{"pod":"x"},"values":[["5","l5"]]}]}"#,
    )
    .unwrap();
    let l: Vec<&Labels> = m.entries.iter().map(|e| &e.labels).collect();
    let want: Vec<(String, String)> =
        vec![("ns".into(), "n".into()), ("pod".into(), "a\"b".into())];
    assert_eq!(&**l[0], &want[..]);
    assert_eq!(&**l[1], &[("pod".to_string(), "x".to_string())]);
    // the same text: the same Labels; another text of the same labels
    // (key order, spaces, escapes): equal, and shared too
    assert!(Arc::ptr_eq(l[0], l[2]));
    assert!(Arc::ptr_eq(l[1], l[4]));
    assert_eq!(l[3], l[0]);
    assert!(Arc::ptr_eq(l[0], l[3]));
    assert!(!Arc::ptr_eq(l[0], l[1]));
    // what the label map per entry gave: sorted, escapes decoded
    let q = parse_query(
        br#"{"status":"success","data":{"resultType":"streams","result":[
          {"stream":{"z":"\u00e9\ud83d\ude00","a":"t\tb"},"values":[["1","x"]]}]}}"#,
    )
    .unwrap();
    let QueryAnswer::Streams(e) = q else { panic!() };
    assert_eq!(
        &*e[0].labels,
        &[
            ("a".to_string(), "t\tb".to_string()),
            ("z".into(), "é😀".into())
        ]
    );
}

#[test]
fn label_objects_are_bounded_while_read() {
    // more labels than kept: the smallest names, as sorting then capping
    let pairs: Vec<String> = (0..MAX_LABELS + 40)
        .rev()
        .map(|i| format!(r#""k{i:03}":"v{i}""#))
        .collect();
    let body = format!(
        r#"{{"streams":[{{"stream":{{{}}},"values":[["1","l"]]}}]}}"#,
        pairs.join(",")
    );
    let l = parse_tail(&body).unwrap().entries[0].labels.clone();
    assert_eq!(l.len(), MAX_LABELS);
    assert_eq!(l[0].0, "k000");
    assert_eq!(l[MAX_LABELS - 1].0, format!("k{:03}", MAX_LABELS - 1));
    // a repeated name keeps its last value
    let m = parse_tail(r#"{"streams":[{"stream":{"a":"1","a":"2"},"values":[["1","l"]]}]}"#);
    assert_eq!(
        &*m.unwrap().entries[0].labels,
        &[("a".to_string(), "2".to_string())]
    );
}

#[test]
fn lists_are_capped_while_parsed_and_the_rest_counted() {
    let long = "v".repeat(1000);
    let body = format!(r#"{{"status":"success","data":["a","{long}","c","d"]}}"#);
    let (v, more) = parse_strings_capped(body.as_bytes(), 2).unwrap();
    assert_eq!((v.len(), more), (2, 2));
    assert!(v[1].len() <= MAX_LABEL_BYTES + 3 && v[1].ends_with('…'));
    assert_eq!(parse_strings(body.as_bytes()).unwrap().len(), 4);
    let body = br#"{"status":"success","data":[{"a":"1"},{"b":"2"},{"a":"1"}]}"#;
    let (s, more) = parse_series_capped(body, 10).unwrap();
    assert_eq!((s.len(), more), (3, 0));
    assert!(Arc::ptr_eq(&s[0], &s[2]));
    assert_eq!(parse_series_capped(body, 1).unwrap().1, 2);
    let series: Vec<String> = (0..MAX_SERIES + 3)
        .map(|i| format!(r#"{{"metric":{{"i":"{i}"}},"values":[[1,"1"]]}}"#))
        .collect();
    let body = format!(
        r#"{{"status":"success","data":{{"resultType":"matrix","result":[{}]}}}}"#,
        series.join(",")
    );
    let (QueryAnswer::Matrix(m), left) = parse_query_limited(body.as_bytes(), 100, true).unwrap()
    else {
        panic!()
    };
    assert_eq!((m.len(), left), (MAX_SERIES, 3));
}

#[test]
fn patterns_sum_samples_and_sort_by_count() {
    let p = parse_patterns(
        br#"{"status":"success","data":[
          {"pattern":"a <_>","samples":[[1700000000,2],[1700000010,3]]},
          {"pattern":"b <_>","level":"error","samples":[[1700000000,9]]}]}"#,
    )
    .unwrap();
    assert_eq!((p[0].pattern.as_str(), p[0].count), ("b <_>", 9));
    assert_eq!(
        (p[1].count, p[1].first_ms, p[1].last_ms),
        (5, 1700000000000, 1700000010000)
    );
}
