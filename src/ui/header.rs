//! Header: scope, window, LIVE/PAUSED, backend health. On narrow terminals
//! the less important items are abbreviated, then dropped: detection
//! detail first; LIVE/PAUSED and every backend's health are kept longest,
//! then the profile and the clock, then the scope.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::state::Health;
use crate::app::State;
use crate::text::display as sanitize;
use crate::text::units::{format_age, prom_duration};
use crate::ui::widgets::chart::clock;

/// One header item: its spans in a long and a short form, and how much it
/// matters (0 is kept longest).
struct Item {
    rank: u8,
    /// How much the long form matters (it is taken at this rank; `rank`
    /// or less important).
    grow: u8,
    long: Vec<Span<'static>>,
    short: Vec<Span<'static>>,
}

fn width(spans: &[Span]) -> usize {
    spans.iter().map(Span::width).sum()
}

fn kv(k: &str, v: &str, t: Style) -> Vec<Span<'static>> {
    vec![
        Span::styled(format!("{k} "), t),
        Span::styled(format!("{v}  "), t.add_modifier(Modifier::BOLD)),
    ]
}

fn items(state: &State) -> Vec<Item> {
    let t = &state.theme;
    let mut out = vec![Item {
        rank: 5,
        grow: 6,
        long: vec![Span::styled(" watchfloor  ", t.header_live)],
        short: vec![
            Span::styled(" wf ", t.header_live),
            Span::styled(" ", t.header),
        ],
    }];
    out.extend(scope_items(state));
    out.push(mode_item(state));
    if state.metrics.dashboard_error.is_some() {
        out.push(Item {
            rank: 1,
            grow: 1,
            long: vec![Span::styled("dash ✗  ", t.crit)],
            short: vec![Span::styled("dash ✗ ", t.crit)],
        });
    }
    for src in state.sources() {
        if src.common().configured {
            out.push(health_item(state, &src.common().health, src.note()));
        }
        for b in src.badges() {
            let style = if b.bad { t.crit } else { t.header };
            out.push(Item {
                rank: if b.bad { 0 } else { 3 },
                grow: if b.bad { 1 } else { 4 },
                long: vec![Span::styled(format!("{}  ", sanitize(&b.long)), style)],
                short: vec![Span::styled(format!("{} ", sanitize(&b.short)), style)],
            });
        }
    }
    for w in &state.warnings {
        out.push(Item {
            rank: 4,
            grow: 4,
            long: vec![Span::styled(format!("⚠ {}  ", sanitize(w)), t.warn)],
            short: vec![Span::styled("⚠ ", t.warn)],
        });
    }
    out.push(Item {
        rank: 2,
        grow: 3,
        long: vec![Span::styled(
            format!("{} UTC ", clock(state.now_ms, true)),
            t.header,
        )],
        short: vec![Span::styled(
            format!("{} ", clock(state.now_ms, true)),
            t.header,
        )],
    });
    out
}

/// Profile, namespace, pod, window and dashboard. `optional` items show
/// only in full; the scope is shown whole or not at all.
fn scope_items(state: &State) -> Vec<Item> {
    let scope = |rank: u8, k: &str, v: String, optional: bool| {
        let long = kv(k, &sanitize(&v), state.theme.header);
        Item {
            rank,
            grow: rank,
            short: if optional { vec![] } else { long.clone() },
            long,
        }
    };
    let mut out = Vec::new();
    if let Some(p) = &state.profile {
        out.push(profile_item(state, p));
    }
    let all = || "all".to_string();
    // none chosen: Kubernetes watches its context's namespace (as kubectl),
    // which the header says rather than "all"; Prometheus still asks all
    let k8s_ns = state
        .kube
        .namespace
        .as_ref()
        .filter(|_| state.kube.common.configured && !state.kube.all_namespaces);
    let ns = match (&state.target.namespace, k8s_ns) {
        (Some(n), _) => n.clone(),
        (None, Some(k)) if state.metrics.common.configured => format!("all (k8s {k})"),
        (None, Some(k)) => k.clone(),
        (None, None) => all(),
    };
    out.push(scope(3, "ns", ns, false));
    out.push(scope(
        3,
        "pod",
        state.target.pod.clone().unwrap_or_else(all),
        false,
    ));
    out.push(scope(
        3,
        "last",
        prom_duration(state.target.range_secs),
        false,
    ));
    if let Some(v) = dashboard_choice(state) {
        // the detail goes first; the preset's name a little later
        let name = state.metrics.dashboard.as_ref().map(|d| d.full_name());
        let long = kv("dash", &sanitize(&v), state.theme.header);
        let short = name
            .map(|n| kv("dash", &sanitize(&n), state.theme.header))
            .unwrap_or_default();
        out.push(Item {
            rank: 7,
            grow: 8,
            long,
            short,
        });
    }
    out
}

/// The profile: kept as long as the sources' health; a production profile
/// in the warning colour, so a shared screen says where it looks.
fn profile_item(state: &State, p: &str) -> Item {
    let t = &state.theme;
    let name = sanitize(p).into_owned();
    if state.production {
        let s = t.warn.add_modifier(Modifier::REVERSED);
        Item {
            rank: 1,
            grow: 1,
            long: vec![Span::styled(format!(" PROD {name} "), s), Span::raw("  ")],
            short: vec![Span::styled(format!(" {name} "), s), Span::raw(" ")],
        }
    } else {
        Item {
            rank: 1,
            grow: 4,
            long: kv("profile", &name, t.header),
            short: vec![Span::styled(
                format!("{name}  "),
                t.header.add_modifier(Modifier::BOLD),
            )],
        }
    }
}

