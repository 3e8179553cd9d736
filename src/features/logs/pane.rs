//! Logs: the live tail (or paused reading) of the log query, a log-volume
//! strip by level above the lines, markers for lines the server could not
//! deliver, search highlights, and the ring's fill in the title.
//! `view` builds what to show from State; `draw` only lays it out.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use crate::app::State;
use crate::config::theme::Theme;
use crate::features::logs::{text_matches, LogsState};
use crate::store::logs::{Marker, Row};
use crate::text::display;
use crate::text::logline::Level;
use crate::text::units::{format_bytes, format_count};
use crate::ui::widgets::chart::clock;

/// One row on screen.
#[derive(Debug, Clone, PartialEq)]
pub enum RowView {
    Line {
        time: String,
        pod: String,
        container: String,
        /// From the container's previous instance (before its restart).
        previous: bool,
        level: Level,
        text: String,
        /// "[cut 1.0 MiB]" when the line was longer than kept.
        cut: Option<String>,
        selected: bool,
        matched: bool,
    },
    Marker {
        text: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogsView {
    pub query: String,
    pub state: String,
    pub counts: String,
    pub filters: String,
    /// Lines per bucket: (total, warn, error) oldest first.
    pub volume: Vec<(u64, u64, u64)>,
    pub volume_note: String,
    pub rows: Vec<RowView>,
    pub error: Option<String>,
    pub redaction_off: bool,
    pub wrap: bool,
    pub empty_note: Option<String>,
    /// Where the lines come from when that is not a log server ("k8s API").
    pub source: Option<&'static str>,
}

/// Lines of text the pane's body can show, for its height.
pub fn body_rows(height: u16, volume: bool) -> usize {
    crate::app::layout::log_body_rows(height, volume)
}

/// Ring positions to show, oldest first: the newest rows when following,
/// else the rows ending at the anchor.
///
/// Following, the bottom row is the newest line of the present: lines
/// stamped ahead of the clock (a skewed node) sort after it and would
/// otherwise fill the pane; they are counted in the title and reached by
/// scrolling down.
pub fn window(l: &LogsState, rows: usize, now_ms: i64) -> Vec<usize> {
    let shown = l.shown_positions();
    let end = match (l.follow, l.anchor.and_then(|a| l.ring.index_of(a))) {
        (false, Some(a)) => shown.partition_point(|&p| p <= a),
        _ if l.skewed > 0 => {
            let present = (now_ms * 1_000_000)
                .saturating_add(crate::features::logs::engine::SKEW_TOLERANCE_NS);
            let n =
                shown.partition_point(|&p| l.ring.get(p).is_some_and(|s| s.row.ts_ns() <= present));
            if n == 0 {
                shown.len()
            } else {
                n
            }
        }
        _ => shown.len(),
    };
    let start = end.saturating_sub(rows);
    // fewer rows than fit up to the anchor (a filter changed): fill the
    // pane with newer rows rather than leave it blank
    let end = end.max((start + rows).min(shown.len()));
    shown[start..end].to_vec()
}

fn volume(l: &LogsState, state: &State, buckets: usize) -> (Vec<(u64, u64, u64)>, String) {
    let buckets = buckets.max(1);
    let end = state.target.end_ms(state.now_ms);
    let start = state.target.start_ms(state.now_ms);
    let span = ((end - start) / buckets as i64).max(1);
    let mut out = vec![(0u64, 0u64, 0u64); buckets];
    // the level filter applies to the bars as to the lines
    let passes = |lvl: Level| match l.min_level {
        Some(min) => lvl >= min && lvl != Level::Unknown,
        None => true,
    };
    let mut add = |t_ms: i64, n: u64, lvl: Level| {
        if t_ms < start || t_ms > end || !passes(lvl) {
            return;
        }
        let i = (((t_ms - start) / span) as usize).min(buckets - 1);
        out[i].0 += n;
        if lvl == Level::Warn {
            out[i].1 += n;
        }
        if lvl >= Level::Error && lvl != Level::Unknown {
            out[i].2 += n;
        }
    };
    let note = if let Some(m) = &l.volume {
        for s in m {
            let lvl = s
                .labels
                .iter()
                .find(|(k, _)| k == "detected_level")
                .map(|(_, v)| Level::from_word(v, true))
                .unwrap_or(Level::Unknown);
            for &(t, v) in &s.points {
                add(t, v.max(0.0) as u64, lvl);
            }
        }
        "volume"
    } else {
        for line in l.ring.lines() {
            add(line.ts_ns / 1_000_000, 1, line.level);
        }
        "volume (retained lines)"
    };
    (out, note.to_string())
}

/// Keys shown elsewhere on the row (time, level) or first (the message).
const QUIET: [&str; 9] = [
    "time",
    "ts",
    "timestamp",
    "@timestamp",
    "level",
    "lvl",
    "severity",
    "msg",
    "message",
];

/// A JSON line as `message  key=value …` (its time and level are already in
/// the columns); anything else as it is. The detail view shows it whole.
pub fn compact(text: &str) -> String {
    if !text.starts_with('{') {
        return text.to_string();
    }
    let Some(f) = crate::text::logline::fields(text) else {
        return text.to_string();
    };
    let msg = f.get("msg").or_else(|| f.get("message")).unwrap_or("");
    let mut out = String::with_capacity(text.len());
    out.push_str(msg);
    for (k, v) in &f.pairs {
        if QUIET.contains(&k.as_str()) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("  ");
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

pub fn view(state: &State, area: Rect) -> LogsView {
    let l = &state.logs;
    let show_volume = area.height >= 8;
    let n = body_rows(area.height, show_volume);
    let rows = row_views(l, window(l, n, state.now_ms));
    let (volume, volume_note) = if show_volume {
        volume_view(l, state, area.width)
    } else {
        (vec![], String::new())
    };
    LogsView {
        // the filters are listed on their own: the query without them
        query: display(if l.base.is_empty() { &l.query } else { &l.base }).into_owned(),
        state: state_word(state, l),
        counts: counts(l),
        filters: filters(l),
        volume,
        volume_note,
        rows,
        error: l
            .common
            .health
            .last_error
            .as_ref()
            .filter(|_| !l.common.health.ok())
            .map(|e| display(e).into_owned()),
        redaction_off: !l.redact,
        wrap: l.wrap,
        empty_note: empty_note(l),
        source: (l.common.health.name == crate::features::logs::client::kube::NAME)
            .then_some("from the Kubernetes API"),
    }
}

/// The rows at these ring positions, as shown.
fn row_views(l: &LogsState, positions: Vec<usize>) -> Vec<RowView> {
    let selected = if l.follow { None } else { l.selected };
    let ms = shares_a_second(l, &positions);
    let mut rows = Vec::with_capacity(positions.len());
    for p in positions {
        let Some(s) = l.ring.get(p) else { continue };
        rows.push(match &s.row {
            Row::Marker(m) => RowView::Marker {
                text: marker_text(m),
            },
            Row::Line(line) => RowView::Line {
                time: log_time(line.ts_ns, ms),
                pod: line
                    .label("pod")
                    .map(|p| display(p).into_owned())
                    .unwrap_or_default(),
                container: line
                    .label("container")
                    .map(|p| display(p).into_owned())
                    .unwrap_or_default(),
                previous: line.label("previous") == Some("true"),
                level: line.level,
                text: compact(&line.text),
                cut: line
                    .cut
                    .map(|b| format!("[cut {}]", format_bytes(b as f64))),
                selected: selected == Some(s.id),
                matched: l.matches(line),
            },
        });
    }
    rows
}

/// Whether two lines shown next to each other share a second: then every
/// time on screen carries milliseconds (one column width for all rows).
fn shares_a_second(l: &LogsState, positions: &[usize]) -> bool {
    let secs: Vec<i64> = positions
        .iter()
        .filter_map(|&p| match &l.ring.get(p)?.row {
            Row::Line(x) => Some(x.ts_ns.div_euclid(1_000_000_000)),
            Row::Marker(_) => None,
        })
        .collect();
    secs.windows(2).any(|w| w[0] == w[1])
}

/// `12:04:01`, or `12:04:01.123` when lines share seconds.
pub fn log_time(ts_ns: i64, ms: bool) -> String {
    let t = clock(ts_ns / 1_000_000, true);
    if ms {
        format!("{t}.{:03}", ts_ns.div_euclid(1_000_000).rem_euclid(1000))
    } else {
        t
    }
}

/// "⚠ 12 lines missing 10:00:01–10:00:05: why", or the reason alone when
/// the count is unknown.
fn marker_text(m: &Marker) -> String {
    if m.count > 0 {
        format!(
            "⚠ {} lines missing {}–{}: {}",
            format_count(m.count as f64),
            clock(m.from_ns / 1_000_000, true),
            clock(m.to_ns / 1_000_000, true),
            display(&m.why)
        )
    } else {
        format!(
            "⚠ {} (before {})",
            display(&m.why),
            clock(m.to_ns / 1_000_000, true)
        )
    }
}

/// The volume strip's buckets for a pane this wide.
fn volume_view(l: &LogsState, state: &State, width: u16) -> (Vec<(u64, u64, u64)>, String) {
    // as many buckets as the server's steps (each drawn as wide as it
    // takes), never more than columns
    let step = crate::core::target::choose_step(state.target.range_secs, 60, 1);
    let n = (state.target.range_secs / step.max(1)) as usize;
    volume(
        l,
        state,
        n.clamp(1, width.saturating_sub(2).max(1) as usize),
    )
}

/// "1.2k lines (30 oldest dropped) · 0 missing · 2 future-stamped".
fn counts(l: &LogsState) -> String {
    let mut counts = format!("{} lines", format_count(l.ring.len() as f64));
    if l.ring.evicted > 0 {
        counts.push_str(&format!(
            " ({} oldest dropped)",
            format_count(l.ring.evicted as f64)
        ));
    }
    counts.push_str(&format!(
        " · {} missing",
        format_count(l.ring.missing as f64)
    ));
    if l.skewed > 0 {
        counts.push_str(&format!(
            " · {} future-stamped",
            format_count(l.skewed as f64)
        ));
    }
    counts
}

/// The label filters, minimum level and search (with its hits), joined.
fn filters(l: &LogsState) -> String {
    let mut filters: Vec<String> = l
        .filters
        .iter()
        .map(|f| display(&f.label()).into_owned())
        .collect();
    if let Some(min) = l.min_level {
        filters.push(format!("≥{}", min.as_str()));
    }
    if let Some(s) = &l.search {
        let hits = l.ring.lines().filter(|x| text_matches(&x.text, s)).count();
        filters.push(format!("/{} ({hits})", display(s)));
    }
    filters.join(" ")
}

/// Following, paused, or pinned to a time; the tail mode and why.
fn state_word(state: &State, l: &LogsState) -> String {
    match (state.target.pinned_end_ms, l.follow) {
        (Some(at), _) => format!("paused at {} (space resumes)", clock(at, true)),
        (None, true) => format!("following · {}{}", l.mode.as_str(), note(l)),
        (None, false) => format!("paused · {}{} (G follows)", l.mode.as_str(), note(l)),
    }
}

/// What the pane says while it has no lines: the error, or what it waits for.
fn empty_note(l: &LogsState) -> Option<String> {
    l.ring
        .is_empty()
        .then(|| match &l.common.health.last_error {
            Some(e) => format!("✗ {}", display(e)),
            None => format!(
                "no lines yet for {} (waiting for {})",
                display(&l.query),
                l.common.health.name
            ),
        })
}

pub fn level_style(t: &Theme, l: Level) -> Style {
    match l {
        Level::Fatal => t.oom,
        Level::Error => t.crit,
        Level::Warn => t.warn,
        Level::Debug | Level::Trace => t.dim,
        _ => t.text,
    }
}

fn level_tag(l: Level) -> &'static str {
    match l {
        Level::Trace => "TRC",
        Level::Debug => "DBG",
        Level::Info => "INF",
        Level::Warn => "WRN",
        Level::Error => "ERR",
        Level::Fatal => "FTL",
        Level::Unknown => "   ",
    }
}

/// Spans of `text` with the search matches highlighted.
fn highlighted<'a>(text: &'a str, needle: Option<&str>, base: Style, hi: Style) -> Vec<Span<'a>> {
    let Some(n) = needle.filter(|n| !n.is_empty()) else {
        return vec![Span::styled(text, base)];
    };
    let smart_lower = !n.chars().any(char::is_uppercase);
    let (hay, nee) = if smart_lower {
        (text.to_lowercase(), n.to_lowercase())
    } else {
        (text.to_string(), n.to_string())
    };
    // lower-casing may change byte lengths outside ASCII: highlight only
    // when offsets still line up
    if hay.len() != text.len() {
        return vec![Span::styled(text, base)];
    }
    let mut out = Vec::new();
    let mut at = 0;
    for (i, _) in hay.match_indices(&nee) {
        if i < at || !text.is_char_boundary(i) || !text.is_char_boundary(i + nee.len()) {
            continue;
        }
        if i > at {
            out.push(Span::styled(&text[at..i], base));
        }
        out.push(Span::styled(&text[i..i + nee.len()], hi));
        at = i + nee.len();
    }
    if at < text.len() {
        out.push(Span::styled(&text[at..], base));
    }
    out
}

pub fn draw(f: &mut Frame, area: Rect, v: &LogsView, state: &State, focused: bool) {
    let t = &state.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { t.border_focus } else { t.border })
        .title(title(v, t, area.width.saturating_sub(2) as usize));
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let mut lines: Vec<Line> = Vec::new();
    if !v.volume.is_empty() {
        lines.extend(volume_lines(v, t, inner.width as usize));
    }
    if let Some(note) = &v.empty_note {
        let style = if note.starts_with('✗') {
            t.crit
        } else {
            t.dim
        };
        lines.push(Line::from(Span::styled(note.clone(), style)));
    }
    let body_h = (inner.height as usize).saturating_sub(lines.len());
    let body: Vec<Line> = v.rows.iter().map(|r| row_line(r, state)).collect();
    if v.wrap {
        // wrapped rows take more lines: keep the newest that fit
        let skip = body.len() - newest_that_fit(&body, inner.width, body_h);
        lines.extend(body.into_iter().skip(skip));
        f.render_widget(
            Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false }),
            inner,
        );
    } else {
        lines.extend(body);
        f.render_widget(Paragraph::new(lines), inner);
    }
    if let (Some(e), None) = (&v.error, &v.empty_note) {
        draw_error(f, inner, e, t);
    }
}

