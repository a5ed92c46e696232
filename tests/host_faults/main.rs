//! Fault injection: every request of a flow, with each of its storage, crypto, outbound HTTP and
//! rate-limit calls failing in turn, as an error (nothing happened) and as a timeout (the write
//! landed, the answer was lost), with warm and with cold caches. For every case the walk
//! asserts:
//!
//! * the answer is clean: 503 `temporarily_unavailable` for a failed store (500 `server_error`
//!   allowed for crypto and outbound calls), as JSON or redirected to the client or the error
//!   page, or a success when the failed call was best effort (a cache, a rate-limit count, a
//!   back-channel notification). Never a panic, never another status;
//! * nothing is half-written: no token without its grant, no code, consent or device grant
//!   without its marker, no redeemed code or device code without its tokens, no login marker
//!   without its session and no logout marker with it, no half-done rotation (two live refresh
//!   tokens of a grant, or one without its access token), no tokens left of a revoked chain;
//! * a retry behaves as if the failed request never happened, or, when its single-use write did
//!   commit, is refused as a replay (revoking the chain for a code, a refresh token or a device
//!   code), and nothing afterwards can use what was refused;
//! * after every success, what the step promises holds (tokens stored, a rotation complete, a
//!   chain revoked, a session ended and its relying party told once).
//!
//! The walker (`walker.rs`) is generic: a flow is a list of steps, one module per flow.

#[path = "../host_support/mod.rs"]
mod host_support;

mod code_flow;
mod device;
mod logout;
mod tokens;
mod walker;

use host_support::Host;
use hydra_edge::host::CallKind;
use walker::{no_setup, Walk};

fn code_flow_secret_basic() -> Walk {
    Walk {
        name: "code flow, client_secret_basic",
        client: code_flow::secret_basic_client,
        setup: no_setup,
        steps: code_flow::steps(),
    }
}

fn code_flow_private_key_jwt() -> Walk {
    Walk {
        name: "code flow, private_key_jwt",
        client: code_flow::private_key_jwt_client,
        setup: no_setup,
        steps: code_flow::steps(),
    }
}

fn refresh() -> Walk {
    Walk {
        name: "refresh: rotation and reuse",
        client: code_flow::secret_basic_client,
        setup: code_flow::to_tokens,
        steps: tokens::refresh(),
    }
}

fn revocation() -> Walk {
    Walk {
        name: "revocation and introspection",
        client: code_flow::secret_basic_client,
        setup: code_flow::to_tokens,
        steps: tokens::revocation(),
    }
}

fn jwt_revocation() -> Walk {
    Walk {
        name: "revocation of JWT access tokens",
        client: code_flow::secret_basic_client,
        setup: code_flow::to_tokens,
        steps: tokens::jwt_revocation(),
    }
}

fn logout() -> Walk {
    Walk { name: "RP-initiated logout", client: logout::client, setup: logout::setup, steps: logout::steps() }
}

fn device() -> Walk {
    Walk { name: "device flow", client: device::client, setup: no_setup, steps: device::steps() }
}

/// Walk one flow on a deployment of its own; fail with every failing case.
fn run(host: Host, walk: Walk) {
    let (failures, report) = walker::walk(&host, &walk);
    eprintln!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{} failing cases:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn code_flow_with_client_secret_basic() {
    run(Host::new(), code_flow_secret_basic());
}

#[test]
fn code_flow_with_private_key_jwt() {
    run(Host::new(), code_flow_private_key_jwt());
}

#[test]
fn refresh_rotation_and_reuse() {
    run(Host::new(), refresh());
}

#[test]
fn revocation_introspection_and_userinfo() {
    run(Host::new(), revocation());
}

#[test]
fn revocation_of_jwt_access_tokens() {
    run(Host::with(&[("STRATEGIES_ACCESS_TOKEN", "jwt")]), jwt_revocation());
}

#[test]
fn rp_initiated_logout_with_front_and_back_channel() {
    run(Host::new(), logout());
}

#[test]
fn device_flow() {
    run(Host::new(), device());
}

/// The walks reach every kind of call the handlers make, so no category is silently left out
/// (generating a key pair is an admin action, walked nowhere).
#[test]
fn the_walks_reach_every_kind_of_call() {
    // Each on a thread of its own: a deployment's isolate memory is its thread's.
    let reached = |host: fn() -> Host, walk: fn() -> Walk| {
        std::thread::spawn(move || walker::kinds_reached(&host(), &walk())).join().expect("the walk ran")
    };
    let mut kinds = Vec::new();
    for walk in [code_flow_private_key_jwt, refresh, revocation, logout, device] {
        kinds.extend(reached(Host::new, walk));
    }
    kinds.extend(reached(|| Host::with(&[("STRATEGIES_ACCESS_TOKEN", "jwt")]), jwt_revocation));
    for k in [
        CallKind::Sql,
        CallKind::SqlBatch,
        CallKind::KvGet,
        CallKind::KvPut,
        CallKind::Sign,
        CallKind::Verify,
        CallKind::Pbkdf2,
        CallKind::HttpPost,
        CallKind::RateLimit,
    ] {
        assert!(kinds.contains(&k), "{k:?} never called by the walks");
    }
}
