//! Keymaps: key → action tables per mode, loaded from `keymaps/*.toml`
//! (embedded) or the user's config dir, with duplicate detection.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

use crate::app::action::Action;

const DEFAULT: &str = include_str!("../../keymaps/default.toml");
const VIM: &str = include_str!("../../keymaps/vim.toml");

/// Where a key is read: one per kind of view. A keymap file has one table
/// per mode, named as below; a new view adds a mode here and a table in the
/// keymaps, nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// The dashboard.
    Normal,
    /// The pod picker.
    Picker,
    /// The help overlay.
    Help,
    /// A one-line editor (command line, search, query).
    Input,
    /// The log pane has the focus (keys not bound here fall back to normal).
    Logs,
    /// The trace view (keys not bound here fall back to picker).
    Trace,
}

impl Mode {
    pub const ALL: [Mode; 6] = [
        Mode::Normal,
        Mode::Logs,
        Mode::Trace,
        Mode::Picker,
        Mode::Help,
        Mode::Input,
    ];

    /// The table name in a keymap file.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Normal => "normal",
            Mode::Picker => "picker",
            Mode::Help => "help",
            Mode::Input => "input",
            Mode::Logs => "logs",
            Mode::Trace => "trace",
        }
    }

    /// The section title in help.
    pub fn title(self) -> &'static str {
        match self {
            Mode::Normal => "Dashboard",
            Mode::Picker => "Lists (pods, patterns, detail)",
            Mode::Help => "This help",
            Mode::Input => "Command line and text input",
            Mode::Logs => "Log pane (+ dashboard keys)",
            Mode::Trace => "Trace view (+ list keys)",
        }
    }

    pub fn from_name(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.name() == s)
    }
}

/// A key as written in a keymap: code plus ctrl/alt (shift is folded into the char).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCodeOrd,
    pub ctrl: bool,
    pub alt: bool,
}

/// KeyCode subset with an order, so bindings sort stably for help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeOrd {
    Char(char),
    Tab,
    BackTab,
    Enter,
    Esc,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Backspace,
    Delete,
    F(u8),
}

