"use strict";
// Access-token encoding the way supertokens-core writes and reads it
// (AccessToken.java / JWT.java of core 12.0.x):
//   v3+  base64url JOSE header {"kid","typ","version","alg"}, payload in
//        AccessTokenInfo.toJSON() order, RS256 signature base64url
//   v1/2 fixed std-base64 header, std-base64 payload, std-base64 signature
const crypto = require("crypto");

const LEGACY_HEADER = {
    1: Buffer.from('{"alg":"RS256","typ":"JWT","version":"1"}')
        .toString("base64"),
    2: Buffer.from('{"alg":"RS256","typ":"JWT","version":"2"}')
        .toString("base64"),
};

const PROTECTED = {
    2: ["userId", "expiryTime", "timeCreated", "sessionHandle",
        "refreshTokenHash1"],
    3: ["sub", "exp", "iat", "sessionHandle", "refreshTokenHash1",
        "parentRefreshTokenHash1", "antiCsrfToken"],
};
PROTECTED[1] = PROTECTED[2];
PROTECTED[4] = [...PROTECTED[3], "tId"];
PROTECTED[5] = [...PROTECTED[4], "rsub"];

const b64u = (buf) => Buffer.from(buf).toString("base64url");
const b64 = (buf) => Buffer.from(buf).toString("base64");
const sha256hex = (s) => crypto.createHash("sha256").update(s).digest("hex");

// java.util.Base64 decoders are strict about the alphabet; the core's
// Utils.convertFromBase64 accepts either alphabet, with or without padding.
function fromBase64Lenient(s) {
    if (typeof s !== "string" || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) {
        throw new Error("bad base64");
    }
    return Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64");
}

function signRs256(input, privatePem) {
    return crypto.sign("sha256", Buffer.from(input), privatePem);
}

// Builds the payload object exactly as AccessTokenInfo.toJSON() orders it.
function corePayload(info) {
    const v = info.version;
    const p = {};
    if (v >= 3) {
        p.sub = info.primaryUserId;
        p.exp = Math.floor(info.expiryTime / 1000);
        p.iat = Math.floor(info.timeCreated / 1000);
        if (v !== 3) p.tId = info.tenantId;
        if (v >= 5) p.rsub = info.recipeUserId;
    } else {
        p.userId = info.primaryUserId;
        p.expiryTime = info.expiryTime;
        p.timeCreated = info.timeCreated;
    }
    p.sessionHandle = info.sessionHandle;
    p.refreshTokenHash1 = info.refreshTokenHash1;
    if (v >= 3) {
        p.parentRefreshTokenHash1 = info.parentRefreshTokenHash1 ?? null;
        p.antiCsrfToken = info.antiCsrfToken ?? null;
        for (const [k, val] of Object.entries(info.userData || {})) {
            if (Object.prototype.hasOwnProperty.call(p, k)) {
                const err = new Error(
                    "The user payload contains protected field");
                err.badRequest = true;
                throw err;
            }
            p[k] = val;
        }
    } else {
        if (info.parentRefreshTokenHash1 != null) {
            p.parentRefreshTokenHash1 = info.parentRefreshTokenHash1;
        }
        if (info.antiCsrfToken != null) p.antiCsrfToken = info.antiCsrfToken;
        p.userData = info.userData || {};
    }
    return p;
}

// header/payload: objects (or raw strings, encoded as given).
function encodeJws(header, payload, key, { legacy = 0 } = {}) {
    if (legacy) {
        const h = LEGACY_HEADER[legacy];
        const p = b64(typeof payload === "string" ? payload
            : JSON.stringify(payload));
        return h + "." + p + "." + b64(signRs256(h + "." + p, key.privatePem));
    }
    const h = b64u(typeof header === "string" ? header
        : JSON.stringify(header));
    const p = b64u(typeof payload === "string" ? payload
        : JSON.stringify(payload));
    return h + "." + p + "." + b64u(signRs256(h + "." + p, key.privatePem));
}

function coreHeader(kid, version) {
    return { kid, typ: "JWT", version: String(version), alg: "RS256" };
}

class CoreError extends Error {
    constructor(kind, message) {
        super(message);
        this.kind = kind; // "try_refresh" | "unauthorised" | "server"
    }
}
const tryRefresh = (m) => new CoreError("try_refresh", m);

// JWT.preParseJWTInfo. Java's String.split drops trailing empty strings.
function preParse(token) {
    const parts = token.split(".");
    while (parts.length && parts[parts.length - 1] === "") parts.pop();
    if (parts.length !== 3) throw tryRefresh("Invalid JWT");
    if (parts[0] === LEGACY_HEADER[1]) return { parts, version: 1 };
    if (parts[0] === LEGACY_HEADER[2]) return { parts, version: 2 };
    let h;
    try {
        h = JSON.parse(fromBase64Lenient(parts[0]).toString("utf8"));
    } catch (e) {
        throw tryRefresh("Invalid JWT");
    }
    if (h === null || typeof h !== "object" || Array.isArray(h)) {
        throw tryRefresh("Invalid JWT");
    }
    const prim = (x) => x !== undefined && x !== null && typeof x !== "object";
    if (!prim(h.typ)) throw tryRefresh("JWT header missing - typ");
    if (h.typ !== "JWT") throw tryRefresh("JWT header mismatch - typ");
    if (!prim(h.alg)) throw tryRefresh("JWT header missing - alg");
    if (h.alg !== "RS256") throw tryRefresh("JWT header mismatch - alg");
    let version = "5";
    if (h.version !== undefined) {
        if (!prim(h.version) || typeof h.version !== "string" ||
            h.version === "1" || h.version === "2") {
            throw tryRefresh("JWT header mismatch - version");
        }
        version = h.version;
    }
    if (!prim(h.kid)) throw tryRefresh("JWT header missing - kid");
    if (typeof h.kid !== "string") {
        throw tryRefresh("JWT header mismatch - kid");
    }
    if (!["3", "4", "5"].includes(version)) {
        throw tryRefresh("JWT header mismatch - version");
    }
    return { parts, version: Number(version), kid: h.kid, header: h };
}

