//! What runs inside the worker process: load the plugin(s), drive the scenario, emit records.

use challenge_harness::ffi::{
    ConnectionPoolTable, LruCacheTable, MessageQueueTable, MigrationRunnerTable, RateLimiterTable,
    CONNECTION_POOL_SYMBOL, LRU_CACHE_SYMBOL, MESSAGE_QUEUE_SYMBOL, MIGRATION_RUNNER_SYMBOL, RATE_LIMITER_SYMBOL,
};

use crate::host::Host;
use crate::plugin::{load_table, HasHeader, LoadProblem};
use crate::scenario::{Observation, ScenarioBody, System};
use crate::wire::{Job, Record, Task};
use crate::{connection_pool, lru_cache, message_queue, migrations, rate_limiter};

/// Runs `job`, sending every record to `emit`, ending with `Done` unless the learner's code takes
/// the process down first.
///
/// # Safety
/// Loads and runs foreign code: call only inside a worker process with its limits in place.
pub unsafe fn run_job(job: &Job, emit: &mut dyn FnMut(Record)) {
    let system = match &job.task {
        Task::Probe { system } => *system,
        Task::Run { scenario } => scenario.system(),
    };
    match system {
        System::RateLimiter => run::<RateLimiterTable>(job, RATE_LIMITER_SYMBOL, emit, |learner, reference, emit| {
            let Task::Run { scenario: ScenarioBody::RateLimiter(scenario) } = &job.task else { return Ok(()) };
            let mut observe = |o| emit(Record::Observation(Observation::RateLimiter(o)));
            rate_limiter::drive(learner, reference, Host::leak(), scenario, job.seed, &mut observe)
        }),
        System::LruCache => run::<LruCacheTable>(job, LRU_CACHE_SYMBOL, emit, |learner, reference, emit| {
            let Task::Run { scenario: ScenarioBody::LruCache(scenario) } = &job.task else { return Ok(()) };
            let mut observe = |o| emit(Record::Observation(Observation::LruCache(o)));
            lru_cache::drive(learner, reference, Host::leak(), scenario, job.seed, &mut observe)
        }),
        System::ConnectionPool => {
            run::<ConnectionPoolTable>(job, CONNECTION_POOL_SYMBOL, emit, |learner, reference, emit| {
                let Task::Run { scenario: ScenarioBody::ConnectionPool(scenario) } = &job.task else { return Ok(()) };
                let mut observe = |o| emit(Record::Observation(Observation::ConnectionPool(o)));
                connection_pool::drive(learner, reference, Host::leak(), scenario, job.seed, &mut observe)
            })
        }
        System::MessageQueue => run::<MessageQueueTable>(job, MESSAGE_QUEUE_SYMBOL, emit, |learner, reference, emit| {
            let Task::Run { scenario: ScenarioBody::MessageQueue(scenario) } = &job.task else { return Ok(()) };
            let mut observe = |o| emit(Record::Observation(Observation::MessageQueue(o)));
            message_queue::drive(learner, reference, Host::leak(), scenario, job.seed, &mut observe)
        }),
        System::Migrations => {
            run::<MigrationRunnerTable>(job, MIGRATION_RUNNER_SYMBOL, emit, |learner, reference, emit| {
                let Task::Run { scenario: ScenarioBody::Migrations(scenario) } = &job.task else { return Ok(()) };
                let mut observe = |o| emit(Record::Observation(Observation::Migrations(o)));
                migrations::drive(learner, reference, Host::leak(), scenario, job.seed, &mut observe)
            })
        }
    }
}

/// Loads the learner's table (and the reference's when the scenario compares), then runs `drive`
/// on them, which returns `Err` with a panic message from outside any step.
unsafe fn run<T: HasHeader>(
    job: &Job,
    symbol: &str,
    emit: &mut dyn FnMut(Record),
    drive: impl FnOnce(&'static T, Option<&'static T>, &mut dyn FnMut(Record)) -> Result<(), String>,
) {
    let learner = match load_table::<T>(&job.learner, symbol) {
        Ok(table) => table,
        Err(problem) => return emit(Record::LoadFailed { reference: false, problem }),
    };
    let reference = match (&job.task, &job.reference) {
        (Task::Run { scenario }, Some(path)) if scenario.needs_reference() => match load_table::<T>(path, symbol) {
            Ok(table) => Some(table),
            Err(problem) => return emit(Record::LoadFailed { reference: true, problem }),
        },
        (Task::Run { scenario }, None) if scenario.needs_reference() => {
            let problem = LoadProblem::Open { detail: "no reference solution was provided".to_owned() };
            return emit(Record::LoadFailed { reference: true, problem });
        }
        _ => None,
    };
    emit(Record::Loaded);
    if let Err(message) = drive(learner, reference, emit) {
        emit(Record::Panicked { message });
    }
    emit(Record::Done);
}
