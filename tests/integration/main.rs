//! Integration tests: each module drives the real `challenge` binary for one feature.

mod support;

mod build_errors;
mod class;
mod connection_pool;
mod determinism;
mod dev;
mod formats;
mod grading;
mod hostile;
mod hostile_stage;
mod install;
mod learner;
mod lru_cache;
mod message_queue;
mod migrations;
mod output;
mod spec_errors;
mod watch;
mod workspace;
