//! The `tls` check against `openssl s_server` on loopback, with a CA and
//! certificates made here: one valid for 10 days, one that expired, one
//! from a CA nobody trusts.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{self, Env, TcpListenerPort, libfaketime};

fn openssl(dir: &Path, args: &[&str], faketime: Option<&str>) {
    let mut cmd = Command::new("openssl");
    cmd.args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(offset) = faketime {
        cmd.env("LD_PRELOAD", libfaketime().expect("libfaketime"))
            .env("FAKETIME", offset);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA `name`, and a certificate for `localhost` it signed, valid for
/// `days` from `faketime` ("-30d": made a month ago).
fn certificate(dir: &Path, ca: &str, cert: &str, days: &str, faketime: Option<&str>) {
    if !dir.join(format!("{ca}.pem")).exists() {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "3650",
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.pem"),
                "-subj",
                &format!("/CN={ca}"),
            ],
            None,
        );
    }
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{cert}.key"),
            "-out",
            &format!("{cert}.csr"),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ],
        None,
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{cert}.csr"),
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            days,
            "-out",
            &format!("{cert}.pem"),
            "-extfile",
            "san.ext",
        ],
        faketime,
    );
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &Path, cert: &str) -> (Server, u16) {
    let port = TcpListenerPort::free();
    let child = Command::new("openssl")
        .args([
            "s_server",
            "-quiet",
            "-www",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-cert",
            &format!("{cert}.pem"),
            "-key",
            &format!("{cert}.key"),
        ])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let until = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, port)
}

#[test]
fn certificates_expiring_expired_and_untrusted_against_openssl_s_server() {
    if Command::new("openssl").arg("version").output().is_err() {
        harness::missing("openssl", "apt-get install openssl");
        return;
    }
    if libfaketime().is_none() {
        harness::missing("faketime", "apt-get install faketime");
        return;
    }
    let env = Env::new();
    let dir = env.path("pki");
    std::fs::create_dir_all(&dir).unwrap();
    certificate(&dir, "ca", "ten-days", "10", None);
    certificate(&dir, "ca", "expired", "10", Some("-30d"));
    certificate(&dir, "rogue-ca", "untrusted", "10", None);
    let check = |port: u16| {
        env.config(&format!(
            "[[check]]\nname = \"api-cert\"\ntype = \"tls\"\naddress = \"127.0.0.1:{port}\"\n\
             server_name = \"localhost\"\nca = \"{}\"\nwarn_below = \"14d\"\ncrit_below = \"3d\"\n",
            dir.join("ca.pem").display()
        ));
        env.run(&["--format", "json"])
    };

    let (_server, port) = serve(&dir, "ten-days");
    let run = check(port);
    let json = run.json();
    let c = &json["checks"][0];
    assert_eq!(c["status"], "warning", "{json:#}");
    let until = c["readings"][0]["value"].as_f64().unwrap();
    assert!((9.0 * 86400.0..10.1 * 86400.0).contains(&until), "{until}");
    assert!(
        c["message"].as_str().unwrap().contains("valid until"),
        "{json:#}"
    );

    let (_server, port) = serve(&dir, "expired");
    let run = check(port);
    let json = run.json();
    let c = &json["checks"][0];
    assert_eq!(c["status"], "critical", "{json:#}");
    let message = c["message"].as_str().unwrap();
    assert!(
        message.contains("does not verify") && message.to_lowercase().contains("expired"),
        "{message}"
    );
    assert!(
        c["readings"][0]["value"].as_f64().unwrap() < 0.0,
        "{json:#}"
    );

    let (_server, port) = serve(&dir, "untrusted");
    let run = check(port);
    let json = run.json();
    let c = &json["checks"][0];
    assert_eq!(c["status"], "critical", "{json:#}");
    assert!(
        c["message"].as_str().unwrap().contains("does not verify"),
        "{json:#}"
    );

    let closed = check(TcpListenerPort::free());
    assert_eq!(closed.code, 2, "{}", closed.stdout);
}
