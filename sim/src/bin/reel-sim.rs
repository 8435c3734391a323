//! `reel-sim`: the simulated library served as a process, and its operator panel.
//!
//! `reel-sim serve --layout FILE [--state FILE] --socket PATH` and
//! `reel-sim ctl --socket PATH [--json] COMMAND` (see sim/README.md).
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::SignalFd;
use reel_sim::client::SocketSource;
use reel_sim::iscsi::{Chap, IscsiConfig};
use reel_sim::layout::{ElementKind, Location};
use reel_sim::server::{remove_socket, Server};
use reel_sim::wire::ControlRequest;
use reel_sim::{Layout, SimLibrary};

#[derive(Parser)]
#[command(
    name = "reel-sim",
    version,
    propagate_version = true,
    about = "A SCSI-level simulated tape library"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a library built from a layout on a Unix socket until SIGTERM or SIGINT.
    Serve {
        /// The layout file (shared/spec/sim-layout.md).
        #[arg(long)]
        layout: PathBuf,
        /// Keep cartridge positions and MAM in this file (resumed when it exists).
        #[arg(long)]
        state: Option<PathBuf>,
        /// Keep each cartridge's data in DIR/<barcode>.tape (kept across restarts); without it
        /// data lives in memory.
        #[arg(long, value_name = "DIR")]
        media_dir: Option<PathBuf>,
        /// The socket path to listen on.
        #[arg(long, required_unless_present = "iscsi")]
        socket: Option<PathBuf>,
        /// Serve the library as an iSCSI target on [ADDR:]PORT (127.0.0.1:3260 without a value).
        #[arg(long, value_name = "[ADDR:]PORT", num_args = 0..=1, default_missing_value = "127.0.0.1:3260")]
        iscsi: Option<String>,
        /// CHAP credentials every iSCSI initiator must prove; required off loopback.
        #[arg(long, value_name = "USER:SECRET", requires = "iscsi")]
        iscsi_chap: Option<String>,
        /// Also serve a test-only RAM disk target (….testdisk) of SIZE (e.g. 64M) for iSCSI
        /// conformance suites.
        #[arg(long, value_name = "SIZE", requires = "iscsi")]
        iscsi_test_disk: Option<String>,
        /// Use CRC32C header and data digests whenever the initiator offers them (by default
        /// the initiator's first choice wins).
        #[arg(long, requires = "iscsi")]
        iscsi_prefer_digests: bool,
    },
    /// The operator at the front panel of a served library.
    Ctl {
        /// The socket of `reel-sim serve`.
        #[arg(long)]
        socket: PathBuf,
        /// Print one JSON document on stdout.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        action: Action,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages of reel-sim into DIR (for packaging).
    #[command(hide = true)]
    Man {
        /// An existing directory.
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum Action {
    /// Put a cartridge into an import/export element (the first empty one by default).
    Insert {
        /// The cartridge's barcode.
        barcode: String,
        /// The element, written ie:ADDRESS.
        element: Option<String>,
    },
    /// Take the cartridge out of an import/export element (ie:ADDRESS).
    Remove {
        /// The element, written ie:ADDRESS.
        element: String,
    },
    /// Open or close the import/export door.
    Door {
        /// open or close.
        #[arg(value_parser = ["open", "close"])]
        state: String,
    },
    /// Take a drive offline or bring it back online.
    Drive {
        /// offline or online.
        #[arg(value_parser = ["offline", "online"])]
        state: String,
        /// The drive's element address (500 or drive:500).
        address: String,
    },
    /// Print the library's contents.
    Status,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("REEL_SIM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .try_init();
    let result = match cli.command {
        Command::Serve {
            layout,
            state,
            media_dir,
            socket,
            iscsi,
            iscsi_chap,
            iscsi_test_disk,
            iscsi_prefer_digests,
        } => iscsi_config(iscsi, iscsi_chap, iscsi_test_disk)
            .map(|c| {
                c.map(|mut c| {
                    c.prefer_digests = iscsi_prefer_digests;
                    c
                })
            })
            .and_then(|i| {
                serve(
                    &layout,
                    state.as_deref(),
                    media_dir.as_deref(),
                    socket.as_deref(),
                    i,
                )
            }),
        Command::Ctl {
            socket,
            json,
            action,
        } => ctl(&socket, json, action),
        Command::Man { dir } => man(&dir),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "reel-sim",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(1)
        }
    }
}

enum Failure {
    Usage(String),
    Failed(String),
}

fn failed(e: impl std::fmt::Display) -> Failure {
    Failure::Failed(e.to_string())
}

/// `[ADDR:]PORT`: a bare port means loopback.
fn iscsi_addr(text: &str) -> Result<std::net::SocketAddr, Failure> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse().map_err(|_| {
        Failure::Usage(format!(
            "--iscsi {text:?}: expected PORT or ADDR:PORT (e.g. 3260, 127.0.0.1:3260, [::1]:3260)"
        ))
    })
}

/// A size with an optional K, M or G suffix (powers of 1024).
fn size(text: &str) -> Result<u64, Failure> {
    let t = text.trim();
    let (num, mul) = match t.char_indices().last() {
        Some((i, 'K' | 'k')) => (&t[..i], 1u64 << 10),
        Some((i, 'M' | 'm')) => (&t[..i], 1 << 20),
        Some((i, 'G' | 'g')) => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .filter(|&n| (4096..=(4u64 << 30)).contains(&n))
        .ok_or_else(|| {
            Failure::Usage(format!(
                "--iscsi-test-disk {text:?}: expected a size from 4K to 4G, e.g. 64M"
            ))
        })
}

fn iscsi_config(
    iscsi: Option<String>,
    chap: Option<String>,
    test_disk: Option<String>,
) -> Result<Option<IscsiConfig>, Failure> {
    let Some(addr) = iscsi else {
        return Ok(None);
    };
    let mut cfg = IscsiConfig::new(iscsi_addr(&addr)?);
    if let Some(c) = chap {
        let (user, secret) = c
            .split_once(':')
            .ok_or_else(|| Failure::Usage("--iscsi-chap: expected USER:SECRET".to_owned()))?;
        if user.is_empty() || secret.len() < 12 {
            return Err(Failure::Usage(
                "--iscsi-chap: the user must not be empty and the secret must have at least 12 characters (RFC 7143 §12.1.3)".to_owned(),
            ));
        }
        cfg.chap = Some(Chap {
            user: user.to_owned(),
            secret: secret.to_owned(),
        });
    }
    cfg.test_disk = test_disk.as_deref().map(size).transpose()?;
    Ok(Some(cfg))
}

fn serve(
    layout: &std::path::Path,
    state: Option<&std::path::Path>,
    media_dir: Option<&std::path::Path>,
    socket: Option<&std::path::Path>,
    iscsi: Option<IscsiConfig>,
) -> Result<(), Failure> {
    // Block the signals before any thread starts so that only the signalfd sees them.
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGTERM);
    mask.add(Signal::SIGINT);
    mask.thread_block()
        .map_err(|e| failed(format!("cannot block signals: {e}")))?;
    let sfd = SignalFd::new(&mask).map_err(|e| failed(format!("cannot create signalfd: {e}")))?;

    // A layout that does not load is bad usage, as in `reel --sim` (exit 2).
    let layout = Layout::from_file(layout).map_err(|e| Failure::Usage(e.to_string()))?;
    let library = SimLibrary::open_with_media(layout, state, media_dir).map_err(failed)?;
    let _target = match &iscsi {
        Some(cfg) => {
            let t = reel_sim::iscsi::spawn(library.clone(), cfg).map_err(failed)?;
            eprintln!(
                "reel-sim: iSCSI target {} on {}{}",
                t.names.join(" and "),
                t.addr,
                if cfg.chap.is_some() { " (CHAP)" } else { "" }
            );
            Some(t)
        }
        None => None,
    };
    let path = match socket {
        Some(socket) => {
            let server = Server::bind(socket, library.clone()).map_err(failed)?;
            let path = server.path().to_path_buf();
            eprintln!(
                "reel-sim: serving {} on {}",
                library.layout().file,
                path.display()
            );
            std::thread::spawn(move || {
                if let Err(e) = server.run() {
                    eprintln!("error: accepting connections failed: {e}");
                    let _ = remove_socket(server.path());
                    std::process::exit(1);
                }
            });
            Some(path)
        }
        None => None,
    };
    let remove = |p: &Option<PathBuf>| {
        if let Some(p) = p {
            let _ = remove_socket(p);
        }
    };
    loop {
        match sfd.read_signal() {
            Ok(Some(sig)) => {
                remove(&path);
                // Wait for a state write in progress to finish before exiting.
                let _ = library.status();
                eprintln!("reel-sim: signal {}, exiting", sig.ssi_signo);
                return Ok(());
            }
            Ok(None) => {}
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => {
                remove(&path);
                return Err(failed(format!("reading signals failed: {e}")));
            }
        }
    }
}

/// Writes `reel-sim.1` and one page per visible subcommand (`reel-sim-serve.1`, ...) into `dir`.
fn man(dir: &std::path::Path) -> Result<(), Failure> {
    use clap::CommandFactory;
    if !dir.is_dir() {
        return Err(Failure::Usage(format!(
            "{} is not a directory; create it first",
            dir.display()
        )));
    }
    let mut cmd = Cli::command();
    cmd.build();
    let mut pages = vec![(String::from("reel-sim"), cmd.clone())];
    let mut i = 0;
    while i < pages.len() {
        let (name, c) = pages[i].clone();
        for sub in c.get_subcommands() {
            if !sub.is_hide_set() && sub.get_name() != "help" {
                pages.push((format!("{name}-{}", sub.get_name()), sub.clone()));
            }
        }
        i += 1;
    }
    for (name, c) in pages {
        let mut bytes = Vec::new();
        clap_mangen::Man::new(c.name(name.clone()))
            .render(&mut bytes)
            .map_err(failed)?;
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, bytes).map_err(|e| failed(format!("{}: {e}", path.display())))?;
        println!("{}", path.display());
    }
    Ok(())
}

