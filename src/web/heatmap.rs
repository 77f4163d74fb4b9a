//! `GET /api/heatmap` (SPEC 7) and `GET /api/heatmap/overlay`: the run's heatmap at any range
//! and zoom, with the defaults the server picked said in the answer.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};

use super::api::ApiError;
use crate::engine::Millis;
use crate::engine::heatmap::{HeatmapQuery, HeatmapRow, HeatmapStore, OverlayColumn};
use crate::output::live::LiveFeed;

/// Columns a default `step` aims at: about a screen's width.
const DEFAULT_COLUMNS: i64 = 1000;
/// Rows a default `row` height aims at over the prices held.
const DEFAULT_ROWS: f64 = 200.0;

/// `GET /api/heatmap?from=T0&to=T1&step=MS&row=R`:
/// `{"slice_ms", "from", "to", "step", "row", "columns": [[ts, [[price, bid, ask], ...]], ...]}`.
pub async fn heatmap(
    State(feed): State<LiveFeed>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let answer = tokio::task::spawn_blocking(move || {
        feed.heatmap().read(|store| {
            let store = store.ok_or_else(no_heatmap)?;
            let asked = Asked::parse(&query, &["from", "to", "step", "row"])?;
            let query = asked.resolve(store)?;
            write_columns(store, &query).map_err(|error| {
                ApiError::bad_request(format!("cannot render the heatmap: {error}"))
            })
        })
    })
    .await;
    respond(answer)
}

/// `GET /api/heatmap/overlay?from=T0&to=T1&step=MS`: what the page draws over the heatmap,
/// per column: `{"slice_ms", "from", "to", "step", "columns": [[ts, best_bid, best_ask,
/// buy_volume, buy_vwap, sell_volume, sell_vwap], ...]}` (`null` where there is none).
pub async fn overlay(
    State(feed): State<LiveFeed>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let answer = tokio::task::spawn_blocking(move || {
        feed.heatmap().read(|store| {
            let store = store.ok_or_else(no_heatmap)?;
            let asked = Asked::parse(&query, &["from", "to", "step"])?;
            let query = asked.resolve(store)?;
            let columns = store.overlay(query.from, query.to, query.step);
            let rows: Vec<_> = columns.iter().map(overlay_row).collect();
            serde_json::to_vec(&serde_json::json!({
                "slice_ms": store.slice_ms(),
                "from": query.from,
                "to": query.to,
                "step": query.step,
                "columns": rows,
            }))
            .map_err(|error| ApiError::bad_request(format!("cannot render the overlay: {error}")))
        })
    })
    .await;
    respond(answer)
}

fn overlay_row(column: &OverlayColumn) -> serde_json::Value {
    serde_json::json!([
        column.ts,
        column.best_bid,
        column.best_ask,
        column.buy_volume,
        column.buy_vwap,
        column.sell_volume,
        column.sell_vwap,
    ])
}

fn no_heatmap() -> ApiError {
    ApiError::not_found(
        "/api/heatmap: this server keeps no heatmap (`orderflow run` and `orderflow demo` \
         keep one, with --heatmap-ms)",
    )
}

fn respond(answer: Result<Result<Vec<u8>, ApiError>, tokio::task::JoinError>) -> Response {
    match answer {
        Ok(Ok(body)) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            Body::from(body),
        )
            .into_response(),
        Ok(Err(error)) => error.into_response(),
        Err(error) => {
            ApiError::bad_request(format!("the heatmap query failed: {error}")).into_response()
        }
    }
}

/// The parameters as given, each optional.
struct Asked {
    from: Option<Millis>,
    to: Option<Millis>,
    step: Option<i64>,
    row: Option<f64>,
}

