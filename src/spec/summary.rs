//! `[summary]`, compiled: when the daily digest is due and where it goes.

/// `[summary]`, compiled.
#[derive(Debug, Clone)]
pub struct SummarySpec {
    /// The local time from which the day's summary is due.
    pub at: jiff::civil::Time,
    pub tz: jiff::tz::TimeZone,
    pub channels: Vec<String>,
}
