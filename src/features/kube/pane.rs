//! Kubernetes: the pods in view with what `kubectl get pods` hides (the
//! last termination's reason, exit code and age, OOMKilled highlighted;
//! restarts within the window; memory request/limit), worst first, and the
//! warning events of the namespace or pod in view, newest first.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};
use ratatui::Frame;

use crate::app::State;
use crate::config::theme::Theme;
use crate::text::display;
use crate::text::units::{fit_middle, format_age, format_bytes};

/// One pod row, ready to draw (text sanitised).
#[derive(Debug, Clone, PartialEq)]
pub struct PodRow {
    pub name: String,
    pub status: String,
    /// Status that needs attention (a waiting reason, Failed, not ready).
    pub bad: bool,
    pub ready: String,
    pub restarts: i64,
    /// Restarts within the window.
    pub recent: i64,
    /// `OOMKilled (137) 3m ago`.
    pub last: String,
    pub oom: bool,
    pub memory: String,
    /// Working set over limit, when both are known.
    pub mem_ratio: Option<f64>,
    pub node: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub age: String,
    pub reason: String,
    pub object: String,
    pub count: i64,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KubeView {
    pub title: String,
    /// The worst pods, as many as the pane can show.
    pub pods: Vec<PodRow>,
    /// Every pod in view.
    pub total: usize,
    pub events: Vec<EventRow>,
    /// Why there is nothing to show (an error, or still listing).
    pub note: Option<(String, bool)>,
}

const WAITING_BAD: [&str; 7] = [
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "InvalidImageName",
    "RunContainerError",
];

/// A status that needs attention: a bad waiting reason, Failed, or
/// Running but not ready.
fn is_bad(p: &super::PodInfo, status: &str) -> bool {
    let (ready, total) = p.ready();
    WAITING_BAD.contains(&status) || status == "Failed" || (p.phase == "Running" && ready < total)
}

/// A pod's place in the list, worst first: a bad status, then restarts in
/// the window, then an OOM kill, then the name. Cheap to compute, so the
/// order is found without formatting a row per pod (5,000 pods at 50
/// updates a second).
fn rank(since_ms: i64, p: &super::PodInfo) -> (bool, i64, bool, &str) {
    let bad = is_bad(p, p.status());
    let recent = p.restarts_since(since_ms);
    let oom = p.last_terminated().is_some_and(|(_, t)| t.is_oom());
    (bad, recent, oom, &p.name)
}

/// The view for a pane `rows` lines high: every pod is ranked, only those
/// that can show are formatted.
pub fn view(state: &State, rows: usize) -> KubeView {
    let k = &state.kube;
    let t = &state.target;
    let now = state.now_ms;
    let since = now - (t.range_secs as i64) * 1000;
    let mut ranked: Vec<_> = k.pods_in_view(t).map(|p| (rank(since, p), p)).collect();
    let total = ranked.len();
    let cmp = |a: &((bool, i64, bool, &str), _), b: &((bool, i64, bool, &str), _)| {
        let ((ab, ar, ao, an), (bb, br, bo, bn)) = (a.0, b.0);
        bb.cmp(&ab)
            .then(br.cmp(&ar))
            .then(bo.cmp(&ao))
            .then(an.cmp(bn))
    };
    if rows < total {
        ranked.select_nth_unstable_by(rows, cmp);
        ranked.truncate(rows);
    }
    ranked.sort_by(cmp);
    let pods: Vec<PodRow> = ranked
        .iter()
        .map(|(_, p)| pod_row(k, p, now, since))
        .collect();
    let events = k
        .events
        .iter()
        .filter(|e| e.warning)
        .filter(|e| k.namespace.as_deref().is_none_or(|n| n == e.namespace))
        .filter(|e| t.pod.as_deref().is_none_or(|p| e.pod.as_deref() == Some(p)))
        .map(|e| EventRow {
            age: format_age((now - e.last_ms) / 1000),
            reason: display(&e.reason).into_owned(),
            object: display(&e.object).into_owned(),
            count: e.count,
            message: display(&e.message).into_owned(),
        })
        .collect();
    let note = if let Some(e) = k.errors.get(&None) {
        Some((e.clone(), true))
    } else if let Some(e) = k.errors.get(&Some(super::Resource::Pods)) {
        Some((e.clone(), true))
    } else if !k.synced.contains(&super::Resource::Pods) {
        Some(("listing pods…".into(), false))
    } else if total == 0 {
        Some((
            format!(
                "no pods in {}",
                k.namespace.as_deref().unwrap_or("any namespace")
            ),
            false,
        ))
    } else {
        None
    };
    let mut title = "Kubernetes".to_string();
    if let Some(p) = &t.pod {
        title.push_str(&format!(" · {}", display(p)));
    }
    if let Some(c) = &k.context {
        title.push_str(&format!(" · {}", display(c)));
    }
    if k.context.is_some() {
        let ns = k.namespace.as_deref().unwrap_or("all namespaces");
        title.push_str(&format!(" · ns {}", display(ns)));
    }
    if k.synced.contains(&super::Resource::Pods) {
        let n = total;
        title.push_str(&format!(" · {n} pod{}", if n == 1 { "" } else { "s" }));
    }
    // where the memory figures come from
    match k.usage_available {
        Some(true) => title.push_str(" · memory: metrics.k8s.io"),
        Some(false) => title.push_str(" · no metrics-server: memory request / limit"),
        None => {}
    }
    KubeView {
        title,
        pods,
        total,
        events,
        note,
    }
}

/// One pod's row: status, restarts in the window, last termination, memory.
fn pod_row(k: &super::KubeState, p: &super::PodInfo, now: i64, since: i64) -> PodRow {
    let status = p.status().to_string();
    let (ready, total) = p.ready();
    let recent = p.restarts_since(since);
    let (last, oom) = match p.last_terminated() {
        Some((c, term)) => {
            let mut s = if term.reason.is_empty() {
                format!("exit {}", term.exit_code)
            } else {
                format!("{} ({})", term.reason, term.exit_code)
            };
            if let Some(at) = term.finished_ms {
                s.push_str(&format!(" {} ago", format_age((now - at) / 1000)));
            }
            if p.containers.len() > 1 {
                s = format!("{}: {s}", c.name);
            }
            (s, term.is_oom())
        }
        None => ("—".into(), false),
    };
    let sum = |f: fn(&super::ContainerInfo) -> Option<f64>| -> Option<f64> {
        let v: Vec<f64> = p.containers.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| v.iter().sum())
    };
    let limit = sum(|c| c.mem_limit);
    let used = k.usage.get(&p.key()).copied();
    // the working set (metrics.k8s.io) against the limit, else the
    // request against the limit
    let (memory, mem_ratio) = match (used, limit) {
        (Some(u), Some(l)) if l > 0.0 => (
            format!(
                "{} / {} {:.0}%",
                format_bytes(u),
                format_bytes(l),
                100.0 * u / l
            ),
            Some(u / l),
        ),
        (Some(u), _) => (format!("{} / no limit", format_bytes(u)), None),
        (None, _) => match (sum(|c| c.mem_request), limit) {
            (None, None) => ("—".into(), None),
            (r, l) => (
                format!(
                    "{} / {}",
                    r.map(format_bytes).unwrap_or_else(|| "—".into()),
                    l.map(format_bytes).unwrap_or_else(|| "no limit".into())
                ),
                None,
            ),
        },
    };
    PodRow {
        name: display(&p.name).into_owned(),
        bad: is_bad(p, &status),
        status: display(&status).into_owned(),
        ready: format!("{ready}/{total}"),
        restarts: p.restarts(),
        recent,
        last: display(&last).into_owned(),
        oom,
        memory,
        mem_ratio,
        node: display(&p.node).into_owned(),
    }
}

