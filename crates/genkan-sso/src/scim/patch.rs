//! SCIM PATCH (RFC 7644 §3.5.2) with the quirks of real IdPs: `op` in any case
//! (`"Replace"`), booleans as strings, value objects with dotted keys, and value-filtered
//! paths such as `emails[type eq "work"].value`.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::{ScimError, ScimErrorType, ScimUser};

/// The most operations one PATCH may carry.
pub const MAX_OPERATIONS: usize = 100;

/// A PATCH body.
#[derive(Debug, Clone, Deserialize)]
pub struct PatchRequest {
    /// Should be the PatchOp URN (not enforced: some IdPs omit it).
    #[serde(default)]
    pub schemas: Vec<String>,
    /// The operations, applied in order, all or nothing.
    #[serde(rename = "Operations", alias = "operations")]
    pub operations: Vec<PatchOperation>,
}

/// One operation.
#[derive(Debug, Clone, Deserialize)]
pub struct PatchOperation {
    /// `add`, `replace` or `remove`, in any case.
    pub op: PatchOp,
    /// The target; absent means the value is an object of attributes.
    #[serde(default)]
    pub path: Option<String>,
    /// The value (absent for most removes).
    #[serde(default)]
    pub value: Option<Value>,
}

/// A PATCH verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOp {
    /// Add (append to multi-valued attributes).
    Add,
    /// Replace.
    Replace,
    /// Remove.
    Remove,
}

impl<'de> Deserialize<'de> for PatchOp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        match s.to_ascii_lowercase().as_str() {
            "add" => Ok(Self::Add),
            "replace" => Ok(Self::Replace),
            "remove" => Ok(Self::Remove),
            _ => Err(serde::de::Error::custom(format!("unknown PATCH op `{s}`"))),
        }
    }
}

/// A change to a group that a PATCH asked for; the store applies them in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupChange {
    /// New `displayName`.
    SetDisplayName(String),
    /// New `externalId` (`None` removes it).
    SetExternalId(Option<String>),
    /// Add these member ids.
    AddMembers(Vec<String>),
    /// Remove these member ids.
    RemoveMembers(Vec<String>),
    /// The members become exactly these.
    ReplaceMembers(Vec<String>),
}

fn bad_path(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request(ScimErrorType::InvalidPath, detail)
}
fn bad_value(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request(ScimErrorType::InvalidValue, detail)
}

/// A parsed path: `[urn:]attr[.sub]`, `attr[field eq "v"]`, `attr[field eq "v"].sub`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Path {
    urn: Option<String>,
    attr: String,
    filter: Option<(String, String)>,
    sub: Option<String>,
}

fn parse_path(raw: &str) -> Result<Path, ScimError> {
    let raw = raw.trim();
    let (urn, rest) = if raw.to_ascii_lowercase().starts_with("urn:") {
        // The attribute follows the URN's last colon.
        let split = raw.rfind(':').ok_or_else(|| bad_path("bad URN path"))?;
        let (urn, rest) = (&raw[..split], &raw[split + 1..]);
        if urn.eq_ignore_ascii_case(super::USER_SCHEMA)
            || urn.eq_ignore_ascii_case(super::GROUP_SCHEMA)
        {
            (None, rest)
        } else {
            (Some(urn.to_owned()), rest)
        }
    } else {
        (None, raw)
    };
    let (head, filter, tail) = match rest.find('[') {
        Some(open) => {
            let close = rest
                .rfind(']')
                .filter(|c| *c > open)
                .ok_or_else(|| bad_path("`[` without `]`"))?;
            let inner = &rest[open + 1..close];
            let filter = super::Filter::parse_value_filter(inner)
                .ok_or_else(|| bad_path("only `field eq \"value\"` may filter a path"))?;
            let tail = rest[close + 1..].strip_prefix('.').map(str::to_owned);
            if !rest[close + 1..].is_empty() && tail.is_none() {
                return Err(bad_path("unexpected text after `]`"));
            }
            (&rest[..open], Some(filter), tail)
        }
        None => match rest.split_once('.') {
            Some((a, s)) => (a, None, Some(s.to_owned())),
            None => (rest, None, None),
        },
    };
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    };
    if !valid(head) || tail.as_deref().is_some_and(|t| !valid(t)) {
        return Err(bad_path(format!("`{raw}` is not a valid path")));
    }
    Ok(Path {
        urn,
        attr: head.to_owned(),
        filter,
        sub: tail,
    })
}

