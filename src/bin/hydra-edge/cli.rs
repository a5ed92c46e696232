//! The command line: Hydra's verbs and nouns (`create oauth2-client`, `perform
//! client-credentials`, …), the connection flags every command shares, and dispatch.

use std::io::Write;

use clap::{Args, Parser, Subcommand};

use crate::api::Api;
use crate::error::Error;
use crate::output::{Format, View};
use crate::{authcode, clients, consent, keys, tokens};

/// Where the admin token comes from when `--token` is not given.
pub const TOKEN_ENV: &str = "HYDRA_EDGE_ADMIN_TOKEN";
/// Hydra's variable for the endpoint; `HYDRA_EDGE_URL` is read too.
pub const ENDPOINT_ENVS: [&str; 2] = ["ORY_SDK_URL", "HYDRA_EDGE_URL"];

#[derive(Parser)]
#[command(
    name = "hydra-edge",
    version,
    about = "Manage a hydra-edge deployment (or any Ory Hydra v2+) through its admin and public API",
    after_help = "The admin token is read from --token or HYDRA_EDGE_ADMIN_TOKEN (prefer the variable: \
                  arguments are visible to other local users). The endpoint is --endpoint, ORY_SDK_URL or \
                  HYDRA_EDGE_URL.\n\nExit codes: 0 done, 1 refused by the server or failed locally, 2 bad \
                  command line, 3 endpoint unreachable, 4 authentication refused, 5 server error."
)]
pub struct Cli {
    #[command(flatten)]
    pub conn: Conn,
    #[command(subcommand)]
    pub command: Verb,
}

/// Flags of every command (Hydra's HTTP client and format flags).
#[derive(Args, Clone)]
pub struct Conn {
    /// The deployment's base URL. Alternatively ORY_SDK_URL or HYDRA_EDGE_URL.
    #[arg(short = 'e', long, global = true)]
    pub endpoint: Option<String>,
    /// The admin API token (ADMIN_API_TOKEN of the Worker). Alternatively HYDRA_EDGE_ADMIN_TOKEN.
    #[arg(long, global = true, hide_default_value = true, allow_hyphen_values = true)]
    pub token: Option<String>,
    /// Extra HTTP header, `Name: value` (repeatable), e.g. for Cloudflare Access.
    #[arg(short = 'H', long = "http-header", global = true)]
    pub http_header: Vec<String>,
    /// Do not verify TLS certificates (testing only).
    #[arg(long = "skip-tls-verify", global = true)]
    pub skip_tls_verify: bool,
    /// Output format: table, json, json-pretty, jsonpointer=/path, quiet.
    #[arg(long, global = true, default_value = "table")]
    pub format: String,
    /// Print only ids (same as --format quiet).
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,
}

#[derive(Subcommand)]
pub enum Verb {
    /// Create resources
    Create {
        #[command(subcommand)]
        what: CreateWhat,
    },
    /// Get resources
    Get {
        #[command(subcommand)]
        what: GetWhat,
    },
    /// List resources
    List {
        #[command(subcommand)]
        what: ListWhat,
    },
    /// Update resources
    Update {
        #[command(subcommand)]
        what: UpdateWhat,
    },
    /// Delete resources
    Delete {
        #[command(subcommand)]
        what: DeleteWhat,
    },
    /// Import resources
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Introspect resources
    Introspect {
        #[command(subcommand)]
        what: IntrospectWhat,
    },
    /// Revoke resources
    Revoke {
        #[command(subcommand)]
        what: RevokeWhat,
    },
    /// Perform OAuth 2.0 flows
    Perform {
        #[command(subcommand)]
        what: PerformWhat,
    },
}

#[derive(Subcommand)]
pub enum CreateWhat {
    /// Create an OAuth 2.0 client
    #[command(name = "oauth2-client", visible_alias = "client")]
    Client {
        /// The client's id (generated when omitted).
        #[arg(long)]
        id: Option<String>,
        #[command(flatten)]
        flags: Box<clients::ClientFlags>,
    },
    /// Create a JSON Web Key Set with a JSON Web Key
    #[command(name = "jwk", visible_alias = "jwks")]
    Jwk(keys::CreateArgs),
}

