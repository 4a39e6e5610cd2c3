// Compares the engine's tokeniser with the Rust one: TOKENS_JSON is [[text, rust tokens]].
// Usage: node tokens_check.mjs ENGINE_MODULE TOKENS_JSON. Prints the mismatches; exit 1 if any.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [enginePath, tokensPath] = process.argv.slice(2);
const { tokenize } = await import(pathToFileURL(enginePath).href);
let bad = 0;
let tokens = 0;
for (const [text, rust] of JSON.parse(readFileSync(tokensPath, "utf8"))) {
  const js = tokenize(text);
  tokens += rust.length;
  const i = js.findIndex((t, i) => t !== rust[i]);
  if (i >= 0 || js.length !== rust.length) {
    bad++;
    const at = i >= 0 ? i : Math.min(js.length, rust.length);
    console.log(`mismatch at token ${at}: js ${JSON.stringify(js.slice(at, at + 3))} rust ${JSON.stringify(rust.slice(at, at + 3))}`);
  }
}
console.log(`${tokens} tokens compared, ${bad} texts differ`);
process.exit(bad ? 1 : 0);
