//! The JSON API: bars, metrics, depth and status in the seed's schemas, and its errors.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::json;
use crate::engine::timeframe::{Coarsen, coarsen};
use crate::engine::{Millis, window_start};
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

/// `GET /api/bars[?since=TS][&tf=SECONDS]`: `[[ts, open, high, low, close, volume], ...]`,
/// oldest first; with `tf`, the bars of that timeframe (see `engine::timeframe`).
pub async fn bars(State(feed): State<LiveFeed>, query: Query<HashMap<String, String>>) -> Response {
    match since(&query).and_then(|since| Ok((since, timeframe(&query, &feed)?))) {
        Ok((since, None)) => fresh(Json(json::bar_rows(&feed.bars_since(since)))),
        Ok((since, Some(tf))) => {
            let bars = coarsen(&feed.bars_since(since.map(|ts| window_start(ts, tf))), tf);
            fresh(Json(json::bar_rows(&from(bars, since))))
        }
        Err(error) => error.into_response(),
    }
}

/// `GET /api/metrics[?since=TS][&tf=SECONDS]`: `[[ts, obi_o, obi_h, obi_l, obi_c, cvd_o, cvd_h, cvd_l, cvd_c], ...]`.
pub async fn metrics(
    State(feed): State<LiveFeed>,
    query: Query<HashMap<String, String>>,
) -> Response {
    match since(&query).and_then(|since| Ok((since, timeframe(&query, &feed)?))) {
        Ok((since, None)) => fresh(Json(json::metric_rows(&feed.metric_bars_since(since)))),
        Ok((since, Some(tf))) => {
            let bars = feed.metric_bars_since(since.map(|ts| window_start(ts, tf)));
            fresh(Json(json::metric_rows(&from(coarsen(&bars, tf), since))))
        }
        Err(error) => error.into_response(),
    }
}

/// The bars of `bars` whose window starts at or after `since`.
fn from<T: Coarsen>(mut bars: Vec<T>, since: Option<Millis>) -> Vec<T> {
    if let Some(since) = since {
        bars.retain(|bar| bar.ts() >= since);
    }
    bars
}

/// `tf=SECONDS`: a timeframe, in ms; a whole number of seconds, and a multiple of the run's
/// window when the run is known (under `run`).
pub(super) fn timeframe(
    query: &HashMap<String, String>,
    feed: &LiveFeed,
) -> Result<Option<i64>, ApiError> {
    let Some(text) = query.get("tf") else {
        return Ok(None);
    };
    let window = feed.status().playback.map(|playback| playback.window_ms);
    match text.trim().parse::<i64>() {
        Ok(seconds) if (1..=31_622_400).contains(&seconds) => {
            let tf = seconds * 1000;
            match window {
                Some(window) if window > 0 && tf % window != 0 => {
                    Err(ApiError::bad_request(format!(
                        "`tf` must be a multiple of the run's window of {} s, not {seconds}",
                        window / 1000
                    )))
                }
                _ => Ok(Some(tf)),
            }
        }
        _ => Err(ApiError::bad_request(format!(
            "`tf` must be a timeframe in whole seconds (60 for 1 minute), not `{text}`"
        ))),
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
    if let Some(unknown) = query
        .keys()
        .find(|key| !["since", "tf"].contains(&key.as_str()))
    {
        return Err(ApiError::bad_request(format!(
            "unknown query parameter `{unknown}`: only `since` and `tf` are understood"
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