function verifySig(pre, key) {
    const [h, p, s] = pre.parts;
    let sig;
    try {
        sig = pre.version >= 3
            ? fromBase64Lenient(s) : Buffer.from(s, "base64");
    } catch (e) {
        return false;
    }
    try {
        return crypto.verify("sha256", Buffer.from(h + "." + p),
            key.publicPem, sig);
    } catch (e) {
        return false;
    }
}

// Gson getAsString/getAsLong on a primitive; anything else is a runtime
// exception in the core, which its servlet turns into a 500.
function asString(v, name) {
    if (v === null || typeof v === "object" || v === undefined) {
        throw new CoreError("server",
            "java.lang.UnsupportedOperationException: " + name);
    }
    return String(v);
}
function asLong(v, name) {
    if (typeof v === "number") return Math.trunc(v);
    if (typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v.trim())) {
        return Math.trunc(Number(v));
    }
    throw new CoreError("server", "java.lang.NumberFormatException: " + name);
}

// AccessTokenInfo.fromJSON.
function infoFromPayload(payload, version) {
    if (payload === null || typeof payload !== "object" ||
        Array.isArray(payload)) {
        throw new CoreError("server",
            "java.lang.IllegalStateException: Not a JSON Object");
    }
    for (const prop of PROTECTED[version]) {
        if (!Object.prototype.hasOwnProperty.call(payload, prop)) {
            throw tryRefresh("Access token does not contain all the " +
                "information. Maybe the structure has changed? " + prop);
        }
    }
    const nullable = (v, n) => (v === undefined || v === null ? null
        : asString(v, n));
    if (version >= 3) {
        const userData = {};
        for (const [k, v] of Object.entries(payload)) {
            if (!PROTECTED[version].includes(k)) userData[k] = v;
        }
        const exp = asLong(payload.exp, "exp") * 1000;
        const iat = asLong(payload.iat, "iat") * 1000;
        return {
            version,
            sessionHandle: asString(payload.sessionHandle, "sessionHandle"),
            primaryUserId: asString(payload.sub, "sub"),
            recipeUserId: version >= 5 ? asString(payload.rsub, "rsub")
                : asString(payload.sub, "sub"),
            tenantId: version === 3 ? "public" : asString(payload.tId, "tId"),
            refreshTokenHash1: asString(payload.refreshTokenHash1, "rth1"),
            parentRefreshTokenHash1: nullable(
                payload.parentRefreshTokenHash1, "prth"),
            antiCsrfToken: nullable(payload.antiCsrfToken, "antiCsrfToken"),
            expiryTime: exp - (exp % 1000),
            timeCreated: iat - (iat % 1000),
            userData,
        };
    }
    const ud = payload.userData;
    if (ud === null || typeof ud !== "object" || Array.isArray(ud)) {
        throw new CoreError("server",
            "java.lang.IllegalStateException: Not a JSON Object");
    }
    return {
        version,
        sessionHandle: asString(payload.sessionHandle, "sessionHandle"),
        primaryUserId: asString(payload.userId, "userId"),
        recipeUserId: asString(payload.userId, "userId"),
        tenantId: "public",
        refreshTokenHash1: asString(payload.refreshTokenHash1, "rth1"),
        parentRefreshTokenHash1: nullable(payload.parentRefreshTokenHash1,
            "prth"),
        antiCsrfToken: nullable(payload.antiCsrfToken, "antiCsrfToken"),
        expiryTime: asLong(payload.expiryTime, "expiryTime"),
        timeCreated: asLong(payload.timeCreated, "timeCreated"),
        userData: ud,
    };
}

function decodePayload(pre) {
    try {
        return JSON.parse(fromBase64Lenient(pre.parts[1]).toString("utf8"));
    } catch (e) {
        throw new CoreError("server",
            "com.google.gson.JsonSyntaxException: payload");
    }
}

// Loose decoder for humans (mint.js --decode) and the test runner.
function decode(token) {
    const parts = String(token).split(".");
    const dec = (s) => {
        try {
            return JSON.parse(fromBase64Lenient(s).toString("utf8"));
        } catch (e) {
            return null;
        }
    };
    const legacy = parts[0] === LEGACY_HEADER[1] ? 1
        : parts[0] === LEGACY_HEADER[2] ? 2 : 0;
    return { header: dec(parts[0] || ""), payload: dec(parts[1] || ""),
        legacy };
}

module.exports = {
    LEGACY_HEADER, PROTECTED, b64u, b64, sha256hex, fromBase64Lenient,
    signRs256, corePayload, encodeJws, coreHeader, CoreError, tryRefresh,
    preParse, verifySig, infoFromPayload, decodePayload, decode,
};
