//! `/admin/clients`: Hydra's client administration API.

use serde_json::Value;

use super::json_patch;
use super::model::{Client, Lifespans};
use super::validate::{self, Origin};
use super::{create as create_client, encode_segment, generate_secret, load, rfc3339, save};
use crate::compat::v1::{self, Page};
use crate::crypto::secret_hash;
use crate::ctx::{parse_json, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use crate::pagination::{self, page_size};
use crate::platform::Platform;
use crate::store;

/// `POST /admin/clients`
pub async fn create<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let input = Client::from_json(parse_json(req)?)?;
    let created = create_client(ctx, input, Origin::Admin).await?;
    Ok(Response::json(201, &created)
        .with_header("location", &format!("/admin/clients/{}", encode_segment(&created.client_id))))
}

/// `GET /admin/clients/{id}`
pub async fn get<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> ApiResult<Response> {
    let stored = load(ctx, id).await?;
    Ok(Response::json(200, &stored.client.public_view()))
}

/// Apply a new client body to a stored client (PUT and PATCH). `new_secret` is a secret the
/// request set explicitly; otherwise the old hash is kept (or one generated when a public
/// client becomes confidential). Returns the response body.
async fn replace_with<P: Platform>(
    ctx: &Ctx<'_, P>,
    mut stored: store::clients::StoredClient,
    mut next: Client,
    new_secret: Option<String>,
) -> ApiResult<Response> {
    next.client_id = stored.client.client_id.clone();
    next.registration_access_token = None;
    next.registration_client_uri = None;
    validate::validate(ctx.cfg, &mut next, Origin::Admin)?;
    super::sector::check(ctx, &next).await?;
    let echoed = if next.is_public() {
        if new_secret.is_some() {
            validate::check_secret(&next, "")?;
        }
        stored.secret_hash = None;
        None
    } else {
        let secret = match new_secret {
            Some(s) => {
                validate::check_secret(&next, &s)?;
                Some(s)
            }
            None if stored.secret_hash.is_none() => Some(generate_secret()),
            None => None,
        };
        if let Some(s) = &secret {
            stored.secret_hash = Some(secret_hash::hash(ctx.p, s).await?);
        }
        secret
    };
    next.created_at = stored.client.created_at.clone();
    next.updated_at = rfc3339(ctx.p.now());
    stored.client = next;
    save(ctx, &stored).await?;
    let mut body = stored.client.public_view();
    body.client_secret = echoed;
    Ok(Response::json(200, &body))
}

/// `PUT /admin/clients/{id}`: full replace; an omitted secret keeps the old one.
pub async fn replace<P: Platform>(ctx: &Ctx<'_, P>, id: &str, req: &Request) -> ApiResult<Response> {
    let stored = load(ctx, id).await?;
    let mut next = Client::from_json(parse_json(req)?)?;
    let secret = next.client_secret.take().filter(|s| !s.is_empty());
    replace_with(ctx, stored, next, secret).await
}

/// `PATCH /admin/clients/{id}`: RFC 6902 JSON Patch. All operations apply or none do.
pub async fn patch<P: Platform>(ctx: &Ctx<'_, P>, id: &str, req: &Request) -> ApiResult<Response> {
    let ops = parse_patch(parse_json(req)?)?;
    let stored = load(ctx, id).await?;
    let (next, secret) = apply_patch(&stored.client, &ops)?;
    replace_with(ctx, stored, next, secret).await
}

/// A JSON Patch document, refused when any operation touches `client_id`.
pub fn parse_patch(raw: Value) -> ApiResult<Vec<json_patch::Op>> {
    let ops = json_patch::parse(&raw).map_err(|e| {
        ApiError::bad_request(format!(
            "The body must be a JSON Patch document (an array of operations with op, path, value/from): {e}."
        ))
    })?;
    for op in &ops {
        let touches_id = |p: &str| p == "/client_id" || p.starts_with("/client_id/");
        let moves_id = matches!(op, json_patch::Op::Move { .. }) && op.from().map(touches_id).unwrap_or(false);
        if touches_id(op.path()) || moves_id {
            return Err(ApiError::bad_request("The field client_id cannot be changed."));
        }
    }
    Ok(ops)
}

