//! Exports the worker's `clock_gettime` (src/clock_watch.rs) from the `challenge` executable, so a
//! learner's cdylib resolves its clock reads to it and the grader can count them.

fn main() {
    println!("cargo:rustc-link-arg-bins=-Wl,--export-dynamic-symbol=clock_gettime");
    println!("cargo:rerun-if-changed=build.rs");
}
