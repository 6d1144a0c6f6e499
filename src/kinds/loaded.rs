//! The sampling of kinds whose sample is one read of files (sysfs and
//! procfs, microseconds to a millisecond) on the blocking pool, kept for
//! a TTL: `sensors`, `cpu_frequency` and `arrays`.

use std::time::Duration;

use crate::cache::{Cached, Ttl};
use crate::collect::{CollectError, Roots, blocking};
use crate::state::{AppState, Part, Shared};

/// A kind's cache, kept for `ttl`.
pub fn part<T: Send + Sync + 'static>(ttl: Duration) -> Part {
    Box::new(Cached::<T>(Ttl::new(ttl)))
}

/// The kind's sample: from its cache while fresh, else `read` now on the
/// blocking pool; a failed read is reported against `name`.
pub async fn sample<T: Send + Sync + 'static>(
    state: &AppState,
    name: &'static str,
    read: fn(&Roots) -> Result<T, CollectError>,
) -> Result<Shared<T>, CollectError> {
    let cache = &state.part::<Cached<T>>()?.0;
    let errors = state.errors();
    cache
        .get_or_load(|| async {
            let roots = state.roots().clone();
            blocking(errors, name, move || read(&roots))
                .await?
                .inspect_err(|e| {
                    errors.report(name, e);
                })
        })
        .await
}
