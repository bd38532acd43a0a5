//! One `[[check]]` table: its common keys, its type's keys through the
//! type's own struct and `build`, and its thresholds in the judged
//! reading's unit. The table is split by key: the common ones go to
//! `RawCheck`, the rest to the type's struct.

use super::settings::{check_schedule_name, timeout_problem};
use crate::check::common::RawCheck;
use crate::check::{self, Primary};
use crate::model::Status;
use crate::model::{Thresholds, Unit};
use crate::schedule::Schedule;
use crate::spec::{CheckSpec, ServiceSpec, Settings};
use crate::vocab::platform::Platform;
use crate::vocab::values::Limit;
use crate::vocab::{Builder, Errors, Spans, parse_duration, parse_size, unknown_key_message};
use serde::Deserialize;
use serde_aux::serde_introspection::serde_introspect;
use std::collections::HashSet;
use std::sync::{Arc, LazyLock};
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

/// Every key of some check: the common ones, each type's own, and the
/// `X_file` form of the keys that take one (read into `X` before this
/// where the type takes it so: found here, it is a key of other types).
/// Gathered once, not for each check of a config.
static KNOWN_KEYS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    check::KINDS
        .iter()
        .flat_map(|k| (k.keys.names)().iter().map(|key| key.to_string()))
        .chain(
            serde_introspect::<RawCheck>()
                .iter()
                .map(|key| key.to_string()),
        )
        .chain(
            check::KINDS
                .iter()
                .flat_map(|k| k.from_file.iter().map(|key| format!("{key}_file"))),
        )
        .collect()
});

