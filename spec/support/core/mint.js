#!/usr/bin/env node
"use strict";
// Mints access tokens with the core stand-in's keys ($CORE_STATE_DIR), in
// the core's v5 layout by default, with knobs to break them on purpose.
//
// CLI: node mint.js [options]           prints the token
//   --sub U --rsub U --tid T|none --handle H --rth HASH --prth HASH
//   --anti-csrf TOK --iss URL|none
//   --exp-in S (default 3600, negative = expired) --exp S --iat S
//   --claims JSON (merged after the core claims)  --drop a,b  --set JSON
//   --key dynamic|latest|static|rogue|<kid>   --kid KID|none
//   --version 5|none|number:5|<any string>    --typ JWT|none  --alg RS256
//   --header JSON (merged last; null removes)  --sign RS256|PS256|HS256|none
//   --header-raw TEXT --payload-raw TEXT (segment bytes as given)
//   --b64 url|std|stdpad (segment alphabet)    --tamper
//   --legacy v1|v2 (std-base64 legacy token, spec §1.2)
//   --register (POST the session to $CORE_URL/__standin/session)
//   --json (print {token, header, payload})    --decode TOKEN
// Module: const { mint, decode, registerSession } = require("./mint");
const crypto = require("crypto");
const http = require("http");
const keysLib = require("./lib/keys");
const J = require("./lib/jwt");

function defaultIssuer() {
    const d = (process.env.ST_API_DOMAIN || "http://localhost:3001")
        .replace(/\/+$/, "");
    return d + (process.env.ST_API_BASE_PATH || "/auth");
}

function encodeSeg(buf, style) {
    if (style === "std") return J.b64(buf).replace(/=+$/, "");
    if (style === "stdpad") return J.b64(buf);
    return J.b64u(buf);
}

function signWith(alg, input, key, secret) {
    const data = Buffer.from(input);
    switch (alg) {
    case "RS256": return crypto.sign("sha256", data, key.privatePem);
    case "RS384": return crypto.sign("sha384", data, key.privatePem);
    case "RS512": return crypto.sign("sha512", data, key.privatePem);
    case "PS256": return crypto.sign("sha256", data, {
        key: key.privatePem, padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32 });
    case "HS256": return crypto.createHmac("sha256", secret || "secret")
        .update(data).digest();
    case "none": return Buffer.alloc(0);
    default: throw new Error("cannot sign with " + alg);
    }
}

function stripNulls(o) {
    for (const k of Object.keys(o)) if (o[k] === null) delete o[k];
    return o;
}

/**
 * opts (all optional): sub, rsub, tId (null = omit), sessionHandle,
 * refreshTokenHash1, parentRefreshTokenHash1, antiCsrfToken, iss (null =
 * omit), expIn | exp, iat, claims, drop[], set{}, key, kid (null = omit),
 * version (null = omit; a number stays a JSON number), typ (null = omit),
 * alg, header{}, sign, hmacSecret, headerRaw, payloadRaw, b64, tamper,
 * legacy (1|2), stateDir
 */
function mint(opts = {}) {
    const key = keysLib.pickKey(opts.key || "dynamic", opts.stateDir);
    const nowS = Math.floor(Date.now() / 1000);
    const sub = opts.sub !== undefined ? opts.sub : "user-1";
    const iat = opts.iat !== undefined ? opts.iat : nowS;
    const exp = opts.exp !== undefined ? opts.exp
        : nowS + (opts.expIn !== undefined ? opts.expIn : 3600);
    const handle = opts.sessionHandle || crypto.randomUUID();
    const rth = opts.refreshTokenHash1 ||
        J.sha256hex(crypto.randomBytes(32));
    const iss = opts.iss === undefined ? defaultIssuer() : opts.iss;

    if (opts.legacy) {
        const p = {
            userId: sub,
            expiryTime: opts.exp !== undefined ? opts.exp * 1000
                : Date.now() + (opts.expIn !== undefined ? opts.expIn : 3600) *
                1000,
            timeCreated: iat * 1000,
            sessionHandle: handle,
            refreshTokenHash1: rth,
        };
        if (opts.parentRefreshTokenHash1 != null) {
            p.parentRefreshTokenHash1 = opts.parentRefreshTokenHash1;
        }
        if (opts.antiCsrfToken != null) p.antiCsrfToken = opts.antiCsrfToken;
        p.userData = { ...(opts.claims || {}) };
        for (const f of opts.drop || []) delete p[f];
        Object.assign(p, opts.set || {});
        let token = J.encodeJws(null,
            opts.payloadRaw !== undefined ? opts.payloadRaw : p, key,
            { legacy: Number(opts.legacy) });
        if (opts.tamper) token = tamperToken(token, true);
        return { token, header: J.decode(token).header, payload: p,
            kid: null };
    }

    const payload = {
        sub, exp, iat,
        tId: opts.tId === undefined ? "public" : opts.tId,
        rsub: opts.rsub !== undefined ? opts.rsub : sub,
        sessionHandle: handle,
        refreshTokenHash1: rth,
        parentRefreshTokenHash1: opts.parentRefreshTokenHash1 !== undefined
            ? opts.parentRefreshTokenHash1 : null,
        antiCsrfToken: opts.antiCsrfToken !== undefined
            ? opts.antiCsrfToken : null,
    };
    if (payload.tId === null) delete payload.tId;
    if (iss !== null) payload.iss = iss;
    Object.assign(payload, opts.claims || {});
    for (const f of opts.drop || []) delete payload[f];
    Object.assign(payload, opts.set || {});

    const header = {
        kid: opts.kid !== undefined ? opts.kid : key.kid,
        typ: opts.typ !== undefined ? opts.typ : "JWT",
        version: opts.version !== undefined ? opts.version : "5",
        alg: opts.alg || "RS256",
    };
    stripNulls(header);
    for (const [k, v] of Object.entries(opts.header || {})) {
        if (v === null) delete header[k];
        else header[k] = v;
    }
    const style = opts.b64 || "url";
    const h = encodeSeg(Buffer.from(opts.headerRaw !== undefined
        ? opts.headerRaw : JSON.stringify(header)), style);
    const p = encodeSeg(Buffer.from(opts.payloadRaw !== undefined
        ? opts.payloadRaw : JSON.stringify(payload)), style);
    const sig = signWith(opts.sign || "RS256", h + "." + p, key,
        opts.hmacSecret);
    let token = h + "." + p + "." + encodeSeg(sig, style);
    if (opts.tamper) token = tamperToken(token, false);
    return { token, header, payload, kid: header.kid };
}

