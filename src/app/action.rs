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
}

impl Action {
    pub const ALL: [Action; 27] = [
        Action::Quit,
        Action::ToggleHelp,
        Action::FocusNext,
        Action::FocusPrev,
        Action::ToggleZoom,
        Action::TogglePause,
        Action::ShrinkWindow,
        Action::GrowWindow,
        Action::OpenPodPicker,
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
    ];
}
