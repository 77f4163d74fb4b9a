//! Replay control (SPEC 8) end to end: `orderflow run --paused` driven through
//! `POST /api/replay`, its state after every seek compared with `orderflow process` runs whose
//! END is the instant sought; pause, step, and the guard of the control endpoint.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{assert_json_eq, orderflow, process};
use crate::reliability::child::Child;

mod timeframes;
mod trade_bars;

const START: &str = "2025-01-15T23:53:00Z";
const END: &str = "2025-01-16T00:03:00Z";
/// START and END in ms.
const START_MS: i64 = 1_736_985_180_000;
const END_MS: i64 = 1_736_985_780_000;
/// Options shared by the replay and the `process` runs it is compared with.
const OPTIONS: [&str; 4] = ["--window-seconds", "10", "--depth-levels", "20"];

/// Two day files (23:50 to 00:05 UTC), so that the range crosses a file boundary and starts
/// after the first book rows (warm-up).
fn recordings() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = orderflow(&[
        "synth",
        "--out",
        dir.path().to_str().unwrap(),
        "--start",
        "2025-01-15T23:50:00Z",
        "--hours",
        "0.25",
        "--book-interval-ms",
        "700",
        "--trades-per-minute",
        "150",
        "--levels",
        "60",
        "--seed",
        "5",
    ]);
    assert!(out.status.success(), "{out:?}");
    dir
}

/// `orderflow run --paused` on `data`, with checkpoints every 300 events so that seeks go
/// back to checkpoints other than the start.
struct Replay {
    child: Child,
    address: SocketAddr,
    json_dir: tempfile::TempDir,
}

impl Replay {
    fn start(data: &Path, extra: &[&str]) -> Replay {
        Replay::start_with(data, &OPTIONS, extra)
    }

    /// [`Replay::start`] with `options` in place of [`OPTIONS`].
    fn start_with(data: &Path, options: &[&str], extra: &[&str]) -> Replay {
        let json_dir = tempfile::tempdir().unwrap();
        let mut args = vec![
            "run",
            "BTC-USDT",
            START,
            END,
            "--port",
            "0",
            "--data-dir",
            data.to_str().unwrap(),
            "--json-dir",
            json_dir.path().to_str().unwrap(),
            "--checkpoint-events",
            "300",
            // Closed prints handed on between frames as soon as there are 40.
            "--prints-between-frames",
            "40",
            "--emit-ms",
            "20",
        ];
        args.extend(options);
        args.extend(extra);
        let child = Child::spawn(&args);
        let line = child.wait_for_line("listening on http://", Duration::from_secs(60));
        let address = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap()
            .parse()
            .unwrap();
        Replay {
            child,
            address,
            json_dir,
        }
    }

