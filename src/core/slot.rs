//! One task slot: starting new tasks aborts the old ones (the newest
//! request wins; their late answers are dropped by generation), and so
//! does dropping the slot.

use tokio::task::JoinHandle;

#[derive(Default)]
pub struct Slot(Vec<JoinHandle<()>>);

impl Slot {
    /// Aborts what runs and keeps `handles` instead.
    pub fn replace(&mut self, handles: Vec<JoinHandle<()>>) {
        self.stop();
        self.0 = handles;
    }

    /// Adds a task beside those running (on-demand asks), forgetting the
    /// finished ones.
    pub fn push(&mut self, handle: JoinHandle<()>) {
        self.0.retain(|h| !h.is_finished());
        self.0.push(handle);
    }

    pub fn stop(&mut self) {
        for h in self.0.drain(..) {
            h.abort();
        }
    }

    /// Tasks still running.
    pub fn running(&self) -> usize {
        self.0.iter().filter(|h| !h.is_finished()).count()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::Slot;

    #[tokio::test]
    async fn dropping_a_slot_aborts_its_tasks() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let h = tokio::spawn(async move {
            let _keep = tx;
            std::future::pending::<()>().await;
        });
        let mut slot = Slot::default();
        slot.replace(vec![h]);
        assert_eq!(slot.running(), 1);
        drop(slot);
        // the task was aborted: its sender is dropped, so the receiver ends
        assert!(rx.await.is_err());
    }
}
