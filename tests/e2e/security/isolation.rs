//! Security battery, isolation and access (ISO-1..4): tenants cannot reach each
//! other's objects, each role sees exactly its own set, forbidden fields are never
//! assigned, and administrators' routes refuse everyone else.

mod admin_routes;
mod cross_tenant;
pub(super) mod fixture;
mod mass_assignment;
pub(super) mod routes;
mod visible_sets;
pub(super) mod web;
