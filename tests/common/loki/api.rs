//! The plain HTTP endpoints: parameters parsed as pkg/loghttp does, answers
//! shaped as pkg/util/marshal writes them.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::logql::{self, parse, Expr, LogQuery, Row};
use super::{json, now_ns, Entry, Req, Resp, Shared};

// ---------------------------------------------------------------- parameters

/// pkg/loghttp/params.go parseTimestamp: float seconds, ≤10 digits seconds, else ns, else RFC3339.
pub(super) fn parse_ts(v: &str, def: i64) -> Result<i64, String> {
    if v.is_empty() {
        return Ok(def);
    }
    if v.contains('.') {
        if let Ok(f) = v.parse::<f64>() {
            let (s, frac) = (f.trunc(), f.fract());
            return Ok(s as i64 * 1_000_000_000 + ((frac * 1000.0).round() as i64) * 1_000_000);
        }
    }
    if let Ok(n) = v.parse::<i64>() {
        return Ok(if v.len() <= 10 { n * 1_000_000_000 } else { n });
    }
    chrono::DateTime::parse_from_rfc3339(v)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .ok_or_else(|| format!("strconv.ParseInt: parsing {v:?}: invalid syntax"))
}

/// determineBounds: end defaults to now, start to min(end, now) - since (default `since_def`).
pub(super) fn bounds(r: &Req, since_def: i64) -> Result<(i64, i64), String> {
    let now = now_ns();
    let since = match r.get("since") {
        "" => since_def,
        s => logql::parse_duration(s).ok_or_else(|| {
            format!("could not parse 'since' parameter: not a valid duration string: {s:?}")
        })?,
    };
    let end =
        parse_ts(r.get("end"), now).map_err(|e| format!("could not parse 'end' parameter: {e}"))?;
    let start = parse_ts(r.get("start"), end.min(now) - since)
        .map_err(|e| format!("could not parse 'start' parameter: {e}"))?;
    Ok((start, end))
}

pub(super) fn limit(r: &Req, def: i64) -> Result<usize, String> {
    let l = match r.get("limit") {
        "" => def,
        s => s
            .parse::<i64>()
            .map_err(|_| format!("strconv.Atoi: parsing {s:?}: invalid syntax"))?,
    };
    if l <= 0 {
        return Err("limit must be a positive value".into());
    }
    Ok(l as usize)
}

/// Step in ms: `step` as float seconds or a duration, else max(floor(range/250), 1) s.
pub(super) fn step_ms(r: &Req, start: i64, end: i64) -> Result<i64, String> {
    let s = r.get("step");
    let ms = if s.is_empty() {
        ((end - start) as f64 / 1e9 / 250.0).floor().max(1.0) as i64 * 1000
    } else if let Ok(f) = s.parse::<f64>() {
        (f * 1000.0) as i64
    } else {
        logql::parse_duration(s).ok_or_else(|| format!("cannot parse {s:?} to a valid duration"))?
            / 1_000_000
    };
    if ms <= 0 {
        return Err("zero or negative query resolution step widths are not accepted. Try a positive integer".into());
    }
    if (end - start) / 1_000_000 / ms > 11000 {
        return Err("exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter".into());
    }
    Ok(ms)
}

// ---------------------------------------------------------------- JSON

pub(super) fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

pub(super) fn obj<'a>(pairs: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
    let body: Vec<String> = pairs
        .into_iter()
        .map(|(k, v)| format!("{}:{}", js(k), js(v)))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// Prometheus' labels.String(), used to order streams and series like Loki.
pub(super) fn label_string(l: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", parts.join(", "))
}

/// model.Time's JSON: seconds, with up to 3 decimals.
pub(super) fn secs(ms: i64) -> String {
    if ms % 1000 == 0 {
        (ms / 1000).to_string()
    } else {
        format!("{}.{:03}", ms / 1000, ms % 1000)
            .trim_end_matches('0')
            .to_string()
    }
}

