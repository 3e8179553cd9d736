//! Screen layout: header, body of panes, footer. The layout follows what
//! exists: a pane whose every signal answered with no series gives its
//! space to the panes with data; small terminals drop the least important
//! panes (highest `priority`). A pane not drawn is listed in the footer and
//! stays reachable with Tab (focused, it takes the metric area); zoom takes
//! the whole body.
//!
//! One computation, [`screen`], pure over the state and the size: `draw`
//! lays the panes out where it says, and key handling (Tab, paging) asks it
//! what is on screen, so a key can never focus a pane that is not drawn.

use ratatui::layout::Rect;

use crate::dashboard::{Dashboard, PaneKind};

pub struct FrameAreas {
    pub header: Rect,
    pub body: Rect,
    pub footer: Rect,
}

pub fn frame(area: Rect) -> FrameAreas {
    let h = area.height;
    FrameAreas {
        header: Rect {
            height: h.min(1),
            ..area
        },
        body: Rect {
            y: area.y + 1,
            height: h.saturating_sub(2),
            ..area
        },
        footer: Rect {
            y: area.y + h.saturating_sub(1),
            height: if h >= 2 { 1 } else { 0 },
            ..area
        },
    }
}

/// Reserves the bottom of the body for the Probes pane (one row per probe,
/// at most 8 rows with its border and header). Without a metrics source the
/// caller may give probes the rest too; here they take only what they need.
pub fn split_probes(body: Rect, probes: usize) -> (Rect, Option<Rect>) {
    if probes == 0 || body.height < 4 {
        return (body, None);
    }
    let h = (probes as u16 + 3).min(8).min(body.height);
    (
        Rect {
            height: body.height - h,
            ..body
        },
        Some(Rect {
            y: body.y + body.height - h,
            height: h,
            ..body
        }),
    )
}

/// Splits the body between the metric panes (top) and the full-width log
/// pane (below). The log pane takes a third (at least 8 rows, at most 24); on a
/// short body, half — so the scheduler and admission panes go first, before
/// the logs. Without metrics, or zoomed, the logs take it all.
pub fn split_logs(body: Rect, logs: bool, metrics: bool, zoom_logs: bool) -> (Rect, Option<Rect>) {
    if !logs {
        return (body, None);
    }
    if !metrics || zoom_logs {
        return (Rect { height: 0, ..body }, Some(body));
    }
    let h = if body.height >= 30 {
        (body.height / 3).clamp(8, 24)
    } else {
        (body.height / 2).max(body.height.min(6))
    };
    let h = h.min(body.height);
    (
        Rect {
            height: body.height - h,
            ..body
        },
        Some(Rect {
            y: body.y + body.height - h,
            height: h,
            ..body
        }),
    )
}

/// Where everything goes on a screen of `area`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreenLayout {
    pub header: Rect,
    pub footer: Rect,
    pub probes: Option<Rect>,
    pub logs: Option<Rect>,
    /// The Kubernetes pane: below the metric panes, or in their place
    /// without a Prometheus.
    pub kube: Option<Rect>,
    /// The metric panes' area (height 0 when the logs are zoomed).
    pub metrics: Rect,
    /// The metric panes drawn, by index into the dashboard's panes.
    pub panes: Vec<(usize, Rect)>,
    /// The metric panes not drawn (no data, or no room), by index: listed
    /// in the footer, reachable with Tab.
    pub hidden: Vec<usize>,
}

/// Splits the area above the logs between the metric panes (top) and the
/// Kubernetes pane (below): it takes the rows its pods and events need, at
/// most half (at least 5); without metrics, all of it.
pub fn split_kube(area: Rect, kube: bool, metrics: bool, rows: usize) -> (Rect, Option<Rect>) {
    if !kube {
        return (area, None);
    }
    if !metrics {
        return (Rect { height: 0, ..area }, Some(area));
    }
    // borders, the pods' header, a blank row and the events' header
    let want = (rows as u16).saturating_add(5).max(5);
    let h = want.min(area.height / 2).min(area.height);
    if h < 4 {
        return (area, None);
    }
    (
        Rect {
            height: area.height - h,
            ..area
        },
        Some(Rect {
            y: area.y + area.height - h,
            height: h,
            ..area
        }),
    )
}

/// The layout of the whole screen for this state at `area`.
pub fn screen(state: &crate::app::State, area: Rect) -> ScreenLayout {
    screen_zoomed(state, area, state.ui.zoom)
}