// Changes one payload claim after signing, keeping the encoding style.
function tamperToken(token, legacy) {
    const [h, p, s] = token.split(".");
    const obj = JSON.parse(J.fromBase64Lenient(p).toString("utf8"));
    if (legacy) obj.userId = String(obj.userId) + "-tampered";
    else obj.sub = String(obj.sub) + "-tampered";
    const txt = Buffer.from(JSON.stringify(obj));
    const np = legacy ? J.b64(txt) : /[+/=]/.test(p) ? J.b64(txt) : J.b64u(txt);
    return h + "." + np + "." + s;
}

function decode(token) {
    return J.decode(token);
}

function postJson(url, body) {
    return new Promise((resolve, reject) => {
        const data = JSON.stringify(body);
        const req = http.request(url, { method: "POST", headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(data) } }, (res) => {
            let out = "";
            res.on("data", (c) => (out += c));
            res.on("end", () => {
                try {
                    resolve(JSON.parse(out));
                } catch (e) {
                    reject(new Error(`${res.statusCode} ${out.trim()}`));
                }
            });
        });
        req.on("error", reject);
        req.end(data);
    });
}

// Makes the stand-in know the session of a minted token (checkDatabase,
// parentRefreshTokenHash1 promotion, regenerate need a session row).
function registerSession(token, extra = {}, coreUrl = process.env.CORE_URL ||
    "http://127.0.0.1:" + (process.env.CORE_PORT || 3567)) {
    return postJson(coreUrl.replace(/\/+$/, "") + "/__standin/session",
        { token, ...extra });
}

function parseArgs(argv) {
    const o = {};
    const flags = {};
    const nul = (x) => (x === "none" ? null : x);
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const v = () => {
            if (i + 1 >= argv.length) throw new Error(a + " needs a value");
            return argv[++i];
        };
        switch (a) {
        case "--sub": o.sub = v(); break;
        case "--rsub": o.rsub = v(); break;
        case "--tid": o.tId = nul(v()); break;
        case "--handle": o.sessionHandle = v(); break;
        case "--rth": o.refreshTokenHash1 = v(); break;
        case "--prth": o.parentRefreshTokenHash1 = nul(v()); break;
        case "--anti-csrf": o.antiCsrfToken = nul(v()); break;
        case "--iss": o.iss = nul(v()); break;
        case "--exp-in": o.expIn = Number(v()); break;
        case "--exp": o.exp = Number(v()); break;
        case "--iat": o.iat = Number(v()); break;
        case "--claims": o.claims = JSON.parse(v()); break;
        case "--drop": o.drop = v().split(","); break;
        case "--set": o.set = JSON.parse(v()); break;
        case "--key": o.key = v(); break;
        case "--kid": o.kid = nul(v()); break;
        case "--version": {
            const x = v();
            o.version = x === "none" ? null : x.startsWith("number:")
                ? Number(x.slice(7)) : x;
            break;
        }
        case "--typ": o.typ = nul(v()); break;
        case "--alg": o.alg = v(); break;
        case "--header": o.header = JSON.parse(v()); break;
        case "--header-raw": o.headerRaw = v(); break;
        case "--payload-raw": o.payloadRaw = v(); break;
        case "--sign": o.sign = v(); break;
        case "--b64": o.b64 = v(); break;
        case "--tamper": o.tamper = true; break;
        case "--legacy": o.legacy = Number(v().replace(/^v/, "")); break;
        case "--json": flags.json = true; break;
        case "--register": flags.register = true; break;
        case "--decode": flags.decode = v(); break;
        case "--help": case "-h": flags.help = true; break;
        default: throw new Error("unknown option " + a);
        }
    }
    return { o, flags };
}

async function main() {
    const { o, flags } = parseArgs(process.argv.slice(2));
    if (flags.help) {
        const src = require("fs").readFileSync(__filename, "utf8");
        process.stdout.write(src.split("\n").slice(2, 20)
            .map((l) => l.replace(/^\/\/ ?/, "")).join("\n") + "\n");
        return;
    }
    if (flags.decode) {
        process.stdout.write(JSON.stringify(decode(flags.decode), null, 2) +
            "\n");
        return;
    }
    const r = mint(o);
    if (flags.register) await registerSession(r.token);
    process.stdout.write((flags.json ? JSON.stringify(r, null, 2) : r.token) +
        "\n");
}

if (require.main === module) {
    main().catch((e) => {
        process.stderr.write("mint.js: " + e.message + "\n");
        process.exit(2);
    });
}

module.exports = { mint, decode, registerSession, tamperToken, defaultIssuer };
