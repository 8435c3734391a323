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
        /// The socket path to listen on.
        #[arg(long)]
        socket: PathBuf,
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
            socket,
        } => serve(&layout, state.as_deref(), &socket),
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

fn serve(
    layout: &std::path::Path,
    state: Option<&std::path::Path>,
    socket: &std::path::Path,
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
    let library = SimLibrary::open(layout, state).map_err(failed)?;
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
    loop {
        match sfd.read_signal() {
            Ok(Some(sig)) => {
                let _ = remove_socket(&path);
                // Wait for a state write in progress to finish before exiting.
                let _ = library.status();
                eprintln!(
                    "reel-sim: signal {}, socket removed, exiting",
                    sig.ssi_signo
                );
                return Ok(());
            }
            Ok(None) => {}
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => {
                let _ = remove_socket(&path);
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
