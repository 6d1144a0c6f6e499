//! Real kernel objects in the test's own namespaces, with sonde inside
//! them: a veth pair between two network namespaces with real traffic
//! across it, and a cgroup2 hierarchy mounted in a private mount namespace
//! with real processes in container-shaped cgroups. Skipped, saying why,
//! where the machine cannot make them (not root, no `unshare`, no `ip`).
//! Nothing outside the namespaces sees the interfaces or the mount; the
//! test's cgroups are removed on the way out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Shell functions the scripts share, for sonde on `127.0.0.1:$PORT`:
/// `body PATH` (the answer's body), `get PATH` (the same on one line),
/// `status PATH` (the HTTP status), `wait_up` (until it answers, 10 s at
/// most).
const HTTP: &str = r#"
body() {
  exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" >&3
  sed '1,/^\r$/d' <&3
  exec 3<&-
}
get() {
  body "$1" | tr -d '\n'
  return "${PIPESTATUS[0]}"
}
status() {
  exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" >&3
  head -1 <&3 | cut -d' ' -f2
  exec 3<&-
}
wait_up() {
  for _ in $(seq 100); do body /healthz >/dev/null 2>&1 && return 0; sleep 0.1; done
  body /healthz >/dev/null
}
"#;

/// `bash -c` of the shared functions and `script`, in new namespaces
/// (`unshare` with `namespaces`), for sonde on `port`.
fn run_in(namespaces: &[&str], script: &str, port: u16) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(namespaces)
        .args(["bash", "-c", &format!("{HTTP}{script}")])
        .env("SONDE", env!("CARGO_BIN_EXE_sonde"))
        .env("PORT", port.to_string());
    cmd
}

