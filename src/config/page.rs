//! `[page]`: the status page each run writes (off unless `dir` is given):
//! where, its title, and the address it is served at (each alert digest
//! then links to it).

use serde::Deserialize;
use toml::Spanned;
use toml::de::DeValue;

use crate::spec::page::PageSpec;
use crate::vocab::{Errors, Spans, deserialize_table, expand_tilde};

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawPage {
    pub dir: Option<String>,
    pub title: Option<String>,
    pub url: Option<String>,
}

/// Compile `[page]`; `hostname` names the default title.
pub(super) fn compile_page(
    errors: &mut Errors,
    value: Spanned<DeValue>,
    hostname: &str,
) -> Option<PageSpec> {
    let spans = Spans::of("page", &value);
    let raw = deserialize_table::<RawPage>(errors, "page", value)?;
    let mut b = spans.builder(errors, None);
    let dir = b.required("dir", &raw.dir)?;
    if dir.trim().is_empty() {
        b.error("dir", "must name a directory");
        return None;
    }
    if let Some(url) = &raw.url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        b.error(
            "url",
            format!(
                "\"{url}\" is not an http(s) address (write e.g. \"https://example.org/status/\")"
            ),
        );
        return None;
    }
    Some(PageSpec {
        dir: expand_tilde(dir),
        title: raw.title.unwrap_or_else(|| format!("{hostname} status")),
        url: raw.url,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn page_keys_are_compiled_and_a_bad_url_is_named() {
        let c = crate::config::load_str(
            "t.toml",
            "[settings]\nhostname = \"pi\"\n[page]\ndir = \"/srv/page\"\n",
        )
        .unwrap();
        let page = c.page.unwrap();
        assert_eq!(page.dir, std::path::PathBuf::from("/srv/page"));
        assert_eq!(page.title, "pi status");
        assert_eq!(page.url, None);
        let Err(e) =
            crate::config::load_str("t.toml", "[page]\ndir = \"/srv/page\"\nurl = \"ftp://x\"\n")
        else {
            panic!("an ftp url was taken");
        };
        let text = e.to_string();
        assert!(
            text.contains("t.toml:3") && text.contains("[page] url"),
            "{text}"
        );
        let Err(e) = crate::config::load_str("t.toml", "[page]\ndirr = \"/srv\"\n") else {
            panic!("a typo was taken");
        };
        assert!(e.to_string().contains("dirr"), "{e}");
    }

    #[test]
    fn a_check_can_be_left_off_the_page() {
        let c = crate::config::load_str(
            "t.toml",
            "[[check]]\nname = \"a\"\ntype = \"disk\"\n[[check]]\nname = \"b\"\ntype = \"disk\"\npage = false\n",
        )
        .unwrap();
        let shown: Vec<bool> = c.checks.iter().map(|c| c.on_page).collect();
        assert_eq!(shown, [true, false]);
    }
}
