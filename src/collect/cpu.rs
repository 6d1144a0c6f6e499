//! Whole-machine and per-core CPU busy % from `/proc/stat` deltas.

use super::{CollectError, CollectorErrors, History, HostClock, Kept, ParseError, Roots, num};

const FILE: &str = "/proc/stat";

/// Cumulative jiffies of one `cpu` line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuJiffies {
    /// Jiffies spent doing anything but idling or waiting for I/O.
    pub busy: u64,
    /// All jiffies (guest time is already inside user/nice, so not added).
    pub total: u64,
    /// Jiffies per mode, in [`MODES`] order (zero where the kernel's line
    /// is shorter).
    pub modes: [u64; 8],
    /// Jiffies running guests: `guest` and `guest_nice` (already counted
    /// in user and nice).
    pub guest: [u64; 2],
}

/// The modes of a `cpu` line, in order, as node_exporter names them.
pub const MODES: [&str; 8] = [
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
];

impl CpuJiffies {
    /// Busy % of the interval between `earlier` and `self`, 0–100.
    pub fn busy_percent_since(&self, earlier: &CpuJiffies) -> f32 {
        let total = self.total.saturating_sub(earlier.total);
        if total == 0 {
            return 0.0;
        }
        let busy = self.busy.saturating_sub(earlier.busy).min(total);
        (busy as f64 * 100.0 / total as f64) as f32
    }

    /// Each mode's share of the interval, [`MODES`] order, 0–100.
    pub fn modes_percent_since(&self, earlier: &CpuJiffies) -> [f32; 8] {
        let total = self.total.saturating_sub(earlier.total);
        let mut out = [0.0; 8];
        if total == 0 {
            return out;
        }
        for (i, slot) in out.iter_mut().enumerate() {
            let spent = self.modes[i].saturating_sub(earlier.modes[i]).min(total);
            *slot = (spent as f64 * 100.0 / total as f64) as f32;
        }
        out
    }
}

/// What `/proc/stat` says about CPUs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// The aggregate `cpu` line.
    pub all: CpuJiffies,
    /// `cpuN` lines, as (N, jiffies): offline CPUs are simply absent.
    pub cores: Vec<(u32, CpuJiffies)>,
    /// `btime`: boot time, Unix seconds.
    pub boot_time_secs: Option<u64>,
    /// The rest of the file, as node_exporter's `stat` collector serves it.
    pub system: SystemCounters,
}

/// `/proc/stat`'s counters beside the CPU lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemCounters {
    /// `ctxt`: context switches since boot.
    pub context_switches: Option<u64>,
    /// `intr`'s first number: interrupts serviced since boot.
    pub interrupts: Option<u64>,
    /// `processes`: forks since boot.
    pub forks: Option<u64>,
    /// `procs_running`.
    pub procs_running: Option<u64>,
    /// `procs_blocked`.
    pub procs_blocked: Option<u64>,
}

/// Parses `/proc/stat`.
pub fn parse_stat(text: &str) -> Result<CpuTimes, ParseError> {
    let mut times = CpuTimes::default();
    let mut saw_total = false;
    for line in super::lines(text) {
        let mut fields = line.split_ascii_whitespace();
        let Some(key) = fields.next() else { continue };
        if let Some(id) = key.strip_prefix("cpu") {
            let jiffies = parse_cpu_fields(fields)?;
            if id.is_empty() {
                times.all = jiffies;
                saw_total = true;
            } else {
                times.cores.push((num(FILE, "cpu id", Some(id))?, jiffies));
            }
        } else {
            let slot = match key {
                "btime" => {
                    times.boot_time_secs = Some(num(FILE, "btime", fields.next())?);
                    continue;
                }
                "ctxt" => &mut times.system.context_switches,
                "intr" => &mut times.system.interrupts,
                "processes" => &mut times.system.forks,
                "procs_running" => &mut times.system.procs_running,
                "procs_blocked" => &mut times.system.procs_blocked,
                _ => continue,
            };
            *slot = Some(num(FILE, key, fields.next())?);
        }
    }
    if !saw_total {
        return Err(ParseError::new(FILE, "no aggregate cpu line"));
    }
    Ok(times)
}

