//! After the state is saved: the run goes into the uptime history, and the
//! status page is written from it. Neither can fail the run: trouble is a
//! line on stderr, and the next run tries again.

use crate::history::{History, record};
use crate::options::RunOptions;
use crate::report::Report;
use crate::spec::Config;
use crate::state::State;

/// Record the run (when it records at all) and write the page (full runs).
pub fn history_and_page(
    config: &Config,
    opts: &RunOptions,
    records: bool,
    before: &State,
    next: &State,
    report: &Report,
) {
    if !records {
        return;
    }
    let dir = &config.settings.state_dir;
    let record = record::of_run(config, before, next, report);
    let history = History::keep(dir, &record, report.started_at).map(|(h, note)| {
        if let Some(note) = note {
            eprintln!("healthcheck: {note}");
        }
        h
    });
    let history = match history {
        Ok(h) => h,
        Err(e) => {
            eprintln!(
                "healthcheck: cannot write the history {}: {e}",
                dir.join(crate::history::FILE).display()
            );
            return;
        }
    };
    if let Some(page) = &config.page
        && opts.only.is_empty()
        && let Err(e) = crate::page::write(config, page, &history, next, report)
    {
        eprintln!(
            "healthcheck: cannot write the page in {}: {e}",
            page.dir.display()
        );
    }
}
