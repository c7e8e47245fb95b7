//! The SCIM filters IdPs send: `attr eq "value"` clauses joined by `and`, and
//! `members[value eq "id"]`. Anything else is a 400 `invalidFilter`, never a guess.

use super::{ScimError, ScimErrorType};

/// The longest filter accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 1024;
/// The most clauses one filter may join.
pub const MAX_CLAUSES: usize = 8;

/// Which resource list is filtered (the attributes allowed differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterTarget {
    /// `/Users`.
    Users,
    /// `/Groups`.
    Groups,
}

/// An attribute a filter may compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterAttr {
    /// `id` (both).
    Id,
    /// `externalId` (both).
    ExternalId,
    /// `userName` (Users).
    UserName,
    /// `displayName` (both).
    DisplayName,
    /// `emails.value` or `emails` (Users).
    EmailValue,
    /// `active` (Users).
    Active,
    /// `members.value` or `members[value eq ..]` (Groups).
    MemberValue,
}

impl FilterAttr {
    /// Whether comparisons are case-sensitive (RFC 7643 `caseExact`): ids are, names and
    /// addresses are not.
    pub fn case_exact(self) -> bool {
        matches!(self, Self::Id | Self::ExternalId | Self::MemberValue)
    }

    fn parse(path: &str, target: FilterTarget) -> Option<Self> {
        let lower = path.to_ascii_lowercase();
        let core = lower
            .strip_prefix("urn:ietf:params:scim:schemas:core:2.0:user:")
            .or_else(|| lower.strip_prefix("urn:ietf:params:scim:schemas:core:2.0:group:"))
            .unwrap_or(&lower);
        let attr = match core {
            "id" => Self::Id,
            "externalid" => Self::ExternalId,
            "displayname" => Self::DisplayName,
            "username" if target == FilterTarget::Users => Self::UserName,
            "emails" | "emails.value" if target == FilterTarget::Users => Self::EmailValue,
            "active" if target == FilterTarget::Users => Self::Active,
            "members" | "members.value" if target == FilterTarget::Groups => Self::MemberValue,
            _ => return None,
        };
        Some(attr)
    }
}

/// A literal compared against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterValue {
    /// A JSON string.
    Text(String),
    /// `true` / `false`.
    Bool(bool),
}

/// One `attr eq value` test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterClause {
    /// The attribute.
    pub attr: FilterAttr,
    /// The value it must equal.
    pub value: FilterValue,
}

impl FilterClause {
    /// Whether `candidate` satisfies this clause, honouring [`FilterAttr::case_exact`].
    pub fn matches_text(&self, candidate: &str) -> bool {
        match &self.value {
            FilterValue::Text(v) if self.attr.case_exact() => v == candidate,
            FilterValue::Text(v) => v.to_lowercase() == candidate.to_lowercase(),
            FilterValue::Bool(_) => false,
        }
    }
}

/// A parsed filter: every clause must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The clauses, all joined by `and`.
    pub clauses: Vec<FilterClause>,
}

impl Filter {
    /// Parses a `filter` query parameter for the given list.
    pub fn parse(input: &str, target: FilterTarget) -> Result<Self, ScimError> {
        if input.len() > MAX_FILTER_LEN {
            return Err(invalid("the filter is too long"));
        }
        let tokens = tokenize(input)?;
        let mut clauses = Vec::new();
        let mut rest = tokens.as_slice();
        loop {
            let (clause, after) = parse_clause(rest, target)?;
            clauses.push(clause);
            if clauses.len() > MAX_CLAUSES {
                return Err(invalid("the filter has too many clauses"));
            }
            match after {
                [] => break,
                [Token::Word(w), tail @ ..] if w.eq_ignore_ascii_case("and") => rest = tail,
                [Token::Word(w), ..]
                    if w.eq_ignore_ascii_case("or") || w.eq_ignore_ascii_case("not") =>
                {
                    return Err(invalid("only `and` may join clauses"));
                }
                _ => return Err(invalid("unexpected text after a clause")),
            }
        }
        Ok(Self { clauses })
    }

    /// Parses the `field eq "value"` inside a PATCH path's brackets.
    pub(crate) fn parse_value_filter(inner: &str) -> Option<(String, String)> {
        match tokenize(inner).ok()?.as_slice() {
            [Token::Word(field), Token::Word(op), Token::Text(value)]
                if op.eq_ignore_ascii_case("eq") =>
            {
                Some((field.clone(), value.clone()))
            }
            _ => None,
        }
    }

    /// The value the filter requires for `attr`, when it has one clause on it.
    pub fn value_of(&self, attr: FilterAttr) -> Option<&FilterValue> {
        self.clauses
            .iter()
            .find(|c| c.attr == attr)
            .map(|c| &c.value)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Open,
    Close,
}

fn invalid(detail: &str) -> ScimError {
    ScimError::bad_request(ScimErrorType::InvalidFilter, detail)
}

fn tokenize(input: &str) -> Result<Vec<Token>, ScimError> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '[' => {
                chars.next();
                tokens.push(Token::Open);
            }
            ']' => {
                chars.next();
                tokens.push(Token::Close);
            }
            '"' => {
                // A JSON string: let serde_json read it, escapes and all.
                let mut end = None;
                let mut escaped = false;
                chars.next();
                for (i, ch) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if ch == '\\' {
                        escaped = true;
                    } else if ch == '"' {
                        end = Some(i);
                        break;
                    }
                }
                let end = end.ok_or_else(|| invalid("a string is not closed"))?;
                let text: String = serde_json::from_str(&input[start..=end])
                    .map_err(|_| invalid("a string has a bad escape"))?;
                tokens.push(Token::Text(text));
            }
            c if c.is_ascii_alphanumeric() || "._:$-".contains(c) => {
                let mut end = start;
                while let Some(&(i, ch)) = chars.peek() {
                    if ch.is_ascii_alphanumeric() || "._:$-".contains(ch) {
                        end = i + ch.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token::Word(input[start..end].to_owned()));
            }
            _ => return Err(invalid("unexpected character in the filter")),
        }
    }
    Ok(tokens)
}

