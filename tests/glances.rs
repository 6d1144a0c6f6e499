//! The Glances API against the real thing: Glances 4 from PyPI (in the
//! virtual environment `.ci/run` makes at `target/glances-venv`, or
//! `SONDE_GLANCES_VENV`) and sonde on the same host, every plugin both
//! serve compared for keys, types and values; and the real client, Home
//! Assistant's `glances-api` library, run against sonde. Skipped, saying
//! so, where Glances is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness: failing loudly is its job

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::prom::scrape;
use common::{Killed, Server, free_port};
use serde_json::Value;

/// The virtual environment holding `glances` and `glances_api`.
fn venv() -> Option<PathBuf> {
    let dir = std::env::var_os("SONDE_GLANCES_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/glances-venv"));
    if dir.join("bin/glances").exists() {
        Some(dir)
    } else {
        common::skipped(&format!(
            "SKIPPED the Glances API tests: Glances is not installed in {} (.ci/run installs it from PyPI; or set SONDE_GLANCES_VENV)",
            dir.display()
        ));
        None
    }
}

/// A plugin's JSON from a server.
async fn get(addr: SocketAddr, path: &str) -> Value {
    let (status, body) = scrape(addr, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

/// Glances' web server, until it answers.
async fn glances(venv: &Path) -> (Killed, SocketAddr) {
    let port = free_port();
    let child = std::process::Command::new(venv.join("bin/glances"))
        .args(["-w", "--disable-webui", "--bind", "127.0.0.1", "-t", "1"])
        .args(["-p", &port.to_string()])
        .env("HOME", std::env::temp_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let child = Killed(child);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    for _ in 0..120 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            let (status, _) = scrape(addr, "/api/4/pluginslist").await;
            if status == 200 {
                return (child, addr);
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("Glances did not answer on {addr} within 30 s");
}

/// The JSON type's name, numbers as one type.
fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every key of Glances' object must be in sonde's, with the same type
/// where sonde knows it (null: a reading sonde does not take, as the
/// docs list).
fn same_shape(plugin: &str, glances: &Value, sonde: &Value) {
    let (Some(g), Some(s)) = (glances.as_object(), sonde.as_object()) else {
        assert_eq!(type_of(glances), type_of(sonde), "{plugin}");
        return;
    };
    for (key, gv) in g {
        let sv = s
            .get(key)
            .unwrap_or_else(|| panic!("{plugin}: sonde has no {key:?}: {sonde}"));
        if !sv.is_null() && !gv.is_null() {
            assert_eq!(
                type_of(gv),
                type_of(sv),
                "{plugin}.{key}: {gv} against {sv}"
            );
        }
    }
}

/// Items of a list plugin by their key field.
fn by_key(list: &Value) -> Vec<(String, &Value)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let key = i["key"].as_str().unwrap();
            (i[key].to_string(), i)
        })
        .collect()
}

fn close(what: &str, a: f64, b: f64, tolerance: f64) {
    assert!(
        (a - b).abs() <= tolerance,
        "{what}: Glances {a}, sonde {b} (tolerance {tolerance})"
    );
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_plugin_both_serve_has_glances_keys_types_and_values() {
    let Some(venv) = venv() else {
        return;
    };
    let (_glances, g) = glances(&venv).await;
    let sonde = Server::start(&[]).await;
    let s = sonde.addr;
    let glances_plugins = get(g, "/api/4/pluginslist").await;
    let ours = get(s, "/api/4/pluginslist").await;
    let mut compared = Vec::new();
    for plugin in ours.as_array().unwrap().iter().filter_map(Value::as_str) {
        if !glances_plugins
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == plugin)
        {
            continue;
        }
        let (gv, sv) = (
            get(g, &format!("/api/4/{plugin}")).await,
            get(s, &format!("/api/4/{plugin}")).await,
        );
        match (&gv, &sv) {
            (Value::Array(gl), Value::Array(_)) => {
                let ours = by_key(&sv);
                for (key, item) in by_key(&gv) {
                    if let Some((_, mine)) = ours.iter().find(|(k, _)| *k == key) {
                        same_shape(plugin, item, mine);
                    }
                }
                if let (Some(first), Some(mine)) = (gl.first(), sv.as_array().unwrap().first()) {
                    same_shape(plugin, first, mine);
                }
            }
            _ => same_shape(plugin, &gv, &sv),
        }
        compared.push(plugin.to_owned());
    }
    for needed in [
        "cpu",
        "mem",
        "load",
        "fs",
        "network",
        "diskio",
        "processlist",
    ] {
        assert!(
            compared.iter().any(|c| c == needed),
            "{needed} compared: {compared:?}"
        );
    }

    // Values, where both read the same thing at nearly the same time.
    let (gm, sm) = (get(g, "/api/4/mem").await, get(s, "/api/4/mem").await);
    assert_eq!(gm["total"], sm["total"]);
    let total = num(&gm, "total");
    close("mem.used", num(&gm, "used"), num(&sm, "used"), total * 0.05);
    close("mem.percent", num(&gm, "percent"), num(&sm, "percent"), 5.0);
    let (gl, sl) = (get(g, "/api/4/load").await, get(s, "/api/4/load").await);
    assert_eq!(gl["cpucore"], sl["cpucore"]);
    close("load.min15", num(&gl, "min15"), num(&sl, "min15"), 0.5);
    let (gs, ss) = (get(g, "/api/4/system").await, get(s, "/api/4/system").await);
    assert_eq!(gs["hostname"], ss["hostname"]);
    assert_eq!(gs["os_version"], ss["os_version"]);
    let (gc, sc) = (get(g, "/api/4/core").await, get(s, "/api/4/core").await);
    assert_eq!(gc, sc);
    let (gf, sf) = (get(g, "/api/4/fs").await, get(s, "/api/4/fs").await);
    for (mount, item) in by_key(&gf) {
        if let Some((_, mine)) = by_key(&sf).into_iter().find(|(k, _)| *k == mount) {
            assert_eq!(item["size"], mine["size"], "{mount}");
            close(
                &format!("fs {mount} used"),
                num(item, "used"),
                num(mine, "used"),
                num(item, "size") * 0.01,
            );
            close(
                &format!("fs {mount} percent"),
                num(item, "percent"),
                num(mine, "percent"),
                1.0,
            );
        }
    }
    let (gn, sn) = (
        get(g, "/api/4/network").await,
        get(s, "/api/4/network").await,
    );
    // Which interfaces each lists differs by design (docs/glances.md:
    // Glances also hides those without an address); those both list must
    // agree, and there must be one.
    let mut common = 0;
    for (name, item) in by_key(&gn) {
        let Some((_, mine)) = by_key(&sn).into_iter().find(|(k, _)| *k == name) else {
            continue;
        };
        common += 1;
        let gauge = num(item, "bytes_recv_gauge");
        close(
            &format!("{name} bytes_recv_gauge"),
            gauge,
            num(mine, "bytes_recv_gauge"),
            1e6 + gauge * 0.01,
        );
    }
    assert!(
        common > 0 || by_key(&gn).is_empty(),
        "no interface in common: Glances {gn}, sonde {sn}"
    );
    let (gp, sp) = (
        get(g, "/api/4/processcount").await,
        get(s, "/api/4/processcount").await,
    );
    let n = num(&gp, "total");
    close("processcount.total", n, num(&sp, "total"), 10.0 + n * 0.2);
    let (gu, su) = (get(g, "/api/4/uptime").await, get(s, "/api/4/uptime").await);
    let seconds = |v: &Value| {
        let text = v.as_str().unwrap();
        let (days, hms) = match text.split_once(", ") {
            Some((d, rest)) => (d.split(' ').next().unwrap().parse::<f64>().unwrap(), rest),
            None => (0.0, text),
        };
        let parts: Vec<f64> = hms.split(':').map(|p| p.parse().unwrap()).collect();
        days * 86_400.0 + parts[0] * 3600.0 + parts[1] * 60.0 + parts[2]
    };
    close("uptime seconds", seconds(&gu), seconds(&su), 90.0);
    let (gd, sd) = (
        get(g, "/api/4/mem/used").await,
        get(s, "/api/4/mem/used").await,
    );
    assert!(
        gd["used"].is_number() && sd["used"].is_number(),
        "{gd} {sd}"
    );
}

/// Home Assistant's client, `glances_api.Glances(version=4)`, asks sonde
/// for `/api/4/all` with the token as its Basic password and turns it into
/// sensors.
async fn ha_sensor_data(venv: &Path, server: &Server, password: Option<&str>) -> Value {
    let script = r#"
import asyncio, json, sys
from glances_api import Glances
async def main():
    port, password = int(sys.argv[1]), (sys.argv[2] or None)
    g = Glances(host="127.0.0.1", port=port, version=4, username="homeassistant", password=password)
    print(json.dumps(await g.get_ha_sensor_data()))
asyncio.run(main())
"#;
    let out = tokio::process::Command::new(venv.join("bin/python"))
        .args([
            "-c",
            script,
            &server.addr.port().to_string(),
            password.unwrap_or(""),
        ])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "glances_api failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn home_assistants_client_reads_every_sensor_group_with_the_token_as_basic_password() {
    let Some(venv) = venv() else {
        return;
    };
    let token = "glances-test-token-0123456789";
    let server = Server::start(&["--token", token]).await;
    let data = ha_sensor_data(&venv, &server, Some(token)).await;
    for group in [
        "fs",
        "mem",
        "memswap",
        "load",
        "cpu",
        "percpu",
        "network",
        "diskio",
        "processcount",
        "uptime",
    ] {
        assert!(
            data.get(group).is_some_and(|g| !g.is_null()),
            "{group} missing: {data}"
        );
    }
    assert!(data["mem"]["memory_use"].as_f64().unwrap() > 0.0, "{data}");
    assert!(data["cpu"]["cpu_use_percent"].is_number(), "{data}");

    // Without the token: refused, and the client says so.
    let script_fails = tokio::process::Command::new(venv.join("bin/python"))
        .args([
            "-c",
            "import asyncio,sys\nfrom glances_api import Glances\nasyncio.run(Glances(host='127.0.0.1',port=int(sys.argv[1]),version=4,username='x',password='wrong').get_ha_sensor_data())",
            &server.addr.port().to_string(),
        ])
        .output()
        .await
        .unwrap();
    assert!(!script_fails.status.success());
    assert!(
        String::from_utf8_lossy(&script_fails.stderr).contains("GlancesApiAuthorizationError"),
        "{}",
        String::from_utf8_lossy(&script_fails.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn home_assistants_client_reads_sensors_and_raid_on_the_file_server() {
    let Some(venv) = venv() else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hosts/server");
    let (proc_root, sys_root) = (root.join("proc"), root.join("sys"));
    let server = Server::start(&[
        "--proc-root",
        proc_root.to_str().unwrap(),
        "--sys-root",
        sys_root.to_str().unwrap(),
    ])
    .await;
    let data = ha_sensor_data(&venv, &server, None).await;
    let sensors = data["sensors"].as_object().expect("sensors");
    // psutil's labels, as Glances serves them and Homepage matches them.
    assert!(
        sensors
            .get("Package id 0")
            .is_some_and(|s| s["temperature_core"] == 41.0),
        "{data}"
    );
    assert!(sensors.contains_key("SYSTIN"), "{data}");
    assert!(sensors.keys().any(|k| k.starts_with("Core ")), "{data}");
    assert_eq!(data["raid"]["md0"]["type"], "raid1", "{data}");
}

#[tokio::test(flavor = "multi_thread")]
async fn home_assistants_client_reads_the_gpu_and_containers_of_a_desktop() {
    let Some(venv) = venv() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sys = common::amd_desktop_with_containers(dir.path());
    let server = Server::start(&["--sys-root", sys.to_str().unwrap()]).await;
    let data = ha_sensor_data(&venv, &server, None).await;
    let gpus = data["gpu"].as_object().expect("gpu group");
    let (name, gpu) = gpus.iter().next().expect("one GPU");
    assert!(name.contains("(GPU amd0)"), "{data}");
    assert!(gpu["proc"].is_number() && gpu["mem"].is_number(), "{gpu}");
    assert_eq!(data["docker"]["docker_active"], 1, "{data}");
    let containers = data["containers"].as_object().expect("containers group");
    assert_eq!(containers.len(), 1, "{data}");
    let (_, c) = containers.iter().next().unwrap();
    assert!(c["container_memory_use"].as_f64().unwrap() > 0.0, "{c}");
}

/// Glances' history endpoints: for every plugin sonde keeps history of,
/// the same items (by their names' endings for the per-interface and
/// per-disk ones) as Glances' own, each a list of `[ISO time, number]`,
/// `/history/N` the last N, and an item's history alone.
#[tokio::test]
async fn history_endpoints_answer_in_glances_shape() {
    let Some(venv) = venv() else {
        return;
    };
    let (_glances, g) = glances(&venv).await;
    let sonde = Server::start(&[]).await;
    let s = sonde.addr;
    // Both are watched for a few seconds (Glances refreshes each second).
    for _ in 0..6 {
        for plugin in ["cpu", "network", "diskio"] {
            get(g, &format!("/api/4/{plugin}")).await;
            get(s, &format!("/api/4/{plugin}")).await;
        }
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    let suffix = |key: &str| {
        key.rsplit_once('_')
            .map_or(key.to_owned(), |(_, s)| s.to_owned())
    };
    for plugin in ["cpu", "load", "mem", "memswap", "network", "diskio"] {
        let (gv, sv) = (
            get(g, &format!("/api/4/{plugin}/history/3")).await,
            get(s, &format!("/api/4/{plugin}/history/3")).await,
        );
        let ends = |v: &Value| {
            let mut k: Vec<String> = v.as_object().unwrap().keys().map(|k| suffix(k)).collect();
            k.sort();
            k.dedup();
            k
        };
        assert_eq!(ends(&sv), ends(&gv), "{plugin}: sonde {sv}\nGlances {gv}");
        for (key, points) in sv.as_object().unwrap() {
            let points = points.as_array().unwrap();
            assert!(
                !points.is_empty() && points.len() <= 3,
                "{plugin} {key}: {points:?}"
            );
            for p in points {
                let time = p[0].as_str().unwrap();
                assert!(
                    time.len() == 32 && time.ends_with("+00:00") && time.as_bytes()[10] == b'T',
                    "{plugin} {key}: {time} is not Glances' ISO form"
                );
                assert!(p[1].is_number(), "{plugin} {key}: {p}");
            }
        }
    }
    let (gi, si) = (
        get(g, "/api/4/load/min1/history/2").await,
        get(s, "/api/4/load/min1/history/2").await,
    );
    assert_eq!(type_of(&gi), type_of(&si));
    assert_eq!(si.as_array().unwrap().len(), 2, "{si}");
    let (status, body) = scrape(s, "/api/4/load/nope/history").await;
    assert_eq!(status, 404, "{body}");
}
