//! The words every table of the config is read with, whoever owns it: a
//! check type, an alert channel or the loader. The `Builder` reports each
//! problem at its key and line; `errors` collects them as users read them;
//! `values` parses durations, sizes and `~` paths; `names` says what a
//! service manager accepts as a name; `platform` says what works where.
//! Depends on the specs it reads (the settings), never on what builds them.

mod builder;
pub mod errors;
pub mod names;
pub mod platform;
pub mod values;

pub use builder::{Builder, Spans, deserialize_table};
pub use errors::{ConfigError, ConfigErrors, Errors, Names, Source, unknown_key_message};
pub use values::{
    MAX_BYTES, MAX_DEADLINE, MAX_DURATION, expand_tilde, parse_duration, parse_size, show_duration,
};
