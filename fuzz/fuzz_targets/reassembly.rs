//! Handshake reassembly (RFC 6347 §4.2.3) driven by arbitrary fragment sequences. Checked:
//! messages come out in message_seq order, with the length and type their fragments declared,
//! every byte of a released body was carried by an accepted fragment of that message with the
//! same value (nothing invented, nothing from a conflicting fragment), and the buffer budget
//! holds. `unpop` (a refused plaintext message handed back) steps next_seq back by one only.
#![no_main]

use dtls_proto::handshake::reassembly::{Fragment, Insert, Reassembler};
use libfuzzer_sys::fuzz_target;

const MAX_MSG: usize = 1024;
const MAX_BUF: usize = 2048;

struct Accepted {
    msg_type: u8,
    length: u32,
    msg_seq: u16,
    epoch: u16,
    off: u32,
    data: Vec<u8>,
}

fuzz_target!(|data: &[u8]| {
    let mut re = Reassembler::new(MAX_MSG, MAX_BUF, 4);
    let mut accepted: Vec<Accepted> = Vec::new();
    let mut i = 0usize;
    let next = |n: usize, i: &mut usize| -> Option<&[u8]> {
        let s = data.get(*i..*i + n)?;
        *i += n;
        Some(s)
    };
    for _ in 0..256 {
        let Some(op) = next(1, &mut i) else { break };
        match op[0] % 8 {
            0..=3 => {
                let Some(h) = next(9, &mut i) else { break };
                let msg_type = h[0];
                // Small lengths and sequence numbers so that fragments meet.
                let length = u32::from(u16::from_be_bytes([h[1], h[2]])) % 1500;
                let msg_seq = u16::from(h[3] % 12);
                let frag_off = u32::from(u16::from_be_bytes([h[4], h[5]])) % 1600;
                let frag_len = u32::from(u16::from_be_bytes([h[6], h[7]])) % 1600;
                let epoch = u16::from(h[8] % 2);
                // Usually exactly frag_len bytes; a short tail makes a lying fragment.
                let avail = data.len() - i;
                let take = (frag_len as usize).min(avail);
                let bytes = &data[i..i + take];
                i += take;
                let frag = Fragment {
                    msg_type,
                    length,
                    msg_seq,
                    frag_off,
                    frag_len,
                    epoch,
                    data: bytes,
                };
                match re.insert(frag) {
                    Insert::Accepted | Insert::Duplicate => accepted.push(Accepted {
                        msg_type,
                        length,
                        msg_seq,
                        epoch,
                        off: frag_off,
                        data: bytes.to_vec(),
                    }),
                    Insert::Old => assert!(msg_seq < re.next_seq() || re.is_exhausted()),
                    Insert::Dropped(_) => {}
                }
            }
            4 | 5 => {
                let expect = re.next_seq();
                if let Some(m) = re.pop() {
                    assert_eq!(m.msg_seq, expect, "released out of order");
                    if expect < u16::MAX {
                        assert_eq!(re.next_seq(), expect + 1);
                    }
                    assert!(m.body.len() <= MAX_MSG);
                    let mine: Vec<&Accepted> = accepted
                        .iter()
                        .filter(|a| {
                            a.msg_seq == m.msg_seq
                                && a.epoch == m.epoch
                                && a.msg_type == m.msg_type
                                && a.length as usize == m.body.len()
                        })
                        .collect();
                    assert!(!mine.is_empty(), "a message no fragment declared");
                    for (k, b) in m.body.iter().enumerate() {
                        let k = k as u32;
                        assert!(
                            mine.iter().any(|a| a.off <= k
                                && k < a.off + a.data.len() as u32
                                && a.data[(k - a.off) as usize] == *b),
                            "byte {k} of message {} came from nowhere",
                            m.msg_seq
                        );
                    }
                }
            }
            6 => {
                // unpop: give back the message just popped (the engine does this with a
                // plaintext message it had to refuse); anything else is a no-op.
                let Some(s) = next(1, &mut i) else { break };
                let before = re.next_seq();
                if s[0] & 0x80 != 0 {
                    re.clear_conflicted();
                } else {
                    let seq = before.wrapping_sub(u16::from(s[0] % 2));
                    re.unpop(seq);
                    let want = if u32::from(seq) + 1 == u32::from(before) {
                        seq
                    } else {
                        before
                    };
                    assert_eq!(re.next_seq(), want, "unpop({seq}) from {before}");
                }
            }
            _ => {
                let Some(s) = next(1, &mut i) else { break };
                if s[0] & 0x80 != 0 {
                    re.clear();
                } else {
                    re.set_next_seq(u16::from(s[0] % 12));
                }
            }
        }
        assert!(re.buffered_bytes() <= MAX_BUF, "budget exceeded");
        let _ = re.has_partial_next();
    }
});
