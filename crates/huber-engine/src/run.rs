//! The engine's one entry point: [`evaluate`] takes checked [`Options`] and returns an
//! [`Outcome`]: values, never output. Element losses and gradients, which may be larger than
//! memory, stream into the caller's [`ElementSink`](crate::ElementSink) (or are collected when
//! none is given).

use crate::error::Error;
use crate::input::Location;
use crate::options::{Hooks, Options};
use crate::outcome::Outcome;
use crate::pipeline::Engine;
use crate::plan::Plan;

/// Runs `options`: checks them, opens the inputs, makes the passes the run needs and returns
/// what it computed.
///
/// ```no_run
/// use huber_engine::{InputSpec, Options, Results, evaluate};
///
/// let spec = |s: &str| InputSpec::parse(s.as_ref());
/// let options = Options::new(spec("pred.npy")?, spec("target.npy")?);
/// if let Results::Scalars(results) = evaluate(&options, Default::default())?.results {
///     println!("{}", results[0].value);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn evaluate(options: &Options, hooks: Hooks<'_>) -> Result<Outcome, Error> {
    options.check()?;
    let engine = if in_memory(options) && (options.threads == 0 || small(options)) {
        Engine::here(options.nan)?
    } else {
        Engine::new(options.threads, options.nan)?
    };
    Ok(Plan::new(options).run(&engine, hooks)?)
}

/// Whether every input is an array in memory, without broadcasting (which may make many elements
/// of small arrays): a run of the Python package, which computes in a pool the calling thread
/// works in.
fn in_memory(options: &Options) -> bool {
    !options.broadcast
        && options
            .inputs()
            .chain(options.by.as_ref())
            .all(|spec| matches!(spec.location, Location::Array(_)))
}

/// Runs of at most this many elements, all in memory, compute on the calling thread.
const SMALL: usize = 1 << 15;

/// Whether every input is an array in memory of at most [`SMALL`] elements, without
/// broadcasting (which may make many elements of small arrays): a run that starts and ends in
/// less time than handing it to a pool of threads takes.
fn small(options: &Options) -> bool {
    !options.broadcast
        && options
            .inputs()
            .chain(options.by.as_ref())
            .all(|spec| match &spec.location {
                Location::Array(a) => a.shape().iter().product::<usize>() <= SMALL,
                _ => false,
            })
}
