//! Where a feature's tasks send their events. A feature knows only its own
//! event type; the app gives it a sink that wraps each event into the one
//! channel's type, so features never name the app's event enum.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::BoxFut;

type SendFn<E> = dyn Fn(E) -> BoxFut<'static, bool> + Send + Sync;

pub struct Sink<E> {
    send: Arc<SendFn<E>>,
}

impl<E> Clone for Sink<E> {
    fn clone(&self) -> Self {
        Sink {
            send: self.send.clone(),
        }
    }
}

impl<E: Send + 'static> Sink<E> {
    /// Events go into `tx`, each wrapped by `wrap`.
    pub fn new<O: Send + 'static>(tx: mpsc::Sender<O>, wrap: fn(E) -> O) -> Sink<E> {
        Sink {
            send: Arc::new(move |e| {
                let tx = tx.clone();
                Box::pin(async move { tx.send(wrap(e)).await.is_ok() })
            }),
        }
    }

    /// Events go into `tx` as they are (tests, headless modes).
    pub fn direct(tx: mpsc::Sender<E>) -> Sink<E> {
        Sink::new(tx, |e| e)
    }

    /// Sends one event; false when nobody listens any more (the task
    /// should end).
    pub async fn send(&self, e: E) -> bool {
        (self.send)(e).await
    }
}
