//! Recognises the BEAM "memory sampler" snapshot log line (seed 000,
//! "Memory sampler logs"): when BEAM or cgroup memory crosses a threshold
//! the app logs role metadata, memory categories, cgroup memory stats,
//! process and port counts, and the top processes by memory, by message
//! queue length, and the top ETS tables by memory.
//!
//! The shape the demo emits (one line):
//!
//! ```json
//! {"msg":"memory sampler snapshot","role":"api","pod":"app-1",
//!  "memory":{"total":1,"processes":1,"binary":1,"ets":1,"code":1,"atom":1,"system":1},
//!  "cgroup":{"usage":1,"limit":1,"rss":1,"cache":1,"working_set":1},
//!  "process_count":1,"port_count":1,
//!  "top_processes_by_memory":[{"pid":"<0.123.0>","name":"Elixir.Foo","memory":1,"message_queue_len":0}],
//!  "top_processes_by_message_queue":[...],
//!  "top_ets_tables":[{"name":"t","memory":1,"size":1}]}
//! ```
//!
//! Variants accepted: snake_case, camelCase or kebab keys; nested (`memory:
//! {total}`) or flat (`memory_total`, `memory_total_bytes`,
//! `vm_memory_total_bytes`) categories; numbers, numeric strings or sizes
//! (`"1.2GiB"`); the snapshot wrapped in one object (`{"metadata":{…}}`), in
//! a JSON string (`{"message":"{…}"}`), after a text prefix (`12:00:00.123
//! [info] {…}`), or as logfmt with the lists as JSON strings
//! (`memory_total=… top_ets_tables="[{…}]"`).

use std::collections::HashMap;

use serde_json::Value;

use crate::text::logfields::{fields, FieldKind};

/// One memory sampler snapshot. Byte values are as logged (the demo logs
/// bytes); absent values are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub role: Option<String>,
    pub pod: Option<String>,
    pub memory: Memory,
    pub cgroup: Cgroup,
    pub process_count: Option<u64>,
    pub port_count: Option<u64>,
    pub top_processes_by_memory: Vec<Proc>,
    pub top_processes_by_message_queue: Vec<Proc>,
    pub top_ets_tables: Vec<EtsTable>,
}

/// BEAM memory categories (`:erlang.memory/0`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memory {
    pub total: Option<u64>,
    pub processes: Option<u64>,
    pub binary: Option<u64>,
    pub ets: Option<u64>,
    pub code: Option<u64>,
    pub atom: Option<u64>,
    pub system: Option<u64>,
}

/// cgroup memory stats of the container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cgroup {
    pub usage: Option<u64>,
    pub limit: Option<u64>,
    pub rss: Option<u64>,
    pub cache: Option<u64>,
    pub working_set: Option<u64>,
}

/// A process in a top list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proc {
    pub pid: Option<String>,
    /// Registered name, else initial call or label.
    pub name: Option<String>,
    pub memory: Option<u64>,
    pub message_queue_len: Option<u64>,
}

/// An ETS table in the top list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EtsTable {
    pub name: Option<String>,
    pub memory: Option<u64>,
    /// Number of objects.
    pub size: Option<u64>,
}

/// Entries kept per top list.
const MAX_LIST: usize = 100;

/// The snapshot in `line`, or `None` unless it has at least two memory
/// categories and at least one of the three top lists (so an ordinary JSON
/// line mentioning memory is not taken for one). Lines without `emory` and
/// `top`/`Top` are rejected before any parsing. Strings come back sanitised
/// and redacted. It does not check that the numbers are consistent.
pub fn parse(line: &str) -> Option<Snapshot> {
    if !line.contains("emory") || !(line.contains("top") || line.contains("Top")) {
        return None;
    }
    let root = root(line.trim())?;
    if let Some(s) = snapshot(&flatten(&root)) {
        return Some(s);
    }
    let Value::Object(o) = &root else {
        return None;
    };
    o.values().find_map(|v| match v {
        Value::Object(_) => snapshot(&flatten(v)),
        Value::String(s) if s.trim_start().starts_with('{') => serde_json::from_str::<Value>(s)
            .ok()
            .and_then(|inner| snapshot(&flatten(&inner))),
        _ => None,
    })
}

