#!/usr/bin/env node
"use strict";
// Differential conformance run: every case goes to the real
// supertokens-node (sdk-app.js) and to the gateway (./gateway start), both
// configured by the same ST_* variables and both talking to the same core
// stand-in; the answers are compared part by part (lib/view.js).
//
// env: CONFORMANCE_TARGET=gateway|sdk (sdk: compare the SDK with a second
//      SDK instance, a self-check of the harness)
//      CONFORMANCE_SEED (default: time-based, printed)
//      CONFORMANCE_GEN=2000 (generated cases, spread over the configs)
//      CONFORMANCE_CONFIGS=default,viaToken (also the extra ones of
//      configs.js, which run only when named)  CONFORMANCE_ONLY=<regex>
//      CONFORMANCE_PORT=27300 (core; the sides use the next ports)
//      CONFORMANCE_VERBOSE=1 (print every case)  CONFORMANCE_KEEP=1 (keep the
//      temp dir with keys and process logs; kept anyway on failure)
//      CONFORMANCE_B_ENV='{"ST_ANTI_CSRF":"VIA_TOKEN"}' (extra env for the
//      compared side only: shows that the harness does catch differences)
const fs = require("fs");
const os = require("os");
const path = require("path");
const procs = require("./lib/procs");
const { request } = require("./lib/http");
const { view, coreView, compare } = require("./lib/view");
const { coreClient, makeCtx } = require("./lib/ctx");
const { generate } = require("./gen");
const CONFIGS = require("./configs");

const env = process.env;
const HERE = __dirname;
const TOP = path.resolve(HERE, "..", "..");
const TARGET = env.CONFORMANCE_TARGET || "gateway";
const SEED = env.CONFORMANCE_SEED !== undefined
    ? Number(env.CONFORMANCE_SEED) : (Date.now() % 2147483647);
const GEN = Number(env.CONFORMANCE_GEN !== undefined
    ? env.CONFORMANCE_GEN : 2000);
// Below Linux's ephemeral range (32768-60999): a port this suite's own
// client connections used a moment ago can sit in TIME_WAIT, and a listener
// cannot bind it then.
const BASE_PORT = Number(env.CONFORMANCE_PORT || 27300);
const CORE_PORT = BASE_PORT;
const SDK_PORT = BASE_PORT + 1;
const B_PORT = BASE_PORT + 2;
// Several cores (a configuration's `cores`): "main" is the stand-in's own
// port, "second" a second listener of the same stand-in (one database, as
// real cores of one connectionURI must share), "dead" a port nobody
// listens on (connection refused).
const CORE_PORTS = { main: CORE_PORT, second: BASE_PORT + 3,
    dead: BASE_PORT + 4 };
const coreUri = (cfg) => (cfg.cores || ["main"])
    .map((n) => `http://127.0.0.1:${CORE_PORTS[n]}`).join(";");
const ONLY = env.CONFORMANCE_ONLY ? new RegExp(env.CONFORMANCE_ONLY) : null;
const VERBOSE = env.CONFORMANCE_VERBOSE === "1";
// CONFORMANCE_GATEWAY: another script with the same start/stop contract
// (e.g. spec/kong/gateway, the Kong plugin behind the PDK adapter).
const GATEWAY = env.CONFORMANCE_GATEWAY
    ? path.resolve(env.CONFORMANCE_GATEWAY) : path.join(HERE, "gateway");
const B_NAME = TARGET === "sdk" ? "sdk2" : "gw";
// The gateway runs as a daemon of its own: stopped by its script, also when
// this process dies half way.
let gatewayEnv = null;
function stopGatewaySync() {
    if (!gatewayEnv) return;
    require("child_process").spawnSync(GATEWAY, ["stop"],
        { env: { ...process.env, ...gatewayEnv }, stdio: "ignore",
            timeout: 15000 });
    gatewayEnv = null;
}