/// A script's standard output; it must have succeeded.
fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Whether this machine can run `unshare ARGS` (a probe of what a test
/// needs); the reason where it cannot.
fn can(args: &[&str]) -> Result<(), String> {
    let out = Command::new("unshare")
        .args(args)
        .output()
        .map_err(|e| format!("no unshare ({e})"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// `script`'s output, run in new network and mount namespaces; `None`
/// (the test `test` said skipped, and why) where this machine cannot make
/// a network namespace with a veth pair.
fn in_a_network_namespace(test: &str, script: &str) -> Option<String> {
    if let Err(why) = can(&[
        "-n", "-m", "ip", "link", "add", "t0", "type", "veth", "peer", "name", "t1",
    ]) {
        common::skipped(&format!(
            "SKIPPED {test}: this machine cannot make a network namespace with a veth pair: {why}"
        ));
        return None;
    }
    Some(stdout_of(&mut run_in(&["-n", "-m"], script, 3000)))
}

/// The script run in new network and mount namespaces: a veth pair whose peer is in
/// a second namespace, sonde on loopback, and its `/api/interfaces` before
/// traffic, after 200 UDP datagrams of 1,000 bytes, and after the
/// interface is deleted; with the kernel's own counters beside them.
const SCRIPT: &str = r#"
set -eu
# sysfs shows the network namespace of whoever mounted it: mount it again
# in this mount namespace so /sys/class/net lists this namespace's devices.
mount -t sysfs sysfs /sys
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
ip link set lo up
ip link add v0 type veth peer name v1
unshare -n sleep 60 &
PEER=$!
sleep 0.2
ip link set v1 netns "$PEER"
nsenter -t "$PEER" -n sh -c 'ip link set lo up; ip addr add 10.99.0.2/24 dev v1; ip link set v1 up'
ip addr add 10.99.0.1/24 dev v0
ip link set v0 up
"$SONDE" --bind 127.0.0.1 --port "$PORT" --metrics-ttl-ms 0 >/dev/null 2>&1 &
SERVER=$!
trap 'kill "$SERVER" "$PEER" 2>/dev/null || true' EXIT
wait_up
get /api/interfaces >/dev/null
counters() { echo "$(cat /sys/class/net/v0/statistics/tx_bytes) $(cat /sys/class/net/v0/statistics/tx_packets)"; }
sleep 1.2
echo "BEFORE $(get /api/interfaces)"
echo "KERNEL_BEFORE $(counters)"
payload=$(printf '%1000s' x)
for _ in $(seq 200); do printf '%s' "$payload" > /dev/udp/10.99.0.2/9; done
sleep 1.2
echo "AFTER $(get /api/interfaces)"
echo "KERNEL_AFTER $(counters)"
ip link del v0
sleep 1.2
echo "GONE $(get /api/interfaces)"
"#;

fn line<'a>(out: &'a str, tag: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(tag)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {tag} line in:\n{out}"))
}

fn interface<'a>(reply: &'a Value, name: &str) -> Option<&'a Value> {
    reply["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
}

fn kernel(out: &str, tag: &str) -> (f64, f64) {
    let mut n = line(out, tag)
        .split_whitespace()
        .map(|v| v.parse::<f64>().unwrap());
    (n.next().unwrap(), n.next().unwrap())
}

#[test]
fn veth_traffic_is_counted_as_the_kernel_counts_it_and_a_deleted_interface_leaves_nothing() {
    let Some(text) = in_a_network_namespace("veth_traffic_is_counted", SCRIPT) else {
        return;
    };
    let before: Value = serde_json::from_str(line(&text, "BEFORE")).unwrap();
    let after: Value = serde_json::from_str(line(&text, "AFTER")).unwrap();
    let gone: Value = serde_json::from_str(line(&text, "GONE")).unwrap();
    let (v0, v0_then) = (
        interface(&after, "v0").unwrap(),
        interface(&before, "v0").unwrap(),
    );

    // sonde's counters are the kernel's, to the byte.
    let (kernel_bytes, kernel_packets) = kernel(&text, "KERNEL_AFTER");
    assert_eq!(v0["tx_bytes"].as_f64(), Some(kernel_bytes), "{v0}");
    assert_eq!(v0["tx_packets"].as_f64(), Some(kernel_packets), "{v0}");
    let (bytes_then, _) = kernel(&text, "KERNEL_BEFORE");
    assert_eq!(v0_then["tx_bytes"].as_f64(), Some(bytes_then), "{v0_then}");

    // 200 datagrams of 1,000 bytes: 1,042 bytes each on the wire (UDP, IP
    // and Ethernet headers), plus the ARP exchange.
    let sent = v0["tx_bytes"].as_f64().unwrap() - v0_then["tx_bytes"].as_f64().unwrap();
    let packets = v0["tx_packets"].as_f64().unwrap() - v0_then["tx_packets"].as_f64().unwrap();
    assert!((200.0..=203.0).contains(&packets), "{packets} packets");
    assert!(
        (200.0 * 1042.0..=200.0 * 1042.0 + 3.0 * 64.0).contains(&sent),
        "{sent} bytes"
    );

    // The rate covers the window since the previous reading.
    let window = after["window_ms"].as_f64().unwrap() / 1000.0;
    let rate = v0["tx_bytes_per_sec"].as_f64().unwrap();
    assert!(
        (rate - sent / window).abs() <= 0.01 * rate,
        "{rate} B/s for {sent} B over {window} s"
    );

    // Deleted between two samples: gone, and nothing else got a bogus rate.
    assert!(interface(&gone, "v0").is_none(), "{gone}");
    for i in gone["interfaces"].as_array().unwrap() {
        for (key, value) in i
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.ends_with("_per_sec"))
        {
            let v = value.as_f64().unwrap();
            assert!(
                v.is_finite() && (0.0..1e9).contains(&v),
                "{}: {key} = {v}",
                i["name"]
            );
        }
    }
}

/// In a private mount namespace: a cgroup2 hierarchy mounted over
/// `/sys/fs/cgroup`, a Docker scope with a busy process, a service with an
/// idle one; sonde's containers reply, then the scope removed and a Podman
/// one made, and the reply again. The cgroups are removed on the way out.
const CGROUPS: &str = r#"
set -eu
mount -t cgroup2 none /sys/fs/cgroup
CG=/sys/fs/cgroup
echo "CONTROLLERS $(cat $CG/cgroup.controllers)"
SLICE=$CG/sonde-test-$$.slice
DOCKER=$SLICE/docker-$DOCKER_ID.scope
PODMAN=$SLICE/libpod-$PODMAN_ID.scope
SERVICE=$SLICE/idle-$$.service
FORKER=$SLICE/forker-$$.service
cleanup() {
  kill "${SPIN:-}" "${IDLE:-}" "${NEW:-}" "${FORK:-}" "${SERVER:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  for d in "$DOCKER" "$PODMAN" "$SERVICE" "$FORKER" "${OOM:-}" "$SLICE"; do [ -d "$d" ] && rmdir "$d" 2>/dev/null || true; done
}
trap cleanup EXIT
mkdir "$SLICE"
for c in $(cat $CG/cgroup.controllers); do echo "+$c" > $CG/cgroup.subtree_control 2>/dev/null || true; echo "+$c" > $SLICE/cgroup.subtree_control 2>/dev/null || true; done
mkdir "$DOCKER" "$SERVICE" "$FORKER"
bash -c 'while :; do :; done' &
SPIN=$!
echo "$SPIN" > "$DOCKER/cgroup.procs"
sleep 600 &
IDLE=$!
echo "$IDLE" > "$SERVICE/cgroup.procs"
bash -c 'echo $$ > "$1/cgroup.procs"; while :; do /bin/true; done' forker "$FORKER" &
FORK=$!
# Where this hierarchy has the memory controller: a service limited to
# 32 MiB whose process asks for more, killed by the OOM killer.
if grep -qw memory $CG/cgroup.controllers; then
  OOM=$SLICE/oom-$$.service
  mkdir "$OOM"
  echo 33554432 > "$OOM/memory.max"
  echo 0 > "$OOM/memory.swap.max" 2>/dev/null || true
  bash -c 'echo $$ > "$1/cgroup.procs"; exec tail /dev/zero' oom "$OOM" 2>/dev/null || true
  echo "KERNEL_OOM $(awk '/^oom_kill / {print $2}' "$OOM/memory.events")"
fi
"$SONDE" --bind 127.0.0.1 --port "$PORT" --containers-ttl-ms 0 >/dev/null 2>&1 &
SERVER=$!
wait_up
get /api/containers >/dev/null
sleep 1
echo "FIRST $(get /api/containers)"
echo "KERNEL_CPU $(awk '/^usage_usec/ {print $2}' "$DOCKER/cpu.stat")"
echo "KERNEL_PROCS $(cat "$DOCKER/cgroup.procs" | tr '\n' ' ')"
echo "KERNEL_PSI $(awk '/^some/ {sub("total=", "", $5); print $5}' "$DOCKER/cpu.pressure" 2>/dev/null || true)"
echo "PSI_SERIES $(body '/metrics?collect[]=sonde' | grep "^container_pressure_cpu_waiting_seconds_total{id=\"/sonde-test-$$.slice/docker-" || true)"
echo "OOM_SERIES $(body '/metrics?collect[]=sonde' | grep "^container_oom_events_total{id=\"/sonde-test-$$.slice/oom-" || true)"
echo "FORKER_CPU $(awk '/^usage_usec/ {print $2}' "$FORKER/cpu.stat")"
echo "CADVISOR $(body '/metrics?collect[]=sonde' | grep "^container_cpu_usage_seconds_total{id=\"/sonde-test-$$.slice/docker-" || true)"
kill "$SPIN"; wait "$SPIN" 2>/dev/null || true
rmdir "$DOCKER"
mkdir "$PODMAN"
sleep 600 &
NEW=$!
echo "$NEW" > "$PODMAN/cgroup.procs"
echo "SECOND $(get /api/containers)"
"#;

#[test]
fn a_real_cgroup2_hierarchy_with_a_busy_container_an_idle_service_and_one_that_comes_and_goes() {
    if let Err(why) = can(&["-m", "sh", "-c", "mount -t cgroup2 none /sys/fs/cgroup"]) {
        return common::skipped(&format!(
            "SKIPPED a_real_cgroup2_hierarchy: cannot mount cgroup2 in a private mount namespace: {why}"
        ));
    }
    let docker_id = "5a".repeat(32);
    let podman_id = "6b".repeat(32);
    let text = stdout_of(
        run_in(&["-m"], CGROUPS, 3001)
            .env("DOCKER_ID", &docker_id)
            .env("PODMAN_ID", &podman_id),
    );
    let controllers: Vec<&str> = line(&text, "CONTROLLERS").split_whitespace().collect();
    let first: Value = serde_json::from_str(line(&text, "FIRST")).unwrap();
    let second: Value = serde_json::from_str(line(&text, "SECOND")).unwrap();
    let entry = |reply: &Value, id: &str| -> Option<Value> {
        reply["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
    };
    assert_eq!(first["cgroup_version"], 2, "{first}");

    let docker = entry(&first, &docker_id).unwrap_or_else(|| panic!("no docker entry in {first}"));
    assert_eq!(docker["kind"], "docker");
    // The busy loop's CPU: between the reply's reading and the kernel's
    // read just after it, and busy (a second of spinning before).
    let kernel_cpu: f64 = line(&text, "KERNEL_CPU").parse().unwrap();
    let cpu = docker["cpu_time_us"].as_f64().unwrap();
    assert!(
        cpu > 100_000.0 && cpu <= kernel_cpu,
        "sonde {cpu} µs, kernel {kernel_cpu} µs"
    );
    assert!(
        docker["cpu_usage"].as_f64().is_some_and(|c| c > 5.0),
        "{docker}"
    );
    // Controllers not available to this hierarchy are null, never 0; where
    // pids is available, it counts the kernel's cgroup.procs.
    let procs = line(&text, "KERNEL_PROCS").split_whitespace().count() as f64;
    if controllers.contains(&"pids") {
        assert_eq!(docker["pids"].as_f64(), Some(procs), "{docker}");
    }
    for (controller, field) in [("memory", "mem_bytes"), ("pids", "pids")] {
        if controllers.contains(&controller) {
            assert!(
                docker[field].as_f64().is_some_and(|v| v > 0.0),
                "{field}: {docker}"
            );
        } else {
            assert!(
                docker[field].is_null(),
                "{controller} is bound elsewhere, {field} must be null: {docker}"
            );
        }
    }
    // Where controllers are missing, the notice names them.
    let missing: Vec<&str> = ["memory", "pids"]
        .into_iter()
        .filter(|c| !controllers.contains(c))
        .collect();
    let notice = first["notice"].as_str().unwrap_or("");
    for c in &missing {
        assert!(
            notice.contains(c),
            "{c} is not offered but the notice does not say so: {first}"
        );
    }
    if missing.is_empty() && controllers.contains(&"io") {
        assert!(first["notice"].is_null(), "{first}");
    }
    // The forking service: its children's CPU is counted in its cgroup.
    let forker = first["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cgroup"].as_str().is_some_and(|g| g.contains("/forker-")))
        .unwrap_or_else(|| panic!("no forking service in {first}"));
    let forker_kernel: f64 = line(&text, "FORKER_CPU").parse().unwrap();
    let forker_cpu = forker["cpu_time_us"].as_f64().unwrap();
    assert!(
        forker_cpu > 0.0 && forker_cpu <= forker_kernel,
        "{forker_cpu} µs against {forker_kernel}"
    );
    // The cAdvisor series says what the reply says.
    let cadvisor = line(&text, "CADVISOR");
    let seconds: f64 = cadvisor.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(
        seconds >= cpu / 1e6 && seconds <= kernel_cpu / 1e6 + 1.0,
        "{cadvisor}"
    );
    let service = first["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["kind"] == "systemd-service"
                && c["cgroup"].as_str().is_some_and(|g| g.contains("/idle-"))
        })
        .unwrap_or_else(|| panic!("no idle service in {first}"));
    assert!(
        service["cpu_usage"].as_f64().is_some_and(|c| c < 5.0),
        "{service}"
    );

    // Pressure: the kernel's cpu.pressure, read after the reply, has at
    // least the stall the reply says (cgroup PSI is there on every kernel
    // with PSI); cAdvisor's series says the same in seconds.
    let kernel_psi = line(&text, "KERNEL_PSI");
    if kernel_psi.is_empty() {
        common::skipped("SKIPPED the cgroup pressure check: this kernel writes no cpu.pressure");
        assert!(docker["pressure"]["cpu"].is_null(), "{docker}");
    } else {
        let kernel: f64 = kernel_psi.parse().unwrap();
        let ours = docker["pressure"]["cpu"]["some"]["total_us"]
            .as_f64()
            .unwrap_or_else(|| panic!("no cpu pressure in {docker}"));
        assert!(ours <= kernel, "sonde {ours} µs, kernel {kernel} µs");
        for window in ["avg10", "avg60", "avg300"] {
            let v = docker["pressure"]["cpu"]["some"][window].as_f64().unwrap();
            assert!((0.0..=100.0).contains(&v), "{window} {v}");
        }
        let series = line(&text, "PSI_SERIES");
        let seconds: f64 = series.rsplit(' ').next().unwrap().parse().unwrap();
        // Scraped after the reply: at least what the reply said.
        assert!(seconds * 1e6 >= ours, "{series} against {ours} µs");
    }
    // I/O rates need the io controller, and are null without it.
    let io = &docker["io_read_bytes_per_sec"];
    assert_eq!(io.is_number(), controllers.contains(&"io"), "{docker}");
    // OOM kills: counted where the memory controller is there, null where
    // it is bound to a cgroup v1 hierarchy.
    if controllers.contains(&"memory") {
        let kernel: f64 = line(&text, "KERNEL_OOM").parse().unwrap();
        assert!(kernel >= 1.0, "the OOM killer killed nothing");
        let oom = first["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["cgroup"].as_str().is_some_and(|g| g.contains("/oom-")))
            .unwrap_or_else(|| panic!("no OOM service in {first}"));
        assert_eq!(
            oom["memory_events"]["oom_kill"].as_f64(),
            Some(kernel),
            "{oom}"
        );
        let series = line(&text, "OOM_SERIES");
        assert!(series.ends_with(&format!(" {kernel}")), "{series}");
    } else {
        common::skipped(
            "SKIPPED the OOM kill check: this host's memory controller is bound to a cgroup v1 hierarchy, so a cgroup2 mount cannot limit memory",
        );
        assert!(docker["memory_events"].is_null(), "{docker}");
    }

    // The scope removed between samples is gone; the new one is there.
    assert!(entry(&second, &docker_id).is_none(), "{second}");
    let podman =
        entry(&second, &podman_id).unwrap_or_else(|| panic!("no podman entry in {second}"));
    assert_eq!(podman["kind"], "podman");
    assert!(
        podman["cpu_usage"].is_null(),
        "first seen in this sample: {podman}"
    );
}

/// In a private mount namespace, `/proc` mounted again with
/// `hidepid=invisible` (hidepid=2) and sonde run as `nobody`: a root
/// process beside it is neither listed nor found, a process of its own
/// user is.
const HIDEPID: &str = r#"
set -eu
mount -t proc -o hidepid=invisible proc /proc
sleep 60 &
ROOT=$!
setpriv --reuid=65534 --regid=65534 --clear-groups sleep 60 &
MINE=$!
setpriv --reuid=65534 --regid=65534 --clear-groups "$SONDE" --bind 127.0.0.1 --port "$PORT" >/dev/null 2>&1 &
SERVER=$!
trap 'kill "$ROOT" "$MINE" "$SERVER" 2>/dev/null || true' EXIT
wait_up
echo "PIDS $ROOT $MINE"
echo "LIST $(get /api/processes)"
echo "ROOT_STATUS $(status "/api/processes/$ROOT")"
"#;

#[test]
fn under_hidepid_another_users_processes_are_neither_listed_nor_found() {
    let probe = "mount -t proc -o hidepid=invisible proc /proc && command -v setpriv";
    if let Err(why) = can(&["-m", "sh", "-c", probe]) {
        return common::skipped(&format!(
            "SKIPPED under_hidepid: cannot mount /proc with hidepid in a private mount namespace, or no setpriv: {why}"
        ));
    }
    let text = stdout_of(&mut run_in(&["-m"], HIDEPID, 3002));
    let pids: Vec<u64> = line(&text, "PIDS")
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    let list: Value = serde_json::from_str(line(&text, "LIST")).unwrap();
    let listed: Vec<u64> = list["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pid"].as_u64().unwrap())
        .collect();
    assert!(
        !listed.contains(&pids[0]),
        "root's process is hidden from nobody: {listed:?}"
    );
    assert!(
        listed.contains(&pids[1]),
        "nobody's own process is listed: {listed:?}"
    );
    assert_eq!(
        list["process_count"].as_u64(),
        Some(listed.len() as u64),
        "{list}"
    );
    assert_eq!(
        line(&text, "ROOT_STATUS"),
        "404",
        "a hidden process is not found"
    );
}