/// The line as one JSON value: an object, an object after a text prefix, or
/// logfmt pairs (list values parsed as JSON).
fn root(t: &str) -> Option<Value> {
    if let Some(p) = t.find('{') {
        if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(&t[p..]) {
            return Some(v);
        }
    }
    let f = fields(t).filter(|f| f.kind == FieldKind::Logfmt)?;
    let obj = f.pairs.into_iter().map(|(k, v)| {
        let parsed = match v.trim_start().as_bytes().first() {
            Some(b'[' | b'{') => serde_json::from_str(&v).ok(),
            _ => None,
        };
        (k, parsed.unwrap_or(Value::String(v)))
    });
    Some(Value::Object(obj.collect()))
}

/// Keys lower-cased without `_ - . ` and space, nested keys concatenated.
type Flat<'a> = HashMap<String, &'a Value>;

fn norm(k: &str) -> String {
    k.chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

fn flatten(v: &Value) -> Flat<'_> {
    fn walk<'a>(v: &'a Value, prefix: &str, depth: u8, out: &mut Flat<'a>) {
        match v {
            Value::Object(o) if depth < 6 => {
                for (k, v) in o {
                    walk(v, &format!("{prefix}{}", norm(k)), depth + 1, out);
                }
            }
            _ => {
                out.entry(prefix.to_owned()).or_insert(v);
            }
        }
    }
    let mut out = Flat::new();
    walk(v, "", 0, &mut out);
    out
}

/// A non-negative number, a numeric string, or a size like `1.2GiB`.
fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f.round() as u64)),
        Value::String(s) => {
            let s = s.trim();
            match s.parse::<f64>() {
                Ok(f) if f >= 0.0 && f.is_finite() => Some(f.round() as u64),
                Ok(_) => None,
                Err(_) => crate::text::units::parse_bytes(s).ok(),
            }
        }
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some(crate::text::display(&s).into_owned())
}

/// The first of `keys` (normalised) present in `f`, each also tried with a
/// `bytes` suffix.
fn get<'a>(f: &Flat<'a>, keys: &[&str]) -> Option<&'a Value> {
    keys.iter()
        .find_map(|k| f.get(*k).or_else(|| f.get(&format!("{k}bytes"))))
        .copied()
}

fn num(f: &Flat<'_>, keys: &[&str]) -> Option<u64> {
    keys.iter().find_map(|k| get(f, &[k]).and_then(number))
}

fn str_of(f: &Flat<'_>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| get(f, &[k]).and_then(text))
}

fn list<T>(f: &Flat<'_>, keys: &[&str], item: impl Fn(&Flat<'_>) -> Option<T>) -> Option<Vec<T>> {
    let Value::Array(a) = get(f, keys)? else {
        return None;
    };
    Some(
        a.iter()
            .map(flatten)
            .filter_map(|e| item(&e))
            .take(MAX_LIST)
            .collect(),
    )
}

fn category(f: &Flat<'_>, cat: &str) -> Option<u64> {
    let keys = [
        format!("memory{cat}"),
        format!("vmmemory{cat}"),
        format!("mem{cat}"),
        format!("beammemory{cat}"),
    ];
    num(f, &keys.iter().map(String::as_str).collect::<Vec<_>>())
}

fn cgroup(f: &Flat<'_>, stat: &str) -> Option<u64> {
    let keys = [
        format!("cgroup{stat}"),
        format!("cgroupmemory{stat}"),
        format!("container{stat}"),
    ];
    num(f, &keys.iter().map(String::as_str).collect::<Vec<_>>())
}

fn process(e: &Flat<'_>) -> Option<Proc> {
    let p = Proc {
        pid: str_of(e, &["pid"]),
        name: str_of(e, &["name", "registeredname", "initialcall", "label"]),
        memory: num(e, &["memory"]),
        message_queue_len: num(
            e,
            &["messagequeuelen", "messagequeuelength", "mqlen", "queuelen"],
        ),
    };
    (p.pid.is_some() || p.name.is_some()).then_some(p)
}

fn ets_table(e: &Flat<'_>) -> Option<EtsTable> {
    let t = EtsTable {
        name: str_of(e, &["name", "table", "id"]),
        memory: num(e, &["memory"]),
        size: num(e, &["size", "objects"]),
    };
    t.name.is_some().then_some(t)
}