impl Asked {
    fn parse(query: &HashMap<String, String>, known: &[&str]) -> Result<Asked, ApiError> {
        if let Some(unknown) = query.keys().find(|key| !known.contains(&key.as_str())) {
            return Err(ApiError::bad_request(format!(
                "unknown query parameter `{unknown}`: only {} are understood",
                known
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let integer = |name: &str, what: &str| {
            query
                .get(name)
                .map(|text| {
                    text.trim().parse::<i64>().map_err(|_| {
                        ApiError::bad_request(format!(
                            "`{name}` must be {what} (an integer), not `{text}`"
                        ))
                    })
                })
                .transpose()
        };
        let from = integer("from", "a time in ms since the Unix epoch")?;
        let to = integer("to", "a time in ms since the Unix epoch")?;
        let step = integer("step", "a column width in ms")?;
        let row = query
            .get("row")
            .map(|text| match text.trim().parse::<f64>() {
                Ok(row) if row.is_finite() && row > 0.0 => Ok(row),
                _ => Err(ApiError::bad_request(format!(
                    "`row` must be a row height in price units, a finite number above 0, not `{text}`"
                ))),
            })
            .transpose()?;
        Ok(Asked {
            from,
            to,
            step,
            row,
        })
    }

    /// The query with the server's defaults where nothing was asked: the whole heatmap held,
    /// about [`DEFAULT_COLUMNS`] columns and [`DEFAULT_ROWS`] rows over the prices held.
    fn resolve(&self, store: &HeatmapStore) -> Result<HeatmapQuery, ApiError> {
        let slice_ms = store.slice_ms();
        let held = store.slices();
        let from = self
            .from
            .unwrap_or_else(|| held.start.saturating_mul(slice_ms));
        let to = self.to.unwrap_or_else(|| held.end.saturating_mul(slice_ms));
        if from > to {
            return Err(ApiError::bad_request(format!(
                "`from` ({from}) is after `to` ({to}): give the range in time order"
            )));
        }
        let step = match self.step {
            Some(step) if step <= 0 || step % slice_ms != 0 => {
                return Err(ApiError::bad_request(format!(
                    "`step` ({step}) must be a positive multiple of the slice length, {slice_ms} ms"
                )));
            }
            Some(step) => step,
            None => {
                let span = i128::from(to) - i128::from(from);
                let slices = (span / i128::from(DEFAULT_COLUMNS) / i128::from(slice_ms)).max(0);
                let slices = i64::try_from(slices + 1).unwrap_or(i64::MAX / slice_ms);
                let step = slices.saturating_mul(slice_ms);
                // Wider than a block of the pyramid: whole blocks, which answer fastest.
                let block = store.block_ms();
                if step > block {
                    (step.saturating_add(block - 1) / block).saturating_mul(block)
                } else {
                    step
                }
            }
        };
        let row = self.row.unwrap_or_else(|| default_row(store));
        Ok(HeatmapQuery {
            from,
            to,
            step,
            row,
        })
    }
}

/// A round row height (1, 2 or 5 times a power of ten) giving about [`DEFAULT_ROWS`] rows over
/// the prices held; 1 before any.
fn default_row(store: &HeatmapStore) -> f64 {
    let Some((lowest, highest)) = store.price_range() else {
        return 1.0;
    };
    let wanted = (highest - lowest) / DEFAULT_ROWS;
    if !(wanted.is_finite() && wanted > 0.0) {
        return (lowest / 1000.0).max(f64::MIN_POSITIVE);
    }
    let power = 10f64.powf(wanted.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|times| times * power)
        .find(|row| *row >= wanted)
        .unwrap_or(10.0 * power)
}

/// The answer, written column by column as the store gives them: a wide answer is never held
/// twice.
fn write_columns(store: &HeatmapStore, query: &HeatmapQuery) -> serde_json::Result<Vec<u8>> {
    let mut body = Vec::with_capacity(1 << 16);
    let head = serde_json::json!({
        "slice_ms": store.slice_ms(),
        "from": query.from,
        "to": query.to,
        "step": query.step,
        "row": query.row,
    });
    serde_json::to_writer(&mut body, &head)?;
    // Reopen the object for the columns: `{...}` becomes `{...,"columns":[...]}`.
    body.pop();
    body.extend_from_slice(b",\"columns\":[");
    let mut result = Ok(());
    let mut first = true;
    store.for_each_column(query, |ts, rows| {
        if result.is_err() {
            return;
        }
        if !first {
            body.push(b',');
        }
        first = false;
        result = serde_json::to_writer(&mut body, &(ts, Rows(rows)));
    });
    result?;
    body.extend_from_slice(b"]}");
    Ok(body)
}

/// `[[price, bid, ask], ...]`.
struct Rows<'a>(&'a [HeatmapRow]);

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for row in self.0 {
            seq.serialize_element(&[row.price, row.bid, row.ask])?;
        }
        seq.end()
    }
}
