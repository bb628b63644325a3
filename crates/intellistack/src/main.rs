use std::process::ExitCode;

use clap::Parser;
use common::Role;
use intellistack::cli::{Cli, Command, ServeArgs};
use intellistack::commands;
use intellistack::commands::CommandError;
use intellistack::{Settings, StartError};
use intellistack::{server, startup};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(err.exit_code() as u8)
        }
    }
}

async fn run(cli: Cli) -> Result<(), CommandError> {
    let mut config = Settings::from_process_env().map_err(StartError::from)?;
    common::telemetry::init_logging(config.log_format);
    match cli.command.unwrap_or(Command::Serve(ServeArgs {
        roles: "auth,api,web".into(),
        ..Default::default()
    })) {
        Command::Serve(args) => {
            let roles = Role::parse_list(&args.roles).map_err(StartError::from)?;
            if let Some(port) = args.port {
                config.set_port(port);
            }
            if let Some(bind) = args.bind {
                config.bind = bind;
            }
            let listener = startup::bind(&config).await?;
            let addr = listener.local_addr().map_err(|source| StartError::Bind {
                addr: std::net::SocketAddr::new(config.bind, config.port),
                source,
            })?;
            let app = startup::build_app(config, roles.clone()).await?;
            let roles: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
            tracing::info!(%addr, roles = roles.join(","), "IntelliStack listening on http://{addr}");
            server::serve(app, listener, server::shutdown_signal())
                .await
                .map_err(|source| StartError::Bind { addr, source })?;
            Ok(())
        }
        Command::Users { command } => commands::users(config, command).await,
        Command::Keys { command } => commands::keys(config, command).await,
        Command::Content { command } => commands::content(config, command).await,
        Command::Eval { command } => commands::eval(config, command).await,
        Command::Import { command } => commands::import(config, command).await,
        Command::ValidateImport(args) => commands::validate_import(config, args).await,
        Command::Backup { to } => commands::backup(config, &to).await,
        Command::Restore { from, force } => commands::restore(config, &from, force).await,
        Command::Migrate => {
            let db = startup::open_database(&config).await?;
            println!("migrations applied ({} in total)", db.migration_count());
            db.close().await;
            Ok(())
        }
    }
}