/// A stream's label object and one value, per categorize-labels or not.
pub(super) fn stream_value(e: &Entry, row: &Row, cats: bool) -> (BTreeMap<String, String>, String) {
    let mut v = format!("[\"{}\",{}", e.ts, js(&e.line));
    if cats {
        let mut parts = Vec::new();
        if !row.meta.is_empty() {
            parts.push(format!(
                "\"structuredMetadata\":{}",
                obj(row.meta.iter().map(|(k, v)| (k, v)))
            ));
        }
        if !row.parsed.is_empty() {
            parts.push(format!(
                "\"parsed\":{}",
                obj(row.parsed.iter().map(|(k, v)| (k, v)))
            ));
        }
        v.push_str(&format!(",{{{}}}", parts.join(",")));
    }
    v.push(']');
    (
        if cats {
            row.stream.clone()
        } else {
            row.merged()
        },
        v,
    )
}

pub(super) fn stats(lines: usize, bytes: usize, returned: usize) -> String {
    let cache = serde_json::json!({"entriesFound":0,"entriesRequested":0,"entriesStored":0,"bytesReceived":0,
        "bytesSent":0,"requests":0,"downloadTime":0,"queryLengthServed":0});
    let store = |l: usize, b: usize| {
        serde_json::json!({"chunksDownloadTime":0,"congestionControlLatency":0,
        "totalChunksRef":0,"totalChunksDownloaded":0,"chunkRefsFetchTime":0,"queryReferencedStructuredMetadata":false,
        "chunk":{"compressedBytes":b/3,"decompressedBytes":b,"decompressedLines":l,"decompressedStructuredMetadataBytes":0,
            "headChunkBytes":0,"headChunkLines":0,"headChunkStructuredMetadataBytes":0,"postFilterLines":l,"totalDuplicates":0}})
    };
    let exec = 0.000_5 + lines as f64 * 1e-6;
    serde_json::json!({
        "index": {"bloomFilterTime":0,"chunkRefsLookupTime":0,"postFilterChunks":0,"totalChunks":0,"totalStreams":0,"usedBloomFilters":false,"shardsDuration":0},
        "ingester": {"store": store(lines, bytes), "totalBatches": 1, "totalChunksMatched": 1, "totalLinesSent": returned, "totalReached": 1},
        "querier": {"querierExecTime": exec, "store": store(0, 0)},
        "cache": {"chunk":cache,"index":cache,"statsResult":cache,"seriesResult":cache,"labelResult":cache,
            "volumeResult":cache,"instantMetricResult":cache,"result":cache,"logResult":cache,"taskResult":cache},
        "summary": {"bytesProcessedPerSecond": (bytes as f64 / exec) as i64, "execTime": exec,
            "linesProcessedPerSecond": (lines as f64 / exec) as i64, "queueTime": 0.000_1, "shards": 1, "splits": 1,
            "subqueries": 0, "totalBytesProcessed": bytes, "totalEntriesReturned": returned, "totalLinesProcessed": lines,
            "totalStructuredMetadataBytesProcessed": 0, "totalPostFilterLines": lines}
    })
    .to_string()
}

pub(super) fn envelope(result_type: &str, cats: bool, result: &str, stats: &str) -> String {
    let flags = if cats {
        ",\"encodingFlags\":[\"categorize-labels\"]"
    } else {
        ""
    };
    format!("{{\"status\":\"success\",\"data\":{{\"resultType\":\"{result_type}\"{flags},\"result\":{result},\"stats\":{stats}}}}}\n")
}

// ---------------------------------------------------------------- endpoints

/// Entries this request may see, with timestamps in [start, end).
pub(super) fn visible(sh: &Shared, vis: bool, start: i64, end: i64) -> Vec<Arc<Entry>> {
    if !vis {
        return Vec::new();
    }
    let st = sh.store.lock().unwrap();
    st.entries
        .iter()
        .filter(|e| e.ts >= start && e.ts < end)
        .cloned()
        .collect()
}

