//! Who is using the network: each process's TCP bytes, received and sent,
//! and their rates between samples, as CPU% is computed.
//!
//! The kernel keeps, per TCP socket, the bytes it received and the bytes
//! the peer acknowledged (`tcp_info`'s `bytes_received`, `bytes_acked`);
//! one netlink `sock_diag` dump with the `INET_DIAG_INFO` extension gives
//! them for every socket, with its inode. A process owns the sockets its
//! descriptors point at (`/proc/PID/fd/N` → `socket:[INODE]`), as `ss -p`
//! finds them.
//!
//! That join is a directory listing per process and a `readlink` per
//! descriptor on the host, the dear part, so it is amortised: a socket's
//! owner is remembered while the socket lives, and descriptors are listed
//! only when the dump holds a socket whose owner is not known (see
//! [`NetSampler::sample_with`]). A process's `fd` directory is kept open
//! (within its share of descriptors), and a listing reads the link only of
//! a descriptor number not seen before, or of one that pointed at a TCP
//! socket since closed (its number may have been reused).
//!
//! What this cannot see: UDP and other protocols; a connection opened and
//! closed between two samples; the bytes a connection moved between the
//! last sample and its close. A socket several processes hold (inherited
//! across `fork`) counts for each of them.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;

use rustix::fs::{Mode, OFlags, RawDir, SeekFrom};

use super::MIN_WINDOW as FIRST_WINDOW;
use super::clock::{Clock, RealClock};
use super::netlink;
use super::processes::ProcessTable;
use super::tcp_states::{self, STATES};

/// Every descriptor is read again at least this often.
pub const FULL_EVERY: Duration = Duration::from_secs(10);

/// A new socket nobody owns sends a sample through every descriptor at
/// most this often (where processes cannot be read, such sockets are
/// always there).
pub const RECHECK_EVERY: Duration = Duration::from_secs(1);

/// `INET_DIAG_INFO`'s bit in the dump request's extensions.
const EXT_INFO: u8 = 1 << (2 - 1);
/// `INET_DIAG_INFO`, an attribute's type.
const INET_DIAG_INFO: u16 = 2;
/// The size of `inet_diag_msg`; its attributes follow.
const MSG_LEN: usize = 72;

/// One TCP socket, as the kernel's dump describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSocket {
    /// Its inode (0 for one no file holds: time-wait, orphaned, not yet
    /// accepted).
    pub inode: u32,
    /// The kernel's identifier of this socket for its lifetime.
    pub cookie: u64,
    /// Its state, 1–11 ([`STATES`]).
    pub state: u8,
    /// Local address.
    pub local: SocketAddr,
    /// Remote address (unspecified for a listener).
    pub remote: SocketAddr,
    /// Bytes received (`tcp_info.bytes_received`; `None` on kernels that
    /// do not keep it).
    pub received: Option<u64>,
    /// Bytes sent and acknowledged by the peer (`tcp_info.bytes_acked`,
    /// less the SYN the kernel counts as one).
    pub acked: Option<u64>,
    /// Smoothed round-trip time, µs.
    pub rtt_us: Option<u32>,
}

impl TcpSocket {
    /// Whether it is listening (`TCP_LISTEN`).
    pub fn listening(&self) -> bool {
        self.state_name() == "listen"
    }

    /// Its state's name, as `ss` and node_exporter write it.
    pub fn state_name(&self) -> &'static str {
        STATES
            .get(usize::from(self.state).wrapping_sub(1))
            .copied()
            .unwrap_or("unknown")
    }
}

fn u64_at(d: &[u8], at: usize) -> Option<u64> {
    d.get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_ne_bytes)
}

fn address(family: u8, raw: &[u8], port: u16) -> Option<SocketAddr> {
    let ip = match i32::from(family) {
        libc::AF_INET => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(raw.get(..4)?).ok()?)),
        libc::AF_INET6 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(raw.get(..16)?).ok()?)),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// One `inet_diag_msg` and its attributes, as the dump hands them over;
