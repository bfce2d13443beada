// HuggingFace tokenizers as the oracle.
// usage: node oracle.js tokenizer.json in.jsonl ids.out decoded.jsonl
//        node oracle.js --jobs jobs.txt        (one "tokenizer.json in.jsonl ids.out decoded.jsonl" per line)
// in.jsonl: one JSON string per line. ids.out: one JSON array of ids per line (no special tokens
// added). decoded.jsonl: decode(ids) as a JSON string per line (special tokens kept).
const { Tokenizer } = require('tokenizers');
const fs = require('fs');

async function run(file, inPath, idsPath, decPath) {
  const tok = Tokenizer.fromFile(file);
  const lines = fs.readFileSync(inPath, 'utf8').split('\n').filter((l) => l.length).map((l) => JSON.parse(l));
  const ids = [], dec = [];
  for (let i = 0; i < lines.length; i += 500) {
    const encs = await tok.encodeBatch(lines.slice(i, i + 500), { addSpecialTokens: false });
    const batch = encs.map((e) => Array.from(e.getIds()));
    const texts = await tok.decodeBatch(batch, false);
    for (let k = 0; k < batch.length; k++) {
      ids.push(JSON.stringify(batch[k]));
      dec.push(JSON.stringify(texts[k]));
    }
  }
  // write to a temporary name first so a reader never sees a partial file
  fs.writeFileSync(idsPath + '.tmp', ids.join('\n') + '\n');
  fs.writeFileSync(decPath, dec.join('\n') + '\n');
  fs.renameSync(idsPath + '.tmp', idsPath);
}

(async () => {
  const args = process.argv.slice(2);
  if (args[0] === '--jobs') {
    const jobs = fs.readFileSync(args[1], 'utf8').split('\n').filter((l) => l.trim().length).map((l) => l.split(' '));
    for (const j of jobs) await run(...j);
  } else {
    await run(...args);
  }
})().catch((e) => { console.error(e); process.exit(1); });
