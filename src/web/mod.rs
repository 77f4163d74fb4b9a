//! The web UI server: axum router, server push, embedded page. TODO web work.
