//! Civil calendar arithmetic on day numbers (days since 1970-01-01), and the
//! conversion from a block timestamp to a club's local day.
//!
//! Pure integer arithmetic (Howard Hinnant's `days_from_civil` /
//! `civil_from_days`), proleptic Gregorian calendar.

/// Milliseconds in a day.
pub const DAY_MS: u64 = 86_400_000;

/// The largest valid day number: 9999-12-31.
pub const DAY_MAX: u32 = 2_932_896;

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CivilDate {
    /// Year, e.g. 2026.
    pub year: i32,
    /// Month, 1-12.
    pub month: u32,
    /// Day of month, 1-31.
    pub day: u32,
}

/// The day number of a calendar date (may be negative before 1970).
pub fn days_from_civil(date: CivilDate) -> i64 {
    let y = i64::from(date.year) - i64::from(date.month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(date.month);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(date.day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The calendar date of a day number.
pub fn civil_from_days(days: i64) -> CivilDate {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    CivilDate {
        year: i32::try_from(year).expect("calendar: year out of i32 range"),
        month: u32::try_from(month).expect("calendar: month in 1..=12"),
        day: u32::try_from(day).expect("calendar: day in 1..=31"),
    }
}

/// The local day number at `timestamp_ms` in a place `utc_offset_minutes` from UTC.
/// Instants before the epoch (impossible for blocks) clamp to day 0.
pub fn local_day(timestamp_ms: u64, utc_offset_minutes: i32) -> u32 {
    let local_ms = i128::from(timestamp_ms) + i128::from(utc_offset_minutes) * 60_000;
    let day = local_ms.div_euclid(i128::from(DAY_MS));
    u32::try_from(day.max(0)).unwrap_or(u32::MAX)
}

/// `year * 100 + month` of a day number: the key of its calendar month.
pub fn month_key(day: u32) -> u32 {
    let date = civil_from_days(i64::from(day));
    u32::try_from(date.year).expect("calendar: year after 1970") * 100 + date.month
}

/// The calendar year of a day number.
pub fn year_of(day: u32) -> u32 {
    u32::try_from(civil_from_days(i64::from(day)).year).expect("calendar: year after 1970")
}

/// Whether `day` is a usable date (1970-01-02 ..= 9999-12-31).
pub fn is_valid_day(day: u32) -> bool {
    (1..=DAY_MAX).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u32, day: u32) -> CivilDate {
        CivilDate { year, month, day }
    }

    #[test]
    fn known_dates_map_to_known_day_numbers() {
        for (d, n) in [
            (date(1970, 1, 1), 0),
            (date(2000, 3, 1), 11_017),
            (date(2024, 2, 29), 19_782),
            (date(2026, 11, 22), 20_779),
            (date(9999, 12, 31), i64::from(DAY_MAX)),
        ] {
            assert_eq!(days_from_civil(d), n, "{d:?}");
            assert_eq!(civil_from_days(n), d, "{n}");
        }
    }

    #[test]
    fn every_day_round_trips_and_is_the_successor_of_the_previous() {
        let mut prev = civil_from_days(-1);
        for n in 0..200_000 {
            let d = civil_from_days(n);
            assert_eq!(days_from_civil(d), n);
            assert!(d > prev);
            prev = d;
        }
    }

    #[test]
    fn local_day_follows_the_club_offset() {
        // 2026-11-22 23:30 UTC is already 2026-11-23 in UTC+1.
        let ts = 20_779 * DAY_MS + 23 * 3_600_000 + 30 * 60_000;
        assert_eq!(local_day(ts, 0), 20_779);
        assert_eq!(local_day(ts, 60), 20_780);
        assert_eq!(local_day(ts, -600), 20_779);
        assert_eq!(local_day(0, -60), 0);
    }

    #[test]
    fn month_and_year_keys() {
        assert_eq!(month_key(20_779), 202_611);
        assert_eq!(year_of(20_779), 2026);
        assert_eq!(month_key(0), 197_001);
    }
}