pub fn draw(f: &mut Frame, area: Rect, v: &KubeView, state: &State, focused: bool) {
    let t = &state.theme;
    let mut title = vec![Span::styled(format!(" {} ", v.title), t.title)];
    if let Some(e) = state.kube.errors.get(&Some(super::Resource::Events)) {
        title.push(Span::styled(format!(" events ✗ {} ", display(e)), t.crit));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { t.border_focus } else { t.border })
        .title(Line::from(title));
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height == 0 || inner.width < 10 {
        return;
    }
    if let Some((msg, bad)) = &v.note {
        let style = if *bad { t.crit } else { t.dim };
        f.render_widget(
            Paragraph::new(display(msg).into_owned())
                .style(style)
                .wrap(ratatui::widgets::Wrap { trim: true }),
            Rect {
                height: 2.min(inner.height),
                ..inner
            },
        );
        return;
    }
    // the pods first (header + rows), the events right below them: they
    // get what the pods leave, at least a third when there are any
    let pods_want = v.total.min(u16::MAX as usize - 2) as u16 + 1;
    let ev_want = if v.events.is_empty() {
        0
    } else {
        v.events.len() as u16 + 2
    };
    let ev_rows = if ev_want == 0 || inner.height < 6 {
        0
    } else {
        ev_want
            .min(inner.height.saturating_sub(pods_want).max(inner.height / 3))
            .min(inner.height - 2)
    };
    let pods_area = Rect {
        height: pods_want.min(inner.height - ev_rows),
        ..inner
    };
    // what does not fit is counted on the last row
    let fit = (pods_area.height as usize).saturating_sub(1);
    let more = v.total.saturating_sub(fit);
    let shown = if more > 0 { fit.saturating_sub(1) } else { fit };
    draw_pods(f, pods_area, &v.pods[..shown.min(v.pods.len())], t);
    if more > 0 && pods_area.height >= 2 {
        let hidden = v.total - shown.min(v.pods.len());
        let last = Rect {
            y: pods_area.y + pods_area.height - 1,
            height: 1,
            ..pods_area
        };
        let hint = if focused { " (z: all)" } else { "" };
        f.render_widget(
            Paragraph::new(format!("… {hidden} more pods{hint}")).style(t.dim),
            last,
        );
    }
    if ev_rows > 0 {
        let ev_area = Rect {
            // one blank row between the two tables
            y: pods_area.y + pods_area.height + 1,
            height: ev_rows - 1,
            ..inner
        };
        draw_events(f, ev_area, &v.events, t);
    }
}

