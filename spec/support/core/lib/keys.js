"use strict";
// Key material of the core stand-in, kept in $CORE_STATE_DIR so that the
// stand-in, mint.js and the gateway under test agree across restarts.
//
//   keys.json     base keys, written once: dynamic "d-<ms>", static
//                 "s-<uuid>", rogue (never published), refresh-token AES key
//   rotated.json  dynamic keys added by /__standin/rotate (newest first);
//                 removed again by /__standin/reset
const crypto = require("crypto");
const fs = require("fs");
const os = require("os");
const path = require("path");

function stateDir() {
    return process.env.CORE_STATE_DIR ||
        path.join(os.tmpdir(), "st-core-standin");
}

function newRsaKey(kid, createdAt) {
    const { privateKey, publicKey } = crypto.generateKeyPairSync("rsa", {
        modulusLength: 2048,
    });
    const jwk = publicKey.export({ format: "jwk" });
    return {
        kid,
        createdAt,
        privatePem: privateKey.export({ type: "pkcs8", format: "pem" }),
        publicPem: publicKey.export({ type: "spki", format: "pem" }),
        n: jwk.n,
        e: jwk.e,
    };
}

// Writes through a temp file so a concurrent reader (mint.js) never sees
// half a file.
function writeJson(file, value) {
    const tmp = file + "." + process.pid + ".tmp";
    fs.writeFileSync(tmp, JSON.stringify(value, null, 2), { mode: 0o600 });
    fs.renameSync(tmp, file);
}

function loadBase(dir = stateDir()) {
    const file = path.join(dir, "keys.json");
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, "utf8"));
    fs.mkdirSync(dir, { recursive: true });
    const now = Date.now();
    const base = {
        dynamic: newRsaKey("d-" + now, now),
        static: newRsaKey("s-" + crypto.randomUUID(), now),
        // Carries a d- kid that is never in the JWKS.
        rogue: newRsaKey("d-" + (now - 86400000), now - 86400000),
        refreshKey: crypto.randomBytes(32).toString("hex"),
    };
    // Another process may have won the race; keep whichever landed first.
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, "utf8"));
    writeJson(file, base);
    return base;
}

function loadRotated(dir = stateDir()) {
    const file = path.join(dir, "rotated.json");
    if (!fs.existsSync(file)) return [];
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")).dynamic || [];
    } catch (e) {
        return [];
    }
}

function saveRotated(list, dir = stateDir()) {
    const file = path.join(dir, "rotated.json");
    if (list.length === 0) {
        fs.rmSync(file, { force: true });
        return;
    }
    writeJson(file, { dynamic: list });
}

// Resolves a signing-key name as mint.js and the stand-in use it:
// dynamic = base dynamic key, latest = newest published dynamic key,
// static, rogue, or an exact kid.
function pickKey(name, dir = stateDir()) {
    const base = loadBase(dir);
    const rotated = loadRotated(dir);
    if (name === "dynamic") return base.dynamic;
    if (name === "latest") return rotated[0] || base.dynamic;
    if (name === "static") return base.static;
    if (name === "rogue") return base.rogue;
    const all = [...rotated, base.dynamic, base.static, base.rogue];
    const hit = all.find((k) => k.kid === name);
    if (!hit) throw new Error("unknown key " + name);
    return hit;
}

module.exports = {
    stateDir, newRsaKey, loadBase, loadRotated, saveRotated, pickKey,
};
