//! Integration tests: the daemon under a hostile local user, big replies, damaged files
//! (issue 17). Each test is named after the class of fault it closes; each failed on the code
//! before the fix.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use reel::daemon::wire::{self, Call, CreateDisposition, Reply};
use serde_json::{json, Value};

use crate::util::daemon::{open_tempdir, Daemon};
use crate::util::sim_layout;

/// A raw protocol connection that reads frames one by one.
struct Raw(UnixStream);

impl Raw {
    fn connect(d: &Daemon) -> Raw {
        let s = UnixStream::connect(&d.socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        Raw(s)
    }
    fn send_bytes(&mut self, body: &[u8]) {
        wire::write_frame_sync(&mut self.0, body).unwrap();
    }
    fn recv(&mut self) -> Reply {
        let body = wire::read_frame_sync(&mut self.0)
            .unwrap()
            .expect("a reply, not a closed connection");
        serde_json::from_slice(&body).unwrap()
    }
    fn call(&mut self, v: Value) -> Reply {
        self.send_bytes(v.to_string().as_bytes());
        self.recv()
    }
    /// One frame as it is on the wire: the raw header word and the body.
    fn frame(&mut self) -> (u32, Vec<u8>) {
        use std::io::Read;
        let mut h = [0u8; 4];
        self.0.read_exact(&mut h).unwrap();
        let raw = u32::from_be_bytes(h);
        let mut body = vec![0u8; (raw & !wire::CONTINUED) as usize];
        self.0.read_exact(&mut body).unwrap();
        (raw, body)
    }
    fn hello(&mut self) -> String {
        let r = self.call(json!({"id": 1, "call": "hello", "args": {"protocol": 1}}));
        r.ok.expect("welcome")["session"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

// --- finding 3: every call answers; long replies are frame sequences ---

#[test]
fn replies_over_one_frame_arrive_as_a_documented_frame_sequence() {
    let d = Daemon::start_with(open_tempdir(), sim_layout("large"));
    let mut raw = Raw::connect(&d);
    let session = raw.hello();
    let request = json!({"id": 2, "session": session, "call": "library", "args": {}});
    raw.send_bytes(request.to_string().as_bytes());
    // Frame by frame: every frame but the last is full and has bit 31 set.
    let mut joined = Vec::new();
    let mut frames = 0;
    loop {
        let (header, body) = raw.frame();
        frames += 1;
        joined.extend_from_slice(&body);
        if header & wire::CONTINUED == 0 {
            assert!(body.len() <= wire::MAX_FRAME);
            break;
        }
        assert_eq!(body.len(), wire::MAX_FRAME, "frame {frames} is full");
    }
    assert!(frames > 1, "the large library's document spans frames");
    let reply: Reply = serde_json::from_slice(&joined).unwrap();
    assert_eq!(reply.id, 2);
    let doc = reply.ok.expect("the document");
    assert!(doc["libraries"].as_array().is_some_and(|l| !l.is_empty()));
    // The client reassembles the same document.
    let mut c = d.client();
    assert_eq!(c.call_value(Call::Library { rescan: false }).unwrap(), doc);
}

#[test]
fn error_replies_and_log_lines_quote_a_bounded_prefix_of_the_input() {
    let d = Daemon::start();
    let mut c = d.client();
    // A name whose quoted form is four times its size: the old reply was over the frame limit
    // and the connection closed without one.
    let names = [
        format!("\\{}", "\"".repeat(400_000)),
        format!("\\{}", "N".repeat(1_000_000)),
        format!("\\A{}\u{1}", "é".repeat(400_000)),
    ];
    for name in names {
        let err = c
            .call_value(Call::CreateMediaPool {
                name: name.clone(),
                media_type: None,
                action: CreateDisposition::OpenAlways,
                security: None,
            })
            .unwrap_err();
        assert_eq!(
            (err.name.as_str(), err.code),
            ("ERROR_INVALID_NAME", 123),
            "{}",
            err.message
        );
        assert!(
            err.message.len() <= wire::MAX_MESSAGE,
            "a {}-byte message",
            err.message.len()
        );
        assert!(err.message.contains("left out"), "{}", err.message);
    }
    // The connection is still usable, and no log line grew with the input.
    c.call_value(Call::MediaTypes {}).unwrap();
    let log = d.log();
    assert!(
        log.contains("ERROR_INVALID_NAME"),
        "the failures are logged"
    );
    let longest = log.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 4096, "a {longest}-byte log line");
}

#[test]
fn a_readable_request_id_is_echoed_even_when_the_rest_is_not_a_request() {
    let d = Daemon::start();
    let mut raw = Raw::connect(&d);
    let cases: Vec<(&[u8], u64)> = vec![
        (
            br#"{"id":77,"call":"hello","args":{"protocol":1}} trailing"#,
            77,
        ),
        (b"{\"id\":78,\"call\":\"\xff\xfe\"}", 78),
        (
            br#"{"id":79,"call":"hello","args":{"application":"\ud800"}}"#,
            79,
        ),
        (br#"{"call":"hello","id":80,"args":"#, 80),
        (br#"{"id":81,"call":"no_such_call","args":{}}"#, 81),
        (br#"{"id":"82","call":"hello"}"#, 0),
        (br#"{"id":-1,"call":"hello"}"#, 0),
        (br#"[83]"#, 0),
        (b"not json", 0),
    ];
    for (frame, id) in cases {
        raw.send_bytes(frame);
        let r = raw.recv();
        assert_eq!(
            (r.id, r.error.map(|e| e.code)),
            (id, Some(87)),
            "{}",
            String::from_utf8_lossy(frame)
        );
    }
    // Still one usable connection.
    raw.0.flush().unwrap();
    assert!(!raw.hello().is_empty());
}
