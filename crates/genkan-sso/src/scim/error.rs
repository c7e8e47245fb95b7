//! SCIM error responses (RFC 7644 §3.12): HTTP status, `scimType` and detail.

use serde::Serialize;

use super::ERROR_SCHEMA;

/// The `scimType` values of RFC 7644 §3.12.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ScimErrorType {
    /// The filter is malformed or uses what is not supported.
    InvalidFilter,
    /// The query would return too many results.
    TooMany,
    /// A unique attribute (userName, displayName, externalId) is taken.
    Uniqueness,
    /// An attempt to change an immutable or read-only attribute.
    Mutability,
    /// The body does not parse or lacks required attributes.
    InvalidSyntax,
    /// The PATCH path is malformed.
    InvalidPath,
    /// The PATCH path's filter matched nothing where a match is needed.
    NoTarget,
    /// A value is of the wrong type or not allowed.
    InvalidValue,
    /// The SCIM version is not supported.
    InvalidVers,
    /// The request would put confidential data in the URI.
    Sensitive,
}

/// A SCIM error, ready to be written as the response body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SCIM {status}: {detail}")]
pub struct ScimError {
    /// The HTTP status (400, 401, 403, 404, 409, 412, 413, 500, 501).
    pub status: u16,
    /// The `scimType`, for 400 and 409 answers.
    pub scim_type: Option<ScimErrorType>,
    /// A human-readable detail (no secrets, no personal data beyond what was sent).
    pub detail: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    schemas: [&'a str; 1],
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    scim_type: Option<ScimErrorType>,
    detail: &'a str,
}

impl ScimError {
    /// A 400 with a `scimType`.
    pub fn bad_request(scim_type: ScimErrorType, detail: impl Into<String>) -> Self {
        Self {
            status: 400,
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
    }

    /// 404: no such resource in this tenant.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self {
            status: 404,
            scim_type: None,
            detail: detail.into(),
        }
    }

    /// 409 `uniqueness`.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self {
            status: 409,
            scim_type: Some(ScimErrorType::Uniqueness),
            detail: detail.into(),
        }
    }

    /// 412: `If-Match` named another version.
    pub fn precondition_failed() -> Self {
        Self {
            status: 412,
            scim_type: None,
            detail: "the resource has changed since the given ETag".into(),
        }
    }

    /// 401: missing or wrong bearer token (the same answer for both).
    pub fn unauthorized() -> Self {
        Self {
            status: 401,
            scim_type: None,
            detail: "a valid bearer token is required".into(),
        }
    }

    /// The RFC 7644 JSON body: `schemas`, `status` (a string), `scimType`, `detail`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(Body {
            schemas: [ERROR_SCHEMA],
            status: self.status.to_string(),
            scim_type: self.scim_type,
            detail: &self.detail,
        })
        .unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_the_rfc_7644_shape_with_a_string_status() {
        let body = ScimError::bad_request(ScimErrorType::InvalidFilter, "nope").to_json();
        assert_eq!(
            body,
            serde_json::json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "400",
                "scimType": "invalidFilter",
                "detail": "nope"
            })
        );
        assert!(
            ScimError::not_found("x")
                .to_json()
                .get("scimType")
                .is_none()
        );
    }
}
