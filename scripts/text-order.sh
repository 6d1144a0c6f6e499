#!/usr/bin/env bash
# Makes build/text-order.txt: the functions that a start, the first answer
# and the common requests run, in the order they first run, which build.rs
# hands to the linker (rust-lld's --symbol-ordering-file) so that they lie
# together at the front of the binary's code. Without it they are spread
# across all 7 MB of it, and the kernel maps every large page-cache folio
# a start touches: RSS at start is mostly those code pages
# (docs/performance.md, "The code a start touches").
#
# 1. builds the release binary as users do, with a link map
#    (SONDE_TEXT_MAP, read by build.rs), which names the function at every
#    address of the stripped binary;
# 2. runs it under callgrind (--dump-instr) and asks it, over loopback,
#    what `loadgen startup` asks (the first get_metrics), dumps, then asks
#    the other WebSocket kinds and the HTTP surfaces (/metrics gzip'd as
#    Prometheus asks, /api and each kind's route, the page, /healthz);
# 3. writes each executed function once: what only the start runs, then
#    what the start and the requests both run, then what only the requests
#    run, each group's hottest first (callgrind's instruction counts).
#
# The names carry hashes made from the package's version, Cargo.lock and
# the toolchain: rerun this after any of them changes (the layout test
# says so for the first two). Needs valgrind and python3.
#
#   scripts/text-order.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PORT:-3995}
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }
command -v callgrind_control >/dev/null || { echo "callgrind_control (valgrind) is needed" >&2; exit 1; }
WORK=$(mktemp -d)
SERVER=
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

SONDE_TEXT_MAP="$WORK/sonde.map" cargo build --release --bin sonde
[ -s "$WORK/sonde.map" ] || {
  echo "the link wrote no map: build.rs gives the linker an order only for x86_64-unknown-linux-gnu with rust-lld" >&2
  exit 1
}

valgrind --tool=callgrind --dump-instr=yes --compress-pos=no --compress-strings=no \
  --callgrind-out-file="$WORK/cg.out" \
  target/release/sonde --bind 127.0.0.1 --port "$PORT" >"$WORK/server.log" 2>&1 &
SERVER=$!
python3 - "$PORT" "$SERVER" "$WORK" <<'EOF'
import base64, glob, os, socket, subprocess, sys, time
port, server, work = int(sys.argv[1]), sys.argv[2], sys.argv[3]
host = f"127.0.0.1:{port}"

def connect():
    for _ in range(600):
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=120)
        except OSError:
            time.sleep(0.1)
    sys.exit("sonde did not start under valgrind within 60 s")

def read_exactly(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            sys.exit("sonde closed the connection")
        data += chunk
    return data

def ws_ask(s, text):
    """Sends a text frame and reads the whole answer (one frame)."""
    data, mask = text.encode(), os.urandom(4)
    s.sendall(bytes([0x81, 0x80 | len(data)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
    head = read_exactly(s, 2)
    length = head[1] & 0x7F
    if length == 126:
        length = int.from_bytes(read_exactly(s, 2), "big")
    elif length == 127:
        length = int.from_bytes(read_exactly(s, 8), "big")
    read_exactly(s, length)

def get(path, encoding="identity"):
    s = connect()
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: {encoding}\r\nConnection: close\r\n\r\n".encode())
    while s.recv(65536):
        pass
    s.close()

ws = connect()
key = base64.b64encode(os.urandom(16)).decode()
ws.sendall(f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
answer = b""
while b"\r\n\r\n" not in answer:
    answer += read_exactly(ws, 1)
ws_ask(ws, "get_metrics")
# What the start set going in the background (the warm-up) ends too.
time.sleep(5)
subprocess.run(["callgrind_control", "-d", server], check=True, stdout=subprocess.DEVNULL)
for kind in ("get_disks", "get_processes", "get_metrics"):
    ws_ask(ws, kind)
get("/metrics", "gzip")
get("/metrics")
get("/api")
for path in ("metrics", "disks", "processes", "host", "interfaces", "disk_io"):
    get(f"/api/{path}", "gzip")
get("/", "gzip")
get("/healthz")
ws.close()
EOF
kill -INT "$SERVER"
wait "$SERVER" 2>/dev/null || true
SERVER=

python3 - "$WORK" build/text-order.txt <<'EOF'
import bisect, glob, hashlib, re, subprocess, sys
work, out = sys.argv[1], sys.argv[2]
# Every function section of the link: address, size, symbol.
sections = []
pattern = re.compile(r"^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s+\S.*:\(\.text\.(\S+)\)$")
for line in open(f"{work}/sonde.map"):
    m = pattern.match(line)
    if m and int(m.group(2), 16) > 0:
        # .text.unlikely.NAME (cold parts LLVM splits off) is NAME's too.
        name = re.sub(r"^(unlikely|hot|startup|exit|split)\.", "", m.group(3))
        sections.append((int(m.group(1), 16), int(m.group(2), 16), name))
sections.sort()
starts = [s[0] for s in sections]

def executed(path):
    """Instructions run in each function of the binary (callgrind's self
    cost: a cost line after `calls=` is the call's, not the caller's)."""
    cost, obj, call = {}, "", False
    for line in open(path):
        if line.startswith("ob="):
            obj = line[3:].strip()
        elif line.startswith("calls="):
            call = True
        elif line[:1].isdigit():
            if obj.endswith("/target/release/sonde") and not call:
                fields = line.split()
                address = int(fields[0], 0)
                i = bisect.bisect_right(starts, address) - 1
                if i >= 0 and address < sections[i][0] + sections[i][1]:
                    name = sections[i][2]
                    cost[name] = cost.get(name, 0) + int(fields[-1])
            call = False
    return cost

def part(path):
    """The dump's number: the first is cg.out.1, the one at exit cg.out."""
    for line in open(path):
        if line.startswith("part:"):
            return int(line.split()[1])
    return 0

parts = sorted(glob.glob(f"{work}/cg.out*"), key=part)
if len(parts) < 2:
    sys.exit("callgrind wrote no dump after the first answer")
start, later = executed(parts[0]), {}
for path in parts[1:]:
    for name, n in executed(path).items():
        later[name] = later.get(name, 0) + n
# What only the start runs, then what the start and the requests both run,
# then what only the requests run: the start's code is one stretch, and so
# is the requests', each with its hottest functions first.
hottest = lambda names, cost: sorted(names, key=lambda n: (-cost[n], n))
order = (hottest([n for n in start if n not in later], start)
         + hottest([n for n in start if n in later], later)
         + hottest([n for n in later if n not in start], later))
size = {}
for _, length, name in sections:
    size[name] = size.get(name, 0) + length
version = re.search(r'^version = "([^"]+)"', open("Cargo.toml").read(), re.M).group(1)
lock = hashlib.sha256(open("Cargo.lock", "rb").read()).hexdigest()
rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
with open(out, "w") as f:
    f.write(f"# sonde {version}; Cargo.lock sha256 {lock}; {rustc}\n")
    f.write("# Made by scripts/text-order.sh; read by build.rs. Do not edit.\n")
    f.write("".join(n + "\n" for n in order))
print(f"{out}: {len(order)} functions, {sum(size[n] for n in order) // 1024} kB of code", file=sys.stderr)
EOF
