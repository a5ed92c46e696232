"""Ory's Python SDK of Hydra v2.x (ory-hydra-client 2.2.0 from PyPI, the last 2.x release) run
unchanged against hydra-edge's v2 admin API (`/admin/...`).

    HYDRA_EDGE_URL=http://127.0.0.1:8787 HYDRA_EDGE_ADMIN_TOKEN=... target/venv-v2/bin/python tests/sdk/hydra_client_v2.py

Like the v1.x SDK (tests/sdk/hydra_client_v1.py) this generation checks the type of every member
of every response against its OpenAPI document (Hydra v2.2's): a `null` where the document says
"array" or "object" fails the call. The current SDK (tests/sdk/hydra_client.py) is a different
generator and far more lenient. The browser's part and the PKCE code exchange use urllib.
Sections run independently; the exit status is non-zero when one fails. Used by tests/sdk.rs.
"""

import datetime

import ory_hydra_client as hydra
from ory_hydra_client.api.jwk_api import JwkApi
from ory_hydra_client.api.metadata_api import MetadataApi
from ory_hydra_client.api.o_auth2_api import OAuth2Api
from ory_hydra_client.api.oidc_api import OidcApi
from ory_hydra_client.api.wellknown_api import WellknownApi
from ory_hydra_client.model.accept_o_auth2_consent_request import AcceptOAuth2ConsentRequest
from ory_hydra_client.model.accept_o_auth2_consent_request_session import AcceptOAuth2ConsentRequestSession
from ory_hydra_client.model.accept_o_auth2_login_request import AcceptOAuth2LoginRequest
from ory_hydra_client.model.create_json_web_key_set import CreateJsonWebKeySet
from ory_hydra_client.model.json_patch import JsonPatch
from ory_hydra_client.model.json_patch_document import JsonPatchDocument
from ory_hydra_client.model.json_web_key import JsonWebKey
from ory_hydra_client.model.o_auth2_client import OAuth2Client
from ory_hydra_client.model.reject_o_auth2_request import RejectOAuth2Request
from ory_hydra_client.model.string_slice_json_format import StringSliceJSONFormat as Strings
from ory_hydra_client.model.trust_o_auth2_jwt_grant_issuer import TrustOAuth2JwtGrantIssuer

from scriptenv import BASE, TOKEN, query, run_id, run_sections
from strict_sdk import REDIRECT, SECRET, browser, exchange, pkce, sdk, sdk_error, start, visit

RUN = run_id("py2")
USER = f"{RUN}-ada"

# The admin token goes in as a default header: the document has no security scheme for it.
admin_client = hydra.ApiClient(hydra.Configuration(host=BASE), "Authorization", f"Bearer {TOKEN}")
admin, jwk = OAuth2Api(admin_client), JwkApi(admin_client)
public_client = hydra.ApiClient(hydra.Configuration(host=BASE))
oidc, wellknown = OidcApi(public_client), WellknownApi(public_client)


def client_api(cid):
    """The OAuth 2.0 API as a client authenticating with client_secret_basic."""
    return OAuth2Api(hydra.ApiClient(hydra.Configuration(host=BASE, username=cid, password=SECRET)))


def new_client(suffix, **extra):
    body = dict(
        client_id=f"{RUN}-{suffix}",
        client_secret=SECRET,
        redirect_uris=Strings([REDIRECT]),
        grant_types=Strings(["authorization_code", "refresh_token", "client_credentials"]),
        response_types=Strings(["code"]),
        scope="openid offline_access offline",
    )
    body.update(extra)
    return sdk("create_o_auth2_client", admin.create_o_auth2_client, OAuth2Client(**body))


# ---------------------------------------------------------------------------------------------


def clients():
    # No contacts, no post-logout URIs: the members the SDK types as arrays must not be null.
    c = new_client("plain")
    assert c.client_id == f"{RUN}-plain" and c.client_secret == SECRET, c
    got = sdk("get_o_auth2_client", admin.get_o_auth2_client, c.client_id)
    assert got.redirect_uris.value == [REDIRECT] and got.contacts.value == [], got
    listed = sdk("list_o_auth2_clients", admin.list_o_auth2_clients, page_size=500)
    assert any(x.client_id == c.client_id for x in listed), "the new client is listed"
    updated = sdk("set_o_auth2_client", admin.set_o_auth2_client, c.client_id,
                  OAuth2Client(client_id=c.client_id, client_name="v2 client", redirect_uris=Strings([REDIRECT])))
    assert updated.client_name == "v2 client", updated
    patched = sdk("patch_o_auth2_client", admin.patch_o_auth2_client, c.client_id,
                  JsonPatchDocument([JsonPatch(op="replace", path="/metadata", value={"tier": "gold"})]))
    assert patched.metadata == {"tier": "gold"}, patched
    sdk_error("get_o_auth2_client (unknown)", 404, admin.get_o_auth2_client, f"{RUN}-missing")
    sdk("delete_o_auth2_client", admin.delete_o_auth2_client, c.client_id)
    sdk_error("get_o_auth2_client (deleted)", 404, admin.get_o_auth2_client, c.client_id)


