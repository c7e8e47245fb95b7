//! Path parameters of web pages: anything that does not parse is simply "not found".

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::PageError;

/// A typed path parameter; a bad value answers 404 like a missing object.
#[derive(Debug, Clone, Copy)]
pub struct WebPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for WebPath<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|_| PageError::NotFound)
    }
}