/// Run by the hung-mount test as a child of its own, with `/dev/fuse` as
/// its standard input: a FUSE server whose `statfs` does not answer until
/// the file named by `SONDE_FUSE_RELEASE` exists, then answers 1,000 blocks
/// of 4 KiB. Any other request gets ENOSYS.
#[test]
fn fuse_server_helper() {
    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    let Some(release) = std::env::var_os("SONDE_FUSE_RELEASE") else {
        return;
    };
    let dev = std::fs::File::from(std::io::stdin().as_fd().try_clone_to_owned().unwrap());
    let writer = std::sync::Arc::new(std::sync::Mutex::new(dev.try_clone().unwrap()));
    let reply = |w: &std::sync::Mutex<std::fs::File>, unique: u64, error: i32, body: &[u8]| {
        let mut out = Vec::with_capacity(16 + body.len());
        out.extend_from_slice(&(16 + body.len() as u32).to_ne_bytes());
        out.extend_from_slice(&error.to_ne_bytes());
        out.extend_from_slice(&unique.to_ne_bytes());
        out.extend_from_slice(body);
        let _ = w.lock().unwrap().write_all(&out);
    };
    let mut reader = dev;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(n) => n,
            // Not mounted yet: the script mounts once this server runs.
            Err(e) if e.raw_os_error() == Some(1) => {
                std::thread::sleep(std::time::Duration::from_millis(10));
                continue;
            }
            Err(_) => return,
        };
        if n < 40 {
            return;
        }
        let opcode = u32::from_ne_bytes(buf[4..8].try_into().unwrap());
        let unique = u64::from_ne_bytes(buf[8..16].try_into().unwrap());
        match opcode {
            // INIT: protocol 7.12, the oldest reply layout (24 bytes).
            26 => {
                let mut body = Vec::new();
                for v in [7u32, 12, 0, 0] {
                    body.extend_from_slice(&v.to_ne_bytes());
                }
                body.extend_from_slice(&[0u8; 4]);
                body.extend_from_slice(&4096u32.to_ne_bytes());
                reply(&writer, unique, 0, &body);
            }
            // STATFS: held until released.
            17 => {
                let (writer, release) = (writer.clone(), release.clone());
                std::thread::spawn(move || {
                    while !Path::new(&release).exists() {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    let mut body = Vec::new();
                    for v in [1000u64, 600, 500, 100, 50] {
                        body.extend_from_slice(&v.to_ne_bytes());
                    }
                    for v in [4096u32, 255, 4096, 0] {
                        body.extend_from_slice(&v.to_ne_bytes());
                    }
                    body.extend_from_slice(&[0u8; 24]);
                    reply(&writer, unique, 0, &body);
                });
            }
            // FORGET and BATCH_FORGET take no reply.
            2 | 42 => {}
            _ => reply(&writer, unique, -38, &[]),
        }
    }
}