fn parse_clause(
    tokens: &[Token],
    target: FilterTarget,
) -> Result<(FilterClause, &[Token]), ScimError> {
    match tokens {
        // members[value eq "id"]
        [
            Token::Word(attr),
            Token::Open,
            Token::Word(sub),
            Token::Word(op),
            value,
            Token::Close,
            rest @ ..,
        ] if attr.eq_ignore_ascii_case("members") && sub.eq_ignore_ascii_case("value") => {
            let attr = FilterAttr::parse("members.value", target)
                .ok_or_else(|| invalid("`members` can only filter groups"))?;
            expect_eq(op)?;
            Ok((
                FilterClause {
                    attr,
                    value: literal(value)?,
                },
                rest,
            ))
        }
        [Token::Word(attr), Token::Word(op), value, rest @ ..] => {
            let attr = FilterAttr::parse(attr, target)
                .ok_or_else(|| invalid(&format!("filtering on `{attr}` is not supported")))?;
            expect_eq(op)?;
            Ok((
                FilterClause {
                    attr,
                    value: literal(value)?,
                },
                rest,
            ))
        }
        _ => Err(invalid("expected `attribute eq \"value\"`")),
    }
}

fn expect_eq(op: &str) -> Result<(), ScimError> {
    if op.eq_ignore_ascii_case("eq") {
        Ok(())
    } else {
        Err(invalid(&format!(
            "the operator `{op}` is not supported; use `eq`"
        )))
    }
}

fn literal(token: &Token) -> Result<FilterValue, ScimError> {
    match token {
        Token::Text(t) => Ok(FilterValue::Text(t.clone())),
        Token::Word(w) if w.eq_ignore_ascii_case("true") => Ok(FilterValue::Bool(true)),
        Token::Word(w) if w.eq_ignore_ascii_case("false") => Ok(FilterValue::Bool(false)),
        _ => Err(invalid("expected a quoted string, true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(attr: FilterAttr, v: &str) -> FilterClause {
        FilterClause {
            attr,
            value: FilterValue::Text(v.to_owned()),
        }
    }

    #[test]
    fn the_filters_entra_okta_and_onelogin_send_parse() {
        let f = Filter::parse(
            r#"userName eq "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081""#,
            FilterTarget::Users,
        )
        .unwrap();
        assert_eq!(
            f.clauses,
            vec![text(
                FilterAttr::UserName,
                "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081"
            )]
        );
        let f = Filter::parse(
            r#"externalId EQ "a\"b" and ACTIVE eq True"#,
            FilterTarget::Users,
        )
        .unwrap();
        assert_eq!(f.clauses[0], text(FilterAttr::ExternalId, "a\"b"));
        assert_eq!(f.clauses[1].value, FilterValue::Bool(true));
        let f = Filter::parse(
            r#"displayName eq "受付" and members[value eq "u-1"]"#,
            FilterTarget::Groups,
        )
        .unwrap();
        assert_eq!(
            f.clauses,
            vec![
                text(FilterAttr::DisplayName, "受付"),
                text(FilterAttr::MemberValue, "u-1")
            ]
        );
        let f = Filter::parse(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:emails.value eq "a@b.jp""#,
            FilterTarget::Users,
        )
        .unwrap();
        assert_eq!(
            f.value_of(FilterAttr::EmailValue),
            Some(&FilterValue::Text("a@b.jp".into()))
        );
    }

    #[test]
    fn unsupported_operators_joins_and_attributes_are_invalid_filters() {
        for bad in [
            r#"userName co "a""#,
            r#"userName eq "a" or userName eq "b""#,
            r#"not (userName eq "a")"#,
            r#"password eq "x""#,
            r#"userName eq "open"#,
            r#"userName eq"#,
            r#"userName eq "a" and"#,
            r#"members[value eq "x"]"#,
            "",
        ] {
            let target = FilterTarget::Users;
            let err = Filter::parse(bad, target).unwrap_err();
            assert_eq!(err.scim_type, Some(ScimErrorType::InvalidFilter), "{bad}");
        }
        let long = format!("userName eq \"{}\"", "a".repeat(MAX_FILTER_LEN));
        assert!(Filter::parse(&long, FilterTarget::Users).is_err());
        let many = [r#"id eq "1""#; MAX_CLAUSES + 1].join(" and ");
        assert!(Filter::parse(&many, FilterTarget::Users).is_err());
    }

    #[test]
    fn user_names_compare_without_case_and_ids_with_it() {
        assert!(text(FilterAttr::UserName, "Taro@Example.JP").matches_text("taro@example.jp"));
        assert!(!text(FilterAttr::ExternalId, "ABC").matches_text("abc"));
    }
}