impl Key {
    pub fn from_event(ev: &KeyEvent) -> Option<Key> {
        let code = match ev.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(c),
            KeyCode::Tab => KeyCodeOrd::Tab,
            KeyCode::BackTab => KeyCodeOrd::BackTab,
            KeyCode::Enter => KeyCodeOrd::Enter,
            KeyCode::Esc => KeyCodeOrd::Esc,
            KeyCode::Up => KeyCodeOrd::Up,
            KeyCode::Down => KeyCodeOrd::Down,
            KeyCode::Left => KeyCodeOrd::Left,
            KeyCode::Right => KeyCodeOrd::Right,
            KeyCode::PageUp => KeyCodeOrd::PageUp,
            KeyCode::PageDown => KeyCodeOrd::PageDown,
            KeyCode::Home => KeyCodeOrd::Home,
            KeyCode::End => KeyCodeOrd::End,
            KeyCode::Backspace => KeyCodeOrd::Backspace,
            KeyCode::Delete => KeyCodeOrd::Delete,
            KeyCode::F(n) => KeyCodeOrd::F(n),
            _ => return None,
        };
        Some(Key {
            code,
            ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
            alt: ev.modifiers.contains(KeyModifiers::ALT),
        })
    }

    /// Parses "q", "Q", "ctrl-c", "alt-x", "shift-tab", "space", "enter", "f5", "[".
    pub fn parse(s: &str) -> Result<Key, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut shift = false;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.len() > 1 && lower.starts_with("ctrl-") {
                ctrl = true;
                rest = &rest[5..];
            } else if rest.len() > 1 && lower.starts_with("alt-") {
                alt = true;
                rest = &rest[4..];
            } else if rest.len() > 1 && lower.starts_with("shift-") {
                shift = true;
                rest = &rest[6..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "tab" if shift => KeyCodeOrd::BackTab,
            "tab" => KeyCodeOrd::Tab,
            "backtab" => KeyCodeOrd::BackTab,
            "enter" | "return" => KeyCodeOrd::Enter,
            "esc" | "escape" => KeyCodeOrd::Esc,
            "space" => KeyCodeOrd::Char(' '),
            "up" => KeyCodeOrd::Up,
            "down" => KeyCodeOrd::Down,
            "left" => KeyCodeOrd::Left,
            "right" => KeyCodeOrd::Right,
            "pageup" => KeyCodeOrd::PageUp,
            "pagedown" => KeyCodeOrd::PageDown,
            "home" => KeyCodeOrd::Home,
            "end" => KeyCodeOrd::End,
            "backspace" => KeyCodeOrd::Backspace,
            "delete" | "del" => KeyCodeOrd::Delete,
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCodeOrd::F(f[1..].parse().unwrap())
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => {
                        KeyCodeOrd::Char(if shift { c.to_ascii_uppercase() } else { c })
                    }
                    _ => return Err(format!("`{s}` is not a key")),
                }
            }
        };
        Ok(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCodeOrd::Char(' ') => f.write_str("space"),
            KeyCodeOrd::Char(c) => write!(f, "{c}"),
            KeyCodeOrd::Tab => f.write_str("Tab"),
            KeyCodeOrd::BackTab => f.write_str("Shift-Tab"),
            KeyCodeOrd::Enter => f.write_str("Enter"),
            KeyCodeOrd::Esc => f.write_str("Esc"),
            KeyCodeOrd::Up => f.write_str("↑"),
            KeyCodeOrd::Down => f.write_str("↓"),
            KeyCodeOrd::Left => f.write_str("←"),
            KeyCodeOrd::Right => f.write_str("→"),
            KeyCodeOrd::PageUp => f.write_str("PgUp"),
            KeyCodeOrd::PageDown => f.write_str("PgDn"),
            KeyCodeOrd::Home => f.write_str("Home"),
            KeyCodeOrd::End => f.write_str("End"),
            KeyCodeOrd::Backspace => f.write_str("Backspace"),
            KeyCodeOrd::Delete => f.write_str("Del"),
            KeyCodeOrd::F(n) => write!(f, "F{n}"),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBinding {
    on: toml::Spanned<String>,
    run: toml::Spanned<String>,
    #[serde(default)]
    desc: String,
}

#[derive(Debug)]
struct RawKeymap {
    inherits: Option<String>,
    /// One table per mode, by `Mode::name`.
    tables: BTreeMap<String, Vec<RawBinding>>,
}

// By hand, not `#[serde(flatten)]`: flatten buffers values and loses the
// spans that name the line of a bad binding.
impl<'de> Deserialize<'de> for RawKeymap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawKeymap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a keymap: `inherits` and one table per mode")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<RawKeymap, A::Error> {
                let mut k = RawKeymap {
                    inherits: None,
                    tables: BTreeMap::new(),
                };
                while let Some(key) = m.next_key::<String>()? {
                    if key == "inherits" {
                        k.inherits = Some(m.next_value()?);
                    } else {
                        let list: Vec<RawBinding> = m.next_value()?;
                        k.tables.insert(key, list);
                    }
                }
                Ok(k)
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub key: Key,
    pub action: Action,
    pub desc: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Keymap {
    pub modes: BTreeMap<Mode, Vec<Binding>>,
}

impl Keymap {
    pub fn lookup(&self, mode: Mode, key: &Key) -> Option<Action> {
        let found = self
            .modes
            .get(&mode)
            .and_then(|t| t.iter().find(|b| &b.key == key))
            .map(|b| b.action);
        match (found, mode) {
            // the log pane adds to the dashboard's keys
            (None, Mode::Logs) => self.lookup(Mode::Normal, key),
            (None, Mode::Trace) => self.lookup(Mode::Picker, key),
            _ => found,
        }
    }

    pub fn bindings(&self, mode: Mode) -> &[Binding] {
        self.modes.get(&mode).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The first key bound to `action` in normal mode, for the footer.
    pub fn key_for(&self, action: Action) -> Option<Key> {
        self.bindings(Mode::Normal)
            .iter()
            .find(|b| b.action == action)
            .map(|b| b.key)
    }

    /// The first key bound to `action` in `mode` (the log pane falls back
    /// to the dashboard's keys).
    pub fn key_in(&self, mode: Mode, action: Action) -> Option<Key> {
        self.bindings(mode)
            .iter()
            .find(|b| b.action == action)
            .map(|b| b.key)
            .or_else(|| (mode == Mode::Logs).then(|| self.key_for(action)).flatten())
    }

    pub fn builtin(name: &str) -> Option<&'static str> {
        match name {
            "default" => Some(DEFAULT),
            "vim" => Some(VIM),
            _ => None,
        }
    }

    pub fn default_keymap() -> Keymap {
        Keymap::parse("default", DEFAULT).expect("built-in keymap is valid")
    }

    /// Parses a keymap; `inherits` names a built-in one whose bindings come
    /// first, and a later binding of the same key in the same mode replaces it.
    /// The same key twice in one file is an error.
    pub fn parse(name: &str, src: &str) -> Result<Keymap, String> {
        let km = Keymap::parse_tables(name, src)?;
        if !km
            .bindings(Mode::Normal)
            .iter()
            .any(|b| b.action == Action::Quit)
        {
            return Err(format!(
                "keymap {name}: no key runs `quit` in the normal table; bind one \
                 (ctrl-c always quits, but a keymap must say how to leave)"
            ));
        }
        Ok(km)
    }

    fn parse_tables(name: &str, src: &str) -> Result<Keymap, String> {
        use crate::config::error::line_of;
        let raw: RawKeymap = toml::from_str(src).map_err(|e| {
            let at = e
                .span()
                .map(|s| format!(", line {}", line_of(src, s.start)))
                .unwrap_or_default();
            format!("keymap {name}{at}: {}", e.message().trim())
        })?;
        let mut km = match &raw.inherits {
            Some(parent) => {
                let psrc = Keymap::builtin(parent)
                    .ok_or_else(|| format!("keymap {name}: inherits unknown keymap `{parent}`"))?;
                Keymap::parse_tables(parent, psrc)?
            }
            None => Keymap::default(),
        };
        for (table, list) in raw.tables {
            let mode = Mode::from_name(&table).ok_or_else(|| {
                let at = src
                    .find(&format!("[[{table}]]"))
                    .map(|o| format!(", line {}", line_of(src, o)))
                    .unwrap_or_default();
                let names: Vec<&str> = Mode::ALL.iter().map(|m| m.name()).collect();
                format!(
                    "keymap {name}{at}: unknown table `{table}` (modes: {})",
                    names.join(", ")
                )
            })?;
            let mut seen: BTreeMap<Key, String> = BTreeMap::new();
            // this file's bindings go before what it inherits, in order:
            // the footer and help show the user's key for an action first
            let mut front = 0;
            for (i, b) in list.into_iter().enumerate() {
                let at = |field: &str, span: std::ops::Range<usize>| {
                    format!(
                        "keymap {name}, line {}, key `{table}[{i}].{field}`",
                        line_of(src, span.start)
                    )
                };
                let key = Key::parse(b.on.get_ref())
                    .map_err(|e| format!("{}: {e}", at("on", b.on.span())))?;
                let run = b.run.get_ref();
                let action: Action = serde_json::from_value(serde_json::Value::String(run.clone()))
                    .map_err(|_| {
                        format!("{}: `{run}` is not an action", at("run", b.run.span()))
                    })?;
                if let Some(prev) = seen.insert(key, run.clone()) {
                    return Err(format!(
                        "{}: key `{}` is bound twice in {mode:?} mode (to {prev} and {run})",
                        at("on", b.on.span()),
                        b.on.get_ref(),
                    ));
                }
                let entry = km.modes.entry(mode).or_default();
                entry.retain(|x| x.key != key);
                let at = front.min(entry.len());
                entry.insert(
                    at,
                    Binding {
                        key,
                        action,
                        desc: b.desc,
                    },
                );
                front = at + 1;
            }
        }
        Ok(km)
    }

    /// Loads a keymap by built-in name or file path.
    pub fn load(name_or_path: &str) -> Result<Keymap, String> {
        if let Some(src) = Keymap::builtin(name_or_path) {
            return Keymap::parse(name_or_path, src);
        }
        let src = std::fs::read_to_string(name_or_path)
            .map_err(|e| format!("keymap {name_or_path}: {e}"))?;
        Keymap::parse(name_or_path, &src)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys() {
        assert_eq!(Key::parse("q").unwrap().code, KeyCodeOrd::Char('q'));
        assert_eq!(Key::parse("shift-tab").unwrap().code, KeyCodeOrd::BackTab);
        let k = Key::parse("ctrl-c").unwrap();
        assert!(k.ctrl);
        assert_eq!(k.code, KeyCodeOrd::Char('c'));
        assert_eq!(Key::parse("space").unwrap().code, KeyCodeOrd::Char(' '));
        assert_eq!(Key::parse("F5").unwrap().code, KeyCodeOrd::F(5));
        assert!(Key::parse("nope").is_err());
    }

    #[test]
    fn default_and_vim_keymaps_load() {
        let km = Keymap::default_keymap();
        assert_eq!(
            km.lookup(Mode::Normal, &Key::parse("z").unwrap()),
            Some(Action::ToggleZoom)
        );
        let vim = Keymap::load("vim").unwrap();
        assert_eq!(
            vim.lookup(Mode::Picker, &Key::parse("j").unwrap()),
            Some(Action::PickerDown)
        );
        assert_eq!(
            vim.lookup(Mode::Normal, &Key::parse("q").unwrap()),
            Some(Action::Quit)
        );
    }

    /// Every file in keymaps/ is built in and loads.
    #[test]
    fn every_shipped_keymap_is_built_in_and_loads() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("keymaps");
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_stem().unwrap().to_str().unwrap().to_string();
            let src = Keymap::builtin(&name).unwrap_or_else(|| panic!("{name} is not built in"));
            assert_eq!(src, std::fs::read_to_string(&p).unwrap());
            Keymap::load(&name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn duplicates_and_unknown_actions_are_errors() {
        let err = Keymap::parse(
            "t",
            "[[normal]]\non = \"x\"\nrun = \"quit\"\n[[normal]]\non = \"x\"\nrun = \"toggle_zoom\"\n",
        )
        .unwrap_err();
        assert!(err.contains("bound twice"), "{err}");
        let err = Keymap::parse("t", "[[normal]]\non = \"x\"\nrun = \"explode\"\n").unwrap_err();
        assert!(err.contains("explode"), "{err}");
        assert!(
            err.contains("line 3") && err.contains("normal[0].run"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let src = "[[normal]]\non = \"q\"\nrun = \"quit\"\n[[normal]]\non = \"ctrl-banana\"\nrun = \"toggle_zoom\"\n";
        let err = Keymap::parse("/home/u/km.toml", src).unwrap_err();
        assert!(err.contains("/home/u/km.toml"), "{err}");
        assert!(err.contains("line 5"), "{err}");
        assert!(err.contains("normal[1].on"), "{err}");
        assert!(err.contains("ctrl-banana"), "{err}");
    }

    #[test]
    fn a_keymap_without_quit_is_refused() {
        let err =
            Keymap::parse("km", "[[normal]]\non = \"z\"\nrun = \"toggle_zoom\"\n").unwrap_err();
        assert!(err.contains("quit"), "{err}");
        // inheriting the default keeps its quit binding
        assert!(Keymap::parse(
            "km",
            "inherits = \"default\"\n[[normal]]\non = \"z\"\nrun = \"toggle_zoom\"\n"
        )
        .is_ok());
        // rebinding q away from quit while ctrl-c still quits is fine
        assert!(Keymap::parse(
            "km",
            "inherits = \"default\"\n[[normal]]\non = \"q\"\nrun = \"toggle_zoom\"\n"
        )
        .is_ok());
    }
}