/// In private mount and PID namespaces (sonde reads the mount table of PID
/// 1, this script here): a FUSE mount (typed as sshfs, a network
/// filesystem) whose server does not answer `statfs`; sonde beside it.
const HUNG: &str = r#"
set -eu
MNT=$(mktemp -d)
exec 5<>/dev/fuse
"$HELPER" fuse_server_helper --exact --nocapture --test-threads=1 <&5 >/dev/null 2>&1 &
FUSE=$!
mount -t fuse.sshfs -o fd=5,rootmode=40000,user_id=0,group_id=0 backup:/export "$MNT"
exec 5<&-
"$SONDE" --bind 127.0.0.1 --port "$PORT" --mount-timeout-ms 300 --disks-ttl-ms 0 --metrics-ttl-ms 0 >/dev/null 2>&1 &
SERVER=$!
trap 'touch "$RELEASE"; kill "$SERVER" "$FUSE" 2>/dev/null; umount -l "$MNT" 2>/dev/null; rmdir "$MNT" 2>/dev/null; true' EXIT
ms() { date +%s%3N; }
wait_up
echo "MOUNT $MNT"
t=$(ms); echo "DISKS $(get /api/disks)"; echo "DISKS_MS $(( $(ms) - t ))"
t=$(ms); get /api/metrics >/dev/null; echo "METRICS_MS $(( $(ms) - t ))"
t=$(ms); get /api/processes >/dev/null; echo "PROCESSES_MS $(( $(ms) - t ))"
echo "NODE $(get '/metrics?collect[]=filesystem' | tr -d '\n' | grep -o "node_filesystem_device_error{[^}]*mountpoint=\"$MNT\"[^}]*} [0-9.]*" || true)"
# A second agent that waits 5 s for a mount: Prometheus's 1 s timeout is
# kept all the same, the filesystem collector served as failed.
SLOW_PORT=$((PORT + 1000))
"$SONDE" --bind 127.0.0.1 --port "$SLOW_PORT" --mount-timeout-ms 5000 >/dev/null 2>&1 &
SLOW=$!
trap 'touch "$RELEASE"; kill "$SERVER" "$SLOW" "$FUSE" 2>/dev/null; umount -l "$MNT" 2>/dev/null; rmdir "$MNT" 2>/dev/null; true' EXIT
(PORT=$SLOW_PORT; wait_up)
t=$(ms)
exec 3<>"/dev/tcp/127.0.0.1/$SLOW_PORT"
printf 'GET /metrics HTTP/1.0\r\nHost: localhost\r\nX-Prometheus-Scrape-Timeout-Seconds: 1\r\n\r\n' >&3
SCRAPE=$(grep -E '^node_scrape_collector_success\{collector="(filesystem|meminfo)"\}' <&3 | tr '\n' ' ')
exec 3<&-
echo "DEADLINE_MS $(( $(ms) - t ))"
echo "DEADLINE $SCRAPE"
touch "$RELEASE"
sleep 0.5
for _ in $(seq 50); do
  d=$(get /api/disks)
  case "$d" in *"\"mount_point\":\"$MNT\""*'"total":4096000'*|*'"total":4096000'*"\"mount_point\":\"$MNT\""*) break ;; esac
  sleep 0.2
