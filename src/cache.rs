//! One generic TTL cache of typed samples, used for every request kind.
//!
//! - Per-kind TTL; 0 means "collect on every request".
//! - Single-flight: requests arriving while a collection runs wait for the
//!   next result instead of starting their own; a burst costs at most two
//!   collections, however many clients ask.
//! - It stores whatever the loader returns, absence included, so a collector
//!   that found nothing is not re-run until the entry is stale.
//! - It holds typed [`Sample`]s, not bytes: every surface (the WebSocket
//!   frame today, JSON and Prometheus text later) reads the same sample, and
//!   each encoding is made at most once per sample, by the first client that
//!   needs it, then shared. A hit costs a reference count.
//!
//! Time comes from `tokio::time`, so tests drive it with `pause`/`advance`.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::time::Instant;

use crate::wire::Frame;

/// One collected value, when it was taken, and its encodings, each made at
/// most once.
#[derive(Debug)]
pub struct Sample<T> {
    /// The collector's output.
    value: T,
    /// When its collection started (monotonic, for freshness).
    started: Instant,
    /// The same moment on the wall clock, for the replies' timestamps.
    taken_at: SystemTime,
    /// The WebSocket frame (the 768-byte gzip rule applied).
    frame: OnceLock<Frame>,
    /// The JSON bytes, for the JSON kinds (the frame is made from them).
    json: OnceLock<Bytes>,
    /// The Prometheus text of this sample's series.
    text: OnceLock<Bytes>,
    /// Other surfaces' encodings (the Glances API's plugins), by name.
    named: Mutex<Vec<(&'static str, Bytes)>>,
}

impl<T> Sample<T> {
    /// A sample of `value` taken now.
    pub fn new(value: T) -> Self {
        Sample::started_at(value, Instant::now())
    }

    fn started_at(value: T, started: Instant) -> Self {
        Sample {
            value,
            started,
            taken_at: SystemTime::now(),
            frame: OnceLock::new(),
            json: OnceLock::new(),
            text: OnceLock::new(),
            named: Mutex::new(Vec::new()),
        }
    }

    /// The collected value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// How long ago the collection started.
    pub fn age(&self) -> Duration {
        self.started.elapsed()
    }

    /// Wall-clock time of the collection.
    pub fn taken_at(&self) -> SystemTime {
        self.taken_at
    }

    /// The WebSocket frame of this sample: `encode` runs for the first
    /// caller only; later callers share its result.
    pub fn frame(&self, encode: impl FnOnce(&Self) -> Frame) -> Frame {
        self.frame.get_or_init(|| encode(self)).clone()
    }

    /// The JSON bytes of this sample, made once like [`Sample::frame`].
    pub fn json(&self, encode: impl FnOnce(&T) -> Vec<u8>) -> Bytes {
        self.json
            .get_or_init(|| Bytes::from(encode(&self.value)))
            .clone()
    }

    /// The Prometheus text of this sample's series, made once like
    /// [`Sample::frame`].
    pub fn text(&self, encode: impl FnOnce(&T) -> String) -> Bytes {
        self.text
            .get_or_init(|| Bytes::from(encode(&self.value)))
            .clone()
    }

    /// An encoding of this sample by another surface, by `name` (a
    /// Glances plugin's JSON), made once like [`Sample::frame`] (two
    /// readers arriving together may both make it; one is kept).
    pub fn named(&self, name: &'static str, encode: impl FnOnce(&T) -> Bytes) -> Bytes {
        let found = |v: &Vec<(&'static str, Bytes)>| {
            v.iter().find(|(n, _)| *n == name).map(|(_, b)| b.clone())
        };
        if let Some(b) = found(&self.named.lock().unwrap_or_else(PoisonError::into_inner)) {
            return b;
        }
        let made = encode(&self.value);
        let mut named = self.named.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(b) = found(&named) {
            return b;
        }
        named.push((name, made.clone()));
        made
    }

    /// The collection's wall-clock time since the Unix epoch (zero on a
    /// clock set before it), for the replies' timestamps.
    pub fn since_epoch(&self) -> Duration {
        self.taken_at
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    }

