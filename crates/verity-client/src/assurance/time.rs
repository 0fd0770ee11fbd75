//! The dates and times of `verified_claims`: RFC 3339 date-times (`verification.time`,
//! `check_details[].time`) and ISO 8601 full dates (`date_of_expiry`, `birthdate`), read without
//! a calendar library. Proleptic Gregorian calendar, UTC.

/// A calendar date (`2031-04-12`), as `date_of_expiry` and `date_of_issuance` carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CivilDate {
    pub year: i64,
    /// 1 to 12.
    pub month: u32,
    /// 1 to 31.
    pub day: u32,
}

impl CivilDate {
    /// Reads `YYYY-MM-DD` (four-digit year); `None` for anything else, or a day the month does
    /// not have. Never panics.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let date = CivilDate {
            year: i64::from(digits(&b[0..4])?),
            month: digits(&b[5..7])?,
            day: digits(&b[8..10])?,
        };
        date.is_valid().then_some(date)
    }

    /// The UTC date of a moment in Unix seconds.
    pub fn of_unix(unix: i64) -> Self {
        // Howard Hinnant's days-to-civil algorithm.
        let z = unix.div_euclid(86_400) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        CivilDate {
            year: yoe + era * 400 + i64::from(month <= 2),
            // Both are small and positive by construction.
            month: u32::try_from(month).unwrap_or(1),
            day: u32::try_from(day).unwrap_or(1),
        }
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i64 {
        // Howard Hinnant's days-from-civil algorithm.
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = if m <= 2 { self.year - 1 } else { self.year };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    fn is_valid(self) -> bool {
        let leap = self.year % 4 == 0 && (self.year % 100 != 0 || self.year % 400 == 0);
        let days = match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return false,
        };
        (1..=days).contains(&self.day)
    }
}

impl std::fmt::Display for CivilDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Reads an RFC 3339 date-time into Unix seconds: `2026-12-06T01:57:03Z`, with fractional
/// seconds or a `+01:00` offset. Seconds may be left out (`2021-06-06T05:32Z`), as in several
/// of the specification's own examples. `None` for anything else. Never panics.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let (date, rest) = (s.get(..10)?, s.get(10..)?);
    let date = CivilDate::parse(date)?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    // The offset starts at the first `Z`, `+` or `-` after the time.
    let split = rest.find(['Z', 'z', '+', '-'])?;
    let (time, offset) = rest.split_at(split);
    let mut parts = time.splitn(3, ':');
    let hour = two_digits(parts.next()?)?;
    let minute = two_digits(parts.next()?)?;
    let second = match parts.next() {
        None => 0,
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            if sec.contains('.') && (frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit())) {
                return None;
            }
            two_digits(whole)?
        }
    };
    // 60 is a leap second, read as the next one.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let offset_secs = match offset {
        "Z" | "z" => 0,
        o => {
            let sign = if o.starts_with('+') { 1 } else { -1 };
            let (h, m) = o.get(1..)?.split_once(':')?;
            let (h, m) = (two_digits(h)?, two_digits(m)?);
            if h > 23 || m > 59 {
                return None;
            }
            sign * i64::from(h * 3600 + m * 60)
        }
    };
    Some(
        date.days_since_epoch() * 86_400 + i64::from(hour * 3600 + minute * 60 + second)
            - offset_secs,
    )
}

fn two_digits(s: &str) -> Option<u32> {
    if s.len() == 2 {
        digits(s.as_bytes())
    } else {
        None
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rfc3339_as_the_specification_writes_it() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-12-05T23:59:59Z"),
            Some(1_796_428_800 + 86_399)
        );
        assert_eq!(
            parse_rfc3339("2000-02-29T01:02:03Z"),
            Some(951_782_400 + 3_723)
        );
        assert_eq!(
            parse_rfc3339("2021-06-06T05:32Z"),
            parse_rfc3339("2021-06-06T05:32:00Z")
        );
        assert_eq!(
            parse_rfc3339("2021-06-06T07:32:00.123+02:00"),
            parse_rfc3339("2021-06-06T05:32:00Z")
        );
        assert_eq!(
            parse_rfc3339("2021-06-05T23:32:00-06:00"),
            parse_rfc3339("2021-06-06T05:32:00Z")
        );
        for bad in [
            "",
            "2021-06-06",
            "2021-06-06T05Z",
            "2021-06-06T25:00:00Z",
            "2021-02-30T00:00:00Z",
            "2021-06-06T05:32:00",
            "2021-06-06T05:32:00.Z",
            "2021-06-06T05:32:00+0200",
            "2021-06-06X05:32:00Z",
            "２０２１-06-06T05:32:00Z",
            "2021-06-06T05:32:00Zjunk",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(
            CivilDate::parse("2031-04-12"),
            Some(CivilDate {
                year: 2031,
                month: 4,
                day: 12
            })
        );
        assert_eq!(CivilDate::parse("2023-02-29"), None);
        assert_eq!(CivilDate::parse("2024-02-29").map(|d| d.day), Some(29));
        assert_eq!(CivilDate::parse("2024-2-29"), None);
        for days in [-800_000, -1, 0, 59, 10_957, 20_000, 2_932_896] {
            let date = CivilDate::of_unix(days * 86_400 + 5);
            assert_eq!(date.days_since_epoch(), days, "{date}");
            assert_eq!(
                CivilDate::parse(&date.to_string()),
                Some(date).filter(|d| d.year >= 0 && d.year < 10_000)
            );
        }
    }
}
