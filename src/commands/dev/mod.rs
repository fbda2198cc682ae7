//! `challenge dev`: tools for challenge authors. `check` proves the whole catalogue consistent,
//! reporting every problem; `new` scaffolds a challenge that passes `check` from the start.
//! docs/authoring.md walks through both.

mod check;
mod new;
mod repeat;
mod scaffold;

pub(super) use check::check;
pub(super) use new::new;
pub(super) use repeat::repeat;