/// `None` for a message too short or of another family. Pure, for tests.
pub fn parse_socket(body: &[u8]) -> Option<TcpSocket> {
    let (&family, &state) = (body.first()?, body.get(1)?);
    let port = |at: usize| Some(u16::from_be_bytes(body.get(at..at + 2)?.try_into().ok()?));
    let local = address(family, body.get(8..24)?, port(4)?)?;
    let remote = address(family, body.get(24..40)?, port(6)?)?;
    let cookie =
        u64::from(netlink::u32_at(body, 44)?) | (u64::from(netlink::u32_at(body, 48)?) << 32);
    let inode = netlink::u32_at(body, 68)?;
    let mut socket = TcpSocket {
        inode,
        cookie,
        state,
        local,
        remote,
        received: None,
        acked: None,
        rtt_us: None,
    };
    let mut attrs = body.get(MSG_LEN..).unwrap_or_default();
    while attrs.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([attrs[0], attrs[1]]));
        let kind = u16::from_ne_bytes([attrs[2], attrs[3]]);
        if len < 4 || len > attrs.len() {
            break;
        }
        if kind == INET_DIAG_INFO {
            let info = &attrs[4..len];
            socket.rtt_us = netlink::u32_at(info, 68);
            // The kernel counts the SYN's sequence number as one byte
            // acknowledged (and a FIN's, once acknowledged): the first
            // is not data.
            socket.acked = u64_at(info, 120).map(|a| a.saturating_sub(1));
            socket.received = u64_at(info, 128);
        }
        attrs = attrs.get((len + 3) & !3..).unwrap_or_default();
    }
    Some(socket)
}

/// Every TCP socket on the host (this network namespace), with its bytes.
pub fn dump() -> io::Result<Vec<TcpSocket>> {
    let mut sockets = Vec::new();
    tcp_states::each_socket(EXT_INFO, |body| sockets.extend(parse_socket(body)))?;
    Ok(sockets)
}

/// The socket inode behind a descriptor's link text, `socket:[INODE]`.
pub fn socket_inode(link: &[u8]) -> Option<u32> {
    std::str::from_utf8(link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?)
        .ok()?
        .parse()
        .ok()
}

/// What a descriptor pointed at when last read: a socket's inode, or
/// [`NOT_A_SOCKET`].
type Target = u32;
const NOT_A_SOCKET: Target = 0;

fn read_target(dir: &impl AsFd, name: &std::ffi::CStr) -> Option<Target> {
    let mut buf = [0u8; 40];
    let n = rustix::fs::readlinkat_raw(dir, name, &mut buf[..]).ok()?;
    Some(socket_inode(&buf[..n.min(buf.len())]).unwrap_or(NOT_A_SOCKET))
}

/// Process `pid`'s `fd` directory, opened for listing.
fn open_fd_dir(proc_root: &Path, pid: u32) -> Option<OwnedFd> {
    let path = proc_root.join(pid.to_string()).join("fd");
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    rustix::fs::open(&path, flags, Mode::empty()).ok()
}

/// One process's descriptors: its `fd` directory (kept open while its
/// share allows; listed through the sampler's one buffer) and what each
/// descriptor pointed at.
#[derive(Debug, Default)]
struct Fds {
    dir: Option<OwnedFd>,
    targets: HashMap<u32, Target>,
}

/// The buffer every directory is listed through.
fn listing_buffer() -> Vec<MaybeUninit<u8>> {
    vec![MaybeUninit::uninit(); 16 * 1024]
}

/// Lists `fd_dir` (opened now when `fds` keeps none) and returns the socket
/// inodes its descriptors point at; reads a descriptor's link only when
/// `recheck` says so or it is new. `None`: not readable (gone, or not
/// ours).
fn owned_sockets(
    fds: &mut Fds,
    open: impl FnOnce() -> Option<OwnedFd>,
    recheck: impl Fn(Target) -> bool,
    buf: &mut [MaybeUninit<u8>],
    readlinks: &mut usize,
) -> Option<Vec<u32>> {
    let dir = match fds.dir.take() {
        Some(d) => {
            rustix::fs::seek(&d, SeekFrom::Start(0)).ok()?;
            d
        }
        None => open()?,
    };
    let mut targets = HashMap::with_capacity(fds.targets.len());
    let mut sockets = Vec::new();
    let mut listing = RawDir::new(&dir, buf);
    while let Some(entry) = listing.next() {
        let entry = entry.ok()?;
        let name = entry.file_name();
        let Some(fd) = std::str::from_utf8(name.to_bytes())
            .ok()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let target = match fds.targets.get(&fd) {
            Some(&t) if !recheck(t) => t,
            _ => {
                *readlinks += 1;
                // A descriptor closed since the listing has no target.
                let Some(t) = read_target(&dir, name) else {
                    continue;
                };
                t
            }
        };
        if target != NOT_A_SOCKET {
            sockets.push(target);
        }
        targets.insert(fd, target);
    }
    fds.targets = targets;
    fds.dir = Some(dir);
    Some(sockets)
}