/// [`screen`] as if zoom were `zoom`.
pub fn screen_zoomed(state: &crate::app::State, area: Rect, zoom: bool) -> ScreenLayout {
    let l = frame(area);
    let m = &state.metrics;
    let dash = m
        .dashboard
        .as_ref()
        .filter(|_| m.common.configured && m.dashboard_error.is_none());
    let focused_pane = state.ui.focused.pane();
    let logs_focused = state.ui.focused == crate::app::state::Focus::Logs;
    let kube_focused = state.ui.focused == crate::app::state::Focus::Kube;
    let all: Vec<usize> = dash
        .map(|d| (0..d.panes.len()).collect())
        .unwrap_or_default();
    let hidden_but = |drawn: &[(usize, Rect)]| -> Vec<usize> {
        all.iter()
            .copied()
            .filter(|i| !drawn.iter().any(|(j, _)| j == i))
            .collect()
    };
    // zoomed: the focused pane (or the logs) takes the whole body
    if zoom && kube_focused && state.kube.common.configured {
        return ScreenLayout {
            header: l.header,
            footer: l.footer,
            probes: None,
            logs: None,
            kube: Some(l.body),
            metrics: Rect {
                height: 0,
                ..l.body
            },
            panes: vec![],
            hidden: vec![],
        };
    }
    if zoom
        && (logs_focused && state.logs.common.configured
            || focused_pane.is_some() && dash.is_some())
    {
        let panes = match focused_pane.filter(|i| *i < all.len()) {
            Some(i) => vec![(i, l.body)],
            None => vec![],
        };
        let logs = logs_focused.then_some(l.body);
        let metrics = if panes.is_empty() {
            Rect {
                height: 0,
                ..l.body
            }
        } else {
            l.body
        };
        // zoomed away, not hidden: the footer says [zoomed]
        let hidden = vec![];
        return ScreenLayout {
            header: l.header,
            footer: l.footer,
            probes: None,
            logs,
            kube: None,
            metrics,
            panes,
            hidden,
        };
    }
    let (rest, probes) = split_probes(l.body, state.probes.probes.len());
    let (rest, logs) = split_logs(
        rest,
        state.logs.common.configured,
        state.metrics.common.configured || state.kube.common.configured,
        false,
    );
    let (metrics, kube) = split_kube(
        rest,
        state.kube.common.configured,
        state.metrics.common.configured,
        state.kube.pods.len()
            + state
                .kube
                .events
                .iter()
                .filter(|e| e.warning)
                .count()
                .min(8),
    );
    let panes: Vec<(usize, Rect)> = match dash {
        Some(d) if metrics.height > 0 => {
            // with the API's pods on screen, the Restarts pane is a second
            // (and a scrape later) view of the same: it gives its space away
            let api_pods = state.kube.common.configured && !state.kube.pods.is_empty();
            let with_data: Vec<bool> = d
                .panes
                .iter()
                .map(|p| {
                    let replaced = api_pods && p.kind == PaneKind::Restarts;
                    !replaced && !m.pane_empty(&p.id)
                })
                .collect();
            let mut rects = pane_rects(d, metrics, None, &with_data);
            rects.retain(|(_, r)| r.height > 0 && r.width > 0);
            // a pane Tab landed on that is not drawn takes the metric area
            match focused_pane.filter(|i| *i < d.panes.len() && state.ui.peek) {
                Some(i) if !rects.iter().any(|(j, _)| *j == i) => vec![(i, metrics)],
                _ => rects,
            }
        }
        _ => vec![],
    };
    let hidden = hidden_but(&panes);
    ScreenLayout {
        header: l.header,
        footer: l.footer,
        probes,
        logs,
        kube,
        metrics,
        panes,
        hidden,
    }
}

/// [`screen`] at the terminal's size as the state knows it.
pub fn current(state: &crate::app::State) -> ScreenLayout {
    screen(state, Rect::new(0, 0, state.ui.width, state.ui.height))
}

/// Where the log pane is at this size (for paging in `update`).
pub fn logs_rect(state: &crate::app::State) -> Option<Rect> {
    current(state).logs
}

/// Rows of log lines in a log pane `height` tall (border and, when shown,
/// the volume strip taken off).
pub fn log_body_rows(height: u16, volume: bool) -> usize {
    (height as usize).saturating_sub(2 + if volume { 2 } else { 0 })
}

/// Splits an area into a left and a right half (the right takes the odd column).
pub fn halves(r: Rect) -> (Rect, Rect) {
    let half = r.width / 2;
    (
        Rect { width: half, ..r },
        Rect {
            x: r.x + half,
            width: r.width - half,
            ..r
        },
    )
}

/// Panes in the top row (narrow panes) vs the full-width rows below.
fn is_wide(kind: PaneKind) -> bool {
    matches!(kind, PaneKind::Admission)
}

/// How many top-row panes fit and whether the wide rows fit, for a body size.
fn capacity(width: u16, body_h: u16) -> (usize, bool) {
    if width < 60 || body_h < 10 {
        return (1, false);
    }
    let top = if width >= 120 { 3 } else { 2 };
    (top, body_h >= 16)
}

