// Deterministic varied test strings for the tokenizer oracle comparison.
// usage: node gen-strings.js N SEED [--non-nfc] > strings.jsonl
// One JSON string per line, NFC-normalized; with --non-nfc, strings that are mostly NOT in NFC
// (decomposed accents, singletons, out-of-order marks, Hangul jamo) for tokenizers with an NFC
// normalizer.
const N = Number(process.argv[2] || 10000);
let seed = Number(process.argv[3] || 1) >>> 0;
function rnd() { // mulberry32
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const ri = (n) => Math.floor(rnd() * n);
const pick = (a) => a[ri(a.length)];
const range = (lo, hi) => String.fromCodePoint(lo + ri(hi - lo + 1));
const rep = (f, lo, hi) => { let s = ''; const n = lo + ri(hi - lo + 1); for (let i = 0; i < n; i++) s += f(); return s; };

const words = ('the a of and to in is it that was for on are as with his they at be this from have or by one had not but what all were when we there can an your which their said if do will each about how up out them then she many some so these would other into has more her two like him see time could no make than first been its who now people my made over did down only way find use may water long little very after words called just where most know get through back much go good new write our me man too any day same right look think also around another came come work three word must because does part even place well such here take why things help put years different away again off went old number great tell men say small every found still between name should home big give air line set own under read last never us left end along while might next sound below saw something thought both few those always looked show large often together asked house world going want school important until form food keep children feet land side without boy once animals life enough took sometimes four head above kind began almost live page got earth need far hand high year mother light parts country father let night following picture being study second eyes soon times story boys since white days ever paper hard near sentence better best across during today others however sure means knew its try told young miles sun ways thing whole hear example heard several change answer room sea against top turned learn point city play toward five using himself usually').split(' ');
const punct = ['.', ',', '!', '?', ';', ':', '...', ' -', ' —', '–', '"', "'", '(', ')', '[', ']', '{', '}', '/', '\\', '@', '#', '$', '%', '^', '&', '*', '_', '+', '=', '<', '>', '|', '~', '`', '¿', '¡', '«', '»', '“', '”', '‘', '’', '…', '•', '§', '©', '°', '±', '×', '÷', '€', '£', '¥', '₹'];
const ws = [' ', ' ', ' ', '  ', '   ', '\t', '\n', '\n\n', '\r\n', ' \n', '\n ', '\u00a0', '\u3000', '\u2009', '\u200b', '\u2028', '\f', '\v', '    ', '\t\t', ' \t '];
const specials = ['<|eot_id|>', '<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|endoftext|>', '<|im_start|>', '<|im_end|>', '<think>', '</think>', '<tool_call>', '<s>', '</s>', '<unk>', '<pad>', '<bos>', '<eos>', '<start_of_turn>', '<end_of_turn>', '<mask>', '<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>', '<｜User｜>', '<|reserved_special_token_5|>', '<0x41>', '<0xFF>', '▁', '▁▁', '<|eot_id', 'eot_id|>', '<|eot_id|>>', '<<|eot_id|>', '<|', '|>', '<|fim_prefix|>', '[INST]', '[/INST]', '<<SYS>>', '<image>', '<image_soft_token>', 'Ġ', 'Ċ', 'âĢĻ'];
const emoji = ['😀', '🎉', '👍', '👍🏽', '👩‍👩‍👧', '👨‍💻', '🏳️‍🌈', '🇮🇳', '🇺🇸', '❤️', '☺️', '🤖', '🚀', '🔥', '✨', '🐍', '🦀', '☕', '🧪', '🧑🏿‍🚀', '1️⃣', '©️', '🫠', '🪐'];
const code = [
  'def f(x):\n    return x * 2\n', 'for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}', 'const x = await fetch(url, { method: "POST" });',
  '#include <stdio.h>\nint main(void) { printf("%d\\n", 42); }', 'SELECT id, name FROM users WHERE age >= 21 ORDER BY name;',
  '{"key": [1, 2.5, -3e10, true, null], "nested": {"a": "b"}}', '    if x != None and y == 3:\n        pass',
  'fn main() -> Result<(), Box<dyn Error>> { Ok(()) }', '$ ls -la /usr/local/bin | grep -v "^d" && echo $?',
  '<div class="row"><span id=\'x\'>&amp;</span></div>', 'x+=1;y-=2;z*=3;w/=4;v%=5;u<<=1;t>>=2;', 'a = b ? c : d; // ternary',
  '@decorator\nclass Foo(Bar, metaclass=Meta):\n    """Doc string."""', 'git commit -m "fix: handle \\r\\n line endings"',
  'https://example.com/path/to/page?query=1&lang=en#section-2', 'user.name+tag@example.co.uk', 'λx.λy.x y', '∀x∈ℝ: x² ≥ 0',
  '\t\t\treturn;\n\t\t}\n\t}\n}', '    \n    \n', 'matrix[i][j] = matrix[i-1][j] + matrix[i][j-1];', "it's don't we'll they've I'm she'd you're",
  "IT'S DON'T WE'LL THEY'VE I'M SHE'D YOU'RE", "O'Neil's rock'n'roll 'quoted' ''double''",
];
const scripts = [
  () => rep(() => range(0x4e00, 0x9fa5), 1, 12), // CJK
  () => rep(() => range(0x3041, 0x3096), 1, 8), // hiragana
  () => rep(() => range(0x30a1, 0x30fa), 1, 8), // katakana
  () => rep(() => range(0xac00, 0xd7a3), 1, 6), // hangul syllables
  () => rep(() => range(0x0410, 0x044f), 2, 10), // cyrillic
  () => rep(() => range(0x03b1, 0x03c9), 2, 8), // greek
  () => rep(() => range(0x0627, 0x064a), 2, 8), // arabic
  () => rep(() => range(0x05d0, 0x05ea), 2, 8), // hebrew
  () => rep(() => range(0x0915, 0x0939), 2, 6) + pick(['', '\u093e', '\u093f', '\u0940', '\u094d']), // devanagari
  () => rep(() => range(0x0e01, 0x0e2e), 2, 8), // thai
  () => pick(['naïve', 'café', 'résumé', 'Ångström', 'Straße', 'façade', 'jalapeño', 'Øresund', 'Łódź', 'İstanbul', 'ǅ', 'ﬁne', 'Ⅻ', '①②③', '½', 'x²', 'µs']),
  () => rep(() => range(0xff01, 0xff5e), 1, 5), // fullwidth
];
function number() {
  switch (ri(10)) {
    case 0: return String(ri(10));
    case 1: return String(ri(1000000));
    case 2: return String(rnd() * 10000).slice(0, 3 + ri(10));
    case 3: return (ri(9000) + 1000).toLocaleString('en-US') + ',' + String(ri(1000)).padStart(3, '0');
    case 4: return '0x' + ri(0xffffffff).toString(16).toUpperCase();
    case 5: return rnd().toExponential(ri(6));
    case 6: return `${1990 + ri(40)}-${String(1 + ri(12)).padStart(2, '0')}-${String(1 + ri(28)).padStart(2, '0')}`;
    case 7: return rep(() => String(ri(10)), 5, 40);
    case 8: return `+1 (${100 + ri(900)}) ${100 + ri(900)}-${1000 + ri(9000)}`;
    default: return '-' + ri(100) + '.' + ri(100) + '%';
  }
}
function prose() {
  let s = '';
  const n = 1 + ri(25);
  for (let i = 0; i < n; i++) {
    let w = pick(words);
    if (i === 0 || rnd() < 0.08) w = w[0].toUpperCase() + w.slice(1);
    if (rnd() < 0.03) w = w.toUpperCase();
    s += (i ? ' ' : '') + w;
    if (rnd() < 0.1) s += pick(punct);
  }
  return s + pick(['.', '?', '!', '', '.\n', ':\n\n']);
}
const gens = [
  prose, prose, prose, () => pick(code), number, () => pick(specials), () => rep(() => pick(emoji), 1, 4),
  () => pick(scripts)(), () => pick(ws), () => rep(() => pick(ws), 1, 6),
  () => rep(() => String.fromCharCode(32 + ri(95)), 1, 30), // random printable ASCII
  () => rep(() => pick(punct), 1, 6),
];
const out = [];
if (process.argv[4] === '--non-nfc') {
  const bases = ['a', 'e', 'i', 'o', 'u', 'A', 'E', 'n', 'c', 's', 'z', 'y', 'w', 'α', 'ω', 'и', 'к', 'ᄀ', '가', 'ᅡ', 'ᆨ', ' ', 'x'];
  const marks = ['\u0301', '\u0300', '\u0308', '\u0303', '\u0327', '\u030c', '\u0323', '\u0302', '\u0345', '\u0313', '\u0306',
    '\u031b', '\u0328', '\u0338', '\u05b0', '\u093c', '\u3099', '\u302a'];
  const singles = ['\u212b', '\u2126', '\u0958', '\u2000', '\u0340', '\u0374', '\u037e', '\uf900', '\u1e9b\u0323', '\u0344',
    '\u2adc', '\u1100\u1161\u11a8', '\u1100\u1161', '\uac00\u11a8', 'e\u0301\u0301', 'a\u0323\u0302', 'a\u0302\u0323',
    'か\u3099', 'ｶ\uff9e'];
  for (let i = 0; i < N; i++) {
    let s = '';
    const n = 1 + ri(12);
    for (let k = 0; k < n; k++) {
      if (rnd() < 0.3) s += pick(singles);
      else s += pick(bases) + rep(() => pick(marks), 0, 3);
      if (rnd() < 0.3) s += pick([' ', 'word ', '. ', '\n']);
    }
    out.push(JSON.stringify(s));
  }
  process.stdout.write(out.join('\n') + '\n');
  process.exit(0);
}
// long runs of one kind of character: single pre-token words of hundreds of symbols (the heap BPE path)
const runs = [() => range(0x4e00, 0x9fa5), () => 'a', () => range(97, 122), () => ' ', () => '\n', () => '😀',
  () => range(48, 57), () => 'ab', () => '=', () => 'é', () => '\t', () => range(65, 122)];
for (let i = 0; i < N; i++) {
  let s;
  if (i % 250 === 123) {
    s = rep(runs[(i / 250 | 0) % runs.length], 50, 1500);
    if (rnd() < 0.5) s = 'x ' + s + ' y';
  } else if (i < 20) s = ['', ' ', '\n', 'a', '  ', '\t\n', '<|eot_id|>', 'Hello world', ' Hello', '12345678901234567890'][i % 10];
  else {
    // every 100th string is long (many repeated words: the word cache)
    const parts = i % 100 === 99 ? 200 + ri(200) : 1 + ri(6);
    s = '';
    for (let k = 0; k < parts; k++) s += (k && rnd() < 0.6 ? pick(ws) : '') + pick(gens)();
    if (rnd() < 0.05) s = pick(ws) + s;
    if (rnd() < 0.05) s += pick(ws);
  }
  out.push(JSON.stringify(s.normalize('NFC')));
}
process.stdout.write(out.join('\n') + '\n');
