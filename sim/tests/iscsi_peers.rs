//! libiscsi's tools against the target (Debian `libiscsi-bin`, installed by `.ci/run`):
//! `iscsi-ls` and `iscsi-inq` on every LUN, and `iscsi-test-cu`'s `iSCSI.*` family on the
//! test disk, plain, with CHAP and with header digests. Which tests run and which are skipped
//! is listed in `sim/README.md`.

mod common;

use std::process::Command;

use common::layout;
use reel_sim::iscsi::{spawn, Chap, IscsiConfig, Running};
use reel_sim::SimLibrary;

const USER: &str = "reel";
const SECRET: &str = "peer-test-secret";

fn target(chap: bool, digests: bool) -> Running {
    let mut cfg = IscsiConfig::new("127.0.0.1:0".parse().unwrap());
    cfg.test_disk = Some(16 << 20);
    cfg.prefer_digests = digests;
    if chap {
        cfg.chap = Some(Chap {
            user: USER.to_owned(),
            secret: SECRET.to_owned(),
        });
    }
    spawn(SimLibrary::new(layout("default.toml")), &cfg).expect("target starts")
}

fn run(tool: &str, args: &[String]) -> String {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e} (install Debian's libiscsi-bin, as .ci/run does)"));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{tool} {args:?} failed:\n{text}");
    text
}

fn url(t: &Running, chap: bool, target: &str, lun: Option<u16>) -> String {
    let auth = if chap {
        format!("{USER}%{SECRET}@")
    } else {
        String::new()
    };
    match lun {
        Some(l) => format!("iscsi://{auth}{}/{target}/{l}", t.addr),
        None => format!("iscsi://{auth}{}", t.addr),
    }
}

#[test]
fn iscsi_ls_and_iscsi_inq_on_every_lun() {
    for chap in [false, true] {
        let t = target(chap, false);
        let ls = run("iscsi-ls", &["-s".into(), url(&t, chap, "", None)]);
        let name = &t.names[0];
        assert!(
            ls.contains(&format!("Target:{name} Portal:{},1", t.addr)),
            "{ls}"
        );
        // The default layout: the changer and two LTO drives, then the test disk.
        for want in [
            "Lun:0    Type:MEDIA_CHANGER",
            "Lun:1    Type:SEQUENTIAL_ACCESS",
            "Lun:2    Type:SEQUENTIAL_ACCESS",
            "Lun:0    Type:DIRECT_ACCESS",
        ] {
            assert!(ls.contains(want), "{want} missing from:\n{ls}");
        }
        for (lun, ty) in [
            (0u16, "MEDIA_CHANGER"),
            (1, "SEQUENTIAL_ACCESS"),
            (2, "SEQUENTIAL_ACCESS"),
        ] {
            let u = url(&t, chap, name, Some(lun));
            let inq = run("iscsi-inq", std::slice::from_ref(&u));
            assert!(
                inq.contains(&format!("Peripheral Device Type:{ty}")),
                "{inq}"
            );
            let pages = run("iscsi-inq", &["-e".into(), "1".into(), u.clone()]);
            assert!(pages.contains("Page:0x80 UNIT_SERIAL_NUMBER"), "{pages}");
            let serial = run(
                "iscsi-inq",
                &["-e".into(), "1".into(), "-c".into(), "128".into(), u],
            );
            assert!(serial.contains("Unit Serial Number:[SIM"), "{serial}");
        }
    }
}

/// The `iSCSI.*` tests of libiscsi 1.19 (Debian bookworm), each expected to pass.
const ISCSI_FAMILY: &[&str] = &[
    "iSCSICmdSnTooHigh",
    "iSCSICmdSnTooLow",
    "iSCSIDataSnInvalid",
    "Read10Invalid",
    "Read10Residuals",
    "Read12Residuals",
    "Read16Residuals",
    "Write10Residuals",
    "Write12Residuals",
    "Write16Residuals",
    "WriteVerify10Residuals",
    "WriteVerify12Residuals",
    "WriteVerify16Residuals",
    "AbortTaskSimpleAsync",
    "LUNResetSimpleAsync",
];

#[test]
fn iscsi_test_cu_iscsi_family_passes_plain_with_chap_and_with_digests() {
    for (chap, digests) in [(false, false), (true, false), (false, true)] {
        let t = target(chap, digests);
        let disk = &t.names[1];
        let out = run(
            "iscsi-test-cu",
            &[
                "-d".into(),
                "-t".into(),
                "iSCSI".into(),
                url(&t, chap, disk, Some(0)),
            ],
        );
        // Every test ran; CUnit reports a failed one as "FAILED" after its name.
        for test in ISCSI_FAMILY {
            assert!(
                out.contains(&format!("Test: {test} ...")),
                "chap={chap} digests={digests}: {test} did not run:\n{out}"
            );
        }
        assert!(
            !out.contains("\nFAILED"),
            "chap={chap} digests={digests}:\n{out}"
        );
        let summary = out
            .lines()
            .find(|l| l.trim_start().starts_with("tests "))
            .unwrap_or_else(|| panic!("no summary:\n{out}"));
        let n: Vec<&str> = summary.split_whitespace().collect();
        assert_eq!(n[1..5], ["15", "15", "15", "0"], "{summary}");
    }
}
