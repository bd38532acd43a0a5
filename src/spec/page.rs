//! `[page]`, compiled: where the status page is written and served.

use std::path::PathBuf;

/// `[page]`, compiled.
#[derive(Debug, Clone)]
pub struct PageSpec {
    pub dir: PathBuf,
    pub title: String,
    /// Where the page is served; each digest says "details: URL".
    pub url: Option<String>,
}
