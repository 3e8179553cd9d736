//! The `:` command line: words that change the target or ask for a refresh.
//! Commands only change State (the target); `update` re-targets the sources.

use crate::app::state::State;
use crate::app::views::LineEditor;
use crate::app::Command;
use crate::text::units::parse_duration;

/// Every command, with what help and completion say of it.
pub const COMMANDS: [(&str, &str); 9] = [
    ("pod", "NAME: one pod (none: all)"),
    ("ns", "NAME: namespace (none: all)"),
    ("job", "NAME: Prometheus job"),
    (
        "ctx",
        "NAME: Kubernetes context (none: the kubeconfig's current one)",
    ),
    ("range", "30m: the time window"),
    ("refresh", "ask every source now"),
    (
        "theme",
        "NAME: colours (light for a bright room or projector)",
    ),
    ("live", "follow the clock again"),
    ("quit", "quit"),
];

/// Runs one command line. Ok: commands to run and a message to show.
pub fn run(state: &mut State, line: &str) -> Result<(Vec<Command>, Option<String>), String> {
    let mut words = line.split_whitespace();
    let Some(cmd) = words.next() else {
        return Ok((vec![], None));
    };
    // the argument is the rest of the line as typed (a pod name may hold spaces)
    let arg = line.trim_start()[cmd.len()..].trim();
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    match cmd {
        "pod" | "p" => {
            // a pod no answer has named yet: applied (it may be new), said
            let known = state.pods();
            state.target.pod = opt(arg);
            if !arg.is_empty() && !known.is_empty() && !known.iter().any(|p| p == arg) {
                return Ok((
                    vec![],
                    Some(format!(
                        "no series for pod {} yet: showing it anyway",
                        crate::text::display(arg)
                    )),
                ));
            }
        }
        // without a name: the picker (its first entry is every namespace)
        "ns" | "namespace" if arg.is_empty() => {
            crate::app::keys::open_picker(state, crate::app::views::Pick::Namespace)
        }
        "ns" | "namespace" => state.target.namespace = opt(arg),
        "job" => {
            // the backend listed its jobs: a job it does not have is refused
            let jobs = &state.metrics.jobs;
            if !arg.is_empty() && !jobs.is_empty() && !jobs.iter().any(|j| j == arg) {
                let some: Vec<String> = jobs
                    .iter()
                    .take(8)
                    .map(|j| crate::text::display(j).into_owned())
                    .collect();
                let more = if jobs.len() > 8 { ", …" } else { "" };
                return Err(format!(
                    "no series for job {} (jobs: {}{more})",
                    crate::text::display(arg),
                    some.join(", ")
                ));
            }
            state.target.job = opt(arg)
        }
        "range" | "window" => {
            let secs = parse_duration(arg).map_err(|e| format!("range: {e}"))?;
            let secs = crate::config::settings::check_limit(
                "range",
                secs,
                crate::config::settings::RANGE_MIN_SECS,
                crate::config::settings::RANGE_MAX_SECS,
            )?;
            state.target.range_secs = secs.round() as u64;
        }
        "refresh" | "r" => {
            return Ok((
                crate::app::update::apply(state, crate::app::Action::RefreshNow),
                Some("refreshing".into()),
            ))
        }
        "live" => state.target.pinned_end_ms = None,
        "ctx" | "context" if arg.is_empty() => {
            crate::app::keys::open_picker(state, crate::app::views::Pick::Context)
        }
        "ctx" | "context" => {
            let known = &state.kube.contexts;
            if !arg.is_empty() && !known.is_empty() && !known.iter().any(|c| c == arg) {
                return Err(format!(
                    "no context `{}` (contexts: {})",
                    crate::text::display(arg),
                    known.join(", ")
                ));
            }
            state.target.context = opt(arg);
        }
        "theme" => {
            let names = || {
                let v: Vec<&str> = state.themes.iter().map(|t| t.name.as_str()).collect();
                v.join(", ")
            };
            let Some(t) = state.themes.iter().find(|t| t.name == arg) else {
                return Err(format!(
                    "no theme `{}` (themes: {})",
                    crate::text::display(arg),
                    names()
                ));
            };
            state.theme = t.clone();
            return Ok((vec![], Some(format!("theme {}", t.name))));
        }
        "quit" | "q" => {
            return Ok((
                crate::app::update::apply(state, crate::app::Action::Quit),
                None,
            ))
        }
        other => {
            let names: Vec<&str> = COMMANDS.iter().map(|c| c.0).collect();
            return Err(format!(
                "unknown command `{}` (commands: {})",
                crate::text::display(other),
                names.join(", ")
            ));
        }
    }
    Ok((vec![], None))
}

