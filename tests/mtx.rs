//! The mtx front against consumers nobody here wrote (issue 13).
//!
//! - Bacula's real `mtx-changer` (Debian package `bacula-sd`, fetched with `apt-get download` and
//!   unpacked with `dpkg -x`, never installed), run by `sh` with `mtx` on `PATH` being reel's
//!   front (`reel mtx --install-link`) over simulator layouts. Expected lines come from the
//!   layout files, read here with their own TOML oracle, never from reel's output.
//!   The package comes from `$REEL_BACULA_SD_DIR` (CI fetches it into a cache and points there;
//!   when set, it must hold the script), else from `apt-get download` into the test's target
//!   dir; when neither works the test says SKIPPED loudly on stderr.
//! - Amanda's `Amanda::Changer::robot` parses mtx's output with the regexes below, copied from
//!   robot.pm (amanda-common 3.5.1) as facts; with `$REEL_AMANDA_DIR` (the unpacked package) the
//!   test checks they are still in the file verbatim. They run in `perl`, as in Amanda.
//! - The front through the binary: `reel mtx`, the `mtx` name, exit codes and stderr.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{self, quirk_layout, tempdir, Run};

// ---- the layout oracle -------------------------------------------------------------------------

/// A library as the layout file describes it, numbered as mtx numbers it.
#[derive(Debug, Clone)]
struct Oracle {
    /// Storage addresses then import/export addresses: slot n is `slots[n - 1]`.
    slots: Vec<u16>,
    /// How many of the slots are import/export elements (the last ones).
    ie: usize,
    /// Drive element addresses in order: drive n is `drives[n]`.
    drives: Vec<u16>,
    /// Barcode by element address.
    at: BTreeMap<u16, String>,
    /// Source slot number (1-based) of each loaded drive, by drive address.
    source: BTreeMap<u16, usize>,
}

fn range(t: &toml::Value, key: &str) -> Vec<u16> {
    let r = &t["changer"][key];
    let first = r["first"].as_integer().unwrap() as u16;
    let count = r["count"].as_integer().unwrap() as u16;
    (first..first + count).collect()
}

impl Oracle {
    fn read(layout: &Path) -> Oracle {
        let t: toml::Value = std::fs::read_to_string(layout).unwrap().parse().unwrap();
        let storage = range(&t, "storage");
        let ie = range(&t, "import_export");
        let drives = range(&t, "data_transfer");
        let mut at = BTreeMap::new();
        for c in t
            .get("cartridge")
            .and_then(|c| c.as_array())
            .into_iter()
            .flatten()
        {
            let loc = c["location"].as_str().unwrap();
            let addr: u16 = loc.split(':').nth(1).unwrap().parse().unwrap();
            at.insert(addr, c["barcode"].as_str().unwrap().to_owned());
        }
        assert!(t.get("cartridges").is_none(), "runs are not needed here");
        let ie_count = ie.len();
        let mut o = Oracle {
            slots: storage.into_iter().chain(ie).collect(),
            ie: ie_count,
            drives,
            at,
            source: BTreeMap::new(),
        };
        // A cartridge the layout puts in a drive has no source element: mtx guesses the first
        // empty storage slot no other drive claims.
        for d in o.drives.clone() {
            if o.at.contains_key(&d) {
                let guess = (0..o.storage())
                    .find(|&i| {
                        !o.at.contains_key(&o.slots[i]) && !o.source.values().any(|&s| s == i + 1)
                    })
                    .map(|i| i + 1)
                    .expect("an empty slot to guess");
                o.source.insert(d, guess);
            }
        }
        o
    }

    fn storage(&self) -> usize {
        self.slots.len() - self.ie
    }

    fn slot(&self, n: usize) -> u16 {
        self.slots[n - 1]
    }

    fn drive(&self, n: usize) -> u16 {
        self.drives[n]
    }

    /// A volume tag as the simulator sends it and mtx prints it: SMC pads it with spaces to
    /// 32 bytes.
    fn tag(barcode: &str) -> String {
        format!("{barcode:<32}")
    }

    fn load(&mut self, slot: usize, drive: usize) {
        let b = self.at.remove(&self.slot(slot)).expect("a full slot");
        self.at.insert(self.drive(drive), b);
        self.source.insert(self.drive(drive), slot);
    }

    fn unload(&mut self, slot: usize, drive: usize) {
        let b = self.at.remove(&self.drive(drive)).expect("a full drive");
        self.at.insert(self.slot(slot), b);
        self.source.remove(&self.drive(drive));
    }

    fn transfer(&mut self, from: usize, to: usize) {
        let b = self.at.remove(&self.slot(from)).expect("a full slot");
        self.at.insert(self.slot(to), b);
    }

