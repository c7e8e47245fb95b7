//! Tests of PATCH against the bodies Entra, Okta and the RFC examples send.

use serde_json::json;

use super::*;

fn request(body: Value) -> PatchRequest {
    serde_json::from_value(body).unwrap()
}

fn user() -> ScimUser {
    serde_json::from_value(json!({
        "id": "u1",
        "userName": "taro@example.jp",
        "active": true,
        "emails": [{"type": "work", "value": "taro@example.jp", "primary": true}],
        "name": {"givenName": "Taro", "familyName": "Yamada"}
    }))
    .unwrap()
}

#[test]
fn entra_deactivation_with_pascal_case_op_and_a_string_boolean_deactivates() {
    let req = request(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
    }));
    let patched = apply_user_patch(&user(), &req).unwrap();
    assert_eq!(patched.active, Some(false));
    let req = request(json!({"Operations": [{"op": "replace", "value": {"active": "True"}}]}));
    assert_eq!(apply_user_patch(&patched, &req).unwrap().active, Some(true));
}

#[test]
fn filtered_paths_change_the_matching_value_or_add_one() {
    let req = request(json!({"Operations": [
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@example.jp"},
        {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "090-0000-0000"},
        {"op": "Replace", "value": {"name.givenName": "Jiro", "displayName": "山田 次郎"}},
        {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "総務"}
    ]}));
    let patched = apply_user_patch(&user(), &req).unwrap();
    assert_eq!(patched.emails.len(), 1);
    assert_eq!(patched.emails[0].value.as_deref(), Some("new@example.jp"));
    assert_eq!(patched.emails[0].primary, Some(true));
    assert_eq!(patched.phone_numbers[0].kind.as_deref(), Some("mobile"));
    assert_eq!(
        patched.phone_numbers[0].value.as_deref(),
        Some("090-0000-0000")
    );
    assert_eq!(
        patched.name.as_ref().unwrap().given_name.as_deref(),
        Some("Jiro")
    );
    assert_eq!(
        patched.name.as_ref().unwrap().family_name.as_deref(),
        Some("Yamada")
    );
    assert_eq!(patched.display_name.as_deref(), Some("山田 次郎"));
    assert_eq!(
        patched.extra["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "総務"
    );
    assert_eq!(patched.id.as_deref(), Some("u1"));
    let req =
        request(json!({"Operations": [{"op": "remove", "path": "emails[type eq \"work\"]"}]}));
    assert!(apply_user_patch(&patched, &req).unwrap().emails.is_empty());
}

#[test]
fn ids_metadata_user_name_and_bad_paths_are_refused_and_nothing_is_half_applied() {
    let base = user();
    for (body, kind) in [
        (
            json!({"Operations": [{"op": "replace", "path": "id", "value": "x"}]}),
            ScimErrorType::Mutability,
        ),
        (
            json!({"Operations": [{"op": "remove", "path": "userName"}]}),
            ScimErrorType::InvalidValue,
        ),
        (
            json!({"Operations": [{"op": "replace", "path": "emails[type co \"w\"].value", "value": "x"}]}),
            ScimErrorType::InvalidPath,
        ),
        (
            json!({"Operations": [{"op": "replace", "path": "name..x", "value": "x"}]}),
            ScimErrorType::InvalidPath,
        ),
        (
            json!({"Operations": [{"op": "remove"}]}),
            ScimErrorType::NoTarget,
        ),
        (
            json!({"Operations": [{"op": "replace", "path": "active", "value": "maybe"}]}),
            ScimErrorType::InvalidValue,
        ),
        (json!({"Operations": []}), ScimErrorType::InvalidValue),
    ] {
        let err = apply_user_patch(&base, &request(body.clone())).unwrap_err();
        assert_eq!(err.scim_type, Some(kind), "{body}");
    }
    assert!(
        serde_json::from_value::<PatchRequest>(
            json!({"Operations": [{"op": "merge", "path": "a"}]})
        )
        .is_err()
    );
}

#[test]
fn group_patches_become_membership_changes() {
    let req = request(json!({"Operations": [
        {"op": "Add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]},
        {"op": "Remove", "path": "members[value eq \"u3\"]"},
        {"op": "remove", "path": "members", "value": [{"value": "u4"}]},
        {"op": "Replace", "path": "displayName", "value": "受付"},
        {"op": "replace", "value": {"externalId": "g-9", "members": [{"value": "u5"}]}},
        {"op": "remove", "path": "members"}
    ]}));
    assert_eq!(
        group_changes(&req).unwrap(),
        vec![
            GroupChange::AddMembers(vec!["u1".into(), "u2".into()]),
            GroupChange::RemoveMembers(vec!["u3".into()]),
            GroupChange::RemoveMembers(vec!["u4".into()]),
            GroupChange::SetDisplayName("受付".into()),
            GroupChange::SetExternalId(Some("g-9".into())),
            GroupChange::ReplaceMembers(vec!["u5".into()]),
            GroupChange::ReplaceMembers(vec![]),
        ]
    );
    let bad = request(json!({"Operations": [{"op": "add", "path": "owners", "value": "x"}]}));
    assert_eq!(
        group_changes(&bad).unwrap_err().scim_type,
        Some(ScimErrorType::InvalidPath)
    );
}
