//! Reading a user import file (pure: bytes in, users or problems out): the encoding
//! (UTF-8 with or without BOM, else Shift_JIS), the header row, and every data row
//! checked on its own.

use std::collections::HashMap;

use crate::access::Role;
use crate::appointment::FieldError;
use crate::text::{DisplayName, EmailAddress};

/// One valid row of an import file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportUser {
    /// The row's number in the file (for error reports).
    pub row: usize,
    /// Sign-in and invitation address.
    pub email: EmailAddress,
    /// Name.
    pub name: DisplayName,
    /// Role.
    pub role: Role,
    /// Group names (created when missing).
    pub groups: Vec<String>,
}

/// Largest accepted file.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// Most data rows in one file.
pub const MAX_ROWS: usize = 5_000;

/// Columns every file must have.
pub const REQUIRED: [&str; 3] = ["email", "display_name", "role"];
/// Columns a file may have.
pub const OPTIONAL: [&str; 1] = ["groups"];
/// Columns refused on purpose: the tenant, ids, passwords and status are never set from a file.
const FORBIDDEN: [&str; 10] = [
    "id",
    "tenant",
    "tenant_id",
    "user_id",
    "password",
    "password_hash",
    "status",
    "created_at",
    "last_sign_in_at",
    "last_sign_in_ip",
];

/// How the file was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 without BOM.
    Utf8,
    /// UTF-8 with BOM (Excel's "CSV UTF-8").
    Utf8Bom,
    /// Shift_JIS (Excel's default "CSV" in Japanese Windows).
    ShiftJis,
}

/// Why a whole file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProblem {
    /// Neither UTF-8 nor Shift_JIS.
    Encoding,
    /// No header row.
    Empty,
    /// A header but no data rows.
    NoRows,
    /// More than [`MAX_ROWS`] data rows.
    TooManyRows,
    /// The CSV structure is broken (an unclosed quote…) at this line.
    Unreadable(u64),
    /// The header names columns that are refused, unknown, missing or repeated.
    Columns {
        /// Refused on purpose.
        forbidden: Vec<String>,
        /// Not known.
        unknown: Vec<String>,
        /// Required but absent.
        missing: Vec<String>,
        /// Named twice.
        duplicate: Vec<String>,
    },
}

/// A problem of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// Line of the row in the file (the header is line 1).
    pub row: usize,
    /// Column name.
    pub field: &'static str,
    /// `required`, `invalid_email`, `too_long`, `control_character`, `unknown_role`,
    /// `duplicate_in_file`, `too_many_fields` or `taken`.
    pub code: &'static str,
    /// For `duplicate_in_file`: the row that has the address first.
    pub other_row: usize,
}

/// A file read and checked.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// How it was encoded.
    pub encoding: Encoding,
    /// The rows that are fine.
    pub users: Vec<ImportUser>,
    /// The problems of the others.
    pub problems: Vec<RowProblem>,
}

/// Decodes the file's bytes: valid UTF-8 is UTF-8 (a BOM is dropped), else Shift_JIS.
pub fn decode(bytes: &[u8]) -> Result<(String, Encoding), FileProblem> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(match text.strip_prefix('\u{feff}') {
            Some(rest) => (rest.to_owned(), Encoding::Utf8Bom),
            None => (text.to_owned(), Encoding::Utf8),
        });
    }
    let (text, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(FileProblem::Encoding);
    }
    Ok((text.into_owned(), Encoding::ShiftJis))
}

/// A role from a cell: the role code, or its name in Japanese or English.
fn role_cell(cell: &str) -> Option<Role> {
    let c = cell.trim().to_lowercase();
    Role::parse(&c).or(match c.as_str() {
        "administrator" | "管理者" => Some(Role::Admin),
        "受付" | "受付担当" => Some(Role::Receptionist),
        "担当者" | "ホスト" => Some(Role::Host),
        _ => None,
    })
}

fn check_header(names: &[String]) -> Result<HashMap<&'static str, usize>, FileProblem> {
    let mut columns = HashMap::new();
    let (mut forbidden, mut unknown, mut duplicate) = (Vec::new(), Vec::new(), Vec::new());
    for (i, name) in names.iter().enumerate() {
        let known = REQUIRED.iter().chain(OPTIONAL.iter()).find(|c| **c == name);
        match known {
            Some(c) if columns.insert(*c, i).is_some() => duplicate.push(name.clone()),
            Some(_) => {}
            None if FORBIDDEN.contains(&name.as_str()) => forbidden.push(name.clone()),
            None => unknown.push(name.clone()),
        }
    }
    let missing: Vec<String> = REQUIRED
        .iter()
        .filter(|c| !columns.contains_key(*c))
        .map(|c| (*c).to_owned())
        .collect();
    if forbidden.is_empty() && unknown.is_empty() && missing.is_empty() && duplicate.is_empty() {
        Ok(columns)
    } else {
        Err(FileProblem::Columns {
            forbidden,
            unknown,
            missing,
            duplicate,
        })
    }
}

fn text_problem(row: usize, field: &'static str, e: &crate::text::TextError) -> RowProblem {
    RowProblem {
        row,
        field,
        code: FieldError::from_text(field, e).code,
        other_row: 0,
    }
}

