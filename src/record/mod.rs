//! The record layer: epochs, AEAD protection and the replay window.

pub mod epoch;
pub mod protect13;
pub mod protection;
pub mod queue;
pub mod replay;