    /// What `mtx-changer … list` prints: full storage slots (not import/export), then loaded
    /// drives as `SOURCE:BARCODE`.
    fn list(&self) -> String {
        let mut out = String::new();
        for n in 1..=self.storage() {
            if let Some(b) = self.at.get(&self.slot(n)) {
                out += &format!("{n}:{b}\n");
            }
        }
        for d in &self.drives {
            if let Some(b) = self.at.get(d) {
                out += &format!("{}:{b}\n", self.source[d]);
            }
        }
        out
    }

    /// What `mtx-changer … listall` prints: `D:`, `S:` and `I:` lines (the tag as mtx prints
    /// it: Bacula's perl keeps the padding).
    fn listall(&self) -> String {
        let mut out = String::new();
        for (n, d) in self.drives.iter().enumerate() {
            match self.at.get(d) {
                Some(b) => out += &format!("D:{n}:F:{}:{}\n", self.source[d], Self::tag(b)),
                None => out += &format!("D:{n}:E\n"),
            }
        }
        for n in 1..=self.slots.len() {
            let kind = if n > self.storage() { "I" } else { "S" };
            match self.at.get(&self.slot(n)) {
                Some(b) => out += &format!("{kind}:{n}:F:{}\n", Self::tag(b)),
                None => out += &format!("{kind}:{n}:E\n"),
            }
        }
        out
    }

    /// What `mtx-changer … loaded … DRIVE` prints.
    fn loaded(&self, drive: usize) -> String {
        let d = self.drive(drive);
        match self.at.get(&d) {
            Some(_) => format!("{}\n", self.source[&d]),
            None => "0\n".to_owned(),
        }
    }
}

// ---- Bacula's mtx-changer ----------------------------------------------------------------------

/// The unpacked `bacula-sd` package: `$REEL_BACULA_SD_DIR`, else a fresh `apt-get download`
/// into the test's target dir. `None` (with a loud message) when it cannot be had here.
fn bacula_sd() -> Option<PathBuf> {
    const SCRIPT: &str = "etc/bacula/scripts/mtx-changer";
    if let Some(dir) = std::env::var_os("REEL_BACULA_SD_DIR") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join(SCRIPT).is_file(),
            "REEL_BACULA_SD_DIR={} holds no {SCRIPT}",
            dir.display()
        );
        return Some(dir);
    }
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bacula-sd");
    if cache.join(SCRIPT).is_file() {
        return Some(cache);
    }
    let fetch = || -> Result<(), String> {
        let dl = cache.join("deb");
        std::fs::create_dir_all(&dl).map_err(|e| e.to_string())?;
        let run = |cmd: &mut Command| -> Result<(), String> {
            let o = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
            if o.status.success() {
                Ok(())
            } else {
                Err(format!("{cmd:?}: {}", String::from_utf8_lossy(&o.stderr)))
            }
        };
        run(Command::new("apt-get")
            .args(["download", "bacula-sd"])
            .current_dir(&dl))?;
        let deb = std::fs::read_dir(&dl)
            .map_err(|e| e.to_string())?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .ok_or("apt-get download left no .deb")?;
        run(Command::new("dpkg").arg("-x").arg(&deb).arg(&cache))
    };
    match fetch() {
        Ok(()) if cache.join(SCRIPT).is_file() => Some(cache),
        Ok(()) => skip(&format!("bacula-sd unpacked without {SCRIPT}")),
        Err(e) => skip(&e),
    }
}

fn skip(why: &str) -> Option<PathBuf> {
    eprintln!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         !!! SKIPPED: Bacula's mtx-changer test: the Debian package bacula-sd cannot be had\n\
         !!! here ({why}).\n\
         !!! Set REEL_BACULA_SD_DIR to an unpacked bacula-sd (bash .ci/run does).\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
    );
    None
}

/// Bacula's script, set up as a site installs it: its configuration and working directories
/// moved into `dir` and `MTX` found on `PATH` — the three places Bacula's build fills in
/// (`@scriptdir@`, `@working_dir@`, `@MTX@`). Nothing else of the script changes.
struct Bacula {
    dir: tempfile::TempDir,
    script: PathBuf,
    path: String,
    env: Vec<(String, String)>,
}

