//! TCP connections per state, from the kernel's socket diagnostics
//! (netlink `sock_diag`): one dump request per address family and a walk
//! over fixed-size answers, so 100,000 connections cost little more than a
//! hundred; `/proc/net/tcp` would make the kernel print and this parse a
//! line per socket. Only the state and the queue sizes are asked for (no
//! `tcp_info` extension, which node_exporter's tcpstat also requests).

use std::io;

use super::netlink::{self, HEADER, Protocol, u32_at};

/// The TCP states, by the kernel's number (1–11), as node_exporter names
/// them.
pub const STATES: [&str; 11] = [
    "established",
    "syn_sent",
    "syn_recv",
    "fin_wait1",
    "fin_wait2",
    "time_wait",
    "close",
    "close_wait",
    "last_ack",
    "listen",
    "closing",
];

/// Sockets per state and their queued bytes, IPv4 and IPv6 together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TcpStates {
    /// Sockets in each of [`STATES`].
    pub counts: [u64; 11],
    /// Bytes waiting to be read by applications.
    pub rx_queued_bytes: u64,
    /// Bytes waiting to be sent or acknowledged.
    pub tx_queued_bytes: u64,
}

impl TcpStates {
    /// The count of state `name`.
    pub fn get(&self, name: &str) -> Option<u64> {
        STATES
            .iter()
            .position(|s| *s == name)
            .map(|i| self.counts[i])
    }
}

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const TCPDIAG_GETSOCK: u16 = 18;
/// The states 1–11 (bit n for state n), as node_exporter asks: not the
/// kernel's request sockets (12) nor, since 6.5, bound but inactive
/// sockets (13), whose dump walks the whole bind hash table as well.
const ALL_STATES: u32 = 0xFFF;
const IPPROTO_TCP: u8 = 6;

/// Asks the kernel for every TCP socket, IPv4 and IPv6 in one dump.
pub fn read() -> io::Result<TcpStates> {
    let mut states = TcpStates::default();
    each_socket(0, |body| count(&mut states, body))?;
    Ok(states)
}

/// Counts one `inet_diag_msg` in its state and queues.
fn count(states: &mut TcpStates, body: &[u8]) {
    if let Some(&state) = body.get(1)
        && (1..=11).contains(&state)
    {
        states.counts[usize::from(state) - 1] += 1;
    }
    states.rx_queued_bytes += u64::from(u32_at(body, 56).unwrap_or(0));
    states.tx_queued_bytes += u64::from(u32_at(body, 60).unwrap_or(0));
}

/// Hands every TCP socket's `inet_diag_msg` (with the attributes that
/// `extensions` asks for, a bit per `INET_DIAG_*` number less one) to `on`.
///
/// The kernel walks its whole established-connection hash table for a
/// dump, however few sockets there are (262,144 buckets on a 24 GiB host:
/// about 170 µs), so one walk matters: the `TCPDIAG_GETSOCK` request dumps
/// both families in one walk, where the per-family `SOCK_DIAG_BY_FAMILY`
/// needs two. Kernels without it (refused before any socket is handed
/// over) get the two.
pub fn each_socket(extensions: u8, mut on: impl FnMut(&[u8])) -> io::Result<()> {
    let mut handed = 0usize;
    match dump(&request_both(extensions), &mut |body| {
        handed += 1;
        on(body)
    }) {
        Ok(()) => return Ok(()),
        Err(e)
            if handed == 0
                && (e.raw_os_error() == Some(libc::EINVAL)
                    || e.raw_os_error() == Some(libc::ENOENT)) => {}
        Err(e) => return Err(e),
    }
    dump(&request(libc::AF_INET as u8, extensions), &mut on)?;
    if let Err(e) = dump(&request(libc::AF_INET6 as u8, extensions), &mut on)
        && e.raw_os_error() != Some(libc::EAFNOSUPPORT)
        && e.raw_os_error() != Some(libc::ENOENT)
    {
        return Err(e);
    }
    Ok(())
}

