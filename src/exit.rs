//! Exit codes, named, so scripts and CI can tell outcomes apart.

/// Everything graded passed (for `test`: every scenario passed).
pub const PASSED: u8 = 0;
/// Graded, but below the pass mark (for `test`: some scenario failed).
pub const BELOW_PASS: u8 = 1;
/// Bad usage, a bad spec, or a missing catalogue: nothing was graded.
pub const USAGE: u8 = 2;
/// A submission could not be built.
pub const BUILD_FAILED: u8 = 3;
/// The tool itself failed (an I/O error, a grader bug).
pub const INTERNAL: u8 = 4;
