//! A check's badge, shields-style: its name on grey, then its status word
//! and 30-day uptime on the status colour, in white text that stays
//! readable on both.

use super::{CheckView, colour, escape};

/// Roughly how wide `text` is in 11px Verdana.
fn width(text: &str) -> usize {
    text.chars().count() * 7 + 10
}

pub fn svg(c: &CheckView) -> String {
    let left = c.name.clone();
    let right = match c.uptime.d30 {
        Some(u) => format!("{} {u:.1}%", c.word.to_lowercase()),
        None => c.word.to_lowercase(),
    };
    let (lw, rw) = (width(&left), width(&right));
    let total = lw + rw;
    let cell = if c.word == "SKIPPED" {
        "none"
    } else {
        c.status.name()
    };
    let (l, r) = (escape(&left), escape(&right));
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{l}: {r}">
<title>{l}: {r}</title>
<rect width="{lw}" height="20" fill="#555"/>
<rect x="{lw}" width="{rw}" height="20" fill="{fill}"/>
<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">
<text x="{lx}" y="14">{l}</text>
<text x="{rx}" y="14">{r}</text>
</g>
</svg>
"##,
        fill = colour(cell),
        lx = lw / 2,
        rx = lw + rw / 2,
    )
}
