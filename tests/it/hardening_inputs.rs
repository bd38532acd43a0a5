//! Hostile neighbours and inputs, each defect as a test named after it:
//! files planted in directories others can write, secrets in argument
//! lists and server replies, numbers that are not numbers, and inputs
//! with no bound.

use crate::alerts::{Receiver, code_check, set};
use crate::harness::{Env, is_root};

#[test]
fn a_marker_planted_by_another_user_silenced_the_state_cannot_be_saved_alert() {
    if !is_root() {
        eprintln!("skipped: giving a file to another user needs root");
        return;
    }
    let env = Env::new();
    let hook = Receiver::start();
    env.write("blocker", "a file, not a directory");
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\n\n[[alert]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n\n{}",
        env.path("blocker/state").display(),
        hook.url,
        code_check(&env)
    ));
    std::fs::create_dir_all(env.path("run")).unwrap();
    set(&env, 2);
    let run = || {
        let out = env
            .cmd()
            .env("XDG_RUNTIME_DIR", env.path("run"))
            .env_remove("RUNTIME_DIRECTORY")
            .args(["--format", "json"])
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["alerts"][0].clone()
    };
    assert_eq!(run()["outcome"], "sent");
    // Another user's copy of the marker, saying the hour was just told.
    let marker = std::fs::read_dir(env.path("run"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::os::unix::fs::chown(&marker, Some(65534), Some(65534)).unwrap();
    let second = run();
    assert_eq!(second["outcome"], "sent", "{second}");
    let detail = second["detail"].as_str().unwrap();
    assert!(detail.contains("ignored"), "{detail}");
    assert!(detail.contains("owned by uid 65534"), "{detail}");
    assert_eq!(hook.log.accepted().len(), 2);
}
