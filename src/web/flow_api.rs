//! The API of trades at price (SPEC 6.4): footprints, bar extras and prints.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::api::{ApiError, fresh, since, timeframe};
use crate::engine::timeframe::coarsen_footprints;
use crate::engine::{FootprintBar, Millis, TradeBarSize, window_start};
use crate::output::flow_json::{ApiExtras, ApiFootprint, ApiPrint};
use crate::output::live::LiveFeed;

/// `GET /api/footprint[?since=TS][&tf=SECONDS]`: `[[ts, [[price, buy, sell], ...]], ...]`,
/// every bar of the run from `since` on, oldest first; with `tf`, the footprints of that
/// timeframe (see `engine::timeframe`).
pub async fn footprint(
    State(feed): State<LiveFeed>,
    query: Query<HashMap<String, String>>,
) -> Response {
    match footprints(&feed, &query) {
        Ok(bars) => fresh(Json(bars.iter().map(ApiFootprint).collect::<Vec<_>>())),
        Err(error) => error.into_response(),
    }
}

/// `GET /api/bar_extras[?since=TS][&tf=SECONDS]`:
/// `[[ts, buy_volume, sell_volume, delta, trades], ...]`, oldest first.
pub async fn bar_extras(
    State(feed): State<LiveFeed>,
    query: Query<HashMap<String, String>>,
) -> Response {
    match footprints(&feed, &query) {
        Ok(bars) => fresh(Json(bars.iter().map(ApiExtras).collect::<Vec<_>>())),
        Err(error) => error.into_response(),
    }
}

/// The footprints a query of `since` and `tf` asks for: those of the run's window, or of the
/// timeframe `tf` made from those of its windows (a coarse window whose start is at or after
/// `since`).
fn footprints(
    feed: &LiveFeed,
    query: &HashMap<String, String>,
) -> Result<Vec<FootprintBar>, ApiError> {
    let since = since(query)?;
    Ok(match timeframe(query, feed)? {
        None => feed.footprints_since(since),
        Some(tf) => {
            let fine = feed.footprints_since(since.map(|ts| window_start(ts, tf)));
            let mut bars = coarsen_footprints(&fine, tf);
            bars.retain(|bar| since.is_none_or(|since| bar.ts >= since));
            bars
        }
    })
}

/// `GET /api/prints?min_size=X[&since=TS]`: `[[ts, side, vwap, size, trades], ...]` in event
/// order, the prints of at least `min_size` (0 when absent) at or after `since`.
pub async fn prints(
    State(feed): State<LiveFeed>,
    Query(mut query): Query<HashMap<String, String>>,
) -> Response {
    let min_size = match query.remove("min_size") {
        None => Ok(0.0),
        Some(text) => match text.trim().parse::<f64>() {
            Ok(size) if !size.is_nan() => Ok(size),
            _ => Err(ApiError::bad_request(format!(
                "`min_size` must be a number, not `{text}`"
            ))),
        },
    };
    let since: Result<Option<Millis>, ApiError> = since(&query).map_err(|error| {
        // Name both parameters when one is unknown.
        if query.keys().any(|key| key != "since") {
            ApiError::bad_request(
                "unknown query parameter: only `min_size` and `since` are understood",
            )
        } else {
            error
        }
    });
    match (min_size, since) {
        (Ok(min_size), Ok(since)) => {
            let prints = feed.prints(min_size, since);
            fresh(Json(prints.iter().map(ApiPrint).collect::<Vec<_>>()))
        }
        (Err(error), _) | (_, Err(error)) => error.into_response(),
    }
}

/// `GET /api/print_size[?top=SHARE]`: `{"prints": n, "min_size": x}`, where `x` is the size
/// of the smallest of the largest `SHARE` of the prints so far (default 0.005, the largest
/// 0.5 %; `null` without prints): the page's default filter of big prints.
pub async fn print_size(
    State(feed): State<LiveFeed>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(unknown) = query.keys().find(|key| key.as_str() != "top") {
        return ApiError::bad_request(format!(
            "unknown query parameter `{unknown}`: only `top` is understood"
        ))
        .into_response();
    }
    let share = match query.get("top").map(|text| text.trim().parse::<f64>()) {
        None => 0.005,
        Some(Ok(share)) if share > 0.0 && share <= 1.0 => share,
        Some(_) => {
            return ApiError::bad_request("`top` must be a share in (0, 1], such as 0.005")
                .into_response();
        }
    };
    let (prints, min_size) = feed.print_size_at_top(share);
    fresh(Json(json!({ "prints": prints, "min_size": min_size })))
}

/// `GET /api/trade_bars[?from=I]`: the run's tick or volume bars from number `I` on (0 when
/// absent; the last may be open and change):
/// `{"size": {"trades": N} | {"volume": V}, "count": n, "first": i, "bars": [[first_ts,
/// last_ts, open, high, low, close, volume, buy_volume, sell_volume, trades], ...]}`, where
/// `first` is the number of the first bar given: `I`, or the last bar's when `I` is beyond
/// it (a state that went back has fewer). A run that makes none answers `"size": null` and no
/// bar (the page asks before it knows).
pub async fn trade_bars(
    State(feed): State<LiveFeed>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let from = match query.iter().find(|(key, _)| key.as_str() != "from") {
        Some(_) => Err(ApiError::bad_request(
            "unknown query parameter: only `from` is understood",
        )),
        None => match query.get("from").map(|text| text.trim().parse::<usize>()) {
            None => Ok(0),
            Some(Ok(from)) => Ok(from),
            Some(Err(_)) => Err(ApiError::bad_request(
                "`from` must be a bar number (0, 1, 2, ...)",
            )),
        },
    };
    let from = match from {
        Ok(from) => from,
        Err(error) => return error.into_response(),
    };
    let Some((size, count, bars)) = feed.trade_bars(from) else {
        return fresh(Json(
            json!({ "size": null, "count": 0, "first": 0, "bars": [] }),
        ));
    };
    let first = count - bars.len();
    let size = match size {
        TradeBarSize::Trades(n) => json!({ "trades": n }),
        TradeBarSize::Volume(v) => json!({ "volume": v }),
    };
    let rows: Vec<_> = bars
        .iter()
        .map(|bar| {
            json!([
                bar.first_ts,
                bar.last_ts,
                bar.open,
                bar.high,
                bar.low,
                bar.close,
                bar.volume,
                bar.buy_volume,
                bar.sell_volume,
                bar.trades
            ])
        })
        .collect();
    fresh(Json(
        json!({ "size": size, "count": count, "first": first, "bars": rows }),
    ))
}