pub(super) fn query_range(sh: &Shared, r: &Req, vis: bool) -> Result<Resp, String> {
    let (start, end) = bounds(r, 3_600_000_000_000)?;
    if end < start {
        return Err("end timestamp must not be before or equal to start time".into());
    }
    let lim = limit(r, 100)?;
    let backward = match r.get("direction").to_lowercase().as_str() {
        "" | "backward" => true,
        "forward" => false,
        _ => return Err(format!("invalid direction '{}'", r.get("direction"))),
    };
    let step = step_ms(r, start, end)?;
    match parse(r.get("query"))? {
        Expr::Log(q) => {
            if lim > sh.opts.max_entries_limit {
                return Err(format!(
                    "max entries limit per query exceeded, limit > max_entries_limit_per_query ({lim} > {})",
                    sh.opts.max_entries_limit
                ));
            }
            let mut scanned = visible(sh, vis, start, end);
            // walk in the query's direction and stop once `lim` rows are
            // found and the timestamp moves on (rows of that last timestamp
            // are then ordered by stream below, as Loki's merge does)
            scanned.sort_by_key(|e| (e.ts, e.seq));
            if backward {
                scanned.reverse();
            }
            let mut rows: Vec<(Arc<Entry>, Row)> = Vec::new();
            let mut read = 0;
            for e in &scanned {
                if rows.len() >= lim && rows.last().is_some_and(|(l, _)| l.ts != e.ts) {
                    break;
                }
                read += 1;
                if let Some(row) = q.process(&e.labels, &e.line, &e.meta) {
                    rows.push((e.clone(), row));
                }
            }
            scanned.truncate(read);
            // (timestamp, stream, arrival); keys are unique through `seq`
            rows.sort_by_cached_key(|(e, row)| (e.ts, label_string(&row.merged()), e.seq));
            if backward {
                rows.reverse();
            }
            rows.truncate(lim);
            let cats = r.categorize();
            let mut streams: BTreeMap<String, (BTreeMap<String, String>, Vec<String>)> =
                BTreeMap::new();
            for (e, row) in &rows {
                let (labels, v) = stream_value(e, row, cats);
                streams
                    .entry(label_string(&labels))
                    .or_insert_with(|| (labels, Vec::new()))
                    .1
                    .push(v);
            }
            let result: Vec<String> = streams
                .values()
                .map(|(l, vs)| format!("{{\"stream\":{},\"values\":[{}]}}", obj(l), vs.join(",")))
                .collect();
            let bytes = scanned.iter().map(|e| e.line.len()).sum();
            let st = stats(scanned.len(), bytes, rows.len());
            Ok(json(envelope(
                "streams",
                cats,
                &format!("[{}]", result.join(",")),
                &st,
            )))
        }
        Expr::Metric(m) => {
            // the frontend's step alignment
            let (s_ms, e_ms) = (
                start / 1_000_000 / step * step,
                end / 1_000_000 / step * step,
            );
            let times: Vec<i64> = (0..)
                .map(|i| s_ms + i * step)
                .take_while(|t| *t <= e_ms)
                .collect();
            let (series, lines) = eval_metric(sh, vis, &m, &times);
            let result: Vec<String> = series
                .values()
                .map(|(l, pts)| {
                    let vs: Vec<String> = pts
                        .iter()
                        .map(|(t, v)| format!("[{},{}]", secs(*t), js(&fmt_f(*v))))
                        .collect();
                    format!("{{\"metric\":{},\"values\":[{}]}}", obj(l), vs.join(","))
                })
                .collect();
            Ok(json(envelope(
                "matrix",
                false,
                &format!("[{}]", result.join(",")),
                &stats(lines, 0, 0),
            )))
        }
    }
}

pub(super) fn query_instant(sh: &Shared, r: &Req, vis: bool) -> Result<Resp, String> {
    limit(r, 100)?;
    let t = parse_ts(r.get("time"), now_ns())? / 1_000_000;
    match parse(r.get("query"))? {
        Expr::Log(_) => Err("log queries are not supported as an instant query type, please change your query to a range query type".into()),
        Expr::Metric(m) => {
            let (series, lines) = eval_metric(sh, vis, &m, &[t]);
            let result: Vec<String> = series
                .values()
                .map(|(l, pts)| format!("{{\"metric\":{},\"value\":[{},{}]}}", obj(l), secs(t), js(&fmt_f(pts[0].1))))
                .collect();
            Ok(json(envelope("vector", false, &format!("[{}]", result.join(",")), &stats(lines, 0, 0))))
        }
    }
}

/// Go's FormatFloat(v, 'f', -1, 64).
pub(super) fn fmt_f(v: f64) -> String {
    format!("{v}")
}

pub(super) type Labels = BTreeMap<String, String>;
/// Series keyed by label string, each with its non-empty points.
pub(super) type Series = BTreeMap<String, (Labels, Vec<(i64, f64)>)>;

