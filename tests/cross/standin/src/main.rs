//! A stand-in for the things healthcheck watches on Windows, run under Wine
//! by scripts/cross: a bot that writes a CRLF log, a loopback HTTP server,
//! a command that hangs with a child, a command that exits with a code.
//!
//!   standin bot LOG [FROM TO]  append "tick N\r\n" to LOG every 200 ms, forever;
//!                              first copy FROM to TO (what a file held as the bot started)
//!   standin http PORTFILE      serve 200 "ok" on 127.0.0.1, port written to PORTFILE
//!   standin hang PIDFILE       start a child `standin sleep`, write its pid, sleep
//!   standin sleep              sleep for an hour
//!   standin exit CODE [TEXT]   print TEXT, exit with CODE
//!   standin main.py            SolTrader: logs/trading.log and bot_data.json in its cwd

use std::io::{Read, Write};
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    match arg(1).as_str() {
        "bot" => {
            if args.len() > 4 {
                std::fs::copy(arg(3), arg(4)).expect("copy the file as it was at start");
            }
            let mut n = 0u64;
            loop {
                let mut log = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(arg(2))
                    .expect("open the log");
                write!(log, "tick {n}\r\n").expect("write the log");
                drop(log);
                n += 1;
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        "http" => {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            let port = listener.local_addr().expect("port").port();
            std::fs::write(arg(2), port.to_string()).expect("write the port");
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
            }
        }
        "hang" => {
            let me = std::env::current_exe().expect("current exe");
            let child = std::process::Command::new(me)
                .arg("sleep")
                .spawn()
                .expect("start the child");
            std::fs::write(arg(2), child.id().to_string()).expect("write the pid");
            println!("started child {}", child.id());
            std::thread::sleep(Duration::from_secs(3600));
        }
        "main.py" => {
            std::fs::create_dir_all("logs").expect("create logs");
            for n in 0u64.. {
                let mut log = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open("logs/trading.log")
                    .expect("open the log");
                write!(log, "scan {n}: 3 tokens approved\r\n").expect("write the log");
                std::fs::write(
                    "bot_data.json",
                    r#"{"performance": {"tokens_discovered": 250, "approval_rate": 40}, "api": {"error_rate": 1}}"#,
                )
                .expect("write bot_data.json");
                std::thread::sleep(Duration::from_millis(500));
            }
        }
        "sleep" => std::thread::sleep(Duration::from_secs(3600)),
        "exit" => {
            println!("{}", arg(3));
            std::process::exit(arg(2).parse().unwrap_or(3));
        }
        other => {
            eprintln!("standin: unknown mode {other:?}");
            std::process::exit(3);
        }
    }
}