done
echo "AFTER $(get /api/disks)"
"#;

#[test]
fn a_hung_network_mount_is_listed_unavailable_without_delaying_anything_and_measured_once_it_answers()
 {
    if !Path::new("/dev/fuse").exists() {
        return common::skipped("SKIPPED a_hung_network_mount: no /dev/fuse on this machine");
    }
    if Command::new("unshare")
        .args(["-m", "true"])
        .status()
        .map(|s| !s.success())
        .unwrap_or(true)
    {
        return common::skipped(
            "SKIPPED a_hung_network_mount: cannot make a mount namespace (not root?)",
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let text = stdout_of(
        run_in(&["-m", "-p", "--fork", "--mount-proc"], HUNG, 3003)
            .env("HELPER", std::env::current_exe().unwrap())
            .env("RELEASE", dir.path().join("release"))
            .env("SONDE_FUSE_RELEASE", dir.path().join("release")),
    );
    let mnt = line(&text, "MOUNT");
    let listed = |reply: &Value| {
        reply
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["mount_point"] == mnt)
            .cloned()
    };
    // While it hangs: the disks reply comes after the mount timeout, not
    // never, without the mount; the metrics reply does not wait for it;
    // node_exporter's device_error says so.
    let hung: Value = serde_json::from_str(line(&text, "DISKS")).unwrap();
    assert!(listed(&hung).is_none(), "{hung}");
    let disks_ms: u64 = line(&text, "DISKS_MS").parse().unwrap();
    assert!(
        (250..5000).contains(&disks_ms),
        "the disks reply took {disks_ms} ms"
    );
    for reply in ["METRICS_MS", "PROCESSES_MS"] {
        let ms: u64 = line(&text, reply).parse().unwrap();
        assert!(
            ms < 2000,
            "{reply}: the reply took {ms} ms behind a hung mount"
        );
    }
    // Behind a mount timeout longer than the scrape's: served on time, the
    // filesystem collector failed, the rest read.
    let ms: u64 = line(&text, "DEADLINE_MS").parse().unwrap();
    assert!(ms < 1000, "a 1 s scrape took {ms} ms behind a hung mount");
    let scrape = line(&text, "DEADLINE");
    assert!(
        scrape.contains("collector=\"filesystem\"} 0")
            && scrape.contains("collector=\"meminfo\"} 1"),
        "{scrape}"
    );
    let node = line(&text, "NODE");
    assert!(
        node.contains("device_error=\"mountpoint timeout\"") && node.ends_with(" 1.0"),
        "{node}"
    );
    // Released: measured again, with what the server answers.
    let after: Value = serde_json::from_str(line(&text, "AFTER")).unwrap();
    let disk = listed(&after).unwrap_or_else(|| panic!("{after}"));
    assert_eq!(
        (disk["total"].as_u64(), disk["available"].as_u64()),
        (Some(4_096_000), Some(2_048_000)),
        "{disk}"
    );
    assert_eq!(disk["fs_type"], "fuse.sshfs");
    // Nothing outside the namespace saw the mount.
    let here = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!here.contains(mnt), "the mount leaked out of its namespace");
}

