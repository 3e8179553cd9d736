//! Turning a rendered frame into text: plain, or with ANSI colours.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

/// The buffer as lines of text, trailing spaces trimmed.
pub fn buffer_to_text(buf: &Buffer) -> String {
    let mut out = String::new();
    let area = buf.area;
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        let mut skip = 0;
        for x in area.left()..area.right() {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            line.push_str(sym);
            skip = unicode_width(sym).saturating_sub(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn unicode_width(s: &str) -> usize {
    use ratatui::text::Span;
    Span::raw(s).width()
}

fn sgr_color(c: Color, fg: bool) -> Option<String> {
    let base = if fg { 30 } else { 40 };
    Some(match c {
        Color::Reset => return None,
        Color::Black => format!("{}", base),
        Color::Red => format!("{}", base + 1),
        Color::Green => format!("{}", base + 2),
        Color::Yellow => format!("{}", base + 3),
        Color::Blue => format!("{}", base + 4),
        Color::Magenta => format!("{}", base + 5),
        Color::Cyan => format!("{}", base + 6),
        Color::Gray => format!("{}", base + 7),
        Color::DarkGray => format!("{}", base + 60),
        Color::LightRed => format!("{}", base + 61),
        Color::LightGreen => format!("{}", base + 62),
        Color::LightYellow => format!("{}", base + 63),
        Color::LightBlue => format!("{}", base + 64),
        Color::LightMagenta => format!("{}", base + 65),
        Color::LightCyan => format!("{}", base + 66),
        Color::White => format!("{}", base + 67),
        Color::Indexed(i) => format!("{};5;{i}", base + 8),
        Color::Rgb(r, g, b) => format!("{};2;{r};{g};{b}", base + 8),
    })
}

/// The buffer as ANSI-coloured text (SGR only; no cursor movement).
pub fn buffer_to_ansi(buf: &Buffer) -> String {
    let mut out = String::new();
    let area = buf.area;
    for y in area.top()..area.bottom() {
        let mut last: Option<(Color, Color, Modifier)> = None;
        let mut skip = 0;
        for x in area.left()..area.right() {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let c = &buf[(x, y)];
            let key = (c.fg, c.bg, c.modifier);
            if last != Some(key) {
                let mut codes = vec!["0".to_string()];
                if c.modifier.contains(Modifier::BOLD) {
                    codes.push("1".into());
                }
                if c.modifier.contains(Modifier::DIM) {
                    codes.push("2".into());
                }
                if c.modifier.contains(Modifier::ITALIC) {
                    codes.push("3".into());
                }
                if c.modifier.contains(Modifier::UNDERLINED) {
                    codes.push("4".into());
                }
                if c.modifier.contains(Modifier::REVERSED) {
                    codes.push("7".into());
                }
                codes.extend(sgr_color(c.fg, true));
                codes.extend(sgr_color(c.bg, false));
                out.push_str(&format!("\x1b[{}m", codes.join(";")));
                last = Some(key);
            }
            out.push_str(c.symbol());
            skip = unicode_width(c.symbol()).saturating_sub(1);
        }
        out.push_str("\x1b[0m\n");
    }
    out
}
