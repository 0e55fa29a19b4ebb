//! The record layer: epochs, AEAD protection, the replay window and the one path every
//! protected record takes in ([`layer::RecordLayer::open_with`]).

pub mod epoch;
pub(crate) mod layer;
pub mod protect12;
pub mod queue;
pub mod replay;
