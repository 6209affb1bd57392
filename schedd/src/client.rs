//! Reaching a schedd: the connector schedctl, the tests and the benches
//! share, and other clients (a Python helper, a child daemon) can reuse.
//!
//! An instance is named by a URI: `unix:/path/to/socket` (the local
//! connector, which the peer's uid authenticates), `http://HOST:PORT`, or
//! `https://HOST:PORT` trusting a given CA or else the system's roots,
//! with a client certificate and key for mutual TLS. [`connect`] takes the
//! URI from [`ConnectOptions`], else `QUIVER_URI`, else this user's
//! default socket ([`default_uri`]), reads the token and TLS files, and
//! returns a [`Client`] that sends the bearer token (if any) with every
//! call. [`connect_unix`] is the bare Unix-socket channel tonic's
//! `Endpoint` lacks.
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use sched_proto::SchedulerClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity, Uri};
use tonic::{Request, Status};

use crate::socket::default_socket_path;

/// The largest message a [`Client`] sends or takes (a JGF of a large
/// graph is big).
pub const MAX_MESSAGE: usize = 1 << 30;

/// The largest HTTP/2 frame this client takes (the protocol's default
/// is 16 KiB): a grant's JGF, a big R or a `find` answer then comes in
/// a frame or a few, not as many small ones, each a wake-up of the
/// reading task.
const MAX_FRAME: u32 = 1 << 20;

/// How long [`connect`] waits for the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What to connect to, and with which credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    /// `unix:/path`, `http://HOST:PORT` or `https://HOST:PORT`; `None`:
    /// `QUIVER_URI`, else this user's default socket.
    pub uri: Option<String>,
    /// CA certificate (PEM) that signed the server's (https; default: the
    /// system's trusted roots).
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS; goes with `tls_key`.
    pub tls_cert: Option<PathBuf>,
    /// Client key (PEM) for mutual TLS; goes with `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// File holding a bearer token to send with every call.
    pub token_file: Option<PathBuf>,
}

/// Why a connection could not be made. [`ClientError::is_usage`] tells
/// the options' own faults from the world's.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URI is not `unix:`, `http://` or `https://`.
    #[error("unsupported URI {0:?}: use unix:/path, http://HOST:PORT or https://HOST:PORT")]
    UnsupportedUri(String),
    /// `unix:` without a path.
    #[error("{0}: no socket path")]
    NoSocketPath(String),
    /// An http(s) URI that does not parse.
    #[error("bad URI {uri}: {}", error_chain(.source))]
    BadUri {
        uri: String,
        source: tonic::transport::Error,
    },
    /// TLS files given for a URI that is not https.
    #[error("--tls-ca/--tls-cert apply to https:// URIs only")]
    TlsWithoutHttps,
    /// A client certificate without its key, or a key without its
    /// certificate.
    #[error("a client certificate and its key go together")]
    TlsHalfPair,
    /// A token, certificate or key file could not be read.
    #[error("cannot read the {what} {}: {source}", path.display())]
    Read {
        /// "token file", "CA certificate", "client certificate", ...
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The token file holds only white space.
    #[error("the token file {} is empty", .0.display())]
    EmptyToken(PathBuf),
    /// The token cannot go in a header.
    #[error("the token in {} holds characters a header cannot carry", .0.display())]
    BadToken(PathBuf),
    /// The TLS configuration was refused.
    #[error("TLS setup: {}", error_chain(.0))]
    Tls(tonic::transport::Error),
    /// Nobody answered at the URI.
    #[error("cannot connect to {uri}: {}{}", error_chain(.source), connect_hint(.uri))]
    Connect {
        uri: String,
        source: tonic::transport::Error,
    },
}

impl ClientError {
    /// Whether the options are at fault (a bad URI, TLS options that do
    /// not apply), rather than a file, the network or the server.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ClientError::UnsupportedUri(_)
                | ClientError::NoSocketPath(_)
                | ClientError::BadUri { .. }
                | ClientError::TlsWithoutHttps
                | ClientError::TlsHalfPair
        )
    }
}

/// What to check when a Unix socket does not answer.
fn connect_hint(uri: &str) -> &'static str {
    if uri.starts_with("unix:") {
        " (is schedd running? --uri or QUIVER_URI name another instance)"
    } else {
        ""
    }
}

/// A client of the Scheduler service whose calls carry the bearer token.
pub type Client = SchedulerClient<InterceptedService<Channel, BearerToken>>;

/// Adds `authorization: Bearer TOKEN` (if there is a token) to every call.
#[derive(Clone, Default)]
pub struct BearerToken(Option<MetadataValue<Ascii>>);

impl std::fmt::Debug for BearerToken {
    // Never print the token itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(_) => f.write_str("BearerToken(..)"),
            None => f.write_str("BearerToken(none)"),
        }
    }
}

