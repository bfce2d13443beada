// Compare files line by line as parsed JSON values.
// usage: node compare.js LABEL input.jsonl expected actual [max_report]
//        node compare.js --spec spec.txt
// A spec line is "LABEL|KIND|input|expected|actual" with KIND "eq" (values equal) or "count"
// (actual holds one number per line: the length of the array on the same line of expected).
// Prints "ok - LABEL" or "FAIL - LABEL" (with the first differing lines) for each comparison and
// exits 1 if any failed.
const fs = require('fs');
const rd = (p) => fs.readFileSync(p, 'utf8').split('\n').filter((l) => l.length);

function compare(label, kind, inPath, aPath, bPath, maxRep) {
  const input = rd(inPath), a = rd(aPath), b = rd(bPath);
  let bad = 0;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let eq = false;
    try {
      if (i < a.length && i < b.length) {
        const x = JSON.parse(a[i]), y = JSON.parse(b[i]);
        eq = kind === 'count' ? x.length === y : JSON.stringify(x) === JSON.stringify(y);
      }
    } catch (e) { eq = false; }
    if (!eq) {
      if (bad < maxRep)
        console.log(`  ${label}: line ${i + 1} differs\n    input:    ${(input[i] || '').slice(0, 300)}\n    expected: ${(a[i] || '').slice(0, 300)}\n    actual:   ${(b[i] || '').slice(0, 300)}`);
      bad++;
    }
  }
  const ok = bad === 0 && a.length === b.length;
  console.log(`${ok ? 'ok' : 'FAIL'} - ${label} (${n - bad}/${n} equal)`);
  return ok;
}

const args = process.argv.slice(2);
let allOk = true;
if (args[0] === '--spec') {
  for (const line of rd(args[1])) {
    const [label, kind, i, a, b] = line.split('|');
    allOk = compare(label, kind, i, a, b, 5) && allOk;
  }
} else {
  allOk = compare(args[0], 'eq', args[1], args[2], args[3], Number(args[4] || 5));
}
process.exit(allOk ? 0 : 1);
