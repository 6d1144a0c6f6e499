//! Netlink dumps, shared by the readers that ask the kernel in binary
//! rather than through text files: socket diagnostics (`sock_diag`: TCP
//! states, per-process connections) and routing (`rtnetlink`: links and
//! addresses). A request goes out, the answers come back as messages
//! handed one by one to the caller until the kernel says done.

use std::io;

use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketType};

/// A netlink message header's size.
pub const HEADER: usize = 16;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
/// Message types below this are netlink's own (no-op, error, done,
/// overrun); from it on they are the protocol's answers.
const NLMSG_MIN_TYPE: u16 = 0x10;
/// `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER`, carried in an attribute's
/// type.
const NLA_TYPE_MASK: u16 = 0x3fff;

/// Which netlink family a dump is asked of.
#[derive(Debug, Clone, Copy)]
pub enum Protocol {
    /// Socket diagnostics.
    SockDiag,
    /// Routing: links, addresses.
    Route,
}

/// A dump request of message type `kind`: the header and `body` zero
/// bytes for the caller to fill.
pub fn request(kind: u16, body: usize) -> Vec<u8> {
    let mut msg = vec![0u8; HEADER + body];
    msg[0..4].copy_from_slice(&((HEADER + body) as u32).to_ne_bytes());
    msg[4..6].copy_from_slice(&kind.to_ne_bytes());
    msg[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    msg[8..12].copy_from_slice(&1u32.to_ne_bytes());
    msg
}

/// Sends `request` and hands the body of every answer (the message after
/// its header) to `on`, until the kernel's done.
pub fn dump(protocol: Protocol, request: &[u8], on: &mut impl FnMut(&[u8])) -> io::Result<()> {
    let protocol = match protocol {
        Protocol::SockDiag => Some(netlink::SOCK_DIAG),
        // `NETLINK_ROUTE` is protocol 0, which rustix spells as none.
        Protocol::Route => None,
    };
    let fd = rustix::net::socket(AddressFamily::NETLINK, SocketType::DGRAM, protocol)?;
    rustix::net::sendto(
        &fd,
        request,
        SendFlags::empty(),
        &SocketAddrNetlink::new(0, 0),
    )?;
    // The kernel fills at most 32 KiB a datagram for a dump. The buffer
    // is not zeroed: a fresh zeroed 64 KiB each dump was a visible share
    // of a scrape's allocation cost.
    let mut buf: Vec<u8> = Vec::with_capacity(32 * 1024);
    loop {
        buf.clear();
        rustix::net::recv(
            &fd,
            rustix::buffer::spare_capacity(&mut buf),
            RecvFlags::empty(),
        )?;
        if add_messages(&buf, on)? {
            return Ok(());
        }
    }
}

/// A native-endian `u32` at `at`, if there.
pub fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    d.get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_ne_bytes)
}

/// A native-endian `u64` at `at`, if there.
pub fn u64_at(d: &[u8], at: usize) -> Option<u64> {
    d.get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_ne_bytes)
}

/// Hands the answers of one datagram (each message's body, its
/// attributes included) to `on`; `Ok(true)` at the end of the dump, an
/// error where the kernel sent one. Pure, for tests.
pub fn add_messages(mut data: &[u8], on: &mut impl FnMut(&[u8])) -> io::Result<bool> {
    while data.len() >= HEADER {
        let len = u32_at(data, 0).unwrap_or(0) as usize;
        let kind = u16::from_ne_bytes([data[4], data[5]]);
        if len < HEADER || len > data.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "truncated netlink message",
            ));
        }
        match kind {
            NLMSG_DONE => return Ok(true),
            NLMSG_ERROR => {
                let errno = u32_at(data, HEADER).map_or(0, |e| e as i32);
                return Err(io::Error::from_raw_os_error(-errno));
            }
            k if k >= NLMSG_MIN_TYPE => on(&data[HEADER..len]),
            _ => {}
        }
        // Messages are 4-byte aligned.
        let next = (len + 3) & !3;
        data = data.get(next..).unwrap_or_default();
    }
    Ok(false)
}

/// The attributes (`rtattr`/`nlattr`: a length, a type, the payload,
/// 4-byte aligned) in `data`, as (type, payload); a truncated one ends
/// the walk.
pub fn attributes(mut data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let len = usize::from(u16::from_ne_bytes(data.get(0..2)?.try_into().ok()?));
        let kind = u16::from_ne_bytes(data.get(2..4)?.try_into().ok()?) & NLA_TYPE_MASK;
        let payload = data.get(4..len)?;
        data = data.get((len + 3) & !3..).unwrap_or_default();
        Some((kind, payload))
    })
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A netlink message of type `kind` around `body`, as the kernel
    /// sends it.
    pub fn message(kind: u16, body: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&((HEADER + body.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(body);
        m
    }

    /// An attribute of type `kind`, padded to 4 bytes.
    pub fn attribute(kind: u16, payload: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&((4 + payload.len()) as u16).to_ne_bytes());
        a.extend_from_slice(&kind.to_ne_bytes());
        a.extend_from_slice(payload);
        a.resize((a.len() + 3) & !3, 0);
        a
    }

    #[test]
    fn an_error_message_is_an_error_and_truncation_is_caught() {
        let mut on = |_: &[u8]| {};
        let err = message(NLMSG_ERROR, &(-(libc::EPERM)).to_ne_bytes());
        assert_eq!(
            add_messages(&err, &mut on).unwrap_err().raw_os_error(),
            Some(libc::EPERM)
        );
        let mut cut = message(20, &[0; 72]);
        cut.truncate(40);
        assert!(add_messages(&cut, &mut on).is_err());
    }

    #[test]
    fn answers_are_handed_over_until_done_and_netlink_own_messages_are_not() {
        let mut seen = Vec::new();
        let mut data = message(20, &[1, 2, 3, 4]);
        data.extend(message(1, &[9; 4]));
        data.extend(message(16, &[5; 8]));
        let mut on = |b: &[u8]| seen.push(b.to_vec());
        assert!(!add_messages(&data, &mut on).unwrap());
        assert!(add_messages(&message(NLMSG_DONE, &[0; 4]), &mut on).unwrap());
        assert_eq!(seen, vec![vec![1, 2, 3, 4], vec![5; 8]]);
    }

    #[test]
    fn attributes_are_walked_with_padding_and_a_cut_one_ends_the_walk() {
        let mut data = attribute(3, b"eth0\0");
        data.extend(attribute(4 | 0x8000, &1500u32.to_ne_bytes()));
        let walked: Vec<_> = attributes(&data).collect();
        assert_eq!(
            walked,
            vec![(3, &b"eth0\0"[..]), (4, &1500u32.to_ne_bytes()[..])]
        );
        data.extend(attribute(5, &[0; 8]));
        data.truncate(data.len() - 4);
        assert_eq!(attributes(&data).count(), 2);
    }
}
