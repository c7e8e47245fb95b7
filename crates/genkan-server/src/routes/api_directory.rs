//! `GET /api/v1/users`, the staff directory of the API: ids and names (for
//! pickers) to everyone allowed to look; addresses, roles and account states only
//! to administrators and `admin`-scoped tokens of administrators.

use axum::Json;
use axum::extract::State;
use genkan_core::access::DirectoryView;
use genkan_core::id::UserId;
use genkan_core::wire::v1::ErrorCode;
use genkan_store::tenants::User;
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::Staff;
use crate::state::AppState;

/// One directory entry, as much of it as the caller may see.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum Entry {
    /// For administrators.
    Full(User),
    /// For everyone else.
    Name {
        /// The user's id.
        id: UserId,
        /// Their name.
        display_name: String,
    },
}

/// Lists the tenant's users.
pub(crate) async fn list_users(
    State(s): State<AppState>,
    staff: Staff,
) -> ApiResult<Json<Vec<Entry>>> {
    let Some(view) = staff.principal.directory_view() else {
        return Err(ApiError::new(ErrorCode::Forbidden));
    };
    let users = s.store.users(staff.principal.tenant_id).await?;
    Ok(Json(
        users
            .into_iter()
            .map(|u| match view {
                DirectoryView::Full => Entry::Full(u),
                DirectoryView::Names => Entry::Name {
                    id: u.id,
                    display_name: u.display_name,
                },
            })
            .collect(),
    ))
}
