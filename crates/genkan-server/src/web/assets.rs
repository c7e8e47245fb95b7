//! Static files (CSS, JavaScript, images), embedded in the binary and served with a
//! content hash in their URL so browsers may cache them for a year.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../../assets/static/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../../assets/static/app.js"),
    ),
    (
        "logo.svg",
        "image/svg+xml",
        include_bytes!("../../../../assets/static/logo.svg"),
    ),
];

/// A short hash of all static files, appended as `?v=` for cache busting.
pub static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut h = Sha256::new();
    for (name, _, bytes) in FILES {
        h.update(name.as_bytes());
        h.update(bytes);
    }
    hex::encode(&h.finalize()[..6])
});

/// `GET /static/{name}`.
pub async fn serve(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, bytes)) => {
            let mut r = (*bytes).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            );
            r
        }
        None => super::error::error_page(
            StatusCode::NOT_FOUND,
            "error.not_found",
            "error.not_found_detail",
        ),
    }
}
