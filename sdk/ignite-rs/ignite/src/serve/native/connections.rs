//! Tracks the open connections so that shutdown can close them gracefully and wait for them.
//!
//! Each connection gets a oneshot channel of its own to be told to close: polling a oneshot
//! receiver is a cheap atomic check, unlike a shared `watch`/`Notify` (hyper-util's
//! `GracefulShutdown`), whose waiter list is a mutex every connection would take on every poll.

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{oneshot, Notify};

/// A connection future that can be asked to finish its in-flight request and then close.
pub(super) trait GracefulConnection: Future {
    /// Starts the graceful close.
    fn graceful_shutdown(self: std::pin::Pin<&mut Self>);
}

impl<I, S, B> GracefulConnection for hyper::server::conn::http1::Connection<I, S>
where
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = B>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + 'static,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn graceful_shutdown(self: std::pin::Pin<&mut Self>) {
        hyper::server::conn::http1::Connection::graceful_shutdown(self);
    }
}

/// The open connections.
pub(super) struct Connections {
    registry: Mutex<Registry>,
    /// How many connections are open.
    open: AtomicUsize,
    /// Notified when the last open connection closes.
    none_open: Notify,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    shutdown_senders: HashMap<u64, oneshot::Sender<()>>,
}

impl Connections {
    pub(super) fn new() -> Connections {
        Connections {
            registry: Mutex::new(Registry::default()),
            open: AtomicUsize::new(0),
            none_open: Notify::new(),
        }
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Wraps a connection: it runs until it ends by itself or, after [`Connections::close_all`],
    /// until its in-flight request is answered.
    pub(super) fn track<C>(
        self: &Arc<Self>,
        connection: C,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        C: GracefulConnection + Send + 'static,
        C::Output: Send,
    {
        let (sender, mut shutdown) = oneshot::channel();
        self.open.fetch_add(1, Ordering::SeqCst);
        let id = {
            let mut registry = self.registry();
            let id = registry.next_id;
            registry.next_id += 1;
            registry.shutdown_senders.insert(id, sender);
            id
        };
        let connections = self.clone();
        async move {
            let mut connection = pin!(connection);
            tokio::select! {
                biased;
                _ = connection.as_mut() => {}
                _ = &mut shutdown => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            connections.registry().shutdown_senders.remove(&id);
            if connections.open.fetch_sub(1, Ordering::SeqCst) == 1 {
                connections.none_open.notify_one();
            }
        }
    }

    /// Asks every connection to close once its in-flight request is answered (idle ones close
    /// at once), then waits until none is open.
    pub(super) async fn close_all(&self) {
        let senders: Vec<_> = self
            .registry()
            .shutdown_senders
            .drain()
            .map(|(_, sender)| sender)
            .collect();
        for sender in senders {
            let _ = sender.send(());
        }
        // `notify_one` keeps a permit when nobody waits, so no wake-up is lost between the
        // check and the wait (a stale permit only makes the loop check again).
        while self.open.load(Ordering::SeqCst) > 0 {
            self.none_open.notified().await;
        }
    }
}
