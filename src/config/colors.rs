//! What colours the terminal can show, and themes fitted to it. Truecolor
//! only when `COLORTERM` says so (GNU screen and Terminal.app mangle 24-bit
//! colours behind a `*-256color` TERM); 256 colours for `*-256color`; the
//! 16 ANSI colours otherwise; none for `NO_COLOR`, `--color never` and
//! `TERM=dumb`. A theme written in `#rrggbb` is mapped to the nearest
//! colour the terminal has, so every theme works at every depth.

use ratatui::style::{Color, Modifier, Style};

use super::theme::Theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ColorDepth {
    /// No colour: meaning carried by bold, reverse, underline and dim.
    Mono,
    /// The 16 ANSI colours (their look is the terminal's palette).
    Ansi16,
    /// xterm's 256 colours.
    Ansi256,
    /// 24-bit colour.
    TrueColor,
}

impl ColorDepth {
    /// From the environment: `TERM`, `COLORTERM` and whether `NO_COLOR` is set.
    pub fn detect(term: &str, colorterm: &str, no_color: bool) -> ColorDepth {
        let colorterm = colorterm.to_ascii_lowercase();
        if no_color || term == "dumb" {
            ColorDepth::Mono
        } else if colorterm == "truecolor" || colorterm == "24bit" {
            ColorDepth::TrueColor
        } else if term.ends_with("-256color") || term.ends_with("-256") || term == "xterm-direct" {
            ColorDepth::Ansi256
        } else {
            ColorDepth::Ansi16
        }
    }

    pub fn from_env() -> ColorDepth {
        let var = |k: &str| std::env::var(k).unwrap_or_default();
        // NO_COLOR: "when present and not an empty string"
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        ColorDepth::detect(&var("TERM"), &var("COLORTERM"), no_color)
    }

    /// The built-in theme made for this depth.
    pub fn default_theme(self) -> &'static str {
        match self {
            ColorDepth::Mono => "mono",
            ColorDepth::Ansi16 => "default-16",
            ColorDepth::Ansi256 | ColorDepth::TrueColor => "default",
        }
    }

    /// Whether a colour can be shown as it is at this depth.
    pub fn allows(self, c: Color) -> bool {
        match (self, c) {
            (_, Color::Reset) => true,
            (ColorDepth::Mono, _) => false,
            (ColorDepth::Ansi16, Color::Rgb(..) | Color::Indexed(_)) => false,
            (ColorDepth::Ansi256, Color::Rgb(..)) => false,
            _ => true,
        }
    }
}

/// The theme with every colour mapped to one this depth shows.
pub fn fit(mut t: Theme, depth: ColorDepth) -> Theme {
    let f = |s: Style| fit_style(s, depth);
    for s in [
        &mut t.text,
        &mut t.dim,
        &mut t.accent,
        &mut t.ok,
        &mut t.warn,
        &mut t.crit,
        &mut t.oom,
        &mut t.border,
        &mut t.border_focus,
        &mut t.title,
        &mut t.header,
        &mut t.header_live,
        &mut t.header_paused,
        &mut t.footer,
        &mut t.footer_key,
    ] {
        *s = f(*s);
    }
    for s in &mut t.series {
        *s = f(*s);
    }
    t
}

fn fit_style(s: Style, depth: ColorDepth) -> Style {
    if depth == ColorDepth::Mono {
        // no colour: a style that had a background keeps its weight as
        // reverse video (the header bar, the OOM badge)
        let mut out = Style {
            add_modifier: s.add_modifier,
            sub_modifier: s.sub_modifier,
            ..Default::default()
        };
        if s.bg.is_some_and(|b| b != Color::Reset) && !s.add_modifier.contains(Modifier::REVERSED) {
            out = out.add_modifier(Modifier::REVERSED);
        }
        return out;
    }
    let mut out = s;
    out.fg = s.fg.map(|c| fit_color(c, depth));
    out.bg = s.bg.map(|c| fit_color(c, depth));
    if depth == ColorDepth::Ansi16 {
        // the 16 greys are the terminal's own: bright black is the
        // background on Solarized, white is invisible on a light palette.
        // Greys become the default colour (dimmed when dark), a grey bar
        // becomes reverse video: readable on dark and light palettes.
        if let Some(fg) = out.fg.filter(|c| is_grey(*c)) {
            out.fg = Some(Color::Reset);
            if matches!(fg, Color::Black | Color::DarkGray) {
                out = out.add_modifier(Modifier::DIM);
            }
        }
        if out.bg.is_some_and(is_grey) {
            out.bg = None;
            out = out.add_modifier(Modifier::REVERSED);
        }
    }
    out
}

fn is_grey(c: Color) -> bool {
    matches!(
        c,
        Color::Black | Color::DarkGray | Color::Gray | Color::White
    )
}

/// The nearest colour this depth shows.
pub fn fit_color(c: Color, depth: ColorDepth) -> Color {
    if depth.allows(c) {
        return c;
    }
    match depth {
        ColorDepth::Mono => Color::Reset,
        ColorDepth::Ansi256 => match c {
            Color::Rgb(r, g, b) => Color::Indexed(nearest_256(r, g, b)),
            other => other,
        },
        ColorDepth::Ansi16 => {
            let (r, g, b) = rgb_of(c);
            nearest_16(r, g, b)
        }
        ColorDepth::TrueColor => c,
    }
}

/// The RGB of an indexed or RGB colour (xterm's palette for indices).
fn rgb_of(c: Color) -> (u8, u8, u8) {
    match c {
        Color::Rgb(r, g, b) => (r, g, b),
        Color::Indexed(i) if i < 16 => ANSI16[i as usize].1,
        Color::Indexed(i) if i < 232 => {
            let i = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(i / 36), level((i / 6) % 6), level(i % 6))
        }
        Color::Indexed(i) => {
            let v = 8 + (i - 232) * 10;
            (v, v, v)
        }
        _ => (128, 128, 128),
    }
}

