#!/usr/bin/env bash
# tests/fuzz/seeds.sh IB_GEN OUTDIR: writes the seed corpora of the fuzz
# targets, one folder per target, into OUTDIR (decode/ ops/ list/ name/).
#   decode  every image ib-gen makes (good and broken), plus a few made
#           here: a PNG zlib bomb header, a 1x1 PNG, a tiny JPEG, WebP
#           (lossy, lossless with alpha), AVIF, a P3-tagged PNG, CMYK
#           JPEGs with a CMYK profile
#   ops     small op pipelines in fuzz_ops.c's format
#   list    small URL lists: comments, blanks, CRLF, NUL, duplicates
#   name    URLs and paths meant to escape the folder
# The regression inputs (tests/fuzz/regressions/<target>/) are added too,
# so the fuzzer starts from every input that ever crashed.
set -euo pipefail
gen=${1:?usage: seeds.sh IB_GEN OUTDIR}
out=${2:?usage: seeds.sh IB_GEN OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"/{decode,ops,list,name}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$gen" "$tmp" >/dev/null
# the largest generated images slow every exec; the fuzzer grows inputs
# anyway, so seeds stay under 64 kB
find "$tmp" -type f \( -name '*.png' -o -name '*.jpg' \) -size -64k \
    -exec cp {} "$out/decode/" \;
if command -v convert >/dev/null; then
    convert -size 1x1 xc:red "$out/decode/one.png"
    convert -size 9x7 gradient: -quality 50 "$out/decode/small.jpg"
    convert -size 9x7 gradient: -interlace JPEG "$out/decode/small-prog.jpg"
    convert -size 9x7 gradient:red-blue -quality 60 "$out/decode/small.webp"
    convert -size 9x7 xc:none -fill red -draw 'point 3,3' \
        -define webp:lossless=true "$out/decode/alpha.webp"
    convert -size 9x7 gradient:red-blue -quality 60 "$out/decode/small.avif"
    if [ -x "$(dirname "$gen")/ib-icc" ]; then   # a P3-tagged PNG
        "$(dirname "$gen")/ib-icc" p3 "$tmp/p3.icc"
        convert -size 9x7 gradient:red-lime -profile "$tmp/p3.icc" \
            "$out/decode/p3.png"
    fi
    gs_icc=/usr/share/color/icc/ghostscript   # libgs-common; ps_cmyk 5 kB
    if [ -f "$gs_icc/ps_cmyk.icc" ]; then   # CMYK JPEGs with a CMYK profile
        convert -size 9x7 gradient:red-blue -profile "$gs_icc/srgb.icc" \
            -profile "$gs_icc/ps_cmyk.icc" -quality 60 \
            "$out/decode/cmyk-icc.jpg"               # Adobe YCCK, inverted
        convert "$out/decode/cmyk-icc.jpg" -depth 8 "cmyk:$tmp/c.cmyk"
        # RGB pixels tagged with the CMYK profile: a profile that must go
        convert -size 9x7 gradient:red-blue -profile "$gs_icc/ps_cmyk.icc" \
            "$out/decode/rgb-cmyk-icc.jpg"
        if [ -x "$(dirname "$gen")/ib-cmyk" ]; then   # not inverted
            "$(dirname "$gen")/ib-cmyk" 9 7 "$tmp/c.cmyk" \
                "$out/decode/cmyk-plain-icc.jpg" plain "$gs_icc/ps_cmyk.icc"
        fi
    fi
fi

n=0
seed() { # seed DIR CONTENT (printf format)
    n=$((n + 1))
    printf "$2" >"$out/$1/seed-$n"
}
seed ops '\x02\x20\x10resize=10x10\nblur=2'
seed ops '\x00\x05\x05crop=3x3+1+1\nrotate=90\nflip\nflop'
seed ops '\x03\x30\x30upscale\nresize=200x100!\nsharpen=1.5,3'
seed ops '\x01\x01\x01filter=box\nresize=x5^\ngrayscale'
seed ops '\x03\x10\x20filter=mitchell\nresize=7\nrotate=270\nblur=1000'
seed ops '\x00\x2f\x2fresize=1000000x1000000!\nupscale\ncrop=0x0+99+99'
seed list 'http://127.0.0.1:8080/a.jpg\nhttps://h/b.png\n'
seed list '# comment\n\n  http://h/a.jpg  \r\nhttp://h/a.jpg\nhttp://h/A.jpg\n'
seed list 'http://h/x\0y.jpg\n\t\n#\nftp://h/z\nhttp://h/%%2e%%2e/\n'
seed list 'http://h/dir/\nhttp://h/\nhttp://h/?q=1\nhttp://h/#frag'
seed name 'http://h/a/b/c.jpg?x=1#y'
seed name 'http://h/%%2e%%2e%%2f%%2e%%2e%%2fetc%%2fpasswd'
seed name 'https://h/..'
seed name 'http://h/.hidden.png'
seed name 'http://h/a%%00b%%0a%%7f.png'
seed name 'http://h/%%C3%%A9t%%C3%%A9.jpg'
seed name 'http://h/%%ff%%fe%%e0%%80%%80.jpg'
seed name 'http://h/%%5c..%%5cwin.ini'
seed name "http://h/$(printf 'x%.0s' $(seq 300)).jpeg"
for t in decode ops list name; do
    find "$here/regressions/$t" -type f ! -name '.*' \
        -exec cp {} "$out/$t/" \; 2>/dev/null || true
done
for t in decode ops list name; do
    echo "$t: $(ls "$out/$t" | wc -l) seeds"
done
