//! Calendar dates to and from the wire's day numbers (days since 1970-01-01).

use reciprocity_chaincode::calendar::{self, CivilDate};

use crate::{Result, SdkError};

/// The day number of `year-month-day`, checked to be a real date in 1970-01-02..=9999-12-31.
pub fn day(year: i32, month: u32, day_of_month: u32) -> Result<u32> {
    let date = CivilDate { year, month, day: day_of_month };
    let days = calendar::days_from_civil(date);
    let round_trips = calendar::civil_from_days(days) == date;
    u32::try_from(days).ok().filter(|d| round_trips && calendar::is_valid_day(*d)).ok_or_else(
        || SdkError::Invalid {
            what: "date",
            reason: format!(
                "{year:04}-{month:02}-{day_of_month:02} is not a date in 1970-01-02..=9999-12-31"
            ),
        },
    )
}

/// Parses exactly `YYYY-MM-DD` (four, two and two digits) as a real
/// calendar date; the one parser of dates in text.
fn parse_civil(text: &str) -> Result<CivilDate> {
    let invalid =
        || SdkError::Invalid { what: "date", reason: format!("{text:?} is not a date YYYY-MM-DD") };
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes.iter().enumerate().all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shaped {
        return Err(invalid());
    }
    let year: i32 = text[0..4].parse().map_err(|_| invalid())?;
    let month: u32 = text[5..7].parse().map_err(|_| invalid())?;
    let day: u32 = text[8..10].parse().map_err(|_| invalid())?;
    let date = CivilDate { year, month, day };
    if year < 1 || calendar::civil_from_days(calendar::days_from_civil(date)) != date {
        return Err(invalid());
    }
    Ok(date)
}

/// Parses `YYYY-MM-DD` as a day number in 1970-01-02..=9999-12-31.
pub fn parse_day(text: &str) -> Result<u32> {
    let date = parse_civil(text)?;
    day(date.year, date.month, date.day)
}

/// Parses `YYYY-MM-DD` as any real calendar date from year 1 to 9999 (for
/// dates that never reach the wire, such as a date of birth); returns the
/// days since 1970-01-01 (negative before it).
pub fn parse_civil_days(text: &str) -> Result<i64> {
    parse_civil(text).map(calendar::days_from_civil)
}

/// Formats a day number as `YYYY-MM-DD`.
pub fn format_day(day_number: u32) -> String {
    let d = calendar::civil_from_days(i64::from(day_number));
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

/// The UTC day of a Unix-millisecond instant.
pub fn day_of_ms(timestamp_ms: u64) -> u32 {
    calendar::local_day(timestamp_ms, 0)
}

/// Unix milliseconds at 00:00 UTC of a day number.
pub fn ms_of_day(day_number: u32) -> u64 {
    u64::from(day_number) * calendar::DAY_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_before_1970_parse_and_impossible_ones_do_not() {
        assert_eq!(parse_civil_days("1970-01-01").unwrap(), 0);
        assert_eq!(parse_civil_days("1969-12-31").unwrap(), -1);
        assert!(parse_civil_days("1950-02-28").is_ok());
        assert!(parse_civil_days("1950-02-29").is_err());
        assert!(parse_civil_days("2000-02-29").is_ok());
        assert!(parse_civil_days("1950-2-28").is_err());
        assert!(parse_civil_days("0000-01-01").is_err());
    }

    #[test]
    fn dates_round_trip_and_bad_dates_are_named() {
        let d = parse_day("2026-11-22").unwrap();
        assert_eq!(d, 20_779);
        assert_eq!(format_day(d), "2026-11-22");
        assert_eq!(day_of_ms(ms_of_day(d) + 1), d);
        let err = parse_day("2026-02-30").unwrap_err().to_string();
        assert!(err.contains("2026-02-30"), "{err}");
        assert!(parse_day("yesterday").is_err());
    }

    #[test]
    fn day_numbers_and_civil_dates_take_the_same_strict_form() {
        for loose in
            ["2026-1-1", "2026-01-1", "26-01-01", " 2026-01-01", "2026-01-01 ", "+2026-01-01"]
        {
            assert!(parse_day(loose).is_err(), "{loose}");
            assert!(parse_civil_days(loose).is_err(), "{loose}");
        }
        assert_eq!(parse_day("2026-01-01").unwrap(), 20_454);
        assert_eq!(parse_civil_days("2026-01-01").unwrap(), 20_454);
    }
}
