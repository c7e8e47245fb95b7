//! Small helpers the admin and account forms share: ids from URLs, validated text
//! into field errors, and telling a uniqueness conflict from other failures.

use genkan_core::access::Role;
use genkan_core::appointment::FieldError;
use genkan_core::text::TextError;
use genkan_store::StoreError;

use crate::web::error::{PageError, PageResult};
use crate::web::form::FormErrors;
use crate::web::i18n::Tr;

/// An id from a URL path; anything that is not a positive number is "not found".
pub fn path_id(raw: &str) -> PageResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(PageError::NotFound)
}

/// Parses `input` with `parse`, recording a translated problem under `field`.
pub fn parse_text<T>(
    t: &Tr,
    errors: &mut FormErrors,
    field: &str,
    input: &str,
    parse: impl FnOnce(&str) -> Result<T, TextError>,
) -> Option<T> {
    match parse(input) {
        Ok(v) => Some(v),
        Err(e) => {
            let fe = FieldError::from_text(field, &e);
            errors.add(t, field, fe.code, &fe.message);
            None
        }
    }
}

/// Whether a store error is a uniqueness conflict (a name or address already used).
pub fn is_taken(e: &StoreError) -> bool {
    matches!(e, StoreError::Conflict { constraint } if constraint.contains("UNIQUE"))
}

/// A role from a form value.
pub fn parse_role(t: &Tr, errors: &mut FormErrors, field: &str, input: &str) -> Option<Role> {
    let role = Role::parse(input.trim());
    if role.is_none() {
        errors.add(t, field, "unknown", "choose one from the list");
    }
    role
}

/// The role's name in the user's language.
pub fn role_label(t: &Tr, role: Role) -> String {
    t.get(match role {
        Role::Admin => "role.admin",
        Role::Receptionist => "role.receptionist",
        Role::Host => "role.host",
    })
    .to_owned()
}

/// One option of a picker.
#[derive(Debug, Clone)]
pub struct Choice {
    /// Submitted value.
    pub value: String,
    /// Shown label.
    pub label: String,
    /// Whether it is the current choice.
    pub selected: bool,
}

/// Every role, for pickers, with `selected` marked.
pub fn role_choices(t: &Tr, selected: &str) -> Vec<Choice> {
    [Role::Admin, Role::Receptionist, Role::Host]
        .into_iter()
        .map(|r| Choice {
            value: r.as_str().to_owned(),
            label: role_label(t, r),
            selected: r.as_str() == selected,
        })
        .collect()
}

/// A user status's name in the user's language (`active`, `invited`, `disabled`).
pub fn status_label(t: &Tr, status: &str) -> String {
    match status {
        "active" => t.get("users.status_active"),
        "invited" => t.get("users.status_invited"),
        "disabled" => t.get("users.status_disabled"),
        _ => t.get("users.status_unknown"),
    }
    .to_owned()
}