/// One process's TCP traffic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessNet {
    /// Bytes its open TCP connections received.
    pub received_bytes: u64,
    /// Bytes its open TCP connections sent (acknowledged by the peer).
    pub sent_bytes: u64,
    /// Bytes received per second over the window (`None`: the first
    /// sample).
    pub received_bytes_per_sec: Option<f64>,
    /// Bytes sent per second over the window.
    pub sent_bytes_per_sec: Option<f64>,
    /// Its TCP sockets, listeners included.
    pub connections: u32,
}

/// Every readable process's TCP traffic, by pid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetTable {
    /// By pid; a process whose descriptors cannot be read is absent.
    pub by_pid: HashMap<u32, ProcessNet>,
    /// Seconds the rates cover.
    pub window_secs: f64,
    /// TCP sockets on the host.
    pub sockets: usize,
    /// Descriptor links read for this sample (the amortised part).
    pub readlinks: usize,
}

/// A socket's bytes at the previous sample: (cookie, received, acked).
type Seen = (u64, u64, u64);

/// One process as the sampler knows it: its descriptors, and the TCP
/// sockets they pointed at when last listed.
#[derive(Debug, Default)]
struct Known {
    start: u64,
    fds: Fds,
    /// `None`: its descriptors could not be read.
    sockets: Option<Vec<u32>>,
}

/// The sampler: each process's TCP sockets as last listed, each socket's
/// bytes at the previous sample.
#[derive(Debug)]
pub struct NetSampler {
    proc_root: PathBuf,
    procs: HashMap<u32, Known>,
    keep: usize,
    previous: HashMap<u32, Seen>,
    previous_at: Option<Instant>,
    unowned: HashSet<u32>,
    /// When every process was last listed.
    full_at: Option<Instant>,
    /// When descriptors were last searched for a new socket's owner.
    searched_at: Option<Instant>,
    /// The agent's network namespace (`/proc/self/ns/net`), where the
    /// dump's sockets live.
    netns: Option<std::ffi::OsString>,
    /// The buffer directories are listed through.
    buf: Vec<MaybeUninit<u8>>,
    clock: Arc<dyn Clock>,
}

/// How a walk reads descriptors' links.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Links {
    /// Only new descriptor numbers, and those that pointed at a TCP
    /// socket since closed.
    Changed,
    /// Every one (a number may have been reused from a file).
    All,
}

impl NetSampler {
    /// A sampler of the processes under `proc_root`, keeping at most
    /// `keep` directories open.
    pub fn new(proc_root: PathBuf, keep: usize) -> NetSampler {
        NetSampler {
            proc_root: proc_root.clone(),
            procs: HashMap::new(),
            keep,
            previous: HashMap::new(),
            previous_at: None,
            unowned: HashSet::new(),
            full_at: None,
            searched_at: None,
            netns: own_netns(&proc_root),
            buf: listing_buffer(),
            clock: Arc::new(RealClock),
        }
    }

