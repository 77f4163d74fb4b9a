//! The page and its assets, embedded in the binary: our files from `web/`, and the chart
//! library that `build.rs` fetched at the version pinned in `web/package-lock.json`.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::api::ApiError;

/// One embedded file.
pub struct Asset {
    /// Path under `/assets/`, or `""` for the page itself.
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
    /// Our own files change with every build: revalidate. The library is pinned: cache it.
    pub cache_control: &'static str,
}

const OURS: &str = "no-cache";
const PINNED: &str = "public, max-age=86400";
const JS: &str = "text/javascript; charset=utf-8";

macro_rules! ours {
    ($path:literal, $content_type:expr) => {
        Asset {
            path: $path,
            content_type: $content_type,
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $path)),
            cache_control: OURS,
        }
    };
}

pub static PAGE: Asset = Asset {
    path: "",
    content_type: "text/html; charset=utf-8",
    body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/index.html")),
    cache_control: OURS,
};

pub static ASSETS: &[Asset] = &[
    Asset {
        path: "lightweight-charts.js",
        content_type: JS,
        body: include_bytes!(concat!(
            env!("OUT_DIR"),
            "/web-deps/node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js"
        )),
        cache_control: PINNED,
    },
    ours!("style.css", "text/css; charset=utf-8"),
    ours!("favicon.svg", "image/svg+xml"),
    ours!("js/main.js", JS),
    ours!("js/connection.js", JS),
    ours!("js/store.js", JS),
    ours!("js/format.js", JS),
    ours!("js/theme.js", JS),
    ours!("js/charts/timeline.js", JS),
    ours!("js/charts/price.js", JS),
    ours!("js/charts/obi.js", JS),
    ours!("js/charts/cvd.js", JS),
    ours!("js/charts/depth.js", JS),
    ours!("js/charts/heatmap.js", JS),
    ours!("js/panels/legend.js", JS),
    ours!("js/panels/status.js", JS),
    ours!("js/panels/signals.js", JS),
    ours!("js/flow/index.js", JS),
    ours!("js/flow/store.js", JS),
    ours!("js/flow/rows.js", JS),
    ours!("js/flow/view.js", JS),
    ours!("js/flow/footprint.js", JS),
    ours!("js/flow/profile.js", JS),
    ours!("js/flow/bubbles.js", JS),
    ours!("js/flow/delta.js", JS),
    ours!("js/flow/controls.js", JS),
    ours!("js/flow/coarse.js", JS),
    ours!("js/panels/integrity.js", JS),
    ours!("js/charts/integrity.js", JS),
    ours!("js/charts/trade_bars.js", JS),
    ours!("js/panels/replay.js", JS),
    ours!("js/timeframes.js", JS),
];

/// `GET /`
pub async fn page(headers: HeaderMap) -> Response {
    respond(&PAGE, &headers)
}

/// `GET /assets/{*path}`
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.iter().find(|asset| asset.path == path) {
        Some(asset) => respond(asset, &headers),
        None => ApiError::not_found(format!("/assets/{path}")).into_response(),
    }
}

fn respond(asset: &'static Asset, request: &HeaderMap) -> Response {
    let etag = etag(asset);
    let cache = [
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(asset.cache_control),
        ),
        (
            header::ETAG,
            HeaderValue::from_str(etag).expect("hex is a valid header"),
        ),
    ];
    let matches = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    if matches {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        cache,
        [(header::CONTENT_TYPE, asset.content_type)],
        asset.body,
    )
        .into_response()
}

/// A strong validator: FNV-1a of the content, computed once per asset.
fn etag(asset: &'static Asset) -> &'static str {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        std::iter::once(&PAGE)
            .chain(ASSETS)
            .map(|a| format!("\"{:016x}\"", fnv1a(a.body)))
            .collect()
    });
    let index = if asset.path.is_empty() {
        0
    } else {
        1 + ASSETS
            .iter()
            .position(|a| std::ptr::eq(a, asset))
            .expect("asset from the table")
    };
    &tags[index]
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
