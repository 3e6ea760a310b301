"use strict";
// Starts and stops the processes of a run. Only processes started here are
// ever signalled, by their own pid.
const { spawn } = require("child_process");
const net = require("net");

const children = new Set();

function start(name, cmd, args, { env = {}, cwd, logTo } = {}) {
    const p = spawn(cmd, args, {
        cwd, env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
    });
    p.tag = name;
    p.output = "";
    const keep = (d) => {
        p.output += d;
        if (p.output.length > 200000) p.output = p.output.slice(-100000);
        if (logTo) logTo.write(`[${name}] ${d}`);
    };
    p.stdout.on("data", keep);
    p.stderr.on("data", keep);
    p.exited = new Promise((resolve) => p.on("exit", (code, sig) => {
        children.delete(p);
        p.exitCode2 = code === null ? sig : code;
        resolve(p.exitCode2);
    }));
    children.add(p);
    return p;
}

function portOpen(port, host = "127.0.0.1") {
    return new Promise((resolve) => {
        const s = net.connect({ port, host });
        s.once("connect", () => { s.destroy(); resolve(true); });
        s.once("error", () => resolve(false));
        s.setTimeout(500, () => { s.destroy(); resolve(false); });
    });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitPort(port, proc, ms = 15000) {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
        if (await portOpen(port)) return;
        if (proc && proc.exitCode2 !== undefined) {
            throw new Error(`${proc.tag} exited (${proc.exitCode2}) before ` +
                `listening on ${port}:\n${proc.output.slice(-2000)}`);
        }
        await sleep(50);
    }
    throw new Error(`port ${port} not open after ${ms} ms` +
        (proc ? `:\n${proc.output.slice(-2000)}` : ""));
}

async function waitClosed(port, ms = 5000) {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
        if (!(await portOpen(port))) return true;
        await sleep(50);
    }
    return false;
}

async function stop(p, ms = 3000) {
    if (!p || p.exitCode2 !== undefined) return;
    try { process.kill(p.pid, "SIGTERM"); } catch (e) { return; }
    const done = await Promise.race([p.exited, sleep(ms).then(() => "t")]);
    if (done === "t") {
        try { process.kill(p.pid, "SIGKILL"); } catch (e) { /* gone */ }
        await p.exited;
    }
}

async function stopAll() {
    await Promise.all([...children].map((p) => stop(p)));
}

// Synchronous last resort (process "exit" handler).
function killAllSync() {
    for (const p of children) {
        try { process.kill(p.pid, "SIGKILL"); } catch (e) { /* gone */ }
    }
}

// Runs a command to completion; resolves {code, output}.
function run(cmd, args, { env = {}, cwd, timeout = 60000 } = {}) {
    return new Promise((resolve) => {
        const p = spawn(cmd, args, { cwd, env: { ...process.env, ...env },
            stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        p.stdout.on("data", (d) => (out += d));
        p.stderr.on("data", (d) => (out += d));
        const t = setTimeout(() => {
            try { process.kill(p.pid, "SIGKILL"); } catch (e) { /* gone */ }
        }, timeout);
        p.on("exit", (code, sig) => {
            clearTimeout(t);
            resolve({ code: code === null ? sig : code, output: out });
        });
        p.on("error", (e) => {
            clearTimeout(t);
            resolve({ code: -1, output: String(e) });
        });
    });
}

module.exports = { start, stop, stopAll, killAllSync, waitPort, waitClosed,
    portOpen, sleep, run };
