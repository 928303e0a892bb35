/**
 * Deterministic stand-ins for Autobahn's compression corpora (12.1-12.5). The
 * originals (a JSON file, the Lena bitmap, Goethe's Faust, an HTML page, a PDF)
 * are not ours to ship; what matters for permessage-deflate is their character:
 * structured text, smooth image data, natural-language text, markup, and mostly
 * incompressible binary. Text corpora use BMP characters only, so slicing by
 * UTF-16 code unit equals slicing by code point.
 */
export interface Corpus {
  key: string;
  description: string;
  binary: boolean;
  /** Text corpora are sliced by character (as Autobahn does), binary ones by octet. */
  data: string | Buffer;
}

/** Small deterministic PRNG (mulberry32) so every run sends identical octets. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['der', 'die', 'das', 'und', 'Geist', 'Mephistopheles', 'Faust', 'Gretchen', 'Welt', 'Herz', 'schön', 'Blümchen', 'Höhle', 'grün', 'müssen', 'Träume', 'ewig', 'Weib', 'Natur', 'Augenblick', 'verweile', 'doch', 'bist', 'so', 'ich', 'weiß', 'nicht', 'Straße', 'Äther'];

function json(target: number): string {
  const r = prng(1);
  const items: string[] = [];
  let size = 2;
  for (let i = 0; size < target; i++) {
    const item = JSON.stringify({
      id: i, guid: Math.floor(r() * 1e12).toString(16), isActive: r() > 0.5, balance: `$${(r() * 5000).toFixed(2)}`,
      name: `${WORDS[Math.floor(r() * WORDS.length)]} ${WORDS[Math.floor(r() * WORDS.length)]}`, age: 20 + Math.floor(r() * 50),
      tags: Array.from({ length: 4 }, () => WORDS[Math.floor(r() * WORDS.length)]), latitude: r() * 180 - 90, greeting: 'Grüß Gott — ☺',
    });
    items.push(item);
    size += item.length + 1;
  }
  return `[${items.join(',')}]`;
}

function prose(target: number, seed: number): string {
  const r = prng(seed);
  let s = '';
  while (s.length < target) {
    const n = 4 + Math.floor(r() * 10);
    const words = Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]);
    s += words.join(' ') + (r() > 0.8 ? '!\n' : '.\n');
  }
  return s;
}

function html(target: number): string {
  const r = prng(3);
  let s = '<!DOCTYPE html><html><head><title>Konformität</title></head><body>\n';
  while (s.length < target) {
    s += `<div class="row c${Math.floor(r() * 8)}"><a href="/item/${Math.floor(r() * 1e6)}">${prose(40, Math.floor(r() * 1e9)).trim()}</a></div>\n`;
  }
  return s + '</body></html>\n';
}

function bitmap(): Buffer {
  // 512x512 8-bit grey ramps plus noise: compressible, but not trivially.
  const r = prng(4);
  const px = Buffer.alloc(512 * 512);
  for (let y = 0; y < 512; y++) for (let x = 0; x < 512; x++) px[y * 512 + x] = (Math.sin(x / 40) * 60 + Math.cos(y / 25) * 60 + 128 + r() * 16) & 0xff;
  return Buffer.concat([Buffer.from('BM6\x04\x04\x00\x00\x00\x00\x006\x04\x00\x00', 'latin1'), px]);
}

function pdfish(target: number): Buffer {
  // Mostly high-entropy "compressed stream" bytes with text objects in between.
  const r = prng(5);
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n')];
  let size = 9;
  for (let obj = 1; size < target; obj++) {
    const head = Buffer.from(`${obj} 0 obj << /Length 2048 /Filter /FlateDecode >> stream\n`);
    const body = Buffer.alloc(2048);
    for (let i = 0; i < body.length; i++) body[i] = Math.floor(r() * 256);
    const tail = Buffer.from('\nendstream endobj\n');
    parts.push(head, body, tail);
    size += head.length + body.length + tail.length;
  }
  return Buffer.concat(parts);
}

let cache: Corpus[] | null = null;

/** In Autobahn's order: json_data1, lena512, gutenberg_faust, html_data1, ooms. */
export function corpora(): Corpus[] {
  cache ??= [
    { key: 'json_data1', description: 'Large JSON data (utf8)', binary: false, data: json(200_000) },
    { key: 'lena512', description: 'Bitmap 512x512 grey (binary)', binary: true, data: bitmap() },
    { key: 'gutenberg_faust', description: 'Human readable German text (sent as binary)', binary: true, data: Buffer.from(prose(220_000, 2), 'utf8') },
    { key: 'html_data1', description: 'Large HTML file (utf8)', binary: false, data: html(200_000) },
    { key: 'ooms', description: 'A larger PDF-like file (binary)', binary: true, data: pdfish(300_000) },
  ];
  return cache;
}

/** The next `len`-unit slice of `data`, wrapping around, starting at `*ptr` (Autobahn's payloadRXPtr walk). */
export function nextSlice(corpus: Corpus, len: number, ptr: { at: number }): Buffer {
  const d = corpus.data;
  const from = ptr.at;
  const to = (from + len) % d.length;
  ptr.at = to;
  if (typeof d === 'string') return Buffer.from(to > from ? d.slice(from, to) : d.slice(from) + d.slice(0, to), 'utf8');
  return to > from ? d.subarray(from, to) : Buffer.concat([d.subarray(from), d.subarray(0, to)]);
}