/// Evaluates a range aggregation at each time (ms): entries in (t - range, t].
pub(super) fn eval_metric(
    sh: &Shared,
    vis: bool,
    m: &logql::Metric,
    times: &[i64],
) -> (Series, usize) {
    let (Some(first), Some(last)) = (times.first(), times.last()) else {
        return (BTreeMap::new(), 0);
    };
    let scanned = visible(
        sh,
        vis,
        first * 1_000_000 - m.range_ns + 1,
        last * 1_000_000 + 1,
    );
    let mut counts: BTreeMap<String, (Labels, BTreeMap<i64, f64>)> = BTreeMap::new();
    for e in &scanned {
        let Some(row) = m.log.process(&e.labels, &e.line, &e.meta) else {
            continue;
        };
        let labels = match &m.sum_by {
            None => row.merged(),
            Some(None) => BTreeMap::new(),
            Some(Some(by)) => {
                let all = row.merged();
                by.iter()
                    .filter_map(|l| {
                        let v = match all.get(l) {
                            Some(v) => v.clone(),
                            None if l == "detected_level" => logql::detected_level(&row, &e.line),
                            None => return None,
                        };
                        Some((l.clone(), v))
                    })
                    .filter(|(_, v)| !v.is_empty())
                    .collect()
            }
        };
        let slot = counts
            .entry(label_string(&labels))
            .or_insert_with(|| (labels, BTreeMap::new()));
        for t in times {
            let t_ns = t * 1_000_000;
            if e.ts <= t_ns && e.ts > t_ns - m.range_ns {
                *slot.1.entry(*t).or_insert(0.0) += 1.0;
            }
        }
    }
    let per = if m.func == "rate" {
        m.range_ns as f64 / 1e9
    } else {
        1.0
    };
    let series = counts
        .into_iter()
        .filter(|(_, (_, pts))| !pts.is_empty())
        .map(|(k, (l, pts))| (k, (l, pts.into_iter().map(|(t, c)| (t, c / per)).collect())))
        .collect();
    (series, scanned.len())
}

/// A query that must be a selector alone (labels, series, volume).
pub(super) fn selector(q: &str) -> Result<LogQuery, String> {
    match parse(q)? {
        Expr::Log(l) => Ok(l),
        Expr::Metric(_) => Err("only label matchers are supported".into()),
    }
}

pub(super) fn labels(sh: &Shared, r: &Req, vis: bool, name: Option<&str>) -> Result<Resp, String> {
    let (start, end) = bounds(r, 3_600_000_000_000)?;
    let q = match r.get("query") {
        "" => None,
        s => Some(selector(s)?),
    };
    let mut out = std::collections::BTreeSet::new();
    for e in visible(sh, vis, start, end + 1) {
        if q.as_ref().is_some_and(|q| !q.selects(&e.labels)) {
            continue;
        }
        match name {
            None => out.extend(e.labels.keys().cloned()),
            Some(n) => out.extend(e.labels.get(n).cloned()),
        }
    }
    // LabelResponse's `data` is omitempty
    if out.is_empty() {
        return Ok(json("{\"status\":\"success\"}\n".into()));
    }
    let data: Vec<String> = out.iter().map(|s| js(s)).collect();
    Ok(json(format!(
        "{{\"status\":\"success\",\"data\":[{}]}}\n",
        data.join(",")
    )))
}

pub(super) fn series(sh: &Shared, r: &Req, vis: bool) -> Result<Resp, String> {
    let (start, end) = bounds(r, 3_600_000_000_000)?;
    let mut groups: Vec<&str> = r
        .form
        .iter()
        .filter(|(k, _)| k == "match[]" || k == "match")
        .map(|(_, v)| v.as_str())
        .collect();
    groups.sort();
    groups.dedup();
    if groups.len() == 1 && groups[0].replace(' ', "") == "{}" {
        groups.clear();
    }
    let sels = groups
        .iter()
        .map(|g| selector(g))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = BTreeMap::new();
    for e in visible(sh, vis, start, end + 1) {
        if sels.is_empty() || sels.iter().any(|s| s.selects(&e.labels)) {
            out.insert(label_string(&e.labels), obj(&e.labels));
        }
    }
    let data: Vec<String> = out.into_values().collect();
    Ok(json(format!(
        "{{\"status\":\"success\",\"data\":[{}]}}\n",
        data.join(",")
    )))
}