/// Applies a PATCH to a user, all or nothing. `id`, `meta` and `groups` cannot be changed.
pub fn apply_user_patch(user: &ScimUser, request: &PatchRequest) -> Result<ScimUser, ScimError> {
    if request.operations.is_empty() || request.operations.len() > MAX_OPERATIONS {
        return Err(bad_value("a PATCH needs between 1 and 100 operations"));
    }
    let Ok(Value::Object(mut doc)) = serde_json::to_value(user) else {
        return Err(bad_value("the user could not be read"));
    };
    for op in &request.operations {
        apply_one(&mut doc, op)?;
    }
    let mut patched: ScimUser = serde_json::from_value(Value::Object(doc))
        .map_err(|e| bad_value(format!("the result is not a valid user: {e}")))?;
    patched.id.clone_from(&user.id);
    patched.meta.clone_from(&user.meta);
    patched.groups.clone_from(&user.groups);
    if patched.user_name.trim().is_empty() {
        return Err(bad_value("userName cannot be removed"));
    }
    Ok(patched)
}

fn apply_one(doc: &mut Map<String, Value>, op: &PatchOperation) -> Result<(), ScimError> {
    let Some(path) = op.path.as_deref().filter(|p| !p.trim().is_empty()) else {
        // No path: the value is an object of attributes (Entra also sends "name.givenName").
        if op.op == PatchOp::Remove {
            return Err(ScimError::bad_request(
                ScimErrorType::NoTarget,
                "remove needs a path",
            ));
        }
        let Some(Value::Object(values)) = &op.value else {
            return Err(bad_value("without a path the value must be an object"));
        };
        for (key, value) in values {
            let nested = PatchOperation {
                op: op.op,
                path: Some(key.clone()),
                value: Some(value.clone()),
            };
            match value {
                // A whole extension object merges attribute by attribute.
                Value::Object(inner) if key.to_ascii_lowercase().starts_with("urn:") => {
                    for (attr, v) in inner {
                        apply_one(
                            doc,
                            &PatchOperation {
                                op: op.op,
                                path: Some(format!("{key}:{attr}")),
                                value: Some(v.clone()),
                            },
                        )?;
                    }
                }
                _ => apply_one(doc, &nested)?,
            }
        }
        return Ok(());
    };
    let path = parse_path(path)?;
    if path.urn.is_none()
        && ["id", "meta", "groups", "schemas"]
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&path.attr))
    {
        return Err(ScimError::bad_request(
            ScimErrorType::Mutability,
            format!("`{}` cannot be changed", path.attr),
        ));
    }
    let container = match &path.urn {
        Some(urn) => {
            let key = find_key(doc, urn).unwrap_or_else(|| urn.clone());
            let entry = doc.entry(key).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            entry
                .as_object_mut()
                .ok_or_else(|| bad_value("extension is not an object"))?
        }
        None => doc,
    };
    let key = find_key(container, &path.attr).unwrap_or_else(|| path.attr.clone());
    match (&path.filter, &path.sub) {
        (None, None) => apply_attr(container, &key, op),
        (None, Some(sub)) => {
            let entry = container
                .entry(key)
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                return Err(bad_path(format!("`{}` has no sub-attributes", path.attr)));
            }
            let inner = entry
                .as_object_mut()
                .ok_or_else(|| bad_path("not an object"))?;
            let sub_key = find_key(inner, sub).unwrap_or_else(|| sub.clone());
            apply_attr(inner, &sub_key, op)
        }
        (Some((field, wanted)), sub) => {
            apply_filtered(container, &key, field, wanted, sub.as_deref(), op)
        }
    }
}

fn apply_attr(
    map: &mut Map<String, Value>,
    key: &str,
    op: &PatchOperation,
) -> Result<(), ScimError> {
    match op.op {
        PatchOp::Remove => {
            map.remove(key);
        }
        PatchOp::Replace => {
            map.insert(key.to_owned(), value_of(op)?);
        }
        PatchOp::Add => {
            let value = value_of(op)?;
            match (map.get_mut(key), value) {
                (Some(Value::Array(existing)), Value::Array(new)) => {
                    for item in new {
                        if !existing.contains(&item) {
                            existing.push(item);
                        }
                    }
                }
                (_, value) => {
                    map.insert(key.to_owned(), value);
                }
            }
        }
    }
    Ok(())
}

