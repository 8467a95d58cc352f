//! What fluoro says about objects: one object's report (`fluoro inspect EXPR`) and the table
//! of common sizes and growth (`fluoro inspect --sizes`). The facts are gathered by the
//! extension crate; this crate holds their shape and their rendering.

mod report;
mod sizes;

pub use report::{Cached, DeepSize, Layout, ObjectReport, TypeShare};
pub use sizes::{Growth, GrowthStep, SizeRow, SizesTable};