/// A device changed between two scrapes, in new network and mount
/// namespaces: after each change, `/metrics` and the sysfs files of
/// the device, read one after the other.
const CHANGES: &str = r#"
set -eu
mount -t sysfs sysfs /sys
ip link set lo up
ip link add v0 type veth peer name v1
ip link set v1 up
ip link set v0 up
"$SONDE" --bind 127.0.0.1 --port "$PORT" --metrics-ttl-ms 0 >/dev/null 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
wait_up
step() {
  sleep 1.1
  body /metrics | grep 'device="v0"' | sed "s/^/$1 /"
  for f in operstate carrier dormant mtu flags address addr_assign_type ifalias carrier_changes; do
    echo "$1 sysfs $f $(cat /sys/class/net/v0/$f 2>/dev/null || echo none)"
  done
}
step UP
ip link set v0 down
step DOWN
ip link set v0 mtu 1400 address 02:00:00:00:00:99 promisc on alias uplink
ip link set v0 up
step CHANGED
"#;

/// Names (a series with its labels, a sysfs file) and their values.
type Named = Vec<(String, String)>;

/// What a step served for `v0`: each series and its value; and the sysfs
/// files beside it.
fn step(out: &str, tag: &str) -> (Named, Named) {
    let (mut series, mut sysfs) = (Vec::new(), Vec::new());
    for l in out
        .lines()
        .filter_map(|l| l.strip_prefix(tag)?.strip_prefix(' '))
    {
        if let Some(file) = l.strip_prefix("sysfs ") {
            let (f, v) = file.split_once(' ').unwrap();
            sysfs.push((f.to_owned(), v.to_owned()));
        } else {
            let (name, value) = l.rsplit_once(' ').unwrap();
            series.push((name.to_owned(), value.to_owned()));
        }
    }
    (series, sysfs)
}