impl Bacula {
    fn new(sd: &Path) -> Bacula {
        let dir = tempdir();
        let d = dir.path();
        let scripts = sd.join("etc/bacula/scripts");
        let text = std::fs::read_to_string(scripts.join("mtx-changer")).unwrap();
        let conf = d.join("mtx-changer.conf");
        std::fs::copy(scripts.join("mtx-changer.conf"), &conf).unwrap();
        std::fs::create_dir_all(d.join("work")).unwrap();
        let mut site = text.clone();
        for (from, to) in [
            (
                "/etc/bacula/scripts/mtx-changer.conf",
                conf.to_str().unwrap(),
            ),
            ("MTX=/usr/sbin/mtx", "MTX=mtx"),
            ("/var/lib/bacula", d.join("work").to_str().unwrap()),
        ] {
            assert!(site.contains(from), "mtx-changer no longer holds {from}");
            site = site.replace(from, to);
        }
        let script = d.join("mtx-changer");
        std::fs::write(&script, site).unwrap();
        // `mtx` on PATH is reel's front, installed the documented way.
        let bin = d.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        util::reel(&["mtx", "--install-link", bin.to_str().unwrap()]).expect_code(0);
        let link = std::fs::read_link(bin.join("mtx")).unwrap();
        assert_eq!(
            std::fs::canonicalize(link).unwrap(),
            std::fs::canonicalize(env!("CARGO_BIN_EXE_reel")).unwrap()
        );
        // `load` waits for the tape device with `mt -f DEV status` until it says ONLINE; the
        // simulator has no tape node, so a stub stands in for mt (not for anything mtx does).
        let mt = bin.join("mt");
        std::fs::write(&mt, "#!/bin/sh\necho 'mt-st stub: drive ONLINE'\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&mt, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())
        );
        Bacula {
            dir,
            script,
            path,
            env: Vec::new(),
        }
    }

    /// `mtx-changer CTL ARGS…`.
    fn run(&self, ctl: &str, args: &[&str]) -> Run {
        let mut cmd = Command::new("sh");
        cmd.arg(&self.script)
            .arg(ctl)
            .args(args)
            .env("PATH", &self.path)
            .env_remove("REEL_SOCKET")
            .env_remove("CHANGER")
            .env_remove("TAPE");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.output().expect("run mtx-changer").into()
    }
}

fn check(what: &str, r: &Run, want: &str) {
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, want),
        "{what}\nstderr:\n{}",
        r.stderr
    );
}

