//! Every user intent. Its snake_case name is the keymap vocabulary.

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    ToggleHelp,
    FocusNext,
    FocusPrev,
    ToggleZoom,
    TogglePause,
    ShrinkWindow,
    GrowWindow,
    OpenPodPicker,
    /// The Kubernetes contexts of the kubeconfig, to switch to one.
    OpenContextPicker,
    AllPods,
    RefreshNow,
    PickerUp,
    PickerDown,
    PickerSelect,
    Close,
    /// `:` the command line.
    OpenCommand,
    InputSubmit,
    InputComplete,
    InputHistoryPrev,
    InputHistoryNext,
    /// The time cursor one step back / forward; back to latest.
    CursorLeft,
    CursorRight,
    CursorClear,
    /// Scrolling the view on top (help now; logs next).
    ScrollDown,
    ScrollUp,
    PageDown,
    PageUp,
    /// The log pane takes the focus.
    FocusLogs,
    /// Follow the newest line again.
    LogsFollow,
    /// The oldest retained line (pauses).
    LogsTop,
    /// Wrap long log lines.
    ToggleWrap,
    /// Cycle the time / pod / container columns.
    ToggleColumns,
    /// `/`: search the log pane.
    OpenSearch,
    /// The next older match.
    SearchNext,
    /// The next newer match.
    SearchPrev,
    /// Edit the LogQL query.
    EditLogQuery,
    /// Only lines containing a text (a LogQL line filter).
    FilterInclude,
    /// Hide lines containing a text.
    FilterExclude,
    /// Drop every filter and the search.
    ClearFilters,
    /// Show every level.
    LevelAll,
    /// Debug and above.
    LevelDebug,
    /// Info and above.
    LevelInfo,
    /// Warnings and above.
    LevelWarn,
    /// Errors and above.
    LevelError,
    /// Details of the selected line (or the Memory pane's sampler snapshot).
    OpenDetail,
    /// The top patterns of the window.
    OpenPatterns,
    /// The trace of the selected log line.
    OpenTrace,
    /// The trace view's trace in the log pane (its id, its time).
    TraceLogs,
    /// Mark the trace in view as the baseline, or compare it with the one
    /// marked.
    TraceCompare,
    /// The traces carrying the selected log line's `thread_id` / `turn_id`
    /// (or, in the trace view, the selected span's service).
    TraceSearch,
    /// The trace of the latency exemplar nearest the time cursor.
    OpenExemplar,
    /// The log pane at the time cursor ± a step (or around the
    /// termination nearest it), paused, for the pod in view.
    LogsAtCursor,
    /// In the list of traces found: only those with errors, or all.
    TraceErrorsOnly,
    /// In the list: the next minimum duration (any, 100ms, 500ms, 1s, 5s).
    TraceMinDuration,
    /// In the list: search further back (the window, 1h, 6h, 24h, 7d).
    TraceLookback,
    /// In the trace view: the traces with the selected span's operation.
    TraceOperation,
}

impl Action {
    pub const ALL: [Action; 57] = [
        Action::Quit,
        Action::ToggleHelp,
        Action::FocusNext,
        Action::FocusPrev,
        Action::ToggleZoom,
        Action::TogglePause,
        Action::ShrinkWindow,
        Action::GrowWindow,
        Action::OpenPodPicker,
        Action::OpenContextPicker,
        Action::AllPods,
        Action::RefreshNow,
        Action::PickerUp,
        Action::PickerDown,
        Action::PickerSelect,
        Action::Close,
        Action::OpenCommand,
        Action::InputSubmit,
        Action::InputComplete,
        Action::InputHistoryPrev,
        Action::InputHistoryNext,
        Action::CursorLeft,
        Action::CursorRight,
        Action::CursorClear,
        Action::ScrollDown,
        Action::ScrollUp,
        Action::PageDown,
        Action::PageUp,
        Action::FocusLogs,
        Action::LogsFollow,
        Action::LogsTop,
        Action::ToggleWrap,
        Action::ToggleColumns,
        Action::OpenSearch,
        Action::SearchNext,
        Action::SearchPrev,
        Action::EditLogQuery,
        Action::FilterInclude,
        Action::FilterExclude,
        Action::ClearFilters,
        Action::LevelAll,
        Action::LevelDebug,
        Action::LevelInfo,
        Action::LevelWarn,
        Action::LevelError,
        Action::OpenDetail,
        Action::OpenPatterns,
        Action::OpenTrace,
        Action::TraceLogs,
        Action::TraceCompare,
        Action::TraceSearch,
        Action::OpenExemplar,
        Action::LogsAtCursor,
        Action::TraceErrorsOnly,
        Action::TraceMinDuration,
        Action::TraceLookback,
        Action::TraceOperation,
    ];
}
