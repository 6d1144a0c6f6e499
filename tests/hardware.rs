//! Hardware and storage readings on fixture hosts shaped like real
//! machines (`tests/fixtures/hosts`: a ThinkPad with a battery, a file
//! server with degraded md arrays and ZFS, a Raspberry Pi, an AMD desktop),
//! through every surface: the `sensors`, `power`, `cpu_frequency` and
//! `arrays` kinds over the WebSocket (both request forms) and `/api`,
//! node_exporter's series on `/metrics`, and `sonde check`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
use common::prom::{Exposition, parse, scrape};
use common::{Server, ask, json};
use serde_json::Value;

fn host(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hosts")
        .join(name)
}

/// A copy of a fixture host that a test may change.
fn copy_of(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let ok = std::process::Command::new("cp")
        .arg("-a")
        .arg(host(name).join("."))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(ok.success());
    dir
}

async fn serve(root: &Path, extra: &[&str]) -> Server {
    let (proc_root, sys_root) = (root.join("proc"), root.join("sys"));
    let mut args = vec![
        "--proc-root",
        proc_root.to_str().unwrap(),
        "--sys-root",
        sys_root.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    Server::start(&args).await
}

/// `GET /api/{kind}`.
async fn api(server: &Server, kind: &str) -> Value {
    let (status, body) = scrape(server.addr, &format!("/api/{kind}")).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// A kind's reply over the WebSocket in both forms and over `/api`, which
/// must agree (one sample, within the TTL); the JSON one is returned.
async fn reading(server: &Server, kind: &str) -> Value {
    let mut ws = server.ws().await;
    let by_json = json(&ask(&mut ws, &format!("{{\"type\":\"{kind}\"}}")).await);
    let by_text = json(&ask(&mut ws, &format!("get_{kind}")).await);
    let over_http = api(server, kind).await;
    assert_eq!(by_json, by_text, "{kind}");
    assert_eq!(by_json, over_http, "{kind}");
    by_json
}

async fn metrics(server: &Server, collectors: &[&str]) -> Exposition {
    let query: Vec<String> = collectors
        .iter()
        .map(|c| format!("collect[]={c}"))
        .collect();
    let (status, text) = scrape(server.addr, &format!("/metrics?{}", query.join("&"))).await;
    assert_eq!(status, 200, "{text}");
    parse(&text)
}

/// The value of the series `name` whose labels include `labels`.
fn value(e: &Exposition, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    e.series.get(name)?.iter().find_map(|(l, v)| {
        labels
            .iter()
            .all(|(k, want)| l.get(*k).map(String::as_str) == Some(*want))
            .then_some(*v)
    })
}

fn chip<'a>(sensors: &'a Value, id: &str) -> &'a Value {
    sensors["chips"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["chip"] == id)
        .unwrap_or_else(|| panic!("no chip {id} in {sensors}"))
}

fn named<'a>(list: &'a Value, key: &str, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|x| x[key] == name)
        .unwrap_or_else(|| panic!("no {key}={name} in {list}"))
}

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-6)
}

