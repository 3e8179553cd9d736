//! The log pane's text inputs: what a submitted search, filter or query
//! does, and Tab's completion of LogQL label names and values.

use super::keys::{replan, search_step};
use crate::app::state::State;
use crate::app::views::{InputPurpose, View};
use crate::app::Command;
use crate::features::logs::client::logql::{self, Filter};
use crate::features::logs::engine::CompletionAsk;
use crate::features::logs::LogsCommand;

/// A text input for the log pane was submitted.
pub fn submit(
    state: &mut State,
    purpose: crate::app::views::InputPurpose,
    text: String,
) -> Vec<Command> {
    use crate::app::views::InputPurpose as P;
    let text = text.trim().to_string();
    match purpose {
        P::Search => {
            state.logs.search = (!text.is_empty()).then_some(text);
            if state.logs.search.is_some() {
                state.logs.follow = true;
                state.logs.selected = None;
                return search_step(state, true);
            }
            vec![]
        }
        P::LogQuery => {
            state.logs.user_query = (!text.is_empty()).then_some(text);
            state.logs.filters.clear();
            replan(state)
        }
        P::Include | P::Exclude if text.is_empty() => vec![],
        P::Include => {
            state.logs.filters.push(Filter::Include(text));
            replan(state)
        }
        P::Exclude => {
            state.logs.filters.push(Filter::Exclude(text));
            replan(state)
        }
        P::Command => vec![],
    }
}

/// Tab in the LogQL editor: label names, or a label's values after `name="`.
/// The text before the cursor split at the word being completed.
fn completing(editor: &crate::app::views::LineEditor) -> (String, usize) {
    let before: String = editor.text().chars().take(editor.cursor).collect();
    let word_start = before
        .rfind(|c: char| c == '{' || c == ',' || c.is_whitespace())
        .map(|i| i + 1)
        .unwrap_or(0);
    (before, word_start)
}

/// `name="partial` (or `=~"`): the label whose value is being typed.
/// Returns (label, operator, what was typed of the value).
fn value_of(word: &str) -> Option<(&str, &'static str, &str)> {
    let q = word.find('"')?;
    let (head, partial) = (&word[..q], &word[q + 1..]);
    ["!~", "=~", "!=", "="]
        .into_iter()
        .find_map(|op| head.strip_suffix(op).map(|name| (name, op, partial)))
}

/// A label value as typed in a matcher: a LogQL string, with the value's
/// regex metacharacters escaped for `=~` / `!~`.
fn matcher_value(op: &str, v: &str) -> String {
    if op.ends_with('~') {
        logql::string_literal(&logql::regex_escape(v))
    } else {
        logql::string_literal(v)
    }
}

/// Tab on a value of a label whose values are not known yet asks the
/// server for them (once per editor session); the next Tab completes.
pub fn completion_asks(state: &mut State) -> Vec<Command> {
    let Some(View::Input {
        purpose: InputPurpose::LogQuery,
        editor,
    }) = state.ui.views.top()
    else {
        return vec![];
    };
    let (before, word_start) = completing(editor);
    let Some((name, ..)) = value_of(&before[word_start..]) else {
        return vec![];
    };
    let l = &mut state.logs;
    if !crate::features::logs::is_label_name(name)
        || l.completions.contains_key(name)
        || !l.asked.insert(name.to_string())
    {
        return vec![];
    }
    let ask = CompletionAsk::Values(name.to_string());
    let gen = l.common.gen;
    state.ui.message = Some((
        format!(
            "values of {}: asking the server, Tab again",
            crate::text::display(name)
        ),
        false,
    ));
    let window_ns = crate::features::logs::window_ns(&crate::ctx!(state));
    vec![Command::Logs(LogsCommand::Complete {
        gen,
        ask,
        window_ns,
    })]
}

pub fn candidates(state: &State, editor: &crate::app::views::LineEditor) -> Vec<String> {
    let (before, word_start) = completing(editor);
    let word = &before[word_start..];
    let l = &state.logs;
    // the editor replaces its whitespace-delimited word: candidates start
    // where that word does
    let typing = before
        .rfind(char::is_whitespace)
        .map(|i| i + before[i..].chars().next().map_or(1, char::len_utf8))
        .unwrap_or(0);
    let prefix = &before[typing.min(word_start)..word_start];
    if let Some((name, op, partial)) = value_of(word) {
        let Some(values) = l.completions.get(name) else {
            return vec![];
        };
        return values
            .iter()
            .map(|v| matcher_value(op, v))
            .filter(|lit| lit[1..].starts_with(partial))
            .map(|lit| format!("{prefix}{name}{op}{lit}"))
            .collect();
    }
    l.label_names
        .iter()
        .filter(|n| n.starts_with(word))
        .map(|n| format!("{prefix}{n}=\""))
        .collect()
}
