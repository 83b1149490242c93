// sharp doing what `imgbatch transform` does, for the benchmarks:
//   node batch.js OP OUTDIR INFLIGHT FILE...
// OP: thumb (fit 1024x1024, JPEG q85 4:2:0), thumbpng (fit 1024x1024, PNG
// level 6, adaptive filtering), blurN (Gaussian blur sigma N, JPEG q85),
// or "resize WxH" style: fit:WxH (JPEG q85), or renditions (below), or
// avif:Q:EFFORT:SUB:TUNE (fit 1024x1024, AVIF quality Q, effort 0..9,
// chroma 420 or 444, tune auto|psnr|ssim|iq). INFLIGHT images are processed
// at once (libvips threads as sharp sets them by default).
'use strict';
const sharp = require('sharp');
const path = require('path');

const [op, outDir, inflightArg, ...files] = process.argv.slice(2);
const inflight = Math.max(1, parseInt(inflightArg, 10) || 1);
sharp.cache(false);   // a batch tool sees each image once

// renditions: widths 480, 960, 1920 (no enlargement) x {WebP q80, JPEG
// q85 4:2:0}, six outputs per input, the idiomatic way: one sharp input,
// clone() per output
const WIDTHS = [480, 960, 1920];
function renditions(file, base) {
  const src = sharp(file, { limitInputPixels: false }).rotate();
  const jobs = [];
  for (const w of WIDTHS) {
    const r = src.clone().resize({ width: w, withoutEnlargement: true });
    jobs.push(r.clone().webp({ quality: 80 })
      .toFile(path.join(outDir, `${base}-${w}w.webp`)));
    jobs.push(r.clone().jpeg({ quality: 85, chromaSubsampling: '4:2:0' })
      .toFile(path.join(outDir, `${base}-${w}w.jpg`)));
  }
  return Promise.all(jobs);
}

function pipeline(file) {
  const base = path.basename(file).replace(/\.[^.]*$/, '');
  if (op === 'renditions')
    return renditions(file, base);
  let img = sharp(file, { limitInputPixels: false }).rotate();
  if (op === 'thumb' || op === 'thumbpng' || op.startsWith('avif:')) {
    img = img.resize(1024, 1024, { fit: 'inside', withoutEnlargement: true });
  } else if (op.startsWith('blur')) {
    img = img.blur(parseFloat(op.slice(4)));
  } else if (op.startsWith('fit:')) {
    const [w, h] = op.slice(4).split('x').map(Number);
    img = img.resize(w, h, { fit: 'inside', withoutEnlargement: true });
  } else {
    throw new Error(`unknown op ${op}`);
  }
  if (op.startsWith('avif:')) {
    // libvips hands libheif's aom "speed" 9 - effort: effort 0 is aom
    // cpu-used 9, imgbatch's speed
    const [q, effort, sub, tune] = op.slice(5).split(':');
    return img.avif({ quality: +q, effort: +effort, tune,
      chromaSubsampling: sub === '444' ? '4:4:4' : '4:2:0' })
      .toFile(path.join(outDir, base + '.avif'));
  }
  if (op === 'thumbpng')
    return img.png({ compressionLevel: 6, adaptiveFiltering: true })
      .toFile(path.join(outDir, base + '.png'));
  return img.jpeg({ quality: 85, chromaSubsampling: '4:2:0' })
    .toFile(path.join(outDir, base + '.jpg'));
}

async function main() {
  let next = 0, failed = 0;
  async function worker() {
    while (next < files.length) {
      const f = files[next++];
      try {
        await pipeline(f);
      } catch (e) {
        failed++;
        console.error(`sharp: ${f}: ${e.message}`);
      }
    }
  }
  await Promise.all(Array.from({ length: inflight }, worker));
  process.exitCode = failed ? 1 : 0;
}
main();