pub(super) fn volume(sh: &Shared, r: &Req, vis: bool) -> Result<Resp, String> {
    let lim = match r.get("limit") {
        "" | "0" => 100,
        _ => limit(r, 100)?,
    };
    let by_labels = match r.get("aggregateBy") {
        "" | "series" => false,
        "labels" => true,
        _ => return Err("invalid aggregation option".into()),
    };
    let (start, end) = bounds(r, 3_600_000_000_000)?;
    let q = selector(r.get("query"))?;
    let targets: Vec<String> = match r.get("targetLabels") {
        "" => q.matchers.iter().map(|m| m.name.clone()).collect(),
        t => t.split(',').map(str::to_string).collect(),
    };
    let mut vols: BTreeMap<String, (BTreeMap<String, String>, u64)> = BTreeMap::new();
    for e in visible(sh, vis, start, end + 1)
        .iter()
        .filter(|e| q.selects(&e.labels))
    {
        let present = targets.iter().filter(|t| e.labels.contains_key(*t));
        let keys: Vec<BTreeMap<String, String>> = if by_labels {
            present
                .map(|t| BTreeMap::from([(t.clone(), String::new())]))
                .collect()
        } else {
            vec![present.map(|t| (t.clone(), e.labels[t].clone())).collect()]
        };
        for k in keys {
            vols.entry(label_string(&k)).or_insert_with(|| (k, 0)).1 += e.line.len() as u64;
        }
    }
    let mut v: Vec<(String, BTreeMap<String, String>, u64)> =
        vols.into_iter().map(|(k, (l, b))| (k, l, b)).collect();
    v.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    v.truncate(lim);
    let t = secs(end / 1_000_000);
    let result: Vec<String> = v
        .iter()
        .map(|(_, l, b)| format!("{{\"metric\":{},\"value\":[{t},\"{b}\"]}}", obj(l)))
        .collect();
    Ok(json(envelope(
        "vector",
        false,
        &format!("[{}]", result.join(",")),
        &stats(0, 0, 0),
    )))
}

/// A line's pattern: numbers, hex and UUIDs become `<_>`.
pub(super) fn pattern_of(line: &str) -> String {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|0x[0-9a-fA-F]+|\b[0-9a-fA-F]*[0-9][0-9a-fA-F]*\b|\d+(\.\d+)?[a-zµ]*",
        )
        .unwrap()
    });
    re.replace_all(line, "<_>").into_owned()
}

pub(super) fn patterns(sh: &Shared, r: &Req, vis: bool) -> Result<Resp, String> {
    let (start, end) = bounds(r, 3_600_000_000_000)?;
    let step = step_ms(r, start, end)?;
    let q = match parse(r.get("query"))? {
        Expr::Log(l) => l,
        Expr::Metric(_) => return Err("only log queries are supported".into()),
    };
    let mut pats: BTreeMap<(String, String), BTreeMap<i64, i64>> = BTreeMap::new();
    for e in visible(sh, vis, start, end) {
        if let Some(row) = q.process(&e.labels, &e.line, &e.meta) {
            let bucket = e.ts / 1_000_000 / step * step / 1000;
            let key = (pattern_of(&e.line), logql::detected_level(&row, &e.line));
            *pats.entry(key).or_default().entry(bucket).or_insert(0) += 1;
        }
    }
    let mut v: Vec<_> = pats.into_iter().collect();
    v.sort_by_key(|(_, s)| std::cmp::Reverse(s.values().sum::<i64>()));
    let data: Vec<String> = v
        .iter()
        .map(|((p, lvl), s)| {
            let samples: Vec<String> = s.iter().map(|(t, c)| format!("[{t},{c}]")).collect();
            format!(
                "{{\"pattern\":{},\"level\":{},\"samples\":[{}]}}",
                js(p),
                js(lvl),
                samples.join(",")
            )
        })
        .collect();
    Ok(json(format!(
        "{{\"status\":\"success\",\"data\":[{}]}}\n",
        data.join(",")
    )))
}
