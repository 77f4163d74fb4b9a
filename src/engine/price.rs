//! TODO engine
