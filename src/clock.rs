//! UTC calendar times as ferry writes them (file names, run ids, logs, metadata), without a date-time dependency.

use std::time::{SystemTime, UNIX_EPOCH};

/// A point in time, broken down in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UtcTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u64,
    pub minute: u64,
    pub second: u64,
}

impl UtcTime {
    pub(crate) fn now() -> UtcTime {
        UtcTime::at(SystemTime::now())
    }

    pub(crate) fn at(time: SystemTime) -> UtcTime {
        let seconds = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let (days, rest) = (seconds / 86_400, seconds % 86_400);
        let (year, month, day) = civil_from_days(days as i64);
        UtcTime {
            year,
            month,
            day,
            hour: rest / 3600,
            minute: rest % 3600 / 60,
            second: rest % 60,
        }
    }

    /// `2024-05-01T12:00:00Z`
    pub(crate) fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// `20240501T120000Z` (run ids).
    pub(crate) fn compact(&self) -> String {
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// `20240501_120000` (file names, log lines).
    pub(crate) fn stamp(&self) -> String {
        format!(
            "{:04}{:02}{:02}_{:02}{:02}{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn calendar_times_in_every_form() {
        let leap_day = UtcTime::at(UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_723));
        assert_eq!(leap_day.rfc3339(), "2000-02-29T01:02:03Z");
        assert_eq!(leap_day.compact(), "20000229T010203Z");
        assert_eq!(leap_day.stamp(), "20000229_010203");
        assert_eq!(UtcTime::at(UNIX_EPOCH).stamp(), "19700101_000000");
        assert_eq!(
            UtcTime::at(UNIX_EPOCH + Duration::from_secs(1_795_225_425)).stamp(),
            "20261121_014345"
        );
    }
}
