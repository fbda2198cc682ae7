//! Challenge 3, the connection pool: its scenario vocabulary, the host's fault-injecting
//! factory (real SQLite connections behind integer ids, and a ledger of every one), the
//! worker-side driver and checks, and the parent-side judge.

mod behaviour;
mod checks;
mod driver;
mod factory;
mod judge;
mod observation;
mod script;

pub use behaviour::Behaviour;
pub use driver::{drive, Lease, Pool};
pub use factory::HostFactory;
pub use judge::{interrupted, judge};
pub use observation::{Audit, HostCounts, Observation, Outcome, PoolError, Stats};
pub use script::{parse, AcquireExpect, Action, Check, Config, Identity, PartialStats, Release, Scenario, Script, Step};
