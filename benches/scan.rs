//! Criterion benches of the hot paths.
//!
//!     cargo bench --bench scan
//!     SONDE_BENCH_EXTRA_PROCS=1000 cargo bench --bench scan   # at ~1,070 processes
//!
//! - `proc_floor`: the kernel floor — pread every `/proc/*/stat` through kept
//!   descriptors into a reused buffer, nothing else;
//! - `scan/live`: sonde's full process scan + protobuf encode + gzip on this
//!   machine's `/proc`;
//! - `scan/fixture_5000`: the same on a fixture of 5,000 synthetic processes;
//! - `reply/processes_fixture_1000` against `reply/containers_fixture_100`
//!   and `_1000`: a process list at 1,000 processes and a containers reply
//!   at 100 and 1,000 cgroups, each read, encoded and framed;
//! - `parse_pid_stat`, `encode` (1,000 / 5,000 rows), `metrics_json`,
//!   `cache_hit`;
//! - `process_net/*`: the network column's parts on this machine, with
//!   `SONDE_BENCH_TCP_SOCKETS` loopback sockets held (default 0): the
//!   kernel's TCP dump with `tcp_info` alone (`dump_floor`), the dump
//!   parsed, a sample between walks (`steady`), and a sample that lists
//!   every process's descriptors (`full_walk`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a tool run by hand: failing loudly is its job

use std::hint::black_box;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sonde::cache::{Sample, Ttl};
use sonde::collect::containers::ContainerSampler;
use sonde::collect::cpu::CpuUsage;
use sonde::collect::memory::Memory;
use sonde::collect::metrics;
use sonde::collect::network::Interface;
use sonde::collect::processes::{ProcRow, ProcessSampler, ProcessTable, parse_pid_stat};
use sonde::collect::{HostClock, Roots};
use sonde::kinds;
use sonde::wire::{self, Frame};

const STAT_LINE: &str = "27114 (sd-pam) S 27113 27113 27113 0 -1 1077936448 47 0 0 0 3 0 0 0 20 0 1 0 4242 27865088 2463 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0";

fn fixture(n: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let proc = dir.path().join("proc");
    std::fs::create_dir_all(&proc).expect("mkdir");
    std::fs::write(
        proc.join("stat"),
        "cpu 1000 0 1000 10000 0 0 0 0 0 0\ncpu0 1000 0 1000 10000 0 0 0 0 0 0\n",
    )
    .expect("write");
    for pid in 1..=n {
        let d = proc.join(pid.to_string());
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(
            d.join("stat"),
            format!("{pid} (worker-{pid}) S 1 {pid} {pid} 0 -1 4194560 1089 0 0 0 {} 30 0 0 20 0 3 0 {} 27865088 2463 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0", pid % 97, pid * 7),
        )
        .expect("write");
    }
    dir
}

fn table(rows: u32) -> ProcessTable {
    ProcessTable {
        rows: (1..=rows)
            .map(|pid| ProcRow {
                pid,
                ppid: 1,
                start_ticks: u64::from(pid) * 7,
                name: format!("worker-{pid}"),
                cpu_percent: (pid % 13) as f32 * 0.37,
                rss_bytes: u64::from(pid) * 40_960,
                cpu_ticks: u64::from(pid),
                state: 'S',
                threads: 1,
            })
            .collect(),
        process_count: u64::from(rows),
        window: Duration::from_millis(1000),
        sampled_at: None,
    }
}

fn page_size() -> u64 {
    HostClock::read(&Roots::default(), &Default::default()).page_size
}

fn encode(t: &ProcessTable) -> Frame {
    wire::binary_frame(kinds::processes::encode_processes(t))
}

/// Idle `sleep` processes held for the whole bench run (killed on drop), so
/// the live benches can be taken at a chosen process count.
struct ExtraProcs(Vec<std::process::Child>);

impl Drop for ExtraProcs {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn extra_procs() -> ExtraProcs {
    let n: usize = std::env::var("SONDE_BENCH_EXTRA_PROCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    ExtraProcs(
        (0..n)
            .filter_map(|_| std::process::Command::new("sleep").arg("3600").spawn().ok())
            .collect(),
    )
}

/// pread of every `/proc/<pid>/stat` through kept descriptors: what the
/// kernel costs before sonde does anything.
fn proc_floor(c: &mut Criterion) {
    let mut files = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().bytes().all(|b| b.is_ascii_digit())
            && let Ok(f) = std::fs::File::open(entry.path().join("stat"))
        {
            files.push(f);
        }
    }
    let mut buf = vec![0u8; 1024];
    c.bench_function(&format!("proc_floor/pread_{}", files.len()), |b| {
        b.iter(|| {
            let mut total = 0;
            for f in &files {
                total += rustix::io::pread(f.as_fd(), &mut buf[..], 0).unwrap_or(0);
            }
            black_box(total)
        })
    });
}

