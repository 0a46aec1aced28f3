"""The text corpus: Debian package descriptions labelled by their archive Section.

`apt-cache dumpavail` gives each package's Section, short description and Description-md5;
the long descriptions live in apt's Translation-en index files, keyed by that md5 (apt only
downloads them when Acquire::Languages includes "en"; setup.sh arranges that).
"""
import collections
import subprocess

SECTION_PREFIXES = ("contrib/", "non-free-firmware/", "non-free/")


def _records(text):
    """Yields each deb822 record as a dict; continuation lines stay joined with newlines."""
    fields, key = {}, None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, key = {}, None
        elif line[0] in " \t" and key is not None:
            fields[key] += "\n" + line
        elif ":" in line:
            key, value = line.split(":", 1)
            fields[key] = value.strip()
    if fields:
        yield fields


def _run(args):
    return subprocess.run(args, check=True, capture_output=True, text=True,
                          encoding="utf-8", errors="replace").stdout


def _long_descriptions():
    """md5 -> long description lines, from every Translation-en index apt knows about."""
    files = _run(["apt-get", "-o", "Acquire::Languages=en", "indextargets", "--format", "$(FILENAME)",
                  "Identifier: Translations", "Language: en"]).split()
    long_by_md5 = {}
    for path in files:
        for rec in _records(_run(["/usr/lib/apt/apt-helper", "cat-file", path])):
            desc, md5 = rec.get("Description-en"), rec.get("Description-md5")
            if desc and md5:
                long_by_md5[md5] = desc.split("\n", 1)[1] if "\n" in desc else ""
    return long_by_md5


def _normalise(short, long_text):
    # A line holding only "." separates paragraphs in deb822; it carries no text.
    lines = [short] + [ln for ln in long_text.split("\n") if ln.strip() != "."]
    return " ".join(" ".join(lines).split())


def load(n_sections=16):
    """Returns (texts, labels, label_names, stats).

    Texts are de-duplicated (first package in name order wins); sections lose their
    contrib/non-free prefixes; the n_sections most common sections keep their name and the
    rest are folded into a final class "other".
    """
    long_by_md5 = _long_descriptions()
    if not long_by_md5:
        raise RuntimeError("no Translation-en index found: run "
                           "`apt-get -o Acquire::Languages=en update` (see setup.sh)")
    recs = [r for r in _records(_run(["apt-cache", "dumpavail"]))
            if "Package" in r and "Description" in r]
    recs.sort(key=lambda r: (r["Package"], r.get("Version", "")))
    seen, texts, sections = set(), [], []
    n_long = 0
    for r in recs:
        short = r["Description"].split("\n", 1)[0]
        long_text = long_by_md5.get(r.get("Description-md5", ""), "")
        text = _normalise(short, long_text)
        if not text or text in seen:
            continue
        seen.add(text)
        n_long += bool(long_text)
        section = r.get("Section", "unknown")
        for p in SECTION_PREFIXES:
            if section.startswith(p):
                section = section[len(p):]
        texts.append(text)
        sections.append(section)
    counts = collections.Counter(sections)
    kept = [s for s, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n_sections]]
    names = kept + ["other"]
    index = {s: i for i, s in enumerate(kept)}
    labels = [index.get(s, len(kept)) for s in sections]
    stats = {"packages": len(recs), "unique_texts": len(texts), "with_long": n_long,
             "sections": len(counts)}
    return texts, labels, names, stats


def description(n_kept, stats=None):
    """The teacher file's `corpus` attribute."""
    return ("Debian bookworm package descriptions: apt-cache dumpavail with the long "
            "descriptions of Translation-en, de-duplicated, short + long description, "
            "whitespace-normalised; label = Section without contrib/non-free prefix, the "
            "%d most common kept, the rest folded into 'other'" % n_kept)
