//! The depth snapshot: the best levels per side (SPEC 2.5).

use super::Level;

/// Best levels per side: bids by price descending, asks by price ascending.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Depth {
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}
