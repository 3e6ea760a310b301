// esbuild bundles this into <tmp>/public/supertokens-website.js: the npm
// package ships CommonJS only.
window.supertokens = require("supertokens-website");