fn snapshot(f: &Flat<'_>) -> Option<Snapshot> {
    let memory = Memory {
        total: category(f, "total"),
        processes: category(f, "processes"),
        binary: category(f, "binary"),
        ets: category(f, "ets"),
        code: category(f, "code"),
        atom: category(f, "atom"),
        system: category(f, "system"),
    };
    let m = &memory;
    let cats = [
        m.total,
        m.processes,
        m.binary,
        m.ets,
        m.code,
        m.atom,
        m.system,
    ];
    if cats.iter().flatten().count() < 2 {
        return None;
    }
    let by_mem = list(
        f,
        &[
            "topprocessesbymemory",
            "topprocessesmemory",
            "topprocsbymemory",
        ],
        process,
    );
    let by_mq = list(
        f,
        &[
            "topprocessesbymessagequeue",
            "topprocessesbymessagequeuelen",
            "topprocessesbyqueue",
        ],
        process,
    );
    let ets = list(
        f,
        &["topetstables", "topetstablesbymemory", "topets"],
        ets_table,
    );
    if by_mem.is_none() && by_mq.is_none() && ets.is_none() {
        return None;
    }
    Some(Snapshot {
        role: str_of(f, &["role", "releaserole", "approle"]),
        pod: str_of(f, &["pod", "podname", "kubernetespodname", "hostname"]),
        memory,
        cgroup: Cgroup {
            usage: cgroup(f, "usage"),
            limit: cgroup(f, "limit"),
            rss: cgroup(f, "rss"),
            cache: cgroup(f, "cache"),
            working_set: cgroup(f, "workingset"),
        },
        process_count: num(f, &["processcount", "processescount", "countsprocesses"]),
        port_count: num(f, &["portcount", "portscount", "countsports"]),
        top_processes_by_memory: by_mem.unwrap_or_default(),
        top_processes_by_message_queue: by_mq.unwrap_or_default(),
        top_ets_tables: ets.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = r#"{"msg":"memory sampler snapshot","role":"api","pod":"app-1","memory":{"total":1200000000,"processes":400000000,"binary":500000000,"ets":90000000,"code":40000000,"atom":1000000,"system":260000000},"cgroup":{"usage":1710000000,"limit":2000000000,"rss":1500000000,"cache":210000000,"working_set":1650000000},"process_count":48200,"port_count":311,"top_processes_by_memory":[{"pid":"<0.123.0>","name":"Elixir.Foo","memory":52000000,"message_queue_len":3},{"pid":"<0.9.0>","memory":1000}],"top_processes_by_message_queue":[{"pid":"<0.456.0>","name":"Elixir.Gateway.Stream","memory":1000,"message_queue_len":12000}],"top_ets_tables":[{"name":"sessions","memory":80000000,"size":120000}]}"#;

    fn proc(pid: &str, name: Option<&str>, memory: u64, mql: Option<u64>) -> Proc {
        Proc {
            pid: Some(pid.into()),
            name: name.map(Into::into),
            memory: Some(memory),
            message_queue_len: mql,
        }
    }

    fn demo() -> Snapshot {
        Snapshot {
            role: Some("api".into()),
            pod: Some("app-1".into()),
            memory: Memory {
                total: Some(1_200_000_000),
                processes: Some(400_000_000),
                binary: Some(500_000_000),
                ets: Some(90_000_000),
                code: Some(40_000_000),
                atom: Some(1_000_000),
                system: Some(260_000_000),
            },
            cgroup: Cgroup {
                usage: Some(1_710_000_000),
                limit: Some(2_000_000_000),
                rss: Some(1_500_000_000),
                cache: Some(210_000_000),
                working_set: Some(1_650_000_000),
            },
            process_count: Some(48_200),
            port_count: Some(311),
            top_processes_by_memory: vec![
                proc("<0.123.0>", Some("Elixir.Foo"), 52_000_000, Some(3)),
                proc("<0.9.0>", None, 1000, None),
            ],
            top_processes_by_message_queue: vec![proc(
                "<0.456.0>",
                Some("Elixir.Gateway.Stream"),
                1000,
                Some(12_000),
            )],
            top_ets_tables: vec![EtsTable {
                name: Some("sessions".into()),
                memory: Some(80_000_000),
                size: Some(120_000),
            }],
        }
    }

    #[test]
    fn demo_shape_parses_whole() {
        assert_eq!(parse(DEMO), Some(demo()));
    }

    #[test]
    fn wrapped_and_prefixed_variants() {
        let esc = serde_json::to_string(DEMO).unwrap();
        for line in [
            format!(r#"{{"level":"info","metadata":{DEMO}}}"#),
            format!(r#"{{"level":"info","message":{esc}}}"#),
            format!("12:00:00.123 [info] memory sampler snapshot {DEMO}"),
        ] {
            assert_eq!(parse(&line), Some(demo()), "{line}");
        }
    }

    #[test]
    fn camel_case_flat_strings_and_sizes() {
        let line = r#"{"message":"memory sampler snapshot","releaseRole":"worker","podName":"w-2","memoryTotalBytes":"1.5GiB","memoryBinary":"300","vm_memory_ets_bytes":7e3,"cgroupMemoryUsage":"900","cgroupLimit":1000,"cgroupWorkingSet":950,"processCount":"12","portCount":3,"topEtsTables":[{"table":"t1","memoryBytes":"64KiB","objects":5},{"memory":1}],"topProcessesByMessageQueue":[{"pid":"<0.1.0>","registeredName":"q","messageQueueLength":"77"},"junk"]}"#;
        let s = parse(line).unwrap();
        assert_eq!(
            (s.role.as_deref(), s.pod.as_deref()),
            (Some("worker"), Some("w-2"))
        );
        let m = &s.memory;
        assert_eq!(
            (m.total, m.binary, m.ets, m.code),
            (Some(1_610_612_736), Some(300), Some(7000), None)
        );
        let c = &s.cgroup;
        assert_eq!(
            (c.usage, c.limit, c.working_set, c.rss),
            (Some(900), Some(1000), Some(950), None)
        );
        assert_eq!((s.process_count, s.port_count), (Some(12), Some(3)));
        let t = &s.top_ets_tables;
        assert_eq!(t.len(), 1, "an entry without a name is dropped");
        assert_eq!(
            (t[0].name.as_deref(), t[0].memory, t[0].size),
            (Some("t1"), Some(65_536), Some(5))
        );
        let q = &s.top_processes_by_message_queue;
        assert_eq!(
            q,
            &[proc("<0.1.0>", Some("q"), 0, Some(77))].map(|mut p| {
                p.memory = None;
                p
            })
        );
        assert!(s.top_processes_by_memory.is_empty());
    }

    #[test]
    fn logfmt_variant() {
        let line = r#"level=info msg="memory sampler snapshot" role=scheduler memory_total=1000 memory_processes=600 cgroup_usage=2000 top_processes_by_memory="[{\"pid\":\"<0.5.0>\",\"memory\":500}]""#;
        let s = parse(line).unwrap();
        assert_eq!(s.role.as_deref(), Some("scheduler"));
        assert_eq!(
            (s.memory.total, s.memory.processes, s.cgroup.usage),
            (Some(1000), Some(600), Some(2000))
        );
        assert_eq!(
            s.top_processes_by_memory,
            [proc("<0.5.0>", None, 500, None)]
        );
    }

    #[test]
    fn ordinary_lines_are_not_snapshots() {
        for line in [
            r#"{"level":"info","msg":"top memory consumers","memory":{"total":1,"binary":2}}"#,
            r#"{"msg":"x","memory":{"total":1},"top_ets_tables":[]}"#,
            r#"{"level":"warn","msg":"stop","memory_mb":12}"#,
            "memory sampler snapshot top (truncated",
            "level=info msg=\"memory top\" memory_total=1 memory_binary=2",
            r#"{"msg":"memory sampler snapshot","memory":{"total":-1,"binary":"lots"},"top_ets_tables":[]}"#,
            "",
        ] {
            assert_eq!(parse(line), None, "{line}");
        }
        let empty_lists = r#"{"memory":{"total":1,"binary":2},"top_ets_tables":[]}"#;
        assert_eq!(parse(empty_lists).map(|s| s.top_ets_tables.len()), Some(0));
    }

    #[test]
    fn fuzz_total() {
        let mut seed = 0x1234_5678_9ABC_DEF1u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as usize
        };
        let cuts: Vec<usize> = (0..=DEMO.len())
            .filter(|i| DEMO.is_char_boundary(*i))
            .collect();
        for &i in &cuts {
            let _ = parse(&DEMO[..i]);
            let _ = parse(&DEMO[i..]);
        }
        let pieces: Vec<&str> = DEMO.split_inclusive([',', ':', '{', '[']).collect();
        for _ in 0..5_000 {
            let line: String = (0..next() % 40)
                .map(|_| pieces[next() % pieces.len()])
                .collect();
            let _ = parse(&line);
            let bytes: Vec<u8> = (0..next() % 64).map(|_| next() as u8).collect();
            let _ = parse(&format!("memory top {}", String::from_utf8_lossy(&bytes)));
        }
    }
}
