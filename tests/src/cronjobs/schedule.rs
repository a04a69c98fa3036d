//! CronJob schedules: the five-field cron syntax Kubernetes accepts (robfig/cron's standard
//! parser), parsed with `croner`.
//!
//! Traps: exactly five fields (a seconds field is refused, as by the real API); `@hourly`,
//! `@daily`, `@midnight`, `@weekly`, `@monthly`, `@yearly`, `@annually` are accepted; a `TZ=` or
//! `CRON_TZ=` prefix is refused (Kubernetes moved time zones to `spec.timeZone`); when both
//! day-of-month and day-of-week are restricted, either matching fires (POSIX). croner accepts
//! `L`, `W` and `#`, which robfig refuses: those are refused here too.

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

#[derive(Clone, Debug)]
pub struct Schedule(Cron);

pub fn parse(schedule: &str) -> Result<Schedule, String> {
    let s = schedule.trim();
    if s.contains("TZ") {
        return Err("cannot use TZ or CRON_TZ in schedule, use timeZone field instead".to_owned());
    }
    if s.is_empty() {
        return Err("empty schedule".to_owned());
    }
    if !s.starts_with('@') {
        let fields = s.split_whitespace().count();
        if fields != 5 {
            return Err(format!("expected exactly 5 fields, found {fields}: {s}"));
        }
        if s.split_whitespace()
            .flat_map(|f| f.split(','))
            .any(is_croner_extension)
        {
            return Err(format!("unsupported cron syntax (L, W, #): {s}"));
        }
    } else if s == "@reboot" || s.starts_with("@every") {
        return Err(format!("unsupported descriptor: {s}"));
    }
    let parser = CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .sloppy_ranges(true)
        .build();
    parser.parse(s).map(Schedule).map_err(|e| e.to_string())
}

/// `L`, `5L`, `15W`, `LW`, `5#2`: croner extensions robfig/cron refuses. Month and day
/// names (`JUL`, `WED`) are fine.
fn is_croner_extension(item: &str) -> bool {
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    item.contains('#')
        || item == "L"
        || item == "LW"
        || item.strip_suffix('L').is_some_and(digits)
        || item.strip_suffix('W').is_some_and(digits)
}

impl Schedule {
    /// The latest scheduled time in `(after, now]`, if any.
    pub fn most_recent(&self, after: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let latest = self.0.find_previous_occurrence(&now, true).ok()?;
        (latest > after).then_some(latest)
    }

    /// The first scheduled time strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.0.find_next_occurrence(&t, false).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("valid time")
            .with_timezone(&Utc)
    }

    #[test]
    fn accepts_kubernetes_schedules() {
        for s in [
            "* * * * *",
            "*/5 * * * *",
            "0 3 * * 1-5",
            "@hourly",
            "@daily",
            "0/10 * * * *",
            "0 0 1 JAN *",
        ] {
            assert!(parse(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn refuses_what_kubernetes_refuses() {
        for s in [
            "* * * * * *",
            "",
            "TZ=UTC * * * * *",
            "CRON_TZ=Europe/Paris 0 * * * *",
            "@every 1m",
            "61 * * * *",
            "0 0 L * *",
        ] {
            assert!(parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn most_recent_and_next() {
        let s = parse("*/15 * * * *").expect("valid");
        let now = t("2024-01-01T10:31:10Z");
        assert_eq!(
            s.most_recent(t("2024-01-01T10:00:00Z"), now),
            Some(t("2024-01-01T10:30:00Z"))
        );
        assert_eq!(s.most_recent(t("2024-01-01T10:30:00Z"), now), None);
        assert_eq!(s.next_after(now), Some(t("2024-01-01T10:45:00Z")));
    }
}
