//! Stage 2, **link**: one core module from the instance graph.
//!
//! The [`planner`] turns the translation into a [`plan::Plan`] — every core instance
//! in instantiation order, each import tied to an item of an earlier instance
//! — and [`merge`] re-encodes all instances into one module with
//! `wasm_encoder::reencode`, giving each its own index ranges.

mod devirt;
pub mod exports;
pub mod listcopy;
mod live;
pub mod merge;
mod parse;
pub mod plan;
pub mod planner;
mod space;
pub mod unwind;