fn parse_cpu_fields<'a>(fields: impl Iterator<Item = &'a str>) -> Result<CpuJiffies, ParseError> {
    // user nice system idle iowait irq softirq steal [guest guest_nice]
    let mut all = [0u64; 10];
    let mut n = 0;
    for (slot, field) in all.iter_mut().zip(fields) {
        *slot = num(FILE, "cpu jiffies", Some(field))?;
        n += 1;
    }
    if n < 4 {
        return Err(ParseError::new(FILE, "cpu line has fewer than 4 fields"));
    }
    let [
        user,
        nice,
        system,
        idle,
        iowait,
        irq,
        softirq,
        steal,
        guest,
        guest_nice,
    ] = all;
    let v = [user, nice, system, idle, iowait, irq, softirq, steal];
    // Saturating: these are the host's numbers, and a garbled file must
    // not wrap into a plausible value.
    let total = v.iter().fold(0u64, |sum, j| sum.saturating_add(*j));
    let idle = v[3].saturating_add(v[4]);
    Ok(CpuJiffies {
        busy: total.saturating_sub(idle),
        total,
        modes: v,
        guest: [guest, guest_nice],
    })
}

/// CPU busy percentages over the window since the baseline sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuUsage {
    /// Whole machine, 0–100.
    pub total_percent: f32,
    /// The cumulative counters the percentages were computed from (for
    /// exporters that want seconds by mode).
    pub times: CpuTimes,
    /// One entry per online logical CPU, in CPU-id order, 0–100 each.
    pub per_core_percent: Vec<f32>,
    /// The whole machine's share of the window in each mode, [`MODES`]
    /// order, 0–100 (Glances' `user`, `system`…).
    pub modes_percent: [f32; 8],
    /// The same per logical CPU, in CPU-id order.
    pub per_core_modes_percent: Vec<[f32; 8]>,
    /// Seconds the shares cover (since boot before a baseline exists).
    pub window_secs: f64,
    /// `ctxt` and `intr` over the window, per second.
    pub switches_per_sec: Option<f64>,
    /// Interrupts per second over the window.
    pub interrupts_per_sec: Option<f64>,
}

/// Samples `/proc/stat` through a kept descriptor; remembers recent samples
/// so every answer covers at least [`super::MIN_WINDOW`].
#[derive(Debug)]
pub struct CpuSampler {
    stat: Kept,
    history: History<CpuTimes>,
}

impl CpuSampler {
    /// A sampler reading `ROOT/proc/stat`; reads nothing yet.
    pub fn new(roots: &Roots) -> CpuSampler {
        CpuSampler {
            stat: Kept::new(roots.proc.join("stat")),
            history: History::default(),
        }
    }

    /// Current usage over the window since the newest earlier sample at
    /// least [`super::MIN_WINDOW`] old. Before one exists (the first
    /// requests after startup) the baseline is boot, when every counter was
    /// zero: a since-boot average, real and never a too-short window, so
    /// even the first metrics reply needs no wait.
    pub fn sample(&mut self) -> Result<CpuUsage, CollectError> {
        let now = std::time::Instant::now();
        let times = parse_stat(self.stat.read_checked()?)?;
        let baseline = self.history.baseline(now);
        let window = baseline.map(|(at, _)| now.saturating_duration_since(at).as_secs_f64());
        let mut usage = usage_between(&times, baseline.map(|(_, b)| b));
        if let Some(secs) = window.filter(|s| *s > 0.0) {
            usage.window_secs = secs;
            if let Some((_, base)) = baseline {
                let per_sec = |now: Option<u64>, then: Option<u64>| {
                    Some(now?.saturating_sub(then?) as f64 / secs)
                };
                usage.switches_per_sec =
                    per_sec(times.system.context_switches, base.system.context_switches);
                usage.interrupts_per_sec = per_sec(times.system.interrupts, base.system.interrupts);
            }
        }
        self.history.push(now, times);
        Ok(usage)
    }

    /// Takes a baseline sample without computing anything (startup warm-up).
    pub fn warm_up(&mut self) {
        if self.history.is_empty()
            && let Some(times) = self.stat.read().ok().and_then(|t| parse_stat(t).ok())
        {
            self.history.push(std::time::Instant::now(), times);
        }
    }
}

/// Busy % between two samples; without a baseline, since boot.
pub fn usage_between(now: &CpuTimes, base: Option<&CpuTimes>) -> CpuUsage {
    let zero = CpuTimes::default();
    let base = base.unwrap_or(&zero);
    // Each core against its own earlier line (a core that came online
    // since counts from zero), busy share and modes in one pass.
    let (per_core_percent, per_core_modes_percent) = now
        .cores
        .iter()
        .map(|(id, j)| {
            let earlier = base
                .cores
                .iter()
                .find(|(bid, _)| bid == id)
                .map(|(_, b)| *b)
                .unwrap_or_default();
            (
                j.busy_percent_since(&earlier),
                j.modes_percent_since(&earlier),
            )
        })
        .unzip();
    CpuUsage {
        total_percent: now.all.busy_percent_since(&base.all),
        per_core_percent,
        modes_percent: now.all.modes_percent_since(&base.all),
        per_core_modes_percent,
        window_secs: 0.0,
        switches_per_sec: None,
        interrupts_per_sec: None,
        times: now.clone(),
    }
}