/// The dump request for one family: a netlink header and an
/// `inet_diag_req_v2` asking for every state and `extensions`.
pub fn request(family: u8, extensions: u8) -> Vec<u8> {
    let mut msg = netlink::request(SOCK_DIAG_BY_FAMILY, 56);
    msg[HEADER] = family;
    msg[HEADER + 1] = IPPROTO_TCP;
    msg[HEADER + 2] = extensions;
    msg[HEADER + 4..HEADER + 8].copy_from_slice(&ALL_STATES.to_ne_bytes());
    msg
}

/// The dump request for TCP of both families: a netlink header and the
/// older `inet_diag_req` (family, lengths, extensions, a 48-byte socket
/// id, then the states), which the kernel serves with one walk.
pub fn request_both(extensions: u8) -> Vec<u8> {
    let mut msg = netlink::request(TCPDIAG_GETSOCK, 60);
    msg[HEADER + 3] = extensions;
    msg[HEADER + 52..HEADER + 56].copy_from_slice(&ALL_STATES.to_ne_bytes());
    msg
}

fn dump(request: &[u8], on: &mut impl FnMut(&[u8])) -> io::Result<()> {
    netlink::dump(Protocol::SockDiag, request, on)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::netlink::add_messages;
    use crate::collect::netlink::tests::message;

    const NLMSG_DONE: u16 = 3;

    fn socket(state: u8, rx: u32, tx: u32) -> Vec<u8> {
        let mut body = vec![0u8; 72];
        body[0] = 2;
        body[1] = state;
        body[56..60].copy_from_slice(&rx.to_ne_bytes());
        body[60..64].copy_from_slice(&tx.to_ne_bytes());
        message(SOCK_DIAG_BY_FAMILY, &body)
    }

    #[test]
    fn counts_states_and_queues_until_done() {
        let mut states = TcpStates::default();
        let mut data = socket(1, 10, 0);
        data.extend(socket(10, 0, 0));
        data.extend(socket(1, 0, 5));
        let mut on = |b: &[u8]| count(&mut states, b);
        assert!(!add_messages(&data, &mut on).unwrap());
        assert!(add_messages(&message(NLMSG_DONE, &[0; 4]), &mut on).unwrap());
        assert_eq!(states.get("established"), Some(2));
        assert_eq!(states.get("listen"), Some(1));
        assert_eq!((states.rx_queued_bytes, states.tx_queued_bytes), (10, 5));
    }

    #[test]
    fn the_request_asks_for_a_tcp_dump_of_every_state() {
        let r = request(10, 0);
        assert_eq!(u32::from_ne_bytes([r[0], r[1], r[2], r[3]]), 72);
        assert_eq!((r[16], r[17]), (10, 6));
        assert_eq!(&r[20..24], &0xFFFu32.to_ne_bytes());
    }

    #[test]
    fn reads_the_live_host_both_families_in_one_dump_as_in_two() {
        let v4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let v6 = std::net::TcpListener::bind("[::1]:0");
        let mut one = TcpStates::default();
        dump(&request_both(0), &mut |b| count(&mut one, b)).unwrap();
        let mut two = TcpStates::default();
        dump(&request(libc::AF_INET as u8, 0), &mut |b| {
            count(&mut two, b)
        })
        .unwrap();
        let _ = dump(&request(libc::AF_INET6 as u8, 0), &mut |b| {
            count(&mut two, b)
        });
        // Other tests may open listeners meanwhile: each dump sees at
        // least this test's own.
        let ours = 1 + u64::from(v6.is_ok());
        assert!(one.get("listen").unwrap() >= ours, "{one:?}");
        assert!(two.get("listen").unwrap() >= ours, "{two:?}");
        assert!(read().unwrap().get("listen").unwrap() >= ours);
        drop((v4, v6));
    }
}