fn apply_filtered(
    map: &mut Map<String, Value>,
    key: &str,
    field: &str,
    wanted: &str,
    sub: Option<&str>,
    op: &PatchOperation,
) -> Result<(), ScimError> {
    let entry = map
        .entry(key.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(items) = entry else {
        return Err(bad_path(format!("`{key}` is not multi-valued")));
    };
    let matches = |item: &Value| {
        item.as_object()
            .and_then(|o| find_key(o, field).and_then(|k| o.get(&k).cloned()))
            .is_some_and(|v| match v {
                Value::String(s) => s.eq_ignore_ascii_case(wanted),
                other => other.to_string().eq_ignore_ascii_case(wanted),
            })
    };
    let found = items.iter().any(matches);
    match (op.op, sub) {
        (PatchOp::Remove, None) => items.retain(|i| !matches(i)),
        (PatchOp::Remove, Some(sub)) => {
            for item in items.iter_mut().filter(|i| matches(i)) {
                if let Some((o, k)) = item
                    .as_object_mut()
                    .and_then(|o| find_key(o, sub).map(|k| (o, k)))
                {
                    o.remove(&k);
                }
            }
        }
        (_, sub) => {
            let value = value_of(op)?;
            if !found {
                // Entra sets `emails[type eq "work"].value` on users that have no work address.
                let mut fresh = Map::new();
                fresh.insert(field.to_owned(), Value::String(wanted.to_owned()));
                items.push(Value::Object(fresh));
            }
            for item in items.iter_mut().filter(|i| matches(i)) {
                let Some(o) = item.as_object_mut() else {
                    continue;
                };
                match (sub, &value) {
                    (Some(sub), v) => {
                        let k = find_key(o, sub).unwrap_or_else(|| sub.to_owned());
                        o.insert(k, v.clone());
                    }
                    (None, Value::Object(fields)) => {
                        for (k, v) in fields {
                            let k = find_key(o, k).unwrap_or_else(|| k.clone());
                            o.insert(k, v.clone());
                        }
                    }
                    (None, _) => {
                        return Err(bad_value(
                            "a filtered path without a sub-attribute needs an object",
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

fn value_of(op: &PatchOperation) -> Result<Value, ScimError> {
    op.value
        .clone()
        .ok_or_else(|| bad_value("this operation needs a value"))
}

/// SCIM attribute names are case-insensitive: the existing key spelt as stored.
fn find_key(map: &Map<String, Value>, name: &str) -> Option<String> {
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// Turns a PATCH on a group into membership and name changes. Unknown paths are refused.
pub fn group_changes(request: &PatchRequest) -> Result<Vec<GroupChange>, ScimError> {
    if request.operations.is_empty() || request.operations.len() > MAX_OPERATIONS {
        return Err(bad_value("a PATCH needs between 1 and 100 operations"));
    }
    let mut changes = Vec::new();
    for op in &request.operations {
        match op.path.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            None => {
                let Some(Value::Object(values)) = &op.value else {
                    return Err(bad_value("without a path the value must be an object"));
                };
                for (key, value) in values {
                    changes.extend(group_change(op.op, key, Some(value))?);
                }
            }
            Some(path) => changes.extend(group_change(op.op, path, op.value.as_ref())?),
        }
    }
    Ok(changes)
}

fn group_change(
    op: PatchOp,
    raw_path: &str,
    value: Option<&Value>,
) -> Result<Vec<GroupChange>, ScimError> {
    let path = parse_path(raw_path)?;
    let attr = path.attr.to_ascii_lowercase();
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(bad_value(format!("`{}` needs a string", path.attr))),
    };
    Ok(match (attr.as_str(), op, &path.filter) {
        ("displayname", PatchOp::Remove, _) => {
            return Err(bad_value("displayName cannot be removed"));
        }
        ("displayname", _, None) => vec![GroupChange::SetDisplayName(text(value)?)],
        ("externalid", PatchOp::Remove, None) => vec![GroupChange::SetExternalId(None)],
        ("externalid", _, None) => vec![GroupChange::SetExternalId(Some(text(value)?))],
        ("members", PatchOp::Remove, Some((field, id))) if field.eq_ignore_ascii_case("value") => {
            vec![GroupChange::RemoveMembers(vec![id.clone()])]
        }
        ("members", PatchOp::Remove, None) => match value {
            // AWS and some Entra versions name the members to remove in the value.
            Some(v) => vec![GroupChange::RemoveMembers(member_ids(v)?)],
            None => vec![GroupChange::ReplaceMembers(Vec::new())],
        },
        ("members", PatchOp::Add, None) => vec![GroupChange::AddMembers(member_ids(
            value.ok_or_else(|| bad_value("add needs members"))?,
        )?)],
        ("members", PatchOp::Replace, None) => {
            vec![GroupChange::ReplaceMembers(member_ids(
                value.ok_or_else(|| bad_value("replace needs members"))?,
            )?)]
        }
        _ => {
            return Err(bad_path(format!(
                "`{raw_path}` cannot be patched on a group"
            )));
        }
    })
}

fn member_ids(value: &Value) -> Result<Vec<String>, ScimError> {
    let one = |v: &Value| match v {
        Value::Object(o) => o
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("value"))
            .and_then(|(_, v)| v.as_str().map(str::to_owned)),
        Value::String(s) => Some(s.clone()),
        _ => None,
    };
    let ids: Option<Vec<String>> = match value {
        Value::Array(items) => items.iter().map(one).collect(),
        other => one(other).map(|id| vec![id]),
    };
    ids.ok_or_else(|| bad_value("members must be objects with a `value`"))
}

#[cfg(test)]
#[path = "patch_tests.rs"]
mod tests;
