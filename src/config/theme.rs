//! Themes: a palette plus roles, with `inherits` and warnings instead of
//! crashes for unknown colours. Built-in themes are embedded from `themes/`.

use std::collections::BTreeMap;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

const BUILTIN: [(&str, &str); 6] = [
    ("default", include_str!("../../themes/default.toml")),
    ("default-16", include_str!("../../themes/default-16.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../themes/mono.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "solarized-dark",
        include_str!("../../themes/solarized-dark.toml"),
    ),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTheme {
    #[allow(dead_code)]
    name: Option<String>,
    inherits: Option<String>,
    #[serde(default)]
    palette: BTreeMap<String, String>,
    #[serde(default)]
    roles: BTreeMap<String, toml::Value>,
}

/// Styles by role. Every pane draws through these, never raw colours.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub text: Style,
    pub dim: Style,
    pub accent: Style,
    pub ok: Style,
    pub warn: Style,
    pub crit: Style,
    pub oom: Style,
    pub border: Style,
    pub border_focus: Style,
    pub title: Style,
    pub header: Style,
    pub header_live: Style,
    pub header_paused: Style,
    pub footer: Style,
    pub footer_key: Style,
    pub series: Vec<Style>,
    /// Problems found while loading (unknown colour, unknown role): shown, not fatal.
    pub warnings: Vec<String>,
}

impl Theme {
    pub fn names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(n, _)| *n).collect()
    }

    pub fn builtin(name: &str) -> Option<Theme> {
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, src)| Theme::parse(n, src).expect("built-in theme parses"))
    }

    /// Every theme by name: the built-ins, then `<config>/themes/*.toml`.
    pub fn available() -> Vec<String> {
        let mut out: Vec<String> = Theme::names().iter().map(|s| s.to_string()).collect();
        if let Some(Ok(dir)) = crate::config::paths::themes_dir().map(std::fs::read_dir) {
            let mut user: Vec<String> = dir
                .flatten()
                .filter_map(|e| {
                    let p = e.path();
                    (p.extension()? == "toml").then(|| p.file_stem()?.to_str().map(String::from))?
                })
                .filter(|n| !out.contains(n))
                .collect();
            user.sort();
            out.extend(user);
        }
        out
    }

    pub fn default_theme() -> Theme {
        Theme::builtin("default").unwrap()
    }

    /// Loads a built-in by name, else `<config>/themes/NAME.toml`, else a path.
    pub fn load(name: &str) -> Result<Theme, String> {
        if let Some(t) = Theme::builtin(name) {
            return Ok(t);
        }
        let candidates = [
            crate::config::paths::themes_dir().map(|d| d.join(format!("{name}.toml"))),
            Some(std::path::PathBuf::from(name)),
        ];
        for c in candidates.into_iter().flatten() {
            if c.is_file() {
                let src = std::fs::read_to_string(&c)
                    .map_err(|e| format!("theme {}: {e}", c.display()))?;
                return Theme::parse(name, &src).map_err(|e| format!("theme {}: {e}", c.display()));
            }
        }
        Err(format!(
            "no theme `{name}` (built-in: {})",
            Theme::names().join(", ")
        ))
    }

    /// The palette and roles of a theme and everything it inherits, the
    /// nearest definition winning; `seen` catches a theme that inherits itself.
    #[allow(clippy::type_complexity)]
    fn merged(
        src: &str,
        seen: &mut Vec<String>,
    ) -> Result<(BTreeMap<String, String>, BTreeMap<String, toml::Value>), String> {
        let raw: RawTheme = toml::from_str(src).map_err(|e| e.message().to_string())?;
        let (mut palette, mut roles) = match &raw.inherits {
            Some(parent) => {
                if seen.contains(parent) || seen.len() > 8 {
                    return Err(format!(
                        "inherits in a loop: {} → {parent}",
                        seen.join(" → ")
                    ));
                }
                seen.push(parent.clone());
                let psrc = Theme::source(parent)
                    .ok_or_else(|| format!("inherits unknown theme `{parent}`"))?;
                Theme::merged(&psrc, seen)?
            }
            None => (BTreeMap::new(), BTreeMap::new()),
        };
        palette.extend(raw.palette);
        roles.extend(raw.roles);
        Ok((palette, roles))
    }

    /// The text of a theme by name: built-in, else `<config>/themes/NAME.toml`.
    fn source(name: &str) -> Option<String> {
        if let Some((_, src)) = BUILTIN.iter().find(|(n, _)| *n == name) {
            return Some(src.to_string());
        }
        let path = crate::config::paths::themes_dir()?.join(format!("{name}.toml"));
        std::fs::read_to_string(path).ok()
    }

    pub fn parse(name: &str, src: &str) -> Result<Theme, String> {
        let (palette, roles) = Theme::merged(src, &mut vec![name.to_string()])?;
        let mut warnings = Vec::new();
        let mut style = |role: &str, fallback: Style| -> Style {
            match roles.get(role) {
                Some(toml::Value::String(s)) => parse_style(s, &palette).unwrap_or_else(|e| {
                    warnings.push(format!("theme {name}: role {role}: {e}"));
                    fallback
                }),
                Some(_) => {
                    warnings.push(format!("theme {name}: role {role} must be a string"));
                    fallback
                }
                None => fallback,
            }
        };
        let plain = Style::default();
        let mut t = Theme {
            name: name.to_string(),
            text: style("text", plain),
            dim: style("dim", plain.add_modifier(Modifier::DIM)),
            accent: style("accent", plain.add_modifier(Modifier::BOLD)),
            ok: style("ok", plain),
            warn: style("warn", plain.add_modifier(Modifier::BOLD)),
            crit: style("crit", plain.add_modifier(Modifier::REVERSED)),
            oom: style("oom", plain.add_modifier(Modifier::REVERSED)),
            border: style("border", plain),
            border_focus: style("border_focus", plain.add_modifier(Modifier::BOLD)),
            title: style("title", plain.add_modifier(Modifier::BOLD)),
            header: style("header", plain.add_modifier(Modifier::REVERSED)),
            header_live: style("header_live", plain.add_modifier(Modifier::BOLD)),
            header_paused: style("header_paused", plain.add_modifier(Modifier::BOLD)),
            footer: style("footer", plain),
            footer_key: style("footer_key", plain.add_modifier(Modifier::BOLD)),
            series: vec![],
            warnings: vec![],
        };
        match roles.get("series") {
            Some(toml::Value::Array(items)) => {
                for it in items {
                    match it.as_str().map(|s| parse_style(s, &palette)) {
                        Some(Ok(s)) => t.series.push(s),
                        Some(Err(e)) => warnings.push(format!("theme {name}: series: {e}")),
                        None => {
                            warnings.push(format!("theme {name}: series entries must be strings"))
                        }
                    }
                }
            }
            Some(_) => warnings.push(format!("theme {name}: series must be a list")),
            None => {}
        }
        if t.series.is_empty() {
            t.series.push(t.text);
        }
        const KNOWN: [&str; 16] = [
            "text",
            "dim",
            "accent",
            "ok",
            "warn",
            "crit",
            "oom",
            "border",
            "border_focus",
            "title",
            "header",
            "header_live",
            "header_paused",
            "footer",
            "footer_key",
            "series",
        ];
        for r in roles.keys() {
            if !KNOWN.contains(&r.as_str()) {
                warnings.push(format!("theme {name}: unknown role `{r}`"));
            }
        }
        t.warnings = warnings;
        Ok(t)
    }

    pub fn series_style(&self, i: usize) -> Style {
        self.series[i % self.series.len()]
    }
}