def keys():
    s = f"{RUN}-keys"
    created = sdk("create_json_web_key_set", jwk.create_json_web_key_set, s,
                  CreateJsonWebKeySet(alg="ES256", kid="k1", use="sig"))
    assert created.keys[0].kid == "k1" and created.keys[0].d, "the private key on creation"
    got = sdk("get_json_web_key_set", jwk.get_json_web_key_set, s)
    assert [k.kid for k in got.keys] == ["k1"], got
    sdk("get_json_web_key", jwk.get_json_web_key, s, "k1")
    sdk("delete_json_web_key", jwk.delete_json_web_key, s, "k1")
    sdk_error("get_json_web_key_set (emptied)", 404, jwk.get_json_web_key_set, s)
    wk = sdk("discover_json_web_keys", wellknown.discover_json_web_keys)
    assert wk.keys and all(getattr(k, "d", None) is None for k in wk.keys), "public keys only"
    doc = sdk("discover_oidc_configuration", oidc.discover_oidc_configuration)
    assert doc.issuer == BASE and doc.token_endpoint == f"{BASE}/oauth2/token", doc


def login_consent_and_tokens():
    c = new_client("flow")
    b = browser()
    verifier, challenge = pkce()
    login = start(b, c.client_id, challenge)
    lr = sdk("get_login_request", admin.get_o_auth2_login_request, login)
    assert lr.skip is False and lr.client.client_id == c.client_id and lr.client.contacts.value == [], lr
    done = sdk("accept_login_request", admin.accept_o_auth2_login_request, login,
               accept_o_auth2_login_request=AcceptOAuth2LoginRequest(subject=USER, remember=True, remember_for=3600))
    _, loc = visit(b, done.redirect_to)
    consent = query(loc, "consent_challenge")
    cr = sdk("get_consent_request", admin.get_o_auth2_consent_request, consent)
    assert cr.subject == USER and cr.requested_scope.value == ["openid", "offline_access"], cr
    done = sdk("accept_consent_request", admin.accept_o_auth2_consent_request, consent,
               accept_o_auth2_consent_request=AcceptOAuth2ConsentRequest(
                   grant_scope=Strings(["openid", "offline_access"]), remember=True, remember_for=0,
                   session=AcceptOAuth2ConsentRequestSession(access_token={"tier": "gold"}, id_token={"email": "ada@example.com"})))
    _, loc = visit(b, done.redirect_to)
    code = query(loc, "code")
    assert code, loc
    tokens = exchange(c.client_id, code, verifier)

    intro = sdk("introspect_o_auth2_token", admin.introspect_o_auth2_token, tokens["access_token"])
    assert intro.active and intro.sub == USER and intro.ext == {"tier": "gold"}, intro
    me = sdk("get_oidc_user_info", OidcApi(hydra.ApiClient(hydra.Configuration(host=BASE, access_token=tokens["access_token"]))).get_oidc_user_info)
    assert me.sub == USER and me.email == "ada@example.com", me
    refreshed = sdk("oauth2_token_exchange (refresh_token)", client_api(c.client_id).oauth2_token_exchange, "refresh_token",
                    refresh_token=tokens["refresh_token"])
    assert refreshed.access_token and refreshed.refresh_token != tokens["refresh_token"], refreshed
    machine = sdk("oauth2_token_exchange (client_credentials)", client_api(c.client_id).oauth2_token_exchange, "client_credentials")
    assert machine.token_type.lower() == "bearer", machine
    sdk("revoke_o_auth2_token", client_api(c.client_id).revoke_o_auth2_token, refreshed["refresh_token"])
    assert not sdk("introspect_o_auth2_token", admin.introspect_o_auth2_token, refreshed["refresh_token"]).active

    sessions = sdk("list_o_auth2_consent_sessions", admin.list_o_auth2_consent_sessions, USER)
    assert [s.consent_request.client.client_id for s in sessions.value] == [c.client_id], sessions

    # A second flow in the same browser: login and consent are remembered (skip).
    verifier, challenge = pkce()
    login = start(b, c.client_id, challenge)
    lr = sdk("get_login_request (remembered)", admin.get_o_auth2_login_request, login)
    assert lr.skip is True and lr.subject == USER, lr
    done = sdk("accept_login_request (remembered)", admin.accept_o_auth2_login_request, login,
               accept_o_auth2_login_request=AcceptOAuth2LoginRequest(subject=USER))
    _, loc = visit(b, done.redirect_to)
    consent = query(loc, "consent_challenge")
    assert sdk("get_consent_request (remembered)", admin.get_o_auth2_consent_request, consent).skip is True
    done = sdk("reject_consent_request", admin.reject_o_auth2_consent_request, consent,
               reject_o_auth2_request=RejectOAuth2Request(error="access_denied", error_description="not this time"))
    _, loc = visit(b, done.redirect_to)
    assert query(loc, "error") == "access_denied", loc

    # A rejected login.
    b = browser()
    login = start(b, c.client_id, pkce()[1])
    done = sdk("reject_login_request", admin.reject_o_auth2_login_request, login,
               reject_o_auth2_request=RejectOAuth2Request(error="login_required", error_description="no"))
    _, loc = visit(b, done.redirect_to)
    assert loc.startswith(REDIRECT) and query(loc, "error") == "login_required", loc

    sdk("revoke_o_auth2_consent_sessions", admin.revoke_o_auth2_consent_sessions, USER, client=c.client_id)
    assert sdk("list_o_auth2_consent_sessions (revoked)", admin.list_o_auth2_consent_sessions, USER).value == []
    sdk("revoke_o_auth2_login_sessions", admin.revoke_o_auth2_login_sessions, subject=USER)
    sdk("delete_o_auth2_token", admin.delete_o_auth2_token, c.client_id)