/// " Logs  REDACTION OFF following · tail ≥warn 1.2k lines … {query}".
fn title<'a>(v: &'a LogsView, t: &Theme, width: usize) -> Line<'a> {
    let mut title = vec![Span::styled(" Logs ", t.title)];
    if let Some(src) = v.source {
        title.push(Span::styled(format!("{src} "), t.dim));
    }
    if v.redaction_off {
        title.push(Span::styled(" REDACTION OFF ", t.oom));
    }
    title.push(Span::styled(format!("{} ", v.state), t.dim));
    if !v.filters.is_empty() {
        title.push(Span::styled(format!("{} ", v.filters), t.warn));
    }
    title.push(Span::styled(format!("{} ", v.counts), t.dim));
    // the query takes what is left, cut in the middle (both its ends say
    // what it selects) rather than at the border
    let used: usize = title.iter().map(|s| s.width()).sum();
    let room = width.saturating_sub(used + 1);
    let q = if v.query.chars().count() > room {
        crate::text::units::fit_middle(&v.query, room)
    } else {
        v.query.clone()
    };
    title.push(Span::styled(format!("{q} "), t.accent));
    Line::from(title)
}

/// One body row: a marker, or a line with its chosen columns, level tag,
/// cut note and search highlights.
fn row_line<'a>(r: &'a RowView, state: &State) -> Line<'a> {
    let t = &state.theme;
    match r {
        RowView::Marker { text } => Line::from(Span::styled(text.clone(), t.warn)),
        RowView::Line {
            time,
            pod,
            container,
            previous,
            level,
            text,
            cut,
            selected,
            matched,
        } => {
            let cols = state.logs.columns;
            let mut spans = vec![Span::styled(if *selected { "▶" } else { " " }, t.accent)];
            if cols.time() {
                spans.push(Span::styled(format!("{time} "), t.dim));
            }
            if cols.pod() && !pod.is_empty() {
                spans.push(Span::styled(format!("{pod} "), t.accent));
            }
            if cols.container() && !container.is_empty() {
                spans.push(Span::styled(format!("{container} "), t.dim));
            }
            // whatever the columns: these lines are from before a restart
            if *previous {
                spans.push(Span::styled("⟲previous ", t.warn));
            }
            let ls = level_style(t, *level);
            spans.push(Span::styled(format!("{} ", level_tag(*level)), ls));
            // the selected line in reverse video: visible on a shared screen
            // and in every theme, mono included
            let base = if *selected {
                ls.add_modifier(Modifier::REVERSED | Modifier::BOLD)
            } else {
                ls
            };
            // before the text: a cut line is long, its end off-screen
            if let Some(c) = cut {
                spans.push(Span::styled(format!("{c} "), t.warn));
            }
            let needle = state.logs.search.as_deref();
            // a match: reversed on a plain row; on the (reversed) selected
            // row, underlined and not reversed, so it still stands out
            let hit = if *selected {
                t.accent.add_modifier(Modifier::UNDERLINED | Modifier::BOLD)
            } else {
                t.accent.add_modifier(Modifier::REVERSED)
            };
            let n = spans.len();
            spans.extend(highlighted(
                text,
                if *matched { needle } else { None },
                base,
                hit,
            ));
            if *selected {
                // the whole row, marker to text, in reverse video
                for s in &mut spans[..n] {
                    s.style = s.style.add_modifier(Modifier::REVERSED);
                }
            }
            Line::from(spans)
        }
    }
}

