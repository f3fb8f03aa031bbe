//! A member import's CSV: the media type it must declare, its columns, and
//! its rows checked one by one (every row in error is reported by line; the
//! file is imported whole or not at all).

use std::collections::BTreeSet;

use super::RegisterMemberRequest;
use super::fields::validate;
use crate::api::rest::error::{ApiError, ApiResult, quote};
use crate::service::import::RowError;

const IMPORT_COLUMNS: [&str; 8] = [
    "member_number",
    "full_name",
    "tier",
    "valid_until",
    "email",
    "phone",
    "date_of_birth",
    "notes",
];
const IMPORT_COLUMNS_REQUIRED: [&str; 4] = ["member_number", "full_name", "tier", "valid_until"];

/// One checked row of an import: its line, fields and validity day.
type CsvRow = (u64, RegisterMemberRequest, u32);

/// Why a CSV file is refused as a whole.
#[derive(Debug)]
pub(super) enum CsvRefusal {
    /// Rows in error (422 with each).
    Rows(Vec<RowError>),
    /// The file itself is wrong (400).
    File(ApiError),
}

/// Parses and checks a CSV file: the rows, or why it is refused.
pub(super) fn parse_csv(text: &str, rows_max: usize) -> Result<Vec<CsvRow>, CsvRefusal> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| {
            CsvRefusal::File(ApiError::bad_request(format!("the CSV header cannot be read: {e}")))
        })?
        .clone();
    for header in &headers {
        if !IMPORT_COLUMNS.contains(&header) {
            return Err(CsvRefusal::File(ApiError::bad_request(format!(
                "unknown CSV column {}; the columns are {}",
                quote(header),
                IMPORT_COLUMNS.join(", ")
            ))));
        }
    }
    for required in IMPORT_COLUMNS_REQUIRED {
        if !headers.iter().any(|h| h == required) {
            return Err(CsvRefusal::File(ApiError::bad_request(format!(
                "the CSV has no {required:?} column"
            ))));
        }
    }
    let column = |name: &str| headers.iter().position(|h| h == name);
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut numbers = BTreeSet::new();
    for (index, record) in reader.records().enumerate() {
        if index >= rows_max {
            return Err(CsvRefusal::File(ApiError::bad_request(format!(
                "the file has more than api.import_rows_max = {rows_max} rows; split it"
            ))));
        }
        let line = record
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map_or(index as u64 + 2, csv::Position::line);
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                errors.push(RowError {
                    line,
                    member_number: None,
                    message: format!("not a CSV row: {error}"),
                });
                continue;
            }
        };
        let get = |name: &str| column(name).and_then(|i| record.get(i)).map(str::to_owned);
        let request = RegisterMemberRequest {
            member_number: get("member_number").unwrap_or_default(),
            full_name: get("full_name").unwrap_or_default(),
            email: get("email"),
            phone: get("phone"),
            date_of_birth: get("date_of_birth"),
            notes: get("notes"),
            tier: get("tier").unwrap_or_default(),
            valid_until: get("valid_until").unwrap_or_default(),
        };
        let number = Some(request.member_number.clone()).filter(|n| !n.is_empty());
        match validate(&request) {
            Err(message) => errors.push(RowError { line, member_number: number, message }),
            Ok(_) if !numbers.insert(request.member_number.clone()) => errors.push(RowError {
                line,
                member_number: number,
                message: format!(
                    "member_number {:?} appears twice in the file",
                    request.member_number
                ),
            }),
            Ok(until) => rows.push((line, request, until)),
        }
    }
    if !errors.is_empty() {
        return Err(CsvRefusal::Rows(errors));
    }
    if rows.is_empty() {
        return Err(CsvRefusal::File(ApiError::bad_request("the CSV has no rows")));
    }
    Ok(rows)
}

/// 415 unless the body is declared `text/csv` (UTF-8, the default charset).
pub(super) fn csv_content_type(headers: &axum::http::HeaderMap) -> ApiResult<()> {
    let declared = headers
        .get(axum::http::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("(not text)"))
        .unwrap_or("");
    let mut parts = declared.split(';').map(str::trim);
    let essence = parts.next().unwrap_or("");
    if !essence.eq_ignore_ascii_case("text/csv") {
        let shown = if declared.is_empty() { "none".to_owned() } else { quote(declared) };
        return Err(ApiError::unsupported_media_type(format!(
            "a member import takes `Content-Type: text/csv` (UTF-8); this request declares {shown}"
        )));
    }
    for parameter in parts {
        if let Some((name, value)) = parameter.split_once('=')
            && name.trim().eq_ignore_ascii_case("charset")
            && !value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        {
            return Err(ApiError::unsupported_media_type(format!(
                "a member import must be UTF-8; this request declares charset {}",
                quote(value.trim())
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use reciprocity_sdk::dates;

    use super::*;

    #[test]
    fn csv_rows_with_errors_are_all_reported_by_line() {
        let csv = "member_number,full_name,tier,valid_until,email\n\
                   A1,Ada Lovelace,full,2030-01-01,ada@example.org\n\
                   A2,,full,2030-01-01,\n\
                   A1,Bob,full,2030-01-01,\n\
                   A4,Cy,Gold!,2030-13-01,not-an-email\n";
        let CsvRefusal::Rows(errors) = parse_csv(csv, 100).unwrap_err() else { panic!("rows") };
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5]);
        assert!(errors[0].message.contains("full_name"));
        assert!(errors[1].message.contains("twice"));
    }

    #[test]
    fn csv_with_an_unknown_column_is_refused_as_a_whole() {
        let refusal = parse_csv("member_number,full_name,tier,valid_until,ssn\n", 10).unwrap_err();
        let CsvRefusal::File(error) = refusal else { panic!("refused as a file: {refusal:?}") };
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert!(error.message.contains("ssn"));
    }

    #[test]
    fn a_valid_csv_parses_with_quoted_commas() {
        let csv = "full_name,member_number,tier,valid_until,notes\n\"Lovelace, Ada\",A1,full,2030-01-01,\"likes tea, not coffee\"\n";
        let rows = parse_csv(csv, 10).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].1.full_name, "Lovelace, Ada");
        assert_eq!(rows[0].2, dates::parse_day("2030-01-01").unwrap());
    }
}
