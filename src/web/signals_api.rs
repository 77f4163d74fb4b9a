//! `GET /api/signals[?since=TS]` (SPEC 9.2): the run's signals, for the page's markers and list.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::api::{fresh, since};
use crate::engine::Signal;
use crate::output::live::LiveFeed;

/// `[{"ts", "name", "price", "value", "detail"}, ...]` by `ts`, those at or after `since`;
/// `detail` is the rule's JSON (or its text when it is not JSON), `price` and `value` may be
/// null.
pub async fn signals(
    State(feed): State<LiveFeed>,
    query: Query<HashMap<String, String>>,
) -> Response {
    match since(&query) {
        Ok(since) => {
            let (mut list, _) = feed.signals().since(0);
            list.retain(|signal| since.is_none_or(|since| signal.ts >= since));
            list.sort_by_key(|signal| signal.ts);
            fresh(Json(list.iter().map(signal_json).collect::<Vec<_>>()))
        }
        Err(error) => error.into_response(),
    }
}

fn signal_json(signal: &Signal) -> Value {
    let detail = signal.detail.as_deref().map_or(Value::Null, |text| {
        serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
    });
    let number = |x: Option<f64>| x.filter(|x| x.is_finite());
    json!({
        "ts": signal.ts,
        "name": signal.name,
        "price": number(signal.price),
        "value": number(signal.value),
        "detail": detail,
    })
}
