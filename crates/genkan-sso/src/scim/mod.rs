//! SCIM 2.0 (RFC 7643/7644) building blocks for `/scim/v2`: pure, no I/O.
//!
//! - [`model`]: User and Group resources (core schema; enterprise and other extensions kept
//!   in a bag), `ListResponse`, lenient booleans (Entra's `"False"`).
//! - [`error`]: the RFC 7644 error body with `scimType`.
//! - [`filter`]: the filters IdPs send (`attr eq "v"` joined by `and`, `members[value eq ..]`).
//! - [`patch`]: PATCH operations (case-insensitive `op`, value-filtered paths) applied to a
//!   User, or turned into membership changes for a Group.
//! - [`etag`]: weak ETags and `If-Match` / `If-None-Match` decisions.
//! - [`paging`]: `startIndex` / `count`.
//! - [`discovery`]: `ServiceProviderConfig`, `ResourceTypes` and `Schemas` documents.
//!
//! The server maps resources to Genkan users and groups, compares the tenant's bearer
//! token (hashed, constant time), and on `active: false` ends the user's sessions and
//! tokens in the same transaction.

pub mod discovery;
pub mod error;
pub mod etag;
pub mod filter;
pub mod model;
pub mod paging;
pub mod patch;

pub use error::{ScimError, ScimErrorType};
pub use filter::{Filter, FilterAttr, FilterClause};
pub use model::{GroupMember, ListResponse, Meta, MultiValued, Name, ScimGroup, ScimUser};
pub use paging::Paging;
pub use patch::{GroupChange, PatchOp, PatchOperation, PatchRequest};

/// Schema URN of the core User.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Schema URN of the core Group.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Schema URN of the enterprise User extension.
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Schema URN of a list response.
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// Schema URN of a PATCH request.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Schema URN of an error response.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// The media type of SCIM bodies (`application/json` must be accepted too).
pub const CONTENT_TYPE: &str = "application/scim+json";
