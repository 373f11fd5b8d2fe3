// Verify a webhook from the actions bot in Node.js 18+, without dependencies.
//
//   const { verify } = require("./verify.js");
//   app.post("/hook", express.raw({ type: "*/*" }), (req, res) => {   // the raw bytes
//     let request;
//     try {
//       request = verify(req.headers, req.body, process.env.WEBHOOK_SIGNING_SECRET, {
//         signedHeaders: ["Content-Type", "Authorization"], // the action's configured headers
//       });
//     } catch (err) {
//       return res.status(401).send(err.message);
//     }
//     // request.id (webhook-id) is the same on every attempt of a run: a retry.
//     // request.signature differs per attempt: a repeat of one is a replay (answer 409).
//     ...
//   });
"use strict";

const crypto = require("node:crypto");

const TOLERANCE = 300; // seconds

function same(a, b) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

function fresh(name, value, tolerance, now) {
  if (value === undefined) throw new Error(`missing ${name} header`);
  if (!/^\s*\d+\s*$/.test(value)) throw new Error(`${name} is not a Unix time in seconds`);
  const stamp = Number.parseInt(value, 10);
  if (Math.abs(now - stamp) > tolerance) {
    throw new Error(`${name} is more than the ${tolerance} s allowed from now`);
  }
  return stamp;
}

// Standard Webhooks: base64 HMAC-SHA256 of "{id}.{timestamp}.{body}", keyed by the
// base64-decoded part of the whsec_ secret; several signatures while rotating.
function standard(get, body, secrets, tolerance, now) {
  const id = get("webhook-id");
  if (!id) throw new Error("missing webhook-id header");
  const stamp = fresh("webhook-timestamp", get("webhook-timestamp"), tolerance, now);
  const content = Buffer.concat([Buffer.from(`${id}.${stamp}.`), body]);
  const expected = secrets.map((secret) =>
    crypto
      .createHmac("sha256", Buffer.from(secret.replace(/^whsec_/, ""), "base64"))
      .update(content)
      .digest("base64"),
  );
  for (const offered of get("webhook-signature").split(" ")) {
    const [version, value] = offered.split(",");
    if (version === "v1" && value && expected.some((e) => same(e, value))) {
      return { id, timestamp: stamp, signature: value, scheme: "standard" };
    }
  }
  throw new Error("webhook-signature does not match the body");
}

// OpsLevel-style: hex HMAC-SHA256, keyed by the secret string, of the "Name:Value" pairs of
// the timing, run-id and configured headers (names as configured, sorted), "+", the body.
function opslevel(get, body, secrets, prefix, signedHeaders, tolerance, now) {
  const timing = `${prefix}-Timing`;
  const uuid = `${prefix}-Action-Uuid`;
  const stamp = fresh(timing, get(timing), tolerance, now);
  const names = [timing, ...(get(uuid) === undefined ? [] : [uuid]), ...signedHeaders];
  const missing = names.find((name) => get(name) === undefined);
  if (missing) throw new Error(`signed header ${missing} is missing`);
  const head = [...new Set(names)].sort().map((name) => `${name}:${get(name)}`).join(",");
  const content = Buffer.concat([Buffer.from(`${head}+`), body]);
  const offered = get(`${prefix}-Signature`);
  for (const secret of secrets) {
    const digest = crypto.createHmac("sha256", secret).update(content).digest("hex");
    if (same(`sha256=${digest}`, offered)) {
      const id = get("webhook-id") || get(uuid) || "";
      return { id, timestamp: stamp, signature: offered, scheme: "opslevel" };
    }
  }
  throw new Error(`${prefix}-Signature does not match (secret, body or signedHeaders)`);
}

// Checks every signature the request carries (at least one); throws an Error saying why not.
function verify(headers, body, secret, options = {}) {
  const prefix = options.prefix || "X-Actions";
  const signedHeaders = options.signedHeaders || [];
  const tolerance = options.tolerance ?? TOLERANCE;
  const now = options.now ?? Date.now() / 1000;
  const lower = {};
  for (const [name, value] of Object.entries(headers)) {
    lower[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  const get = (name) => lower[name.toLowerCase()];
  const secrets = Array.isArray(secret) ? secret : [secret];
  const raw = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const checked = [];
  if (get("webhook-signature") !== undefined) {
    checked.push(standard(get, raw, secrets, tolerance, now));
  }
  if (get(`${prefix}-Signature`) !== undefined) {
    checked.push(opslevel(get, raw, secrets, prefix, signedHeaders, tolerance, now));
  }
  if (checked.length === 0) throw new Error("no signature header");
  const { id, timestamp, signature } = checked[0];
  return { id, timestamp, signature, schemes: checked.map((c) => c.scheme) };
}

module.exports = { verify };

// `node verify.js` reads {headers, body_base64, secret, prefix, signed_headers, now} as JSON
// on stdin and prints the result: a way to test a request by hand.
if (require.main === module) {
  let input = "";
  process.stdin.on("data", (chunk) => (input += chunk));
  process.stdin.on("end", () => {
    const given = JSON.parse(input);
    try {
      const secrets = given.secret.split(/\s+/); // several while rotating
      const result = verify(given.headers, Buffer.from(given.body_base64, "base64"), secrets, {
        prefix: given.prefix,
        signedHeaders: given.signed_headers,
        now: given.now,
      });
      console.log(JSON.stringify({ ok: true, ...result }));
    } catch (err) {
      console.log(JSON.stringify({ ok: false, error: err.message }));
      process.exitCode = 1;
    }
  });
}
