//! The record layer: epochs, AEAD protection (per version), the replay window and the one path
//! every protected record takes in ([`layer::RecordLayer`]).

pub mod epoch;
pub(crate) mod layer;
pub mod protect12;
pub mod protect13;
pub mod queue;
pub mod replay;
