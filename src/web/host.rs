//! The guard against DNS rebinding: a request must name the server by an address it listens
//! on, so that a page of another site, whose name was made to resolve to this machine, cannot
//! read the data.
//!
//! On a loopback address the server answers to `localhost`, `127.0.0.1` and `[::1]`, with its
//! port; on another address, to that address (any address of the machine, or `localhost`, when
//! it listens on all of them, `0.0.0.0` or `::`). No other name is accepted, whatever it
//! resolves to: a site can rename itself, not an IP address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{Request, State};
use axum::http::header;
use axum::http::uri::Authority;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::api::ApiError;

/// The most of a refused `Host` that is quoted back.
const MAX_QUOTED: usize = 80;

/// Middleware: refuses with `421 Misdirected Request` a request whose `Host` (or absolute URI)
/// does not name `local`, the address the server listens on.
pub async fn check(State(local): State<SocketAddr>, request: Request, next: Next) -> Response {
    let named = request.uri().authority().map(Authority::as_str);
    let host = request
        .headers()
        .get(header::HOST)
        .map(|value| value.to_str().unwrap_or("?"));
    let refused = [named, host]
        .into_iter()
        .flatten()
        .find(|name| !allowed(name, local));
    match (refused, named.or(host)) {
        (None, Some(_)) => next.run(request).await,
        (Some(name), _) => ApiError::misdirected(format!(
            "this server answers to {}, not to `{}`: open it by one of those addresses \
             (a guard against DNS rebinding)",
            names(local),
            quoted(name)
        ))
        .into_response(),
        (None, None) => ApiError::misdirected(format!(
            "no Host header: this server answers to {}",
            names(local)
        ))
        .into_response(),
    }
}

/// Whether `authority` (a `Host` value: a name or address, and a port) names `local`.
pub fn allowed(authority: &str, local: SocketAddr) -> bool {
    let Ok(authority) = authority.parse::<Authority>() else {
        return false;
    };
    if authority.as_str().contains('@') {
        return false;
    }
    // A browser leaves out only the scheme's default port.
    match authority.port_u16() {
        Some(port) if port == local.port() => {}
        None if local.port() == 80 => {}
        _ => return false,
    }
    let ip = local.ip();
    let host = authority.host();
    if host.eq_ignore_ascii_case("localhost") {
        return ip.is_loopback() || ip.is_unspecified();
    }
    let literal = host
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(host);
    match literal.parse::<IpAddr>() {
        Ok(named) => {
            named == ip || ip.is_unspecified() || (ip.is_loopback() && named.is_loopback())
        }
        Err(_) => false,
    }
}

/// The names a browser may use, for messages.
fn names(local: SocketAddr) -> String {
    let port = local.port();
    let ip = local.ip();
    if ip.is_loopback() {
        format!("localhost:{port}, 127.0.0.1:{port} and [::1]:{port}")
    } else if ip.is_unspecified() {
        format!("localhost:{port} and the IP addresses of this machine with port {port}")
    } else {
        local.to_string()
    }
}

fn quoted(name: &str) -> String {
    match name.char_indices().nth(MAX_QUOTED) {
        Some((cut, _)) => format!("{}…", &name[..cut]),
        None => name.to_string(),
    }
}

/// The warning for a server that listens beyond this machine (`None` on loopback).
pub fn exposure_warning(local: SocketAddr) -> Option<String> {
    if local.ip().is_loopback() {
        return None;
    }
    let reach = if local.ip().is_unspecified() {
        "every network this machine is on"
    } else {
        "the network of that address"
    };
    Some(format!(
        "listening on {local}, reachable from {reach}: anyone who can connect can read the data \
         (there is no password); pass --host 127.0.0.1 to keep it on this machine"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_must_name_the_address_listened_on() {
        let loopback: SocketAddr = "127.0.0.1:8050".parse().unwrap();
        let lan: SocketAddr = "192.168.1.5:8050".parse().unwrap();
        let all: SocketAddr = "0.0.0.0:8050".parse().unwrap();
        let web: SocketAddr = "127.0.0.1:80".parse().unwrap();
        for (host, local, expected) in [
            ("localhost:8050", loopback, true),
            ("LOCALHOST:8050", loopback, true),
            ("127.0.0.1:8050", loopback, true),
            ("[::1]:8050", loopback, true),
            ("127.0.0.1:8051", loopback, false),
            ("localhost", loopback, false),
            ("localhost", web, true),
            ("evil.example:8050", loopback, false),
            ("localhost.evil.example:8050", loopback, false),
            ("user@localhost:8050", loopback, false),
            ("", loopback, false),
            ("192.168.1.5:8050", loopback, false),
            ("192.168.1.5:8050", lan, true),
            ("localhost:8050", lan, false),
            ("10.0.0.7:8050", lan, false),
            ("10.0.0.7:8050", all, true),
            ("localhost:8050", all, true),
            ("evil.example:8050", all, false),
        ] {
            assert_eq!(allowed(host, local), expected, "{host} on {local}");
        }
    }

    #[test]
    fn listening_beyond_loopback_is_warned_about() {
        for (address, warned) in [
            ("127.0.0.1:8050", false),
            ("127.0.0.2:8050", false),
            ("[::1]:8050", false),
            ("0.0.0.0:8050", true),
            ("[::]:8050", true),
            ("192.168.1.5:8050", true),
        ] {
            let warning = exposure_warning(address.parse().unwrap());
            assert_eq!(warning.is_some(), warned, "{address}: {warning:?}");
        }
    }
}