    fn get(&self, target: &str) -> Value {
        let raw = format!(
            "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.address
        );
        let (code, body) = exchange(self.address, raw.as_bytes());
        assert_eq!(code, 200, "{target}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// `POST /api/replay` with `headers`; the status code and the body.
    fn post_with(&self, headers: &str, body: &str) -> (u16, String) {
        let raw = format!(
            "POST /api/replay HTTP/1.1\r\nHost: {}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.address,
            body.len()
        );
        exchange(self.address, raw.as_bytes())
    }

    /// A command as the page sends it; the status it answers.
    fn command(&self, command: Value) -> Value {
        let origin = format!("Origin: http://{}\r\n", self.address);
        let headers = format!("{origin}Content-Type: application/json\r\n");
        let (code, body) = self.post_with(&headers, &command.to_string());
        assert_eq!(code, 200, "{command}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    fn seek(&self, to: i64) -> Value {
        let status = self.command(json!({"action": "seek", "to": to}));
        assert_eq!(status["position"], to, "{status}");
        assert_ne!(status["phase"], "seeking", "{status}");
        status
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.json_dir.path().join(name)).unwrap()
    }

    /// The state through the API and the JSON files.
    fn state(&self) -> (Value, [String; 3]) {
        let api = json!({
            "bars": self.get("/api/bars"),
            "metrics": self.get("/api/metrics"),
            "depth": self.get("/api/depth"),
        });
        let files = [
            self.file("ohlc_data.json"),
            self.file("metrics_data.json"),
            self.file("depth_data.json"),
        ];
        (api, files)
    }
}

/// Sends `raw`, returns the status code and the body of the answer.
fn exchange(address: SocketAddr, raw: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream.write_all(raw).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let code = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_owned();
    (code, body)
}

/// RFC 3339 of an instant in ms, as `process` takes it for END.
fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The state of `process` with END = `to`: as the API gives it, and its JSON files.
fn process_until(data: &Path, to: i64) -> (Value, [String; 3]) {
    let run = process(data, "BTC-USDT", START, &rfc3339(to), &OPTIONS);
    let read = |name: &str| std::fs::read_to_string(run.json_dir.path().join(name)).unwrap();
    let files = [
        read("ohlc_data.json"),
        read("metrics_data.json"),
        read("depth_data.json"),
    ];
    let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap();
    let api = json!({
        "bars": parse(&files[0]),
        "metrics": parse(&files[1]),
        "depth": parse(&files[2]),
    });
    (api, files)
}

#[test]
fn after_a_seek_the_state_is_that_of_a_run_ending_there_in_both_directions() {
    let data = recordings();
    let replay = Replay::start(data.path(), &["--paused"]);
    let status = replay.get("/api/status");
    assert_eq!(
        (&status["playing"], &status["position"], &status["speed"]),
        (&json!(false), &json!(START_MS), &json!("max")),
        "{status}"
    );
    // Forward beyond what was read, back to checkpoints, across the file boundary (midnight),
    // onto window boundaries and between them, to both ends of the range.
    let instants = [
        START_MS + 95_001,
        START_MS + 400_000,
        START_MS + 30_000,
        END_MS,
        START_MS + 419_999,
        1_736_985_600_000,
        START_MS + 1,
        START_MS,
        START_MS + 250_123,
        START_MS + 95_001,
    ];
    let mut seen = std::collections::HashMap::new();
    for to in instants {
        replay.seek(to);
        let (api, files) = replay.state();
        let (expected_api, expected_files) = process_until(data.path(), to);
        assert_eq!(api, expected_api, "the API after a seek to {to}");
        assert_eq!(files, expected_files, "the JSON files after a seek to {to}");
        // Back and forth never changes a number.
        if let Some(before) = seen.insert(to, files.clone()) {
            assert_eq!(before, files, "a second seek to {to}");
        }
    }
}

/// SPEC 8: after a seek to `T` the prints are those of the events before `T`: the whole
/// run's with `ts < T` (a print is a run of trades of one timestamp), forward to states read
/// ahead and back.
#[test]
fn after_a_seek_the_prints_are_those_of_the_events_before_it() {
    let data = recordings();
    let replay = Replay::start(data.path(), &["--paused"]);
    replay.seek(END_MS);
    let all = replay.get("/api/prints").as_array().unwrap().clone();
    assert!(all.len() > 100, "{} prints", all.len());
    for to in [
        START_MS + 400_000,
        START_MS + 30_000,
        START_MS + 419_999,
        END_MS,
        START_MS + 95_001,
        START_MS + 250_123,
    ] {
        replay.seek(to);
        let got = replay.get("/api/prints");
        let want: Vec<Value> = all
            .iter()
            .filter(|print| print[0].as_i64().unwrap() < to)
            .cloned()
            .collect();
        assert_eq!(got.as_array().unwrap(), &want, "after a seek to {to}");
    }
}

#[test]
fn pause_stops_the_position_and_step_ends_at_the_window_boundary() {
    let data = recordings();
    let replay = Replay::start(data.path(), &["--paused", "--speed", "20"]);
    replay.seek(START_MS + 60_000);
    let status = replay.command(json!({"action": "play"}));
    assert_eq!(status["playing"], true);
    assert_eq!(status["speed"], 20.0);
    std::thread::sleep(Duration::from_millis(600));
    let paused = replay.command(json!({"action": "pause"}));
    assert_eq!(paused["playing"], false);
    let position = paused["position"].as_i64().unwrap();
    assert!(
        position > START_MS + 60_000,
        "playing at 20x moved the position: {paused}"
    );
    std::thread::sleep(Duration::from_millis(500));
    let later = replay.get("/api/status");
    assert_eq!(later["position"], position, "paused: {later}");
    let (api, _) = replay.state();
    assert_eq!(
        api,
        process_until(data.path(), position).0,
        "paused at {position}"
    );

    // A step goes to the end of the current 10-second window, and pauses there.
    replay.seek(START_MS + 123_456);
    replay.command(json!({"action": "play"}));
    let stepped = replay.command(json!({"action": "step"}));
    assert_eq!(stepped["position"], START_MS + 130_000, "{stepped}");
    assert_eq!(stepped["playing"], false, "{stepped}");
    let stepped = replay.command(json!({"action": "step"}));
    assert_eq!(stepped["position"], START_MS + 140_000, "{stepped}");
    let (api, _) = replay.state();
    assert_eq!(api, process_until(data.path(), START_MS + 140_000).0);

    let fast = replay.command(json!({"action": "speed", "speed": "max"}));
    assert_eq!(fast["speed"], "max");

    // Timeframes: 60-second bars made from the 10-second ones are those of a 60-second run.
    let to = START_MS + 140_000;
    let minute = process(
        data.path(),
        "BTC-USDT",
        START,
        &rfc3339(to),
        &["--window-seconds", "60", "--depth-levels", "20"],
    );
    assert_json_eq(
        &replay.get("/api/bars?tf=60"),
        &minute.json("ohlc_data.json"),
        "bars of tf=60",
    );
    assert_eq!(
        replay.get("/api/metrics?tf=60"),
        minute.json("metrics_data.json")
    );
    let since = replay.get(&format!("/api/bars?tf=60&since={}", START_MS + 60_000));
    assert_eq!(since.as_array().unwrap().len(), 2, "{since}");
}

#[test]
fn the_control_refuses_other_sites_and_forms_and_changes_nothing() {
    let data = recordings();
    let replay = Replay::start(data.path(), &["--paused"]);
    let before = replay.get("/api/status");
    let seek = json!({"action": "seek", "to": START_MS + 300_000}).to_string();
    let own = format!("Origin: http://{}\r\n", replay.address);
    for (headers, body, code) in [
        (
            "Origin: http://evil.example\r\nContent-Type: application/json\r\n".to_owned(),
            seek.clone(),
            403,
        ),
        (
            "Origin: null\r\nContent-Type: application/json\r\n".to_owned(),
            seek.clone(),
            403,
        ),
        (
            format!(
                "Origin: https://{}\r\nContent-Type: application/json\r\n",
                replay.address
            ),
            seek.clone(),
            403,
        ),
        // A form another site's page could send.
        (
            format!("{own}Content-Type: application/x-www-form-urlencoded\r\n"),
            "action=seek&to=1736985480000".to_owned(),
            415,
        ),
        (
            format!("{own}Content-Type: text/plain\r\n"),
            seek.clone(),
            415,
        ),
        (own.clone(), seek.clone(), 415),
        (
            format!("{own}Content-Type: application/json\r\n"),
            "{\"action\": \"rewind\"}".to_owned(),
            400,
        ),
        (
            format!("{own}Content-Type: application/json\r\n"),
            json!({"action": "seek", "to": END_MS + 1}).to_string(),
            400,
        ),
    ] {
        let (got, answer) = replay.post_with(&headers, &body);
        assert_eq!(got, code, "{headers} {body}: {answer}");
        assert!(answer.contains("\"error\""), "{answer}");
    }
    assert_eq!(replay.get("/api/status")["position"], before["position"]);
    assert_eq!(replay.get("/api/bars"), json!([]));
    // A GET changes nothing either, and the page's own request works.
    let (code, _) = exchange(
        replay.address,
        format!(
            "GET /api/replay HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            replay.address
        )
        .as_bytes(),
    );
    assert_eq!(code, 405);
    // A timeframe that is not a multiple of the run's 10-second window cannot be exact.
    for query in ["tf=15", "tf=0", "tf=1m"] {
        let raw = format!(
            "GET /api/bars?{query} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            replay.address
        );
        assert_eq!(exchange(replay.address, raw.as_bytes()).0, 400, "{query}");
    }
    assert_eq!(replay.seek(START_MS + 300_000)["playing"], false);
}

#[test]
fn a_replay_stopped_by_ctrl_c_says_interrupted_never_done() {
    let data = recordings();
    let mut replay = Replay::start(data.path(), &["--paused"]);
    replay.seek(START_MS + 200_000);
    replay.child.interrupt();
    let status = replay.child.wait(Duration::from_secs(30));
    assert_eq!(status.code(), Some(130), "{}", replay.child.text());
    let text = replay.child.text();
    assert!(text.contains("INTERRUPTED"), "{text}");
    assert!(!text.contains("processing finished"), "{text}");
}

/// A seek back while the recordings are still being read at full speed: the reading goes on
/// ahead (paused), and the checkpoints it takes are those of the whole run, so later seeks
/// land exactly.
/// A denser recording of the same 15 minutes: a replay at full speed is still reading it when
/// the first command comes.
fn dense_recordings() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = orderflow(&[
        "synth",
        "--out",
        dir.path().to_str().unwrap(),
        "--start",
        "2025-01-15T23:50:00Z",
        "--hours",
        "0.25",
        "--book-interval-ms",
        "40",
        "--trades-per-minute",
        "3000",
        "--levels",
        "60",
        "--seed",
        "9",
    ]);
    assert!(out.status.success(), "{out:?}");
    dir
}

/// A pause while playing at full speed stops where a run ending there stops, even among
/// events of one millisecond.
#[test]
fn a_pause_at_full_speed_leaves_the_state_of_a_run_ending_at_the_position() {
    let dir = dense_recordings();
    let replay = Replay::start(dir.path(), &[]);
    for _ in 0..2000 {
        if replay.get("/api/status")["position"].as_i64().unwrap() > START_MS + 60_000 {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let paused = replay.command(json!({"action": "pause"}));
    let position = paused["position"].as_i64().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(replay.get("/api/status")["position"], position);
    let (api, files) = replay.state();
    let (expected_api, expected_files) = process_until(dir.path(), position);
    assert_eq!(api, expected_api, "the API paused at {position}");
    assert_eq!(files, expected_files, "the JSON files paused at {position}");
}

#[test]
fn a_seek_back_during_reading_keeps_the_checkpoints_of_the_whole_run() {
    let dir = dense_recordings();
    let replay = Replay::start(dir.path(), &[]);
    // Back while playing at full speed, then paused while the replay goes over the tape.
    let early = replay.get("/api/status")["position"].as_i64().unwrap();
    replay.seek(START_MS + 30_000);
    let paused = replay.command(json!({"action": "pause"}));
    assert!(
        paused["loaded_to"].as_i64().unwrap() < END_MS,
        "paused while the range is still being read: {paused}"
    );
    // Paused, the rest of the range is read ahead.
    for _ in 0..600 {
        if replay.get("/api/status")["loaded_to"] == END_MS {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(replay.get("/api/status")["loaded_to"], END_MS);
    for to in [
        END_MS - 7_777,
        START_MS + 420_000,
        early.max(START_MS + 1),
        START_MS + 555_555,
    ] {
        replay.seek(to);
        let (api, files) = replay.state();
        let (expected_api, expected_files) = process_until(dir.path(), to);
        assert_eq!(api, expected_api, "the API after a seek to {to}");
        assert_eq!(files, expected_files, "the JSON files after a seek to {to}");
    }
}
