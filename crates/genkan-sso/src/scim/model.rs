//! SCIM User and Group resources, list responses, and lenient scalar parsing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::{GROUP_SCHEMA, LIST_RESPONSE_SCHEMA, USER_SCHEMA};

/// `meta` (RFC 7643 §3.1): set by the server, ignored when clients send it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// `User` or `Group`.
    pub resource_type: String,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Last change.
    pub last_modified: DateTime<Utc>,
    /// The resource's URL.
    pub location: String,
    /// The weak ETag (see [`super::etag`]).
    pub version: String,
}

/// The `name` complex attribute.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Name {
    /// The full name as displayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Middle name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
}

/// One value of a multi-valued attribute (`emails`, `phoneNumbers`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiValued {
    /// The value (an address, a number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `work`, `home`, `other`…
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Whether this is the primary value (Entra sends `"True"`).
    #[serde(
        default,
        deserialize_with = "lenient_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub primary: Option<bool>,
    /// A display form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// A group membership (`members` of a Group, `groups` of a User).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMember {
    /// The member's (or group's) SCIM id.
    pub value: String,
    /// Its URL.
    #[serde(rename = "$ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Its display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// A SCIM User. Attributes Genkan does not model (the enterprise extension, others'
/// extensions, unknown core attributes) are kept in `extra` and given back as sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimUser {
    /// Schema URNs; [`ScimUser::normalise`] fills them.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// The server-assigned id (ignored on create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The IdP's own id for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The unique sign-in name (usually the UPN or address); required.
    #[serde(default)]
    pub user_name: String,
    /// Structured name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Preferred language (`ja-JP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_language: Option<String>,
    /// Locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Time zone (`Asia/Tokyo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Whether the user may sign in; absent on create means true.
    #[serde(
        default,
        deserialize_with = "lenient_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub active: Option<bool>,
    /// E-mail addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<MultiValued>,
    /// Phone numbers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<MultiValued>,
    /// Groups (read-only; computed by the server).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupMember>,
    /// Server metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Everything else, by attribute name or extension URN.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ScimUser {
    /// Checks what a create or replace must carry, and drops what clients may not set
    /// (`id`, `meta`, `groups`; `password` is never stored).
    pub fn normalise(&mut self) -> Result<(), super::ScimError> {
        self.user_name = self.user_name.trim().to_owned();
        if self.user_name.is_empty() {
            return Err(super::ScimError::bad_request(
                super::ScimErrorType::InvalidValue,
                "userName is required",
            ));
        }
        self.id = None;
        self.meta = None;
        self.groups.clear();
        self.extra.remove("password");
        self.extra.remove("schemas");
        let mut schemas = vec![USER_SCHEMA.to_owned()];
        schemas.extend(self.extra.keys().filter(|k| k.starts_with("urn:")).cloned());
        self.schemas = schemas;
        Ok(())
    }

    /// Whether the user is active (absent counts as active, as on create).
    pub fn is_active(&self) -> bool {
        self.active.unwrap_or(true)
    }

    /// The address to use: the primary e-mail, else the `work` one, else the first, else
    /// `userName` when it looks like an address.
    pub fn preferred_email(&self) -> Option<&str> {
        let by = |f: &dyn Fn(&MultiValued) -> bool| {
            self.emails
                .iter()
                .find(|e| f(e))
                .and_then(|e| e.value.as_deref())
        };
        by(&|e| e.primary == Some(true))
            .or_else(|| {
                by(&|e| {
                    e.kind
                        .as_deref()
                        .is_some_and(|k| k.eq_ignore_ascii_case("work"))
                })
            })
            .or_else(|| by(&|_| true))
            .or_else(|| {
                self.user_name
                    .contains('@')
                    .then_some(self.user_name.as_str())
            })
    }

    /// A name to show: `displayName`, else `name.formatted`, else given + family, else
    /// `userName`.
    pub fn best_display_name(&self) -> String {
        if let Some(d) = self
            .display_name
            .as_deref()
            .filter(|d| !d.trim().is_empty())
        {
            return d.trim().to_owned();
        }
        if let Some(name) = &self.name {
            if let Some(f) = name.formatted.as_deref().filter(|f| !f.trim().is_empty()) {
                return f.trim().to_owned();
            }
            let parts: Vec<&str> = [name.given_name.as_deref(), name.family_name.as_deref()]
                .into_iter()
                .flatten()
                .filter(|p| !p.trim().is_empty())
                .collect();
            if !parts.is_empty() {
                return parts.join(" ");
            }
        }
        self.user_name.clone()
    }
}

