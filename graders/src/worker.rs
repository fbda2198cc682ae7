//! What runs inside the worker process: load the plugin(s), drive the scenario, emit records.

use crate::host::Host;
use crate::plugin::{load_table, LoadProblem};
use crate::scenario::{Observation, ScenarioBody, System};
use crate::wire::{Job, Record, Task};

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
        System::RateLimiter => {
            let symbol = challenge_harness::ffi::RATE_LIMITER_SYMBOL;
            let learner = match load_table(&job.learner, symbol) {
                Ok(table) => table,
                Err(problem) => return emit(Record::LoadFailed { reference: false, problem }),
            };
            let reference = match (&job.task, &job.reference) {
                (Task::Run { scenario }, Some(path)) if scenario.needs_reference() => match load_table(path, symbol) {
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
            if let Task::Run { scenario: ScenarioBody::RateLimiter(scenario) } = &job.task {
                let host = Host::leak();
                let mut observe = |o| emit(Record::Observation(Observation::RateLimiter(o)));
                if let Err(message) =
                    crate::rate_limiter::drive(learner, reference, host, scenario, job.seed, &mut observe)
                {
                    emit(Record::Panicked { message });
                }
            }
            emit(Record::Done);
        }
    }
}
