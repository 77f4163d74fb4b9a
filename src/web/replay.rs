//! `POST /api/replay`: the replay's control (SPEC 8). It changes state, so it is guarded
//! against other sites: a request whose `Origin` is not this server's own is refused (403), as
//! is one whose body is not declared `application/json` (415), which a plain HTML form cannot
//! send; a refused request changes nothing. The answer is the status once the command has
//! been carried out (a seek: completed).

use std::net::SocketAddr;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use bytes::Bytes;

use super::api::ApiError;
use super::host;
use super::json;
use crate::output::live::LiveFeed;
use crate::replay::control::{Command, Control};

/// The longest a request waits for its command to be carried out before it is answered with
/// the status as it stands (a seek far ahead of what has been read may take longer).
const ANSWER_WITHIN: Duration = Duration::from_secs(20);

/// What the control endpoint needs.
#[derive(Clone)]
pub struct ReplayRoute {
    pub control: Control,
    pub feed: LiveFeed,
    /// The address the server listens on: the origins it accepts are its own.
    pub local: SocketAddr,
}

/// The route of `POST /api/replay`.
pub fn route<S: Clone + Send + Sync + 'static>(state: ReplayRoute) -> MethodRouter<S> {
    post(control).with_state(state)
}

async fn control(State(route): State<ReplayRoute>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err((status, message)) = guard(&headers, route.local) {
        return refuse(status, message);
    }
    let body: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(error) => {
            return ApiError::bad_request(format!("the body is not JSON: {error}")).into_response();
        }
    };
    let status = route.feed.status();
    let command = match Command::from_json(&body, (status.start, status.end)) {
        Ok(command) => command,
        Err(message) => return ApiError::bad_request(message).into_response(),
    };
    let number = route.control.send(command);
    // The status shown when the command was carried out: a replay playing on at full speed
    // has moved on by the time the live status could be read.
    let status = route
        .control
        .carried_out(number, ANSWER_WITHIN)
        .await
        .unwrap_or_else(|| route.feed.status());
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json::status(&status)),
    )
        .into_response()
}

/// Refuses a request from another origin (403) or whose body is not declared JSON (415).
fn guard(headers: &HeaderMap, local: SocketAddr) -> Result<(), (StatusCode, &'static str)> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let own = origin
            .to_str()
            .ok()
            .and_then(|origin| origin.strip_prefix("http://"))
            .is_some_and(|authority| host::allowed(authority, local));
        if !own {
            return Err((
                StatusCode::FORBIDDEN,
                "the replay is controlled from this server's own page only (the request's \
                 Origin is another site's)",
            ));
        }
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the command as JSON with `Content-Type: application/json`, such as \
             {\"action\": \"pause\"}",
        ));
    }
    Ok(())
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({ "error": message })),
    )
        .into_response()
}