function loadCases() {
    const dir = path.join(HERE, "cases");
    const out = [];
    for (const f of fs.readdirSync(dir).sort()) {
        if (!f.endsWith(".js") || f.startsWith("_")) continue;
        for (const c of require(path.join(dir, f))) {
            out.push({ ...c, file: f });
        }
    }
    const names = new Set();
    for (const c of out) {
        if (names.has(c.name)) throw new Error("duplicate case " + c.name);
        names.add(c.name);
    }
    return out;
}

function loadKnown() {
    const list = JSON.parse(fs.readFileSync(
        path.join(HERE, "known-differences.json"), "utf8"));
    // Every accepted difference must be explained to users too.
    const readme = fs.readFileSync(path.join(HERE, "README.md"), "utf8");
    const section = readme.split("## Differences from supertokens-node")[1];
    if (!section) throw new Error("README.md: no 'Differences from " +
        "supertokens-node' section");
    for (const k of list) {
        if (!k.id || !k.reason) throw new Error("known difference needs " +
            "id and reason: " + JSON.stringify(k));
        if (!section.includes("`" + k.id + "`")) {
            throw new Error(`README.md: known difference ${k.id} is not ` +
                "listed under 'Differences from supertokens-node'");
        }
        k.re = {
            gateway: new RegExp(k.gateway || ".*"),
            config: new RegExp(k.config || ".*"),
            case: new RegExp(k.case || ".*"),
            field: new RegExp(k.field || ".*"),
        };
        k.hits = 0;
    }
    return list;
}

function knownFor(known, cfg, name, d) {
    return known.find((k) => k.re.gateway.test(GATEWAY) &&
        k.re.config.test(cfg) && k.re.case.test(name) &&
        k.re.field.test(d.path));
}

// ---- what the SDK answered, in the vocabulary of the case files
function outcomeOf(v, cfg) {
    const expired = Number(cfg.env.ST_SESSION_EXPIRED_STATUS_CODE || 401);
    const claim = Number(cfg.env.ST_INVALID_CLAIM_STATUS_CODE || 403);
    const msg = v.body && v.body.message;
    if (v.status === 200) {
        if (v.body === "") return "ok|none";
        return v.body && v.body.userId !== undefined ? "ok" : "none";
    }
    if (v.status === 204) return "preflight";
    if (v.status === expired && msg === "unauthorised") {
        return v.frontToken === "remove" ? "clear" : "unauth";
    }
    if (v.status === expired && msg === "try refresh token") return "refresh";
    if (v.status === claim && msg === "invalid claim") return "claim";
    if (v.status === 500) return "error";
    return "status " + v.status;
}

// A HEAD answer has no body: only the status can be checked.
function expectationOk(expected, got, method, v, cfg) {
    if (got === "ok|none") return expected === "ok" || expected === "none";
    if (method === "HEAD") {
        const code = { unauth: "ST_SESSION_EXPIRED_STATUS_CODE",
            refresh: "ST_SESSION_EXPIRED_STATUS_CODE",
            clear: "ST_SESSION_EXPIRED_STATUS_CODE",
            claim: "ST_INVALID_CLAIM_STATUS_CODE" }[expected];
        if (code) {
            const want = Number(cfg.env[code] ||
                (expected === "claim" ? 403 : 401));
            return v.status === want;
        }
    }
    return expected === got;
}

const short = (s, n = 60) => {
    let t = typeof s === "string" ? s : JSON.stringify(s);
    if (t === undefined) return "undefined";
    t = t.replace(/\s+/g, " ");
    return t.length > n ? t.slice(0, n - 1) + "…" : t;
};

function describeReq(r) {
    const hs = r.headers.map(([k, v]) => `${k}: ${short(v, 48)}`).join(" | ");
    return `${r.method} ${r.path}${hs ? " | " + hs : ""}` +
        (r.body ? ` | body ${short(r.body, 30)}` : "");
}