impl BearerToken {
    /// The token in `path` (surrounding white space is not part of it).
    pub fn from_file(path: &Path) -> Result<BearerToken, ClientError> {
        let raw = read_file(path, "token file")?;
        let text = String::from_utf8_lossy(&raw).trim().to_string();
        if text.is_empty() {
            return Err(ClientError::EmptyToken(path.to_owned()));
        }
        let value = MetadataValue::try_from(format!("Bearer {text}"))
            .map_err(|_| ClientError::BadToken(path.to_owned()))?;
        Ok(BearerToken(Some(value)))
    }
}

impl Interceptor for BearerToken {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

/// The URI of this user's own schedd: `unix:` and its default socket.
pub fn default_uri() -> String {
    format!("unix:{}", default_socket_path().display())
}

/// The URI to use: the one given, else a non-empty `QUIVER_URI`, else
/// [`default_uri`].
pub fn resolve_uri(given: Option<&str>) -> String {
    match given {
        Some(u) => u.to_owned(),
        None => match std::env::var("QUIVER_URI") {
            Ok(u) if !u.is_empty() => u,
            _ => default_uri(),
        },
    }
}

/// Read a file, naming it (as `what`) in the error.
fn read_file(path: &Path, what: &'static str) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|source| ClientError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

/// Connect to the instance `opts` names (see the module documentation).
pub async fn connect(opts: &ConnectOptions) -> Result<Client, ClientError> {
    let (channel, token) = connect_channel(opts).await?;
    Ok(SchedulerClient::with_interceptor(channel, token)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE))
}

/// A client of the elastic services (`Leases` at a parent, `Elastic` at
/// a child), its calls carrying the bearer token.
pub type LeasesClient =
    sched_proto::lease_v1::leases_client::LeasesClient<InterceptedService<Channel, BearerToken>>;
/// See [`LeasesClient`].
pub type ElasticClient =
    sched_proto::lease_v1::elastic_client::ElasticClient<InterceptedService<Channel, BearerToken>>;

/// Connect to the `Leases` service of the parent `opts` names.
pub async fn connect_leases(opts: &ConnectOptions) -> Result<LeasesClient, ClientError> {
    let (channel, token) = connect_channel(opts).await?;
    Ok(
        sched_proto::lease_v1::leases_client::LeasesClient::with_interceptor(channel, token)
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE),
    )
}

/// A client of an instance's `Burst` service.
pub type BurstClient =
    sched_proto::burst_v1::burst_client::BurstClient<InterceptedService<Channel, BearerToken>>;

/// Connect to the `Burst` service of the instance `opts` names.
pub async fn connect_burst(opts: &ConnectOptions) -> Result<BurstClient, ClientError> {
    let (channel, token) = connect_channel(opts).await?;
    Ok(
        sched_proto::burst_v1::burst_client::BurstClient::with_interceptor(channel, token)
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE),
    )
}

/// A client of a parent's `Hierarchy` service (a child pulls jobs).
pub type HierarchyClient = sched_proto::hier_v1::hierarchy_client::HierarchyClient<
    InterceptedService<Channel, BearerToken>,
>;

/// Connect to the `Hierarchy` service of the parent `opts` names.
pub async fn connect_hierarchy(opts: &ConnectOptions) -> Result<HierarchyClient, ClientError> {
    let (channel, token) = connect_channel(opts).await?;
    Ok(
        sched_proto::hier_v1::hierarchy_client::HierarchyClient::with_interceptor(channel, token)
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE),
    )
}

/// Connect to the `Elastic` service of the child `opts` names.
pub async fn connect_elastic(opts: &ConnectOptions) -> Result<ElasticClient, ClientError> {
    let (channel, token) = connect_channel(opts).await?;
    Ok(
        sched_proto::lease_v1::elastic_client::ElasticClient::with_interceptor(channel, token)
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE),
    )
}

/// The channel to the instance `opts` names and the token its calls carry.
async fn connect_channel(opts: &ConnectOptions) -> Result<(Channel, BearerToken), ClientError> {
    let uri = resolve_uri(opts.uri.as_deref());
    let token = match &opts.token_file {
        Some(path) => BearerToken::from_file(path)?,
        None => BearerToken::default(),
    };
    let cannot = |source| ClientError::Connect {
        uri: uri.clone(),
        source,
    };
    let tls_given = opts.tls_ca.is_some() || opts.tls_cert.is_some();
    let channel = if let Some(path) = uri.strip_prefix("unix:") {
        if tls_given {
            return Err(ClientError::TlsWithoutHttps);
        }
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(ClientError::NoSocketPath(uri));
        }
        connect_unix(Path::new(path)).await.map_err(cannot)?
    } else if uri.starts_with("http://") || uri.starts_with("https://") {
        let mut endpoint = Endpoint::from_shared(uri.clone())
            .map_err(|source| ClientError::BadUri {
                uri: uri.clone(),
                source,
            })?
            .connect_timeout(CONNECT_TIMEOUT)
            .max_frame_size(MAX_FRAME);
        if uri.starts_with("https://") {
            // A site CA given, or the system's trusted roots.
            let mut tls = match opts.tls_ca.as_deref() {
                Some(ca) => ClientTlsConfig::new()
                    .ca_certificate(Certificate::from_pem(read_file(ca, "CA certificate")?)),
                None => ClientTlsConfig::new().with_native_roots(),
            };
            match (&opts.tls_cert, &opts.tls_key) {
                (Some(cert), Some(key)) => {
                    tls = tls.identity(Identity::from_pem(
                        read_file(cert, "client certificate")?,
                        read_file(key, "client key")?,
                    ));
                }
                (None, None) => {}
                _ => return Err(ClientError::TlsHalfPair),
            }
            endpoint = endpoint.tls_config(tls).map_err(ClientError::Tls)?;
        } else if tls_given {
            return Err(ClientError::TlsWithoutHttps);
        }
        endpoint.connect().await.map_err(cannot)?
    } else {
        return Err(ClientError::UnsupportedUri(uri));
    };
    Ok((channel, token))
}

