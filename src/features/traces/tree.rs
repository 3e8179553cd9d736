//! Spans into one tree, whatever the backend: children under their parent
//! by start time; a span whose parent is not in the trace becomes a root,
//! flagged orphan; a span id seen twice (Zipkin's shared client/server
//! span, or a broken client) keeps both, the later under the earlier; a
//! child that starts before its parent is moved to its parent's start,
//! flagged skewed; a parent chain that loops is cut. Then the order the
//! waterfall shows (depth first), each span's depth, and the critical
//! path. No recursion: a chain 100,000 spans deep is a trace too.

use std::collections::HashMap;

use super::client::wire::RawSpan;

/// A span of the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub raw: RawSpan,
    /// Index of the parent in [`Trace::spans`].
    pub parent: Option<usize>,
    /// Children, by start time.
    pub children: Vec<usize>,
    pub depth: u32,
    /// Its parent id names no span of the trace.
    pub orphan: bool,
    /// Its span id is another span's too.
    pub duplicate: bool,
    /// It started before its parent: drawn from the parent's start.
    pub skewed: bool,
    pub critical: bool,
}

/// A trace as the waterfall reads it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    pub id: String,
    /// In the order given; `order` is the order shown.
    pub spans: Vec<Span>,
    /// Depth first, children by start time: every span once.
    pub order: Vec<usize>,
    pub roots: Vec<usize>,
    pub start_ns: i64,
    pub end_ns: i64,
    pub warnings: Vec<String>,
    /// The backend said some of it is missing (Tempo PARTIAL).
    pub partial: bool,
    /// Services, in order of first appearance in `order` (found once: a
    /// frame reads them for the title and the colours).
    pub services: Vec<std::sync::Arc<str>>,
    /// Spans that failed.
    pub errors: usize,
}

impl Trace {
    pub fn duration_ns(&self) -> i64 {
        self.end_ns - self.start_ns
    }

    pub fn end_of(&self, i: usize) -> i64 {
        let r = &self.spans[i].raw;
        r.start_ns + r.dur_ns
    }

    /// Services, in order of first appearance.
    pub fn services(&self) -> &[std::sync::Arc<str>] {
        &self.services
    }

    pub fn errors(&self) -> usize {
        self.errors
    }

    /// A service's place in [`services`](Self::services) (its colour).
    pub fn service_index(&self, svc: &str) -> usize {
        self.services.iter().position(|s| &**s == svc).unwrap_or(0)
    }
}

/// Builds the tree of a trace from its spans.
pub fn build(id: &str, raw: Vec<RawSpan>, warnings: Vec<String>, partial: bool) -> Trace {
    let n = raw.len();
    let mut spans: Vec<Span> = raw
        .into_iter()
        .map(|raw| Span {
            raw,
            parent: None,
            children: vec![],
            depth: 0,
            orphan: false,
            duplicate: false,
            skewed: false,
            critical: false,
        })
        .collect();
    // the first span of each id (earliest start) owns it
    let mut by_start: Vec<usize> = (0..n).collect();
    by_start.sort_by_key(|&i| (spans[i].raw.start_ns, i));
    let mut owner: HashMap<&str, usize> = HashMap::with_capacity(n);
    let mut dup_of: Vec<Option<usize>> = vec![None; n];
    for &i in &by_start {
        match owner.get(spans[i].raw.span_id.as_str()) {
            Some(&first) => dup_of[i] = Some(first),
            None => {
                owner.insert(spans[i].raw.span_id.as_str(), i);
            }
        }
    }
    let mut parent: Vec<Option<usize>> = vec![None; n];
    let mut orphan = vec![false; n];
    for i in 0..n {
        parent[i] = match dup_of[i] {
            Some(first) => Some(first),
            None => match spans[i].raw.parent_id.as_deref() {
                None => None,
                Some(p) => match owner.get(p) {
                    Some(&pi) if pi != i => Some(pi),
                    _ => {
                        orphan[i] = true;
                        None
                    }
                },
            },
        };
    }
    drop(owner);
    cut_loops(&mut parent, &mut orphan);
    for i in 0..n {
        spans[i].parent = parent[i];
        spans[i].orphan = orphan[i];
        spans[i].duplicate = dup_of[i].is_some();
        if let Some(first) = dup_of[i] {
            spans[first].duplicate = true;
        }
    }
    for &i in &by_start {
        if let Some(p) = parent[i] {
            spans[p].children.push(i);
        }
    }
    let roots: Vec<usize> = by_start
        .iter()
        .copied()
        .filter(|&i| parent[i].is_none())
        .collect();
    let order = depth_first(&mut spans, &roots);
    let mut t = Trace {
        id: id.to_string(),
        start_ns: roots
            .iter()
            .map(|&i| spans[i].raw.start_ns)
            .min()
            .unwrap_or(0),
        end_ns: 0,
        spans,
        order,
        roots,
        warnings,
        partial,
        services: vec![],
        errors: 0,
    };
    t.end_ns = (0..n).map(|i| t.end_of(i)).max().unwrap_or(t.start_ns);
    for &i in &t.order {
        let s = &t.spans[i].raw.service;
        // spans of one service share one Arc: compare pointers first
        if !t
            .services
            .iter()
            .any(|x| std::sync::Arc::ptr_eq(x, s) || x == s)
        {
            t.services.push(s.clone());
        }
    }
    t.errors = t.spans.iter().filter(|s| s.raw.error).count();
    critical_path(&mut t);
    t
}

