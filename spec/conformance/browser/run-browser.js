#!/usr/bin/env node
"use strict";
// Headless Chromium runs supertokens-website against the gateway: the
// core stand-in (2 s access tokens), the SDK app (SuperTokens APIs + a
// test login, behind nginx under /auth and /test/login), and nginx with
// lua-resty-supertokens protecting /api/user. Per transfer mode (cookie,
// header) the page signs in, calls /api/user, lets the token expire, calls
// again (401 try refresh token -> POST /auth/session/refresh -> retry ->
// 200), signs out, and is refused. Prints one line per check and
// "N passed, M failed".
//
// env: BROWSER_PORT (27400: core; +1 SDK app; +2 nginx), CHROMIUM
//      (/usr/bin/chromium), BROWSER_MODES (cookie,header), BROWSER_KEEP=1
const fs = require("fs");
const os = require("os");
const path = require("path");
const procs = require("../lib/procs");
const { getJson } = require("../lib/http");

const HERE = __dirname;
const TOP = path.resolve(HERE, "..", "..", "..");
const BASE = Number(process.env.BROWSER_PORT || 27400);
const CORE_PORT = BASE;
const SDK_PORT = BASE + 1;
const WEB_PORT = BASE + 2;
const ORIGIN = `http://localhost:${WEB_PORT}`;
const MODES = (process.env.BROWSER_MODES || "cookie,header").split(",");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
    if (ok) passed++;
    else failed++;
    console.log(`${ok ? "ok  " : "FAIL"} ${name}` +
        (ok || detail === undefined ? "" : ` — ${detail}`));
}

function render(prefix, publicDir) {
    const text = fs.readFileSync(path.join(HERE, "nginx.conf.in"), "utf8")
        .replace(/@PREFIX@/g, prefix).replace(/@PUBLIC@/g, publicDir)
        .replace(/@TOP@/g, TOP).replace(/@PORT@/g, String(WEB_PORT))
        .replace(/@SDK_PORT@/g, String(SDK_PORT));
    const file = path.join(prefix, "nginx.conf");
    fs.writeFileSync(file, text);
    return file;
}

async function runMode(browser, mode, core) {
    const page = await browser.newPage();
    const net = [];
    page.on("response", (r) => {
        const u = new URL(r.url());
        if (!u.pathname.endsWith(".js") && !u.pathname.endsWith(".html")) {
            net.push(`${r.request().method()} ${u.pathname} ${r.status()}`);
        }
    });
    const before = (await core.logSince(1e15)).count;
    await page.goto(`${ORIGIN}/index.html?mode=${mode}`);
    await page.waitForFunction(() => document.title === "DONE",
        { timeout: 30000 });
    const results = JSON.parse(await page.$eval("#out",
        (e) => e.textContent));
    await page.close();
    const calls = (await core.logSince(before)).requests
        .map((e) => `${e.method} ${e.path}`);
    const by = Object.fromEntries(results.map((r) => [r.name, r]));
    const show = (r) => JSON.stringify(r);
    const user = "browser-" + mode;
    const p = `[${mode}] `;

    check(p + "signed-out user gets 401 unauthorised",
        by["signed out"].status === 401 &&
        by["signed out"].message === "unauthorised", show(by["signed out"]));
    check(p + "login through the SDK app", by.login.status === 200,
        show(by.login));
    check(p + "session exists after login",
        by["session exists"].value === true, show(by["session exists"]));
    check(p + "/api/user answers the user", by.user.status === 200 &&
        by.user.userId === user, show(by.user));
    check(p + "after expiry: transparent refresh, then the user",
        by["user after expiry"].status === 200 &&
        by["user after expiry"].userId === user,
        show(by["user after expiry"]));
    // The browser's own view: the gateway's 401, the SDK's refresh, the
    // retried call.
    const i401 = net.indexOf("GET /api/user 401", 1);
    const iRef = net.indexOf("POST /auth/session/refresh 200", i401);
    const iRetry = net.indexOf("GET /api/user 200", iRef);
    check(p + "network: 401 -> POST /auth/session/refresh -> retry 200",
        i401 > 0 && iRef > i401 && iRetry > iRef, net.join(", "));
    check(p + "core: refresh, then the gateway's first-use verify " +
        "(parentRefreshTokenHash1)",
        calls.indexOf("POST /recipe/session/verify",
            calls.indexOf("POST /recipe/session/refresh")) > 0,
        calls.join(", "));
    check(p + "second call after refresh", by["user again"].status === 200 &&
        by["user again"].userId === user, show(by["user again"]));
    check(p + "signed out: no session, 401",
        by["session exists after sign out"].value === false &&
        by["user after sign out"].status === 401,
        show([by["session exists after sign out"],
            by["user after sign out"]]));
}