async function startSide(name, cfg, port, stateDir, logStream) {
    const sideEnv = { ...cfg.env, PORT: String(port),
        ST_CONNECTION_URI: coreUri(cfg),
        // cases/paths.js: a verified route on every path with a /session/
        // segment, and the SDK's refresh branch answering as a pass
        ST_SESSION_ROUTE: "1", SDK_APP_REFRESH_PASSES: "1",
        ...(name !== "sdk" && env.CONFORMANCE_B_ENV
            ? JSON.parse(env.CONFORMANCE_B_ENV) : {}) };
    if (name === "gw") {
        const dir = path.join(stateDir, "gateway-" + cfg.name);
        fs.mkdirSync(dir, { recursive: true });
        const genv = { ...sideEnv, ST_GATEWAY_STATE: dir };
        // /auth/* → the SDK app; no case needs it (they never call the
        // SuperTokens APIs through the gateway).
        if (env.CONFORMANCE_BACKEND === "1") {
            genv.ST_BACKEND_URL = `http://127.0.0.1:${SDK_PORT}`;
        }
        gatewayEnv = genv;
        const r = await procs.run(GATEWAY, ["start"], { env: genv,
            timeout: 60000 });
        logStream.write(`[gateway start ${cfg.name}] rc=${r.code}\n${r.output}`);
        if (r.code !== 0) {
            stopGatewaySync();
            throw new Error(`gateway start failed (rc ${r.code}):\n` +
                r.output.slice(-1500));
        }
        await procs.waitPort(port, null, 20000);
        return { name, port, stop: async () => {
            const s = await procs.run(GATEWAY, ["stop"], { env: genv,
                timeout: 30000 });
            logStream.write(`[gateway stop ${cfg.name}] rc=${s.code}\n` +
                s.output);
            gatewayEnv = null;
            if (!(await procs.waitClosed(port, 5000))) {
                throw new Error("gateway still listening after stop");
            }
        } };
    }
    const p = procs.start(name, process.execPath,
        [path.join(HERE, "sdk-app.js")], { env: sideEnv, logTo: logStream });
    await procs.waitPort(port, p, 20000);
    return { name, port, proc: p, stop: () => procs.stop(p) };
}

async function sendCase(side, req, core, sleep, cfg) {
    if (sleep) await procs.sleep(sleep);
    const before = (await core.logSince(1e15)).count;
    let res;
    try {
        // several cores: each request on a new connection, so that the
        // gateway's workers share the cases (one round robin for all)
        res = await request(side.port, req,
            { fresh: !!(cfg && cfg.cores && cfg.cores.length > 1) });
    } catch (e) {
        res = { status: 0, headers: {}, text: "transport error: " + e.message };
    }
    const calls = (await core.logSince(before)).requests;
    return view(res, coreView(calls, side.cores));
}

// With several cores: each side's view of the round robin (lib/view.js
// coreView), port -> position in the configuration's connection URI
function coreTrack(cfg) {
    if (!cfg.cores || cfg.cores.length < 2) return undefined;
    const index = {};
    cfg.cores.forEach((n, i) => { index[CORE_PORTS[n]] = i; });
    return { index, n: cfg.cores.length, last: undefined };
}