fn scan(c: &mut Criterion) {
    sonde::raise_fd_limit();
    let budget = sonde::budget::FdBudget::current(256).process_sampler;
    let mut group = c.benchmark_group("scan");
    let mut live = ProcessSampler::new(&Roots::default(), budget, page_size());
    live.warm_up().expect("warm-up");
    std::thread::sleep(Duration::from_millis(250));
    group.bench_function("live", |b| {
        b.iter(|| black_box(encode(&live.sample().expect("scan"))))
    });
    let dir = fixture(5000);
    let mut fx = ProcessSampler::new(&Roots::under(dir.path()), budget, page_size());
    fx.warm_up().expect("warm-up");
    std::thread::sleep(Duration::from_millis(250));
    group.bench_function("fixture_5000", |b| {
        b.iter(|| black_box(encode(&fx.sample().expect("scan"))))
    });
    group.finish();
}

/// A cgroup v2 tree of `n` services with every file sonde reads.
fn cgroup_fixture(n: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("fs/cgroup");
    std::fs::create_dir_all(&root).expect("mkdir");
    std::fs::write(root.join("cgroup.controllers"), "cpu io memory pids\n").expect("write");
    for i in 0..n {
        let d = root.join(format!("system.slice/svc-{i}.service"));
        std::fs::create_dir_all(&d).expect("mkdir");
        for (file, text) in [
            (
                "cpu.stat",
                format!(
                    "usage_usec {}\nuser_usec 1\nsystem_usec 1\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n",
                    i * 1000
                ),
            ),
            ("memory.current", format!("{}\n", i * 4096)),
            ("memory.max", "max\n".to_owned()),
            ("pids.current", "3\n".to_owned()),
            (
                "io.stat",
                "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n".to_owned(),
            ),
            (
                "memory.events",
                "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n".to_owned(),
            ),
            (
                "cpu.pressure",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=567\n".to_owned(),
            ),
            (
                "memory.pressure",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n".to_owned(),
            ),
            (
                "io.pressure",
                "some avg10=0.12 avg60=0.05 avg300=0.01 total=99999\nfull avg10=0.10 avg60=0.04 avg300=0.01 total=88888\n".to_owned(),
            ),
        ] {
            std::fs::write(d.join(file), text).expect("write");
        }
    }
    dir
}

fn replies(c: &mut Criterion) {
    let mut group = c.benchmark_group("reply");
    let procs = fixture(1000);
    let mut sampler = ProcessSampler::new(&Roots::under(procs.path()), 4096, page_size());
    sampler.warm_up().expect("warm-up");
    std::thread::sleep(Duration::from_millis(250));
    group.bench_function("processes_fixture_1000", |b| {
        b.iter(|| black_box(encode(&sampler.sample().expect("scan"))))
    });
    for n in [100, 1000] {
        let tree = cgroup_fixture(n);
        let mut sampler = ContainerSampler::new(tree.path(), 4, 8192, Arc::default());
        sampler.sample();
        group.bench_function(format!("containers_fixture_{n}"), |b| {
            b.iter(|| {
                let table = sampler.sample();
                black_box(wire::json_frame(wire::to_json(
                    &kinds::containers::Containers::new(&table, 0),
                )))
            })
        });
    }
    group.finish();
}

fn parse(c: &mut Criterion) {
    c.bench_function("parse_pid_stat", |b| {
        b.iter(|| black_box(parse_pid_stat(black_box(STAT_LINE))))
    });
}

fn encoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    for rows in [1000u32, 5000] {
        let t = table(rows);
        group.bench_with_input(BenchmarkId::new("protobuf_gzip", rows), &t, |b, t| {
            b.iter(|| black_box(encode(t)))
        });
    }
    group.finish();
}