#[derive(Subcommand)]
pub enum GetWhat {
    /// Get one or more OAuth 2.0 clients by their ids
    #[command(name = "oauth2-client", visible_aliases = ["client", "clients", "oauth2-clients"])]
    Client {
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Get one or more JSON Web Key Sets by their ids
    #[command(name = "jwk", visible_alias = "jwks")]
    Jwk {
        #[arg(required = true)]
        sets: Vec<String>,
        /// Only public keys
        #[arg(long)]
        public: bool,
    },
}

#[derive(Subcommand)]
pub enum ListWhat {
    /// List OAuth 2.0 clients
    #[command(name = "oauth2-clients", visible_alias = "clients")]
    Clients(clients::ListArgs),
    /// List the consent sessions of a subject
    #[command(name = "consent-sessions", visible_alias = "consent-session")]
    ConsentSessions(consent::ListArgs),
}

#[derive(Subcommand)]
pub enum UpdateWhat {
    /// Replace an OAuth 2.0 client (fields not given are reset)
    #[command(name = "oauth2-client", visible_alias = "client")]
    Client {
        id: String,
        #[command(flatten)]
        flags: Box<clients::ClientFlags>,
    },
}

#[derive(Subcommand)]
pub enum DeleteWhat {
    /// Delete one or more OAuth 2.0 clients
    #[command(name = "oauth2-client", visible_aliases = ["client", "clients", "oauth2-clients"])]
    Client {
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Delete one or more JSON Web Key Sets
    #[command(name = "jwk", visible_alias = "jwks")]
    Jwk {
        #[arg(required = true)]
        sets: Vec<String>,
    },
    /// Delete all OAuth 2.0 access tokens of a client
    #[command(name = "access-tokens")]
    AccessTokens { client_id: String },
    /// Revoke consent sessions (and the tokens they granted)
    #[command(name = "consent-sessions", visible_alias = "consent-session")]
    ConsentSessions(consent::DeleteArgs),
}

#[derive(Subcommand)]
pub enum ImportWhat {
    /// Import OAuth 2.0 clients from JSON files (or standard input)
    #[command(name = "oauth2-client", visible_aliases = ["client", "clients", "oauth2-clients"])]
    Client { files: Vec<String> },
}

#[derive(Subcommand)]
pub enum IntrospectWhat {
    /// Introspect an access or refresh token (`-` reads it from standard input)
    Token(tokens::IntrospectArgs),
}

#[derive(Subcommand)]
pub enum RevokeWhat {
    /// Revoke an access or refresh token (`-` reads it from standard input)
    Token(tokens::RevokeArgs),
}

#[derive(Subcommand)]
pub enum PerformWhat {
    /// Get a token with the client credentials grant
    #[command(name = "client-credentials")]
    ClientCredentials(tokens::ClientCredentialsArgs),
    /// Run an authorization code flow with a local callback server and show the tokens
    #[command(name = "authorization-code")]
    AuthorizationCode(authcode::Args),
}

/// Client id and secret flags (Hydra's, with its environment variables).
#[derive(Args, Clone)]
pub struct ClientCredentials {
    /// The OAuth 2.0 client id. Alternatively OAUTH2_CLIENT_ID.
    #[arg(long = "client-id", allow_hyphen_values = true)]
    pub client_id: Option<String>,
    /// The OAuth 2.0 client secret. Alternatively OAUTH2_CLIENT_SECRET.
    // Generated secrets may begin with `-` (Hydra's alphabet has it): take the next word as is.
    #[arg(long = "client-secret", hide_default_value = true, allow_hyphen_values = true)]
    pub client_secret: Option<String>,
}

impl ClientCredentials {
    pub fn id(&self) -> Option<String> {
        self.client_id.clone().or_else(|| env_nonempty("OAUTH2_CLIENT_ID"))
    }
    pub fn secret(&self) -> Option<String> {
        self.client_secret.clone().or_else(|| env_nonempty("OAUTH2_CLIENT_SECRET"))
    }
}

pub fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// What a command needs: the API and the output format.
pub struct Env {
    pub api: Api,
    pub format: Format,
}

impl Env {
    pub fn print(&self, view: &View) -> Result<(), Error> {
        let text = view.render(&self.format)?;
        let mut out = std::io::stdout().lock();
        // A closed pipe (`| head`) is not an error worth reporting.
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
        Ok(())
    }
}

fn connect(conn: &Conn) -> Result<Env, Error> {
    let endpoint = conn
        .endpoint
        .clone()
        .filter(|e| !e.is_empty())
        .or_else(|| ENDPOINT_ENVS.iter().find_map(|n| env_nonempty(n)))
        .ok_or_else(|| {
            Error::Usage(
                "no endpoint: pass --endpoint https://your.deployment or set ORY_SDK_URL (or HYDRA_EDGE_URL)".into(),
            )
        })?;
    let token = conn.token.clone().filter(|t| !t.is_empty()).or_else(|| env_nonempty(TOKEN_ENV));
    let mut headers = Vec::new();
    for h in &conn.http_header {
        match h.split_once(':') {
            Some((k, v)) if !k.trim().is_empty() => headers.push((k.trim().to_string(), v.trim().to_string())),
            // The header may hold a credential: name it by position, not by value.
            _ => return Err(Error::Usage("an --http-header is not of the form 'Name: value'".into())),
        }
    }
    let format = if conn.quiet { Format::Quiet } else { Format::parse(&conn.format)? };
    Ok(Env { api: Api::new(&endpoint, token, headers, conn.skip_tls_verify)?, format })
}

/// Parse the command line, run the command, report any error; answers the exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let result = connect(&cli.conn).and_then(|env| dispatch(&env, cli.command));
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("hydra-edge: {e}");
            e.exit_code()
        }
    }
}