#[test]
fn bacula_mtx_changer_drives_the_simulated_library() {
    let Some(sd) = bacula_sd() else { return };
    let layout = quirk_layout("mtx-bacula");
    let mut o = Oracle::read(&layout);
    let mut b = Bacula::new(&sd);
    let state = b.dir.path().join("state.json");
    b.env
        .push(("REEL_SIM_STATE".into(), state.display().to_string()));
    let ctl = format!("sim:{}", layout.display());
    let ctl = ctl.as_str();
    let nst = "/dev/nst0";

    check(
        "slots",
        &b.run(ctl, &["slots"]),
        &format!("{}\n", o.slots.len()),
    );
    check("list", &b.run(ctl, &["list"]), &o.list());
    // A drive loaded before reel ever saw it: mtx's guessed source.
    check("listall", &b.run(ctl, &["listall"]), &o.listall());
    check(
        "loaded 0",
        &b.run(ctl, &["loaded", "0", nst, "0"]),
        &o.loaded(0),
    );
    check(
        "loaded 1",
        &b.run(ctl, &["loaded", "0", nst, "1"]),
        &o.loaded(1),
    );

    // Load slot 2 into drive 0: a drive loaded from a known slot.
    let r = b.run(ctl, &["load", "2", nst, "0"]);
    check(
        "load 2 0",
        &r,
        "Loading media from Storage Element 2 into drive 0...done\n",
    );
    assert_eq!(r.stderr, "", "a readable cartridge loads without a word");
    o.load(2, 0);
    check(
        "loaded after load",
        &b.run(ctl, &["loaded", "0", nst, "0"]),
        &o.loaded(0),
    );
    check("list after load", &b.run(ctl, &["list"]), &o.list());
    check(
        "listall after load",
        &b.run(ctl, &["listall"]),
        &o.listall(),
    );

    // Unload drive 1 (guessed source) into another slot, and drive 0 back home.
    let to = (1..=o.storage())
        .find(|&n| !o.at.contains_key(&o.slot(n)) && !o.source.values().any(|&s| s == n))
        .unwrap();
    let r = b.run(ctl, &["unload", &to.to_string(), nst, "1"]);
    check(
        "unload 1",
        &r,
        &format!("Unloading drive 1 into Storage Element {to}...done\n"),
    );
    o.unload(to, 1);
    let r = b.run(ctl, &["unload", "2", nst, "0"]);
    check(
        "unload 0",
        &r,
        "Unloading drive 0 into Storage Element 2...done\n",
    );
    o.unload(2, 0);
    check(
        "listall after unloads",
        &b.run(ctl, &["listall"]),
        &o.listall(),
    );

    // Transfer: the import/export slot's cartridge into storage, and back out.
    let ie = o.storage() + 1;
    let free = (1..=o.storage())
        .find(|&n| !o.at.contains_key(&o.slot(n)))
        .unwrap();
    check(
        "transfer in",
        &b.run(ctl, &["transfer", &ie.to_string(), &free.to_string()]),
        "",
    );
    o.transfer(ie, free);
    check(
        "listall after transfer",
        &b.run(ctl, &["listall"]),
        &o.listall(),
    );
    check(
        "transfer out",
        &b.run(ctl, &["transfer", &free.to_string(), &ie.to_string()]),
        "",
    );
    o.transfer(free, ie);

    // The cleaning cartridge goes in and out like any other.
    let cln = (1..=o.storage())
        .find(|&n| o.at.get(&o.slot(n)).is_some_and(|b| b.starts_with("CLN")))
        .unwrap();
    let r = b.run(ctl, &["load", &cln.to_string(), nst, "1"]);
    check(
        "load cleaner",
        &r,
        &format!("Loading media from Storage Element {cln} into drive 1...done\n"),
    );
    o.load(cln, 1);
    check(
        "listall with the cleaner loaded",
        &b.run(ctl, &["listall"]),
        &o.listall(),
    );
    let r = b.run(ctl, &["unload", &cln.to_string(), nst, "1"]);
    check(
        "unload cleaner",
        &r,
        &format!("Unloading drive 1 into Storage Element {cln}...done\n"),
    );
    o.unload(cln, 1);

    // An LTO-5 cartridge into an LTO-8 drive: it moves (mtx does), with a warning that the
    // script passes on after mtx's output.
    let old = (1..=o.storage())
        .find(|&n| o.at.get(&o.slot(n)).is_some_and(|b| b.ends_with("L5")))
        .unwrap();
    let r = b.run(ctl, &["load", &old.to_string(), nst, "0"]);
    assert_eq!(r.code, 0, "{r:?}");
    let mut lines = r.stdout.lines();
    assert_eq!(
        lines.next(),
        Some(format!("Loading media from Storage Element {old} into drive 0...done").as_str())
    );
    let warning = lines.next().unwrap_or_default();
    assert!(
        warning.starts_with("mtx: warning: ")
            && warning.contains("LTO-5")
            && warning.contains("cannot read"),
        "{r:?}"
    );
    o.load(old, 0);
    check(
        "listall at the end",
        &b.run(ctl, &["listall"]),
        &o.listall(),
    );

    // A failure mtx-changer does not retry (no request-sense block: no `Error Code=`).
    let empty = (1..=o.storage())
        .find(|&n| !o.at.contains_key(&o.slot(n)))
        .unwrap();
    let r = b.run(ctl, &["load", &empty.to_string(), nst, "1"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        r.stdout,
        format!(
            "Loading media from Storage Element {empty} into drive 1...mtx: Source Element \
             Address {} is Empty\n",
            o.slot(empty)
        )
    );
    check("nothing moved", &b.run(ctl, &["listall"]), &o.listall());
}

#[test]
fn bacula_mtx_changer_on_an_empty_library() {
    let Some(sd) = bacula_sd() else { return };
    let layout = quirk_layout("mtx-empty");
    let o = Oracle::read(&layout);
    let b = Bacula::new(&sd);
    let ctl = format!("sim:{}", layout.display());
    check(
        "slots",
        &b.run(&ctl, &["slots"]),
        &format!("{}\n", o.slots.len()),
    );
    check("list", &b.run(&ctl, &["list"]), "");
    check("listall", &b.run(&ctl, &["listall"]), &o.listall());
    check(
        "loaded",
        &b.run(&ctl, &["loaded", "0", "/dev/nst0", "0"]),
        "0\n",
    );
    let r = b.run(&ctl, &["unload", "1", "/dev/nst0", "0"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout.contains("mtx: Data Transfer Element 0 is Empty"),
        "{r:?}"
    );
}

/// A changer whose first two MOVE MEDIUMs fail with HARDWARE ERROR: Bacula's retry loop sees
/// `Error Code=` on mtx's stderr and tries again until the load goes through. The simulator is
/// served from this process so its fault counter lives across the script's mtx runs.
#[test]
fn bacula_retries_a_load_while_mtx_reports_error_code() {
    let Some(sd) = bacula_sd() else { return };
    let layout = quirk_layout("mtx-flaky");
    let mut o = Oracle::read(&layout);
    let b = Bacula::new(&sd);
    let (socket, library) = util::serve_sim(&layout, b.dir.path());
    let ctl = format!("sim-socket:{}", socket.display());

    // What one failed attempt looks like to the script.
    let r = Command::new(env!("CARGO_BIN_EXE_reel"))
        .args(["mtx", "-f", &ctl, "load", "1", "0"])
        .output()
        .unwrap();
    let r: Run = r.into();
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("mtx: Request Sense: Error Code=70 (Current)\n"),
        "{r:?}"
    );
    assert!(
        r.stderr
            .contains("mtx: Request Sense: Sense Key=Hardware Error\n"),
        "{r:?}"
    );
    assert!(
        r.stderr
            .ends_with("mtx: MOVE MEDIUM from Element Address 1000 to 500 Failed\n"),
        "{r:?}"
    );

    // One failure left: the script's second attempt goes through.
    let r = b.run(&ctl, &["load", "1", "/dev/nst0", "0"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .starts_with("Loading media from Storage Element 1 into drive 0...")
            && r.stdout
                .ends_with("Loading media from Storage Element 1 into drive 0...done\n"),
        "{r:?}"
    );
    o.load(1, 0);
    check("listall", &b.run(&ctl, &["listall"]), &o.listall());
    let status = library.status();
    assert!(
        format!("{status:?}").contains("FLK001L8"),
        "the simulator holds the cartridge: {status:?}"
    );
}

// ---- Amanda's robot.pm regexes -----------------------------------------------------------------

/// `Amanda::Changer::robot`'s parsing of `mtx status` and `mtx inquiry`, as in robot.pm
/// (amanda-common 3.5.1, package Amanda::Changer::robot::Interface::MTX).
const AMANDA_REGEXES: &[&str] = &[
    r"/^Data Transfer Element\s*(\d+)?\s*:\s*(.*)/i",
    r"/^\s*Storage Element\s*(\d+)\s*(IMPORT\/EXPORT)?\s*:\s*(.*)/i",
    r"/:VolumeTag\s*=\s*(\S+)/i",
    r"/\(Storage Element (\d+) Loaded\)/i",
    r"/mtx: Request Sense: Sense Key=(.*)\n/",
    r"/^(.*):\s*(.*)$/",
];

/// Amanda's status parsing, in perl, printing what it found one line each.
const AMANDA_STATUS: &str = r#"
my %status;
while (my $line = <STDIN>) {
    $line =~ s/\s*$//g;
    my ($slot, $ie, $slinfo);
    if (($slot, $slinfo) = ($line =~
                /^Data Transfer Element\s*(\d+)?\s*:\s*(.*)/i)) {
        $slot = 0 unless defined $slot;
        if ($slinfo =~ /^Empty/i) {
            print "drive $slot empty\n";
        } elsif ($slinfo =~ /^Full/i) {
            my ($barcode, $orig_slot);
            ($barcode) = ($slinfo =~ /:VolumeTag\s*=\s*(\S+)/i);
            ($orig_slot) = ($slinfo =~ /\(Storage Element (\d+) Loaded\)/i);
            print "drive $slot full barcode=$barcode orig_slot=$orig_slot\n";
        }
    } elsif (($slot, $ie, $slinfo) = ($line =~
                /^\s*Storage Element\s*(\d+)\s*(IMPORT\/EXPORT)?\s*:\s*(.*)/i)) {
        $ie = $ie? 1 : 0;
        if ($slinfo =~ /^Empty/i) {
            print "slot $slot empty ie=$ie\n";
        } elsif ($slinfo =~ /^Full/i) {
            my $barcode;
            ($barcode) = ($slinfo =~ /:VolumeTag\s*=\s*(\S+)/i);
            print "slot $slot full ie=$ie barcode=$barcode\n";
        }
    } else {
        print "other\n";
    }
}
"#;

/// Amanda's inquiry parsing: `lc key` = value without quotes and trailing blanks.
const AMANDA_INQUIRY: &str = r#"
my $output = do { local $/; <STDIN> };
for my $line (split '\n', $output) {
    if (my ($k, $v) = ($line =~ /^(.*):\s*(.*)$/)) {
        $v =~ s/^'(.*)'$/$1/;
        $v =~ s/\s*$//;
        print lc($k), "=", $v, "\n";
    }
}
"#;

fn perl(script: &str, input: &str) -> Option<String> {
    use std::io::Write;
    let mut child = Command::new("perl")
        .arg("-e")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(input.as_bytes()).ok()?;
    let o = child.wait_with_output().ok()?;
    assert!(o.status.success(), "perl failed");
    Some(String::from_utf8(o.stdout).unwrap())
}

#[test]
fn amanda_robot_regexes_match_every_line() {
    if let Some(dir) = std::env::var_os("REEL_AMANDA_DIR") {
        let pm =
            Path::new(&dir).join("usr/lib/x86_64-linux-gnu/amanda/perl/Amanda/Changer/robot.pm");
        let text = std::fs::read_to_string(&pm).unwrap_or_else(|e| panic!("{}: {e}", pm.display()));
        for re in AMANDA_REGEXES {
            assert!(text.contains(re), "robot.pm no longer holds {re}");
        }
    }
    let layout = quirk_layout("mtx-bacula");
    let o = Oracle::read(&layout);
    let dev = format!("sim:{}", layout.display());
    let status = util::reel(&["mtx", "-f", &dev, "status"]);
    status.expect_code(0);
    let Some(parsed) = perl(AMANDA_STATUS, &status.stdout) else {
        assert!(
            std::env::var_os("REEL_AMANDA_DIR").is_none(),
            "REEL_AMANDA_DIR is set (CI): perl must be here to run Amanda's regexes"
        );
        eprintln!("!!! SKIPPED: Amanda's regexes need perl, which is not here !!!");
        return;
    };
    // What Amanda must find, from the layout.
    let mut want = String::from("other\n");
    for (n, d) in o.drives.iter().enumerate() {
        match o.at.get(d) {
            Some(b) => want += &format!("drive {n} full barcode={b} orig_slot={}\n", o.source[d]),
            None => want += &format!("drive {n} empty\n"),
        }
    }
    for n in 1..=o.slots.len() {
        let ie = u8::from(n > o.storage());
        match o.at.get(&o.slot(n)) {
            Some(b) => want += &format!("slot {n} full ie={ie} barcode={b}\n"),
            None => want += &format!("slot {n} empty ie={ie}\n"),
        }
    }
    assert_eq!(parsed, want, "mtx status:\n{}", status.stdout);

    let inquiry = util::reel(&["mtx", "-f", &dev, "inquiry"]);
    inquiry.expect_code(0);
    let parsed = perl(AMANDA_INQUIRY, &inquiry.stdout).unwrap();
    assert_eq!(
        parsed,
        "product type=Medium Changer\nvendor id=REELSIM\nproduct id=VIRTUAL LIBRARY\n\
         revision=0001\nattached changer api=No\n"
    );

    // A failure: Amanda reports the sense key line.
    let socket_dir = tempdir();
    let (socket, _lib) = util::serve_sim(&quirk_layout("mtx-flaky"), socket_dir.path());
    let r = util::reel(&[
        "mtx",
        "-f",
        &format!("sim-socket:{}", socket.display()),
        "load",
        "1",
        "0",
    ]);
    r.expect_code(1);
    let combined = format!("{}{}", r.stdout, r.stderr);
    let key = perl(
        r#"my $err = do { local $/; <STDIN> }; my ($k) = ($err =~ /mtx: Request Sense: Sense Key=(.*)\n/); print $k;"#,
        &combined,
    )
    .unwrap();
    assert_eq!(key, "Hardware Error");
}

// ---- the front through the binary --------------------------------------------------------------

#[test]
fn reel_mtx_and_mtx_are_one_front() {
    let layout = quirk_layout("mtx-bacula");
    let dev = format!("sim:{}", layout.display());
    let a = util::reel(&["mtx", "-f", &dev, "status"]);
    a.expect_code(0);
    let dir = tempdir();
    util::reel(&["mtx", "--install-link", dir.path().to_str().unwrap()]).expect_code(0);
    // A second install into the same place is a no-op; another file there is left alone.
    util::reel(&["mtx", "--install-link", dir.path().to_str().unwrap()]).expect_code(0);
    let other = tempdir();
    std::fs::write(other.path().join("mtx"), "not ours").unwrap();
    let r = util::reel(&["mtx", "--install-link", other.path().to_str().unwrap()]);
    r.expect_code(1);
    assert!(r.stderr.contains("exists already"), "{r:?}");
    let b: Run = Command::new(dir.path().join("mtx"))
        .args(["-f", &dev, "status"])
        .output()
        .unwrap()
        .into();
    b.expect_code(0);
    assert_eq!(a.stdout, b.stdout);
    // $CHANGER names the device when -f does not.
    let c: Run = Command::new(dir.path().join("mtx"))
        .arg("status")
        .env("CHANGER", &dev)
        .output()
        .unwrap()
        .into();
    assert_eq!(c.stdout, a.stdout);
    // Errors: mtx's words on stderr, exit 1, nothing on stdout.
    let e = util::reel(&["mtx", "-f", &dev, "load", "99"]);
    assert_eq!(
        (e.code, e.stdout.as_str(), e.stderr.as_str()),
        (
            1,
            "",
            "mtx: Invalid <storage-element-number> argument '99' to 'load' command\n"
        )
    );
    let e = util::reel(&["mtx", "-f", "/nonexistent/sg9", "status"]);
    assert_eq!(e.code, 1);
    assert!(
        e.stderr
            .starts_with("mtx: cannot open SCSI device '/nonexistent/sg9' - "),
        "{e:?}"
    );
    let e = util::reel(&["mtx", "-f", &dev, "frobnicate"]);
    assert_eq!(e.code, 1);
    assert!(e.stderr.starts_with("Usage:\n\tmtx --version\n"), "{e:?}");
}

/// When `reel serve` owns the changer, the front reads the daemon's inventory: the status is
/// the daemon's (its tags as it holds them, without the changer's padding).
#[test]
fn through_the_daemon_status_is_its_inventory() {
    let layout = quirk_layout("mtx-bacula");
    let d = util::daemon::Daemon::start_with(util::daemon::open_tempdir(), layout.clone());
    let dev = format!("sim:{}", layout.display());
    let r: Run = Command::new(env!("CARGO_BIN_EXE_reel"))
        .args(["mtx", "-f", &dev, "status"])
        .env("REEL_SOCKET", &d.socket)
        .output()
        .unwrap()
        .into();
    r.expect_code(0);
    let o = Oracle::read(&layout);
    assert!(
        r.stdout.starts_with(&format!(
            "  Storage Changer {dev}:2 Drives, {} Slots ( 2 Import/Export )\n",
            o.slots.len()
        )),
        "{r:?}"
    );
    // The daemon's tags carry no padding: the device path's would.
    assert!(
        r.stdout
            .contains("      Storage Element 1:Full :VolumeTag=ABC001L8\n"),
        "{r:?}"
    );
}

/// When `reel serve` owns the changer, `load` and `unload` are the daemon's moves: queued on its
/// picker and seen at once in its inventory (`reel library`), with no rescan.
#[test]
fn through_the_daemon_moves_are_its_moves() {
    let layout = quirk_layout("mtx-bacula");
    let o = Oracle::read(&layout);
    let d = util::daemon::Daemon::start_with(util::daemon::open_tempdir(), layout.clone());
    let dev = format!("sim:{}", layout.display());
    let mtx = |args: &[&str]| -> Run {
        Command::new(env!("CARGO_BIN_EXE_reel"))
            .arg("mtx")
            .args(["-f", &dev])
            .args(args)
            .env("REEL_SOCKET", &d.socket)
            .env_remove("REEL_SIM_STATE")
            .output()
            .unwrap()
            .into()
    };
    // The first full storage slot, and the first drive the layout leaves empty.
    let storage = o.slots.len() - o.ie;
    let (slot, addr) = (1..=storage)
        .map(|n| (n, o.slots[n - 1]))
        .find(|(_, a)| o.at.contains_key(a))
        .expect("a full storage slot");
    let barcode = o.at[&addr].clone();
    let drive = (0..o.drives.len())
        .find(|k| !o.at.contains_key(&o.drives[*k]))
        .expect("an empty drive");
    let element = |doc: &serde_json::Value, kind: &str, address: u16| -> serde_json::Value {
        doc["libraries"][0][kind]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["address"] == address)
            .cloned()
            .unwrap()
    };
    let library = || -> serde_json::Value {
        let r = d.reel(&["library", "--json"]);
        assert_eq!(r.code, 0, "{r:?}");
        serde_json::from_str(&r.stdout).unwrap()
    };

    let r = mtx(&["load", &slot.to_string(), &drive.to_string()]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (
            0,
            format!("Loading media from Storage Element {slot} into drive {drive}...done\n")
                .as_str()
        ),
        "{r:?}"
    );
    let doc = library();
    let loaded = element(&doc, "drives", o.drives[drive]);
    assert_eq!(
        (loaded["full"].as_bool(), loaded["barcode"].as_str()),
        (Some(true), Some(barcode.as_str()))
    );
    assert_eq!(element(&doc, "slots", addr)["full"].as_bool(), Some(false));

    let r = mtx(&["unload", &slot.to_string(), &drive.to_string()]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (
            0,
            format!("Unloading drive {drive} into Storage Element {slot}...done\n").as_str()
        ),
        "{r:?}"
    );
    let doc = library();
    assert_eq!(
        element(&doc, "drives", o.drives[drive])["full"].as_bool(),
        Some(false)
    );
    let home = element(&doc, "slots", addr);
    assert_eq!(
        (home["full"].as_bool(), home["barcode"].as_str()),
        (Some(true), Some(barcode.as_str()))
    );
}

/// `reel mtx` through `reel serve`, run as `user` when given (root otherwise).
fn mtx_through(
    d: &util::daemon::Daemon,
    dev: &str,
    user: Option<&util::daemon::User>,
    args: &[&str],
) -> Run {
    let mut cmd = match user {
        Some(u) => {
            let mut c = u.setpriv();
            c.arg(env!("CARGO_BIN_EXE_reel"));
            c
        }
        None => Command::new(env!("CARGO_BIN_EXE_reel")),
    };
    cmd.arg("mtx")
        .args(["-f", dev])
        .args(args)
        .env("REEL_SOCKET", &d.socket)
        .env_remove("REEL_SIM_STATE")
        .output()
        .unwrap()
        .into()
}

/// Element address → (barcode when full, source) of every slot and drive in the daemon's view.
fn daemon_contents(d: &util::daemon::Daemon) -> BTreeMap<u16, (Option<String>, Option<u64>)> {
    let r = d.reel(&["library", "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let mut out = BTreeMap::new();
    for kind in ["slots", "import_export", "drives"] {
        for e in doc["libraries"][0][kind].as_array().unwrap() {
            let barcode = e["barcode"]
                .as_str()
                .filter(|_| e["full"].as_bool() == Some(true))
                .map(str::to_owned);
            out.insert(
                u16::try_from(e["address"].as_u64().unwrap()).unwrap(),
                (barcode, e["source"].as_u64()),
            );
        }
    }
    out
}

#[test]
fn through_the_daemon_exchange_and_position_are_its_calls() {
    let layout = quirk_layout("mtx-bacula");
    let o = Oracle::read(&layout);
    let d = util::daemon::Daemon::start_with(util::daemon::open_tempdir(), layout.clone());
    let dev = format!("sim:{}", layout.display());
    // The first two full storage slots, by mtx number and address.
    let storage = o.slots.len() - o.ie;
    let full: Vec<(usize, u16)> = (1..=storage)
        .map(|n| (n, o.slots[n - 1]))
        .filter(|(_, a)| o.at.contains_key(a))
        .take(2)
        .collect();
    let [(n1, a1), (n2, a2)] = full[..] else {
        panic!("the layout has two full storage slots")
    };
    let before = daemon_contents(&d);
    assert_eq!(before[&a1].0.as_deref(), Some(o.at[&a1].as_str()));
    assert_eq!(before[&a2].0.as_deref(), Some(o.at[&a2].as_str()));

    let r = mtx_through(
        &d,
        &dev,
        None,
        &["exchange", &n1.to_string(), &n2.to_string()],
    );
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "", ""),
        "{r:?}"
    );
    let after = daemon_contents(&d);
    // Each cartridge is where the other was, and records the element it came from.
    let expected: BTreeMap<u16, (Option<String>, Option<u64>)> = before
        .iter()
        .map(|(a, v)| match *a {
            x if x == a1 => (x, (Some(o.at[&a2].clone()), Some(u64::from(a2)))),
            x if x == a2 => (x, (Some(o.at[&a1].clone()), Some(u64::from(a1)))),
            x => (x, v.clone()),
        })
        .collect();
    assert_eq!(after, expected);

    // POSITION TO ELEMENT goes to the daemon's picker and changes nothing.
    let r = mtx_through(&d, &dev, None, &["position", &n1.to_string()]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "", ""),
        "{r:?}"
    );
    assert_eq!(daemon_contents(&d), expected);

    // eject stays the daemon's to refuse: said on stderr, exit status 0 as mtx's eject.
    let r = mtx_through(&d, &dev, None, &["eject"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{r:?}");
    assert!(
        r.stderr.contains("reel serve") && r.stderr.ends_with("mtx:eject failed\n"),
        "{r:?}"
    );
    assert_eq!(daemon_contents(&d), expected);
}

#[test]
fn through_the_daemon_another_user_may_not_move_or_exchange() {
    let layout = quirk_layout("mtx-bacula");
    let o = Oracle::read(&layout);
    let d = util::daemon::Daemon::start_with(util::daemon::open_tempdir(), layout.clone());
    std::fs::set_permissions(
        &d.socket,
        std::os::unix::fs::PermissionsExt::from_mode(0o666),
    )
    .unwrap();
    let dev = format!("sim:{}", layout.display());
    let storage = o.slots.len() - o.ie;
    let full: Vec<usize> = (1..=storage)
        .filter(|n| o.at.contains_key(&o.slots[n - 1]))
        .take(2)
        .collect();
    let empty = (1..=storage)
        .find(|n| !o.at.contains_key(&o.slots[n - 1]))
        .expect("an empty storage slot");
    let before = daemon_contents(&d);
    let nobody = util::daemon::User::new(65534);
    for args in [
        vec![
            "transfer".to_owned(),
            full[0].to_string(),
            empty.to_string(),
        ],
        vec![
            "exchange".to_owned(),
            full[0].to_string(),
            full[1].to_string(),
        ],
        vec!["position".to_owned(), full[0].to_string()],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = mtx_through(&d, &dev, Some(&nobody), &args);
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
        if args[0] != "position" {
            assert!(r.stderr.contains("ERROR_ACCESS_DENIED"), "{args:?}: {r:?}");
        }
        assert_eq!(daemon_contents(&d), before, "{args:?} changed nothing");
    }
}