/// "beam · auto · job rabbitmq · 12/15 signals": which dashboard was
/// chosen and why.
fn dashboard_choice(state: &State) -> Option<String> {
    let d = state.metrics.dashboard.as_ref()?;
    let mut v = d.full_name();
    if let Some(det) = &state.metrics.detection {
        v.push_str(" · auto");
        // the job in view: the one chosen (`:job`), else the detected one
        if let Some(j) = state.target.job.as_ref().or(det.job.as_ref()) {
            v.push_str(&format!(" · job {j}"));
        }
        v.push_str(&format!(" · {}/{} signals", det.found, det.total));
    }
    Some(v)
}

/// `● LIVE`, or `❚❚ PAUSED at 12:00:00` (the time only in full).
fn mode_item(state: &State) -> Item {
    let t = &state.theme;
    let configured: Vec<_> = state
        .sources()
        .into_iter()
        .filter(|s| s.common().configured)
        .collect();
    // live, but nothing answers: the screen shows old data
    let all_failing = !configured.is_empty()
        && configured
            .iter()
            .all(|s| !s.common().health.ok() && s.common().health.last_error.is_some());
    let (long, short) = if state.target.is_live() && all_failing {
        (
            Span::styled("● LIVE · no source answering  ", t.crit),
            Span::styled("● LIVE ✗ ", t.crit),
        )
    } else if state.target.is_live() {
        (
            Span::styled("● LIVE  ", t.header_live),
            Span::styled("● LIVE ", t.header_live),
        )
    } else {
        let at = clock(state.target.end_ms(state.now_ms), true);
        (
            Span::styled(format!("❚❚ PAUSED at {at}  "), t.header_paused),
            Span::styled("❚❚ PAUSED ", t.header_paused),
        )
    };
    Item {
        rank: 0,
        grow: 0,
        long: vec![long],
        short: vec![short],
    }
}

/// One source's health: `prom ✓`, `prom ✗ <error> (12s ago)`, `prom …`.
fn health_item(state: &State, h: &Health, note: Option<String>) -> Item {
    let t = &state.theme;
    let (long, short) = if h.ok() {
        let s = Span::styled(format!("{} ✓  ", h.name), t.header);
        let long = match note {
            Some(n) => Span::styled(format!("{} ✓ {}  ", h.name, sanitize(&n)), t.header),
            None => s.clone(),
        };
        (vec![long], vec![s])
    } else if let Some(e) = &h.last_error {
        let age = h
            .last_error_ms
            .map(|e| format_age((state.now_ms - e) / 1000))
            .unwrap_or_default();
        let short_err: String = sanitize(e).chars().take(60).collect();
        (
            vec![Span::styled(
                format!("{} ✗ {short_err} ({age} ago)  ", h.name),
                t.crit,
            )],
            vec![Span::styled(format!("{} ✗ ", h.name), t.crit)],
        )
    } else {
        let s = Span::styled(format!("{} …  ", h.name), t.header);
        (vec![s.clone()], vec![s])
    };
    Item {
        rank: 0,
        grow: 0,
        long,
        short,
    }
}

/// Chooses, per item, long, short or nothing so the line fits `max`
/// columns. Each item is two steps: being there (its short form, at
/// `rank`) and growing to its long form (at `grow`). Steps are taken most
/// important first while they fit; after the first that does not, nothing
/// less important is taken, so what shows only grows with the width.
/// Rank-0 items (LIVE/PAUSED, every source's health) are always there.
fn fit(items: Vec<Item>, max: usize) -> Vec<Span<'static>> {
    let mut steps: Vec<(u8, bool, usize)> = items
        .iter()
        .enumerate()
        .flat_map(|(i, it)| [(it.rank, false, i), (it.grow.max(it.rank), true, i)])
        .collect();
    steps.sort();
    let mut left = max;
    let mut form: Vec<Option<bool>> = vec![None; items.len()];
    for (rank, grows, i) in steps {
        let it = &items[i];
        let (l, s) = (width(&it.long), width(&it.short));
        if !grows && rank == 0 {
            form[i] = Some(false);
            left = left.saturating_sub(s);
            continue;
        }
        let need = if grows { l.saturating_sub(s) } else { s };
        if (grows && form[i].is_none()) || need > left {
            break;
        }
        form[i] = Some(grows);
        left -= need;
    }
    items
        .into_iter()
        .enumerate()
        .filter_map(|(i, it)| form[i].map(|long| if long { it.long } else { it.short }))
        .flatten()
        .collect()
}

pub fn draw(f: &mut Frame, area: Rect, state: &State) {
    render(f.buffer_mut(), area, state);
}

/// The header into a buffer (the clock tick's path, with no frame).
pub fn render(buf: &mut ratatui::buffer::Buffer, area: Rect, state: &State) {
    use ratatui::widgets::Widget;
    let spans = fit(items(state), area.width as usize);
    Paragraph::new(Line::from(spans))
        .style(state.theme.header)
        .render(area, buf);
}