/// The 16 ANSI colours with xterm's default RGB, for nearest matching.
const ANSI16: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

fn dist(a: (u8, u8, u8), b: (u8, u8, u8)) -> u32 {
    let d = |x: u8, y: u8| (x as i32 - y as i32).pow(2) as u32;
    // weighted towards green, as the eye is
    2 * d(a.0, b.0) + 4 * d(a.1, b.1) + 3 * d(a.2, b.2)
}

/// The ANSI colour of the same hue (or grey level), bright when the colour
/// is light: what a theme meant, whatever the terminal's own palette.
fn nearest_16(r: u8, g: u8, b: u8) -> Color {
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    if max - min < 48 {
        return match (max as u16 + min as u16) / 2 {
            0..=47 => Color::Black,
            48..=143 => Color::DarkGray,
            144..=215 => Color::Gray,
            _ => Color::White,
        };
    }
    let (rf, gf, bf) = (r as f32, g as f32, b as f32);
    let d = (max - min) as f32;
    let h = if max == r {
        60.0 * (((gf - bf) / d).rem_euclid(6.0))
    } else if max == g {
        60.0 * ((bf - rf) / d + 2.0)
    } else {
        60.0 * ((rf - gf) / d + 4.0)
    };
    let bright = max > 230 || min > 60;
    let pick = |normal, light| if bright { light } else { normal };
    match h as u16 {
        0..=29 | 330..=360 => pick(Color::Red, Color::LightRed),
        30..=89 => pick(Color::Yellow, Color::LightYellow),
        90..=149 => pick(Color::Green, Color::LightGreen),
        150..=209 => pick(Color::Cyan, Color::LightCyan),
        210..=269 => pick(Color::Blue, Color::LightBlue),
        _ => pick(Color::Magenta, Color::LightMagenta),
    }
}

/// The nearest of xterm's 6×6×6 cube and 24 greys (indices 16–255).
fn nearest_256(r: u8, g: u8, b: u8) -> u8 {
    (16u8..=255)
        .min_by_key(|&i| dist(rgb_of(Color::Indexed(i)), (r, g, b)))
        .unwrap_or(15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_follows_colorterm_term_and_no_color() {
        use ColorDepth::*;
        assert_eq!(ColorDepth::detect("xterm-256color", "", false), Ansi256);
        assert_eq!(ColorDepth::detect("screen-256color", "", false), Ansi256);
        assert_eq!(
            ColorDepth::detect("xterm-256color", "truecolor", false),
            TrueColor
        );
        assert_eq!(ColorDepth::detect("xterm", "24bit", false), TrueColor);
        assert_eq!(ColorDepth::detect("xterm", "", false), Ansi16);
        assert_eq!(ColorDepth::detect("screen", "", false), Ansi16);
        assert_eq!(ColorDepth::detect("linux", "", false), Ansi16);
        assert_eq!(ColorDepth::detect("dumb", "truecolor", false), Mono);
        assert_eq!(
            ColorDepth::detect("xterm-256color", "truecolor", true),
            Mono
        );
    }

    #[test]
    fn colours_map_to_what_the_depth_shows() {
        let red = Color::Rgb(0xff, 0x5f, 0x5f);
        assert_eq!(fit_color(red, ColorDepth::TrueColor), red);
        assert_eq!(fit_color(red, ColorDepth::Ansi256), Color::Indexed(203));
        assert_eq!(fit_color(red, ColorDepth::Ansi16), Color::LightRed);
        assert_eq!(
            fit_color(Color::Indexed(46), ColorDepth::Ansi16),
            Color::LightGreen
        );
        assert_eq!(
            fit_color(Color::Rgb(0xd7, 0, 0), ColorDepth::Ansi16),
            Color::Red
        );
        assert_eq!(
            fit_color(Color::Rgb(0x4c, 0x56, 0x6a), ColorDepth::Ansi16),
            Color::DarkGray
        );
        assert_eq!(fit_color(Color::Cyan, ColorDepth::Ansi16), Color::Cyan);
        assert_eq!(fit_color(red, ColorDepth::Mono), Color::Reset);
        // a grey stays a grey
        let grey = fit_color(Color::Rgb(0x7b, 0x83, 0x94), ColorDepth::Ansi256);
        let Color::Indexed(i) = grey else { panic!() };
        let (r, g, b) = rgb_of(Color::Indexed(i));
        assert!(r.abs_diff(b) < 40 && r.abs_diff(g) < 40, "{i}");
    }

    #[test]
    fn greys_in_16_colours_are_the_default_colour() {
        let t = fit(Theme::default_theme(), ColorDepth::Ansi16);
        // borders (#4c566a) and muted text: default colour, dimmed
        assert_eq!(t.border.fg, Some(Color::Reset));
        assert!(t.border.add_modifier.contains(Modifier::DIM));
        assert_eq!(t.dim.fg, Some(Color::Reset));
        // the header bar (fg on a dark grey): reverse video, no grey background
        assert_eq!(t.header.bg, None);
        assert!(t.header.add_modifier.contains(Modifier::REVERSED));
        // colours keep their hue
        assert_eq!(t.crit.fg, Some(Color::LightRed));
    }

    #[test]
    fn mono_keeps_a_bar_as_reverse_video() {
        let t = fit(Theme::default_theme(), ColorDepth::Mono);
        assert_eq!(t.header.fg, None);
        assert!(t.header.add_modifier.contains(Modifier::REVERSED));
        assert!(t.oom.add_modifier.contains(Modifier::REVERSED));
    }
}
