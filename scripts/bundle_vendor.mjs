// Packs an npm package written as CommonJS (JsSIP ships only lib/*.js since 3.10) and its
// dependencies into one browser script that sets a global, with no bundler to install:
// each module becomes a function in a table, require() looks it up. Honours a package's
// "browser" field when it names a file (debug's browser build), inlines JSON files.
// Usage: node scripts/bundle_vendor.mjs <entry package> <global name> <output file>
import fs from "node:fs";
import path from "node:path";

const [pkgName, globalName, outFile] = process.argv.slice(2);
const root = path.resolve("node_modules");
const modules = new Map(); // absolute path -> {id, code}

function packageEntry(dir) {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  const main = typeof meta.browser === "string" ? meta.browser : meta.main || "index.js";
  return fileOf(path.join(dir, main));
}

function fileOf(p) {
  for (const candidate of [p, `${p}.js`, `${p}.json`, path.join(p, "index.js")]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  throw new Error(`cannot resolve ${p}`);
}

function resolve(from, spec) {
  if (spec.startsWith(".")) return fileOf(path.resolve(path.dirname(from), spec));
  const dir = path.join(root, spec);
  if (!fs.existsSync(dir)) throw new Error(`${from} requires ${spec}: not in node_modules`);
  return packageEntry(dir);
}

function add(file) {
  if (modules.has(file)) return modules.get(file).id;
  const entry = { id: modules.size, code: "" };
  modules.set(file, entry);
  let code = fs.readFileSync(file, "utf8");
  if (file.endsWith(".json")) {
    code = `module.exports = ${code};`;
  } else {
    code = code.replace(/require\((['"])([^'"]+)\1\)/g, (_m, _q, spec) =>
      `__req(${add(resolve(file, spec))})`);
  }
  entry.code = code;
  return entry.id;
}

const entryId = add(packageEntry(path.join(root, pkgName)));
const version = JSON.parse(fs.readFileSync(path.join(root, pkgName, "package.json"), "utf8")).version;
const table = [...modules.entries()].sort((a, b) => a[1].id - b[1].id)
  .map(([file, m]) => `/* ${path.relative(root, file)} */\nfunction (module, exports, __req) {\n${m.code}\n}`);
const out = `/* ${pkgName} ${version}, bundled from node_modules by scripts/bundle_vendor.mjs; licences: each package's LICENSE file in node_modules */
(function () {

var defs = [
${table.join(",\n")}
];
var cache = {};
function __req(id) {
  if (cache[id]) return cache[id].exports;
  var module = cache[id] = { exports: {} };
  defs[id].call(module.exports, module, module.exports, __req);
  return module.exports;
}
window[${JSON.stringify(globalName)}] = __req(${entryId});
})();
`;
fs.mkdirSync(path.dirname(outFile), { recursive: true });
fs.writeFileSync(outFile, out);
console.log(`${outFile}: ${pkgName} ${version}, ${modules.size} modules, ${out.length} bytes`);