#[tokio::test]
async fn the_laptop_shows_its_battery_adapter_fan_temperatures_frequencies_and_rapl() {
    let server = serve(&host("laptop"), &[]).await;
    let power = reading(&server, "power").await;
    let bat = named(&power["supplies"], "name", "BAT0");
    assert_eq!(bat["kind"], "Battery");
    assert_eq!(bat["status"], "Discharging");
    assert!(
        close(&bat["percent"], 73.0) && close(&bat["power_w"], 7.34),
        "{bat}"
    );
    assert!(
        close(&bat["energy_wh"], 38.91) && close(&bat["voltage_v"], 12.168),
        "{bat}"
    );
    assert!(close(&bat["health_percent"], 52.73 / 57.0 * 100.0), "{bat}");
    assert!(
        bat["time_to_empty_s"].is_null(),
        "ACPI batteries do not give it: {bat}"
    );
    assert_eq!(named(&power["supplies"], "name", "AC")["online"], false);
    let zones: Vec<&str> = power["rapl"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["zone"].as_str().unwrap())
        .collect();
    assert_eq!(zones, ["package", "core", "uncore", "psys"]);
    assert!(close(&power["rapl"][0]["joules"], 24903.180123), "{power}");
    assert!(
        power["rapl"][0]["watts"].is_null(),
        "one reading gives no watts"
    );

    let sensors = reading(&server, "sensors").await;
    let fan = &chip(&sensors, "platform_thinkpad_hwmon")["fans"][0];
    assert!(close(&fan["value"], 2890.0), "{fan}");
    let package = named(
        &chip(&sensors, "platform_coretemp_0")["temperatures"],
        "label",
        "Package id 0",
    );
    assert!(
        close(&package["value"], 52.0) && close(&package["critical"], 100.0),
        "{package}"
    );
    let nvme = named(
        &chip(&sensors, "nvme_nvme0")["temperatures"],
        "label",
        "Composite",
    );
    assert!(
        close(&nvme["value"], 36.85) && nvme["alarm"] == false,
        "{nvme}"
    );

    let freq = reading(&server, "cpu_frequency").await;
    let mhz: Vec<f64> = freq["cpus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["mhz"].as_f64().unwrap())
        .collect();
    assert_eq!(mhz, [1400.0, 2100.0, 400.0, 4700.0]);
    assert_eq!(freq["cpus"][0]["governor"], "powersave");
    assert_eq!(freq["cpus"][0]["driver"], "intel_pstate");
    assert!(close(&freq["cpus"][0]["max_mhz"], 4700.0));

    let arrays = reading(&server, "arrays").await;
    assert_eq!(
        arrays,
        serde_json::json!({"md": [], "zfs_pools": [], "zfs_arc": null})
    );

    let m = metrics(
        &server,
        &[
            "powersupplyclass",
            "hwmon",
            "rapl",
            "cpufreq",
            "thermal_zone",
            "dmi",
            "nvme",
        ],
    )
    .await;
    assert_eq!(
        value(
            &m,
            "node_power_supply_capacity",
            &[("power_supply", "BAT0")]
        ),
        Some(73.0)
    );
    assert_eq!(
        value(&m, "node_power_supply_online", &[("power_supply", "AC")]),
        Some(0.0)
    );
    let fan = [("chip", "platform_thinkpad_hwmon"), ("sensor", "fan1")];
    assert_eq!(value(&m, "node_hwmon_fan_rpm", &fan), Some(2890.0));
    assert_eq!(
        value(&m, "node_rapl_package_joules_total", &[("index", "0")]),
        Some(24903.180123)
    );
    assert_eq!(
        value(&m, "node_cpu_scaling_frequency_hertz", &[("cpu", "1")]),
        Some(2.1e9)
    );
    assert_eq!(
        value(&m, "node_thermal_zone_temp", &[("type", "x86_pkg_temp")]),
        Some(52.0)
    );
    assert_eq!(
        value(
            &m,
            "node_dmi_info",
            &[("product_version", "ThinkPad T14 Gen 3")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "node_nvme_info",
            &[("model", "SAMSUNG MZVL2512HCJQ-00BL7")]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn rapl_watts_come_from_two_readings_a_second_apart() {
    let root = copy_of("laptop");
    let server = serve(root.path(), &["--metrics-ttl-ms", "0"]).await;
    let first = api(&server, "power").await;
    assert!(
        first["rapl"][0]["watts"].is_null() && first["window_ms"].is_null(),
        "{first}"
    );
    let counter = root
        .path()
        .join("sys/devices/virtual/powercap/intel-rapl/intel-rapl:0/energy_uj");
    std::fs::write(&counter, (24_903_180_123u64 + 15_000_000).to_string()).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = api(&server, "power").await;
    let window = second["window_ms"]
        .as_f64()
        .expect("a window after a second")
        / 1000.0;
    let watts = second["rapl"][0]["watts"].as_f64().unwrap();
    assert!(
        (watts - 15.0 / window).abs() < 0.5,
        "15 J over {window} s gave {watts} W"
    );
}

#[tokio::test]
async fn the_server_shows_its_degraded_and_resyncing_arrays_pools_fans_and_memory_errors() {
    let server = serve(&host("server"), &[]).await;
    let arrays = reading(&server, "arrays").await;
    let md0 = named(&arrays["md"], "name", "md0");
    assert_eq!(
        (md0["level"].as_str(), md0["state"].as_str()),
        (Some("raid1"), Some("recovering"))
    );
    assert_eq!(
        (md0["degraded"].as_bool(), md0["missing"].as_u64()),
        (Some(true), Some(1))
    );
    assert!(
        close(&md0["sync"]["percent"], 36.4) && close(&md0["sync"]["finish_seconds"], 6.0),
        "{md0}"
    );
    let md1 = named(&arrays["md"], "name", "md1");
    assert_eq!(
        (md1["state"].as_str(), md1["degraded"].as_bool()),
        (Some("resyncing"), Some(true))
    );
    assert_eq!(md1["failed"], 1);
    assert!(
        md1["sync"]["percent"].is_null(),
        "a delayed resync has no progress yet: {md1}"
    );
    let md2 = named(&arrays["md"], "name", "md2");
    assert!(
        md2["degraded"] == false && close(&md2["sync"]["percent"], 12.3),
        "{md2}"
    );
    let md3 = named(&arrays["md"], "name", "md3");
    assert!(
        md3["degraded"] == false && md3["sync"].is_null() && md3["state"] == "active",
        "{md3}"
    );
    assert_eq!(
        named(&arrays["zfs_pools"], "name", "tank")["degraded"],
        false
    );
    assert_eq!(
        named(&arrays["zfs_pools"], "name", "backup")["state"],
        "DEGRADED"
    );
    assert_eq!(
        named(&arrays["zfs_pools"], "name", "backup")["degraded"],
        true
    );
    assert!(
        close(&arrays["zfs_arc"]["size_bytes"], 16624891520.0),
        "{arrays}"
    );

    let sensors = reading(&server, "sensors").await;
    let fans: Vec<f64> = chip(&sensors, "platform_nct6775_656")["fans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["value"].as_f64().unwrap())
        .collect();
    assert_eq!(fans, [1125.0, 0.0, 843.0]);
    let names: Vec<&str> = sensors["chips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["nct6776", "coretemp"],
        "the drivetemp disk is never read"
    );

    let m = metrics(
        &server,
        &["mdadm", "zfs", "hwmon", "edac", "bonding", "watchdog"],
    )
    .await;
    assert_eq!(
        value(
            &m,
            "node_md_state",
            &[("device", "md0"), ("state", "recovering")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "node_md_state",
            &[("device", "md2"), ("state", "resync")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&m, "node_md_degraded", &[("device", "md1")]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "node_md_disks",
            &[("device", "md1"), ("state", "failed")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&m, "node_md_blocks_synced", &[("device", "md2")]),
        Some(480601088.0)
    );
    assert_eq!(
        value(
            &m,
            "node_zfs_zpool_state",
            &[("zpool", "backup"), ("state", "degraded")]
        ),
        Some(1.0)
    );
    assert_eq!(value(&m, "node_zfs_arc_size", &[]), Some(16624891520.0));
    assert_eq!(
        value(
            &m,
            "node_zfs_zpool_dataset_nread",
            &[("dataset", "tank/backups")]
        ),
        Some(9411301376.0)
    );
    let fan = [("chip", "platform_nct6775_656"), ("sensor", "fan1")];
    assert_eq!(value(&m, "node_hwmon_fan_rpm", &fan), Some(1125.0));
    assert_eq!(
        value(
            &m,
            "node_hwmon_intrusion_alarm",
            &[("sensor", "intrusion0")]
        ),
        Some(1.0)
    );
    assert!(
        !m.series
            .values()
            .flatten()
            .any(|(l, _)| l.get("chip").is_some_and(|c| c.contains("0:0:0:0")))
    );
    assert_eq!(
        value(
            &m,
            "node_edac_correctable_errors_total",
            &[("controller", "0")]
        ),
        Some(3.0)
    );
    assert_eq!(
        value(&m, "node_bonding_active", &[("master", "bond0")]),
        Some(1.0)
    );
    assert_eq!(
        value(&m, "node_bonding_slaves", &[("master", "bond0")]),
        Some(2.0)
    );
    assert_eq!(
        value(
            &m,
            "node_watchdog_timeout_seconds",
            &[("name", "watchdog0")]
        ),
        Some(30.0)
    );
}

#[tokio::test]
async fn the_raspberry_pi_shows_its_soc_temperature_and_under_voltage_flag() {
    let server = serve(&host("raspberry_pi"), &[]).await;
    let sensors = reading(&server, "sensors").await;
    let soc = &chip(&sensors, "thermal_thermal_zone0")["temperatures"][0];
    assert!(close(&soc["value"], 48.686), "{soc}");
    let volt = &chip(&sensors, "soc:firmware_raspberrypi_hwmon")["voltages"][0];
    assert!(volt["value"].is_null() && volt["alarm"] == false, "{volt}");
    let freq = reading(&server, "cpu_frequency").await;
    assert_eq!(freq["cpus"].as_array().unwrap().len(), 4);
    assert!(close(&freq["cpus"][3]["mhz"], 600.0) && freq["cpus"][3]["driver"] == "cpufreq-dt");
    let power = reading(&server, "power").await;
    assert_eq!(
        power,
        serde_json::json!({"supplies": [], "rapl": [], "window_ms": null})
    );
    let m = metrics(
        &server,
        &["thermal_zone", "hwmon", "dmi", "powersupplyclass"],
    )
    .await;
    assert_eq!(
        value(
            &m,
            "node_thermal_zone_temp",
            &[("zone", "0"), ("type", "cpu-thermal")]
        ),
        Some(48.686)
    );
    let volt = [
        ("chip", "soc:firmware_raspberrypi_hwmon"),
        ("sensor", "in0"),
    ];
    assert_eq!(
        value(&m, "node_hwmon_in_lcrit_alarm_volts", &volt),
        Some(0.0)
    );
    assert_eq!(
        value(&m, "node_scrape_collector_success", &[("collector", "dmi")]),
        Some(0.0)
    );
    assert_eq!(
        value(
            &m,
            "node_scrape_collector_success",
            &[("collector", "powersupplyclass")]
        ),
        Some(0.0)
    );
}

#[tokio::test]
async fn the_amd_desktop_shows_k10temp_the_graphics_card_and_the_board_fans() {
    let server = serve(&host("amd_desktop"), &[]).await;
    let sensors = reading(&server, "sensors").await;
    let tctl = named(
        &chip(&sensors, "pci0000:00_0000:00:18_3")["temperatures"],
        "label",
        "Tctl",
    );
    assert!(close(&tctl["value"], 45.875), "{tctl}");
    let gpu = chip(&sensors, "0000:0b:00_0_0000:0c:00_0");
    assert!(
        close(&gpu["fans"][0]["value"], 0.0) && close(&gpu["fans"][0]["max"], 3300.0),
        "{gpu}"
    );
    assert!(
        close(&gpu["power"][0]["value"], 35.0) && gpu["power"][0]["label"] == "PPT",
        "{gpu}"
    );
    assert!(close(
        &named(&gpu["temperatures"], "label", "junction")["value"],
        55.0
    ));
    let board: Vec<f64> = chip(&sensors, "platform_nct6775_656")["fans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["value"].as_f64().unwrap())
        .collect();
    assert_eq!(board, [0.0, 980.0, 720.0]);
    let m = metrics(&server, &["hwmon", "rapl"]).await;
    let sclk = [("chip", "0000:0b:00_0_0000:0c:00_0"), ("sensor", "sclk")];
    assert_eq!(value(&m, "node_hwmon_freq_freq_mhz", &sclk), Some(500.0));
    let ppt = [("chip", "0000:0b:00_0_0000:0c:00_0"), ("sensor", "power1")];
    assert_eq!(value(&m, "node_hwmon_power_average_watt", &ppt), Some(35.0));
    assert_eq!(
        value(&m, "node_rapl_package_joules_total", &[]),
        Some(194433.20199)
    );
}

#[tokio::test]
async fn a_sleeping_graphics_card_is_listed_and_not_read() {
    let root = copy_of("amd_desktop");
    let status = root
        .path()
        .join("sys/devices/pci0000:00/0000:00:03.1/0000:0a:00.0/0000:0b:00.0/0000:0c:00.0/power/runtime_status");
    std::fs::write(&status, "suspended\n").unwrap();
    let server = serve(root.path(), &[]).await;
    let sensors = reading(&server, "sensors").await;
    let gpu = chip(&sensors, "0000:0b:00_0_0000:0c:00_0");
    assert_eq!(gpu["asleep"], true);
    assert!(
        gpu["temperatures"].as_array().unwrap().is_empty()
            && gpu["fans"].as_array().unwrap().is_empty()
    );
    let m = metrics(&server, &["hwmon"]).await;
    let of_gpu = |name: &str| {
        m.series
            .get(name)
            .into_iter()
            .flatten()
            .filter(|(l, _)| l["chip"].contains("0c:00_0"))
            .count()
    };
    assert_eq!(of_gpu("node_hwmon_chip_names"), 1, "the chip is named");
    assert_eq!(
        of_gpu("node_hwmon_temp_celsius"),
        0,
        "its sensors are not read"
    );
}

#[test]
fn sonde_check_has_a_line_for_each_hardware_reading() {
    let root = host("server");
    let out = std::process::Command::cargo_bin("sonde")
        .unwrap()
        .arg("--proc-root")
        .arg(root.join("proc"))
        .arg("--sys-root")
        .arg(root.join("sys"))
        .arg("check")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |label: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{label} ")))
            .unwrap_or_else(|| panic!("no {label} line in:\n{text}"))
            .to_owned()
    };
    assert!(
        line("sensors").contains("2 chips") && line("sensors").contains("fans (0–1125 rpm)"),
        "{text}"
    );
    let arrays = line("arrays");
    assert!(
        arrays.contains("md0 raid1 recovering 36.4%, DEGRADED"),
        "{arrays}"
    );
    assert!(
        arrays.contains("md3 raid1 active;") && arrays.contains("pool backup DEGRADED, DEGRADED"),
        "{arrays}"
    );
    assert!(
        line("cpu_frequency").contains("4 CPUs at 800–2000 MHz, ondemand"),
        "{text}"
    );
    assert!(line("power").contains("no batteries"), "{text}");
    assert!(line("node.mdadm").contains("series"), "{text}");
}

/// Replaces `path` with a FIFO: opening it for reading blocks until a
/// writer comes, so a surface that opens it hangs (or, if it opens without
/// blocking, is seen by [`Watch`]).
fn fifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Watches FIFOs: a reader holding one open (or blocked opening it) is
/// seen by a non-blocking open for writing, which then lets it go.
struct Watch {
    opened: std::sync::Arc<std::sync::Mutex<Vec<PathBuf>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Watch {
    fn start(paths: Vec<PathBuf>) -> Watch {
        use std::os::unix::fs::OpenOptionsExt;
        let opened = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (o, s) = (opened.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                for p in &paths {
                    let writer = std::fs::OpenOptions::new()
                        .write(true)
                        .custom_flags(libc::O_NONBLOCK)
                        .open(p);
                    if let Ok(mut w) = writer {
                        use std::io::Write as _;
                        let _ = w.write_all(b"99000\n");
                        o.lock().unwrap().push(p.clone());
                    }
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        Watch { opened, stop }
    }

    fn opened(&self) -> Vec<PathBuf> {
        self.opened.lock().unwrap().clone()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The metrics reply read every temperature input it found, `drivetemp`
/// disks and runtime-suspended devices included (waking them), on the
/// async worker; only the sensors reply left them alone.
#[tokio::test]
async fn regression_the_metrics_reply_read_drivetemp_and_suspended_devices_on_every_surface() {
    let root = copy_of("server");
    let hwmon = root.path().join("sys/class/hwmon");
    // A chip whose device sleeps, beside the file server's own.
    let device = root.path().join("sys/devices/platform/nct6798.656");
    std::fs::create_dir_all(device.join("power")).unwrap();
    std::fs::write(device.join("power/runtime_status"), "suspended\n").unwrap();
    let sleeping = hwmon.join("hwmon3");
    std::fs::create_dir_all(&sleeping).unwrap();
    std::fs::write(sleeping.join("name"), "nct6798\n").unwrap();
    std::os::unix::fs::symlink(&device, sleeping.join("device")).unwrap();
    // The drivetemp chip measures a mounted disk, as on a real host.
    let disk = root
        .path()
        .join("sys/devices/pci0000:00/ata1/host0/target0:0:0/0:0:0:0");
    std::fs::create_dir_all(disk.join("hwmon")).unwrap();
    std::os::unix::fs::symlink(hwmon.join("hwmon2"), disk.join("hwmon/hwmon2")).unwrap();
    std::fs::remove_file(hwmon.join("hwmon2/device")).unwrap();
    std::os::unix::fs::symlink(&disk, hwmon.join("hwmon2/device")).unwrap();
    let block = root.path().join("sys/class/block/sda");
    std::fs::create_dir_all(&block).unwrap();
    std::os::unix::fs::symlink(&disk, block.join("device")).unwrap();
    std::fs::create_dir_all(root.path().join("proc/1")).unwrap();
    std::fs::write(
        root.path().join("proc/1/mountinfo"),
        "22 1 8:1 / / rw,relatime - ext4 /dev/sda rw\n",
    )
    .unwrap();
    let never = [
        hwmon.join("hwmon2/temp1_input"),
        sleeping.join("temp1_input"),
    ];
    for p in &never {
        fifo(p);
    }
    let watch = Watch::start(never.to_vec());
    let server = serve(root.path(), &[]).await;
    let surfaces = async {
        let mut ws = server.ws().await;
        let by_json = json(&ask(&mut ws, r#"{"type":"metrics"}"#).await);
        let by_text = json(&ask(&mut ws, "get_metrics").await);
        let over_http = api(&server, "metrics").await;
        let sensors = reading(&server, "sensors").await;
        let disks = json(&ask(&mut ws, "get_disks").await);
        let (status, text) = scrape(server.addr, "/metrics").await;
        assert_eq!(status, 200, "{text}");
        (
            vec![by_json, by_text, over_http],
            sensors,
            disks,
            parse(&text),
        )
    };
    let (metrics_replies, sensors, disks, exposition) =
        tokio::time::timeout(Duration::from_secs(30), surfaces)
            .await
            .unwrap_or_else(|_| panic!("a surface hung on a FIFO: {:?}", watch.opened()));
    let check = std::process::Command::cargo_bin("sonde")
        .unwrap()
        .arg("--proc-root")
        .arg(root.path().join("proc"))
        .arg("--sys-root")
        .arg(root.path().join("sys"))
        .arg("check")
        .output()
        .unwrap();
    assert!(watch.opened().is_empty(), "opened: {:?}", watch.opened());
    assert_eq!(disks[0]["name"], "sda", "{disks}");
    assert!(disks[0]["temperature"].is_null(), "{disks}");

    // Every surface still shows the other sensors.
    for m in &metrics_replies {
        let labels: Vec<&str> = m["temps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["label"].as_str().unwrap())
            .collect();
        assert!(labels.iter().any(|l| l.starts_with("coretemp")), "{m}");
        assert!(labels.iter().any(|l| l.starts_with("nct6776")), "{m}");
        assert!(!labels.iter().any(|l| l.starts_with("nct6798")), "{m}");
        assert!(m["cpu_temp_c"].is_number(), "{m}");
    }
    assert_eq!(
        chip(&sensors, "platform_nct6798_656")["asleep"],
        true,
        "{sensors}"
    );
    let temps = &exposition.series["sonde_temperature_celsius"];
    assert!(
        temps
            .iter()
            .any(|(l, _)| l["sensor"].starts_with("coretemp")),
        "{temps:?}"
    );
    let hwmon_temps = &exposition.series["node_hwmon_temp_celsius"];
    assert!(
        hwmon_temps
            .iter()
            .all(|(l, _)| !l["chip"].contains("nct6798")),
        "{hwmon_temps:?}"
    );
    assert!(!hwmon_temps.is_empty());
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(text.contains("3 chips"), "{text}");
}
