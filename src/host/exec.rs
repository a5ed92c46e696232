//! A minimal executor for the host platform's futures. Nothing on the host waits for I/O, so a
//! future is polled until it completes; a future that stays pending without a platform call to
//! yield at would be a bug in a test, and panics instead of hanging.

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};

/// Polls before a future that keeps answering `Pending` is declared stuck.
const STALL_LIMIT: usize = 1_000_000;

/// Run a future to completion on this thread.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..STALL_LIMIT {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("a future on the host platform never completed");
}

/// Run futures side by side, polling each in turn: with [`super::World::set_interleave`] on,
/// every platform call is a point where another request runs, as concurrent requests in two
/// locations would. `start` rotates which future is polled first. Outputs come back in order.
pub fn run_concurrently<T>(futs: Vec<Pin<Box<dyn Future<Output = T> + '_>>>, start: usize) -> Vec<T> {
    let n = futs.len();
    let mut futs: Vec<Option<Pin<Box<dyn Future<Output = T> + '_>>>> = futs.into_iter().map(Some).collect();
    let mut out: Vec<Option<T>> = (0..n).map(|_| None).collect();
    let mut cx = Context::from_waker(Waker::noop());
    let mut remaining = n;
    for _ in 0..STALL_LIMIT {
        if remaining == 0 {
            break;
        }
        for k in 0..n {
            let i = (k + start) % n.max(1);
            if let Some(f) = futs[i].as_mut() {
                if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                    out[i] = Some(v);
                    futs[i] = None;
                    remaining -= 1;
                }
            }
        }
    }
    assert_eq!(remaining, 0, "futures on the host platform never completed");
    out.into_iter().map(|v| v.expect("completed")).collect()
}

/// Pending once, then ready: a point where another future gets its turn.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(move |_| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            Poll::Pending
        }
    })
    .await
}
