//! TODO source
