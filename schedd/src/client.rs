//! Reaching a schedd over its Unix socket: the transport tonic's
//! `Endpoint` lacks, shared by schedctl, the tests and the benches.
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint, Uri};

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
        .connect_timeout(Duration::from_secs(10))
        .connect_with_connector(UnixConnector(path.to_owned()))
        .await
}
