//! Command-line arguments as `shared/spec/cli.md` fixes them. Parsing only: no I/O here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// reel: tape-library controller (discovery, moves, RSM media pools).
#[derive(Debug, Parser)]
#[command(name = "reel", version, about, propagate_version = true)]
pub struct Cli {
    /// Print exactly one JSON document on stdout, for success and failure.
    #[arg(long, global = true)]
    pub json: bool,

    /// Log verbosity on stderr (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read every changer and drive and print the library as it is.
    Discover(DiscoverArgs),
    /// Move a cartridge between two elements (technician command, straight to the devices).
    Move(MoveArgs),
    /// Run the controller daemon in the foreground.
    Serve(ServeArgs),
    /// The daemon's view of its libraries.
    Library(LibraryArgs),
    /// The media types the daemon's libraries detected.
    MediaTypes(ClientArgs),
    /// RSM media pools.
    #[command(subcommand)]
    Pool(PoolCommand),
    /// Physical media: list, show, allocate, deallocate, move between pools, ...
    #[command(subcommand)]
    Media(MediaCommand),
    /// Operator requests: list, satisfy, refuse, submit a message.
    Opreq(OpreqArgs),
    /// Prevent medium removal: keep the import/export elements shut (technician command).
    Lock(LockArgs),
    /// Allow medium removal again (technician command).
    Unlock(LockArgs),
    /// Exchange cartridges with EXCHANGE MEDIUM: SRC's to DST1, DST1's to DST2 (default SRC).
    Exchange(ExchangeArgs),
    /// Mount media (MountNtmsMedia) and print the drives' device nodes.
    Mount(super::mounts::MountArgs),
    /// Dismount media this session mounted, or whatever a drive holds.
    Dismount(super::mounts::DismountArgs),
    /// Library requests; `requests cancel ID` cancels a queued one.
    Requests(super::mounts::RequestsArgs),
    /// Print notifications as they happen, one JSON object a line.
    Watch(super::mounts::WatchArgs),
    /// The daemon's state: readiness, drives, queues, SCSI command counts.
    Status(ClientArgs),
    /// The daemon's figures in the Prometheus text format.
    Metrics(ClientArgs),
    /// mtx's dialect, byte for byte (`reel mtx -f /dev/sg3 status`); `reel mtx --install-link
    /// DIR` creates DIR/mtx, which runs the same front.
    Mtx(MtxArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Write one man page per command into DIR.
    Man(ManArgs),
}

/// `reel mtx [ARGS…]`: everything after `mtx` is mtx's command line.
#[derive(Debug, Args)]
pub struct MtxArgs {
    /// mtx's arguments (`-f DEV status`, `load 3 0`, …), or `--install-link DIR`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub args: Vec<std::ffi::OsString>,
}

/// `reel completions SHELL`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `reel man DIR`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// An existing directory; `reel.1`, `reel-discover.1`, ... are written into it.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Which devices a command talks to (cli.md "Choosing devices").
#[derive(Debug, Clone, Default, Args)]
pub struct DeviceChoice {
    /// Only these /dev/sg* nodes (repeatable); a changer's drives are still found.
    #[arg(long = "device", value_name = "PATH", conflicts_with_all = ["sim", "sim_socket"])]
    pub devices: Vec<PathBuf>,

    /// An in-process simulator built from this layout file.
    #[arg(long, value_name = "LAYOUT.toml", conflicts_with = "sim_socket")]
    pub sim: Option<PathBuf>,

    /// With --sim: keep cartridge positions in FILE across runs.
    #[arg(long, value_name = "FILE", requires = "sim")]
    pub sim_state: Option<PathBuf>,

    /// A simulator served by `reel-sim serve --socket PATH`.
    #[arg(long, value_name = "PATH")]
    pub sim_socket: Option<PathBuf>,

    /// Root of the sysfs tree to enumerate (for tests and chroots).
    #[arg(long, value_name = "DIR", default_value = "/sys", hide = true)]
    pub sysfs_root: PathBuf,
}

/// `reel discover`.
#[derive(Debug, Args)]
pub struct DiscoverArgs {
    #[command(flatten)]
    pub devices: DeviceChoice,

    /// Send INITIALIZE ELEMENT STATUS first (slow on big libraries), then read.
    #[arg(long)]
    pub rescan: bool,