    /// An entity tag for this sample: its wall-clock time in nanoseconds,
    /// which two samples of one cache never share.
    pub fn etag(&self, kind: &str) -> String {
        let nanos = self.since_epoch().as_nanos();
        format!("\"{kind}-{nanos:x}\"")
    }
}

/// What a cache gives each new sample to, besides its readers: the
/// history of the charted kinds ([`crate::history`]). Called once per
/// sample, in the flight that took it, so it must be quick.
pub trait Record<T>: Send + Sync + std::fmt::Debug {
    /// Takes note of a new sample.
    fn record(&self, sample: &Sample<T>);
}

/// What a cache holds: one shared sample.
type Entry<T> = Arc<Sample<T>>;

/// A single-flight TTL cache holding one sample.
#[derive(Debug)]
pub struct Ttl<T> {
    /// How long a sample stays fresh after its collection started.
    ttl: Duration,
    /// The current sample; the lock is held only to clone or replace it.
    slot: Mutex<Option<Entry<T>>>,
    /// Held for the whole of a collection: the single flight.
    flight: tokio::sync::Mutex<()>,
    /// Where each new sample is noted, if anywhere.
    record: Option<Arc<dyn Record<T>>>,
}

impl<T> Ttl<T> {
    /// An empty cache with the given TTL.
    pub fn new(ttl: Duration) -> Self {
        Ttl {
            ttl,
            slot: Mutex::new(None),
            flight: tokio::sync::Mutex::new(()),
            record: None,
        }
    }

    /// The same cache, giving each new sample to `record` (when there is
    /// one) as well.
    pub fn recording(mut self, record: Option<Arc<dyn Record<T>>>) -> Self {
        self.record = record;
        self
    }

    /// The TTL this cache was made with.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A sample fresh for a request made at `asked`: younger than the TTL,
    /// or collected by a flight that started after the request was made.
    fn fresh(&self, asked: Instant) -> Option<Entry<T>> {
        let slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref()
            .filter(|e| e.started >= asked || asked.duration_since(e.started) < self.ttl)
            .cloned()
    }

    /// Returns the cached sample, or runs `load` (once for all concurrent
    /// callers) and caches its result. An `Err` from `load` is returned to
    /// this caller and not cached.
    pub async fn get_or_load<E, F, Fut>(&self, load: F) -> Result<Entry<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let asked = Instant::now();
        if let Some(v) = self.fresh(asked) {
            return Ok(v);
        }
        let _flight = self.flight.lock().await;
        if let Some(v) = self.fresh(asked) {
            return Ok(v);
        }
        let started = Instant::now();
        let sample = Arc::new(Sample::started_at(load().await?, started));
        if let Some(record) = &self.record {
            record.record(&sample);
        }
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(sample.clone());
        Ok(sample)
    }
}

/// A bounded set of [`Ttl`] caches, one per key (per-PID answers): at most
/// `capacity` keys, the oldest evicted first, so a client walking every PID
/// costs bounded memory. Each key keeps single-flight.
#[derive(Debug)]
pub struct KeyedTtl<K, V> {
    /// TTL of every entry.
    ttl: Duration,
    /// Most keys held.
    capacity: usize,
    /// The entries, and their keys oldest first.
    entries: Mutex<Slots<K, V>>,
}

/// Per-key caches and their keys in insertion order.
type Slots<K, V> = (HashMap<K, Arc<Ttl<V>>>, VecDeque<K>);

impl<K: Eq + Hash + Clone, V> KeyedTtl<K, V> {
    /// An empty cache.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        KeyedTtl {
            ttl,
            capacity: capacity.max(1),
            entries: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// [`Ttl::get_or_load`] for `key`.
    pub async fn get_or_load<E, F, Fut>(&self, key: K, load: F) -> Result<Entry<V>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let slot = {
            let mut guard = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            let (map, order) = &mut *guard;
            match map.get(&key) {
                Some(slot) => slot.clone(),
                None => {
                    while map.len() >= self.capacity {
                        let Some(oldest) = order.pop_front() else {
                            break;
                        };
                        map.remove(&oldest);
                    }
                    let slot = Arc::new(Ttl::new(self.ttl));
                    map.insert(key.clone(), slot.clone());
                    order.push_back(key);
                    slot
                }
            }
        };
        slot.get_or_load(load).await
    }
}

/// A sampler's kept state (open descriptors, previous readings) that is
/// kept only while someone asks: once nobody has asked for `quiet`, it is
/// swapped for a fresh one and the old is dropped on the blocking pool
/// (closing a thousand descriptors is no work for an async worker). The
/// next ask starts over, as the first one after start did. An opt-in
/// column asked for once then no more costs nothing after that.
pub struct WhileAsked<T> {
    inner: Arc<WhileAskedInner<T>>,
}

