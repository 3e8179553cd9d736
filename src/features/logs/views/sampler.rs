//! Enter on the Memory pane: the latest memory-sampler snapshot the pod in
//! view logged (seed 000: memory categories, cgroup stats, process and port
//! counts, top processes by memory and by queue, top ETS tables) — what
//! was in memory just before an OOM that the next scrape would have missed.

use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::app::State;
use crate::text::display;
use crate::text::sampler::{EtsTable, Proc, Snapshot};
use crate::text::units::{format_age, format_bytes, format_count};

fn bytes(v: Option<u64>) -> String {
    v.map(|b| format_bytes(b as f64))
        .unwrap_or_else(|| "—".into())
}

fn count(v: Option<u64>) -> String {
    v.map(|b| format_count(b as f64))
        .unwrap_or_else(|| "—".into())
}

pub fn draw(f: &mut Frame, area: ratatui::layout::Rect, state: &State, scroll: u16) {
    let t = &state.theme;
    let r = crate::features::logs::views::full(area);
    if r.height < 3 || r.width < 10 {
        return;
    }
    let lines = match found(state) {
        None => vec![Line::from(Span::styled(
            if state.logs.common.configured {
                "no memory-sampler snapshot in the retained logs for this pod yet \
                 (the sampler logs one when memory crosses its threshold)"
            } else {
                "sampler snapshots come from the logs: pass --loki URL"
            },
            t.dim,
        ))],
        Some((pod, (ts, s))) => snapshot_lines(state, pod, *ts, s),
    };
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).scroll((scroll, 0)).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.border_focus)
                .title(" Memory sampler snapshot (↑↓ scroll, Esc) "),
        ),
        r,
    );
}

/// The snapshot of the pod in view, else the newest snapshot of any pod.
fn found(state: &State) -> Option<(&str, &(i64, Snapshot))> {
    let snaps = &state.logs.snapshots;
    match &state.target.pod {
        Some(p) => snaps.get(p).map(|s| (p.as_str(), s)),
        None => snaps
            .iter()
            .max_by_key(|(_, (ts, _))| *ts)
            .map(|(p, s)| (p.as_str(), s)),
    }
}

/// The whole snapshot: who and when, then each section.
fn snapshot_lines(state: &State, pod: &str, ts: i64, s: &Snapshot) -> Vec<Line<'static>> {
    let mut lines = vec![header(state, pod, ts, s)];
    let m = &s.memory;
    lines.extend(sizes(
        state,
        "BEAM memory",
        &[
            ("total", m.total),
            ("processes", m.processes),
            ("binary", m.binary),
            ("ets", m.ets),
            ("code", m.code),
            ("atom", m.atom),
            ("system", m.system),
        ],
    ));
    let c = &s.cgroup;
    lines.extend(sizes(
        state,
        "cgroup",
        &[
            ("usage", c.usage),
            ("working set", c.working_set),
            ("limit", c.limit),
            ("rss", c.rss),
            ("cache", c.cache),
        ],
    ));
    lines.push(Line::from(format!(
        "processes {}   ports {}",
        count(s.process_count),
        count(s.port_count)
    )));
    lines.extend(procs(
        state,
        "top processes by memory",
        &s.top_processes_by_memory,
    ));
    lines.extend(procs(
        state,
        "top processes by message queue",
        &s.top_processes_by_message_queue,
    ));
    lines.extend(ets_tables(state, &s.top_ets_tables));
    lines
}

/// "pod  role leader  logged 2m ago".
fn header(state: &State, pod: &str, ts: i64, s: &Snapshot) -> Line<'static> {
    let t = &state.theme;
    let age = (state.now_ms - ts / 1_000_000) / 1000;
    Line::from(vec![
        Span::styled(format!("{} ", display(pod)), t.accent),
        Span::styled(
            format!(
                "role {}  logged {} ago",
                display(s.role.as_deref().unwrap_or("?")),
                format_age(age.max(0))
            ),
            t.dim,
        ),
    ])
}

/// A titled section of `name  size` rows.
fn sizes(state: &State, title: &'static str, rows: &[(&str, Option<u64>)]) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(Span::styled(title, state.theme.title))];
    for (k, v) in rows {
        lines.push(Line::from(format!("  {k:<12} {:>10}", bytes(*v))));
    }
    lines
}

/// A titled section of the first ten processes: pid, name, memory, queue.
fn procs(state: &State, title: &str, list: &[Proc]) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(Span::styled(
        title.to_string(),
        state.theme.title,
    ))];
    for p in list.iter().take(10) {
        lines.push(Line::from(format!(
            "  {:<16} {:<44} {:>10}  queue {}",
            display(p.pid.as_deref().unwrap_or("?")),
            display(p.name.as_deref().unwrap_or("")),
            bytes(p.memory),
            count(p.message_queue_len)
        )));
    }
    lines
}

/// The first ten ETS tables: name, memory, objects.
fn ets_tables(state: &State, tables: &[EtsTable]) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(Span::styled(
        "top ETS tables",
        state.theme.title,
    ))];
    for e in tables.iter().take(10) {
        lines.push(Line::from(format!(
            "  {:<40} {:>10}  {} objects",
            display(e.name.as_deref().unwrap_or("?")),
            bytes(e.memory),
            count(e.size)
        )));
    }
    lines
}
