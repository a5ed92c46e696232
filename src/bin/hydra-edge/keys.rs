//! `create|get|delete jwk`: `/admin/keys/{set}`.

use serde_json::{json, Value};

use crate::api::{seg, Auth, Body};
use crate::cli::{worst, Env};
use crate::error::Error;
use crate::output::{s, View};

#[derive(clap::Args, Clone)]
pub struct CreateArgs {
    /// The key set's id.
    pub set: String,
    /// The new key's id (generated when omitted).
    pub kid: Option<String>,
    /// The algorithm of the generated key: RS256, ES256, ES512, HS256 or HS512.
    #[arg(long, default_value = "RS256")]
    pub alg: String,
    /// The key's use: sig or enc.
    #[arg(long = "use", default_value = "sig")]
    pub key_use: String,
    /// Only show the public keys.
    #[arg(long)]
    pub public: bool,
}

const HEADER: [&str; 4] = ["SET ID", "KEY ID", "ALGORITHM", "USE"];
/// JWK members that hold private or secret key material (RFC 7518 §6).
const PRIVATE: [&str; 9] = ["d", "p", "q", "dp", "dq", "qi", "k", "oth", "priv"];

/// The public part of keys; symmetric keys have none and are left out.
pub fn only_public(keys: Vec<Value>) -> Vec<Value> {
    keys.into_iter()
        .filter(|k| k.get("kty").and_then(Value::as_str) != Some("oct"))
        .map(|mut k| {
            if let Some(o) = k.as_object_mut() {
                for m in PRIVATE {
                    o.remove(m);
                }
            }
            k
        })
        .collect()
}

fn row(set: &str, k: &Value) -> Vec<String> {
    vec![set.to_string(), s(k, "kid"), s(k, "alg"), s(k, "use")]
}

/// Keys of one or more sets as Hydra prints them: one fetched key as `{set, …key}`, created or
/// several keys as a table (JSON `{set, keys}`).
fn view(keys: Vec<(String, Value)>, collection: bool) -> View {
    if keys.len() == 1 && !collection {
        let (set, key) = keys.into_iter().next().unwrap_or_default();
        let cells = row(&set, &key);
        let id = s(&key, "kid");
        let mut doc = json!({"set": set});
        if let Some(o) = key.as_object() {
            for (k, val) in o {
                doc[k] = val.clone();
            }
        }
        let mut view = View::row(HEADER.to_vec(), cells, doc);
        // Quiet prints the key id, not the set.
        view.ids = vec![id];
        return view;
    }
    let first_set = keys.first().map(|(s, _)| s.clone()).unwrap_or_default();
    let rows: Vec<Vec<String>> = keys.iter().map(|(set, k)| row(set, k)).collect();
    let ids = keys.iter().map(|(_, k)| s(k, "kid")).collect();
    let doc = json!({"set": first_set, "keys": keys.into_iter().map(|(_, k)| k).collect::<Vec<_>>()});
    let mut view = View::table(HEADER.to_vec(), rows, doc);
    view.ids = ids;
    view
}

pub fn create(env: &Env, a: &CreateArgs) -> Result<(), Error> {
    let body = json!({"alg": a.alg, "use": a.key_use, "kid": a.kid.clone().unwrap_or_default()});
    let path = format!("/admin/keys/{}", seg(&a.set));
    let v = env.api.send("POST", &path, Auth::Admin, Body::Json(&body))?.json()?;
    let mut keys = v.get("keys").and_then(Value::as_array).cloned().unwrap_or_default();
    if a.public {
        keys = only_public(keys);
    }
    env.print(&view(keys.into_iter().map(|k| (a.set.clone(), k)).collect(), true))
}

pub fn get(env: &Env, sets: &[String], public: bool) -> Result<(), Error> {
    let mut all = Vec::new();
    for set in sets {
        let (v, _) = env.api.get(&format!("/admin/keys/{}", seg(set)))?;
        let mut keys = v.get("keys").and_then(Value::as_array).cloned().unwrap_or_default();
        if public {
            keys = only_public(keys);
        }
        all.extend(keys.into_iter().map(|k| (set.clone(), k)));
    }
    env.print(&view(all, false))
}

pub fn delete(env: &Env, sets: &[String]) -> Result<(), Error> {
    let mut deleted = Vec::new();
    let mut failed = Vec::new();
    for set in sets {
        match env.api.send("DELETE", &format!("/admin/keys/{}", seg(set)), Auth::Admin, Body::Empty) {
            Ok(_) => deleted.push(set.clone()),
            Err(e) => failed.push((set.clone(), e)),
        }
    }
    if !deleted.is_empty() {
        env.print(&View::ids(deleted))?;
    }
    worst(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Format;

    #[test]
    fn public_keys_lose_private_members_and_symmetric_keys() {
        let keys = vec![
            json!({"kty": "EC", "kid": "a", "x": "1", "y": "2", "d": "secret"}),
            json!({"kty": "oct", "kid": "b", "k": "secret"}),
        ];
        let public = only_public(keys);
        assert_eq!(public, vec![json!({"kty": "EC", "kid": "a", "x": "1", "y": "2"})]);
    }

    #[test]
    fn one_key_prints_as_rows_with_its_set() {
        let v = view(vec![("s1".into(), json!({"kid": "k1", "alg": "ES256", "use": "sig"}))], false);
        assert_eq!(
            v.render(&Format::Table).unwrap(),
            "SET ID     s1\nKEY ID     k1\nALGORITHM  ES256\nUSE        sig\n"
        );
        assert_eq!(v.json["set"], "s1");
        assert_eq!(v.json["kid"], "k1");
        assert_eq!(v.render(&Format::Quiet).unwrap(), "k1\n");
    }

    #[test]
    fn several_keys_print_as_a_table() {
        let v = view(
            vec![
                ("s1".into(), json!({"kid": "k1", "alg": "ES256", "use": "sig"})),
                ("s1".into(), json!({"kid": "k2", "alg": "RS256", "use": "sig"})),
            ],
            false,
        );
        let created = view(vec![("s1".into(), json!({"kid": "k1"}))], true);
        assert_eq!(created.json, json!({"set": "s1", "keys": [{"kid": "k1"}]}));
        assert_eq!(v.json["keys"].as_array().unwrap().len(), 2);
        assert_eq!(v.render(&Format::Quiet).unwrap(), "k1\nk2\n");
    }
}
