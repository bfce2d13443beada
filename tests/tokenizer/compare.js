// usage: node compare.js LABEL input.jsonl expected actual [max_report]
// Compares two files line by line as parsed JSON values; prints mismatches (with the input string)
// and "LABEL: N/M equal"; exits 1 on any mismatch or a line-count difference.
const fs = require('fs');
const [label, inPath, aPath, bPath, maxRep] = process.argv.slice(2);
const rd = (p) => fs.readFileSync(p, 'utf8').split('\n').filter((l) => l.length);
const input = rd(inPath), a = rd(aPath), b = rd(bPath);
let bad = 0;
const n = Math.max(a.length, b.length);
for (let i = 0; i < n; i++) {
  let eq = false;
  try { eq = i < a.length && i < b.length && JSON.stringify(JSON.parse(a[i])) === JSON.stringify(JSON.parse(b[i])); } catch (e) { eq = false; }
  if (!eq) {
    if (bad < Number(maxRep || 5))
      console.log(`${label}: line ${i + 1} differs\n  input:    ${input[i]}\n  expected: ${(a[i] || '').slice(0, 400)}\n  actual:   ${(b[i] || '').slice(0, 400)}`);
    bad++;
  }
}
console.log(`${label}: ${n - bad}/${n} equal`);
process.exit(bad || a.length !== b.length ? 1 : 0);
