//! `feed.xml`: the status changes as an Atom feed, newest first, for a
//! feed reader on a phone.

use super::{Page, escape};
use crate::history::Change;

pub fn atom(page: &Page, changes: &[Change]) -> String {
    let id = |suffix: &str| match &page.url {
        Some(url) => format!("{}#{suffix}", url.trim_end_matches('#')),
        None => format!(
            "urn:healthcheck:{}:{suffix}",
            page.host
                .chars()
                .map(|ch| if ch.is_ascii_alphanumeric() || ch == '.' {
                    ch
                } else {
                    '-'
                })
                .collect::<String>()
        ),
    };
    let updated = changes.first().map_or(page.written_at, |c| c.at);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n\
         <title>{}</title>\n<id>{}</id>\n<updated>{}</updated>\n\
         <author><name>healthcheck on {}</name></author>\n",
        escape(&page.title),
        escape(&id("feed")),
        updated,
        escape(&page.host)
    );
    if let Some(url) = &page.url {
        out.push_str(&format!("<link href=\"{}\"/>\n", escape(url)));
    }
    for c in changes {
        let name: String = c
            .check
            .chars()
            .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
            .collect();
        let entry = format!("{name}-{}", c.at.as_second());
        out.push_str(&format!(
            "<entry>\n<title>{}: {}</title>\n<id>{}</id>\n<updated>{}</updated>\n<content type=\"text\">{}</content>\n</entry>\n",
            escape(&c.check),
            c.status.word(),
            escape(&id(&entry)),
            c.at,
            escape(&crate::secret::redact(&c.message))
        ));
    }
    out.push_str("</feed>\n");
    out
}
