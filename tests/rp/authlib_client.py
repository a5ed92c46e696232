"""Authlib as a relying party against hydra-edge, through the library's own API.

    HYDRA_EDGE_URL=http://127.0.0.1:8787 HYDRA_EDGE_ADMIN_TOKEN=... target/venv/bin/python tests/rp/authlib_client.py

The OpenID side is Authlib's framework-neutral client app (the OAuth2Mixin + OpenIDMixin its
Flask, Django and Starlette clients are made of) over its requests integration, OAuth2Session:
discovery validated with Authlib's metadata models, authorization URLs with PKCE S256, state and
nonce, the code exchange (state checked), ID tokens verified against the JWKS (signature, iss,
aud, nonce, exp, at_hash), userinfo and end-session URLs. Refresh, revocation, introspection,
client_credentials and the device grant go through OAuth2Session. The login, consent, device and
logout UIs are played through the admin API. Sections run independently; the exit status is
non-zero when one fails. Used by tests/rp.rs.
"""

import base64
import json
import os
import sys
import time
from urllib.parse import urljoin

import requests
from joserfc.jwk import ECKey
from authlib.integrations.base_client import BaseApp, FrameworkIntegration, OAuth2Mixin, OAuthError, OpenIDMixin
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2 import rfc9207
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oidc import rpinitiated
from authlib.oidc.discovery import OpenIDProviderMetadata

# The helpers every Python test script shares (tests/sdk/scriptenv.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk"))
from scriptenv import BASE, TOKEN, query, record, run_id, run_sections  # noqa: E402

RUN = run_id("al")
REDIRECT = "https://rp.example/cb"
POST_LOGOUT = "https://rp.example/logged-out"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SCOPE = "openid offline_access profile"

# ---------------------------------------------------------------------------------------------
# The admin side: clients, and the login & consent app's part of each flow.


