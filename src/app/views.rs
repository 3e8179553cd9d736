//! The view stack: the dashboard at the base, overlays and full-screen
//! views pushed on top. Each view has a key mode; Esc pops the top view and
//! restores the focus and zoom that were current when it was pushed. Also the
//! one-line editor used by every text-input view.

use crate::app::keymap::Mode;

/// What a text-input view is for (its history is kept per purpose).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InputPurpose {
    /// `:` commands: `pod NAME`, `ns NAME`, `job NAME`, `range 1h`, …
    Command,
    /// `/` search in the log pane.
    Search,
    /// `e` the LogQL query.
    LogQuery,
    /// `+` only lines containing a text.
    Include,
    /// `-` hide lines containing a text.
    Exclude,
}

impl InputPurpose {
    pub fn prompt(self) -> &'static str {
        match self {
            InputPurpose::Command => ":",
            InputPurpose::Search => "/",
            InputPurpose::LogQuery => "logql> ",
            InputPurpose::Include => "only lines with: ",
            InputPurpose::Exclude => "hide lines with: ",
        }
    }
}

/// A view above the dashboard.
/// What a picker lists; its first entry is "none" (every pod, every
/// namespace, the kubeconfig's current context).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pick {
    #[default]
    Pod,
    Namespace,
    Context,
}

impl Pick {
    /// The first entry, the noun in the title.
    pub fn words(self) -> (&'static str, &'static str) {
        match self {
            Pick::Pod => ("all pods", "Pod"),
            Pick::Namespace => ("all namespaces", "Namespace"),
            Pick::Context => ("the kubeconfig's current context", "Context"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum View {
    Help {
        scroll: u16,
    },
    PodPicker {
        index: usize,
        /// Typed to narrow the list (smart case, anywhere in the name).
        filter: String,
        /// What is picked: a pod, a namespace, a Kubernetes context.
        kind: Pick,
    },
    Input {
        purpose: InputPurpose,
        editor: LineEditor,
    },
    /// A log line in full: fields, labels, metadata; `index` is the
    /// selected field (Enter filters on it).
    LogDetail {
        id: u64,
        index: usize,
    },
    /// The top patterns of the window; Enter filters to one.
    Patterns {
        index: usize,
    },
    /// The latest memory-sampler snapshot of the pod in view.
    Sampler {
        scroll: u16,
    },
    /// The trace of `State::trace_id` as a waterfall: `selected` is a row
    /// of the spans shown; `collapsed` the spans whose subtrees are hidden.
    Trace {
        /// The trace this view shows (it is read again when the view
        /// comes back on top after another trace was opened above it).
        id: String,
        selected: usize,
        collapsed: Vec<usize>,
    },
    /// The baseline trace against the trace in view.
    TraceCompare {
        scroll: u16,
    },
    /// The traces a search found; Enter opens the selected one.
    TraceList {
        index: usize,
    },
}

impl View {
    pub fn mode(&self) -> Mode {
        match self {
            View::Help { .. } => Mode::Help,
            View::PodPicker { .. } => Mode::Picker,
            View::Input { .. } => Mode::Input,
            View::LogDetail { .. } | View::Patterns { .. } => Mode::Picker,
            View::Sampler { .. } => Mode::Help,
            View::Trace { .. } => Mode::Trace,
            View::TraceCompare { .. } => Mode::Help,
            View::TraceList { .. } => Mode::Trace,
        }
    }
}

/// What a pushed view restores when it is popped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Saved {
    pub focused: crate::app::state::Focus,
    pub zoom: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewStack {
    stack: Vec<(View, Saved)>,
}

impl ViewStack {
    /// The mode of the top view; the dashboard's when the stack is empty.
    pub fn mode(&self) -> Mode {
        self.top().map(View::mode).unwrap_or(Mode::Normal)
    }

    pub fn top(&self) -> Option<&View> {
        self.stack.last().map(|(v, _)| v)
    }

    pub fn top_mut(&mut self) -> Option<&mut View> {
        self.stack.last_mut().map(|(v, _)| v)
    }

    pub fn push(&mut self, view: View, saved: Saved) {
        self.stack.push((view, saved));
    }

    pub fn pop(&mut self) -> Option<(View, Saved)> {
        self.stack.pop()
    }

    /// Views above the dashboard.
    pub fn depth(&self) -> usize {
        self.stack.len()
    }

    /// Bottom to top.
    pub fn iter(&self) -> impl Iterator<Item = &View> {
        self.stack.iter().map(|(v, _)| v)
    }
}

/// A one-line editor: cursor movement, word delete, history, completion.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LineEditor {
    /// The text, as chars (the cursor is a char index).
    chars: Vec<char>,
    pub cursor: usize,
    history: Vec<String>,
    /// Position while walking the history (None: the draft).
    hist_pos: Option<usize>,
    draft: String,
    /// Completion cycle: the candidates and which one is shown.
    completing: Option<(Vec<String>, usize, usize)>,
}

/// Most entries kept per history.
pub const MAX_HISTORY: usize = 100;

impl LineEditor {
    pub fn with_history(history: Vec<String>) -> LineEditor {
        LineEditor {
            history,
            ..Default::default()
        }
    }

    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }

    pub fn set_text(&mut self, s: &str) {
        self.chars = s.chars().collect();
        self.cursor = self.chars.len();
    }

    fn edited(&mut self) {
        self.completing = None;
        self.hist_pos = None;
    }

    pub fn insert(&mut self, c: char) {
        if c.is_control() {
            return;
        }
        self.chars.insert(self.cursor, c);
        self.cursor += 1;
        self.edited();
    }

    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            self.chars.remove(self.cursor);
        }
        self.edited();
    }