fn dispatch(env: &Env, verb: Verb) -> Result<(), Error> {
    match verb {
        Verb::Create { what: CreateWhat::Client { id, flags } } => clients::create(env, id, &flags),
        Verb::Create { what: CreateWhat::Jwk(args) } => keys::create(env, &args),
        Verb::Get { what: GetWhat::Client { ids } } => clients::get(env, &ids),
        Verb::Get { what: GetWhat::Jwk { sets, public } } => keys::get(env, &sets, public),
        Verb::List { what: ListWhat::Clients(args) } => clients::list(env, &args),
        Verb::List { what: ListWhat::ConsentSessions(args) } => consent::list(env, &args),
        Verb::Update { what: UpdateWhat::Client { id, flags } } => clients::update(env, &id, &flags),
        Verb::Delete { what: DeleteWhat::Client { ids } } => clients::delete(env, &ids),
        Verb::Delete { what: DeleteWhat::Jwk { sets } } => keys::delete(env, &sets),
        Verb::Delete { what: DeleteWhat::AccessTokens { client_id } } => tokens::delete_access_tokens(env, &client_id),
        Verb::Delete { what: DeleteWhat::ConsentSessions(args) } => consent::delete(env, &args),
        Verb::Import { what: ImportWhat::Client { files } } => clients::import(env, &files),
        Verb::Introspect { what: IntrospectWhat::Token(args) } => tokens::introspect(env, &args),
        Verb::Revoke { what: RevokeWhat::Token(args) } => tokens::revoke(env, &args),
        Verb::Perform { what: PerformWhat::ClientCredentials(args) } => tokens::client_credentials(env, &args),
        Verb::Perform { what: PerformWhat::AuthorizationCode(args) } => authcode::run(env, &args),
    }
}

/// Several independent operations (delete a, b, c): run all, report each failure on stderr,
/// and fail with the most telling exit code.
pub fn worst(errors: Vec<(String, Error)>) -> Result<(), Error> {
    if errors.is_empty() {
        return Ok(());
    }
    for (what, e) in &errors {
        eprintln!("hydra-edge: {what}: {e}");
    }
    let code = errors.iter().map(|(_, e)| e.exit_code()).max().unwrap_or(1);
    let n = errors.len();
    let summary = format!("{n} of the operations failed (see above)");
    Err(match code {
        3 => Error::Unreachable(summary),
        4 => Error::Unauthorized(summary),
        5 => Error::Server(summary),
        _ => Error::Failed(summary),
    })
}