async function runConfig(cfg, cases, known, core, kids, stateDir, logStream,
    totals) {
    const t0 = Date.now();
    await core.reset();
    // setup calls (ctx.core.create, refresh, verify) carry the key
    core.apiKey = cfg.env.ST_API_KEY;
    core.ports = CORE_PORTS;
    // the configuration's core: api keys it enforces, faults of one of
    // several cores (kept in the base snapshot)
    if (cfg.coreSetup) await cfg.coreSetup(core, CORE_PORTS);
    const ctx = makeCtx(cfg, core, kids, stateDir);
    const result = { name: cfg.name, passed: 0, failed: 0, known: 0,
        lines: [] };
    let sideA;
    let sideB;
    try {
        sideA = await startSide("sdk", cfg, SDK_PORT, stateDir, logStream);
        sideB = await startSide(B_NAME, cfg, B_PORT, stateDir, logStream);
        sideA.cores = coreTrack(cfg);
        sideB.cores = coreTrack(cfg);
    } catch (e) {
        if (sideA) await sideA.stop();
        result.failed = cases.length;
        result.lines.push(`  ERROR [${cfg.name}] cannot start: ${e.message}`);
        return result;
    }
    try {
        // Warm both JWKS caches so that case order does not matter.
        const warm = { method: "GET", path: "/verify",
            headers: [["Authorization", "Bearer " + ctx.T()]] };
        await request(sideA.port, warm);
        await request(sideB.port, warm);
        await core.snapshot("base");
        for (const c of cases) {
            await core.restore("base");
            let data;
            let req;
            try {
                data = c.setup ? await c.setup(ctx) : undefined;
                let path = (typeof c.route === "function"
                    ? c.route(ctx) : c.route) || "/verify";
                // /verify-admin exists where ST_CLAIMS gives both sides
                // UserRoles (st-role / st-perm validators); a generated case
                // elsewhere goes to /verify
                if (!ctx.roles && path.startsWith("/verify-admin")) {
                    path = "/verify" + path.slice("/verify-admin".length);
                }
                req = { method: c.method || "GET", path,
                    headers: c.headers(ctx, data), body: c.body };
            } catch (e) {
                result.failed++;
                result.lines.push(`  ERROR [${cfg.name}] ${c.name}: setup: ` +
                    e.message);
                continue;
            }
            await core.snapshot("case");
            if (sideA.cores) {
                const both = sideA.cores.last !== undefined &&
                    sideB.cores.last !== undefined;
                sideA.cores.compare = both;
                sideB.cores.compare = both;
            }
            const va = await sendCase(sideA, req, core, c.sleep, cfg);
            await core.restore("case");
            const vb = await sendCase(sideB, req, core, c.sleep, cfg);
            const diffs = compare(va, vb);
            const unexpected = [];
            const hit = new Set();
            for (const d of diffs) {
                const k = knownFor(known, cfg.name, c.name, d);
                if (k) hit.add(k);
                else unexpected.push(d);
            }
            for (const k of hit) k.hits++;
            const knownHit = hit.size > 0;
            const problems = [];
            let exp = typeof c.exp === "function" ? c.exp(ctx, data) : c.exp;
            const route = req.path.split("?")[0];
            if (exp === "unauth" && route === "/verify-optional") exp = "none";
            // a configuration whose outcomes depend on which core a call
            // lands on (a failing one of several) is compared with the SDK
            // only: the cases' expectations assume a working core
            if (exp && !cfg.noExp) {
                const got = outcomeOf(va, cfg);
                if (!expectationOk(exp, got, req.method, va, cfg)) {
                    problems.push(`expected ${exp} from the SDK, got ${got}`);
                }
            }
            if (unexpected.length || problems.length) {
                result.failed++;
                result.lines.push(`  FAIL [${cfg.name}] ${c.name}`);
                result.lines.push(`    req: ${short(describeReq(req), 300)}`);
                for (const p of problems) result.lines.push(`    ${p}`);
                for (const d of unexpected.slice(0, 8)) {
                    result.lines.push(`    ${d.path}: sdk=${short(d.a)} ` +
                        `${B_NAME}=${short(d.b)}`);
                }
                if (unexpected.length > 8) {
                    result.lines.push(`    … ${unexpected.length - 8} more`);
                }
            } else {
                result.passed++;
                if (knownHit) result.known++;
                if (VERBOSE) {
                    result.lines.push(`  ok   [${cfg.name}] ${c.name}` +
                        " => " + outcomeOf(va, cfg) +
                        (knownHit ? " (known difference)" : ""));
                }
            }
        }
    } finally {
        await sideA.stop();
        await sideB.stop().catch((e) => {
            result.lines.push(`  ERROR [${cfg.name}] stop: ${e.message}`);
            result.failed++;
        });
    }
    totals.ms[cfg.name] = Date.now() - t0;
    return result;
}