#[test]
fn a_device_changed_between_scrapes_is_served_as_the_kernel_now_has_it() {
    let Some(text) = in_a_network_namespace("a_device_changed_between_scrapes", CHANGES) else {
        return;
    };
    let mut seen = Vec::new();
    for tag in ["UP", "DOWN", "CHANGED"] {
        let (series, sysfs) = step(&text, tag);
        let file = |f: &str| {
            let v = &sysfs.iter().find(|(n, _)| n == f).unwrap().1;
            (v != "none").then(|| v.clone())
        };
        let value = |name: &str| {
            series
                .iter()
                .find(|(n, _)| n.split('{').next() == Some(name))
                .map(|(_, v)| v.parse::<f64>().unwrap())
        };
        let info = series
            .iter()
            .find(|(n, _)| n.starts_with("node_network_info{"))
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| panic!("{tag}: no node_network_info in\n{text}"));
        let number = |f: &str| {
            file(f).map(|v| match v.strip_prefix("0x") {
                Some(hex) => i64::from_str_radix(hex, 16).unwrap() as f64,
                None => v.parse().unwrap(),
            })
        };
        // Each series is the kernel's value of the moment.
        assert_eq!(
            value("node_network_mtu_bytes"),
            number("mtu"),
            "{tag}\n{text}"
        );
        assert_eq!(
            value("node_network_flags"),
            number("flags"),
            "{tag}\n{text}"
        );
        assert_eq!(
            value("node_network_carrier"),
            number("carrier"),
            "{tag}\n{text}"
        );
        assert_eq!(
            value("node_network_dormant"),
            number("dormant"),
            "{tag}\n{text}"
        );
        assert_eq!(
            value("node_network_address_assign_type"),
            number("addr_assign_type"),
            "{tag}\n{text}"
        );
        assert_eq!(
            value("node_network_carrier_changes_total"),
            number("carrier_changes"),
            "{tag}\n{text}"
        );
        let up = f64::from(u8::from(file("operstate").as_deref() == Some("up")));
        assert_eq!(value("node_network_up"), Some(up), "{tag}\n{text}");
        for (label, f) in [
            ("operstate", "operstate"),
            ("address", "address"),
            ("ifalias", "ifalias"),
        ] {
            let want = format!("{label}=\"{}\"", file(f).unwrap_or_default());
            assert!(info.contains(&want), "{tag}: {want} not in {info}");
        }
        seen.push((file("operstate"), file("mtu"), file("address")));
    }
    // The steps did change what they were meant to.
    assert_eq!(seen[1].0.as_deref(), Some("down"), "{text}");
    assert_eq!(seen[2].1.as_deref(), Some("1400"), "{text}");
    assert_eq!(seen[2].2.as_deref(), Some("02:00:00:00:00:99"), "{text}");
}