    pub fn delete(&mut self) {
        if self.cursor < self.chars.len() {
            self.chars.remove(self.cursor);
        }
        self.edited();
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.chars.len());
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.chars.len();
    }

    /// Where the word before the cursor starts.
    fn word_start(&self) -> usize {
        let mut i = self.cursor;
        while i > 0 && self.chars[i - 1].is_whitespace() {
            i -= 1;
        }
        while i > 0 && !self.chars[i - 1].is_whitespace() {
            i -= 1;
        }
        i
    }

    pub fn word_left(&mut self) {
        self.cursor = self.word_start();
    }

    pub fn word_right(&mut self) {
        let n = self.chars.len();
        let mut i = self.cursor;
        while i < n && self.chars[i].is_whitespace() {
            i += 1;
        }
        while i < n && !self.chars[i].is_whitespace() {
            i += 1;
        }
        self.cursor = i;
    }

    /// ctrl-w: deletes the word before the cursor.
    pub fn delete_word(&mut self) {
        let start = self.word_start();
        self.chars.drain(start..self.cursor);
        self.cursor = start;
        self.edited();
    }

    /// ctrl-u: deletes everything before the cursor.
    pub fn kill_to_start(&mut self) {
        self.chars.drain(..self.cursor);
        self.cursor = 0;
        self.edited();
    }

    pub fn history_prev(&mut self) {
        if self.history.is_empty() {
            return;
        }
        let pos = match self.hist_pos {
            None => {
                self.draft = self.text();
                self.history.len() - 1
            }
            Some(p) => p.saturating_sub(1),
        };
        self.hist_pos = Some(pos);
        let t = self.history[pos].clone();
        self.set_text(&t);
    }

    pub fn history_next(&mut self) {
        let Some(p) = self.hist_pos else { return };
        if p + 1 < self.history.len() {
            self.hist_pos = Some(p + 1);
            let t = self.history[p + 1].clone();
            self.set_text(&t);
        } else {
            self.hist_pos = None;
            let d = std::mem::take(&mut self.draft);
            self.set_text(&d);
        }
    }

    /// Where the word being typed starts: empty right after a space.
    fn typing_start(&self) -> usize {
        let mut i = self.cursor;
        while i > 0 && !self.chars[i - 1].is_whitespace() {
            i -= 1;
        }
        i
    }

    /// The word the cursor is in (up to the cursor), for completion.
    pub fn current_word(&self) -> String {
        self.chars[self.typing_start()..self.cursor]
            .iter()
            .collect()
    }

    /// The words before the current one.
    pub fn words_before(&self) -> Vec<String> {
        let head: String = self.chars[..self.typing_start()].iter().collect();
        head.split_whitespace().map(str::to_string).collect()
    }

    /// Tab: replaces the current word with the next candidate that starts
    /// with what was typed; repeated Tabs cycle through them.
    pub fn complete(&mut self, candidates: &[String]) {
        let (list, idx, start) = match self.completing.take() {
            Some((list, idx, start)) if !list.is_empty() => {
                let next = (idx + 1) % list.len();
                (list, next, start)
            }
            _ => {
                let prefix = self.current_word();
                let list: Vec<String> = candidates
                    .iter()
                    .filter(|c| c.starts_with(&prefix))
                    .cloned()
                    .collect();
                if list.is_empty() {
                    return;
                }
                (list, 0, self.typing_start())
            }
        };
        self.chars.truncate(start);
        self.chars.extend(list[idx].chars());
        self.cursor = self.chars.len();
        self.completing = Some((list, idx, start));
    }

    /// The completion menu while Tab cycles: the candidates and which one
    /// is in the text.
    pub fn menu(&self) -> Option<(&[String], usize)> {
        match &self.completing {
            Some((list, idx, _)) if list.len() > 1 => Some((list.as_slice(), *idx)),
            _ => None,
        }
    }

    /// Enter: the text, remembered in the history (no empty or repeated entries).
    pub fn submit(&mut self) -> (String, Vec<String>) {
        let t = self.text();
        let mut h = std::mem::take(&mut self.history);
        if !t.trim().is_empty() && h.last() != Some(&t) {
            h.push(t.clone());
        }
        let over = h.len().saturating_sub(MAX_HISTORY);
        h.drain(..over);
        (t, h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(s: &str) -> LineEditor {
        let mut e = LineEditor::default();
        for c in s.chars() {
            e.insert(c);
        }
        e
    }

    #[test]
    fn edits_move_and_delete_words() {
        let mut e = typed("pod app-1 extra");
        e.delete_word();
        assert_eq!(e.text(), "pod app-1 ");
        e.delete_word();
        assert_eq!(e.text(), "pod ");
        e.home();
        e.insert('x');
        assert_eq!(e.text(), "xpod ");
        e.end();
        e.backspace();
        e.left();
        e.delete();
        assert_eq!(e.text(), "xpo");
        e.word_left();
        assert_eq!(e.cursor, 0);
        e.word_right();
        assert_eq!(e.cursor, 3);
        e.kill_to_start();
        assert_eq!(e.text(), "");
        e.insert('\u{1b}');
        assert_eq!(e.text(), "", "controls are not typed");
    }

    #[test]
    fn history_walks_back_and_returns_to_the_draft() {
        let mut e = LineEditor::with_history(vec!["pod a".into(), "range 1h".into()]);
        e.insert('n');
        e.history_prev();
        assert_eq!(e.text(), "range 1h");
        e.history_prev();
        assert_eq!(e.text(), "pod a");
        e.history_prev();
        assert_eq!(e.text(), "pod a");
        e.history_next();
        e.history_next();
        assert_eq!(e.text(), "n");
        let (t, h) = e.submit();
        assert_eq!(t, "n");
        assert_eq!(h, vec!["pod a", "range 1h", "n"]);
    }

    #[test]
    fn completion_cycles_through_matches_of_the_current_word() {
        let mut e = typed("pod ap");
        let c = vec!["app-1".to_string(), "app-2".into(), "db-0".into()];
        e.complete(&c);
        assert_eq!(e.text(), "pod app-1");
        e.complete(&c);
        assert_eq!(e.text(), "pod app-2");
        e.complete(&c);
        assert_eq!(e.text(), "pod app-1");
        assert_eq!(e.words_before(), vec!["pod"]);
        let mut e = typed("pod zz");
        e.complete(&c);
        assert_eq!(e.text(), "pod zz");
        // right after a space: every candidate, for the next word
        let mut e = typed("pod ");
        assert_eq!(e.words_before(), vec!["pod"]);
        e.complete(&c);
        assert_eq!(e.text(), "pod app-1");
    }
}