/// How many of the last `body` lines fit in `height` rows of this width
/// once wrapped.
fn newest_that_fit(body: &[Line], width: u16, height: usize) -> usize {
    let w = width.max(1) as usize;
    let mut used = 0;
    let mut keep = 0;
    for l in body.iter().rev() {
        let h = l.width().div_ceil(w).max(1);
        if used + h > height {
            break;
        }
        used += h;
        keep += 1;
    }
    keep
}

/// The query's error on the pane's last row, when there is room.
fn draw_error(f: &mut Frame, inner: Rect, e: &str, t: &Theme) {
    if inner.height > 3 {
        let r = Rect {
            y: inner.y + inner.height - 1,
            height: 1,
            ..inner
        };
        f.render_widget(Paragraph::new(Span::styled(format!("✗ {e}"), t.crit)), r);
    }
}

fn volume_lines(v: &LogsView, t: &Theme, width: usize) -> Vec<Line<'static>> {
    const BLOCKS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = v.volume.iter().map(|b| b.0).max().unwrap_or(0).max(1);
    // a steady stream would be a solid block from zero: when every bucket
    // holds at least half the busiest, the bars start as far below the
    // quietest as the busiest is above it (the quietest at half height)
    // (the window's first and last buckets are partial: not the quietest)
    let inner = if v.volume.len() > 3 {
        &v.volume[1..v.volume.len() - 1]
    } else {
        &v.volume[..]
    };
    let min = inner.iter().map(|b| b.0).min().unwrap_or(0);
    let floor = if min * 2 >= max {
        min.saturating_sub(max - min)
    } else {
        0
    };
    let total: u64 = v.volume.iter().map(|b| b.0).sum();
    let warn: u64 = v.volume.iter().map(|b| b.1).sum();
    let err: u64 = v.volume.iter().map(|b| b.2).sum();
    let mut top = Vec::new();
    let mut bottom = Vec::new();
    let n_buckets = v.volume.len().max(1);
    for col in 0..width {
        let (n, w, e) = v.volume[(col * n_buckets / width.max(1)).min(n_buckets - 1)];
        let style = if e > 0 {
            t.crit
        } else if w > 0 {
            t.warn
        } else {
            t.dim
        };
        // two rows of eighths
        let h = ((n.saturating_sub(floor) as f64 / (max - floor).max(1) as f64) * 16.0).round()
            as usize;
        let h = if n > 0 { h.max(1) } else { 0 };
        bottom.push(Span::styled(BLOCKS[h.min(8)].to_string(), style));
        top.push(Span::styled(BLOCKS[h.saturating_sub(8)].to_string(), style));
    }
    let legend = format!(
        " {} · {} lines · {} warn · {} error",
        v.volume_note,
        format_count(total as f64),
        format_count(warn as f64),
        format_count(err as f64)
    );
    // the legend sits on the top row where the bars are lowest
    let mut top_line = top;
    if width > legend.chars().count() + 10 {
        let keep = width - legend.chars().count();
        top_line.truncate(keep);
        top_line.push(Span::styled(legend, t.dim));
    }
    vec![Line::from(top_line), Line::from(bottom)]
}

/// " (tail refused: HTTP 404)" beside the mode, when the engine says why.
fn note(l: &crate::features::logs::LogsState) -> String {
    match &l.note {
        Some(n) if l.mode == crate::features::logs::TailMode::Polling => {
            format!(" ({})", display(n))
        }
        _ => String::new(),
    }
}
