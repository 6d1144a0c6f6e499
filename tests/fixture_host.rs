//! Host paths end to end: with every root (`--proc-root`, `--sys-root`,
//! `--etc-root`, `--rootfs`) pointed at one fixture tree, every reply kind
//! describes that tree's host, not the machine the test runs on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;

use std::path::Path;

use common::{DOCKER_ID, Server, ask, json, processes};

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn stat_line(pid: u32, comm: &str, ppid: u32) -> String {
    format!(
        "{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 1000 10485760 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n"
    )
}

/// A small host: two CPUs, 4 GiB, one process tree (init and a daemon),
/// one ext4 filesystem mounted at /data, Debian 12.
fn fixture(root: &Path) {
    write(
        root,
        "proc/stat",
        "cpu 400 0 100 1500 0 0 0 0 0 0\ncpu0 200 0 50 750 0 0 0 0 0 0\ncpu1 200 0 50 750 0 0 0 0 0 0\nbtime 1700000000\n",
    );
    write(
        root,
        "proc/meminfo",
        "MemTotal: 4194304 kB\nMemFree: 1048576 kB\nMemAvailable: 3145728 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n",
    );
    write(
        root,
        "proc/net/dev",
        "h\nh\n  eth7: 1000 1 0 0 0 0 0 0 2000 2 0 0 0 0 0 0\n",
    );
    write(root, "proc/sys/kernel/hostname", "fixture-host\n");
    write(root, "proc/sys/kernel/osrelease", "6.1.0-fixture\n");
    write(root, "proc/loadavg", "0.25 0.50 0.75 1/2 42\n");
    write(
        root,
        "proc/cpuinfo",
        "processor\t: 0\nmodel name\t: Fixture CPU @ 1.00GHz\nphysical id\t: 0\ncore id\t\t: 0\n\nprocessor\t: 1\nmodel name\t: Fixture CPU @ 1.00GHz\nphysical id\t: 0\ncore id\t\t: 1\n",
    );
    write(root, "proc/1/stat", &stat_line(1, "init", 0));
    write(root, "proc/1/cmdline", "/sbin/init\0");
    write(
        root,
        "proc/1/status",
        "Name:\tinit\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
    );
    write(
        root,
        "proc/1/mountinfo",
        "22 1 8:1 / /data rw,relatime shared:1 - ext4 /dev/vdz1 rw\n23 1 0:21 / /proc rw - proc proc rw\n",
    );
    write(root, "proc/42/stat", &stat_line(42, "fixtured", 1));
    write(root, "proc/42/cmdline", "fixtured\0--foreground\0");
    write(
        root,
        "proc/42/status",
        "Name:\tfixtured\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\n",
    );
    write(root, "proc/42/task/42/stat", &stat_line(42, "fixtured", 1));
    write(
        root,
        "proc/42/cgroup",
        &format!("0::/system.slice/docker-{DOCKER_ID}.scope\n"),
    );
    write(
        root,
        "etc/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 12 (fixture)\"\n",
    );
    std::fs::create_dir_all(root.join("rootfs/data")).unwrap();
    std::fs::create_dir_all(root.join("sys")).unwrap();
}

/// The server with every root under `root`, and `extra` flags.
async fn start_on(root: &Path, extra: &[&str]) -> Server {
    let path = |p: &str| root.join(p).to_str().unwrap().to_owned();
    let (proc, sys, etc, rootfs) = (path("proc"), path("sys"), path("etc"), path("rootfs"));
    let mut args = vec![
        "--proc-root",
        &proc,
        "--sys-root",
        &sys,
        "--etc-root",
        &etc,
        "--rootfs",
        &rootfs,
    ];
    args.extend_from_slice(extra);
    Server::start(&args).await
}

