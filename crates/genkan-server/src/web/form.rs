//! Form problems shown next to their fields, in the user's language.

use std::collections::HashMap;

use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use genkan_core::access::Role;
use genkan_core::appointment::FieldError;

use super::error::PageError;
use super::i18n::Tr;

/// Why a form body could not be read: too large (413) or unreadable (400).
pub fn body_error(e: &(dyn std::error::Error + 'static)) -> PageError {
    if e.is::<http_body_util::LengthLimitError>() {
        PageError::TooLarge
    } else {
        PageError::BadRequest
    }
}

/// A form posted by someone not signed in (sign-in, password links), whose
/// problems are error pages: 413 when larger than forms may be, 400 otherwise.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageForm<T>(pub T);

impl<T, S> FromRequest<S> for PageForm<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(Self(v)),
            Err(r) => Err(form_rejection(&r)),
        }
    }
}

fn form_rejection(r: &FormRejection) -> PageError {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        PageError::TooLarge
    } else {
        PageError::BadRequest
    }
}

/// Problems of a submitted form, by field name.
#[derive(Debug, Clone, Default)]
pub struct FormErrors {
    by_field: HashMap<String, String>,
}

impl FormErrors {
    /// No problems.
    pub fn none() -> Self {
        Self::default()
    }

    /// Adds a problem (translated with `form.<code>`, falling back to `message`).
    pub fn add(&mut self, t: &Tr, field: &str, code: &str, message: &str) {
        let key = format!("form.{code}");
        let text = t.get(&key);
        let shown = if text == key {
            message.to_owned()
        } else {
            text.to_owned()
        };
        self.by_field.entry(field.to_owned()).or_insert(shown);
    }

    /// Sets the problem of `field` to an already translated text.
    pub fn set(&mut self, field: &str, text: String) {
        self.by_field.entry(field.to_owned()).or_insert(text);
    }

    /// Adds domain validation errors.
    pub fn extend(&mut self, t: &Tr, errors: &[FieldError]) {
        for e in errors {
            self.add(t, &e.field, e.code, &e.message);
        }
    }

    /// The problem of `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.by_field.get(field).map(String::as_str)
    }

    /// Whether there is any problem.
    pub fn is_empty(&self) -> bool {
        self.by_field.is_empty()
    }

    /// Whether `field` has a problem (for `aria-invalid`).
    pub fn has(&self, field: &str) -> bool {
        self.by_field.contains_key(field)
    }
}

/// Checks a new password against the policy; the problem in the user's language.
pub fn password_problem(t: &Tr, password: &str, role: Role, context: &[&str]) -> Option<String> {
    let problem = genkan_core::password::check(password, role, context).err()?;
    let min = genkan_core::password::min_length(role).to_string();
    Some(t.fill(&format!("form.{}", problem.code()), &[("min", &min)]))
}
