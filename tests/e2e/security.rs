//! The security battery: attacks against the real server, one module per area.

mod crypto;
mod csv_export;
mod csv_import;
mod dos;
mod headers;
mod isolation;
mod kiosk_text;
mod kit;
mod passes;
mod schemathesis;
mod sqlmap;
mod stolen_kiosk;
mod templates;
mod tools;
