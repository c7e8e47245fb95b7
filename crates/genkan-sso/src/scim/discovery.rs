//! The SCIM discovery documents: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`
//! (RFC 7643 §5–7), saying exactly what this implementation supports.

use serde_json::{Value, json};

use super::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA, filter::MAX_CLAUSES};

/// `/ServiceProviderConfig`: PATCH, filter (`eq`/`and`, up to `max_results`), ETags on;
/// bulk, sort and password change off; bearer-token authentication.
pub fn service_provider_config(base_url: &str, max_results: u64) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": format!("A per-tenant bearer token; filters join at most {MAX_CLAUSES} `eq` clauses with `and`."),
            "primary": true
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base_url}/ServiceProviderConfig")}
    })
}

/// `/ResourceTypes`: User (with the enterprise extension) and Group.
pub fn resource_types(base_url: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User", "name": "User", "endpoint": "/Users", "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE_USER_SCHEMA, "required": false}],
            "meta": {"resourceType": "ResourceType", "location": format!("{base_url}/ResourceTypes/User")}
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group", "name": "Group", "endpoint": "/Groups", "schema": GROUP_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": format!("{base_url}/ResourceTypes/Group")}
        }),
    ]
}

fn attr(
    name: &str,
    kind: &str,
    multi: bool,
    required: bool,
    case_exact: bool,
    mutability: &str,
    uniqueness: &str,
) -> Value {
    json!({
        "name": name, "type": kind, "multiValued": multi, "required": required,
        "caseExact": case_exact, "mutability": mutability, "returned": "default",
        "uniqueness": uniqueness
    })
}

fn complex(name: &str, multi: bool, subs: Vec<Value>) -> Value {
    let mut a = attr(name, "complex", multi, false, false, "readWrite", "none");
    a["subAttributes"] = Value::Array(subs);
    a
}

fn multi_valued(name: &str) -> Value {
    complex(
        name,
        true,
        vec![
            attr("value", "string", false, false, false, "readWrite", "none"),
            attr("type", "string", false, false, false, "readWrite", "none"),
            attr(
                "primary",
                "boolean",
                false,
                false,
                false,
                "readWrite",
                "none",
            ),
            attr(
                "display",
                "string",
                false,
                false,
                false,
                "readWrite",
                "none",
            ),
        ],
    )
}

/// `/Schemas`: the User, enterprise User and Group attributes Genkan reads.
pub fn schemas(base_url: &str) -> Vec<Value> {
    let s = |n: &str| attr(n, "string", false, false, false, "readWrite", "none");
    let mut groups = complex(
        "groups",
        true,
        vec![
            attr("value", "string", false, false, true, "readOnly", "none"),
            s("display"),
        ],
    );
    groups["mutability"] = json!("readOnly");
    let user = json!({
        "id": USER_SCHEMA, "name": "User", "description": "A Genkan user",
        "attributes": [
            attr("userName", "string", false, true, false, "readWrite", "server"),
            attr("externalId", "string", false, false, true, "readWrite", "none"),
            complex("name", false, vec![s("formatted"), s("familyName"), s("givenName"), s("middleName")]),
            s("displayName"), s("title"), s("preferredLanguage"), s("locale"), s("timezone"),
            attr("active", "boolean", false, false, false, "readWrite", "none"),
            multi_valued("emails"),
            multi_valued("phoneNumbers"),
            groups
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base_url}/Schemas/{USER_SCHEMA}")}
    });
    let enterprise = json!({
        "id": ENTERPRISE_USER_SCHEMA, "name": "EnterpriseUser", "description": "Enterprise user extension",
        "attributes": [s("employeeNumber"), s("costCenter"), s("organization"), s("division"), s("department"),
            complex("manager", false, vec![s("value"), s("displayName")])],
        "meta": {"resourceType": "Schema", "location": format!("{base_url}/Schemas/{ENTERPRISE_USER_SCHEMA}")}
    });
    let group = json!({
        "id": GROUP_SCHEMA, "name": "Group", "description": "A Genkan group",
        "attributes": [
            attr("displayName", "string", false, true, false, "readWrite", "server"),
            attr("externalId", "string", false, false, true, "readWrite", "none"),
            complex("members", true, vec![attr("value", "string", false, false, true, "immutable", "none"), s("display")])
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base_url}/Schemas/{GROUP_SCHEMA}")}
    });
    vec![user, enterprise, group]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_documents_name_what_is_supported() {
        let config = service_provider_config("https://genkan.example/scim/v2", 200);
        assert_eq!(config["patch"]["supported"], true);
        assert_eq!(config["bulk"]["supported"], false);
        assert_eq!(config["filter"]["maxResults"], 200);
        let types = resource_types("https://genkan.example/scim/v2");
        assert_eq!(types[0]["endpoint"], "/Users");
        let schemas = schemas("https://genkan.example/scim/v2");
        assert_eq!(schemas.len(), 3);
        assert_eq!(schemas[0]["attributes"][0]["name"], "userName");
    }
}
