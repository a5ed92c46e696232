//! `/admin/keys`: unsupported algorithms, malformed and mismatched keys, path tricks.

use reqwest::Method;

use super::common::jose::EcKey;
use super::{Case, Expect, Fixture};
use Expect::*;

pub fn cases(_fx: &Fixture) -> Vec<Case> {
    let public = EcKey::new(41, "pub").jwk();
    vec![
        Case::post("unsupported algorithm", "/admin/keys/hostile-new")
            .admin()
            .json("{\"alg\": \"none\", \"use\": \"sig\"}")
            .expect(Admin(400)),
        Case::post("HS1", "/admin/keys/hostile-new")
            .admin()
            .json("{\"alg\": \"HS1\", \"use\": \"sig\"}")
            .expect(Admin(400)),
        Case::post("alg a number", "/admin/keys/hostile-new").admin().json("{\"alg\": 256}").expect(Admin(400)),
        Case::post("malformed JSON", "/admin/keys/hostile-new").admin().json("{\"alg\":").expect(Admin(400)),
        Case::post("empty body", "/admin/keys/hostile-new").admin().json("").expect(Admin(400)),
        Case::post("no admin token", "/admin/keys/hostile-new").json("{\"alg\": \"ES256\"}").expect(Admin(401)),
        Case::put("set with a junk key", "/admin/keys/hostile-set")
            .admin()
            .json("{\"keys\": [{\"kty\": \"EC\", \"kid\": \"x\"}]}")
            .expect(Admin(400)),
        Case::put("set not an object", "/admin/keys/hostile-set").admin().json("[]").expect(Admin(400)),
        Case::put("key without kty", "/admin/keys/hostile-set/pub")
            .admin()
            .json(
                &serde_json::to_string(&{
                    let mut k = public.clone();
                    k.as_object_mut().unwrap().remove("kty");
                    k
                })
                .unwrap(),
            )
            .expect(Admin(400)),
        Case::put("key with a private part that is junk", "/admin/keys/hostile-set/pub")
            .admin()
            .json(
                &serde_json::to_string(&{
                    let mut k = public.clone();
                    k["d"] = serde_json::json!("AAAA");
                    k
                })
                .unwrap(),
            )
            .expect(Admin(400)),
        Case::get("unknown set", "/admin/keys/no-such-set").admin().expect(Admin(404)),
        Case::get("unknown key", "/admin/keys/hostile-set/no-such-kid").admin().expect(Admin(404)),
        // Hydra answers 204 to deleting what does not exist; nothing changes either way.
        Case::new("delete unknown key", Method::DELETE, "/admin/keys/hostile-set/no-such-kid")
            .admin()
            .expect(Status(204)),
        Case::new("delete unknown set", Method::DELETE, "/admin/keys/no-such-set").admin().expect(Status(204)),
        Case::get("kid with SQL", "/admin/keys/hostile-set/x%27%20OR%20%271%27%3D%271").admin().expect(Admin(404)),
        Case::get("set with traversal", "/admin/keys/..%2F..%2Fclients").admin().expect(Admin(404)),
        Case::new("PATCH a set", Method::PATCH, "/admin/keys/hostile-set").admin().json("[]").expect(Admin(405)),
    ]
}