    /// The same sampler on another clock (tests move a manual one).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> NetSampler {
        self.clock = clock;
        self
    }

    /// Directories kept open now.
    pub fn kept_dirs(&self) -> usize {
        self.procs.values().filter(|k| k.fds.dir.is_some()).count()
    }

    /// The TCP traffic of `table`'s processes, with rates since the
    /// previous sample; the first sample takes two readings
    /// [`FIRST_WINDOW`] apart, as the disk column's does. Blocks (a dump,
    /// directories to list): run it on the blocking pool.
    pub fn sample(&mut self, table: &ProcessTable) -> io::Result<NetTable> {
        if self.previous_at.is_none() {
            self.sample_with(table, dump()?);
            self.clock.sleep(FIRST_WINDOW);
        }
        Ok(self.sample_with(table, dump()?))
    }

    /// The same, over the sockets given (tests give them).
    ///
    /// Descriptors are listed only where a socket's owner is unknown: the
    /// processes new since the last sample first, then those that held
    /// TCP sockets (a server accepting), then, at most every
    /// [`RECHECK_EVERY`], every process; and every process every
    /// [`FULL_EVERY`], which also catches a socket passed to another
    /// process.
    pub fn sample_with(&mut self, table: &ProcessTable, sockets: Vec<TcpSocket>) -> NetTable {
        let now = self.clock.now();
        let by_inode: HashMap<u32, &TcpSocket> = sockets
            .iter()
            .filter(|s| s.inode != 0)
            .map(|s| (s.inode, s))
            .collect();
        // A descriptor that pointed at a TCP socket since closed may now
        // be another file: its link is read again when listed.
        let closed: HashSet<u32> = self
            .previous
            .keys()
            .filter(|i| !by_inode.contains_key(i))
            .copied()
            .collect();
        let mut new = Vec::new();
        let mut kept = std::mem::take(&mut self.procs);
        for r in &table.rows {
            match kept.remove(&r.pid) {
                Some(k) if k.start == r.start_ticks => {
                    self.procs.insert(r.pid, k);
                }
                _ => {
                    new.push(r.pid);
                    let fresh = Known {
                        start: r.start_ticks,
                        ..Known::default()
                    };
                    self.procs.insert(r.pid, fresh);
                }
            }
        }
        let mut readlinks = 0;
        let due = self
            .full_at
            .is_none_or(|at| now.saturating_duration_since(at) >= FULL_EVERY);
        let (walked_holders, walked_all) =
            self.find_owners(&new, due, now, &by_inode, &closed, &mut readlinks);
        if walked_all {
            // What no process holds after every one was listed is
            // another user's, or the kernel's: settled until the next.
            self.full_at = Some(now);
            self.unowned.clear();
            self.unowned = self.unknown(&by_inode).collect();
        } else {
            self.unowned.retain(|i| by_inode.contains_key(i));
        }
        if walked_all || walked_holders {
            self.searched_at = Some(now);
        }
        // A socket whose owner is still to be found is left out of the
        // previous readings: once found, all its bytes count, as a new
        // socket's do (they moved since it was first seen).
        let pending: HashSet<u32> = self.unknown(&by_inode).collect();
        let secs = self
            .previous_at
            .map(|at| now.saturating_duration_since(at).as_secs_f64());
        let by_pid = self.rates(&by_inode, secs);
        self.previous = by_inode
            .values()
            .filter(|s| !pending.contains(&s.inode))
            .map(|s| {
                let seen = (s.cookie, s.received.unwrap_or(0), s.acked.unwrap_or(0));
                (s.inode, seen)
            })
            .collect();
        self.previous_at = Some(now);
        tracing::debug!(
            sockets = sockets.len(),
            new_processes = new.len(),
            walked_holders,
            walked_all,
            readlinks,
            unowned = self.unowned.len(),
            "process network sample"
        );
        NetTable {
            by_pid,
            window_secs: secs.unwrap_or(0.0),
            sockets: sockets.len(),
            readlinks,
        }
    }

    /// Lists descriptors where a socket's owner is unknown (see
    /// [`NetSampler::sample_with`]); says whether the holders, and every
    /// process, were listed.
    fn find_owners(
        &mut self,
        new: &[u32],
        due: bool,
        now: Instant,
        by_inode: &HashMap<u32, &TcpSocket>,
        closed: &HashSet<u32>,
        readlinks: &mut usize,
    ) -> (bool, bool) {
        let mut walked_all = due;
        let mut walked_holders = false;
        if due {
            let all: Vec<u32> = self.procs.keys().copied().collect();
            self.walk(&all, Links::All, by_inode, closed, None, readlinks);
        } else {
            self.walk(new, Links::Changed, by_inode, closed, None, readlinks);
            let may = self
                .searched_at
                .is_none_or(|at| now.saturating_duration_since(at) >= RECHECK_EVERY);
            let mut unknown: HashSet<u32> = self.unknown(by_inode).collect();
            if may && !unknown.is_empty() {
                // The smallest directories first, until every new socket
                // has its owner: a process holding thousands of
                // descriptors is listed only when it is the one.
                let mut holders: Vec<(usize, u32)> = self
                    .procs
                    .iter()
                    .filter(|(_, k)| k.sockets.as_ref().is_some_and(|s| !s.is_empty()))
                    .map(|(pid, k)| (k.fds.targets.len(), *pid))
                    .collect();
                holders.sort_unstable();
                let holders: Vec<u32> = holders.into_iter().map(|(_, pid)| pid).collect();
                self.walk(
                    &holders,
                    Links::Changed,
                    by_inode,
                    closed,
                    Some(&mut unknown),
                    readlinks,
                );
                walked_holders = true;
                if !unknown.is_empty() {
                    let all: Vec<u32> = self.procs.keys().copied().collect();
                    self.walk(&all, Links::All, by_inode, closed, None, readlinks);
                    walked_all = true;
                }
            }
        }
        (walked_holders, walked_all)
    }

    /// Each listed process's TCP traffic from its sockets, with the bytes
    /// they moved since the previous sample over `secs`.
    fn rates(
        &self,
        by_inode: &HashMap<u32, &TcpSocket>,
        secs: Option<f64>,
    ) -> HashMap<u32, ProcessNet> {
        let mut by_pid = HashMap::with_capacity(self.procs.len());
        for (&pid, known) in &self.procs {
            let Some(inodes) = &known.sockets else {
                continue;
            };
            let mut net = ProcessNet {
                received_bytes: 0,
                sent_bytes: 0,
                received_bytes_per_sec: None,
                sent_bytes_per_sec: None,
                connections: 0,
            };
            let (mut rx_moved, mut tx_moved) = (0u64, 0u64);
            for inode in inodes {
                let Some(s) = by_inode.get(inode) else {
                    continue;
                };
                net.connections += 1;
                let (rx, tx) = (s.received.unwrap_or(0), s.acked.unwrap_or(0));
                net.received_bytes += rx;
                net.sent_bytes += tx;
                // A socket first seen now opened within the window: all
                // its bytes moved in it.
                let (rx0, tx0) = match self.previous.get(inode) {
                    Some(&(cookie, rx0, tx0)) if cookie == s.cookie => (rx0, tx0),
                    _ => (0, 0),
                };
                rx_moved += rx.saturating_sub(rx0);
                tx_moved += tx.saturating_sub(tx0);
            }
            if let Some(secs) = secs {
                net.received_bytes_per_sec = super::per_sec(rx_moved, 0, secs);
                net.sent_bytes_per_sec = super::per_sec(tx_moved, 0, secs);
            }
            by_pid.insert(pid, net);
        }
        by_pid
    }

    /// The TCP sockets no known process holds, less those a listing of
    /// every process left unheld (another user's, or the kernel's:
    /// looking again would not find them).
    fn unknown<'a>(
        &'a self,
        by_inode: &'a HashMap<u32, &TcpSocket>,
    ) -> impl Iterator<Item = u32> + 'a {
        let held: HashSet<u32> = self
            .procs
            .values()
            .filter_map(|k| k.sockets.as_ref())
            .flatten()
            .copied()
            .collect();
        by_inode
            .keys()
            .copied()
            .filter(move |i| !held.contains(i) && !self.unowned.contains(i))
    }

    /// Lists the descriptors of `pids`, noting the TCP sockets of
    /// `by_inode` each holds; with `sought`, stops once every socket in it
    /// is found (and takes the found ones out). Directories past the kept
    /// share are closed after listing.
    fn walk(
        &mut self,
        pids: &[u32],
        links: Links,
        by_inode: &HashMap<u32, &TcpSocket>,
        closed: &HashSet<u32>,
        mut sought: Option<&mut HashSet<u32>>,
        readlinks: &mut usize,
    ) {
        let mut open_dirs = self.kept_dirs();
        for pid in pids {
            if sought.as_ref().is_some_and(|s| s.is_empty()) {
                break;
            }
            let Some(known) = self.procs.get_mut(pid) else {
                continue;
            };
            let had_dir = known.fds.dir.is_some();
            let listed = owned_sockets(
                &mut known.fds,
                || open_fd_dir(&self.proc_root, *pid),
                |t| links == Links::All || (t != NOT_A_SOCKET && closed.contains(&t)),
                &mut self.buf,
                readlinks,
            );
            // A process in another network namespace holds sockets the
            // dump cannot see: null, not 0.
            let elsewhere = elsewhere(&self.proc_root, *pid, self.netns.as_deref());
            known.sockets = listed.filter(|_| !elsewhere).map(|mut s| {
                s.retain(|i| by_inode.contains_key(i));
                s
            });
            if let (Some(sought), Some(held)) = (sought.as_deref_mut(), &known.sockets) {
                for inode in held {
                    sought.remove(inode);
                }
            }
            if !had_dir && known.fds.dir.is_some() {
                if open_dirs < self.keep {
                    open_dirs += 1;
                } else {
                    known.fds.dir = None;
                }
            }
        }
    }
}