/// Apply a patch to a client's JSON (pure): the patched client, not yet validated, and the
/// secret the patch set, if any.
pub fn apply_patch(current: &Client, ops: &[json_patch::Op]) -> ApiResult<(Client, Option<String>)> {
    let mut doc = serde_json::to_value(current.public_view()).expect("serialisable client");
    // Present but empty, so `replace /client_secret` works as it does on Hydra (where the
    // document carries the hash); a non-empty value after patching is the new secret.
    doc["client_secret"] = Value::String(String::new());
    // `doc` is a throwaway copy, so a failed patch needs no undo.
    json_patch::apply(&mut doc, ops)
        .map_err(|e| ApiError::bad_request(format!("The JSON Patch could not be applied: {e}.")))?;
    let secret = match doc.as_object_mut().and_then(|o| o.remove("client_secret")) {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        Some(Value::String(_)) | Some(Value::Null) | None => None,
        Some(_) => return Err(ApiError::bad_request("Field client_secret must be a string.")),
    };
    Ok((Client::from_json(doc)?, secret))
}

/// `DELETE /admin/clients/{id}`
pub async fn delete<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> ApiResult<Response> {
    if validate::check_client_id(id).is_err() || !store::clients::delete(ctx.p, id, ctx.p.now()).await? {
        return Err(super::not_found(id));
    }
    Ok(Response::new(204))
}

/// `PUT /admin/clients/{id}/lifespans`: replaces all lifespans (absent ones become null).
pub async fn set_lifespans<P: Platform>(ctx: &Ctx<'_, P>, id: &str, req: &Request) -> ApiResult<Response> {
    let raw: Value = parse_json(req)?;
    let Value::Object(map) = raw else {
        return Err(ApiError::bad_request("The body must be a JSON object of lifespans."));
    };
    let without_nulls: serde_json::Map<String, Value> = map.into_iter().filter(|(_, v)| !v.is_null()).collect();
    let mut lifespans: Lifespans = crate::ctx::decode_fields(without_nulls)?;
    lifespans.normalize()?;
    let mut stored = load(ctx, id).await?;
    stored.client.lifespans = lifespans;
    stored.client.updated_at = rfc3339(ctx.p.now());
    save(ctx, &stored).await?;
    Ok(Response::json(200, &stored.client.public_view()))
}

/// `GET /admin/clients`: keyset pagination over insertion order, filters `client_name` and
/// `owner`, `Link` header with `rel="first"` and (unless last) `rel="next"`; or, as Hydra v1
/// paged it, by `limit`/`offset` with `X-Total-Count` ([`Page::Offset`]).
pub async fn list<P: Platform>(ctx: &Ctx<'_, P>, req: &Request, page: Page) -> ApiResult<Response> {
    let name = req.query_param("client_name").unwrap_or_default();
    let owner = req.query_param("owner").unwrap_or_default();
    if let Page::Offset { limit, offset } = page {
        let (rows, total) = store::clients::list_offset(ctx.p, offset, limit, &name, &owner).await?;
        let body: Vec<Client> = rows.into_iter().map(|r| r.client.public_view()).collect();
        let keep = [("client_name", name.as_str()), ("owner", owner.as_str())];
        let url = ctx.cfg.public(&req.path);
        return Ok(v1::offset_headers(Response::json(200, &body), &url, &keep, limit, offset, total));
    }
    let size = page_size(req.query_param("page_size").as_deref())?;
    let after = pagination::after(ctx, req).ok_or_else(|| {
        ApiError::bad_request("The page_token is invalid or has expired; start again from the first page.")
    })?;
    let mut rows = store::clients::list(ctx.p, after, size, &name, &owner).await?;
    let has_next = rows.len() as i64 > size;
    rows.truncate(size as usize);

    let next = if has_next { rows.last().map(|r| r.pk) } else { None };
    let links = pagination::link_header(ctx, req, &[("client_name", &name), ("owner", &owner)], size, next);
    let body: Vec<Client> = rows.into_iter().map(|r| r.client.public_view()).collect();
    Ok(Response::json(200, &body).with_header("link", &links))
}