/// What Tab offers for the word under the cursor: command names first,
/// then pods for `pod`, jobs for `job`, namespaces for `ns`.
pub fn candidates(state: &State, e: &LineEditor) -> Vec<String> {
    let before = e.words_before();
    match before.first().map(String::as_str) {
        None => COMMANDS.iter().map(|c| c.0.to_string()).collect(),
        Some("pod" | "p") => state.pods(),
        Some("job") => {
            let mut v = state.metrics.jobs.clone();
            v.extend(label_values(state, "job"));
            v.sort();
            v.dedup();
            v
        }
        Some("ns" | "namespace") => namespaces(state),
        Some("ctx" | "context") => state.kube.contexts.clone(),
        Some("theme") => state.themes.iter().map(|t| t.name.clone()).collect(),
        Some("range" | "window") => ["5m", "15m", "1h", "6h", "1d", "7d"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        _ => vec![],
    }
}

/// Values of one label in the latest answers.
fn label_values(state: &State, which: &str) -> Vec<String> {
    let label = state.label(which);
    let mut v: std::collections::BTreeSet<&str> = Default::default();
    for q in state.metrics.store.queries.values() {
        for s in &q.series {
            if let Some(x) = s.labels.get(label) {
                v.insert(x);
            }
        }
    }
    v.into_iter().map(str::to_string).collect()
}

/// The namespaces known: from the metrics' label values and the API's pods.
pub fn namespaces(state: &State) -> Vec<String> {
    let mut v = label_values(state, "namespace");
    v.extend(state.kube.pods.values().map(|p| p.namespace.clone()));
    // the one in view, and the one Kubernetes watches, even before any
    // pod of theirs is listed
    v.extend(state.kube.namespace.clone());
    v.extend(state.target.namespace.clone());
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keymap::Keymap;
    use crate::app::Target;
    use crate::config::theme::Theme;

    fn state() -> State {
        let mut s = State::new(
            None,
            Target::default(),
            5.0,
            Theme::default_theme(),
            Keymap::default_keymap(),
        );
        s.themes = vec![Theme::default_theme(), Theme::builtin("light").unwrap()];
        s
    }

    /// `:theme light` switches the colours at once (a bright room, a
    /// projector); an unknown name is refused and the themes are named.
    #[test]
    fn theme_switches_between_the_loaded_themes() {
        let mut s = state();
        let dark = s.theme.clone();
        let (_, msg) = run(&mut s, "theme light").unwrap();
        assert_eq!(s.theme.name, "light");
        assert_ne!(s.theme.text, dark.text);
        assert_eq!(msg.as_deref(), Some("theme light"));
        let e = run(&mut s, "theme nope\u{1b}[2J").unwrap_err();
        assert!(e.contains("themes: default, light"), "{e}");
        assert!(!e.contains('\u{1b}'), "{e:?}");
        assert_eq!(s.theme.name, "light", "a refused name changes nothing");
        run(&mut s, "theme default").unwrap();
        assert_eq!(s.theme, dark);
        let mut e = LineEditor::with_history(vec![]);
        e.set_text("theme ");
        assert_eq!(candidates(&s, &e), ["default", "light"]);
    }
}