/// The agent's network namespace, as `proc_root` names it.
fn own_netns(proc_root: &Path) -> Option<std::ffi::OsString> {
    std::fs::read_link(proc_root.join("self/ns/net"))
        .ok()
        .map(PathBuf::into_os_string)
}

/// Whether process `pid` lives in another network namespace than `ours`
/// (false where either cannot be read: a fixture root has none).
fn elsewhere(proc_root: &Path, pid: u32, ours: Option<&std::ffi::OsStr>) -> bool {
    ours.is_some_and(|ours| {
        std::fs::read_link(proc_root.join(pid.to_string()).join("ns/net"))
            .is_ok_and(|theirs| theirs.as_os_str() != ours)
    })
}

/// One connection of a process, for its drill-down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Connection {
    /// The socket.
    pub socket: TcpSocket,
    /// Bytes received per second since the previous answer about this
    /// process (`None` for the first, or a socket new since).
    pub received_bytes_per_sec: Option<f64>,
    /// Bytes sent per second, the same way.
    pub sent_bytes_per_sec: Option<f64>,
}

/// The TCP sockets process `pid` holds (`None`: its descriptors cannot be
/// read, or it lives in another network namespace), listeners first, then
/// by local address: one `readlink` per descriptor and a dump. Blocks.
pub fn connections_of(proc_root: &Path, pid: u32) -> Option<Vec<TcpSocket>> {
    if elsewhere(proc_root, pid, own_netns(proc_root).as_deref()) {
        return None;
    }
    let mut fds = Fds::default();
    let open = || open_fd_dir(proc_root, pid);
    let mut buf = listing_buffer();
    let inodes: HashSet<u32> = owned_sockets(&mut fds, open, |_| true, &mut buf, &mut 0)?
        .into_iter()
        .collect();
    let mut mine: Vec<TcpSocket> = dump()
        .ok()?
        .into_iter()
        .filter(|s| s.inode != 0 && inodes.contains(&s.inode))
        .collect();
    mine.sort_by_key(|s| (!s.listening(), s.local, s.remote));
    Some(mine)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::processes::ProcRow;
    use std::io::{Read, Write};

    /// An `inet_diag_msg` for an IPv4 socket and its `tcp_info`.
    fn message(inode: u32, cookie: u64, rx: u64, tx: u64) -> Vec<u8> {
        let mut m = vec![0u8; MSG_LEN];
        m[0] = libc::AF_INET as u8;
        m[1] = 1;
        m[4..6].copy_from_slice(&8080u16.to_be_bytes());
        m[6..8].copy_from_slice(&40000u16.to_be_bytes());
        m[8..12].copy_from_slice(&[127, 0, 0, 1]);
        m[24..28].copy_from_slice(&[10, 0, 0, 2]);
        m[44..48].copy_from_slice(&(cookie as u32).to_ne_bytes());
        m[48..52].copy_from_slice(&((cookie >> 32) as u32).to_ne_bytes());
        m[68..72].copy_from_slice(&inode.to_ne_bytes());
        let mut info = vec![0u8; 232];
        info[68..72].copy_from_slice(&150u32.to_ne_bytes());
        info[120..128].copy_from_slice(&tx.to_ne_bytes());
        info[128..136].copy_from_slice(&rx.to_ne_bytes());
        // Another attribute first: attributes are walked, not assumed.
        m.extend_from_slice(&5u16.to_ne_bytes());
        m.extend_from_slice(&8u16.to_ne_bytes());
        m.extend_from_slice(&[1, 0, 0, 0]);
        m.extend_from_slice(&((4 + info.len()) as u16).to_ne_bytes());
        m.extend_from_slice(&INET_DIAG_INFO.to_ne_bytes());
        m.extend_from_slice(&info);
        m
    }

    #[test]
    fn a_diag_message_gives_addresses_state_and_bytes() {
        let s = parse_socket(&message(4242, 7 | (9 << 32), 1000, 2000)).unwrap();
        assert_eq!(s.inode, 4242);
        assert_eq!(s.cookie, 7 | (9 << 32));
        assert_eq!(s.state_name(), "established");
        assert_eq!(s.local, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(s.remote, "10.0.0.2:40000".parse().unwrap());
        assert_eq!(
            (s.received, s.acked, s.rtt_us),
            (Some(1000), Some(1999), Some(150))
        );
        // Without tcp_info (an older kernel's short struct): no bytes.
        let bare = parse_socket(&message(1, 1, 5, 5)[..MSG_LEN]).unwrap();
        assert_eq!((bare.received, bare.acked), (None, None));
        assert!(parse_socket(&[2, 1, 0]).is_none());
    }

    #[test]
    fn socket_links_give_inodes_and_nothing_else_does() {
        assert_eq!(socket_inode(b"socket:[12345]"), Some(12345));
        assert_eq!(socket_inode(b"pipe:[12345]"), None);
        assert_eq!(socket_inode(b"/dev/null"), None);
        assert_eq!(socket_inode(b"socket:[12"), None);
    }

    fn row(pid: u32) -> ProcRow {
        ProcRow {
            pid,
            ppid: 1,
            start_ticks: 5,
            name: format!("p{pid}"),
            cpu_percent: 0.0,
            rss_bytes: 0,
            cpu_ticks: 0,
            state: 'S',
            threads: 1,
        }
    }

    fn link(root: &Path, pid: u32, fd: u32, target: &str) {
        let dir = root.join(pid.to_string()).join("fd");
        std::fs::create_dir_all(&dir).unwrap();
        let _ = std::fs::remove_file(dir.join(fd.to_string()));
        std::os::unix::fs::symlink(target, dir.join(fd.to_string())).unwrap();
    }

    fn socket(inode: u32, cookie: u64, rx: u64, tx: u64) -> TcpSocket {
        parse_socket(&message(inode, cookie, rx, tx)).unwrap()
    }

    #[test]
    fn rates_per_process_from_its_sockets_and_links_read_only_when_needed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        link(root, 10, 0, "/dev/null");
        link(root, 10, 3, "socket:[100]");
        link(root, 10, 4, "socket:[900]"); // a UNIX socket: not in the dump
        link(root, 11, 3, "pipe:[5]");
        let clock = crate::collect::clock::ManualClock::new();
        let mut s = NetSampler::new(root.to_path_buf(), 8).with_clock(clock.clone());
        let table = ProcessTable {
            rows: vec![row(10), row(11), row(12)],
            ..ProcessTable::default()
        };
        let first = s.sample_with(&table, vec![socket(100, 1, 500, 1000)]);
        assert_eq!(first.readlinks, 4);
        assert_eq!(first.by_pid[&10].received_bytes, 500);
        assert_eq!(
            first.by_pid[&10].received_bytes_per_sec, None,
            "first sample"
        );
        assert_eq!(first.by_pid[&11].connections, 0, "readable, no TCP: 0");
        assert!(
            !first.by_pid.contains_key(&12),
            "not readable: absent, never 0"
        );
        // In the next second socket 100 moves 1 MiB each way; nothing
        // changed in the descriptors, so no link is read.
        clock.advance(Duration::from_secs(1));
        let next = s.sample_with(
            &table,
            vec![socket(100, 1, 500 + (1 << 20), 1000 + (1 << 20))],
        );
        assert_eq!(next.readlinks, 0, "links are read only when needed");
        assert_eq!(next.window_secs, 1.0);
        assert_eq!(next.by_pid[&10].received_bytes_per_sec, Some(1_048_576.0));
        assert_eq!(next.by_pid[&10].sent_bytes_per_sec, Some(1_048_576.0));
        // Socket 100 closes and descriptor 3 is reused for socket 101,
        // opened within the window: all of its bytes are in it.
        link(root, 10, 3, "socket:[101]");
        clock.advance(Duration::from_secs(1));
        let reused = s.sample_with(&table, vec![socket(101, 2, 4096, 0)]);
        assert_eq!(reused.readlinks, 1, "only the closed socket's descriptor");
        assert_eq!(reused.by_pid[&10].received_bytes_per_sec, Some(4096.0));
        // Descriptor 0 (was /dev/null) is reused for a new socket: it is
        // unowned after the cheap pass, so every link is read again.
        link(root, 10, 0, "socket:[102]");
        clock.advance(Duration::from_secs(2));
        let found = s.sample_with(&table, vec![socket(101, 2, 4096, 0), socket(102, 3, 10, 0)]);
        assert_eq!(found.by_pid[&10].connections, 2);
        assert_eq!(found.readlinks, 4, "a full pass");
        assert_eq!(s.kept_dirs(), 2);
        // A socket no readable process holds (another user's) sends one
        // full pass through, then is left alone; a new process's
        // descriptors are listed as it comes.
        let theirs = || {
            vec![
                socket(101, 2, 4096, 0),
                socket(102, 3, 10, 0),
                socket(777, 9, 1, 1),
            ]
        };
        clock.advance(Duration::from_secs(2));
        assert_eq!(s.sample_with(&table, theirs()).readlinks, 4);
        clock.advance(Duration::from_secs(2));
        assert_eq!(s.sample_with(&table, theirs()).readlinks, 0, "settled");
        link(root, 13, 3, "socket:[103]");
        let mut grown = table.clone();
        grown.rows.push(row(13));
        let mut with_new = theirs();
        with_new.push(socket(103, 4, 0, 64));
        clock.advance(Duration::from_secs(1));
        let joined = s.sample_with(&grown, with_new);
        assert_eq!(joined.readlinks, 1, "only the new process's descriptor");
        assert_eq!(joined.by_pid[&13].sent_bytes_per_sec, Some(63.0));
        // Within a second of a search, a new socket waits for the next
        // one; then all its bytes count (they moved since it was first
        // seen), none lost.
        link(root, 10, 5, "socket:[104]");
        let mut now = theirs();
        now.push(socket(104, 5, 1000, 0));
        clock.advance(Duration::from_millis(100));
        let searched = s.sample_with(&table, now.clone());
        assert_eq!(searched.by_pid[&10].connections, 3, "found at once");
        link(root, 10, 6, "socket:[105]");
        now.push(socket(105, 6, 500, 0));
        clock.advance(Duration::from_millis(400));
        let waiting = s.sample_with(&table, now.clone());
        assert_eq!((waiting.readlinks, waiting.by_pid[&10].connections), (0, 3));
        clock.advance(Duration::from_millis(600));
        now.retain(|x| x.inode != 105);
        now.push(socket(105, 6, 800, 0));
        let found = s.sample_with(&table, now);
        assert_eq!(found.by_pid[&10].connections, 4);
        assert_eq!(
            found.by_pid[&10].received_bytes_per_sec,
            Some(800.0 / 0.6),
            "every byte of the late-found socket"
        );
    }

    #[test]
    fn a_loopback_connection_shows_its_bytes_in_the_live_dump() {
        const N: usize = 300_000;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let at = listener.local_addr().unwrap();
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let reader = std::thread::spawn(move || {
            let (mut c, _) = listener.accept().unwrap();
            let mut all = vec![0u8; N];
            c.read_exact(&mut all).unwrap();
            // Held open until the test has looked.
            let _ = wait.recv();
        });
        let mut client = std::net::TcpStream::connect(at).unwrap();
        client.write_all(&vec![7u8; N]).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let (out, back) = loop {
            let mine = connections_of(Path::new("/proc"), std::process::id()).unwrap();
            let out = mine.iter().find(|s| s.remote == at).copied();
            let back = mine.iter().find(|s| s.local == at && s.state == 1).copied();
            let (Some(out), Some(back)) = (out, back) else {
                assert!(Instant::now() < deadline, "no connection in {mine:?}");
                continue;
            };
            if (out.acked, back.received) == (Some(N as u64), Some(N as u64))
                || Instant::now() > deadline
            {
                break (out, back);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(out.state_name(), "established");
        assert_eq!(out.acked, Some(N as u64), "every byte sent, acknowledged");
        assert_eq!(back.received, Some(N as u64), "and received by its peer");
        assert!(out.rtt_us.is_some());
        drop(done);
        reader.join().unwrap();
    }
}
