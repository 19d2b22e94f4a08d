//! The HTTP/1.1 keep-alive server both clients call: one thread of its own,
//! answering every session GET with the same canonical body.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The path prefix of `getSession`; anything else is a 404, so a client that
/// builds the wrong URL fails loudly instead of measuring an error path.
pub const SESSIONS: &str = "/organization-manager/v1/idp/synchronization-sessions/";

const NOT_FOUND: &str = r#"{"code":5,"message":"no such route in the bench server"}"#;

/// A running server; dropping it stops the thread.
pub struct Server {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    body: Bytes,
    capture: AtomicBool,
    captured: Mutex<Option<Vec<(String, String)>>>,
}

impl Server {
    pub fn start(body: Bytes) -> Server {
        let shared = Arc::new(Shared {
            body,
            capture: AtomicBool::new(false),
            captured: Mutex::new(None),
        });
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("bench-server".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("server runtime");
                runtime.block_on(serve(thread_shared, addr_tx, stop_rx));
            })
            .expect("server thread");
        let addr = addr_rx
            .recv()
            .expect("the server thread reports its address");
        Server {
            addr,
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// The headers of the next request, names lowercased, sorted.
    pub fn capture_next(&self) {
        *self.shared.captured.lock().expect("capture lock") = None;
        self.shared.capture.store(true, Ordering::SeqCst);
    }

    pub fn captured(&self) -> Option<Vec<(String, String)>> {
        self.shared.captured.lock().expect("capture lock").take()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    shared: Arc<Shared>,
    addr_tx: std::sync::mpsc::Sender<SocketAddr>,
    mut stop: oneshot::Receiver<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    addr_tx.send(addr).expect("report the address");
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let response = respond(&shared, &request);
                async move { Ok::<_, Infallible>(response) }
            });
            // A client closing its pooled connection at the end is not an error.
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn respond<B>(shared: &Shared, request: &Request<B>) -> Response<Full<Bytes>> {
    if shared.capture.swap(false, Ordering::SeqCst) {
        let mut headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_string(), value)
            })
            .collect();
        headers.sort();
        *shared.captured.lock().expect("capture lock") = Some(headers);
    }
    let (status, body) = if request.uri().path().starts_with(SESSIONS) {
        (StatusCode::OK, shared.body.clone())
    } else {
        (
            StatusCode::NOT_FOUND,
            Bytes::from_static(NOT_FOUND.as_bytes()),
        )
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