    /// Count the SCSI commands sent and the time spent in devices.
    #[arg(long)]
    pub stats: bool,
}

/// `reel move FROM TO`.
#[derive(Debug, Args)]
pub struct MoveArgs {
    /// Source element, `TYPE:ADDRESS` (slot:1000, ie:10, drive:500).
    pub from: String,
    /// Destination element, `TYPE:ADDRESS`.
    pub to: String,

    #[command(flatten)]
    pub devices: DeviceChoice,

    /// With several changers: the serial of the one to use.
    #[arg(long, value_name = "SERIAL")]
    pub changer: Option<String>,

    /// Ask the daemon serving on this socket to move (it owns the changer), instead of
    /// talking to the devices directly.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["devices", "sim", "sim_socket"])]
    pub socket: Option<PathBuf>,
}

/// `reel lock` / `reel unlock`.
#[derive(Debug, Args)]
pub struct LockArgs {
    #[command(flatten)]
    pub devices: DeviceChoice,

    /// With several changers: the serial of the one to use.
    #[arg(long, value_name = "SERIAL")]
    pub changer: Option<String>,
}

/// `reel exchange SRC DST1 [DST2]`.
#[derive(Debug, Args)]
pub struct ExchangeArgs {
    /// Source element, `TYPE:ADDRESS` (slot:1000, ie:10, drive:500).
    #[arg(value_name = "SRC")]
    pub source: String,
    /// Where the source cartridge goes; its own cartridge goes on to DST2.
    #[arg(value_name = "DST1")]
    pub first_destination: String,
    /// Where DST1's cartridge goes (default: SRC, a swap).
    #[arg(value_name = "DST2")]
    pub second_destination: Option<String>,

    #[command(flatten)]
    pub devices: DeviceChoice,

    /// With several changers: the serial of the one to use.
    #[arg(long, value_name = "SERIAL")]
    pub changer: Option<String>,
}

/// `reel serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The pool database (created when missing).
    #[arg(long, value_name = "PATH")]
    pub db: PathBuf,

    /// The Unix socket to serve on.
    #[arg(
        long,
        value_name = "PATH",
        env = "REEL_SOCKET",
        default_value = "/run/reel/reel.sock"
    )]
    pub socket: PathBuf,

    /// Group owning the socket (mode 0660).
    #[arg(long, value_name = "GROUP", default_value = "tape")]
    pub socket_group: String,

    /// Members of this group are administrators (full access, like uid 0).
    #[arg(long, value_name = "GROUP")]
    pub admin_group: Option<String>,

    /// The daemon prints no document: the global --json is accepted and hidden here.
    #[arg(long, hide = true)]
    pub json: bool,

    /// Most objects (libraries, pools, media, sides, logical media) the database may hold;
    /// past it, calls that add one fail with ERROR_DATABASE_FULL.
    #[arg(long, value_name = "N")]
    pub max_objects: Option<u64>,

    /// Drop Free media that leave the library (NtmsMediaPoolPolicy PURGEOFFLINESCRATCH).
    #[arg(long)]
    pub purge_offline_scratch: bool,

    /// Keep Import media that leave the library (NtmsMediaPoolPolicy KEEPOFFLINEIMPORT).
    #[arg(long)]
    pub keep_offline_import: bool,

    /// Connections served at once (lowered to fit the open-files limit).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_connections: usize,

    /// Connections one user may hold at once (root and the admin group are exempt).
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_connections_per_user: usize,

    /// Seconds one reply may take to be written before a client that does not read is cut off.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub write_timeout: u64,

    #[command(flatten)]
    pub devices: DeviceChoice,
}

/// Where a client finds the daemon.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The daemon's socket.
    #[arg(
        long,
        value_name = "PATH",
        env = "REEL_SOCKET",
        default_value = "/run/reel/reel.sock"
    )]
    pub socket: PathBuf,

    /// Wait up to this long for the daemon to finish starting.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub wait_ready: u64,
}

/// `reel library`.
#[derive(Debug, Args)]
pub struct LibraryArgs {
    #[command(flatten)]
    pub client: ClientArgs,

    /// Read the devices again first.
    #[arg(long)]
    pub rescan: bool,
}

/// `reel pool ...`.
#[derive(Debug, Subcommand)]
pub enum PoolCommand {
    /// Create or open a media pool (CreateNtmsMediaPool).
    Create(PoolCreateArgs),
    /// List the children of NAME, or the top-level pools.
    List(PoolListArgs),
    /// Show every field of one pool.
    Show(PoolShowArgs),
    /// Delete an empty pool.
    Delete(PoolDeleteArgs),
    /// Change a pool's description, media type, policies, allocation limit or name
    /// (SetNtmsObjectInformation).
    Update(PoolUpdateArgs),
    /// Show, or replace, a pool's access list.
    Security(PoolSecurityArgs),
}

