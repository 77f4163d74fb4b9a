//! Synthetic recordings. TODO synth work.
