//! The JSON API: bars, metrics, depth and status in the seed's schemas, and its errors.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::json;
use crate::engine::Millis;
use crate::output::live::LiveFeed;
use crate::output::seed_json::ApiDepth;

/// An error answered as `{"error": "..."}` with its status code.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
    /// The request named another server (see `host.rs`).
    pub fn misdirected(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::MISDIRECTED_REQUEST,
            message: message.into(),
        }
    }
    pub fn not_found(path: impl std::fmt::Display) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: format!("not found: {path}"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            [(header::CACHE_CONTROL, "no-store")],
            Json(json!({ "error": self.message })),
        )
            .into_response()
    }
}

/// Any path the router does not know.
pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(uri.path())
}

/// `GET /api/bars[?since=TS]`: `[[ts, open, high, low, close, volume], ...]`, oldest first.
pub async fn bars(State(feed): State<LiveFeed>, query: Query<HashMap<String, String>>) -> Response {
    match since(&query) {
        Ok(since) => fresh(Json(json::bar_rows(&feed.bars_since(since)))),
        Err(error) => error.into_response(),
    }
}

/// `GET /api/metrics[?since=TS]`: `[[ts, obi_o, obi_h, obi_l, obi_c, cvd_o, cvd_h, cvd_l, cvd_c], ...]`.
pub async fn metrics(
    State(feed): State<LiveFeed>,
    query: Query<HashMap<String, String>>,
) -> Response {
    match since(&query) {
        Ok(since) => fresh(Json(json::metric_rows(&feed.metric_bars_since(since)))),
        Err(error) => error.into_response(),
    }
}

/// `GET /api/depth`: `{"bids": [[price, size], ...], "asks": [[price, size], ...]}`.
pub async fn depth(State(feed): State<LiveFeed>) -> Response {
    fresh(Json(ApiDepth(&feed.depth())))
}

/// `GET /api/status`
pub async fn status(State(feed): State<LiveFeed>) -> Response {
    fresh(Json(json::status(&feed.status())))
}

/// Live data: never from a cache.
pub(super) fn fresh(body: impl IntoResponse) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}

/// `since=TS`: window start in ms since the epoch (an integer); absent means all.
pub(super) fn since(query: &HashMap<String, String>) -> Result<Option<Millis>, ApiError> {
    if let Some(unknown) = query.keys().find(|key| key.as_str() != "since") {
        return Err(ApiError::bad_request(format!(
            "unknown query parameter `{unknown}`: only `since` is understood"
        )));
    }
    query
        .get("since")
        .map(|text| {
            text.trim().parse::<Millis>().map_err(|_| {
                ApiError::bad_request(format!(
                    "`since` must be a timestamp in ms since the Unix epoch (an integer), not `{text}`"
                ))
            })
        })
        .transpose()
}