/// Validate one `[[check]]` table and build its probe.
pub(super) fn compile_check(
    errors: &mut Errors,
    prefix: &str,
    value: Spanned<DeValue>,
    settings: &Settings,
    services: &[ServiceSpec],
    schedules: &[Schedule],
) -> Option<CheckSpec> {
    let span = value.span();
    let DeValue::Table(table) = value.into_inner() else {
        errors.push(span, prefix, "each [[check]] must be a table");
        return None;
    };
    let kind_name = table
        .get("type")
        .and_then(|v| v.get_ref().as_str().map(str::to_string));
    let kind = match kind_name.as_deref() {
        None => {
            errors.push(span.start..span.start, prefix, "missing key type");
            None
        }
        Some(k) => {
            let found = check::kind(k);
            let at = table.get("type").map_or(span.clone(), |v| v.span());
            if found.is_none() {
                let all: Vec<&str> = check::KINDS
                    .iter()
                    .filter(|k| k.unavailable_on(Platform::current()).is_none())
                    .map(|k| k.name)
                    .collect();
                let close = all
                    .iter()
                    .filter(|name| crate::vocab::errors::similar(name, k))
                    .min_by_key(|name| crate::vocab::errors::edit_distance(name, k))
                    .map(|name| format!(", did you mean `{name}`?"))
                    .unwrap_or_default();
                let message = format!(
                    "unknown check type `{k}`{close} (one of: {})",
                    all.join(", ")
                );
                errors.push(at, format!("{prefix}.type"), message);
                None
            } else if let Some(why) = found.and_then(|kd| kd.unavailable_on(Platform::current())) {
                errors.push(at, format!("{prefix}.type"), why);
                None
            } else {
                found
            }
        }
    };

    // Keys: not for this type, or unknown. Reported here, dropped
    // before serde so that each problem is reported once.
    let common_keys = serde_introspect::<RawCheck>();
    let own_keys = kind.map_or(&[][..], |kd| (kd.keys.names)());
    let mut kept = DeTable::new();
    for (k, v) in table {
        let key = k.get_ref().to_string();
        let path = || format!("{prefix}.{key}");
        let applies = common_keys.contains(&key.as_str())
            || kind.is_none_or(|_| own_keys.contains(&key.as_str()));
        if !KNOWN_KEYS.contains(key.as_str()) {
            let allowed: Vec<&str> = common_keys.iter().chain(own_keys).copied().collect();
            errors.push(k.span(), path(), unknown_key_message(&key, &allowed));
        } else if !applies {
            let kd = kind.map_or("", |kd| kd.name);
            errors.push(
                k.span(),
                path(),
                format!("key `{key}` does not apply to checks of type `{kd}`"),
            );
        } else {
            if let Some(why) = kind.and_then(|kd| kd.key_unavailable_on(&key, Platform::current()))
            {
                errors.push(k.span(), path(), why);
            }
            kept.insert(k, v);
        }
    }
    let copy = kept.clone();
    let spans = Spans::of(
        prefix,
        &Spanned::new(span.clone(), DeValue::Table(kept.clone())),
    );
    let (common, own): (DeTable, DeTable) = kept
        .into_iter()
        .partition(|(k, _)| common_keys.contains(&k.get_ref().as_ref()));
    let raw = match RawCheck::deserialize(ValueDeserializer::from(Spanned::new(
        span.clone(),
        DeValue::Table(common),
    ))) {
        Ok(raw) => raw,
        Err(e) => {
            errors.push_serde(prefix, &copy, span, e);
            return None;
        }
    };
    let kind = kind?;
    let primary = primary(kind, &own);
    let keys = match (kind.keys.parse)(Spanned::new(span.clone(), DeValue::Table(own))) {
        Ok(keys) => keys,
        Err(e) => {
            errors.push_serde(prefix, &copy, span, e);
            return None;
        }
    };
    let before = errors.list.len();
    let mut b = spans.builder(errors, Some(settings));
    if let Some(service) = &raw.restart
        && !services.iter().any(|s| &s.name == service)
        && !b.is_broken("service", service)
    {
        b.error("restart", crate::spec::no_such_service(service, services));
    }
    if let Some(when) = &raw.when {
        check_schedule_name(&mut b, "when", when, schedules);
    }
    if raw.run.as_ref().is_some_and(Vec::is_empty) {
        b.error(
            "run",
            "must name a program: run = [\"/usr/local/bin/refresh-token\"]",
        );
    }

    let timeout = match &raw.timeout {
        Some(t) => match b.duration("timeout", t) {
            Some(d) => {
                if let Some(why) = timeout_problem(d, settings.deadline) {
                    b.error("timeout", why);
                }
                d
            }
            None => settings.timeout,
        },
        None => settings.timeout,
    };
    if raw.name.trim().is_empty() {
        b.error("name", "must not be empty");
    } else if raw.name.contains('|') || raw.name.chars().any(char::is_control) {
        b.error(
            "name",
            "must not hold `|` or a line break (Nagios cuts a plugin's output at `|`)",
        );
    }
    let after = raw.after.unwrap_or(1);
    if after == 0 {
        b.error("after", "must be at least 1");
    }
    let cap = match raw.severity.as_deref() {
        None | Some("critical") => None,
        Some("warning") => Some(Status::Warning),
        Some(other) => {
            b.error(
                "severity",
                format!("must be \"warning\" or \"critical\", not \"{other}\""),
            );
            None
        }
    };
    if let Some(reading) = &raw.reading
        && let Some(why) = kind.reading_unavailable_on(reading, Platform::current())
    {
        b.error("reading", why);
    }
    let recovery = super::escalate::compile(&mut b, &raw, services);
    let (judged, thresholds) = compile_thresholds(&mut b, kind, primary, &raw);
    let probe = keys.build(&raw, &mut b);
    let on_timeout = match raw.on_timeout.as_deref() {
        None => probe.as_ref().map_or(Status::Unknown, |p| p.on_timeout()),
        Some("critical") => Status::Critical,
        Some("unknown") => Status::Unknown,
        Some(other) => {
            b.error(
                "on_timeout",
                format!("must be \"critical\" or \"unknown\", not \"{other}\""),
            );
            Status::Unknown
        }
    };
    if errors.list.len() > before {
        return None;
    }
    Some(CheckSpec {
        name: raw.name,
        kind: kind.name,
        timeout,
        on_timeout,
        after,
        hint: raw.hint,
        cap,
        judged,
        thresholds,
        leave_stopped: raw.restart.as_ref().is_some_and(|name| {
            services.iter().any(|s| {
                &s.name == name && s.when_stopped == crate::spec::service::WhenStopped::Leave
            })
        }),
        restart: raw.restart,
        run: raw.run,
        recovery,
        depends_on: raw.depends_on.unwrap_or_default(),
        when: raw.when,
        on_page: raw.page.unwrap_or(true),
        probe: Arc::from(probe?),
    })
}

