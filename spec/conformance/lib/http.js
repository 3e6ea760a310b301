"use strict";
// One HTTP/1.1 request with exact control over the header lines, and the
// answer with every response header line kept (rawHeaders).
const http = require("http");

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

/**
 * req: { method, path, headers: [[name, value], ...] | {name: value},
 *        body (string) }
 * -> { status, headers: {lname: [values]}, text, json (or undefined) }
 */
// fresh: a connection of its own (no keep-alive pool), so that an nginx
// with several workers may take each request on another worker
function request(port, req, { timeout = 15000, host = "127.0.0.1",
    fresh = false } = {}) {
    return new Promise((resolve, reject) => {
        const lines = Array.isArray(req.headers) ? req.headers
            : Object.entries(req.headers || {});
        // Array form keeps duplicates and order exactly.
        const raw = [];
        // In array form node adds no Host line itself.
        if (!lines.some(([k]) => k.toLowerCase() === "host")) {
            raw.push("Host", `${host}:${port}`);
        }
        for (const [k, v] of lines) raw.push(k, v);
        if (req.body !== undefined) {
            raw.push("Content-Length", String(Buffer.byteLength(req.body)));
        }
        const r = http.request({
            host, port, method: req.method || "GET", path: req.path || "/",
            headers: raw, agent: fresh ? false : agent,
        }, (res) => {
            const chunks = [];
            res.on("data", (c) => chunks.push(c));
            res.on("end", () => {
                const headers = {};
                for (let i = 0; i < res.rawHeaders.length; i += 2) {
                    const k = res.rawHeaders[i].toLowerCase();
                    (headers[k] = headers[k] || []).push(res.rawHeaders[i + 1]);
                }
                const text = Buffer.concat(chunks).toString("utf8");
                let json;
                try {
                    json = text === "" ? undefined : JSON.parse(text);
                } catch (e) {
                    json = undefined;
                }
                resolve({ status: res.statusCode, headers, text, json });
            });
            res.on("error", reject);
        });
        r.setTimeout(timeout, () => r.destroy(new Error("timeout")));
        r.on("error", reject);
        r.end(req.body);
    });
}

async function getJson(port, path, method = "GET", body, extra = []) {
    const r = await request(port, { method, path,
        headers: [...extra, ...(body === undefined ? [] : [["Content-Type",
            "application/json"]])],
        body: body === undefined ? undefined : JSON.stringify(body) });
    if (r.status !== 200 || r.json === undefined) {
        throw new Error(`${method} ${path}: ${r.status} ${r.text.slice(0, 200)}`);
    }
    return r.json;
}

module.exports = { request, getJson, agent };
