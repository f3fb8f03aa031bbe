//! The fields of a member's registration or update: lengths, membership
//! number, e-mail, phone, dates, tier. Every problem names the field.

use reciprocity_sdk::dates;

use super::RegisterMemberRequest;
use crate::clock::now_ms;
use crate::words::quote;

pub(super) fn check_len(field: &str, value: &str, min: usize, max: usize) -> Result<(), String> {
    let chars = value.chars().count();
    if chars < min || chars > max {
        return Err(format!("{field} must have {min} to {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{field} must not contain control characters"));
    }
    Ok(())
}

pub(super) fn check_member_number(number: &str) -> Result<(), String> {
    check_len("member_number", number, 1, 32)?;
    if !number.chars().all(|c| c.is_ascii_alphanumeric() || "-_/.".contains(c)) {
        return Err("member_number may hold only A-Z, a-z, 0-9, '-', '_', '/', '.'".to_owned());
    }
    Ok(())
}

pub(super) fn check_email(email: &str) -> Result<(), String> {
    check_len("email", email, 3, 254)?;
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !domain.contains('@')
    }) && !email.contains(char::is_whitespace);
    if valid { Ok(()) } else { Err(format!("email {} is not an e-mail address", quote(email))) }
}

pub(super) fn check_phone(phone: &str) -> Result<(), String> {
    check_len("phone", phone, 3, 32)?;
    if !phone.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)) {
        return Err("phone may hold only digits, spaces and + - ( )".to_owned());
    }
    Ok(())
}

pub(super) fn parse_date(field: &str, text: &str) -> Result<u32, String> {
    dates::parse_day(text).map_err(|_| format!("{field} {} is not a date YYYY-MM-DD", quote(text)))
}

pub(super) fn check_tier(tier: &str) -> Result<(), String> {
    reciprocity_chaincode::decode::tier(tier)
        .map(|_| ())
        .map_err(|_| format!("tier {} must be 1-32 of a-z, 0-9, '-', '_'", quote(tier)))
}

/// Empty strings count as absent.
pub(super) fn present(value: Option<&String>) -> Option<&str> {
    value.map(String::as_str).map(str::trim).filter(|v| !v.is_empty())
}

/// Checks every field; on success the validity day.
pub(super) fn validate(request: &RegisterMemberRequest) -> Result<u32, String> {
    check_member_number(&request.member_number)?;
    check_len("full_name", request.full_name.trim(), 1, 200)?;
    if let Some(email) = present(request.email.as_ref()) {
        check_email(email)?;
    }
    if let Some(phone) = present(request.phone.as_ref()) {
        check_phone(phone)?;
    }
    if let Some(born) = present(request.date_of_birth.as_ref()) {
        let days = dates::parse_civil_days(born)
            .map_err(|_| format!("date_of_birth {} is not a date YYYY-MM-DD", quote(born)))?;
        if days > i64::from(dates::day_of_ms(now_ms())) {
            return Err("date_of_birth is in the future".to_owned());
        }
        if born < "1900-01-01" {
            return Err("date_of_birth is before 1900".to_owned());
        }
    }
    if let Some(notes) = present(request.notes.as_ref())
        && notes.chars().count() > 2_000
    {
        return Err("notes must have at most 2000 characters".to_owned());
    }
    check_tier(&request.tier)?;
    let until = parse_date("valid_until", &request.valid_until)?;
    Ok(until)
}