/// The reading a check of `kind` with these keys of its own judges when it
/// names none: what its mode says (`expect = "age"`, `per = "1h"`), if the
/// type has that reading.
fn primary(kind: &check::Kind, own: &DeTable) -> Option<&'static str> {
    let set = |key: &str| own.iter().find(|(k, _)| k.get_ref() == key).map(|(_, v)| v);
    match kind.primary {
        Primary::First => None,
        Primary::NamedBy(key) => set(key)
            .and_then(|v| v.get_ref().as_str())
            .and_then(|name| kind.reading(name))
            .map(|m| m.name),
        Primary::When(rules) => rules
            .iter()
            .find(|(key, value, _)| {
                set(key)
                    .is_some_and(|v| value.is_none_or(|want| v.get_ref().as_str() == Some(want)))
            })
            .map(|(_, _, m)| m.name),
    }
}

/// Which reading the thresholds judge, and the limits in that reading's unit.
/// The judged reading is `reading` if given, else the one the check's mode
/// picks (`by_mode`), else the type's first.
pub(super) fn compile_thresholds(
    b: &mut Builder,
    kind: &check::Kind,
    by_mode: Option<&str>,
    raw: &RawCheck,
) -> (Option<String>, Thresholds) {
    let limits = [
        ("warn_above", &raw.warn_above),
        ("crit_above", &raw.crit_above),
        ("warn_below", &raw.warn_below),
        ("crit_below", &raw.crit_below),
    ];
    let by_mode = by_mode.map(str::to_string);
    let primary = raw.reading.as_ref().or(by_mode.as_ref());
    let unit = match (primary, kind.readings.first()) {
        (Some(r), _) if kind.readings.is_empty() => {
            return (Some(r.clone()), convert_limits(b, &limits, None));
        }
        (Some(r), _) => match kind.reading(r) {
            Some(metric) => Some(metric.unit),
            None => {
                let names: Vec<&str> = kind.readings.iter().map(|m| m.name).collect();
                b.error(
                    "reading",
                    format!(
                        "type `{}` has no reading `{r}` (it has: {})",
                        kind.name,
                        names.join(", ")
                    ),
                );
                return (None, Thresholds::default());
            }
        },
        (None, Some(first)) => Some(first.unit),
        (None, None) => None,
    };
    let judged = primary
        .cloned()
        .or_else(|| kind.readings.first().map(|m| m.name.to_string()));
    let thresholds = convert_limits(b, &limits, unit);
    if judged.is_none() && !thresholds.is_empty() {
        b.error("reading", format!("type `{}` needs `reading = \"...\"` to say which perfdata value the thresholds judge", kind.name));
    }
    (judged, thresholds)
}

pub(super) fn convert_limits(
    b: &mut Builder,
    limits: &[(&str, &Option<Limit>); 4],
    unit: Option<Unit>,
) -> Thresholds {
    let mut values = [None; 4];
    for (slot, (key, limit)) in values.iter_mut().zip(limits) {
        if let Some(limit) = limit {
            match limit_value(limit, unit) {
                Ok(v) => *slot = Some(v),
                Err(e) => b.error(key, e),
            }
        }
    }
    let t = Thresholds {
        warn_above: values[0],
        crit_above: values[1],
        warn_below: values[2],
        crit_below: values[3],
    };
    if let Some(why) = t.contradiction() {
        let key = limits
            .iter()
            .find(|(_, l)| l.is_some())
            .map_or("warn_above", |(k, _)| *k);
        b.error(key, format!("contradictory thresholds: {why}"));
    }
    t
}

/// A limit in the unit of its reading: durations for seconds, sizes for bytes.
pub(super) fn limit_value(limit: &Limit, unit: Option<Unit>) -> Result<f64, String> {
    match (limit, unit) {
        // "crit_above = 15" on an age: 15 seconds? minutes? Say which.
        (Limit::Number(n), Some(Unit::Seconds)) => Err(format!(
            "this reading is a duration, so a bare number is ambiguous: write a duration such as \"{n}m\" or \"{n}s\""
        )),
        (Limit::Number(n), _) => Ok(*n),
        (Limit::Text(t), Some(Unit::Seconds)) => parse_duration(t).map(|d| d.as_secs_f64()),
        (Limit::Text(t), Some(Unit::Bytes)) => parse_size(t),
        (Limit::Text(t), Some(Unit::Percent)) => t
            .trim()
            .trim_end_matches('%')
            .trim()
            .parse()
            .map_err(|_| format!("invalid percent \"{t}\" (write a number such as 85)")),
        (Limit::Text(t), _) => t
            .trim()
            .parse()
            .map_err(|_| format!("invalid number \"{t}\"")),
    }
}
