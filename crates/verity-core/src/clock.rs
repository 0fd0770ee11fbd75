//! Time as a dependency: the server asks a [`Clock`], tests hold a [`ManualClock`].

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, from wherever the deployment takes time.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    fn now(&self) -> i64;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// A clock that moves only when told to: lets tests expire codes and tokens without sleeping.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start: i64) -> Self {
        Self(AtomicI64::new(start))
    }

    /// A manual clock starting at the current wall-clock time.
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now())
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A moment as a person reads it: the UTC date in words, `5 December 2026`.
pub fn date_words(unix: i64) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let (year, month, day) = civil(unix);
    let name = usize::try_from(month - 1)
        .ok()
        .and_then(|m| MONTHS.get(m))
        .copied()
        .unwrap_or("?");
    format!("{day} {name} {year}")
}

/// A moment as a person reads it, to the minute, in UTC: `5 December 2026 at 14:03 UTC`.
/// Pages wrap it in `<time>` so the browser can say it in the reader's own time zone.
pub fn moment_words(unix: i64) -> String {
    let secs = unix.rem_euclid(86_400);
    format!(
        "{} at {:02}:{:02} UTC",
        date_words(unix),
        secs / 3600,
        secs / 60 % 60
    )
}

/// The UTC calendar date of a moment: `(year, month 1..=12, day 1..=31)`.
pub fn civil(unix: i64) -> (i64, i64, i64) {
    // Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
    let z = unix.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// A moment in RFC 3339 UTC, to the second: `2026-12-05T14:03:09Z`.
pub fn rfc3339(unix: i64) -> String {
    let (year, month, day) = civil(unix);
    let secs = unix.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A length of time as a person reads it, rounded down to its largest unit: `less than a
/// minute`, `1 minute`, `3 hours`, `2 days`.
pub fn duration_words(seconds: i64) -> String {
    let (n, unit) = match seconds.max(0) {
        s if s < 60 => return "less than a minute".into(),
        s if s < 3_600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3_600, "hour"),
        s => (s / 86_400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod date_tests {
    use super::{date_words, duration_words, moment_words, rfc3339};

    #[test]
    fn durations_read_in_words() {
        assert_eq!(duration_words(-5), "less than a minute");
        assert_eq!(duration_words(59), "less than a minute");
        assert_eq!(duration_words(60), "1 minute");
        assert_eq!(duration_words(3_599), "59 minutes");
        assert_eq!(duration_words(7_200), "2 hours");
        assert_eq!(duration_words(86_400 * 3 + 5), "3 days");
    }

    #[test]
    fn dates_read_in_words() {
        assert_eq!(date_words(0), "1 January 1970");
        assert_eq!(date_words(1_796_428_800 + 86_399), "5 December 2026");
        assert_eq!(date_words(951_782_400), "29 February 2000");
        assert_eq!(date_words(-86_400), "31 December 1969");
        assert_eq!(date_words(4_102_444_799), "31 December 2099");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_428_800 + 86_399), "2026-12-05T23:59:59Z");
        assert_eq!(rfc3339(951_782_400 + 3_723), "2000-02-29T01:02:03Z");
        assert_eq!(
            moment_words(951_782_400 + 3_723),
            "29 February 2000 at 01:02 UTC"
        );
        assert_eq!(moment_words(-60), "31 December 1969 at 23:59 UTC");
    }
}
