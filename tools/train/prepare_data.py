"""Collects the training / held-out corpus from files on a Debian 12 machine.

Every source is redistributable; see media/model/README.md. The split is by whole
document: a document is held out iff sha256("simba-split-v1:" + doc_id) mod 1000 < HELDOUT_PER_MILLE.
Writes tools/data/{train,heldout}/<doc_id with / -> __>.txt and tools/train/data_manifest.tsv.

Prerequisites (Debian bookworm):  apt-get install python3.11-doc debian-reference-en debian-handbook
plus `npm ci` in the repo (typescript@5.9.3, @types/node@20.19.43 in node_modules).
"""
import glob, gzip, hashlib, html.parser, os, re, sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tools", "data")
HELDOUT_PER_MILLE = 60
MAX_DOC_BYTES = 10_000_000


class _Text(html.parser.HTMLParser):
    BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "dt", "dd",
             "table", "ul", "ol", "dl", "section", "blockquote", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skip, self.pre = [], 0, 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head"):
            self.skip += 1
        if tag == "pre":
            self.pre += 1
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head"):
            self.skip = max(0, self.skip - 1)
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if self.skip:
            return
        self.parts.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(raw):
    p = _Text()
    p.feed(raw)
    text = "".join(p.parts)
    lines = [l.rstrip() for l in text.split("\n")]
    text = "\n".join(l if l.strip() else "" for l in lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip() + "\n"


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def docs():
    """Yields (doc_id, source, licence, kind, [paths], text)."""
    # 1. Python 3.11 standard library sources (PSF-2.0)
    for p in sorted(glob.glob("/usr/lib/python3.11/**/*.py", recursive=True)):
        if "/dist-packages/" in p or "/site-packages/" in p:
            continue
        try:
            text = open(p, encoding="utf-8").read()
        except UnicodeDecodeError:
            continue
        yield ("py/" + os.path.relpath(p, "/usr/lib/python3.11"), "cpython-3.11-stdlib", "PSF-2.0", "code", [p], text)
    # 2. TypeScript 5.9.3 library (Apache-2.0): declaration files + the compiler itself
    tsd = os.path.join(ROOT, "node_modules", "typescript", "lib")
    for p in sorted(glob.glob(os.path.join(tsd, "*.d.ts"))) + [os.path.join(tsd, "typescript.js")]:
        yield ("ts/" + os.path.basename(p), "npm:typescript@5.9.3", "Apache-2.0", "code", [p], open(p, encoding="utf-8").read())
    # 3. @types/node 20.19.43 (MIT)
    nd = os.path.join(ROOT, "node_modules", "@types", "node")
    for p in sorted(glob.glob(os.path.join(nd, "**", "*.d.ts"), recursive=True)):
        yield ("types-node/" + os.path.relpath(p, nd), "npm:@types/node@20.19.43", "MIT", "code", [p], open(p, encoding="utf-8").read())
    # 4. Python 3.11 documentation sources (reStructuredText; PSF-2.0), Debian python3.11-doc
    sd = "/usr/share/doc/python3.11/html/_sources"
    for p in sorted(glob.glob(sd + "/**/*.rst.txt", recursive=True)):
        yield ("pydoc/" + os.path.relpath(p, sd), "debian:python3.11-doc (CPython docs)", "PSF-2.0", "prose", [p], open(p, encoding="utf-8").read())
    # 5. Debian Reference (English), GPL-2+
    for p in sorted(glob.glob("/usr/share/doc/debian-reference-en/docs/*.en.html")):
        yield ("debref/" + os.path.basename(p), "debian:debian-reference-en", "GPL-2.0-or-later", "prose", [p],
               html_to_text(open(p, encoding="utf-8").read()))
    # 6. The Debian Administrator's Handbook (en-US), GPL-2.0+ or CC-BY-SA-3.0
    for p in sorted(glob.glob("/usr/share/doc/debian-handbook/html/en-US/*.html")):
        yield ("handbook/" + os.path.basename(p), "debian:debian-handbook", "GPL-2.0-or-later OR CC-BY-SA-3.0", "prose", [p],
               html_to_text(open(p, encoding="utf-8").read()))
    # 7. GNU manuals in Info form, GFDL-1.3 (checked: each states the GFDL in its header)
    for name in ["coreutils", "diffutils", "ed", "find", "find-maint", "grep", "gzip", "libtasn1",
                 "rluserman", "sed", "time", "wget"]:
        parts = [f"/usr/share/info/{name}.info.gz"] + sorted(
            glob.glob(f"/usr/share/info/{name}.info-*.gz"), key=lambda s: int(re.findall(r"-(\d+)\.gz$", s)[0]))
        text = "".join(gzip.open(q, "rt", encoding="utf-8", errors="replace").read() for q in parts)
        yield ("info/" + name, "GNU manual (Debian /usr/share/info)", "GFDL-1.3-or-later", "prose", parts, text)


def main():
    rows = []
    for split in ("train", "heldout"):
        os.makedirs(os.path.join(OUT, split), exist_ok=True)
    tot = {"train": 0, "heldout": 0}
    for doc_id, source, lic, kind, paths, text in docs():
        if not text.strip() or len(text.encode()) > MAX_DOC_BYTES:
            continue
        h = int(hashlib.sha256(("simba-split-v1:" + doc_id).encode()).hexdigest(), 16)
        split = "heldout" if h % 1000 < HELDOUT_PER_MILLE and doc_id != "ts/typescript.js" else "train"
        fn = doc_id.replace("/", "__") + ".txt"
        with open(os.path.join(OUT, split, fn), "w", encoding="utf-8") as f:
            f.write(text)
        nbytes = len(text.encode("utf-8"))
        tot[split] += nbytes
        rows.append((split, kind, doc_id, source, lic, str(nbytes),
                     ",".join(sha256_file(p) for p in paths), ",".join(paths)))
    with open(os.path.join(os.path.dirname(__file__), "data_manifest.tsv"), "w") as f:
        f.write("split\tkind\tdoc_id\tsource\tlicence\ttext_bytes\tsha256_of_original_files\toriginal_paths\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    print(tot, len(rows), "documents")


if __name__ == "__main__":
    main()