/// Reads and checks a whole file. Row problems do not stop reading, so one pass
/// reports everything; file problems (encoding, header, size) do.
pub fn parse(bytes: &[u8]) -> Result<Parsed, FileProblem> {
    let (text, encoding) = decode(bytes)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| FileProblem::Unreadable(e.position().map_or(1, csv::Position::line)))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(FileProblem::Empty);
    }
    let columns = check_header(&header)?;
    let cell = |record: &csv::StringRecord, name: &str| -> String {
        columns
            .get(name)
            .and_then(|i| record.get(*i))
            .unwrap_or_default()
            .to_owned()
    };
    let mut users = Vec::new();
    let mut problems = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut count = 0;
    for record in reader.records() {
        let record = record
            .map_err(|e| FileProblem::Unreadable(e.position().map_or(0, csv::Position::line)))?;
        // Spreadsheets leave rows of empty cells behind; they are not users.
        if record.iter().all(str::is_empty) {
            continue;
        }
        count += 1;
        if count > MAX_ROWS {
            return Err(FileProblem::TooManyRows);
        }
        let row = record.position().map_or(count + 1, |p| {
            usize::try_from(p.line()).unwrap_or(usize::MAX)
        });
        let before = problems.len();
        if record.len() > header.len() {
            problems.push(RowProblem {
                row,
                field: "row",
                code: "too_many_fields",
                other_row: 0,
            });
        }
        let email = EmailAddress::parse(&cell(&record, "email"))
            .map_err(|e| problems.push(text_problem(row, "email", &e)))
            .ok();
        let name = DisplayName::parse(&cell(&record, "display_name"))
            .map_err(|e| problems.push(text_problem(row, "display_name", &e)))
            .ok();
        let role_text = cell(&record, "role");
        let role = role_cell(&role_text);
        if role.is_none() {
            let code = if role_text.is_empty() {
                "required"
            } else {
                "unknown_role"
            };
            problems.push(RowProblem {
                row,
                field: "role",
                code,
                other_row: 0,
            });
        }
        let mut groups: Vec<String> = Vec::new();
        for g in cell(&record, "groups")
            .split(';')
            .map(str::trim)
            .filter(|g| !g.is_empty())
        {
            match DisplayName::parse(g) {
                Ok(g) if !groups.iter().any(|x| x == g.as_str()) => {
                    groups.push(g.as_str().to_owned())
                }
                Ok(_) => {}
                Err(e) => problems.push(text_problem(row, "groups", &e)),
            }
        }
        if let Some(email) = &email {
            if let Some(first) = seen.get(email.as_str()) {
                problems.push(RowProblem {
                    row,
                    field: "email",
                    code: "duplicate_in_file",
                    other_row: *first,
                });
            } else {
                seen.insert(email.as_str().to_owned(), row);
            }
        }
        if let (Some(email), Some(name), Some(role), true) =
            (email, name, role, problems.len() == before)
        {
            users.push(ImportUser {
                row,
                email,
                name,
                role,
                groups,
            });
        }
    }
    if count == 0 {
        return Err(FileProblem::NoRows);
    }
    Ok(Parsed {
        encoding,
        users,
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_bom_and_shift_jis_decode_to_the_same_text() {
        let text = "email,display_name,role\nsato@example.com,佐藤 花子,host\n";
        let (plain, e1) = decode(text.as_bytes()).unwrap();
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(text.as_bytes());
        let (with_bom, e2) = decode(&bom).unwrap();
        let (sjis_bytes, _, _) = encoding_rs::SHIFT_JIS.encode(text);
        let (sjis, e3) = decode(&sjis_bytes).unwrap();
        assert_eq!(
            (e1, e2, e3),
            (Encoding::Utf8, Encoding::Utf8Bom, Encoding::ShiftJis)
        );
        assert_eq!(plain, text);
        assert_eq!(with_bom, text);
        assert_eq!(sjis, text);
    }

    #[test]
    fn bytes_that_are_neither_utf8_nor_shift_jis_are_refused() {
        assert_eq!(
            decode(&[0x82, 0xFF, 0xFF, 0x80]),
            Err(FileProblem::Encoding)
        );
    }

    #[test]
    fn forbidden_unknown_and_missing_columns_are_named() {
        let err = parse(b"email,tenant_id,password,shoe_size\n").unwrap_err();
        assert_eq!(
            err,
            FileProblem::Columns {
                forbidden: vec!["tenant_id".into(), "password".into()],
                unknown: vec!["shoe_size".into()],
                missing: vec!["display_name".into(), "role".into()],
                duplicate: vec![],
            }
        );
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line_and_field() {
        let csv = "Email,Display_Name,Role,Groups\n\
                   a@example.com,Alice,host,Sales; Tokyo\n\
                   not-an-address,Bob,host,\n\
                   a@example.com,Alice again,管理者,\n\
                   c@example.com,,chef,\n\
                   ,,,\n\
                   d@example.com,Dan,receptionist,x,extra\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        assert_eq!(parsed.users.len(), 1);
        assert_eq!(parsed.users[0].groups, vec!["Sales", "Tokyo"]);
        let got: Vec<(usize, &str, &str)> = parsed
            .problems
            .iter()
            .map(|p| (p.row, p.field, p.code))
            .collect();
        assert_eq!(
            got,
            vec![
                (3, "email", "invalid_email"),
                (4, "email", "duplicate_in_file"),
                (5, "display_name", "required"),
                (5, "role", "unknown_role"),
                (7, "row", "too_many_fields"),
            ]
        );
        assert_eq!(parsed.problems[1].other_row, 2);
    }

    #[test]
    fn too_many_rows_and_empty_files_are_refused() {
        let mut csv = String::from("email,display_name,role\n");
        for i in 0..=MAX_ROWS {
            csv.push_str(&format!("u{i}@example.com,User {i},host\n"));
        }
        assert_eq!(parse(csv.as_bytes()).unwrap_err(), FileProblem::TooManyRows);
        assert_eq!(parse(b"").unwrap_err(), FileProblem::Empty);
        assert_eq!(
            parse(b"email,display_name,role\n").unwrap_err(),
            FileProblem::NoRows
        );
    }
}
