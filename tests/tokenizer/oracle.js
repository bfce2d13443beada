// HuggingFace tokenizers as the oracle.
// usage: node oracle.js tokenizer.json in.jsonl ids.out decoded.jsonl
// in.jsonl: one JSON string per line. ids.out: one JSON array of ids per line (no special tokens
// added). decoded.jsonl: decode(ids) as a JSON string per line (special tokens kept).
const { Tokenizer } = require('tokenizers');
const fs = require('fs');
(async () => {
  const [file, inPath, idsPath, decPath] = process.argv.slice(2);
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
  fs.writeFileSync(idsPath, ids.join('\n') + '\n');
  fs.writeFileSync(decPath, dec.join('\n') + '\n');
})().catch((e) => { console.error(e); process.exit(1); });
