//! Challenge specs: `challenges/NN-slug/challenge.toml`, versioned and strictly validated.

mod load;
mod types;

pub use load::{load, SpecError};
pub use types::{ChallengeSpec, Hint, ResourceLimits, Rubric, ScenarioSpec, Visibility};
#[cfg(test)]
pub use types::{Criterion, Level};