struct WhileAskedInner<T> {
    state: Arc<Mutex<T>>,
    fresh: Box<dyn Fn() -> T + Send + Sync>,
    quiet: Duration,
    /// When it was last asked for, and whether a release is waiting.
    asked: Mutex<(Instant, bool)>,
}

impl<T> std::fmt::Debug for WhileAsked<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhileAsked")
            .field("quiet", &self.inner.quiet)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> WhileAsked<T> {
    /// Kept state made by `fresh`, released after `quiet` without an ask.
    pub fn new(quiet: Duration, fresh: impl Fn() -> T + Send + Sync + 'static) -> WhileAsked<T> {
        WhileAsked {
            inner: Arc::new(WhileAskedInner {
                state: Arc::new(Mutex::new(fresh())),
                fresh: Box::new(fresh),
                quiet,
                asked: Mutex::new((Instant::now(), false)),
            }),
        }
    }

    /// The state, for a sample about to be taken: marks it asked for now
    /// (and starts the wait for a quiet spell if none is waiting).
    pub fn asked(&self) -> Arc<Mutex<T>> {
        let mut asked = self
            .inner
            .asked
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        asked.0 = Instant::now();
        if !asked.1
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            asked.1 = true;
            runtime.spawn(release_when_quiet(self.inner.clone()));
        }
        self.inner.state.clone()
    }
}

/// Waits for a spell of `quiet` without an ask, then swaps the state for
/// a fresh one. A sample holding the state then is waited out (a second
/// at a time); an ask meanwhile restarts the wait.
async fn release_when_quiet<T: Send + 'static>(inner: Arc<WhileAskedInner<T>>) {
    loop {
        let wake = {
            let mut asked = inner.asked.lock().unwrap_or_else(PoisonError::into_inner);
            let quiet_from = asked.0 + inner.quiet;
            if Instant::now() < quiet_from {
                quiet_from
            } else if let Ok(mut state) = inner.state.try_lock() {
                let old = std::mem::replace(&mut *state, (inner.fresh)());
                asked.1 = false;
                drop(tokio::task::spawn_blocking(move || drop(old)));
                return;
            } else {
                Instant::now() + Duration::from_secs(1)
            }
        };
        tokio::time::sleep_until(wake).await;
    }
}

