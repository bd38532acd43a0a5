//! `index.html`: one self-contained file (no external assets, no script
//! library), readable from `file://`, at phone width and in dark mode.
//! Every status has a word as well as a colour. Its one inline script
//! turns the banner into STALE when the page is older than 3 x
//! `expected_interval` (a page written by a timer must reveal that the
//! timer stopped) and says how long ago it was written.

use std::fmt::Write as _;

use super::{CheckView, Page, Point, colour, escape};
use crate::history::report::show_minutes;

const STYLE: &str = r#"
:root{--bg:#fafafa;--fg:#1b1b1b;--card:#fff;--line:#ddd;--muted:#555;--none:#c8c8c8}
@media (prefers-color-scheme:dark){:root{--bg:#121212;--fg:#e8e8e8;--card:#1e1e1e;--line:#333;--muted:#aaa;--none:#4a4a4a}}
*{box-sizing:border-box}
body{margin:0;padding:12px;background:var(--bg);color:var(--fg);font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main,header{max-width:900px;margin:0 auto}
h1{font-size:1.3em;margin:.2em 0}
h2{font-size:1.05em;margin:0;overflow-wrap:anywhere}
#banner{padding:10px 12px;border-radius:8px;color:#fff;font-weight:600;margin:8px 0}
.meta,.since,.muted{color:var(--muted);font-size:.85em;margin:.2em 0}
.check,.box{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px;margin:10px 0}
.head{display:flex;align-items:center;gap:8px;flex-wrap:wrap}
.word{color:#fff;border-radius:4px;padding:1px 6px;font-size:.8em;font-weight:700}
.msg{margin:.3em 0;overflow-wrap:anywhere}
.uptime{display:flex;gap:12px;flex-wrap:wrap;font-size:.9em;margin:.3em 0}
.uptime b{font-variant-numeric:tabular-nums}
.days{display:flex;gap:1px;height:22px;margin:6px 0}
.days i{flex:1;min-width:1px;border-radius:1px;background:var(--none)}
.chart{width:100%;height:48px;display:block}
ul{padding-left:1.1em;margin:.3em 0}
li{margin:.3em 0;overflow-wrap:anywhere}
"#;

/// The colour a CSS class stands for: background of words, banners and cells.
fn style_of(cell: &str) -> String {
    if cell == "none" || cell == "missed" {
        "background:var(--none)".to_string()
    } else {
        format!("background:{}", colour(cell))
    }
}

/// `.c-ok` and the others: the daily cells' colours, from `colour`.
fn cell_classes() -> String {
    ["ok", "warning", "critical", "unknown"]
        .map(|cell| format!(".days .c-{cell}{{background:{}}}", colour(cell)))
        .join("")
}

fn minute(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

fn percent(p: Option<f64>) -> String {
    p.map_or("-".to_string(), |p| format!("{p:.1}%"))
}

pub fn render(page: &Page) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let title = escape(&page.title);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n<title>{title}</title>\n\
         <style>{STYLE}{}</style>\n</head>\n<body>\n<header>\n<h1>{title}</h1>\n",
        cell_classes()
    );
    let banner_cell = if page.banner == "Maintenance" {
        "none"
    } else {
        page.status.name()
    };
    let _ = write!(
        out,
        "<div id=\"banner\" style=\"{}\" data-written=\"{}\" data-stale-after=\"{}\">{}</div>\n\
         <p class=\"meta\">Written <time id=\"written\" datetime=\"{}\">{}</time> by healthcheck on {}.</p>\n</header>\n<main>\n",
        style_of(banner_cell),
        page.written_at,
        page.stale_after_s.unwrap_or(0),
        escape(&page.banner),
        page.written_at,
        minute(page.written_at),
        escape(&page.host)
    );
    for c in &page.checks {
        check(&mut out, c);
    }
    incidents(&mut out, page);
    let restarts: Vec<String> = page
        .restarts
        .iter()
        .map(|(s, n)| format!("<li>{}: {n}</li>", escape(s)))
        .collect();
    let _ = write!(
        out,
        "<section class=\"box\"><h2>Restarts, last 30 days</h2>{}</section>\n\
         <section class=\"box\"><h2>Alerts, last 30 days</h2><p>{} sent, {} waited in the outbox, {} failed (dropped)</p></section>\n",
        if restarts.is_empty() {
            "<p class=\"muted\">none</p>".to_string()
        } else {
            format!("<ul>{}</ul>", restarts.join(""))
        },
        page.alerts.sent,
        page.alerts.queued,
        page.alerts.dropped
    );
    out.push_str("</main>\n<script>\n");
    out.push_str(SCRIPT);
    out.push_str("</script>\n</body>\n</html>\n");
    out
}

const SCRIPT: &str = r##"(function () {
  var b = document.getElementById("banner");
  var written = Date.parse(b.getAttribute("data-written"));
  var after = Number(b.getAttribute("data-stale-after"));
  var age = Math.max(0, Math.round((Date.now() - written) / 60000));
  document.getElementById("written").textContent += " (" + age + " min ago)";
  if (after > 0 && Date.now() - written > after * 1000) {
    b.textContent = "STALE: written " + age + " min ago, no run since. Last seen: " + b.textContent;
    b.style.background = "#8a5a00";
  }
})();
"##;

fn check(out: &mut String, c: &CheckView) {
    let cell = if c.word == "SKIPPED" {
        "none"
    } else {
        c.status.name()
    };
    let _ = write!(
        out,
        "<section class=\"check\" id=\"check-{}\">\n<div class=\"head\"><h2>{}</h2>\
         <span class=\"word\" style=\"{}\">{}</span>{}</div>\n",
        escape(&c.file),
        escape(&c.name),
        style_of(cell),
        c.word,
        if c.silenced {
            "<span class=\"muted\">silenced</span>"
        } else {
            ""
        }
    );
    if let Some(since) = c.since {
        let _ = writeln!(out, "<p class=\"since\">since {}</p>", minute(since));
    }
    if !c.message.is_empty() {
        let _ = writeln!(out, "<p class=\"msg\">{}</p>", escape(&c.message));
    }
    let _ = writeln!(
        out,
        "<div class=\"uptime\"><span>24 h <b>{}</b></span><span>7 d <b>{}</b></span>\
         <span>30 d <b>{}</b></span><span>90 d <b>{}</b></span></div>",
        percent(c.uptime.h24),
        percent(c.uptime.d7),
        percent(c.uptime.d30),
        percent(c.uptime.d90)
    );
    out.push_str("<div class=\"days\" role=\"img\" aria-label=\"the last 90 days\">");
    for d in &c.days {
        let what = match d.cell {
            "none" => "no data".to_string(),
            "missed" => format!("{} missed runs, {}", d.missed, percent(d.uptime)),
            cell => format!("{cell}, {}", percent(d.uptime)),
        };
        let _ = write!(
            out,
            "<i class=\"c-{}\" title=\"{}: {what}\"></i>",
            d.cell, d.date
        );
    }
    out.push_str("</div>\n");
    if let Some(r) = &c.reading {
        chart(out, &c.chart, &r.name, |v| r.kind.show(v));
    }
    out.push_str("</section>\n");
}

/// The last 24 hours of the primary reading: its min-max band and its
/// last value per hour.
fn chart(out: &mut String, points: &[Point], name: &str, show: impl Fn(f64) -> String) {
    let values: Vec<f64> = points
        .iter()
        .flat_map(|p| [p.min, p.max, p.last])
        .flatten()
        .collect();
    let Some(last) = points.iter().rev().find_map(|p| p.last) else {
        return;
    };
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let range = if hi > lo { hi - lo } else { 1.0 };
    let (w, h) = (240.0, 44.0);
    let x = |i: usize| 2.0 + i as f64 * (w - 4.0) / 23.0;
    let y = |v: f64| 2.0 + (h - 4.0) * (1.0 - (v - lo) / range);
    let mut line = String::new();
    let mut dot = String::new();
    let mut band_top = Vec::new();
    let mut band_bottom = Vec::new();
    for (i, p) in points.iter().enumerate() {
        if let Some(v) = p.last {
            let _ = write!(line, "{:.1},{:.1} ", x(i), y(v));
            dot = format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\" fill=\"currentColor\"/>",
                x(i),
                y(v)
            );
        }
        if let (Some(a), Some(b)) = (p.min, p.max) {
            band_top.push(format!("{:.1},{:.1}", x(i), y(b)));
            band_bottom.push(format!("{:.1},{:.1}", x(i), y(a)));
        }
    }
    band_bottom.reverse();
    let _ = write!(
        out,
        "<p class=\"muted\">{} over 24 h: now {}, range {} to {}</p>\n\
         <svg class=\"chart\" viewBox=\"0 0 240 44\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"{} over the last 24 hours\">\
         <polygon points=\"{} {}\" fill=\"currentColor\" opacity=\"0.15\"/>\
         <polyline points=\"{}\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.5\" vector-effect=\"non-scaling-stroke\"/>{}</svg>\n",
        escape(name),
        escape(&show(last)),
        escape(&show(lo)),
        escape(&show(hi)),
        escape(name),
        band_top.join(" "),
        band_bottom.join(" "),
        line.trim_end(),
        dot
    );
}

fn incidents(out: &mut String, page: &Page) {
    out.push_str("<section class=\"box\"><h2>Incidents, last 30 days</h2>\n");
    if page.incidents.is_empty() {
        out.push_str("<p class=\"muted\">none</p>");
    } else {
        out.push_str("<ul>\n");
        for i in &page.incidents {
            let end = i.end.map_or("ongoing".to_string(), minute);
            let _ = write!(
                out,
                "<li><b>{}</b> <span class=\"word\" style=\"{}\">{}</span> {} to {} ({})",
                escape(&i.check),
                style_of(i.worst.name()),
                i.worst.word(),
                minute(i.start),
                end,
                show_minutes(i.minutes)
            );
            if !i.message.is_empty() {
                let _ = write!(out, "<br>{}", escape(&i.message));
            }
            if !i.actions.is_empty() {
                let _ = write!(out, "<br>done: {}", escape(&i.actions_text()));
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>\n");
}
