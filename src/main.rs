//! The `orghub` command line: serve, migrate, schema, token, msp, demo.
use std::time::Duration;

use clap::{Parser, Subcommand};
use orghub::Config;
use orghub::config::LogFormat;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "orghub",
    version,
    about = "GraphQL API server for managed-service providers"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default). Creates and migrates the database on first start.
    Serve {
        #[command(flatten)]
        config: Config,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        config: Config,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Everything on one machine: the server on SQLite, a simulated ConnectWise with a
    /// realistic MSP, imported and mapped customers, a live link and a pod to open in a
    /// browser. Ctrl-C stops it (and removes the data unless `--data` was given).
    Demo {
        /// Keep the demo's database in this directory (default: a temporary one).
        #[arg(long)]
        data: Option<std::path::PathBuf>,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: std::net::SocketAddr,
    },
    /// Import organizations from a CSV file (the API's import, with progress): columns
    /// organizationName, managingOrgId, domain, orgSlug, isEnabled, tagNames.
    ImportCsv {
        /// The CSV file.
        file: std::path::PathBuf,
        /// Where rows without a managingOrgId go.
        #[arg(long)]
        managing_org: String,
        /// The user the import acts as (default: the MSP's first admin).
        #[arg(long)]
        user: Option<String>,
        /// Only check the rows; write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        config: Config,
    },
    /// Manage MSPs (top-level organizations) on this instance.
    Msp {
        #[command(subcommand)]
        action: MspCommand,
    },
    /// Mint an HS256 access token for an existing user.
    Token {
        /// E-mail of the user the token acts as.
        #[arg(long)]
        user: String,
        /// How long the token is valid: 90s, 30m, 1h, 7d.
        #[arg(long, default_value = "1h", value_parser = orghub::auth::parse_ttl_arg)]
        ttl: Duration,
        #[command(flatten)]
        config: Config,
    },
}

#[derive(Subcommand)]
enum MspCommand {
    /// Onboard a new MSP: a top-level organization with its own tree, and its first admin
    /// (invited: they sign in through the identity provider with this e-mail).
    Create {
        /// The MSP's name.
        #[arg(long)]
        name: String,
        /// E-mail of its first admin.
        #[arg(long)]
        admin_email: String,
        #[command(flatten)]
        config: Config,
    },
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("ORGHUB_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve {
        config: Config::defaults(),
    }) {
        Command::Serve { config } => {
            init_logging(config.log_format);
            orghub::serve(config).await
        }
        Command::Migrate { config } => {
            init_logging(config.log_format);
            migrate(&config).await
        }
        Command::Schema => {
            print!("{}", orghub::graphql::sdl());
            Ok(())
        }
        Command::Demo { data, bind } => {
            init_logging(LogFormat::Text);
            demo(data, bind).await
        }
        Command::Msp {
            action:
                MspCommand::Create {
                    name,
                    admin_email,
                    config,
                },
        } => {
            init_logging(config.log_format);
            create_msp(&config, &name, &admin_email).await
        }
        Command::ImportCsv {
            file,
            managing_org,
            user,
            dry_run,
            config,
        } => {
            init_logging(config.log_format);
            import_csv(&config, &file, &managing_org, user.as_deref(), dry_run).await
        }
        Command::Token { user, ttl, config } => {
            init_logging(config.log_format);
            token(&config, &user, ttl).await
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("orghub: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn demo(data: Option<std::path::PathBuf>, bind: std::net::SocketAddr) -> anyhow::Result<()> {
    let demo = orghub::demo::start(data, bind).await?;
    println!("{}", demo.banner());
    tokio::signal::ctrl_c().await.ok();
    eprintln!("stopping the demo");
    demo.stop().await;
    Ok(())
}

async fn import_csv(
    config: &Config,
    file: &std::path::Path,
    managing_org: &str,
    user: Option<&str>,
    dry_run: bool,
) -> anyhow::Result<()> {
    let report = orghub::cli_import::run(config, file, managing_org, user, dry_run).await?;
    print!("{}", report.text);
    Ok(())
}

async fn migrate(config: &Config) -> anyhow::Result<()> {
    let db = orghub::connect(config).await?;
    orghub::migrate(&db).await?;
    println!("migrations applied");
    Ok(())
}

async fn token(config: &Config, email: &str, ttl: Duration) -> anyhow::Result<()> {
    let (store, tokens) = orghub::open_store(config).await?;
    let user = orghub::domain::users::by_email(&store, email)
        .await
        .map_err(|e| anyhow::anyhow!(e.client_message()))?
        .ok_or_else(|| anyhow::anyhow!("no user with e-mail {email}"))?;
    println!("{}", tokens.mint(user.id, &user.username, ttl)?);
    Ok(())
}

async fn create_msp(config: &Config, name: &str, admin_email: &str) -> anyhow::Result<()> {
    let (store, _) = orghub::open_store(config).await?;
    let (org, admin) = orghub::domain::users::create_msp(&store, None, name, admin_email)
        .await
        .map_err(|e| anyhow::anyhow!(e.client_message()))?;
    println!(
        "Created the MSP \"{}\" ({}) and invited its admin {}.",
        org.name, org.id, admin.username
    );
    println!(
        "They sign in through the identity provider, or use `orghub token --user {}`.",
        admin.username
    );
    Ok(())
}
