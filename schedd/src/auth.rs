//! Who may talk to an instance, and who the caller is.
//!
//! On the Unix socket (the local connector) the kernel tells us the
//! caller's uid (SO_PEERCRED): a job records it as its owner. What each
//! caller may then do is [`crate::authz`]'s. The socket is owner-only
//! unless `--socket-mode` opens it to others.
//!
//! TCP has no uid: a TCP caller that passed the instance's check (TLS with
//! a client certificate signed by `--tls-client-ca`, or the shared token
//! of `--token-file` on every call) acts as the instance owner. Plain TCP
//! without either is refused unless `--insecure` is given and the address
//! is loopback.
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tonic::service::Interceptor;
use tonic::transport::server::UdsConnectInfo;
use tonic::{Request, Status};

/// Why a token file or a socket mode was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token file could not be read.
    #[error("{}: {source}", path.display())]
    TokenUnreadable { path: PathBuf, source: io::Error },
    /// The token file is open to group or others.
    #[error("{}: readable by group or others (mode {mode:o}); chmod 600 it", path.display())]
    TokenOpen { path: PathBuf, mode: u32 },
    /// The token is too short to be a secret.
    #[error("{}: the token is {len} characters; use at least 16", path.display())]
    TokenShort { path: PathBuf, len: usize },
    /// Not an octal permission mode.
    #[error("--socket-mode: '{0}' is not an octal mode like 600")]
    BadMode(String),
    /// A TCP listener that would serve callers unchecked, or a token in
    /// clear text over the network.
    #[error("{0}")]
    UnsafeTcp(String),
}

/// How a TCP listener is secured, as the options say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpSetup {
    /// `--tls-cert`/`--tls-key` given.
    pub tls: bool,
    /// `--token-file` given.
    pub token: bool,
    /// `--insecure`: neither, on loopback.
    pub insecure: bool,
    /// `--insecure-token`: a token without TLS off loopback.
    pub insecure_token: bool,
}

impl TcpSetup {
    /// Whether listening at `addr` (None: no TCP) this way is allowed:
    /// unsecured TCP only on loopback with `--insecure`; a token without
    /// TLS off loopback only with `--insecure-token` (then Ok with a
    /// warning to log); TCP options without `--listen` are a mistake.
    pub fn check(&self, addr: Option<&std::net::SocketAddr>) -> Result<Option<String>, AuthError> {
        let unsafe_tcp = |m: String| Err(AuthError::UnsafeTcp(m));
        let Some(addr) = addr else {
            if self.insecure || self.token || self.tls || self.insecure_token {
                return unsafe_tcp(
                    "--insecure, --insecure-token, --token-file and --tls-* apply to --listen, which is not given".into(),
                );
            }
            return Ok(None);
        };
        let loopback = addr.ip().is_loopback();
        let secured = self.tls || self.token;
        if !secured && !self.insecure {
            return unsafe_tcp(format!("--listen {addr}: give --tls-cert/--tls-key or --token-file, or --insecure on a loopback address"));
        }
        if !secured && !loopback {
            return unsafe_tcp(format!(
                "--listen {addr}: --insecure serves loopback addresses only"
            ));
        }
        if self.token && !self.tls && !loopback {
            if !self.insecure_token {
                return unsafe_tcp(format!("--listen {addr}: --token-file without TLS would send the token in clear text over the network; add --tls-cert/--tls-key, listen on a loopback address, or say --insecure-token"));
            }
            return Ok(Some(format!(
                "--listen {addr} --insecure-token: the bearer token crosses the network in clear text"
            )));
        }
        Ok(None)
    }
}

/// The identity a call carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    Uid(u32),
    /// A Unix-socket call whose peer credentials could not be read.
    Unknown,
}

/// Who makes this call: the peer's uid on the Unix socket, the instance
/// owner over TCP (which only serves authenticated callers).
pub fn caller<T>(req: &Request<T>, owner: u32) -> Identity {
    let ext = req.extensions();
    let uds = ext.get::<UdsConnectInfo>().or_else(|| {
        ext.get::<crate::conn_limits::Conn<UdsConnectInfo>>()
            .map(|c| &c.inner)
    });
    match uds {
        Some(info) => match &info.peer_cred {
            Some(cred) => Identity::Uid(cred.uid()),
            None => Identity::Unknown,
        },
        None => Identity::Uid(owner),
    }
}

/// The DER of the client certificate a mutual-TLS TCP call presented
/// (its leaf), if any: what a lease opened over TCP is bound to.
pub fn peer_cert<T>(req: &Request<T>) -> Option<Vec<u8>> {
    use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
    let ext = req.extensions();
    let certs = ext
        .get::<TlsConnectInfo<crate::conn_limits::Conn<TcpConnectInfo>>>()
        .and_then(|i| i.peer_certs())
        .or_else(|| {
            ext.get::<TlsConnectInfo<TcpConnectInfo>>()
                .and_then(|i| i.peer_certs())
        })?;
    certs.first().map(|c| c.as_ref().to_vec())
}