#[tokio::test]
async fn every_reply_kind_describes_the_fixture_host() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fixture(root);
    let server = start_on(root, &["--redact", "off"]).await;
    let mut ws = server.ws().await;

    let m = json(&ask(&mut ws, "get_metrics").await);
    assert_eq!(m["hostname"], "fixture-host");
    assert_eq!(m["cpu_per_core"].as_array().unwrap().len(), 2);
    assert_eq!(m["cpu_total"], 25.0, "busy since boot: 500 of 2000 jiffies");
    assert_eq!(m["mem_total"], 4u64 << 30);
    assert_eq!(m["mem_used"], 1u64 << 30);
    assert_eq!(m["networks"][0]["name"], "eth7");
    assert_eq!(m["load_avg"][2], 0.75);
    assert_eq!(m["process_count"], 2);
    assert!(m["gpus"].is_null());

    let disks = json(&ask(&mut ws, "get_disks").await);
    let disks = disks.as_array().unwrap();
    assert_eq!(
        disks.len(),
        1,
        "the host's table, pseudo filesystems left out: {disks:?}"
    );
    assert_eq!(disks[0]["name"], "vdz1");
    assert_eq!(disks[0]["mount_point"], "/data");
    assert_eq!(disks[0]["fs_type"], "ext4");
    assert!(
        disks[0]["total"].as_u64().unwrap() > 0,
        "measured under --rootfs"
    );

    let table = processes(&ask(&mut ws, "get_processes").await);
    let names: Vec<(u32, &str)> = table
        .rows
        .iter()
        .map(|r| (r.pid, r.name.as_str()))
        .collect();
    assert_eq!(names, [(1, "init"), (42, "fixtured")]);
    assert_eq!(table.process_count, 2);

    let h = json(&ask(&mut ws, "get_host").await);
    assert_eq!(h["hostname"], "fixture-host");
    assert_eq!(h["os"], "Debian GNU/Linux 12 (fixture)");
    assert_eq!(h["kernel_version"], "6.1.0-fixture");
    assert_eq!(h["cpu_name"], "Fixture CPU @ 1.00GHz");
    assert_eq!(h["cpu_cores"], 2);
    assert_eq!(h["boot_time"], 1_700_000_000);

    let p = json(&ask(&mut ws, "get_process_metrics:42").await);
    let p = &p["process"];
    assert_eq!(p["name"], "fixtured");
    assert_eq!(p["command"], "fixtured --foreground");
    assert_eq!(p["parent_pid"], 1);
    assert_eq!(p["user_id"], 1000);
    assert_eq!(p["start_time"], 1_700_000_000 + 1000 / 100);
    assert_eq!(p["container_id"], DOCKER_ID);
    assert!(
        p["cgroup"]
            .as_str()
            .unwrap()
            .starts_with("/system.slice/docker-")
    );
    let init = json(&ask(&mut ws, "get_process_metrics:1").await);
    assert!(init["process"]["container_id"].is_null());
    let kids: Vec<u64> = init["process"]["child_processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(
        kids,
        [42],
        "children of the fixture's init, by its parent walk"
    );
}