async function main() {
    const tStart = Date.now();
    if (TARGET === "gateway" && !fs.existsSync(GATEWAY)) {
        console.log(`conformance: ${path.relative(TOP, GATEWAY)} is missing ` +
            "(the OpenResty shell provides it); nothing to compare against. " +
            "CONFORMANCE_TARGET=sdk runs the harness self-check.");
        console.log("0 passed, 1 failed");
        process.exit(1);
    }
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "st-conformance-"));
    const logFile = path.join(stateDir, "processes.log");
    const logStream = fs.createWriteStream(logFile);
    const cleanup = () => {
        stopGatewaySync();
        procs.killAllSync();
    };
    process.on("exit", cleanup);
    for (const sig of ["SIGINT", "SIGTERM"]) {
        process.on(sig, () => { cleanup(); process.exit(130); });
    }
    // extra configurations run only when named
    const selected = CONFIGS.filter((c) => (!env.CONFORMANCE_CONFIGS &&
        !c.extra) || (env.CONFORMANCE_CONFIGS || "").split(",")
        .includes(c.name));
    console.log(`conformance: target=${TARGET} seed=${SEED} generated=${GEN}` +
        ` configs=${selected.map((c) => c.name).join(",")} logs=${logFile}`);

    const coreProc = procs.start("core", process.execPath,
        [path.join(TOP, "spec/support/core/server.js")], {
            env: { CORE_PORT: String(CORE_PORT), CORE_STATE_DIR: stateDir,
                CORE_EXTRA_PORTS: String(CORE_PORTS.second),
                CORE_QUIET: "1" }, logTo: logStream });
    await procs.waitPort(CORE_PORT, coreProc, 20000);
    const core = coreClient(CORE_PORT);
    const st = await core.state();
    const kids = { dynamic: st.published[0], static: st.static,
        rogue: st.rogue };

    const hand = loadCases();
    const generated = generate(GEN, SEED);
    const known = loadKnown();
    const totals = { passed: 0, failed: 0, known: 0, ms: {} };
    let handCount = 0;
    try {
        for (const [ci, cfg] of selected.entries()) {
            const cases = hand.filter((c) => !c.only ||
                c.only.includes(cfg.name));
            handCount += cases.length;
            // Each configuration gets its own share of the generated cases.
            // noGen: a configuration whose answers depend on which core
            // the round robin is at (a failing core of several) runs the
            // hand-written cases only: a generated case with an accepted
            // difference in core calls (strict-base64url with
            // checkDatabase) moves one side's index on for good
            const mine = cfg.noGen ? [] : generated.filter((g, gi) =>
                gi % selected.length === ci);
            const all = [...cases, ...mine].filter((c) => !ONLY ||
                ONLY.test(c.name));
            const r = await runConfig(cfg, all, known, core, kids, stateDir,
                logStream, totals);
            for (const l of r.lines) console.log(l);
            console.log(`${cfg.name}: ${r.passed} passed, ${r.failed} failed` +
                (r.known ? ` (${r.known} with known differences)` : "") +
                ` [${((totals.ms[cfg.name] || 0) / 1000).toFixed(1)} s]`);
            totals.passed += r.passed;
            totals.failed += r.failed;
            totals.known += r.known;
        }
    } finally {
        await procs.stop(coreProc);
        await new Promise((r) => logStream.end(r));
    }
    const used = known.filter((k) => k.hits > 0);
    if (used.length) {
        console.log("known differences seen (cases): " + used.map((k) =>
            `${k.id} ${k.hits}`).join(", "));
    }
    console.log(`hand-written cases: ${hand.length} (${handCount} runs), ` +
        `generated: ${GEN}, seed ${SEED}, ` +
        `${((Date.now() - tStart) / 1000).toFixed(1)} s`);
    if (totals.failed === 0 && env.CONFORMANCE_KEEP !== "1") {
        fs.rmSync(stateDir, { recursive: true, force: true });
    } else {
        console.log(`state, keys and process logs kept in ${stateDir}`);
    }
    console.log(`${totals.passed} passed, ${totals.failed} failed`);
    process.exitCode = totals.failed ? 1 : 0;
}

main().catch((e) => {
    console.error(e.stack || String(e));
    console.log("0 passed, 1 failed");
    stopGatewaySync();
    procs.killAllSync();
    process.exit(1);
});