/// What `pool create` does when the pool exists or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CreateAction {
    /// Open the pool; fail if it does not exist.
    OpenExisting,
    /// Open the pool, creating it if needed.
    OpenAlways,
    /// Create the pool; fail if it exists.
    CreateNew,
}

/// `reel pool create`.
#[derive(Debug, Args)]
pub struct PoolCreateArgs {
    /// Full pool path, quoted for the shell: `'\MyApp\Pool1'`.
    pub name: String,
    /// Media type name or id; none makes a pool that holds only pools.
    #[arg(long, value_name = "TYPE")]
    pub media_type: Option<String>,
    /// open-existing, open-always or create-new.
    #[arg(long, value_enum, default_value = "create-new")]
    pub action: CreateAction,
    /// Allow entry `uid:N:RIGHTS`, `gid:N:RIGHTS`, `user:NAME:RIGHTS`, `group:NAME:RIGHTS` or
    /// `everyone:RIGHTS` (repeatable).
    #[arg(long, value_name = "ACE")]
    pub allow: Vec<String>,
    /// Deny entry, same form as --allow (repeatable).
    #[arg(long, value_name = "ACE")]
    pub deny: Vec<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `reel pool list`.
#[derive(Debug, Args)]
pub struct PoolListArgs {
    /// Parent pool; none lists the top level.
    pub name: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `reel pool show`.
#[derive(Debug, Args)]
pub struct PoolShowArgs {
    /// Full pool path, quoted for the shell (`'\App\Pool'`); `\` alone is the root pool.
    pub name: String,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `reel pool delete`.
#[derive(Debug, Args)]
pub struct PoolDeleteArgs {
    /// Full path of the pool to delete, quoted for the shell (`'\App\Pool'`); it must hold
    /// no media and no pools.
    pub name: String,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Where a pool allocates from (`--allocation-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AllocationPolicy {
    /// Only the pool's own media.
    PoolOnly,
    /// The pool's media, then the Free pool of its type (ALLOCATE_FROMSCRATCH).
    FromScratch,
}

/// Where deallocated media go (`--deallocation-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeallocationPolicy {
    /// They stay in the pool.
    StayInPool,
    /// They return to the Free pool (DEALLOCATE_TOSCRATCH).
    ToScratch,
}

/// `reel pool update`.
#[derive(Debug, Args)]
pub struct PoolUpdateArgs {
    /// Full pool path, quoted for the shell (`'\App\Pool'`).
    pub name: String,
    /// New description (at most 126 characters).
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// New media type (name or id), or `none` for a pool that holds pools; only while the pool
    /// holds no media and no pools.
    #[arg(long, value_name = "TYPE")]
    pub media_type: Option<String>,
    /// Allocations before a side is decommissioned; 0 = unlimited.
    #[arg(long, value_name = "N")]
    pub max_allocates: Option<u32>,
    /// pool-only or from-scratch.
    #[arg(long, value_enum, value_name = "POLICY")]
    pub allocation_policy: Option<AllocationPolicy>,
    /// stay-in-pool or to-scratch.
    #[arg(long, value_enum, value_name = "POLICY")]
    pub deallocation_policy: Option<DeallocationPolicy>,
    /// New last component of the name; the pool stays under its parent.
    #[arg(long, value_name = "NEW_NAME")]
    pub rename: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `reel pool security`.
#[derive(Debug, Args)]
pub struct PoolSecurityArgs {
    /// Full pool path (`\` alone is the root pool).
    pub name: String,
    /// Allow entry (repeatable); with any --allow/--deny the list is replaced.
    #[arg(long, value_name = "ACE")]
    pub allow: Vec<String>,
    /// Deny entry (repeatable).
    #[arg(long, value_name = "ACE")]
    pub deny: Vec<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `reel media ...`.
#[derive(Debug, Subcommand)]
pub enum MediaCommand {
    /// List physical media.
    List(MediaListArgs),
    /// Show one medium (by id or bar code).
    Show(MediumArgs),
    /// Allocate a side from POOL for this caller (AllocateNtmsMedia).
    Allocate(MediaAllocateArgs),
    /// Release a logical medium (DeallocateNtmsMedia).
    Deallocate(LmidArgs),
    /// Move a medium to another pool (MoveToNtmsMediaPool).
    Move(MediaMoveArgs),
    /// Mark an allocated side full (SetNtmsMediaComplete).
    Complete(LmidArgs),
    /// Retire a medium for good (DecommissionNtmsMedia).
    Decommission(MediumArgs),
    /// Remove a medium from the catalogue (DeleteNtmsMedia).
    Delete(MediumArgs),
}

/// `reel media list`.
#[derive(Debug, Args)]
pub struct MediaListArgs {
    /// Only this pool's media.
    #[arg(long, value_name = "NAME")]
    pub pool: Option<String>,
    /// Only media in the library with this changer serial.
    #[arg(long, value_name = "SERIAL")]
    pub library: Option<String>,
    /// Only offline media.
    #[arg(long)]
    pub offline: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// A command on one medium.
#[derive(Debug, Args)]
pub struct MediumArgs {
    /// The medium's id or bar code.
    pub medium: String,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// A command on one logical medium.
#[derive(Debug, Args)]
pub struct LmidArgs {
    /// The logical medium id (what allocate returned).
    pub lmid: uuid::Uuid,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `reel media allocate`.
#[derive(Debug, Args)]
pub struct MediaAllocateArgs {
    /// The application pool, e.g. `\App\Pool`.
    pub pool: String,
    /// Take this medium (id or bar code) or side id, e.g. from Import or Free.
    #[arg(long, value_name = "MEDIUM")]
    pub side: Option<String>,
    /// A side no other application shares (NTMS_ALLOCATE_NEW).
    #[arg(long, conflicts_with = "next")]
    pub new: bool,
    /// The next side of the medium LMID holds (NTMS_ALLOCATE_NEXT).
    #[arg(long, value_name = "LMID")]
    pub next: Option<uuid::Uuid>,
    /// Fail at once (ERROR_MEDIA_UNAVAILABLE) instead of asking an operator.
    #[arg(long)]
    pub error_if_unavailable: bool,
    /// How long to wait for an operator, in ms (0: no wait; default: forever).
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u64>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `reel media move`.
#[derive(Debug, Args)]
pub struct MediaMoveArgs {
    /// The medium's id or bar code.
    pub medium: String,
    /// The destination pool, e.g. `\Free\LTO-8`.
    pub pool: String,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `reel opreq [list | satisfy ID | refuse ID | submit message TEXT]`.
#[derive(Debug, Args)]
pub struct OpreqArgs {
    #[command(subcommand)]
    pub command: Option<OpreqCommand>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `reel opreq` subcommands.
#[derive(Debug, Subcommand)]
pub enum OpreqCommand {
    /// List the open requests (the default).
    List(ClientArgs),
    /// Mark a request done: the waiting call looks again.
    Satisfy(OpreqIdArgs),
    /// Refuse a request: the waiting call fails with ERROR_CANCELLED.
    Refuse(OpreqIdArgs),
    /// Raise a request of your own.
    Submit(OpreqSubmitArgs),
}

/// `reel opreq satisfy|refuse ID`.
#[derive(Debug, Args)]
pub struct OpreqIdArgs {
    /// The request id.
    pub id: uuid::Uuid,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `reel opreq submit message TEXT`.
#[derive(Debug, Args)]
pub struct OpreqSubmitArgs {
    /// Only `message` is supported.
    #[arg(value_parser = ["message"])]
    pub kind: String,
    /// The text for the operator.
    pub text: String,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_argument_model_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn device_choices_exclude_each_other() {
        for argv in [
            &["reel", "discover", "--sim", "a.toml", "--sim-socket", "s"][..],
            &[
                "reel", "discover", "--device", "/dev/sg0", "--sim", "a.toml",
            ][..],
            &["reel", "discover", "--sim-state", "st"][..],
        ] {
            assert!(
                Cli::try_parse_from(argv).is_err(),
                "{argv:?} should be refused"
            );
        }
        let ok = Cli::try_parse_from([
            "reel",
            "discover",
            "--sim",
            "a.toml",
            "--sim-state",
            "s",
            "--json",
        ]);
        assert!(ok.is_ok());
    }

    #[test]
    fn pool_create_defaults_to_create_new() {
        let cli = Cli::try_parse_from(["reel", "pool", "create", r"\App\P"]).unwrap();
        match cli.command {
            Command::Pool(PoolCommand::Create(a)) => {
                assert_eq!(a.action, CreateAction::CreateNew);
                assert_eq!(a.name, r"\App\P");
            }
            other => panic!("parsed as {other:?}"),
        }
    }
}