fn element(text: &str, kind: ElementKind) -> Result<u16, Failure> {
    let loc = if text.contains(':') {
        Location::parse(text).map_err(Failure::Usage)?
    } else {
        Location {
            kind,
            address: text
                .parse()
                .map_err(|_| Failure::Usage(format!("{text:?} is not an element address")))?,
        }
    };
    if loc.kind != kind {
        return Err(Failure::Usage(format!(
            "{text} is not a {}: element",
            kind.prefix()
        )));
    }
    Ok(loc.address)
}

fn ctl(socket: &std::path::Path, json: bool, action: Action) -> Result<(), Failure> {
    let req = match action {
        Action::Insert {
            barcode,
            element: e,
        } => ControlRequest::Insert {
            barcode,
            ie: e
                .map(|e| element(&e, ElementKind::ImportExport))
                .transpose()?,
        },
        Action::Remove { element: e } => ControlRequest::Remove {
            ie: element(&e, ElementKind::ImportExport)?,
        },
        Action::Door { state } => ControlRequest::Door {
            open: state == "open",
        },
        Action::Drive { state, address } => ControlRequest::Drive {
            address: element(&address, ElementKind::DataTransfer)?,
            online: state == "online",
        },
        Action::Status => ControlRequest::Status,
    };
    let src = SocketSource::connect(socket).map_err(failed)?;
    let reply = src.control(req).map_err(failed)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&reply).map_err(failed)?);
    } else if reply.ok {
        print!("{}", reply.message);
        if !reply.message.ends_with('\n') {
            println!();
        }
    }
    if reply.ok {
        Ok(())
    } else {
        Err(Failure::Failed(reply.message))
    }
}
