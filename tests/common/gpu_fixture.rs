//! A fixture host with GPUs: a sys root with an awake AMD dGPU and a
//! sleeping NVIDIA one, and a proc root whose one process uses the AMD one.

use std::path::Path;

pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A sys root with one AMD dGPU, awake, and a sleeping NVIDIA dGPU.
pub fn fixture_sys(dir: &Path) -> String {
    let devices = dir.join("sys/bus/pci/devices");
    let amd = devices.join("0000:03:00.0");
    for (file, text) in [
        ("vendor", "0x1002\n"),
        ("device", "0x73bf\n"),
        ("class", "0x030000\n"),
        ("power/runtime_status", "active\n"),
        ("gpu_busy_percent", "12\n"),
        ("mem_info_vram_used", "536870912\n"),
        ("mem_info_vram_total", "17163091968\n"),
        ("hwmon/hwmon2/temp1_input", "47000\n"),
    ] {
        write(&amd.join(file), text);
    }
    let nvidia = devices.join("0000:01:00.0");
    for (file, text) in [
        ("vendor", "0x10de\n"),
        ("device", "0x28e0\n"),
        ("class", "0x030200\n"),
        ("power/runtime_status", "suspended\n"),
        ("power_state", "D3cold\n"),
    ] {
        write(&nvidia.join(file), text);
    }
    dir.join("sys").to_str().unwrap().to_owned()
}

/// A proc root of one process (pid 500, `game`) holding the fixture AMD
/// GPU's render node, its DRM client's gfx engine busy `gfx_ns`.
pub fn proc_with_a_gpu_client(dir: &Path, gfx_ns: u64) -> String {
    let proc = dir.join("proc");
    write(
        &proc.join("stat"),
        "cpu 400 0 100 1500 0 0 0 0 0 0\ncpu0 400 0 100 1500 0 0 0 0 0 0\nbtime 1700000000\n",
    );
    write(
        &proc.join("meminfo"),
        "MemTotal: 4194304 kB\nMemFree: 1048576 kB\nMemAvailable: 3145728 kB\n",
    );
    write(&proc.join("loadavg"), "0.25 0.50 0.75 1/2 500\n");
    write(
        &proc.join("500/stat"),
        "500 (game) S 1 500 500 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 1000 10485760 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
    );
    write(&proc.join("500/comm"), "game\n");
    write(&proc.join("500/status"), "Name:\tgame\nUid:\t0\t0\t0\t0\n");
    gpu_client(dir, gfx_ns);
    std::fs::create_dir_all(proc.join("500/fd")).unwrap();
    std::os::unix::fs::symlink("/dev/dri/renderD128", proc.join("500/fd/5")).unwrap();
    proc.to_str().unwrap().to_owned()
}

/// Process 500's DRM client with its gfx engine busy `gfx_ns` in all.
pub fn gpu_client(dir: &Path, gfx_ns: u64) {
    write(
        &dir.join("proc/500/fdinfo/5"),
        &format!(
            "pos:\t0\ndrm-driver:\tamdgpu\ndrm-client-id:\t7\ndrm-pdev:\t0000:03:00.0\ndrm-resident-vram:\t4096 KiB\ndrm-engine-gfx:\t{gfx_ns} ns\n"
        ),
    );
}