async function main() {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "st-browser-"));
    // nginx workers run as nobody: they read the page and write temp files.
    fs.chmodSync(tmp, 0o755);
    const publicDir = path.join(tmp, "public");
    fs.mkdirSync(publicDir);
    fs.mkdirSync(path.join(tmp, "tmp"), { mode: 0o1777 });
    fs.chmodSync(path.join(tmp, "tmp"), 0o1777);
    fs.copyFileSync(path.join(HERE, "public", "index.html"),
        path.join(publicDir, "index.html"));
    require("esbuild").buildSync({ entryPoints: [path.join(HERE, "entry.js")],
        bundle: true, format: "iife", logLevel: "warning",
        outfile: path.join(publicDir, "supertokens-website.js") });
    fs.chmodSync(publicDir, 0o755);
    for (const f of fs.readdirSync(publicDir)) {
        fs.chmodSync(path.join(publicDir, f), 0o644);
    }
    const logStream = fs.createWriteStream(path.join(tmp, "processes.log"));
    process.on("exit", () => procs.killAllSync());
    const stEnv = {
        ST_CONNECTION_URI: `http://127.0.0.1:${CORE_PORT}`,
        ST_API_DOMAIN: ORIGIN, ST_WEBSITE_DOMAIN: ORIGIN,
        ST_API_BASE_PATH: "/auth",
    };
    let browser;
    try {
        const core = procs.start("core", process.execPath,
            [path.join(TOP, "spec/support/core/server.js")], { env: {
                CORE_PORT: String(CORE_PORT), CORE_STATE_DIR: tmp,
                ACCESS_TOKEN_VALIDITY_S: "2", CORE_QUIET: "1" },
            logTo: logStream });
        await procs.waitPort(CORE_PORT, core);
        const sdk = procs.start("sdk", process.execPath,
            [path.join(HERE, "..", "sdk-app.js")], { env: { ...stEnv,
                PORT: String(SDK_PORT), ST_TEST_LOGIN: "1" },
            logTo: logStream });
        await procs.waitPort(SDK_PORT, sdk);
        const conf = render(tmp, publicDir);
        const nginx = procs.start("nginx", "nginx",
            ["-p", tmp + "/", "-c", conf], { env: stEnv, logTo: logStream });
        await procs.waitPort(WEB_PORT, nginx);

        const puppeteer = require("puppeteer-core");
        browser = await puppeteer.launch({
            executablePath: CHROMIUM, headless: true,
            userDataDir: path.join(tmp, "chromium"),
            args: ["--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--no-first-run"],
        });
        const client = { logSince: (n) => getJson(CORE_PORT,
            "/__standin/log?since=" + n) };
        for (const mode of MODES) await runMode(browser, mode, client);
    } catch (e) {
        check("browser run", false, e.stack || String(e));
    } finally {
        if (browser) await browser.close().catch(() => {});
        await procs.stopAll();
        await new Promise((r) => logStream.end(r));
        if (failed === 0 && process.env.BROWSER_KEEP !== "1") {
            fs.rmSync(tmp, { recursive: true, force: true });
        } else {
            console.log(`logs kept in ${tmp} (processes.log, error.log, ` +
                "access.log)");
        }
    }
    console.log(`${passed} passed, ${failed} failed`);
    process.exitCode = failed ? 1 : 0;
}

main();
