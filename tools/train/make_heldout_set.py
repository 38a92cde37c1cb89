"""Copies the default evaluation set (data/heldout/) and the demo samples (media/samples/)
from the HELD-OUT split made by prepare_data.py. Every file here was excluded from tokenizer and model training."""
import hashlib, os, shutil, sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HELD = os.path.join(ROOT, "tools", "data", "heldout")

# (doc_id in data_manifest.tsv, file name, origin, licence)
PY = ("CPython 3.11.2 standard library, Debian bookworm package libpython3.11-stdlib", "PSF-2.0")
PYDOC = ("CPython 3.11 documentation source (reStructuredText), Debian package python3.11-doc", "PSF-2.0")
EVAL = [
    ("py/urllib/request.py", "urllib_request.py", "/usr/lib/python3.11/urllib/request.py", *PY),
    ("py/email/_header_value_parser.py", "email_header_value_parser.py", "/usr/lib/python3.11/email/_header_value_parser.py", *PY),
    ("py/pathlib.py", "pathlib.py", "/usr/lib/python3.11/pathlib.py", *PY),
    ("py/xml/dom/expatbuilder.py", "xml_dom_expatbuilder.py", "/usr/lib/python3.11/xml/dom/expatbuilder.py", *PY),
    ("types-node/worker_threads.d.ts", "node_worker_threads.d.ts", "npm @types/node@20.19.43, worker_threads.d.ts",
     "DefinitelyTyped @types/node", "MIT"),
    ("pydoc/library/curses.rst.txt", "pydoc_library_curses.rst", "/usr/share/doc/python3.11/html/_sources/library/curses.rst.txt", *PYDOC),
    ("pydoc/library/statistics.rst.txt", "pydoc_library_statistics.rst", "/usr/share/doc/python3.11/html/_sources/library/statistics.rst.txt", *PYDOC),
    ("pydoc/library/asyncio-protocol.rst.txt", "pydoc_library_asyncio-protocol.rst", "/usr/share/doc/python3.11/html/_sources/library/asyncio-protocol.rst.txt", *PYDOC),
    ("pydoc/tutorial/datastructures.rst.txt", "pydoc_tutorial_datastructures.rst", "/usr/share/doc/python3.11/html/_sources/tutorial/datastructures.rst.txt", *PYDOC),
    ("debref/ch03.en.html", "debian-reference_ch03.txt", "/usr/share/doc/debian-reference-en/docs/ch03.en.html (converted to plain text by tools/train/prepare_data.py)",
     "Debian Reference (English) by Osamu Aoki, Debian package debian-reference-en", "GPL-2.0-or-later"),
]
SAMPLES = [
    ("py/concurrent/futures/_base.py", "concurrent_futures_base.py", "/usr/lib/python3.11/concurrent/futures/_base.py", *PY),
    ("pydoc/library/random.rst.txt", "pydoc_library_random.rst", "/usr/share/doc/python3.11/html/_sources/library/random.rst.txt", *PYDOC),
]


def copy_set(items, dest, title):
    os.makedirs(dest, exist_ok=True)
    lines = [f"# {title}\n",
             "Real text that nobody on this project wrote and that the bundled model (media/model) never saw: each file",
             "is a whole document from the held-out split of tools/train/prepare_data.py (split by whole document,",
             "see tools/train/data_manifest.tsv, rows with split = heldout), excluded from tokenizer and model training.\n",
             "| file | bytes | sha256 | origin | from | licence |", "|---|---|---|---|---|---|"]
    for doc_id, name, path, origin, lic in items:
        src = os.path.join(HELD, doc_id.replace("/", "__") + ".txt")
        assert os.path.exists(src), f"{doc_id} is not in the held-out split"
        shutil.copyfile(src, os.path.join(dest, name))
        data = open(src, "rb").read()
        lines.append(f"| {name} | {len(data)} | {hashlib.sha256(data).hexdigest()[:16]}… | {origin} | `{path}` | {lic} |")
    lines += ["", "Licence texts: PSF-2.0 https://docs.python.org/3/license.html ; MIT (DefinitelyTyped) "
              "https://github.com/DefinitelyTyped/DefinitelyTyped/blob/master/LICENSE ; GPL-2.0-or-later "
              "/usr/share/common-licenses/GPL-2 on Debian, https://www.gnu.org/licenses/old-licenses/gpl-2.0.html .", ""]
    with open(os.path.join(dest, "LICENSES.md"), "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    copy_set(EVAL, os.path.join(ROOT, "data", "heldout"), "Held-out evaluation set")
    copy_set(SAMPLES, os.path.join(ROOT, "media", "samples"), "Sample files")