fn draw_pods(f: &mut Frame, area: Rect, rows: &[PodRow], t: &Theme) {
    let wide = area.width >= 110;
    // fixed columns: STATUS 18, READY 5, RESTARTS 9, LAST 30, MEMORY 24, NODE 14
    let fixed: u16 = if wide {
        18 + 5 + 9 + 30 + 24 + 14 + 6
    } else {
        18 + 5 + 9 + 24 + 4
    };
    let longest = rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(3);
    let pod_w = (area.width.saturating_sub(fixed).max(8) as usize).min(longest.max(3));
    let body: Vec<Row> = rows
        .iter()
        .map(|r| {
            let restarts = if r.recent > 0 {
                Span::styled(format!("{} +{}", r.restarts, r.recent), t.warn)
            } else {
                Span::styled(r.restarts.to_string(), t.text)
            };
            let mut cells = vec![
                Cell::from(fit_middle(&r.name, pod_w).trim_end().to_string()).style(t.text),
                Cell::from(Span::styled(
                    r.status.clone(),
                    if r.bad { t.crit } else { t.text },
                )),
                Cell::from(r.ready.clone()).style(t.dim),
                Cell::from(Line::from(restarts)),
                Cell::from(Span::styled(
                    r.last.clone(),
                    if r.oom { t.oom } else { t.dim },
                )),
            ];
            if wide {
                let mem_style = match r.mem_ratio {
                    Some(x) if x >= 0.9 => t.crit,
                    Some(x) if x >= 0.75 => t.warn,
                    Some(_) => t.text,
                    None => t.dim,
                };
                cells.push(Cell::from(r.memory.clone()).style(mem_style));
                cells.push(Cell::from(r.node.clone()).style(t.dim));
            }
            Row::new(cells)
        })
        .collect();
    let (header, widths) = if wide {
        (
            Row::new([
                "POD",
                "STATUS",
                "READY",
                "RESTARTS",
                "LAST TERMINATED",
                "MEMORY / LIMIT",
                "NODE",
            ]),
            vec![
                Constraint::Length(pod_w as u16),
                Constraint::Length(18),
                Constraint::Length(5),
                Constraint::Length(9),
                Constraint::Length(30),
                Constraint::Length(24),
                Constraint::Min(4),
            ],
        )
    } else {
        (
            Row::new(["POD", "STATUS", "READY", "RESTARTS", "LAST TERMINATED"]),
            vec![
                Constraint::Length(pod_w as u16),
                Constraint::Length(18),
                Constraint::Length(5),
                Constraint::Length(9),
                Constraint::Min(10),
            ],
        )
    };
    f.render_widget(
        Table::new(body, widths)
            .header(header.style(t.dim))
            .column_spacing(1),
        area,
    );
}

fn draw_events(f: &mut Frame, area: Rect, rows: &[EventRow], t: &Theme) {
    let body: Vec<Row> = rows
        .iter()
        .map(|e| {
            Row::new(vec![
                Cell::from(e.age.clone()).style(t.dim),
                Cell::from(Span::styled(e.reason.clone(), t.warn)),
                Cell::from(e.object.clone()).style(t.text),
                Cell::from(if e.count > 1 {
                    format!("×{}", e.count)
                } else {
                    String::new()
                })
                .style(t.dim),
                Cell::from(e.message.clone()).style(t.text),
            ])
        })
        .collect();
    let obj_w = rows
        .iter()
        .map(|e| e.object.chars().count())
        .max()
        .unwrap_or(6)
        .clamp(6, 40) as u16;
    let widths = [
        Constraint::Length(4),
        Constraint::Length(18),
        Constraint::Length(obj_w),
        Constraint::Length(5),
        Constraint::Min(10),
    ];
    f.render_widget(
        Table::new(body, widths)
            .header(Row::new(["AGE", "WARNING", "OBJECT", "", "MESSAGE"]).style(t.dim))
            .column_spacing(1),
        area,
    );
}