/// Checks the `authorization: Bearer TOKEN` metadata of every TCP call.
#[derive(Clone)]
pub struct TokenCheck {
    token: std::sync::Arc<Vec<u8>>,
}

impl std::fmt::Debug for TokenCheck {
    // Never print the token itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCheck(..)")
    }
}

impl TokenCheck {
    /// Read the token from `path` (surrounding white space is not part of
    /// it). The file must not be readable by others.
    pub fn from_file(path: &Path) -> Result<TokenCheck, AuthError> {
        let unreadable = |source| AuthError::TokenUnreadable {
            path: path.to_owned(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(unreadable)?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(AuthError::TokenOpen {
                path: path.to_owned(),
                mode: meta.permissions().mode() & 0o777,
            });
        }
        let text = std::fs::read_to_string(path).map_err(unreadable)?;
        let token = text.trim();
        if token.len() < 16 {
            return Err(AuthError::TokenShort {
                path: path.to_owned(),
                len: token.len(),
            });
        }
        Ok(TokenCheck {
            token: std::sync::Arc::new(token.as_bytes().to_vec()),
        })
    }

    fn accepts(&self, header: &[u8]) -> bool {
        let Some(given) = header.strip_prefix(b"Bearer ") else {
            return false;
        };
        // Same time whatever the first differing byte.
        given.len() == self.token.len()
            && given
                .iter()
                .zip(self.token.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl Interceptor for TokenCheck {
    fn call(&mut self, req: Request<()>) -> Result<Request<()>, Status> {
        match req.metadata().get("authorization") {
            Some(v) if self.accepts(v.as_bytes()) => Ok(req),
            Some(_) => Err(Status::unauthenticated("bad token")),
            None => Err(Status::unauthenticated(
                "this instance wants a token: authorization: Bearer TOKEN",
            )),
        }
    }
}

/// This process's effective uid.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Parse an octal mode such as `600` or `0660`.
pub fn parse_mode(s: &str) -> Result<u32, AuthError> {
    u32::from_str_radix(s.trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| AuthError::BadMode(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(token: &str) -> TokenCheck {
        TokenCheck {
            token: std::sync::Arc::new(token.as_bytes().to_vec()),
        }
    }

    #[test]
    fn token_must_match_exactly() {
        let t = check("0123456789abcdef");
        assert!(t.accepts(b"Bearer 0123456789abcdef"));
        assert!(!t.accepts(b"Bearer 0123456789abcdeF"));
        assert!(!t.accepts(b"Bearer 0123456789abcde"));
        assert!(!t.accepts(b"0123456789abcdef"));
        assert!(!t.accepts(b""));
    }

    #[test]
    fn tcp_is_secured_or_loopback_and_tokens_are_not_sent_in_clear() {
        let any: std::net::SocketAddr = "0.0.0.0:50051".parse().unwrap();
        let lo: std::net::SocketAddr = "127.0.0.1:50051".parse().unwrap();
        let none = TcpSetup::default();
        assert_eq!(none.check(None).ok(), Some(None));
        assert!(none.check(Some(&lo)).is_err(), "plain TCP needs --insecure");
        let insecure = TcpSetup {
            insecure: true,
            ..none
        };
        assert_eq!(insecure.check(Some(&lo)).ok(), Some(None));
        assert!(insecure.check(Some(&any)).is_err());
        assert!(insecure.check(None).is_err(), "without --listen");
        let token = TcpSetup {
            token: true,
            ..none
        };
        assert_eq!(token.check(Some(&lo)).ok(), Some(None));
        let e = token.check(Some(&any)).unwrap_err().to_string();
        assert!(
            e.contains("clear text") && e.ends_with("--insecure-token"),
            "{e}"
        );
        let accepted = TcpSetup {
            insecure_token: true,
            ..token
        };
        assert!(accepted.check(Some(&any)).unwrap().is_some(), "a warning");
        let tls = TcpSetup { tls: true, ..token };
        assert_eq!(tls.check(Some(&any)).ok(), Some(None));
    }

    #[test]
    fn modes_are_octal() {
        assert_eq!(parse_mode("600").ok(), Some(0o600));
        assert_eq!(parse_mode("0666").ok(), Some(0o666));
        assert!(parse_mode("999").is_err());
        assert_eq!(
            parse_mode("rw").unwrap_err().to_string(),
            "--socket-mode: 'rw' is not an octal mode like 600"
        );
    }

    #[test]
    fn token_files_open_to_others_are_refused() {
        let dir = std::env::temp_dir().join(format!("quiver-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("token");
        std::fs::write(&f, "0123456789abcdef0123\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let open = TokenCheck::from_file(&f).unwrap_err().to_string();
        assert!(open.ends_with("(mode 644); chmod 600 it"), "{open}");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(TokenCheck::from_file(&f).is_ok());
        std::fs::write(&f, "short").unwrap();
        let short = TokenCheck::from_file(&f).unwrap_err().to_string();
        assert!(
            short.ends_with("the token is 5 characters; use at least 16"),
            "{short}"
        );
        let gone = TokenCheck::from_file(&dir.join("none")).unwrap_err();
        assert!(matches!(gone, AuthError::TokenUnreadable { .. }), "{gone}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
