//! The sampling of kinds whose sample is one read of files (sysfs and
//! procfs, microseconds to a millisecond) on the blocking pool, kept for
//! a TTL: `sensors`, `cpu_frequency` and `arrays`.

use std::sync::Arc;
use std::time::Duration;

use crate::cache::Ttl;
use crate::collect::sysfs::Kept;
use crate::collect::{CollectError, Roots, blocking};
use crate::history::Row;
use crate::state::{AppState, Context, Part, Shared};

/// A kind's cache and the kept files it reads through (shared by the
/// hardware kinds).
#[derive(Debug)]
pub struct Loaded<T> {
    cache: Ttl<T>,
    files: Arc<Kept>,
}

/// A kind's part, its samples kept for `ttl`.
pub fn part<T: Send + Sync + 'static>(cx: &Context<'_>, ttl: Duration) -> Part {
    Box::new(Loaded::<T> {
        cache: Ttl::new(ttl),
        files: cx.hardware_files.clone(),
    })
}

/// [`part`] for a charted kind: its new samples also go to the history of
/// `name`, as `rows` takes them.
pub fn charted<T: Send + Sync + 'static>(
    cx: &Context<'_>,
    ttl: Duration,
    name: &'static str,
    rows: for<'a> fn(&'a T, &mut Row<'a>),
) -> Part {
    Box::new(Loaded::<T> {
        cache: Ttl::new(ttl).recording(cx.history.recorder(name, rows)),
        files: cx.hardware_files.clone(),
    })
}

/// The kind's sample: from its cache while fresh, else `read` now on the
/// blocking pool; a failed read is reported against `name`.
pub async fn sample<T: Send + Sync + 'static>(
    state: &AppState,
    name: &'static str,
    read: fn(&Roots, &Kept) -> Result<T, CollectError>,
) -> Result<Shared<T>, CollectError> {
    let part = state.part::<Loaded<T>>()?;
    let errors = state.errors();
    part.cache
        .get_or_load(|| async {
            let (roots, files) = (state.roots().clone(), part.files.clone());
            blocking(errors, name, move || read(&roots, &files))
                .await?
                .inspect_err(|e| {
                    errors.report(name, e);
                })
        })
        .await
}