/// Faults a host really has, none of which may stall or crash the server:
/// a process unreadable (hidepid=1) and one that exited mid-scan, pid 1's
/// files hidden (hidepid=2), a sensor that starts failing, counters that go
/// backwards (a restored VM, a reused PID).
#[tokio::test]
async fn host_faults_leave_honest_partial_answers() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fixture(root);
    // Listed but unreadable: `stat` cannot be read as a file.
    std::fs::create_dir_all(root.join("proc/99/stat")).unwrap();
    write(root, "proc/99/cmdline", "secret\0");
    // Listed, then gone: an empty directory.
    std::fs::create_dir_all(root.join("proc/100")).unwrap();
    // pid 1's mount table hidden; sonde's own is there.
    let table = std::fs::read_to_string(root.join("proc/1/mountinfo")).unwrap();
    std::fs::remove_file(root.join("proc/1/mountinfo")).unwrap();
    write(root, "proc/self/mountinfo", &table);
    write(root, "sys/class/hwmon/hwmon0/name", "coretemp\n");
    write(root, "sys/class/hwmon/hwmon0/temp1_label", "Package id 0\n");
    write(root, "sys/class/hwmon/hwmon0/temp1_input", "55000\n");

    let server = start_on(
        root,
        &[
            "--metrics-ttl-ms",
            "0",
            "--processes-ttl-ms",
            "0",
            "--disks-ttl-ms",
            "0",
            "--sensors-ttl-ms",
            "0",
        ],
    )
    .await;
    let mut ws = server.ws().await;

    let m = json(&ask(&mut ws, "get_metrics").await);
    assert_eq!(m["cpu_temp_c"], 55.0, "{m}");
    let table = processes(&ask(&mut ws, "get_processes").await);
    let pids: Vec<u32> = table.rows.iter().map(|r| r.pid).collect();
    assert_eq!(pids, [1, 42], "the unreadable and the exited are skipped");
    assert_eq!(table.process_count, 2, "and not counted");
    for pid in [99, 100] {
        let v = json(&ask(&mut ws, &format!("get_process_metrics:{pid}")).await);
        assert!(v["error"].is_string(), "{v}");
    }
    let disks = json(&ask(&mut ws, "get_disks").await);
    assert_eq!(disks[0]["mount_point"], "/data", "from sonde's own table");

    // The sensor fails (a driver answering garbage, as some do on resume):
    // the temperature is unknown, the rest answers.
    write(
        root,
        "sys/class/hwmon/hwmon0/temp1_input",
        "No such device\n",
    );
    let m = json(&ask(&mut ws, "get_metrics").await);
    assert!(m["cpu_temp_c"].is_null(), "{m}");
    assert_eq!(m["mem_total"], 4u64 << 30);
    assert!(server.state.errors().count("temperature") > 0);

    // Counters going backwards: shares stay within 0–100.
    write(
        root,
        "proc/stat",
        "cpu 10 0 10 10 0 0 0 0 0 0\ncpu0 5 0 5 5 0 0 0 0 0 0\ncpu1 5 0 5 5 0 0 0 0 0 0\nbtime 1700000000\n",
    );
    write(
        root,
        "proc/42/stat",
        &stat_line(42, "fixtured", 1).replace(" 250 50 ", " 1 1 "),
    );
    let m = json(&ask(&mut ws, "get_metrics").await);
    for share in std::iter::once(&m["cpu_total"]).chain(m["cpu_per_core"].as_array().unwrap()) {
        let share = share.as_f64().unwrap();
        assert!((0.0..=100.0).contains(&share), "{m}");
    }
    let table = processes(&ask(&mut ws, "get_processes").await);
    for row in &table.rows {
        assert!((0.0..=100.0).contains(&row.cpu_usage), "{row:?}");
    }
}

/// The host reply fell back to the os-release of the machine sonde runs on
/// (through `sysinfo`, which reads the real `/etc`) where the configured
/// roots had none: inside the container image that reads the host under
/// `/host`, it named the image's OS as the host's.
#[tokio::test]
async fn regression_the_host_os_came_from_outside_the_configured_roots() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fixture(root);
    std::fs::remove_file(root.join("etc/os-release")).unwrap();
    let server = start_on(root, &[]).await;
    let mut ws = server.ws().await;
    let h = json(&ask(&mut ws, "get_host").await);
    assert!(h["os"].is_null(), "{h}");
    let (_, text) = server.http_get("/metrics?collect[]=os", &[]).await;
    assert!(!text.contains("node_os_info{"), "{text}");

    // The release under the root filesystem's /usr/lib is the host's too,
    // read by both surfaces with the same rules.
    write(
        root,
        "rootfs/usr/lib/os-release",
        "NAME=\"Fixture OS\"\nVERSION_ID=\"3.2\"\n",
    );
    let server = start_on(root, &[]).await;
    let mut ws = server.ws().await;
    let h = json(&ask(&mut ws, "get_host").await);
    assert_eq!(h["os"], "Fixture OS", "{h}");
    let (_, text) = server.http_get("/metrics?collect[]=os", &[]).await;
    assert!(text.contains("name=\"Fixture OS\""), "{text}");
}
