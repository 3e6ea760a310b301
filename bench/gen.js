#!/usr/bin/env node
"use strict";
// Bench fixtures: one key per algorithm (RS256, ES256, EdDSA), their PEM and
// JWKS, and SuperTokens v5 access tokens in the core's format (header
// alg/typ/kid/version "5"; payload sub/exp/iat/tId/rsub/sessionHandle/
// refreshTokenHash1/parentRefreshTokenHash1/antiCsrfToken/iss).
// Node builtins only.  Usage: node bench/gen.js OUTDIR N_UNIQUE [N_SOAK]
// Keys persist in OUTDIR; tokens are re-minted when older than 6 hours or
// when fewer than asked for exist, so repeated runs cost nothing.
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const out = process.argv[2];
const nUnique = Number(process.argv[3] || 1000);
const nSoak = Number(process.argv[4] || 0);
if (!out) {
    console.error("usage: gen.js OUTDIR N_UNIQUE [N_SOAK]");
    process.exit(2);
}
fs.mkdirSync(out, { recursive: true });

const b64u = (b) => Buffer.from(b).toString("base64url");
const file = (n) => path.join(out, n);
const ALGS = {
    rs256: { alg: "RS256", type: "rsa", opts: { modulusLength: 2048 } },
    es256: { alg: "ES256", type: "ec", opts: { namedCurve: "P-256" } },
    eddsa: { alg: "EdDSA", type: "ed25519", opts: {} },
};

function loadKey(name, spec) {
    const f = file(name + ".key.pem");
    if (!fs.existsSync(f)) {
        const { privateKey } = crypto.generateKeyPairSync(spec.type, spec.opts);
        fs.writeFileSync(f, privateKey.export({ type: "pkcs8", format: "pem" }));
    }
    const priv = crypto.createPrivateKey(fs.readFileSync(f));
    const pub = crypto.createPublicKey(priv);
    const kid = "d-bench-" + name;
    const jwk = { ...pub.export({ format: "jwk" }), kid, alg: spec.alg, use: "sig" };
    fs.writeFileSync(file(name + ".pub.pem"), pub.export({ type: "spki", format: "pem" }));
    fs.writeFileSync(file(name + ".jwks.json"), JSON.stringify({ keys: [jwk] }));
    return { name, spec, priv, kid, jwk };
}

function sign(k, input) {
    const data = Buffer.from(input);
    if (k.spec.type === "rsa") return crypto.sign("sha256", data, k.priv);
    if (k.spec.type === "ec") {
        return crypto.sign("sha256", data, { key: k.priv, dsaEncoding: "ieee-p1363" });
    }
    return crypto.sign(null, data, k.priv);
}

const now = Math.floor(Date.now() / 1000);
let seq = 0;
function mint(k, o = {}) {
    seq += 1;
    const sub = o.sub || "bench-user-" + seq;
    const header = o.header || { alg: k.spec.alg, typ: "JWT", kid: k.kid, version: "5" };
    const payload = {
        sub,
        exp: now + (o.expIn !== undefined ? o.expIn : 86400),
        iat: now,
        tId: "public",
        rsub: sub,
        sessionHandle: crypto.randomUUID(),
        refreshTokenHash1: crypto.createHash("sha256").update(crypto.randomUUID()).digest("hex"),
        parentRefreshTokenHash1: null,
        antiCsrfToken: null,
        iss: "http://localhost:3001/auth",
        ...(o.claims || {}),
    };
    const hs = typeof header === "string" ? header : JSON.stringify(header);
    const ps = typeof o.rawPayload === "string" ? o.rawPayload : JSON.stringify(payload);
    const input = b64u(hs) + "." + b64u(ps);
    return input + "." + b64u(sign(o.signWith || k, input));
}

function fresh(name, count) {
    const f = file(name);
    if (!fs.existsSync(f)) return false;
    if (Date.now() - fs.statSync(f).mtimeMs > 6 * 3600 * 1000) return false;
    return fs.readFileSync(f, "utf8").split("\n").filter(Boolean).length >= count;
}

function writeTokens(name, count, fn) {
    if (fresh(name, count)) return;
    const lines = [];
    for (let i = 0; i < count; i++) lines.push(fn(i));
    fs.writeFileSync(file(name), lines.join("\n") + "\n");
}

const keys = {};
for (const [name, spec] of Object.entries(ALGS)) keys[name] = loadKey(name, spec);
fs.writeFileSync(file("jwks-all.json"),
    JSON.stringify({ keys: Object.values(keys).map((k) => k.jwk) }));

for (const name of Object.keys(ALGS)) {
    // 64 distinct tokens per alg for the micro benches (no hidden caching).
    writeTokens(name + ".tokens", 64, () => mint(keys[name]));
}
writeTokens("rs256.unique.tokens", nUnique, () => mint(keys.rs256));

if (nSoak > 0) {
    writeTokens("soak.unique.tokens", nSoak, () => mint(keys.rs256));
    writeTokens("soak.expired.tokens", 32, () => mint(keys.rs256, { expIn: -600 }));
    // A rogue key with the published kid: a well-formed token whose
    // signature does not verify.
    const rogue = loadKey("rogue", ALGS.rs256);
    const deep = "[".repeat(200) + "]".repeat(200);
    // "expected status<TAB>token": the only hostile token that must pass is
    // the validly signed one with a 5 kB claim.
    const hostile = [
        [401, mint(keys.rs256, { signWith: rogue })],
        [401, mint(keys.rs256, { header: { alg: "none", typ: "JWT", kid: keys.rs256.kid } })
            .replace(/\.[^.]*$/, ".")],
        [401, mint(keys.rs256, { header: { alg: "HS256", typ: "JWT", kid: keys.rs256.kid,
                                            version: "5" } })],
        [401, mint(keys.rs256, { header: { alg: "RS256", kid: keys.rs256.kid, version: "5",
                                            crit: ["exp"] } })],
        [401, mint(keys.rs256, { header: '{"alg":"RS256","alg":"none","kid":"' +
                                         keys.rs256.kid + '","version":"5"}' })],
        [401, mint(keys.rs256, { rawPayload: '{"sub":"x","exp":' + (now + 3600) +
                                             ',"deep":' + deep + "}" })],
        [401, mint(keys.rs256, { header: { alg: "RS256", kid: "k".repeat(900), version: "5" } })],
        [200, mint(keys.rs256, { claims: { pad: "p".repeat(5000) } })],
        [401, mint(keys.rs256, { rawPayload: '{"sub":"\\ud800","exp":' + (now + 3600) + "}" })],
        [401, mint(keys.rs256, { claims: { exp: "tomorrow" } })],
        [401, "a".repeat(3000) + "." + "b".repeat(3000) + "." + "c".repeat(1000)],
        [401, "..."],
        [401, "eyJhbGciOiJSUzI1NiJ9.."],
        [401, "%00%ff" + "\u00e9".repeat(10)],
    ].map(([st, t]) => st + "\t" + t);
    fs.writeFileSync(file("soak.hostile.tokens"), hostile.join("\n") + "\n");
}
console.log("gen: fixtures in " + out);