/// Connects tonic's channel to a Unix socket (the URI's authority is
/// ignored).
#[derive(Clone, Debug)]
pub struct UnixConnector(pub PathBuf);

impl tower::Service<Uri> for UnixConnector {
    type Response = TokioIo<tokio::net::UnixStream>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: Uri) -> Self::Future {
        let path = self.0.clone();
        Box::pin(async move {
            let stream = tokio::net::UnixStream::connect(&path).await?;
            Ok(TokioIo::new(stream))
        })
    }
}

/// A channel to the schedd serving the Unix socket at `path`.
pub async fn connect_unix(path: &Path) -> Result<Channel, tonic::transport::Error> {
    Endpoint::from_static("http://localhost")
        .connect_timeout(CONNECT_TIMEOUT)
        .max_frame_size(MAX_FRAME)
        .connect_with_connector(UnixConnector(path.to_owned()))
        .await
}

/// An error and its sources, `: `-joined, without repeats nor tonic's
/// uninformative "transport error" when a cause follows.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if !s.is_empty() && !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    if parts.len() > 1 {
        parts.retain(|p| p != "transport error");
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(uri: &str) -> ConnectOptions {
        ConnectOptions {
            uri: Some(uri.into()),
            ..ConnectOptions::default()
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn the_default_is_this_users_socket() {
        let uri = default_uri();
        assert!(
            uri.starts_with("unix:") && uri.ends_with("schedd.sock"),
            "{uri}"
        );
        assert_eq!(resolve_uri(Some("http://h:1")), "http://h:1");
    }

    #[test]
    fn bad_uris_and_misplaced_tls_are_usage_errors() {
        let rt = rt();
        let usage = |o: ConnectOptions| {
            let e = rt.block_on(connect(&o)).expect_err("refused");
            assert!(e.is_usage(), "{e}");
            e.to_string()
        };
        assert_eq!(
            usage(opts("ftp://h")),
            "unsupported URI \"ftp://h\": use unix:/path, http://HOST:PORT or https://HOST:PORT"
        );
        assert_eq!(usage(opts("unix:")), "unix:: no socket path");
        let tls = |uri: &str| ConnectOptions {
            tls_ca: Some("ca.pem".into()),
            ..opts(uri)
        };
        let msg = "--tls-ca/--tls-cert apply to https:// URIs only";
        assert_eq!(usage(tls("unix:/x.sock")), msg);
        assert_eq!(usage(tls("http://127.0.0.1:1")), msg);
        let half = ConnectOptions {
            tls_cert: Some("cert.pem".into()),
            ..opts("https://127.0.0.1:1")
        };
        assert!(matches!(
            rt.block_on(connect(&half)).err(),
            Some(ClientError::TlsHalfPair)
        ));
    }

    #[test]
    fn unreadable_files_and_absent_servers_are_named() {
        let rt = rt();
        let dir = std::env::temp_dir().join(format!("quiver-client-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = ConnectOptions {
            token_file: Some(dir.join("none")),
            ..opts("unix:/x.sock")
        };
        let e = rt.block_on(connect(&missing)).expect_err("refused");
        assert!(!e.is_usage());
        assert!(
            e.to_string().starts_with("cannot read the token file "),
            "{e}"
        );
        let blank = dir.join("blank");
        std::fs::write(&blank, " \n").unwrap();
        let e = rt
            .block_on(connect(&ConnectOptions {
                token_file: Some(blank),
                ..opts("unix:/x.sock")
            }))
            .expect_err("refused");
        assert!(matches!(e, ClientError::EmptyToken(_)), "{e}");
        let sock = dir.join("nobody.sock");
        let uri = format!("unix:{}", sock.display());
        let e = rt.block_on(connect(&opts(&uri))).expect_err("refused");
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("cannot connect to {uri}: "))
                && msg.ends_with("(is schedd running? --uri or QUIVER_URI name another instance)"),
            "{msg}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_token_is_never_printed() {
        let t = BearerToken(Some(MetadataValue::from_static("Bearer secret")));
        assert_eq!(format!("{t:?}"), "BearerToken(..)");
    }
}