/// Parents that lead back to their child are cut: the span where a loop is
/// found becomes a root (orphan).
fn cut_loops(parent: &mut [Option<usize>], orphan: &mut [bool]) {
    // 0 unseen, 1 on the current walk, 2 done
    let mut mark = vec![0u8; parent.len()];
    let mut walk = vec![];
    for start in 0..parent.len() {
        let mut i = start;
        while mark[i] == 0 {
            mark[i] = 1;
            walk.push(i);
            match parent[i] {
                Some(p) if mark[p] == 1 => {
                    parent[i] = None;
                    orphan[i] = true;
                    break;
                }
                Some(p) => i = p,
                None => break,
            }
        }
        for j in walk.drain(..) {
            mark[j] = 2;
        }
    }
}

/// The order shown, with depths; a child that starts before its parent is
/// moved to the parent's start.
fn depth_first(spans: &mut [Span], roots: &[usize]) -> Vec<usize> {
    let mut order = Vec::with_capacity(spans.len());
    let mut stack: Vec<(usize, u32)> = roots.iter().rev().map(|&r| (r, 0)).collect();
    while let Some((i, depth)) = stack.pop() {
        spans[i].depth = depth;
        order.push(i);
        if let Some(p) = spans[i].parent {
            let ps = spans[p].raw.start_ns;
            if spans[i].raw.start_ns < ps {
                spans[i].raw.start_ns = ps;
                spans[i].skewed = true;
            }
        }
        for k in (0..spans[i].children.len()).rev() {
            stack.push((spans[i].children[k], depth + 1));
        }
    }
    order
}

/// The critical path (as Jaeger draws it): from the root that ends last,
/// the child that finishes last, then the child that finishes before that
/// one started, and so on, each followed down the same way.
fn critical_path(t: &mut Trace) {
    let Some(&root) = t.roots.iter().max_by_key(|&&r| t.end_of(r)) else {
        return;
    };
    let mut stack = vec![(root, t.end_of(root))];
    while let Some((i, until)) = stack.pop() {
        t.spans[i].critical = true;
        let mut kids = t.spans[i].children.clone();
        kids.sort_by_key(|&c| std::cmp::Reverse(t.end_of(c).min(until)));
        let mut cursor = until;
        for c in kids {
            let end = t.end_of(c).min(until);
            if end <= cursor && t.spans[c].raw.start_ns < cursor {
                stack.push((c, end));
                cursor = t.spans[c].raw.start_ns;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::traces::client::wire::RawSpan;

    fn span(id: &str, parent: Option<&str>, start: i64, dur: i64) -> RawSpan {
        RawSpan {
            span_id: id.into(),
            parent_id: parent.map(str::to_string),
            name: id.into(),
            start_ns: start,
            dur_ns: dur,
            ..Default::default()
        }
    }

    fn shown(t: &Trace) -> Vec<String> {
        t.order
            .iter()
            .map(|&i| {
                let s = &t.spans[i];
                let mut flags = String::new();
                for (on, f) in [(s.orphan, 'o'), (s.duplicate, 'd'), (s.skewed, 's')] {
                    if on {
                        flags.push(f);
                    }
                }
                format!(
                    "{}{}@{}{}",
                    "  ".repeat(s.depth as usize),
                    s.raw.span_id,
                    s.raw.start_ns,
                    if flags.is_empty() {
                        String::new()
                    } else {
                        format!(" {flags}")
                    }
                )
            })
            .collect()
    }

    #[test]
    fn a_missing_parent_a_duplicate_id_and_clock_skew_all_show() {
        let t = build(
            "t",
            vec![
                span("root", None, 100, 100),
                // starts 30 before its parent: drawn from the parent's start
                span("early", Some("root"), 70, 20),
                // its parent was never received
                span("lost", Some("nowhere"), 150, 10),
                // the same id twice (a shared client/server span): the later
                // under the earlier, the child under the first
                span("dup", Some("root"), 110, 50),
                span("dup", Some("root"), 120, 30),
                span("kid", Some("dup"), 130, 5),
            ],
            vec![],
            false,
        );
        assert_eq!(
            shown(&t),
            [
                "root@100",
                "  early@100 s",
                "  dup@110 d",
                "    dup@120 d",
                "    kid@130",
                "lost@150 o",
            ]
        );
        assert_eq!((t.start_ns, t.end_ns), (100, 200));
    }

    #[test]
    fn a_parent_loop_is_cut_and_every_span_shows_once() {
        let t = build(
            "t",
            vec![
                span("a", Some("c"), 0, 10),
                span("b", Some("a"), 1, 5),
                span("c", Some("b"), 2, 3),
                span("self", Some("self"), 3, 1),
            ],
            vec![],
            false,
        );
        let mut ids: Vec<&str> = t
            .order
            .iter()
            .map(|&i| t.spans[i].raw.span_id.as_str())
            .collect();
        ids.sort();
        assert_eq!(ids, ["a", "b", "c", "self"]);
        assert_eq!(t.roots.len(), 2, "{:?}", shown(&t));
        assert!(t.roots.iter().all(|&r| t.spans[r].orphan));
    }

    #[test]
    fn a_chain_100000_deep_needs_no_recursion() {
        let n = 100_000;
        let spans: Vec<RawSpan> = (0..n)
            .map(|i| {
                let id = format!("{i:016x}");
                let parent = (i > 0).then(|| format!("{:016x}", i - 1));
                span(&id, parent.as_deref(), i as i64, (n - i) as i64)
            })
            .collect();
        let t = build("t", spans, vec![], false);
        assert_eq!(t.order.len(), n);
        assert_eq!(t.spans[t.order[n - 1]].depth as usize, n - 1);
        assert!(t.spans.iter().all(|s| s.critical));
    }
}