/// Read a value given as `-` from standard input (one line, trimmed).
pub fn value_or_stdin(v: &str) -> Result<String, Error> {
    if v != "-" {
        return Ok(v.to_string());
    }
    let mut s = String::new();
    std::io::stdin().read_line(&mut s).map_err(|e| Error::Failed(format!("cannot read standard input: {e}")))?;
    let s = s.trim().to_string();
    if s.is_empty() {
        return Err(Error::Usage("standard input is empty".into()));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn hydras_command_shapes_parse() {
        for args in [
            &[
                "hydra-edge",
                "create",
                "oauth2-client",
                "--name",
                "x",
                "--grant-type",
                "authorization_code,refresh_token",
                "--response-type",
                "code",
                "--scope",
                "openid",
                "--scope",
                "offline",
                "--redirect-uri",
                "http://a/cb",
                "--token-endpoint-auth-method",
                "client_secret_post",
                "-e",
                "http://h",
            ][..],
            &["hydra-edge", "get", "client", "a", "b", "--format", "json"],
            &["hydra-edge", "list", "oauth2-clients", "--page-size", "10", "--page-token", "x"],
            &["hydra-edge", "delete", "access-tokens", "c"],
            &["hydra-edge", "create", "jwks", "set", "--alg", "ES256", "--use", "sig"],
            &["hydra-edge", "import", "oauth2-client", "a.json", "b.json"],
            &["hydra-edge", "introspect", "token", "t", "--scope", "a,b"],
            &["hydra-edge", "revoke", "token", "t", "--client-id", "c", "--client-secret", "s"],
            &[
                "hydra-edge",
                "perform",
                "client-credentials",
                "--client-id",
                "c",
                "--client-secret",
                "s",
                "--audience",
                "x",
            ],
            &["hydra-edge", "perform", "authorization-code", "--client-id", "c", "--port", "0", "--no-open"],
            &["hydra-edge", "list", "consent-sessions", "subject"],
            &["hydra-edge", "delete", "consent-sessions", "subject", "--all"],
            &["hydra-edge", "-q", "update", "oauth2-client", "id", "--file", "-"],
        ] {
            if let Err(e) = Cli::try_parse_from(args.iter()) {
                panic!("{args:?}: {e}");
            }
        }
    }

    #[test]
    fn a_token_argument_never_replaces_the_admin_token() {
        for args in [
            ["hydra-edge", "--token", "admin", "introspect", "token", "subject"],
            ["hydra-edge", "--token", "admin", "revoke", "token", "subject"],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            assert_eq!(cli.conn.token.as_deref(), Some("admin"), "{args:?}");
            let subject = match cli.command {
                Verb::Introspect { what: IntrospectWhat::Token(a) } => a.token,
                Verb::Revoke { what: RevokeWhat::Token(a) } => a.token,
                _ => unreachable!(),
            };
            assert_eq!(subject, "subject");
        }
    }

    #[test]
    fn secrets_may_begin_with_a_hyphen() {
        let cli = Cli::try_parse_from([
            "hydra-edge",
            "--token",
            "-admin",
            "perform",
            "client-credentials",
            "--client-id",
            "c",
            "--client-secret",
            "-lsecret",
        ])
        .unwrap();
        assert_eq!(cli.conn.token.as_deref(), Some("-admin"));
        match cli.command {
            Verb::Perform { what: PerformWhat::ClientCredentials(a) } => {
                assert_eq!(a.client.client_secret.as_deref(), Some("-lsecret"))
            }
            _ => unreachable!(),
        }
    }

    /// Page tokens are base64url, so one in 64 begins with "-".
    #[test]
    fn page_tokens_may_begin_with_a_hyphen() {
        let cli =
            Cli::try_parse_from(["hydra-edge", "list", "clients", "--page-size", "1", "--page-token", "-zX9"]).unwrap();
        match cli.command {
            Verb::List { what: ListWhat::Clients(a) } => assert_eq!(a.page_token, "-zX9"),
            _ => unreachable!(),
        }
        let cli =
            Cli::try_parse_from(["hydra-edge", "list", "consent-sessions", "alice", "--page-token", "-q"]).unwrap();
        match cli.command {
            Verb::List { what: ListWhat::ConsentSessions(a) } => assert_eq!(a.page_token, "-q"),
            _ => unreachable!(),
        }
    }

    #[test]
    fn bad_command_lines_are_refused() {
        assert!(Cli::try_parse_from(["hydra-edge", "get", "client"]).is_err());
        assert!(Cli::try_parse_from(["hydra-edge", "frobnicate"]).is_err());
    }
}
