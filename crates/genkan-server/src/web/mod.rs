//! The server-rendered web app: sessions and CSRF, translations, the page layout,
//! form helpers, static files and error pages. Screens live in `routes::web`.

pub mod assets;
pub mod csv;
pub mod error;
pub mod form;
pub mod i18n;
pub mod page;
pub mod path;
pub mod session;
pub mod time;