def logout():
    # Logouts that no client asked for: the request has no client, which must not read as null.
    c = new_client("logout")
    for decide in ("accept", "reject"):
        b = browser()
        login = start(b, c.client_id, pkce()[1])
        done = sdk("accept_login_request", admin.accept_o_auth2_login_request, login,
                   accept_o_auth2_login_request=AcceptOAuth2LoginRequest(subject="grace", remember=True, remember_for=3600))
        visit(b, done.redirect_to)  # sets the login session cookie
        status, loc = visit(b, f"{BASE}/oauth2/sessions/logout")
        challenge = query(loc or "", "logout_challenge")
        assert challenge, (status, loc)
        lr = sdk("get_logout_request", admin.get_o_auth2_logout_request, challenge)
        assert lr.rp_initiated is False and lr.subject == "grace", lr
        if decide == "accept":
            done = sdk("accept_logout_request", admin.accept_o_auth2_logout_request, challenge)
            assert done.redirect_to.startswith(f"{BASE}/oauth2/sessions/logout"), done
        else:
            sdk("reject_logout_request", admin.reject_o_auth2_logout_request, challenge)


def trust():
    # The P-256 public key of RFC 7515, appendix A.3.
    key = JsonWebKey(kty="EC", crv="P-256", alg="ES256", use="sig", kid=f"{RUN}-kid",
                     x="f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", y="x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0")
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    issuer = f"https://{RUN}.issuer.example"
    t = sdk("trust_o_auth2_jwt_grant_issuer", admin.trust_o_auth2_jwt_grant_issuer,
            trust_o_auth2_jwt_grant_issuer=TrustOAuth2JwtGrantIssuer(
                expires_at=expires, issuer=issuer, jwk=key, scope=["openid"], subject="svc"))
    assert t.issuer == issuer and t.public_key.kid == f"{RUN}-kid", t
    assert sdk("get_trusted_o_auth2_jwt_grant_issuer", admin.get_trusted_o_auth2_jwt_grant_issuer, t.id).id == t.id
    listed = sdk("list_trusted_o_auth2_jwt_grant_issuers", admin.list_trusted_o_auth2_jwt_grant_issuers, issuer=issuer)
    assert [x.id for x in listed.value] == [t.id], listed
    sdk("delete_trusted_o_auth2_jwt_grant_issuer", admin.delete_trusted_o_auth2_jwt_grant_issuer, t.id)


def metadata():
    v = sdk("get_version", MetadataApi(admin_client).get_version)
    assert sdk("is_alive", MetadataApi(public_client).is_alive).status == "ok"
    assert v.version and v.version.startswith("v"), v
    sdk_error("list_o_auth2_clients (no token)", 401, OAuth2Api(public_client).list_o_auth2_clients)


run_sections(
    "ory-hydra-client 2.2.0 (Python)",
    [
        ("clients", clients),
        ("keys", keys),
        ("login_consent_and_tokens", login_consent_and_tokens),
        ("logout", logout),
        ("trust", trust),
        ("metadata", metadata),
    ],
)