#[cfg(test)]
mod tests {
    /// Kept while asked; a quiet spell swaps in a fresh state, and the
    /// next ask starts from it.
    #[tokio::test(start_paused = true)]
    // The lock held across the sleeps stands for a sample holding the
    // state on a blocking thread.
    #[allow(clippy::await_holding_lock)]
    async fn kept_state_is_let_go_after_a_quiet_spell_and_made_anew() {
        let made = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = made.clone();
        let kept = WhileAsked::new(Duration::from_secs(60), move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Vec::<u8>::new()
        });
        kept.asked().lock().unwrap().extend([1, 2, 3]);
        tokio::time::sleep(Duration::from_secs(50)).await;
        // Asked again before the spell ended: kept, and the wait restarts.
        assert_eq!(kept.asked().lock().unwrap().len(), 3);
        tokio::time::sleep(Duration::from_secs(50)).await;
        assert_eq!(made.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(
            kept.inner.state.lock().unwrap().len(),
            3,
            "50 s after the last ask"
        );
        tokio::time::sleep(Duration::from_secs(11)).await;
        assert_eq!(
            made.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "made anew"
        );
        assert!(kept.inner.state.lock().unwrap().is_empty(), "let go");
        // Held by a sample when the spell ends: let go once it is done.
        let state = kept.asked();
        let held = state.lock().unwrap();
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert_eq!(made.load(std::sync::atomic::Ordering::SeqCst), 2);
        drop(held);
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(made.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    use super::*;
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicU32, Ordering};

    async fn count(cache: &Ttl<u32>, calls: &AtomicU32) -> u32 {
        cache
            .get_or_load(|| async { Ok::<_, Infallible>(calls.fetch_add(1, Ordering::SeqCst) + 1) })
            .await
            .map(|s| *s.value())
            .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn fresh_within_ttl_stale_after() {
        let cache = Ttl::new(Duration::from_millis(250));
        let calls = AtomicU32::new(0);
        assert_eq!(count(&cache, &calls).await, 1);
        tokio::time::advance(Duration::from_millis(249)).await;
        assert_eq!(count(&cache, &calls).await, 1, "still fresh");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(count(&cache, &calls).await, 2, "stale at the TTL");
    }

    #[tokio::test(start_paused = true)]
    async fn ttl_zero_collects_every_time() {
        let cache = Ttl::new(Duration::ZERO);
        let calls = AtomicU32::new(0);
        for want in 1..=3 {
            tokio::time::advance(Duration::from_millis(1)).await;
            assert_eq!(count(&cache, &calls).await, want);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn single_flight_under_a_burst() {
        let cache = Arc::new(Ttl::new(Duration::from_millis(100)));
        let calls = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (cache, calls) = (cache.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_load(|| async {
                        tokio::time::sleep(Duration::from_millis(30)).await;
                        Ok::<_, Infallible>(calls.fetch_add(1, Ordering::SeqCst) + 1)
                    })
                    .await
                    .map(|s| *s.value())
                    .unwrap()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 1);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn ttl_zero_burst_joins_the_next_flight() {
        let cache = Arc::new(Ttl::new(Duration::ZERO));
        let calls = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for i in 0..20u64 {
            let (cache, calls) = (cache.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(i)).await;
                cache
                    .get_or_load(|| async {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok::<_, Infallible>(calls.fetch_add(1, Ordering::SeqCst))
                    })
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let n = calls.load(Ordering::SeqCst);
        assert!(n <= 2, "20 requests during a flight caused {n} collections");
    }

    #[tokio::test(start_paused = true)]
    async fn absence_is_cached_and_errors_are_not() {
        let cache: Ttl<Option<u32>> = Ttl::new(Duration::from_secs(1));
        let calls = AtomicU32::new(0);
        for _ in 0..3 {
            let v = cache
                .get_or_load(|| async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, Infallible>(None)
                })
                .await
                .unwrap();
            assert_eq!(*v.value(), None);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "None was cached");

        let failing: Ttl<u32> = Ttl::new(Duration::from_secs(1));
        for _ in 0..2 {
            let r = failing
                .get_or_load(|| async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err::<u32, _>("boom")
                })
                .await;
            assert_eq!(r.err(), Some("boom"));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3, "errors were retried");
    }

    #[tokio::test(start_paused = true)]
    async fn keyed_cache_is_bounded_and_per_key() {
        let cache: KeyedTtl<u32, u32> = KeyedTtl::new(Duration::from_millis(250), 64);
        let calls = AtomicU32::new(0);
        for pid in 0..1000 {
            let v = cache
                .get_or_load(pid, || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, Infallible>(pid * 2)
                })
                .await
                .unwrap();
            assert_eq!(*v.value(), pid * 2);
        }
        assert_eq!(cache.len(), 64, "bounded");
        let again = cache
            .get_or_load(999, || async { Ok::<_, Infallible>(0) })
            .await
            .unwrap();
        assert_eq!(*again.value(), 1998, "a recent key is still cached");
        let evicted = cache
            .get_or_load(0, || async { Ok::<_, Infallible>(7) })
            .await
            .unwrap();
        assert_eq!(*evicted.value(), 7, "the oldest key was evicted");
    }

    #[tokio::test(start_paused = true)]
    async fn each_encoding_is_made_once_per_sample_for_every_client() {
        let cache = Arc::new(Ttl::new(Duration::from_secs(1)));
        let encoded = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let (cache, encoded) = (cache.clone(), encoded.clone());
            tasks.push(tokio::spawn(async move {
                let sample = cache
                    .get_or_load(|| async { Ok::<_, Infallible>(41u32) })
                    .await
                    .unwrap();
                let json = sample.json(|v| {
                    encoded.fetch_add(1, Ordering::SeqCst);
                    (v + 1).to_string().into_bytes()
                });
                let frame =
                    sample.frame(|s| crate::wire::json_frame(s.value().to_string().into_bytes()));
                (json, frame)
            }));
        }
        for t in tasks {
            let (json, frame) = t.await.unwrap();
            assert_eq!(&json[..], b"42");
            assert_eq!(frame.payload(), b"41");
        }
        assert_eq!(
            encoded.load(Ordering::SeqCst),
            1,
            "one encoding for 32 clients"
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        let next = cache
            .get_or_load(|| async { Ok::<_, Infallible>(1u32) })
            .await
            .unwrap();
        next.json(|_| {
            encoded.fetch_add(1, Ordering::SeqCst);
            Vec::new()
        });
        assert_eq!(
            encoded.load(Ordering::SeqCst),
            2,
            "a new sample is encoded anew"
        );
    }
}
