// A fetch over files: file:// URLs read from disk, with the bytes it returned counted.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

export function fileFetch() {
  const fetch = async (url) => {
    try {
      const bytes = await readFile(fileURLToPath(url));
      fetch.bytes += bytes.length;
      fetch.files += 1;
      fetch.log.push([url, bytes.length]);
      return {
        ok: true,
        status: 200,
        arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      };
    } catch {
      return { ok: false, status: 404, arrayBuffer: async () => new ArrayBuffer(0) };
    }
  };
  fetch.bytes = 0;
  fetch.files = 0;
  fetch.log = [];
  return fetch;
}