/// Indices of the panes drawn at this terminal size, most important first
/// kept; only panes `with_data` (the others give their space away; a
/// dashboard with no data at all keeps every pane, to say what each needs).
pub fn visible_panes(d: &Dashboard, width: u16, height: u16, with_data: &[bool]) -> Vec<usize> {
    let has = |i: usize| with_data.get(i).copied().unwrap_or(true);
    let any = (0..d.panes.len()).any(has);
    let has = |i: usize| !any || has(i);
    let body_h = height.saturating_sub(2);
    let (top_cap, wide_ok) = capacity(width, body_h);
    let mut by_prio: Vec<usize> = (0..d.panes.len()).filter(|&i| has(i)).collect();
    by_prio.sort_by_key(|&i| (d.panes[i].priority, i));
    let mut top = 0;
    let mut keep = Vec::new();
    for i in by_prio {
        if is_wide(d.panes[i].kind) {
            if wide_ok {
                keep.push(i);
            }
        } else if top < top_cap {
            top += 1;
            keep.push(i);
        }
    }
    if keep.is_empty() && !d.panes.is_empty() {
        keep.push((0..d.panes.len()).find(|&i| has(i)).unwrap_or(0));
    }
    keep.sort();
    keep
}

/// Where each visible pane goes. With `zoom`, the focused pane takes the body.
pub fn pane_rects(
    d: &Dashboard,
    body: Rect,
    zoom: Option<usize>,
    with_data: &[bool],
) -> Vec<(usize, Rect)> {
    let height = body.height + 2;
    let vis = visible_panes(d, body.width, height, with_data);
    if let Some(z) = zoom {
        if z < d.panes.len() {
            return vec![(z, body)];
        }
    }
    let top: Vec<usize> = vis
        .iter()
        .copied()
        .filter(|&i| !is_wide(d.panes[i].kind))
        .collect();
    let wide: Vec<usize> = vis
        .iter()
        .copied()
        .filter(|&i| is_wide(d.panes[i].kind))
        .collect();
    let mut out = Vec::new();
    let top_h = if wide.is_empty() {
        body.height
    } else if top.is_empty() {
        0
    } else {
        (body.height * 45 / 100).clamp(10, 20).min(body.height)
    };
    // top row: memory gets the most room, then restarts, then the rest
    let weights: Vec<u16> = top
        .iter()
        .map(|&i| match d.panes[i].kind {
            PaneKind::Memory => 38,
            PaneKind::Restarts => 35,
            _ => 27,
        })
        .collect();
    let total: u16 = weights.iter().sum::<u16>().max(1);
    let mut x = body.x;
    for (n, (&i, &w)) in top.iter().zip(&weights).enumerate() {
        let width = if n + 1 == top.len() {
            body.x + body.width - x
        } else {
            body.width * w / total
        };
        out.push((
            i,
            Rect {
                x,
                y: body.y,
                width,
                height: top_h,
            },
        ));
        x += width;
    }
    if !wide.is_empty() {
        let rest = body.height - top_h;
        let each = rest / wide.len() as u16;
        let mut y = body.y + top_h;
        for (n, &i) in wide.iter().enumerate() {
            let h = if n + 1 == wide.len() {
                body.y + body.height - y
            } else {
                each
            };
            out.push((
                i,
                Rect {
                    x: body.x,
                    y,
                    width: body.width,
                    height: h,
                },
            ));
            y += h;
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_terminals_drop_least_important() {
        let d = Dashboard::builtin("beam").unwrap();
        let names = |w, h| -> Vec<String> {
            visible_panes(&d, w, h, &[])
                .iter()
                .map(|&i| d.panes[i].id.clone())
                .collect()
        };
        assert_eq!(
            names(200, 50),
            vec!["memory", "scheduler", "restarts", "admission"]
        );
        assert_eq!(names(80, 24), vec!["memory", "restarts", "admission"]);
        assert_eq!(names(80, 14), vec!["memory", "restarts"]);
        assert_eq!(names(50, 20), vec!["memory"]);
    }

    #[test]
    fn rects_tile_the_body_without_overlap() {
        let d = Dashboard::builtin("beam").unwrap();
        for (w, h) in [(80u16, 24u16), (200, 50), (300, 90), (120, 30)] {
            let body = Rect::new(0, 1, w, h - 2);
            let rects = pane_rects(&d, body, None, &[]);
            let area: u32 = rects
                .iter()
                .map(|(_, r)| r.width as u32 * r.height as u32)
                .sum();
            assert_eq!(area, body.width as u32 * body.height as u32, "{w}x{h}");
            for (i, a) in &rects {
                for (j, b) in &rects {
                    if i != j {
                        assert!(!a.intersects(*b), "{w}x{h}: {a:?} {b:?}");
                    }
                }
            }
        }
    }
}