def admin(op, method, path, body=None, expect=200):
    r = requests.request(method, f"{BASE}{path}", json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    record(op, r.status_code)
    assert r.status_code == expect, f"{op}: {r.status_code} {r.text}"
    return r.json()


def register(name, **extra):
    """Register a client through the admin API; answers it with its secret."""
    body = {
        "client_id": f"{RUN}-{name}",
        "client_name": f"Authlib {name}",
        "redirect_uris": [REDIRECT],
        "post_logout_redirect_uris": [POST_LOGOUT],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": SCOPE,
        **extra,
    }
    return admin("POST /admin/clients", "POST", "/admin/clients", body, expect=201)


class Browser:
    """The user agent: keeps cookies, does not follow redirects."""

    def __init__(self):
        self.http = requests.Session()

    def redirect(self, url, status=302):
        r = self.http.get(url, allow_redirects=False, timeout=30)
        location = r.headers.get("location")
        assert r.status_code == status, f"GET {url}: expected {status}, got {r.status_code} (Location: {location})"
        assert location, f"GET {url}: no Location"
        return urljoin(url, location)


def login_and_consent(browser, url, subject):
    """Accept the login and consent legs for `subject`; answers the consent leg's next URL."""
    login = query(browser.redirect(url), "login_challenge")
    assert login, f"no login_challenge after {url}"
    accepted = admin("PUT login/accept", "PUT", f"/admin/oauth2/auth/requests/login/accept?login_challenge={login}",
                     {"subject": subject, "remember": True, "remember_for": 3600})
    consent = query(browser.redirect(accepted["redirect_to"]), "consent_challenge")
    assert consent, "no consent_challenge"
    request = admin("GET consent", "GET", f"/admin/oauth2/auth/requests/consent?consent_challenge={consent}")
    granted = admin("PUT consent/accept", "PUT", f"/admin/oauth2/auth/requests/consent/accept?consent_challenge={consent}",
                    {"grant_scope": request["requested_scope"],
                     "session": {"id_token": {"name": "Ada Lovelace", "preferred_username": subject}}})
    return granted["redirect_to"]


class AdminBearer(requests.auth.AuthBase):
    """The admin token, for the introspection route (admin-authenticated here, as Hydra's admin
    API is network-protected); handed to OAuth2Session.introspect_token as its `auth`."""

    def __call__(self, r):
        r.headers["Authorization"] = f"Bearer {TOKEN}"
        return r


# ---------------------------------------------------------------------------------------------
# The relying party's side, through Authlib.


class RelyingParty(OAuth2Mixin, OpenIDMixin, BaseApp):
    """Authlib's client app without a web framework, over requests (OAuth2Session)."""

    client_cls = OAuth2Session


def relying_party(client, method):
    return RelyingParty(
        FrameworkIntegration(client["client_id"]),
        name=client["client_id"],
        client_id=client["client_id"],
        client_secret=client.get("client_secret"),
        server_metadata_url=f"{BASE}/.well-known/openid-configuration",
        client_kwargs={
            "scope": SCOPE,
            "code_challenge_method": "S256",  # Authlib then makes a verifier for every request
            "token_endpoint_auth_method": method,
            "revocation_endpoint_auth_method": method,
            "default_timeout": 30,
        },
    )


def session(client, method, **kwargs):
    """A bare OAuth2Session for a registered client."""
    return OAuth2Session(
        client["client_id"], client.get("client_secret"), token_endpoint_auth_method=method,
        revocation_endpoint_auth_method=method, default_timeout=30, **kwargs,
    )


def sign_in(rp, subject, browser=None):
    """Authorization URL from Authlib (state, nonce, PKCE), login and consent, and the callback."""
    browser = browser or Browser()
    auth = rp.create_authorization_url(redirect_uri=REDIRECT)
    for name in ("state", "nonce", "code_challenge"):
        assert query(auth["url"], name), f"{name} in {auth['url']}"
    assert query(auth["url"], "code_challenge_method") == "S256", auth["url"]
    callback = browser.redirect(login_and_consent(browser, auth["url"], subject), 303)
    assert callback.startswith(REDIRECT + "?"), callback
    return auth, callback, browser


def exchange(rp, auth, callback, **kwargs):
    """The code exchange: Authlib parses the callback (checking state) and redeems the code."""
    params = {"redirect_uri": REDIRECT, "authorization_response": callback, "state": auth["state"],
              "code_verifier": auth["code_verifier"]}
    params.update(kwargs)
    return rp.fetch_access_token(**params)


def id_token_claims(rp, token, nonce, client_id):
    """Authlib's ID-token validation: signature with the JWKS key (algorithms limited to the
    advertised ones), then iss, aud, exp/iat, nonce, azp and at_hash."""
    options = {"iss": {"essential": True, "value": BASE}, "aud": {"essential": True, "value": client_id}}
    return rp.parse_id_token(token, nonce=nonce, claims_options=options)


def oauth_error(fn, *args, **kwargs):
    """The OAuth error Authlib raises for a call that must fail."""
    try:
        fn(*args, **kwargs)
    except OAuthError as e:
        return e
    raise AssertionError(f"{getattr(fn, '__name__', fn)}: expected an OAuth error")


def introspect(s, token):
    r = s.introspect_token(f"{BASE}/admin/oauth2/introspect", token=token, auth=AdminBearer())
    record("OAuth2Session.introspect_token", r.status_code)
    assert r.status_code == 200, r.text
    return r.json()


def header_of(jwt):
    return json.loads(base64.urlsafe_b64decode(jwt.split(".")[0] + "=="))


# ---------------------------------------------------------------------------------------------

SUBJECT = f"al-user-{RUN}"
state = {}  # what later sections reuse from earlier ones


def discovery():
    client = register("disco")
    rp = relying_party(client, "client_secret_basic")
    meta = rp.load_server_metadata()
    record("load_server_metadata", 200)
    # RFC 8414 §3.3 / OIDC Discovery §4.3: the issuer must be the one the RP asked.
    assert meta["issuer"] == BASE, meta["issuer"]
    # Authlib's models check every field they know (RFC 8414, OIDC Discovery, RFC 9207, logout).
    OpenIDProviderMetadata(meta).validate(
        metadata_classes=[rfc9207.AuthorizationServerMetadata, rpinitiated.OpenIDProviderMetadata]
    )
    assert meta["authorization_response_iss_parameter_supported"] is True
    jwks = rp.fetch_jwk_set()
    record("fetch_jwk_set", 200)
    assert any(k.get("kty") == "EC" and k.get("crv") == "P-256" for k in jwks["keys"]), jwks
    for key in jwks["keys"]:
        assert "d" not in key, "the JWKS is public"


def code_flow_basic():
    client = register("basic")
    rp = relying_party(client, "client_secret_basic")
    auth, callback, browser = sign_in(rp, SUBJECT)
    # RFC 9207: the server advertised `iss`; Authlib does not check it, so the test does.
    assert query(callback, "iss") == BASE, callback
    token = exchange(rp, auth, callback)
    record("fetch_access_token", 200)
    assert token["token_type"] == "bearer" and token.get("refresh_token"), token
    claims = id_token_claims(rp, token, auth["nonce"], client["client_id"])
    record("parse_id_token", 200)
    assert claims["sub"] == SUBJECT and claims["nonce"] == auth["nonce"], claims
    assert header_of(token["id_token"])["alg"] == "ES256"
    assert "at_hash" in claims, "at_hash present, so Authlib checked it against the access token"

    # at_hash is checked: the same ID token with another access token fails validation.
    forged = dict(token, access_token=token["access_token"] + "x")
    try:
        id_token_claims(rp, forged, auth["nonce"], client["client_id"])
        raise AssertionError("a mismatching at_hash must fail")
    except Exception as e:  # joserfc's InvalidClaimError
        assert "at_hash" in str(e), repr(e)
    # A nonce that is not the request's fails too.
    try:
        id_token_claims(rp, token, "another-nonce", client["client_id"])
        raise AssertionError("a mismatching nonce must fail")
    except Exception as e:
        assert "nonce" in str(e), repr(e)

    info = rp.userinfo(token=token)
    record("userinfo", 200)
    # OIDC Core §5.3.4: the RP must compare sub with the ID token's (Authlib leaves it to the app).
    assert info["sub"] == claims["sub"] and info["name"] == "Ada Lovelace", info

    # The same code again is invalid_grant.
    replay = oauth_error(exchange, rp, auth, callback)
    record("fetch_access_token (replayed code)", 400)
    assert replay.error == "invalid_grant", (replay.error, replay.description)
    state["basic"] = (client, rp, browser)


def refresh_revoke_introspect():
    client, rp, browser = state["basic"]
    auth, callback, _ = sign_in(rp, SUBJECT, browser)  # the login is remembered
    token = exchange(rp, auth, callback)
    s = session(client, "client_secret_basic", scope=SCOPE, token=token)
    info = introspect(s, token["access_token"])
    assert info["active"] is True and info["client_id"] == client["client_id"] and info["sub"] == SUBJECT, info

    meta = rp.load_server_metadata()
    refreshed = dict(s.refresh_token(meta["token_endpoint"]))  # sends scope, as Authlib does by default
    record("OAuth2Session.refresh_token", 200)
    assert refreshed["refresh_token"] != token["refresh_token"], "rotated"
    claims = id_token_claims(rp, refreshed, None, client["client_id"])
    assert claims["sub"] == SUBJECT

    old = oauth_error(s.refresh_token, meta["token_endpoint"], refresh_token=token["refresh_token"])
    record("OAuth2Session.refresh_token (rotated out)", 400)
    assert old.error == "invalid_grant", (old.error, old.description)
    assert introspect(s, refreshed["refresh_token"])["active"] is False, "reuse revokes the chain"

    # RFC 7009 through Authlib on a fresh grant: the whole grant ends, as in Hydra.
    auth, callback, _ = sign_in(rp, SUBJECT, browser)
    token = exchange(rp, auth, callback)
    state["id_token"] = token["id_token"]
    r = s.revoke_token(meta["revocation_endpoint"], token=token["access_token"], token_type_hint="access_token")
    record("OAuth2Session.revoke_token", r.status_code)
    assert r.status_code == 200, r.text
    assert introspect(s, token["access_token"])["active"] is False
    assert introspect(s, token["refresh_token"])["active"] is False
    gone = oauth_error(s.refresh_token, meta["token_endpoint"], refresh_token=token["refresh_token"])
    assert gone.error == "invalid_grant", (gone.error, gone.description)


def code_flow_post():
    client = register("post", token_endpoint_auth_method="client_secret_post")
    rp = relying_party(client, "client_secret_post")
    auth, callback, _ = sign_in(rp, f"al-post-{RUN}")
    token = exchange(rp, auth, callback)
    assert id_token_claims(rp, token, auth["nonce"], client["client_id"])["sub"] == f"al-post-{RUN}"
    s = session(client, "client_secret_post", token=token)
    meta = rp.load_server_metadata()
    refreshed = dict(s.refresh_token(meta["token_endpoint"]))
    r = s.revoke_token(meta["revocation_endpoint"], token=refreshed["refresh_token"], token_type_hint="refresh_token")
    record("OAuth2Session.revoke_token (client_secret_post)", r.status_code)
    assert r.status_code == 200, r.text
    gone = oauth_error(s.refresh_token, meta["token_endpoint"], refresh_token=refreshed["refresh_token"])
    assert gone.error == "invalid_grant", (gone.error, gone.description)


def public_client():
    client = register("public", token_endpoint_auth_method="none")
    assert not client.get("client_secret"), client
    rp = relying_party(client, "none")
    auth, callback, browser = sign_in(rp, f"al-public-{RUN}")
    token = exchange(rp, auth, callback)
    assert id_token_claims(rp, token, auth["nonce"], client["client_id"])["sub"] == f"al-public-{RUN}"
    # A second authorization redeemed with a verifier that is not its challenge's.
    auth, callback, _ = sign_in(rp, f"al-public-{RUN}", browser)
    wrong = oauth_error(exchange, rp, auth, callback, code_verifier="x" * 64)
    record("fetch_access_token (wrong verifier)", 400)
    assert wrong.error == "invalid_grant", (wrong.error, wrong.description)


def client_credentials():
    client = register("cc", grant_types=["client_credentials"], response_types=[], redirect_uris=[],
                      post_logout_redirect_uris=[], scope="api.read api.write")
    token_endpoint = f"{BASE}/oauth2/token"
    s = session(client, "client_secret_basic", scope="api.read")
    token = s.fetch_token(token_endpoint, grant_type="client_credentials")
    record("OAuth2Session.fetch_token (client_credentials)", 200)
    assert token["scope"] == "api.read" and "refresh_token" not in token and "id_token" not in token, token
    info = introspect(s, token["access_token"])
    assert info["active"] is True and info["client_id"] == client["client_id"], info

    # A wrong secret, in both methods: invalid_client.
    for method in ("client_secret_basic", "client_secret_post"):
        c = register(f"wrong-{method}", token_endpoint_auth_method=method, grant_types=["client_credentials"],
                     response_types=[], scope="api.read")
        bad = OAuth2Session(c["client_id"], "not-the-secret", token_endpoint_auth_method=method, default_timeout=30)
        err = oauth_error(bad.fetch_token, token_endpoint, grant_type="client_credentials")
        record(f"OAuth2Session.fetch_token (wrong secret, {method})", 401)
        assert err.error == "invalid_client", (method, err.error, err.description)


def private_key_jwt():
    """private_key_jwt (RFC 7523 §2.2) through Authlib's PrivateKeyJWT with an ES256 key."""
    key = ECKey.generate_key("P-256", parameters={"kid": f"al-key-{RUN}", "alg": "ES256", "use": "sig"}, private=True)
    client = register("pkjwt", token_endpoint_auth_method="private_key_jwt", token_endpoint_auth_signing_alg="ES256",
                      jwks={"keys": [key.as_dict(private=False)]}, grant_types=["client_credentials"],
                      response_types=[], scope="api.read")
    token_endpoint = f"{BASE}/oauth2/token"
    s = OAuth2Session(client["client_id"], key, token_endpoint_auth_method="private_key_jwt", scope="api.read",
                      default_timeout=30)
    # Authlib's assertion: aud = the token endpoint, exp an hour ahead, a fresh jti, kid in the header.
    s.register_client_auth_method(PrivateKeyJWT(token_endpoint, alg="ES256", headers={"kid": key.kid}))
    token = s.fetch_token(token_endpoint, grant_type="client_credentials")
    record("OAuth2Session.fetch_token (private_key_jwt)", 200)
    assert token["scope"] == "api.read", token


def basic_with_reserved_characters():
    """RFC 6749 §2.3.1: client_secret_basic sends form-encoded id and secret. Authlib puts them in
    the header unencoded, so the server (like Hydra's fosite) form-decodes what Authlib never
    encoded: here '%wi' is no escape at all (400 invalid_request, as fosite answers), and a '+'
    alone would become a space (401 invalid_client). Authlib's disagreement, recorded here; the
    same secret works with client_secret_post, which Authlib form-encodes, and with openid-client's
    client_secret_basic, which encodes as the RFC says."""
    secret = "pass+word%with:colon/and space"
    token_endpoint = f"{BASE}/oauth2/token"
    basic = register("reserved-basic", client_secret=secret, grant_types=["client_credentials"], response_types=[],
                     scope="api.read")
    s = OAuth2Session(basic["client_id"], secret, token_endpoint_auth_method="client_secret_basic", default_timeout=30)
    err = oauth_error(s.fetch_token, token_endpoint, grant_type="client_credentials")
    record("OAuth2Session.fetch_token (basic, reserved characters)", 400)
    assert err.error == "invalid_request" and "could not be decoded" in err.description, (err.error, err.description)
    post = register("reserved-post", client_secret=secret, token_endpoint_auth_method="client_secret_post",
                    grant_types=["client_credentials"], response_types=[], scope="api.read")
    s = OAuth2Session(post["client_id"], secret, token_endpoint_auth_method="client_secret_post", default_timeout=30)
    assert s.fetch_token(token_endpoint, grant_type="client_credentials")["access_token"]


def device_grant():
    client = register("device", grant_types=[DEVICE_GRANT, "refresh_token"], response_types=[], redirect_uris=[],
                      post_logout_redirect_uris=[], scope="openid offline_access")
    rp = relying_party(client, "client_secret_basic")
    meta = rp.load_server_metadata()
    s = session(client, "client_secret_basic")
    # Authlib has no client-side RFC 8628 helper: the device request goes through the session with
    # Authlib's client authentication, the polling through its generic fetch_token.
    r = s.post(meta["device_authorization_endpoint"], data={"client_id": client["client_id"], "scope": "openid offline_access"},
               auth=s.client_auth(s.token_endpoint_auth_method), withhold_token=True)
    record("device authorization (OAuth2Session.post)", r.status_code)
    assert r.status_code == 200, r.text
    device = r.json()

    pending = oauth_error(s.fetch_token, meta["token_endpoint"], grant_type=DEVICE_GRANT, device_code=device["device_code"])
    record("OAuth2Session.fetch_token (device, pending)", 400)
    assert pending.error == "authorization_pending", (pending.error, pending.description)

    browser = Browser()
    ui = browser.redirect(device["verification_uri_complete"])
    challenge = query(ui, "device_challenge")
    assert challenge, ui
    accepted = admin("PUT device/accept", "PUT", f"/admin/oauth2/auth/requests/device/accept?device_challenge={challenge}",
                     {"user_code": device["user_code"]})
    done = browser.redirect(login_and_consent(browser, accepted["redirect_to"], f"al-device-{RUN}"))
    assert done.startswith(f"{BASE}/oauth2/fallbacks/device/done"), done

    time.sleep(device.get("interval", 5))  # RFC 8628 §3.5: no faster than the interval
    token = s.fetch_token(meta["token_endpoint"], grant_type=DEVICE_GRANT, device_code=device["device_code"])
    record("OAuth2Session.fetch_token (device)", 200)
    claims = id_token_claims(rp, token, None, client["client_id"])
    assert claims["sub"] == f"al-device-{RUN}", claims
    assert token.get("refresh_token"), token


def logout():
    client, rp, browser = state["basic"]
    end = rp.create_logout_url(post_logout_redirect_uri=POST_LOGOUT, id_token_hint=state["id_token"])
    record("create_logout_url", 0)
    ui = browser.redirect(end["url"])
    challenge = query(ui, "logout_challenge")
    assert challenge, f"expected the logout UI, got {ui}"
    request = admin("GET logout", "GET", f"/admin/oauth2/auth/requests/logout?logout_challenge={challenge}")
    assert request["rp_initiated"] is True and request["subject"] == SUBJECT, request
    assert request["client"]["client_id"] == client["client_id"], request
    accepted = admin("PUT logout/accept", "PUT", f"/admin/oauth2/auth/requests/logout/accept?logout_challenge={challenge}")
    back = browser.redirect(accepted["redirect_to"])
    assert back.startswith(POST_LOGOUT + "?"), back
    assert query(back, "state") == end["state"], (back, end["state"])


sections = [
    ("discovery and JWKS (Authlib's metadata validation)", discovery),
    ("code flow + PKCE, client_secret_basic: ID token, userinfo, code replay", code_flow_basic),
    ("refresh (rotation, reuse refused), revocation, introspection", refresh_revoke_introspect),
    ("code flow + PKCE, client_secret_post: refresh, refresh-token revocation", code_flow_post),
    ("public client (none) + PKCE S256, wrong verifier", public_client),
    ("client_credentials and wrong secrets", client_credentials),
    ("private_key_jwt (ES256)", private_key_jwt),
    ("client_secret_basic with reserved characters (Authlib does not form-encode)", basic_with_reserved_characters),
    ("device authorization grant (RFC 8628)", device_grant),
    ("RP-initiated logout (create_logout_url)", logout),
]
run_sections("Authlib", sections)