fn parse_color(s: &str, palette: &BTreeMap<String, String>) -> Result<Color, String> {
    let resolved = palette.get(s).map(String::as_str).unwrap_or(s);
    Color::from_str(resolved).map_err(|_| format!("`{s}` is not a colour or palette name"))
}

/// "fg", "fg on bg", plus modifiers: "red bold", "#fff on #d70000 bold".
pub fn parse_style(s: &str, palette: &BTreeMap<String, String>) -> Result<Style, String> {
    let mut style = Style::default();
    let mut toks = s.split_whitespace().peekable();
    let mut fg_set = false;
    while let Some(t) = toks.next() {
        match t {
            "bold" => style = style.add_modifier(Modifier::BOLD),
            "dim" => style = style.add_modifier(Modifier::DIM),
            "italic" => style = style.add_modifier(Modifier::ITALIC),
            "underlined" => style = style.add_modifier(Modifier::UNDERLINED),
            "reversed" => style = style.add_modifier(Modifier::REVERSED),
            "on" => {
                let bg = toks.next().ok_or("`on` needs a background colour")?;
                style = style.bg(parse_color(bg, palette)?);
            }
            c if !fg_set => {
                style = style.fg(parse_color(c, palette)?);
                fg_set = true;
            }
            other => return Err(format!("unexpected `{other}`")),
        }
    }
    Ok(style)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file in themes/ is built in and parses with no warning.
    #[test]
    fn every_shipped_theme_is_built_in_and_clean() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("themes");
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_stem().unwrap().to_str().unwrap().to_string();
            let t = Theme::builtin(&name).unwrap_or_else(|| panic!("{name} is not built in"));
            assert!(t.warnings.is_empty(), "{name}: {:?}", t.warnings);
        }
    }

    #[test]
    fn builtins_parse_without_warnings() {
        for n in Theme::names() {
            let t = Theme::builtin(n).unwrap();
            assert!(t.warnings.is_empty(), "{n}: {:?}", t.warnings);
        }
    }

    #[test]
    fn inherits_and_warns_on_bad_colour() {
        let t = Theme::parse(
            "x",
            "inherits = \"default\"\n[roles]\ncrit = \"notacolour\"\nbogus = \"red\"\n",
        )
        .unwrap();
        assert_eq!(t.warnings.len(), 2, "{:?}", t.warnings);
        // fell back instead of crashing; inherited roles intact
        assert_eq!(t.ok, Theme::default_theme().ok);
    }

    #[test]
    fn inherits_follow_every_level_and_loops_are_errors() {
        // high-contrast inherits default; a theme on top of it still gets
        // default's roles that high-contrast leaves alone (ok = green)
        let t = Theme::parse(
            "x",
            "inherits = \"high-contrast\"\n[roles]\ntitle = \"red\"\n",
        )
        .unwrap();
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        assert_eq!(t.ok, Theme::default_theme().ok);
        assert_eq!(t.crit, Theme::builtin("high-contrast").unwrap().crit);
        // and high-contrast's palette (fg #ffffff) reaches default's roles
        assert_eq!(t.dim.fg, Some(Color::Rgb(0xc0, 0xc0, 0xc0)));
        let err = Theme::parse("default", "inherits = \"default\"\n").unwrap_err();
        assert!(err.contains("loop"), "{err}");
    }

    #[test]
    fn style_syntax() {
        let p = BTreeMap::from([("hot".to_string(), "#ff0000".to_string())]);
        let s = parse_style("white on hot bold", &p).unwrap();
        assert_eq!(s.fg, Some(Color::White));
        assert_eq!(s.bg, Some(Color::Rgb(255, 0, 0)));
        assert!(s.add_modifier.contains(Modifier::BOLD));
        assert!(parse_style("red green", &p).is_err());
    }
}