/// The host clock is read from `/proc/stat` (boot time, core count), so
/// its reader lives with that file's parser.
impl HostClock {
    /// Reads the boot time under `roots` (a small file: call it before
    /// serving or from the blocking pool) and asks the OS for the rest.
    pub fn read(roots: &Roots, errors: &CollectorErrors) -> HostClock {
        let path = roots.proc.join("stat");
        let stat = std::fs::read_to_string(&path)
            .map_err(|e| CollectError::read(&path, e))
            .and_then(|t| Ok(parse_stat(&t)?));
        let stat = errors.ok("clock", stat);
        HostClock {
            ticks_per_sec: rustix::param::clock_ticks_per_second(),
            boot_time_secs: stat.as_ref().and_then(|s| s.boot_time_secs).unwrap_or(0),
            page_size: rustix::param::page_size() as u64,
            cpus: stat.map_or(1, |s| s.cores.len().max(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  4705 356 584 3699 23 23 0 0 0 0
cpu0 1393 280 197 1800 10 13 0 0 0 0
cpu1 3312 76 387 1899 13 10 0 0 0 0
intr 114930548 113199788 3 0 5 263 0 4 [... lots more numbers ...]
ctxt 1990473
btime 1062191376
processes 2915
procs_running 1
procs_blocked 0
";

    #[test]
    fn parses_aggregate_cores_and_btime() {
        let t = parse_stat(STAT).unwrap();
        assert_eq!(
            t.all,
            CpuJiffies {
                busy: 4705 + 356 + 584 + 23,
                total: 4705 + 356 + 584 + 3699 + 23 + 23,
                modes: [4705, 356, 584, 3699, 23, 23, 0, 0],
                guest: [0, 0],
            }
        );
        assert_eq!(MODES[3], "idle");
        assert_eq!(t.cores.len(), 2);
        assert_eq!(t.cores[1].0, 1);
        assert_eq!(t.boot_time_secs, Some(1_062_191_376));
        assert_eq!(t.system.procs_running, Some(1));
        assert_eq!(t.system.procs_blocked, Some(0));
    }

    #[test]
    fn reads_guest_time_and_the_system_counters() {
        let t = parse_stat(
            "cpu 10 2 3 40 0 0 0 0 7 1\ncpu0 10 2 3 40 0 0 0 0 7 1\nintr 4386605 15 0 9\nctxt 8728904\nprocesses 171144\n",
        )
        .unwrap();
        assert_eq!(t.cores[0].1.guest, [7, 1]);
        assert_eq!(t.all.total, 55, "guest time is inside user and nice");
        assert_eq!(t.system.interrupts, Some(4_386_605));
        assert_eq!(t.system.context_switches, Some(8_728_904));
        assert_eq!(t.system.forks, Some(171_144));
    }

    #[test]
    fn old_kernels_with_four_fields_parse() {
        let t = parse_stat("cpu 1 2 3 4\ncpu0 1 2 3 4\n").unwrap();
        assert_eq!(t.all.total, 10);
        assert_eq!(t.all.busy, 6);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_stat("").is_err());
        assert!(parse_stat("cpu a b c d\n").is_err());
        assert!(parse_stat("cpu 1 2\n").is_err());
    }

    #[test]
    fn usage_is_the_busy_share_of_the_delta() {
        let a = parse_stat("cpu 100 0 0 100 0 0 0 0\ncpu0 50 0 0 50\ncpu2 50 0 0 50\n").unwrap();
        let b = parse_stat("cpu 150 0 0 150 0 0 0 0\ncpu0 100 0 0 50\ncpu2 50 0 0 100\n").unwrap();
        let u = usage_between(&b, Some(&a));
        assert_eq!(u.total_percent, 50.0);
        assert_eq!(u.per_core_percent, vec![100.0, 0.0]);
    }

    #[test]
    fn counters_going_backwards_give_zero_not_garbage() {
        let a = CpuJiffies {
            busy: 100,
            total: 200,
            ..CpuJiffies::default()
        };
        let b = CpuJiffies {
            busy: 50,
            total: 100,
            ..CpuJiffies::default()
        };
        assert_eq!(b.busy_percent_since(&a), 0.0);
    }
}