fn metrics_json(c: &mut Criterion) {
    let m = metrics::Metrics {
        cpu: CpuUsage {
            total_percent: 12.5,
            per_core_percent: vec![10.0, 15.0, 11.5, 13.25],
            ..CpuUsage::default()
        },
        memory: Some(Memory {
            total_bytes: 16 << 30,
            available_bytes: 9 << 30,
            swap_total_bytes: 2 << 30,
            swap_free_bytes: 2 << 30,
        }),
        meminfo: None,
        networks: vec![Interface {
            name: "eth0".into(),
            counters: [
                123_456_789,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                98_765_432,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
            ],
        }],
        hostname: "bench-host".into(),
        load_avg: Some([0.5, 0.4, 0.3]),
        uptime_secs: Some(86_400),
        cpu_temp_celsius: Some(48.0),
        temps: vec![sonde::collect::thermal::Temperature {
            chip: "platform_coretemp_0".into(),
            input: "temp1".into(),
            label: "coretemp Package id 0".into(),
            celsius: 48.0,
        }],
        thermal: None,
        gpus: None,
        process_count: 312,
        sampled_at_ms: 1_795_000_000_000,
    };
    // A new sample each time: what one collection's encoding costs.
    c.bench_function("metrics_json", |b| {
        b.iter(|| black_box(kinds::metrics::frame(&Sample::new(m.clone()))))
    });
}

fn cache_hit(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let cache = Ttl::new(Duration::from_secs(3600));
    let t = Arc::new(table(1000));
    rt.block_on(cache.get_or_load(|| async { Ok::<_, ()>(t.clone()) }))
        .expect("filled");
    // A hit: the shared sample and its memoized frame.
    c.bench_function("cache_hit", |b| {
        b.iter(|| {
            rt.block_on(async {
                let s = cache
                    .get_or_load(|| async { Ok::<_, ()>(Arc::default()) })
                    .await?;
                Ok::<_, ()>(s.frame(kinds::processes::frame))
            })
        })
    });
}

fn quick() -> Criterion {
    // No HTML plots: the figures are the numbers, and plotters' text would
    // need a registered font (loadgen's soak plot turns on its ab_glyph).
    Criterion::default()
        .without_plots()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

/// The walk for AMD and Intel GPUs' processes (a `readlink` of every open
/// descriptor on the host) and a sample between walks, beside the process
/// scan.
fn gpu_clients(c: &mut Criterion) {
    use sonde::collect::gpu::clients;
    let proc = std::path::Path::new("/proc");
    c.bench_function("gpu_clients/walk", |b| {
        b.iter(|| black_box(clients::walk(proc)))
    });
    let mut between = clients::DrmClients::new(proc);
    between.sample();
    c.bench_function("gpu_clients/between_walks", |b| {
        b.iter(|| black_box(between.sample()))
    });
}

/// `SONDE_BENCH_TCP_SOCKETS` established loopback sockets (half as many
/// connections, both ends held here).
fn tcp_sockets() -> Vec<std::net::TcpStream> {
    let n: usize = std::env::var("SONDE_BENCH_TCP_SOCKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let at = listener.local_addr().expect("address");
    let mut held = Vec::with_capacity(n);
    for _ in 0..n / 2 {
        held.push(std::net::TcpStream::connect(at).expect("connect"));
        held.push(listener.accept().expect("accept").0);
    }
    held
}

/// Who uses the network: the kernel's dump alone, parsed, and the
/// sampler between walks and walking every process.
fn process_net(c: &mut Criterion) {
    use sonde::collect::process_net::{NetSampler, dump};
    use sonde::collect::tcp_states::each_socket;
    let _held = tcp_sockets();
    let budget = sonde::budget::FdBudget::current(256);
    let mut scanner = ProcessSampler::new(&Roots::default(), budget.process_sampler, page_size());
    let table = scanner.sample().expect("scan");
    let mut group = c.benchmark_group("process_net");
    group.bench_function("dump_floor", |b| {
        b.iter(|| {
            let mut n = 0usize;
            // INET_DIAG_INFO's bit, as the column asks.
            each_socket(1 << 1, |m| n += m.len()).expect("dump");
            black_box(n)
        })
    });
    group.bench_function("dump", |b| b.iter(|| black_box(dump().expect("dump"))));
    let proc_root = std::path::PathBuf::from("/proc");
    let mut steady = NetSampler::new(proc_root.clone(), budget.process_net);
    steady.sample(&table).expect("sample");
    group.bench_function("steady", |b| {
        b.iter(|| black_box(steady.sample(&table).expect("sample")))
    });
    group.bench_function("full_walk", |b| {
        b.iter(|| {
            let mut fresh = NetSampler::new(proc_root.clone(), budget.process_net);
            black_box(fresh.sample_with(&table, dump().expect("dump")))
        })
    });
    group.finish();
}

/// The floor, the live scan, the GPU clients' walk and the network
/// column, measured back to back at the same process count (held for all).
fn live(c: &mut Criterion) {
    let _extra = extra_procs();
    proc_floor(c);
    scan(c);
    gpu_clients(c);
    process_net(c);
}

criterion_group! {
    name = benches;
    config = quick();
    targets = live, replies, parse, encoding, metrics_json, cache_hit
}
criterion_main!(benches);