/// A SCIM Group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimGroup {
    /// Schema URNs.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// The server-assigned id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The IdP's own id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The group's name; required, unique per tenant.
    #[serde(default)]
    pub display_name: String,
    /// Members (users; Genkan does not nest groups).
    #[serde(default)]
    pub members: Vec<GroupMember>,
    /// Server metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ScimGroup {
    /// Checks a create or replace body and drops what clients may not set.
    pub fn normalise(&mut self) -> Result<(), super::ScimError> {
        self.display_name = self.display_name.trim().to_owned();
        if self.display_name.is_empty() {
            return Err(super::ScimError::bad_request(
                super::ScimErrorType::InvalidValue,
                "displayName is required",
            ));
        }
        self.id = None;
        self.meta = None;
        self.extra.remove("schemas");
        self.schemas = vec![GROUP_SCHEMA.to_owned()];
        let mut seen = std::collections::HashSet::new();
        self.members.retain(|m| seen.insert(m.value.clone()));
        Ok(())
    }
}

/// A page of resources (RFC 7644 §3.4.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T> {
    /// Always the list-response URN.
    pub schemas: Vec<String>,
    /// How many match the filter in all.
    pub total_results: u64,
    /// 1-based index of the first resource here.
    pub start_index: u64,
    /// How many are in this page.
    pub items_per_page: u64,
    /// The page.
    #[serde(rename = "Resources")]
    pub resources: Vec<T>,
}

impl<T> ListResponse<T> {
    /// A page starting at `start_index` out of `total_results`.
    pub fn new(resources: Vec<T>, total_results: u64, start_index: u64) -> Self {
        Self {
            schemas: vec![LIST_RESPONSE_SCHEMA.to_owned()],
            total_results,
            start_index,
            items_per_page: resources.len() as u64,
            resources,
        }
    }
}

/// Reads a boolean that may come as `true`, `"true"`, `"True"` or `"False"` (Entra).
pub fn lenient_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn lenient_opt_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => lenient_bool(&v)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("expected a boolean")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_entra_user_with_string_booleans_and_the_enterprise_extension_round_trips() {
        let body = json!({
            "schemas": [USER_SCHEMA, super::super::ENTERPRISE_USER_SCHEMA],
            "externalId": "0a1b",
            "userName": " taro@example.jp ",
            "active": "False",
            "emails": [{"primary": "True", "type": "work", "value": "taro@example.jp"}],
            "name": {"formatted": "山田 太郎", "familyName": "山田", "givenName": "太郎"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "総務"},
            "password": "never-kept",
            "id": "client-chosen"
        });
        let mut user: ScimUser = serde_json::from_value(body).unwrap();
        user.normalise().unwrap();
        assert_eq!(user.user_name, "taro@example.jp");
        assert_eq!(user.active, Some(false));
        assert!(!user.is_active());
        assert_eq!(user.emails[0].primary, Some(true));
        assert_eq!(user.preferred_email(), Some("taro@example.jp"));
        assert_eq!(user.best_display_name(), "山田 太郎");
        assert_eq!(user.id, None);
        assert!(!user.extra.contains_key("password"));
        let out = serde_json::to_value(&user).unwrap();
        assert_eq!(
            out["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
            "総務"
        );
        assert_eq!(
            out["schemas"],
            json!([USER_SCHEMA, super::super::ENTERPRISE_USER_SCHEMA])
        );
    }

    #[test]
    fn a_user_without_user_name_or_with_a_non_boolean_active_is_refused() {
        let mut user: ScimUser = serde_json::from_value(json!({"userName": "  "})).unwrap();
        assert_eq!(user.normalise().unwrap_err().status, 400);
        assert!(
            serde_json::from_value::<ScimUser>(json!({"userName": "a", "active": "yes"})).is_err()
        );
    }

    #[test]
    fn groups_need_a_name_and_lose_duplicate_members() {
        let mut group: ScimGroup = serde_json::from_value(json!({
            "displayName": "Reception", "members": [{"value": "u1"}, {"value": "u1"}, {"value": "u2"}]
        }))
        .unwrap();
        group.normalise().unwrap();
        assert_eq!(group.members.len(), 2);
        let mut nameless = ScimGroup::default();
        assert!(nameless.normalise().is_err());
    }

    #[test]
    fn list_responses_use_the_rfc_field_names() {
        let list = ListResponse::new(vec![json!({"id": "1"})], 10, 3);
        let out = serde_json::to_value(&list).unwrap();
        assert_eq!(out["totalResults"], 10);
        assert_eq!(out["startIndex"], 3);
        assert_eq!(out["itemsPerPage"], 1);
        assert_eq!(out["Resources"][0]["id"], "1");
        assert_eq!(out["schemas"][0], LIST_RESPONSE_SCHEMA);
    }
}
